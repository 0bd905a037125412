//! Ctrl-C during a capture. The first SIGINT only sets a flag: the capture stops the program
//! it started, keeps what it captured and reports on it. A second SIGINT kills the program
//! we started (if any) and exits at once with 130.
//!
//! SIGINT is blocked in every thread but one that does nothing else, so the signal never
//! interrupts a blocking socket read (a timed socket read fails with EINTR even under
//! SA_RESTART, which would cut a heap snapshot short).

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Once;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// The PID of the program we started and have not reaped, or 0.
static CHILD: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_sigint(_: libc::c_int) {
    if INTERRUPTED.swap(true, Ordering::SeqCst) {
        let pid = CHILD.load(Ordering::SeqCst);
        // SAFETY: kill and _exit are async-signal-safe.
        unsafe {
            if pid > 0 {
                libc::kill(pid, libc::SIGKILL);
            }
            libc::_exit(130);
        }
    }
}

/// Installs the handler. Call before any other thread is started: threads inherit the
/// signal mask of the thread that creates them.
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: plain libc calls on zeroed, then initialised, structures; the handler
        // only touches atomics and async-signal-safe calls.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(libc::SIGINT, &sa, std::ptr::null_mut());

            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGINT);
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        }
        let _ = std::thread::Builder::new().name("sigint".into()).spawn(|| {
            // SAFETY: as above; this thread alone takes SIGINT.
            unsafe {
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigaddset(&mut set, libc::SIGINT);
                libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
                loop {
                    libc::pause();
                }
            }
        });
    });
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Names the program a second Ctrl-C kills (0: none).
pub fn set_child(pid: u32) {
    CHILD.store(i32::try_from(pid).unwrap_or(0), Ordering::SeqCst);
}
