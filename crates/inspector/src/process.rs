//! Starting Node under the inspector, and opening the inspector of a running Node (Linux).

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{InspectorError, Result};
use crate::net;
use crate::session::{ConnectOptions, Session};

/// Where a stream of the child goes.
pub enum Output {
    /// Stdout: inherited. Stderr: copied byte for byte to our stderr (the inspector's own
    /// lines excepted).
    Inherit,
    Null,
    /// Each line, without its line ending (lossily decoded); the caller decides what to show.
    Lines(Box<dyn FnMut(&str) + Send>),
}

/// How [`spawn_node`] runs Node.
pub struct SpawnOptions {
    /// How long Node may take to announce its inspector.
    pub startup_timeout: Duration,
    pub stdout: Output,
    /// The child's stderr, less the inspector's own announcements.
    pub stderr: Output,
    /// Node options placed after `--inspect=…` and before the rest of argv (`--trace-gc`).
    pub node_args: Vec<OsString>,
    pub env: Vec<(OsString, OsString)>,
    pub current_dir: Option<PathBuf>,
}

impl Default for SpawnOptions {
    fn default() -> Self {
        SpawnOptions {
            startup_timeout: Duration::from_secs(15),
            stdout: Output::Inherit,
            stderr: Output::Inherit,
            node_args: Vec::new(),
            env: Vec::new(),
            current_dir: None,
        }
    }
}

const STDERR_TAIL: usize = 20;

type Tail = Arc<Mutex<VecDeque<String>>>;

/// A Node process started by [`spawn_node`]. Dropping it kills the process (SIGKILL) if it
/// still runs, so no test or aborted hunt leaves Node behind; [`Spawned::into_child`] opts
/// out.
pub struct Spawned {
    child: Option<Child>,
    pid: u32,
    ws_url: String,
    status: Option<ExitStatus>,
    tail: Tail,
    /// Node said it waits for the debugger to disconnect before it exits.
    exiting: Arc<AtomicBool>,
}

/// Starts `argv` (argv\[0\] is `node` or a path to a Node binary) with
/// `--inspect=127.0.0.1:0` inserted after the program, and waits for the inspector URL that
/// Node prints on stderr.
pub fn spawn_node(argv: &[OsString], opts: SpawnOptions) -> Result<Spawned> {
    let Some(program) = argv.first() else {
        return Err(InspectorError::Spawn {
            program: String::new(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "empty command line"),
        });
    };
    let mut cmd = Command::new(program);
    // Port 0: the OS picks a free port, so parallel runs never collide.
    cmd.arg("--inspect=127.0.0.1:0")
        .args(&opts.node_args)
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .stdout(match opts.stdout {
            Output::Inherit => Stdio::inherit(),
            Output::Null => Stdio::null(),
            Output::Lines(_) => Stdio::piped(),
        });
    for (k, v) in &opts.env {
        cmd.env(k, v);
    }
    if let Some(dir) = &opts.current_dir {
        cmd.current_dir(dir);
    }
    let mut child = cmd.spawn().map_err(|source| InspectorError::Spawn {
        program: program.to_string_lossy().into_owned(),
        source,
    })?;
    let pid = child.id();
    let tail: Tail = Arc::new(Mutex::new(VecDeque::new()));
    let (url_tx, url_rx) = mpsc::channel();
    let exiting = Arc::new(AtomicBool::new(false));
    if let Some(err) = child.stderr.take() {
        let tail = Arc::clone(&tail);
        let sink = opts.stderr;
        let flag = Arc::clone(&exiting);
        let _ = thread::Builder::new()
            .name(format!("node-{pid}-stderr"))
            .spawn(move || scan_stderr(err, sink, url_tx, tail, flag));
    }
    if let (Some(out), Output::Lines(f)) = (child.stdout.take(), opts.stdout) {
        let _ = thread::Builder::new()
            .name(format!("node-{pid}-stdout"))
            .spawn(move || forward_lines(out, f));
    }
    let mut spawned = Spawned {
        child: Some(child),
        pid,
        ws_url: String::new(),
        status: None,
        tail,
        exiting,
    };
    let start = Instant::now();
    let deadline = start + opts.startup_timeout;
    loop {
        match url_rx.recv_timeout(Duration::from_millis(50)) {
            Ok(url) => {
                spawned.ws_url = url;
                return Ok(spawned);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            // Stderr closed without a URL: the process is gone or about to be.
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = spawned.wait_timeout(Duration::from_secs(2))?;
                return Err(spawned.exited_early(status));
            }
        }
        if let Some(status) = spawned.try_exit_status()? {
            // Give the reader a moment to collect the last lines the process wrote.
            let _ = url_rx.recv_timeout(Duration::from_millis(200));
            return Err(spawned.exited_early(Some(status)));
        }
        if Instant::now() >= deadline {
            let stderr_tail = spawned.stderr_tail();
            spawned.kill();
            return Err(InspectorError::NoInspectorUrl {
                waited: start.elapsed(),
                stderr_tail,
            });
        }
    }
}

