//! Snapshots without an inspector: the process's own `--heapsnapshot-signal` handler.
//! Node writes `Heap.<date>.<time>.<pid>.<tid>.<seq>.heapsnapshot` into its working
//! directory (or `--diagnostic-dir`), prints nothing and pauses while it writes; the file
//! is found, waited for until it is whole, checked and moved where heaphound keeps it.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::headroom::{self, Guard};
use crate::{alive, signals, CaptureError, Observer};

/// The signals a Node program can take a snapshot on and that heaphound will send. SIGUSR1
/// opens the inspector, and SIGINT/SIGTERM/SIGHUP/SIGQUIT stop programs that do not
/// handle them: never these.
const SIGNALS: [(&str, i32); 9] = [
    ("SIGUSR2", libc::SIGUSR2),
    ("SIGWINCH", libc::SIGWINCH),
    ("SIGPWR", libc::SIGPWR),
    ("SIGTTIN", libc::SIGTTIN),
    ("SIGTTOU", libc::SIGTTOU),
    ("SIGURG", libc::SIGURG),
    ("SIGPROF", libc::SIGPROF),
    ("SIGXCPU", libc::SIGXCPU),
    ("SIGVTALRM", libc::SIGVTALRM),
];

/// A signal by name (`SIGUSR2`, `USR2`, case-insensitive).
pub fn parse_signal(name: &str) -> Result<(&'static str, i32), String> {
    let up = name.to_ascii_uppercase();
    let full = if up.starts_with("SIG") {
        up
    } else {
        format!("SIG{up}")
    };
    SIGNALS
        .iter()
        .find(|(n, _)| *n == full)
        .copied()
        .ok_or_else(|| {
            let names: Vec<&str> = SIGNALS.iter().map(|(n, _)| *n).collect();
            format!(
                "'{name}' is not a signal heaphound sends for a snapshot (one of {}; SIGUSR1 opens the inspector, SIGINT/SIGTERM/SIGHUP stop the program)",
                names.join(", ")
            )
        })
}

/// Node's options of a process: its command line and `NODE_OPTIONS` (only that variable
/// is read from its environment, and never shown).
fn node_options(pid: u32) -> Option<Vec<String>> {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let mut opts: Vec<String> = cmdline
        .split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    if let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) {
        for var in env.split(|&b| b == 0) {
            if let Some(v) = var.strip_prefix(b"NODE_OPTIONS=") {
                opts.extend(
                    String::from_utf8_lossy(v)
                        .split_whitespace()
                        .map(String::from),
                );
            }
        }
    }
    Some(opts)
}

/// The value of `--flag=value` or `--flag value` in `opts`.
fn option<'a>(opts: &'a [String], flag: &str) -> Option<&'a str> {
    let eq = format!("{flag}=");
    opts.iter().enumerate().find_map(|(i, a)| {
        a.strip_prefix(&eq).or_else(|| {
            (a == flag)
                .then(|| opts.get(i + 1).map(String::as_str))
                .flatten()
        })
    })
}

/// Where and how to take one signal snapshot.
pub struct SignalPlan {
    pub pid: u32,
    pub signal: (&'static str, i32),
    /// Where Node writes; `None`: its `--diagnostic-dir`, else its working directory.
    pub dir: Option<PathBuf>,
    /// Send the signal even when the process does not show `--heapsnapshot-signal` for it.
    pub any_process: bool,
    pub headroom: Guard,
    /// How long to wait for the file to be whole.
    pub timeout: Duration,
}

/// Checks PID can take a snapshot on `signal`: alive, started with the flag for it (else
/// the signal's default action could end it), unless `any_process`. Returns the folder
/// Node writes into: `dir`, else its `--diagnostic-dir`, else its working directory.
pub fn prepare(
    pid: u32,
    signal: &str,
    dir: Option<&Path>,
    any_process: bool,
) -> Result<PathBuf, CaptureError> {
    let sig = signal;
    if !alive(pid) {
        return Err(CaptureError::Usage(format!("no process with PID {pid}")));
    }
    let opts = node_options(pid).unwrap_or_default();
    let flag = option(&opts, "--heapsnapshot-signal");
    let matches = flag.is_some_and(|f| {
        let f = f.to_ascii_uppercase();
        f == sig || format!("SIG{f}") == sig
    });
    if !matches && !any_process {
        let was = match flag {
            Some(f) => format!("its --heapsnapshot-signal is {f}"),
            None => "it was not started with --heapsnapshot-signal".into(),
        };
        return Err(CaptureError::Usage(format!(
            "PID {pid}: {was}, and {sig}'s default action may end it; start it with --heapsnapshot-signal={sig} (or NODE_OPTIONS), or --force-signal if it is set in a way heaphound cannot see"
        )));
    }
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).ok();
    let dir = match (dir, option(&opts, "--diagnostic-dir"), cwd) {
        (Some(d), _, _) => d.to_path_buf(),
        (None, Some(d), cwd) => {
            let d = PathBuf::from(d);
            match cwd {
                Some(c) if d.is_relative() => c.join(d),
                _ => d,
            }
        }
        (None, None, Some(c)) => c,
        (None, None, None) => {
            return Err(CaptureError::Usage(format!(
                "PID {pid}: its working directory cannot be read (another user's process?); --snapshot-dir names where Node writes"
            )))
        }
    };
    Ok(dir)
}

fn snapshots_of(dir: &Path, pid: u32) -> HashSet<PathBuf> {
    let tag = format!(".{pid}.");
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                let n = n.to_string_lossy();
                n.starts_with("Heap.") && n.ends_with(".heapsnapshot") && n.contains(&tag)
            })
        })
        .collect()
}

