//! SIGINT, SIGTERM and SIGHUP during a capture: Ctrl-C, `timeout`, CI cancellation and
//! `kubectl` all mean "stop", and each is handled the same way. The first signal only
//! records itself: the capture finishes what is in flight (a snapshot that streams), stops
//! the program it started, closes its sessions and reports what it kept. A second signal
//! hurries that: sessions registered with [`on_signal`] for it are cut (a snapshot in flight
//! is abandoned and its `.partial` removed) and a program we started is killed without the
//! SIGTERM grace. Cleanup is never skipped: only once [`release`] says nothing is left to
//! clean up does a further signal end the process at once.
//!
//! The three signals are blocked in every thread and taken by one thread with sigwait(), so
//! no handler runs in the middle of other code and no blocking socket read fails with EINTR
//! (a timed socket read does so even under SA_RESTART, which would cut a snapshot short).
//! Being an ordinary thread, it may lock, close sockets and allocate.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, Once};

/// The signals that stop a capture.
const HANDLED: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// The first signal received, or 0.
static FIRST: AtomicI32 = AtomicI32::new(0);
/// Signals received so far.
static COUNT: AtomicU32 = AtomicU32::new(0);
/// Nothing is left to clean up: a further signal may end the process.
static RELEASED: AtomicBool = AtomicBool::new(false);

type Action = Box<dyn FnOnce() + Send>;
/// Actions waiting for a signal: (registration id, which signal, the action).
static ACTIONS: Mutex<Vec<(u64, u32, Action)>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A signal that stops a capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signal(libc::c_int);

impl Signal {
    pub const INT: Signal = Signal(libc::SIGINT);
    pub const TERM: Signal = Signal(libc::SIGTERM);
    pub const HUP: Signal = Signal(libc::SIGHUP);

    pub fn number(self) -> i32 {
        self.0
    }

    pub fn name(self) -> &'static str {
        match self.0 {
            libc::SIGINT => "SIGINT",
            libc::SIGTERM => "SIGTERM",
            libc::SIGHUP => "SIGHUP",
            _ => "a signal",
        }
    }

    /// The shell's convention: 128 + the signal number (130, 143, 129).
    pub fn exit_code(self) -> u8 {
        u8::try_from(128 + self.0).unwrap_or(128)
    }

    /// What happened, as a fault line starts: "interrupted (Ctrl-C)", "stopped by SIGTERM".
    pub fn cause(self) -> String {
        match self.0 {
            libc::SIGINT => "interrupted (Ctrl-C)".into(),
            _ => format!("stopped by {}", self.name()),
        }
    }
}

/// Takes INT, TERM and HUP from now on. Call before any other thread is started: threads
/// inherit the signal mask of the thread that creates them, and a thread that has the
/// signals unblocked would die of them. (Programs we start get a clean mask: the standard
/// library resets it in the child.)
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: plain libc calls on a zeroed, then initialised, signal set.
        let set = unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for s in HANDLED {
                libc::sigaddset(&mut set, s);
            }
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            set
        };
        let _ = std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || loop {
                let mut sig: libc::c_int = 0;
                // SAFETY: `set` is initialised and these signals are blocked in every thread.
                if unsafe { libc::sigwait(&set, &mut sig) } == 0 {
                    received(sig);
                }
            });
    });
}

fn received(sig: libc::c_int) {
    let _ = FIRST.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
    let n = COUNT.fetch_add(1, Ordering::SeqCst) + 1;
    if n >= 2 && RELEASED.load(Ordering::SeqCst) {
        let code = interrupted().map_or(130, Signal::exit_code);
        // SAFETY: _exit ends the process; nothing is left to clean up (see `release`).
        unsafe { libc::_exit(i32::from(code)) };
    }
    let due: Vec<Action> = {
        let mut actions = ACTIONS.lock().unwrap_or_else(|p| p.into_inner());
        let mut due = Vec::new();
        let mut i = 0;
        while i < actions.len() {
            if actions[i].1 <= n {
                due.push(actions.swap_remove(i).2);
            } else {
                i += 1;
            }
        }
        due
    };
    for action in due {
        action();
    }
}

/// The first stopping signal received, if one was.
pub fn interrupted() -> Option<Signal> {
    match FIRST.load(Ordering::SeqCst) {
        0 => None,
        s => Some(Signal(s)),
    }
}

/// A second signal came: cut what is in flight, kill without grace.
pub fn hurried() -> bool {
    COUNT.load(Ordering::SeqCst) >= 2
}

/// The capture is over and cleaned up (its program stopped, its sessions closed, no
/// `.partial` left): a further signal may now end the process at once, with its exit code.
pub fn release() {
    RELEASED.store(true, Ordering::SeqCst);
}

/// Unregisters its action when dropped.
pub struct Registration(u64);

impl Drop for Registration {
    fn drop(&mut self) {
        let mut actions = ACTIONS.lock().unwrap_or_else(|p| p.into_inner());
        actions.retain(|(id, _, _)| *id != self.0);
    }
}

/// Runs `action` on the signal thread when the `nth` signal arrives (1: the first, 2: the
/// second), or here at once when it already has; at most once, and not after the
/// registration is dropped. Used to cut an inspector session's socket so a blocking read
/// returns.
pub fn on_signal(nth: u32, action: impl FnOnce() + Send + 'static) -> Registration {
    let id = NEXT_ID.fetch_add(1, Ordering::SeqCst);
    let mut actions = ACTIONS.lock().unwrap_or_else(|p| p.into_inner());
    // Read under the lock: `received` counts first, then takes the due actions under it,
    // so an action is either run there or here, never lost.
    if COUNT.load(Ordering::SeqCst) >= nth {
        drop(actions);
        action();
    } else {
        actions.push((id, nth, Box::new(action)));
    }
    Registration(id)
}

/// Cuts `session`'s connection when the `nth` signal comes, so whatever call is blocked on
/// it returns; `None` when the socket cannot be shared (the session then runs its course).
pub fn cut_on_signal(nth: u32, session: &heaphound_inspector::Session) -> Option<Registration> {
    let handle = session.abort_handle().ok()?;
    Some(on_signal(nth, move || handle.abort()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_and_causes() {
        assert_eq!(Signal::INT.exit_code(), 130);
        assert_eq!(Signal::TERM.exit_code(), 143);
        assert_eq!(Signal::HUP.exit_code(), 129);
        assert_eq!(Signal::INT.cause(), "interrupted (Ctrl-C)");
        assert_eq!(Signal::TERM.cause(), "stopped by SIGTERM");
        assert_eq!(Signal::HUP.cause(), "stopped by SIGHUP");
    }
}
