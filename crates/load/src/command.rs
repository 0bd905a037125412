//! Running the user's own load command (`autocannon …`, `k6 run …`, a curl loop).

use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::error::{LoadError, Result};

/// How a load command ended.
#[derive(Debug, Clone, Copy)]
pub struct CommandOutcome {
    pub status: ExitStatus,
    pub elapsed: Duration,
    /// It was still running at the timeout (or was cancelled) and was stopped.
    pub timed_out: bool,
}

impl CommandOutcome {
    pub fn success(&self) -> bool {
        self.status.success() && !self.timed_out
    }
}

/// Runs `cmdline` with `sh -c` and waits for it, up to `timeout` if given. Its stdout and
/// stderr both go to our stderr, so our stdout stays clean for `--json`.
pub fn run_command(cmdline: &str, timeout: Option<Duration>) -> Result<CommandOutcome> {
    run_command_until(cmdline, timeout, &AtomicBool::new(false))
}

/// [`run_command`] that also stops the command when `cancel` becomes true (a Ctrl-C
/// handler's flag). The command runs in its own process group, so stopping it ends
/// whatever it started too: SIGTERM, 2 s, then SIGKILL.
pub fn run_command_until(
    cmdline: &str,
    timeout: Option<Duration>,
    cancel: &AtomicBool,
) -> Result<CommandOutcome> {
    let err = |source| LoadError::Command {
        cmdline: cmdline.to_string(),
        source,
    };
    let stderr = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map_err(err)?;
    let start = Instant::now();
    let child = Command::new("sh")
        .arg("-c")
        .arg(cmdline)
        .stdin(Stdio::null())
        .stdout(Stdio::from(stderr))
        .stderr(Stdio::inherit())
        .process_group(0)
        .spawn()
        .map_err(err)?;
    let mut group = Group {
        child,
        reaped: false,
    };
    loop {
        if let Some(status) = group.child.try_wait().map_err(err)? {
            group.reaped = true;
            return Ok(CommandOutcome {
                status,
                elapsed: start.elapsed(),
                timed_out: false,
            });
        }
        let over = timeout.is_some_and(|t| start.elapsed() >= t);
        if over || cancel.load(Ordering::Relaxed) {
            let status = group.stop().map_err(err)?;
            return Ok(CommandOutcome {
                status,
                elapsed: start.elapsed(),
                timed_out: true,
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The command's process group; stopped if we unwind before it ends.
struct Group {
    child: std::process::Child,
    reaped: bool,
}

impl Group {
    fn signal(&self, signal: i32) {
        if self.reaped {
            return;
        }
        if let Ok(pgid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: killpg has no memory effects; the group is led by our unreaped child,
            // so its id cannot have been reused.
            unsafe { libc::killpg(pgid, signal) };
        }
    }

    fn stop(&mut self) -> std::io::Result<ExitStatus> {
        self.signal(libc::SIGTERM);
        let end = Instant::now() + Duration::from_secs(2);
        while Instant::now() < end {
            if let Some(s) = self.child.try_wait()? {
                // Once the leader is reaped the group id may be reused: signal no more.
                self.reaped = true;
                return Ok(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.signal(libc::SIGKILL);
        let s = self.child.wait()?;
        self.reaped = true;
        Ok(s)
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if !self.reaped {
            self.signal(libc::SIGKILL);
            let _ = self.child.wait();
        }
    }
}