/// Reads Node's stderr: picks out the inspector URL, swallows the inspector's own chatter,
/// passes everything else on unchanged.
fn scan_stderr(
    err: ChildStderr,
    mut sink: Output,
    url_tx: mpsc::Sender<String>,
    tail: Tail,
    exiting: Arc<AtomicBool>,
) {
    let mut reader = BufReader::new(err);
    let mut line = Vec::new();
    let mut url_tx = Some(url_tx);
    let stderr = std::io::stderr();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        let bare = text.trim_end_matches(['\n', '\r']);
        if let Some(url) = announced_url(bare) {
            if let Some(tx) = url_tx.take() {
                let _ = tx.send(url.to_string());
            }
            continue;
        }
        if bare == WAITING_FOR_DISCONNECT {
            exiting.store(true, Ordering::SeqCst);
            continue;
        }
        if is_inspector_chatter(bare) {
            continue;
        }
        if let Ok(mut t) = tail.lock() {
            if t.len() == STDERR_TAIL {
                t.pop_front();
            }
            t.push_back(bare.to_string());
        }
        match &mut sink {
            // This is the user's program talking: it must reach the terminal as written.
            Output::Inherit => {
                let mut e = stderr.lock();
                let _ = e.write_all(&line);
                let _ = e.flush();
            }
            Output::Null => {}
            Output::Lines(f) => f(bare),
        }
    }
    // Dropping the sender (if no URL came) tells the waiting side that stderr ended.
    drop(url_tx);
}

fn forward_lines(out: ChildStdout, mut f: Box<dyn FnMut(&str) + Send>) {
    let mut reader = BufReader::new(out);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => f(String::from_utf8_lossy(&line).trim_end_matches(['\n', '\r'])),
        }
    }
    // Keep draining so the child never blocks on a full pipe if the callback panicked.
    let _ = std::io::copy(&mut reader.take(u64::MAX), &mut std::io::sink());
}

/// Matches `^Debugger listening on (ws://\S+)$`.
fn announced_url(line: &str) -> Option<&str> {
    let url = line.strip_prefix("Debugger listening on ")?;
    (url.starts_with("ws://") && url.len() > 5 && !url.contains(char::is_whitespace)).then_some(url)
}

/// Node prints this when it would exit but a debugger session is still open: it then
/// hangs until every session closes.
const WAITING_FOR_DISCONNECT: &str = "Waiting for the debugger to disconnect...";

fn is_inspector_chatter(line: &str) -> bool {
    line == "For help, see: https://nodejs.org/en/docs/inspector"
        || line == "Debugger attached."
        || line == WAITING_FOR_DISCONNECT
        || line.starts_with("Debugger ending on ws://")
}

impl Spawned {
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The inspector's WebSocket URL, as Node announced it.
    pub fn ws_url(&self) -> &str {
        &self.ws_url
    }

