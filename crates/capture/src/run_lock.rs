//! One run per run folder. Two captures writing the same folder would both fail and could
//! leave a snapshot that looks whole; the first claims the folder with `.heaphound.lock`
//! (its PID), created exclusively, and the second refuses at once, naming that PID.

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::{files, CaptureError};

pub const LOCK_NAME: &str = ".heaphound.lock";

/// The claim on a run folder, released (the lock file removed) when dropped: on every way
/// out of a run that unwinds. A run killed outright leaves its lock behind; the next run
/// sees that its PID is gone and takes the folder over.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
    pid: u32,
    /// The run folder was created for this run: removed at the end if the run left nothing.
    created: Option<PathBuf>,
    /// The PID of a run that ended without removing its lock, when this one was taken over.
    pub took_over: Option<u32>,
}

impl RunLock {
    /// Claims `dir` (which must exist) for this process. `created`: the folder was made for
    /// this run.
    pub fn claim(dir: &Path, created: bool) -> Result<RunLock, CaptureError> {
        let path = dir.join(LOCK_NAME);
        let pid = std::process::id();
        let mut took_over = None;
        // Twice at most: once more after removing a stale lock.
        for _ in 0..2 {
            match place(dir, &path, pid) {
                Ok(()) => {
                    return Ok(RunLock {
                        path,
                        pid,
                        created: created.then(|| dir.to_path_buf()),
                        took_over,
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(source) => {
                    return Err(CaptureError::Create {
                        path: path.display().to_string(),
                        source,
                    })
                }
            }
            match owner(&path) {
                Owner::Gone => continue,
                Owner::Live(owner) => {
                    return Err(in_use(dir, &format!("PID {owner}")));
                }
                Owner::Unknown(why) => return Err(in_use(dir, &why)),
                Owner::Dead(owner) => {
                    // Moved aside first, so of two runs taking over the same stale lock
                    // only one removes it; the other finds it gone and races for the
                    // name, which only one wins.
                    let aside = dir.join(format!("{LOCK_NAME}.stale-{pid}"));
                    if fs::rename(&path, &aside).is_ok() {
                        let _ = fs::remove_file(&aside);
                        took_over = Some(owner);
                    }
                }
            }
        }
        Err(in_use(dir, "another run claimed it at the same moment"))
    }

    /// Refuses a folder a live run holds; a stale lock is left for `claim` to take over.
    pub fn check(dir: &Path) -> Result<(), CaptureError> {
        match owner(&dir.join(LOCK_NAME)) {
            Owner::Live(owner) => Err(in_use(dir, &format!("PID {owner}"))),
            Owner::Unknown(why) => Err(in_use(dir, &why)),
            Owner::Gone | Owner::Dead(_) => Ok(()),
        }
    }
}

fn in_use(dir: &Path, by: &str) -> CaptureError {
    CaptureError::Usage(format!(
        "{}: the run folder is in use by another heaphound run ({by}); wait for it to end or choose another --out (if no run uses it, remove {})",
        dir.display(),
        dir.join(LOCK_NAME).display()
    ))
}

/// Writes `PID\n` to a file of its own, then links it to the lock's name: the link fails
/// if the name exists, and the lock never exists without its PID in it. Where the
/// filesystem has no hard links, the lock is created exclusively and written after; a run
/// that reads it empty meanwhile refuses, which is safe.
fn place(dir: &Path, path: &Path, pid: u32) -> io::Result<()> {
    let text = format!("{pid}\n");
    let tmp = dir.join(format!("{LOCK_NAME}.{pid}"));
    let _ = fs::remove_file(&tmp);
    let mut f = files::create_exclusive(&tmp)?;
    let linked = f
        .write_all(text.as_bytes())
        .and_then(|_| fs::hard_link(&tmp, path));
    let _ = fs::remove_file(&tmp);
    match linked {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists && !files::taken(path) => {
            files::create_exclusive(path)?.write_all(text.as_bytes())
        }
        other => other,
    }
}

enum Owner {
    /// The lock went away meanwhile.
    Gone,
    Live(u32),
    Dead(u32),
    Unknown(String),
}

fn owner(path: &Path) -> Owner {
    let mut text = String::new();
    let read = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .and_then(|f| f.take(64).read_to_string(&mut text));
    match read {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Owner::Gone,
        Err(e) => Owner::Unknown(format!("{}: {e}", path.display())),
        Ok(_) => match text.trim().parse::<u32>() {
            Ok(pid) if pid > 0 && is_heaphound(pid) => Owner::Live(pid),
            Ok(pid) if pid > 0 => Owner::Dead(pid),
            _ => Owner::Unknown(format!("{} holds no PID; remove it", path.display())),
        },
    }
}

/// The PID is alive and, as far as /proc says, a heaphound: a container that restarted
/// reuses small PIDs, and a stale lock must not be honoured for an unrelated process.
fn is_heaphound(pid: u32) -> bool {
    let Ok(p) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 checks the PID exists and sends nothing.
    let alive = unsafe { libc::kill(p, 0) } == 0
        || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    if !alive {
        return false;
    }
    let same_binary = || {
        let exe = |p: &str| fs::read_link(format!("/proc/{p}/exe")).ok();
        exe(&pid.to_string()).is_some_and(|e| Some(e) == exe("self"))
    };
    match fs::read_to_string(format!("/proc/{pid}/comm")) {
        // Installed under another name, the binary itself still tells.
        Ok(comm) => comm.trim_end().starts_with("heaphound") || same_binary(),
        Err(_) => true,
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Removed only while it is still ours.
        if let Owner::Live(p) | Owner::Dead(p) = owner(&self.path) {
            if p == self.pid {
                let _ = fs::remove_file(&self.path);
            }
        }
        if let Some(dir) = &self.created {
            // Fails, as it should, unless the run left nothing in it.
            let _ = fs::remove_dir(dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_claim_at_a_time_and_released_when_dropped() {
        let dir = std::env::temp_dir().join(format!("heaphound-lock-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let lock = RunLock::claim(&dir, true).unwrap();
        assert_eq!(lock.took_over, None);
        let text = fs::read_to_string(dir.join(LOCK_NAME)).unwrap();
        assert_eq!(text, format!("{}\n", std::process::id()));
        let e = RunLock::claim(&dir, false).unwrap_err().to_string();
        assert!(e.contains(&format!("(PID {})", std::process::id())), "{e}");
        assert!(RunLock::check(&dir).is_err());
        drop(lock);
        // Nothing else was written: the folder made for the run goes with the lock.
        assert!(!dir.exists());
    }
}
