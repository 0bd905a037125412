//! The capture playbook as a library: start or attach to a Node program, wait until it is
//! ready, warm it up, then GC + snapshot and load in turns while a sampler records its
//! memory. Everything lands in a run folder; a fault (the program ends, Ctrl-C or SIGTERM, the
//! inspector drops, the load target refuses) keeps what was captured.
//!
//! Nothing here prints: what a person should see while it runs goes to an [`Observer`].

pub mod duration;
mod error;
pub mod files;
pub mod gate;
pub mod headroom;
pub mod judge;
pub mod listen;
pub mod loader;
pub mod node_signal;
mod observer;
pub mod originals;
mod plan;
pub mod playbook;
pub mod postmortem;
pub mod program;
pub mod read;
pub mod ready;
pub mod report;
pub mod run_dir;
pub mod run_lock;
pub mod sampler;
pub mod scripts;
pub mod signals;
pub mod snapshot;
pub mod trend;
pub mod watch;
pub mod watch_snapshots;

pub use error::{error_chain, CaptureError};
pub use observer::{Observer, SnapshotTicker};
pub use plan::{CapturePlan, LoadPlan};
pub use program::{alive, cmdline, Program};

/// Why a capture ended before its last snapshot.
#[derive(Debug, Clone)]
pub enum Stop {
    /// SIGINT (Ctrl-C), SIGTERM or SIGHUP.
    Interrupted(signals::Signal),
    /// The program ended on its own (how is told once our sessions are closed: Node may
    /// wait for them before it exits).
    Ended,
    /// Anything else, in one line.
    Failed(String),
}

/// Opens the inspector of `pid` with SIGUSR1 after the checks of
/// [`heaphound_inspector::attach_with`]; `any_binary` lifts the one that the PID runs Node.
/// A refusal reads `COMMAND: why`, naming `force_flag` when that flag would lift it.
pub fn open_inspector(
    command: &str,
    pid: u32,
    port: u16,
    any_binary: bool,
    force_flag: &str,
) -> Result<OpenedInspector, CaptureError> {
    let opts = heaphound_inspector::AttachOptions {
        any_binary,
        ..Default::default()
    };
    let a = heaphound_inspector::attach_opened(pid, port, &opts).map_err(|e| match e {
        heaphound_inspector::InspectorError::NotNode { .. }
        | heaphound_inspector::InspectorError::ExeUnreadable { .. } => {
            CaptureError::Usage(format!("{command}: {e}; {force_flag} to signal it anyway"))
        }
        e => CaptureError::Usage(format!("{command}: {e}")),
    })?;
    Ok(OpenedInspector {
        url: a.url,
        pid,
        port,
        opened: a.opened,
        closed: false,
    })
}

/// The inspector of a PID a command works through. One that heaphound opened (SIGUSR1)
/// lets any local user run code in the process, so it is closed again before heaphound
/// leaves: by [`OpenedInspector::close`], or when dropped on a fault. One that was open
/// already (`--inspect`) is the process's own and stays.
pub struct OpenedInspector {
    pub url: String,
    pub pid: u32,
    pub port: u16,
    opened: bool,
    closed: bool,
}

impl OpenedInspector {
    /// Whether heaphound's SIGUSR1 opened it.
    pub fn opened_by_us(&self) -> bool {
        self.opened
    }

    /// Closes it when heaphound opened it, once every session to it is closed. `None` when
    /// there was nothing to close (not ours, or the process is gone); else what happened,
    /// in words for the user.
    pub fn close(&mut self) -> Option<Result<String, String>> {
        if !self.opened || self.closed || !alive(self.pid) {
            return None;
        }
        self.closed = true;
        let addr = format!("127.0.0.1:{}", self.port);
        Some(
            match heaphound_inspector::close_inspector(&self.url, self.port) {
                Ok(()) => Ok(format!(
                    "closed the inspector heaphound opened in PID {} ({addr})",
                    self.pid
                )),
                Err(e) => Err(format!(
                    "PID {}: the inspector heaphound opened on {addr} could not be closed ({e}); it stays open until the process exits",
                    self.pid
                )),
            },
        )
    }
}

impl Drop for OpenedInspector {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// A stopping signal, or the program ended (or is ending).
pub fn check(program: &mut Program) -> Option<Stop> {
    if let Some(sig) = signals::interrupted() {
        return Some(Stop::Interrupted(sig));
    }
    if program.exiting() {
        return Some(Stop::Ended);
    }
    program.gone().map(|_| Stop::Ended)
}