/// What a signal snapshot came to.
pub struct Taken {
    pub file: PathBuf,
    pub bytes: u64,
    /// The name Node gave it where it wrote it.
    pub written_as: PathBuf,
}

/// Sends the signal, waits for the new file to be whole (its size holds still and its JSON
/// closes), checks it and moves it to `dest` (a folder: it keeps Node's name there; or a
/// file path). `ui` hears progress.
pub fn take(plan: &SignalPlan, dest: &Path, ui: &dyn Observer) -> Result<Taken, CaptureError> {
    let pid = plan.pid;
    let dir = prepare(pid, plan.signal.0, plan.dir.as_deref(), plan.any_process)?;
    headroom::ensure(Some(pid), None, &plan.headroom, ui, None)
        .map_err(CaptureError::NoHeadroom)?;
    let before = snapshots_of(&dir, pid);
    // SAFETY: kill(2) with a live PID and a signal number from the table above.
    if unsafe { libc::kill(pid as i32, plan.signal.1) } != 0 {
        return Err(CaptureError::Io {
            what: format!("PID {pid}: cannot send {}", plan.signal.0),
            source: std::io::Error::last_os_error(),
        });
    }
    ui.status(&format!(
        "PID {pid} writes its snapshot ({}) into {}…",
        plan.signal.0,
        dir.display()
    ));
    let started = Instant::now();
    let mut last: Option<(PathBuf, u64, Instant)> = None;
    let found = loop {
        if let Some(sig) = signals::interrupted() {
            return Err(CaptureError::Interrupted(format!(
                "snapshot: {} while PID {pid} wrote its snapshot; Node finishes it in {}",
                sig.cause(),
                dir.display()
            )));
        }
        let new: Vec<PathBuf> = snapshots_of(&dir, pid)
            .difference(&before)
            .cloned()
            .collect();
        if let Some(p) = new.into_iter().min() {
            let len = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
            match &last {
                // Still for half a second, and whole: Node is done with it.
                Some((q, l, since))
                    if *q == p
                        && *l == len
                        && len > 0
                        && since.elapsed() >= Duration::from_millis(500) =>
                {
                    if crate::snapshot::check_whole(&p).is_ok() {
                        break p;
                    }
                }
                Some((q, l, _)) if *q == p && *l == len => {}
                _ => last = Some((p, len, Instant::now())),
            }
        }
        if !alive(pid) {
            return Err(CaptureError::Usage(format!(
                "PID {pid} ended before its snapshot was whole{}",
                last.as_ref()
                    .map(|(p, l, _)| format!(
                        " ({} has {l} bytes; not kept as a snapshot)",
                        p.display()
                    ))
                    .unwrap_or_default()
            )));
        }
        if started.elapsed() >= plan.timeout {
            return Err(CaptureError::Usage(match &last {
                Some((p, l, _)) => format!(
                    "PID {pid}: {} is not whole after {}s ({l} bytes so far); it is left where Node writes it",
                    p.display(),
                    plan.timeout.as_secs()
                ),
                None => format!(
                    "PID {pid} wrote no snapshot into {} within {}s after {} (is --heapsnapshot-signal set, and is that where it writes? --snapshot-dir names it)",
                    dir.display(),
                    plan.timeout.as_secs(),
                    plan.signal.0
                ),
            }));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    ui.clear();
    let target = if dest.is_dir() {
        dest.join(found.file_name().expect("a file name"))
    } else {
        dest.to_path_buf()
    };
    move_file(&found, &target)?;
    let bytes = std::fs::metadata(&target).map(|m| m.len()).unwrap_or(0);
    Ok(Taken {
        file: target,
        bytes,
        written_as: found,
    })
}

/// Renames, or copies and removes across file systems; never over an existing file.
fn move_file(from: &Path, to: &Path) -> Result<(), CaptureError> {
    let io = |what: String| move |source| CaptureError::Io { what, source };
    if crate::files::taken(to) {
        return Err(CaptureError::Usage(format!(
            "{} already exists; the snapshot stays at {}",
            to.display(),
            from.display()
        )));
    }
    if std::fs::hard_link(from, to).is_ok() {
        return std::fs::remove_file(from)
            .map_err(io(format!("{}: cannot remove", from.display())));
    }
    let mut src =
        std::fs::File::open(from).map_err(io(format!("{}: cannot read", from.display())))?;
    let mut out = crate::files::Partial::create(to)?;
    std::io::copy(&mut src, out.writer()).map_err(io(format!("{}: cannot write", to.display())))?;
    out.commit()?;
    std::fs::remove_file(from).map_err(io(format!("{}: cannot remove", from.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_by_name_and_never_the_ones_that_stop_or_open() {
        assert_eq!(parse_signal("SIGUSR2").unwrap().1, libc::SIGUSR2);
        assert_eq!(parse_signal("usr2").unwrap().0, "SIGUSR2");
        assert!(parse_signal("SIGUSR1").unwrap_err().contains("inspector"));
        assert!(parse_signal("SIGTERM").is_err());
        assert!(parse_signal("KILL").is_err());
    }

    #[test]
    fn options_in_both_spellings() {
        let o: Vec<String> = [
            "node",
            "--heapsnapshot-signal=SIGUSR2",
            "--diagnostic-dir",
            "/d",
            "a.js",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(option(&o, "--heapsnapshot-signal"), Some("SIGUSR2"));
        assert_eq!(option(&o, "--diagnostic-dir"), Some("/d"));
        assert_eq!(option(&o, "--report-directory"), None);
    }
}