    /// The program has finished (it called `process.exit()` or ran out of work) and waits
    /// for the inspector sessions to close before it exits: close them, then wait.
    pub fn is_exiting(&self) -> bool {
        self.exiting.load(Ordering::SeqCst)
    }

    /// The child process (its stdout is taken when a line callback reads it).
    pub fn child(&mut self) -> Option<&mut Child> {
        self.child.as_mut()
    }

    /// Hands the process over; it is then no longer killed on drop.
    pub fn into_child(mut self) -> Option<Child> {
        self.child.take()
    }

    /// The last lines the process wrote to stderr (inspector lines excluded).
    pub fn stderr_tail(&self) -> Vec<String> {
        self.tail
            .lock()
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The exit status if the process has ended (it is reaped then), without waiting.
    pub fn try_exit_status(&mut self) -> Result<Option<ExitStatus>> {
        if self.status.is_some() {
            return Ok(self.status);
        }
        let Some(child) = self.child.as_mut() else {
            return Ok(None);
        };
        let status = child.try_wait().map_err(|e| InspectorError::Socket {
            during: format!("checking on process {}", self.pid),
            source: e,
        })?;
        self.status = status;
        Ok(status)
    }

    /// Waits up to `timeout` for the process to end.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<Option<ExitStatus>> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(s) = self.try_exit_status()? {
                return Ok(Some(s));
            }
            if self.child.is_none() || Instant::now() >= end {
                return Ok(None);
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends `signal` unless the process is already reaped (its PID may be reused by then).
    pub fn signal(&mut self, signal: i32) -> Result<()> {
        if self.try_exit_status()?.is_some() || self.child.is_none() {
            return Ok(());
        }
        let Ok(pid) = libc::pid_t::try_from(self.pid) else {
            return Ok(());
        };
        // SAFETY: kill has no memory effects; the PID is our own unreaped child.
        unsafe { libc::kill(pid, signal) };
        Ok(())
    }

    /// SIGTERM, up to 5 s to exit, then SIGKILL. Returns the exit status.
    pub fn stop(&mut self) -> Result<Option<ExitStatus>> {
        self.signal(libc::SIGTERM)?;
        if let Some(s) = self.wait_timeout(Duration::from_secs(5))? {
            return Ok(Some(s));
        }
        self.signal(libc::SIGKILL)?;
        self.wait_timeout(Duration::from_secs(5))
    }

    fn kill(&mut self) {
        if self.status.is_none() {
            if let Some(c) = self.child.as_mut() {
                let _ = c.kill();
                if let Ok(s) = c.wait() {
                    self.status = Some(s);
                }
            }
        }
    }

    fn exited_early(&self, status: Option<ExitStatus>) -> InspectorError {
        InspectorError::ProcessExited {
            status: status.map_or_else(|| "status unknown".to_string(), |s| s.to_string()),
            when: "before its inspector opened",
            stderr_tail: self.stderr_tail(),
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        self.kill();
    }
}

/// How [`attach_with`] opens an inspector.
#[derive(Debug, Clone)]
pub struct AttachOptions {
    /// How long to wait for the port to open after the signal.
    pub timeout: Duration,
    /// Signal the process even when its binary does not look like Node (see
    /// [`check_node`]); every other check still holds.
    pub any_binary: bool,
}

impl Default for AttachOptions {
    fn default() -> Self {
        AttachOptions {
            timeout: Duration::from_secs(10),
            any_binary: false,
        }
    }
}

/// Opens the inspector of a running Node process (SIGUSR1) and returns its WebSocket URL;
/// `port` is where that process opens it (9229 unless started with `--inspect-port`).
pub fn attach(pid: u32, port: u16) -> Result<String> {
    attach_with(pid, port, &AttachOptions::default())
}

/// [`attach`] with a caller-chosen wait for the port to open.
pub fn attach_timeout(pid: u32, port: u16, timeout: Duration) -> Result<String> {
    attach_with(
        pid,
        port,
        &AttachOptions {
            timeout,
            ..AttachOptions::default()
        },
    )
}

/// The binary `/proc/PID/exe` names, when its file name looks like Node's (`node`,
/// `nodejs`, `node20`, a path under an nvm tree…). SIGUSR1 is harmless only to Node: any
/// other program that traps it would take it for its own purpose, so a PID that runs
/// something else, or whose binary cannot be read (another user's process, a process that
/// is gone), is refused before anything is sent.
pub fn check_node(pid: u32) -> Result<PathBuf> {
    let exe =
        std::fs::read_link(format!("/proc/{pid}/exe")).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => InspectorError::NoSuchProcess(pid),
            _ => InspectorError::ExeUnreadable { pid, source },
        })?;
    // A binary replaced since the process started reads "node (deleted)": still Node.
    let name = exe
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if name.contains("node") {
        Ok(exe)
    } else {
        Err(InspectorError::NotNode { pid, exe })
    }
}

