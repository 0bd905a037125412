//! A read-only file mapping that survives the file shrinking under it.
//!
//! Reading a mapped page past the end of a file another process truncated raises SIGBUS,
//! which kills the process with no message. Reading such files without mapping them would
//! avoid that, but mapping is what lets the big arrays parse on two threads and lets long
//! strings stay in the file instead of in memory, for every snapshot, to protect against a
//! rare misuse. So the mapping stays, and a SIGBUS handler covers it: a fault inside a
//! registered mapping gets a page of zeros mapped over the faulting page (the read then
//! goes on and sees zeros, which the parser treats like any malformed text) and marks the
//! mapping as cut. After parsing, the reader asks [`Mapped::cut`] and reports the file as
//! truncated whatever the parser made of the zeros. No jump out of the handler is needed,
//! so no parser state is left half-updated.
//!
//! Faults outside every registered mapping go to the handler that was there before (Rust's
//! own stack-overflow reporter, or the default action), so other crashes still crash.

use std::fs::File;
use std::ops::Deref;

use memmap2::Mmap;

/// A mapped file, registered with the SIGBUS handler for as long as it lives.
pub struct Mapped {
    map: Mmap,
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    slot: usize,
}

impl Mapped {
    /// Maps `file`; None when the mapping cannot be protected (no free slot, not Linux), and
    /// the caller should read the file without mapping it.
    pub fn open(file: &File) -> std::io::Result<Option<Mapped>> {
        #[cfg(target_os = "linux")]
        {
            if !guard::install() {
                return Ok(None);
            }
            // SAFETY: the map is read-only; bytes changed by another process while we read
            // are malformed input to the parser, and pages cut off by a truncation read as
            // zeros through the SIGBUS handler (the module comment).
            let map = unsafe { Mmap::map(file)? };
            if map.is_empty() {
                return Ok(None);
            }
            match guard::register(map.as_ptr() as usize, map.len()) {
                Some(slot) => Ok(Some(Mapped { map, slot })),
                None => Ok(None),
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = file;
            Ok(None)
        }
    }

    pub fn map(&self) -> &Mmap {
        &self.map
    }

    /// Whether a read of this mapping faulted past the end of the file: the file shrank
    /// while it was mapped, and some bytes read as zeros.
    pub fn cut(&self) -> bool {
        #[cfg(target_os = "linux")]
        {
            guard::hit(self.slot)
        }
        #[cfg(not(target_os = "linux"))]
        {
            false
        }
    }
}

impl Deref for Mapped {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.map
    }
}

impl Drop for Mapped {
    /// Unregisters before the field drop unmaps: nothing reads the mapping any more.
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        guard::unregister(self.slot);
    }
}

#[cfg(target_os = "linux")]
mod guard {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::OnceLock;

    /// Mappings protected at once: a `diff` of many snapshots maps one file per input. Past
    /// this, files are read without mapping.
    const SLOTS: usize = 64;

    /// One protected range. The handler reads these with atomics only: it may run on any
    /// thread, at any instruction.
    struct Slot {
        used: AtomicBool,
        start: AtomicUsize,
        /// 0 while the slot is free or being filled in.
        end: AtomicUsize,
        hit: AtomicBool,
    }

    #[allow(clippy::declare_interior_mutable_const)]
    const FREE: Slot = Slot {
        used: AtomicBool::new(false),
        start: AtomicUsize::new(0),
        end: AtomicUsize::new(0),
        hit: AtomicBool::new(false),
    };
    static TABLE: [Slot; SLOTS] = [FREE; SLOTS];
    static PAGE: AtomicUsize = AtomicUsize::new(4096);

    /// The SIGBUS action before ours; None when installing failed.
    static PREVIOUS: OnceLock<Option<Previous>> = OnceLock::new();

    struct Previous(libc::sigaction);
    // SAFETY: a sigaction is plain data (a function address, flags, a signal mask).
    unsafe impl Send for Previous {}
    unsafe impl Sync for Previous {}

    pub(super) fn install() -> bool {
        PREVIOUS
            .get_or_init(|| {
                // SAFETY: sysconf and sigaction are called with valid arguments; the
                // handler only touches atomics and makes raw system calls.
                unsafe {
                    let page = libc::sysconf(libc::_SC_PAGESIZE);
                    if page > 0 {
                        PAGE.store(page as usize, Ordering::Relaxed);
                    }
                    let mut ours: libc::sigaction = std::mem::zeroed();
                    ours.sa_sigaction = on_sigbus as *const () as usize;
                    ours.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                    libc::sigemptyset(&mut ours.sa_mask);
                    let mut old: libc::sigaction = std::mem::zeroed();
                    if libc::sigaction(libc::SIGBUS, &ours, &mut old) != 0 {
                        return None;
                    }
                    Some(Previous(old))
                }
            })
            .is_some()
    }

