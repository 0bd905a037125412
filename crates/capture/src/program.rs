//! The process under study: started by us (and stopped at the end) or attached to (and
//! left running), with how it ended.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use std::ffi::OsString;

use std::sync::Arc;

use heaphound_inspector::{spawn_node, InspectorError, Output, SpawnOptions, Spawned};

use crate::error::StartError;
use crate::{loader, signals, CaptureError};

/// Where the program's own output lines go.
pub type OutputLines = Arc<dyn Fn(&str) + Send + Sync>;

/// Starts `argv` (`node app.js …`, or `app.js …` for `node app.js …`) with the
/// inspector on a free loopback port. Its stdout and stderr lines go to `output` (the
/// binary sends them to its stderr, so its stdout stays clean for `--json`). Call
/// `signals::install()` first.
pub fn spawn(
    mut argv: Vec<OsString>,
    startup_timeout: Duration,
    output: OutputLines,
) -> Result<(Spawned, String), CaptureError> {
    if argv.first().is_some_and(|a| {
        let a = a.to_string_lossy();
        [".js", ".mjs", ".cjs"].iter().any(|ext| a.ends_with(ext))
    }) {
        argv.insert(0, "node".into());
    }
    let command = argv
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let out = Arc::clone(&output);
    let node = spawn_node(
        &argv,
        SpawnOptions {
            startup_timeout: startup_timeout.max(Duration::from_secs(1)),
            stdout: Output::Lines(Box::new(move |l| out(l))),
            stderr: Output::Lines(Box::new(move |l| output(l))),
            ..SpawnOptions::default()
        },
    )
    .map_err(|e| {
        CaptureError::Start(match e {
            e @ (InspectorError::Spawn { .. }
            | InspectorError::ProcessExited { .. }
            | InspectorError::NoInspectorUrl { .. }) => StartError::Program {
                command: command.clone(),
                error: e,
            },
            e => StartError::Inspector(e),
        })
    })?;
    Ok((node, command))
}

/// The process under study.
pub struct Program {
    kind: Kind,
    pub pid: u32,
    /// For people: the command line.
    pub command: String,
    pub ws_url: String,
    pub inspector_port: u16,
    /// How it ended, once it did.
    ended: Option<String>,
}

enum Kind {
    Spawned(Spawned),
    Attached,
}

/// The port of a `ws://host:port/…` URL (0 when it has none).
pub(crate) fn ws_port(url: &str) -> u16 {
    url.strip_prefix("ws://")
        .and_then(|r| r.split('/').next())
        .and_then(|a| a.rsplit_once(':'))
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or(0)
}

impl Program {
    /// Starts the program (see [`spawn`]).
    pub fn start(
        argv: Vec<OsString>,
        startup_timeout: Duration,
        output: OutputLines,
    ) -> Result<Program, CaptureError> {
        let (node, command) = spawn(argv, startup_timeout, output)?;
        Ok(Program::spawned(node, command))
    }

    pub fn spawned(node: Spawned, command: String) -> Program {
        Program {
            pid: node.pid(),
            ws_url: node.ws_url().to_string(),
            inspector_port: ws_port(node.ws_url()),
            kind: Kind::Spawned(node),
            command,
            ended: None,
        }
    }

    pub fn attached(pid: u32, ws_url: String, command: String) -> Program {
        Program {
            pid,
            inspector_port: ws_port(&ws_url),
            ws_url,
            kind: Kind::Attached,
            command,
            ended: None,
        }
    }

    pub fn is_spawned(&self) -> bool {
        matches!(self.kind, Kind::Spawned(_))
    }

    /// How the program ended, if it has.
    pub fn gone(&mut self) -> Option<String> {
        if self.ended.is_none() {
            self.ended = match &mut self.kind {
                Kind::Spawned(node) => match node.try_exit_status() {
                    Ok(Some(status)) => Some(loader::status_text(&status)),
                    _ => None,
                },
                Kind::Attached => (!alive(self.pid)).then(|| "exited".to_string()),
            };
        }
        self.ended.clone()
    }

    /// Node finished and waits for our inspector sessions to close before it exits.
    pub fn exiting(&self) -> bool {
        matches!(&self.kind, Kind::Spawned(node) if node.is_exiting())
    }

    /// After an inspector error: the program may be on its way out; give it a second.
    pub fn gone_soon(&mut self) -> Option<String> {
        let end = Instant::now() + Duration::from_secs(1);
        loop {
            if let Some(g) = self.gone() {
                return Some(g);
            }
            if self.exiting() {
                return Some("is exiting".into());
            }
            if Instant::now() >= end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops a program we started (SIGTERM, then SIGKILL) and says how it ended; an attached
    /// one keeps running.
    pub fn finish(&mut self) -> String {
        if let Some(g) = self.gone() {
            return g;
        }
        match &mut self.kind {
            Kind::Spawned(node) => {
                // Our sessions are closed by now: a program that was exiting on its own
                // goes, and its own exit status is the story.
                if node.is_exiting() {
                    if let Ok(Some(status)) = wait_unless_hurried(node, Duration::from_secs(5)) {
                        self.ended = Some(loader::status_text(&status));
                        return loader::status_text(&status);
                    }
                }
                match stop(node) {
                    Ok(Some(status)) => match (status.code(), status.signal()) {
                        (Some(code), _) => format!("stopped by heaphound, exit status {code}"),
                        (None, Some(libc::SIGTERM)) => "stopped by heaphound (SIGTERM)".into(),
                        (None, Some(libc::SIGKILL)) if signals::hurried() => {
                            "killed by heaphound (SIGKILL: a second signal asked to hurry)".into()
                        }
                        (None, Some(libc::SIGKILL)) => {
                            "killed by heaphound (SIGKILL after SIGTERM)".into()
                        }
                        _ => format!("stopped by heaphound ({status})"),
                    },
                    _ => "could not be stopped".to_string(),
                }
            }
            Kind::Attached => "still running".to_string(),
        }
    }
}

/// Waits up to `limit` for `node` to end, less when a second signal asks to hurry.
fn wait_unless_hurried(
    node: &mut Spawned,
    limit: Duration,
) -> Result<Option<ExitStatus>, InspectorError> {
    let end = Instant::now() + limit;
    loop {
        if let Some(s) = node.try_exit_status()? {
            return Ok(Some(s));
        }
        if signals::hurried() || Instant::now() >= end {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Stops a program we started: SIGTERM, up to 5 s to exit, then SIGKILL; a second stopping
/// signal cuts the wait short. Every signal is sent by the thread that reaps the child, so
/// none can reach a process that took over its PID.
pub fn stop(node: &mut Spawned) -> Result<Option<ExitStatus>, InspectorError> {
    if !signals::hurried() {
        node.signal(libc::SIGTERM)?;
        if let Some(s) = wait_unless_hurried(node, Duration::from_secs(5))? {
            return Ok(Some(s));
        }
    }
    node.signal(libc::SIGKILL)?;
    node.wait_timeout(Duration::from_secs(5))
}

/// The process exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised name, which may itself hold spaces.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            .is_some_and(|state| state != 'Z' && state != 'X'),
        Err(_) => false,
    }
}

/// The command line of a process, from /proc.
pub fn cmdline(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            b.split(|&c| c == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}