/// [`attach`] with options.
pub fn attach_with(pid: u32, port: u16, opts: &AttachOptions) -> Result<String> {
    attach_opened(pid, port, opts).map(|a| a.url)
}

/// What [`attach_opened`] found: the inspector's URL, and whether this call opened it.
#[derive(Debug, Clone)]
pub struct Attached {
    pub url: String,
    /// false: it was open already (started with `--inspect`, or opened by someone else),
    /// and it is not ours to close.
    pub opened: bool,
}

/// [`attach_with`], saying whether the inspector was opened by this call's SIGUSR1.
pub fn attach_opened(pid: u32, port: u16, opts: &AttachOptions) -> Result<Attached> {
    let timeout = opts.timeout;
    let raw = libc::pid_t::try_from(pid)
        .ok()
        .filter(|p| *p > 0)
        .ok_or(InspectorError::NoSuchProcess(pid))?;
    // Signal 0 delivers nothing: it only asks whether the process exists and is ours.
    check_alive(pid, raw)?;
    if !opts.any_binary {
        check_node(pid)?;
    }
    // SIGUSR1's default action is to terminate: only Node's handler turns it into "open the
    // inspector". Refuse when we can see that no handler is installed.
    if sigusr1_caught(pid) == Some(false) {
        return Err(InspectorError::NoSigusr1Handler(pid));
    }
    let addr = format!("127.0.0.1:{port}");
    // Look before signalling: the inspector may be open already (a second attach), or the
    // port may be held by something else, where Node cannot open it and we would only
    // wait for nothing.
    match net::discover_timeout("127.0.0.1", port, Duration::from_millis(1500)) {
        Ok(targets) => {
            if let Some(url) = targets.into_iter().find_map(|t| t.web_socket_debugger_url) {
                verify_pid(&url, pid, &addr)?;
                return Ok(Attached { url, opened: false });
            }
            return Err(InspectorError::PortTaken { addr });
        }
        Err(InspectorError::ConnectionRefused { .. }) => {}
        Err(_) => return Err(InspectorError::PortTaken { addr }),
    }
    // SAFETY: kill has no memory effects.
    if unsafe { libc::kill(raw, libc::SIGUSR1) } != 0 {
        return Err(kill_error(pid));
    }
    let start = Instant::now();
    loop {
        let poll = Duration::from_millis(500).min(timeout);
        if let Ok(targets) = net::discover_timeout("127.0.0.1", port, poll) {
            if let Some(url) = targets.into_iter().find_map(|t| t.web_socket_debugger_url) {
                verify_pid(&url, pid, &addr)?;
                return Ok(Attached { url, opened: true });
            }
        }
        if check_alive(pid, raw).is_err() {
            return Err(InspectorError::DiedOnSignal(pid));
        }
        if start.elapsed() >= timeout {
            return Err(InspectorError::AttachFailed {
                addr,
                waited: start.elapsed(),
            });
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// Closes an inspector that SIGUSR1 opened, as `process._debugEnd()` does from inside the
/// process, and waits until its port no longer answers. Call it once every other session
/// to it is closed. The process goes on as it was; a later SIGUSR1 opens it again.
pub fn close_inspector(url: &str, port: u16) -> Result<()> {
    let mut s = Session::connect(url, &ConnectOptions::default())?;
    // Deferred well past this evaluation's answer and the closing of this session and of
    // any other heaphound held: stopping the inspector while a session's close is still
    // on its way to the main thread was seen to end the target (Node 20, under load), as
    // Node aborts when it answers on a session already gone.
    s.evaluate("setTimeout(() => process._debugEnd(), 250).unref(), true")?;
    s.close();
    let start = Instant::now();
    loop {
        match net::discover_timeout("127.0.0.1", port, Duration::from_millis(500)) {
            Err(InspectorError::ConnectionRefused { .. }) => return Ok(()),
            _ if start.elapsed() >= Duration::from_secs(5) => {
                return Err(InspectorError::StillOpen {
                    addr: format!("127.0.0.1:{port}"),
                })
            }
            _ => thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// The port may belong to a different Node process (a fixed 9229 is easily taken):
/// profiling the wrong process would be worse than failing.
fn verify_pid(url: &str, pid: u32, addr: &str) -> Result<()> {
    let mut s = Session::connect(url, &ConnectOptions::default())?;
    let found = s.evaluate("process.pid")?;
    s.close();
    match found.as_u64() {
        Some(p) if p == u64::from(pid) => Ok(()),
        Some(p) => Err(InspectorError::WrongProcess {
            addr: addr.to_string(),
            pid,
            found: p,
        }),
        None => Err(InspectorError::Protocol {
            method: "Runtime.evaluate(process.pid)".into(),
            detail: format!("expected a number, got {found}"),
        }),
    }
}

fn check_alive(pid: u32, raw: libc::pid_t) -> Result<()> {
    // SAFETY: signal 0 only checks existence and permission.
    if unsafe { libc::kill(raw, 0) } == 0 {
        // A zombie still answers signal 0, but it will never open anything.
        if proc_state(pid) == Some('Z') {
            return Err(InspectorError::NoSuchProcess(pid));
        }
        return Ok(());
    }
    Err(kill_error(pid))
}

fn kill_error(pid: u32) -> InspectorError {
    match std::io::Error::last_os_error().raw_os_error() {
        Some(libc::EPERM) => InspectorError::NotPermitted(pid),
        _ => InspectorError::NoSuchProcess(pid),
    }
}

fn proc_status(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/status")).ok()
}

fn proc_state(pid: u32) -> Option<char> {
    let status = proc_status(pid)?;
    let line = status.lines().find(|l| l.starts_with("State:"))?;
    line["State:".len()..].trim().chars().next()
}

/// Whether the process has a handler for SIGUSR1, from `SigCgt` in /proc; `None` when that
/// cannot be read.
fn sigusr1_caught(pid: u32) -> Option<bool> {
    let status = proc_status(pid)?;
    let mask = status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))?
        .trim();
    let mask = u64::from_str_radix(mask, 16).ok()?;
    Some(mask & (1u64 << (libc::SIGUSR1 - 1)) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_announcement() {
        assert_eq!(
            announced_url("Debugger listening on ws://127.0.0.1:36395/f105edf3-02f3"),
            Some("ws://127.0.0.1:36395/f105edf3-02f3")
        );
        assert_eq!(announced_url("Debugger listening on ws://a b"), None);
        assert_eq!(announced_url("Debugger listening on http://x"), None);
        assert_eq!(announced_url(" Debugger listening on ws://x"), None);
        assert!(is_inspector_chatter(
            "Debugger ending on ws://127.0.0.1:1/x"
        ));
        assert!(!is_inspector_chatter("Debugger attached. or not"));
    }

    #[test]
    fn our_own_sigusr1_state_is_readable() {
        // The test harness installs no SIGUSR1 handler.
        assert_eq!(sigusr1_caught(std::process::id()), Some(false));
    }
}