    pub(super) fn register(start: usize, len: usize) -> Option<usize> {
        let i = TABLE.iter().position(|s| {
            s.used
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        })?;
        let s = &TABLE[i];
        s.hit.store(false, Ordering::Relaxed);
        s.start.store(start, Ordering::Relaxed);
        s.end.store(start + len, Ordering::Release);
        Some(i)
    }

    pub(super) fn unregister(i: usize) {
        let s = &TABLE[i];
        s.end.store(0, Ordering::Release);
        s.start.store(0, Ordering::Relaxed);
        s.used.store(false, Ordering::Release);
    }

    pub(super) fn hit(i: usize) -> bool {
        TABLE[i].hit.load(Ordering::Acquire)
    }

    extern "C" fn on_sigbus(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
        // SAFETY: the kernel hands a valid siginfo to an SA_SIGINFO handler.
        let (code, addr) = unsafe { ((*info).si_code, (*info).si_addr() as usize) };
        // Only a fault on a mapped page past the end of its file; a SIGBUS sent with kill()
        // has no address to trust.
        if code == libc::BUS_ADRERR {
            for s in &TABLE {
                let end = s.end.load(Ordering::Acquire);
                if addr < s.start.load(Ordering::Relaxed) || addr >= end {
                    continue;
                }
                let page = addr & !(PAGE.load(Ordering::Relaxed) - 1);
                // mmap is one system call with no user-space state, safe in a handler in
                // practice though POSIX does not list it. MAP_FIXED replaces just the
                // faulting page of our own mapping; unmapping the whole range later
                // removes it with the rest.
                // SAFETY: `page` lies inside a mapping this process owns and only reads.
                let p = unsafe {
                    libc::mmap(
                        page as *mut libc::c_void,
                        PAGE.load(Ordering::Relaxed),
                        libc::PROT_READ,
                        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                        -1,
                        0,
                    )
                };
                if p != libc::MAP_FAILED {
                    s.hit.store(true, Ordering::Release);
                    return;
                }
            }
        }
        chain(sig, info, ctx);
    }

    /// Hands a fault that is not ours to the previous handler, or restores the default
    /// action so that returning re-runs the faulting instruction and the process dies of it.
    fn chain(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
        let prev = match PREVIOUS.get() {
            Some(Some(p)) => &p.0,
            _ => return reset(sig),
        };
        let handler = prev.sa_sigaction;
        if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
            return reset(sig);
        }
        // SAFETY: the previous action was installed as a handler of this kind, and is
        // called as the kernel would have called it.
        unsafe {
            if prev.sa_flags & libc::SA_SIGINFO != 0 {
                let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                    std::mem::transmute(handler);
                f(sig, info, ctx);
            } else {
                let f: extern "C" fn(libc::c_int) = std::mem::transmute(handler);
                f(sig);
            }
        }
    }

    fn reset(sig: libc::c_int) {
        // SAFETY: sigaction with a zeroed action (SIG_DFL) is async-signal-safe.
        unsafe {
            let mut dfl: libc::sigaction = std::mem::zeroed();
            dfl.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(sig, &dfl, std::ptr::null_mut());
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn pages_cut_off_by_a_truncation_read_as_zeros_and_are_reported() {
        let path = std::env::temp_dir().join(format!("heaphound-mapped-{}", std::process::id()));
        std::fs::write(&path, vec![b'x'; 4 * 65536]).unwrap();
        let file = File::open(&path).unwrap();
        let map = Mapped::open(&file).unwrap().expect("a regular file maps");
        assert_eq!(map[3 * 65536], b'x');
        assert!(!map.cut());
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(65536)
            .unwrap();
        let _ = std::fs::remove_file(&path);
        // Without the handler this read is a SIGBUS and the test binary dies.
        let tail = std::hint::black_box(&map[2 * 65536..]);
        assert!(tail.iter().all(|&b| b == 0));
        assert!(map.cut());
        assert_eq!(map[10], b'x', "the part still in the file reads as before");
    }
}
