//! How heaphound creates the files and folders it writes. Snapshots and reports hold the
//! program's secrets, and heaphound often runs as root in a folder others can write to, so
//! every output is a new file created exclusively without following a symbolic link, readable
//! by its owner alone (Node's own `writeHeapSnapshot` uses 0600), and a file that already
//! has the final name is replaced by a rename, never written through.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Files heaphound writes: the owner alone reads them.
pub const FILE_MODE: u32 = 0o600;
/// Folders heaphound creates.
pub const DIR_MODE: u32 = 0o700;

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{}: exists (another run, or one cut short); remove it", .0.display())]
    PartialExists(PathBuf),
    #[error("{}: cannot create", .path.display())]
    Create {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}: cannot write", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// `<path>.partial`, beside the output.
pub fn partial_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".partial");
    path.with_file_name(name)
}

/// Something (a file, a link, a folder) has this name; a dangling link counts.
pub fn taken(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// Creates `path`, which must not exist (not even as a dangling link), mode 0600 whatever
/// the umask.
pub fn create_exclusive(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)?;
    // The umask may have taken bits away from the owner; set exactly what was meant.
    file.set_permissions(fs::Permissions::from_mode(FILE_MODE))?;
    Ok(file)
}

/// A file written live (a memory series, flushed line by line so a crash loses nothing): a
/// previous file of that name is unlinked first (a link is removed, not followed; a hard
/// link keeps its old content), then the name is created exclusively.
pub fn create_fresh(path: &Path) -> Result<File, FileError> {
    let create = |source| FileError::Create {
        path: path.to_path_buf(),
        source,
    };
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            return Err(create(io::Error::other("it is a folder")));
        }
        Ok(_) => fs::remove_file(path).map_err(create)?,
        Err(_) => {}
    }
    create_exclusive(path).map_err(create)
}

/// An output being written: `<path>.partial`, created exclusively, renamed over `path` by
/// [`Partial::commit`]. Dropped uncommitted, the partial file is removed, so an interrupted
/// write never leaves a file that looks whole.
pub struct Partial {
    path: PathBuf,
    partial: PathBuf,
    writer: Option<BufWriter<File>>,
}

impl Partial {
    /// Refuses an existing `<path>.partial`: another run is writing it, or one was cut short;
    /// either way it is not ours to replace.
    pub fn create(path: &Path) -> Result<Partial, FileError> {
        let partial = partial_path(path);
        let file = create_exclusive(&partial).map_err(|source| {
            if source.kind() == io::ErrorKind::AlreadyExists {
                FileError::PartialExists(partial.clone())
            } else {
                FileError::Create {
                    path: partial.clone(),
                    source,
                }
            }
        })?;
        Ok(Partial {
            path: path.to_path_buf(),
            partial,
            writer: Some(BufWriter::with_capacity(1 << 16, file)),
        })
    }

    pub fn writer(&mut self) -> &mut BufWriter<File> {
        self.writer
            .as_mut()
            .expect("a partial file is open until committed")
    }

    /// Flushes, syncs and renames the partial file over the output (a link of that name is
    /// replaced, not followed).
    pub fn commit(mut self) -> Result<(), FileError> {
        let write = |path: &Path| {
            let path = path.to_path_buf();
            move |source| FileError::Write { path, source }
        };
        let writer = self.writer.take().expect("committed once");
        let file = writer
            .into_inner()
            .map_err(|e| write(&self.partial)(e.into_error()))?;
        file.sync_all().map_err(write(&self.partial))?;
        drop(file);
        fs::rename(&self.partial, &self.path).map_err(write(&self.path))?;
        // Renamed: nothing left for Drop to remove.
        self.partial = PathBuf::new();
        sync_parent(&self.path);
        Ok(())
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.partial.as_os_str().is_empty() {
            self.writer.take();
            let _ = fs::remove_file(&self.partial);
        }
    }
}

/// Writes `bytes` to `path` through `<path>.partial`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let mut p = Partial::create(path)?;
    p.writer()
        .write_all(bytes)
        .map_err(|source| FileError::Write {
            path: partial_path(path),
            source,
        })?;
    p.commit()
}

/// Creates `dir` and any missing parents, 0700. A folder that exists already is the user's
/// and keeps its mode. Returns whether `dir` itself was created.
pub fn create_dir(dir: &Path) -> io::Result<bool> {
    if fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
        return Ok(false);
    }
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE))?;
    Ok(true)
}

/// Makes a completed rename durable; best effort, as not every filesystem can sync a folder.
fn sync_parent(path: &Path) {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Ok(d) = File::open(parent) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("heaphound-files-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn mode(p: &Path) -> u32 {
        fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_link_in_place_of_the_output_is_replaced_not_followed() {
        let d = scratch("link");
        let victim = d.join("victim");
        fs::write(&victim, "keep").unwrap();
        symlink(&victim, d.join("out.json")).unwrap();
        write_atomic(&d.join("out.json"), b"new").unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
        assert!(!fs::symlink_metadata(d.join("out.json"))
            .unwrap()
            .is_symlink());
        assert_eq!(fs::read_to_string(d.join("out.json")).unwrap(), "new");
        assert_eq!(mode(&d.join("out.json")), 0o600);
        // Written twice: the user's own file is replaced.
        write_atomic(&d.join("out.json"), b"again").unwrap();
        assert_eq!(fs::read_to_string(d.join("out.json")).unwrap(), "again");
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn an_existing_partial_is_refused_and_kept() {
        let d = scratch("partial");
        let victim = d.join("victim");
        fs::write(&victim, "keep").unwrap();
        symlink(&victim, d.join("out.json.partial")).unwrap();
        let e = write_atomic(&d.join("out.json"), b"new").unwrap_err();
        assert!(matches!(e, FileError::PartialExists(_)), "{e:?}");
        assert!(e
            .to_string()
            .ends_with("out.json.partial: exists (another run, or one cut short); remove it"));
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
        assert!(fs::symlink_metadata(d.join("out.json.partial"))
            .unwrap()
            .is_symlink());
        assert!(!taken(&d.join("out.json")));
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn a_live_file_replaces_a_link_and_exclusive_never_follows_one() {
        let d = scratch("fresh");
        let victim = d.join("victim");
        fs::write(&victim, "keep").unwrap();
        symlink(&victim, d.join("memory.jsonl")).unwrap();
        create_exclusive(&d.join("memory.jsonl")).unwrap_err();
        let mut f = create_fresh(&d.join("memory.jsonl")).unwrap();
        f.write_all(b"{}\n").unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
        assert_eq!(mode(&d.join("memory.jsonl")), 0o600);
        let sub = d.join("a/b");
        assert!(create_dir(&sub).unwrap());
        assert!(!create_dir(&sub).unwrap());
        assert_eq!(mode(&sub), 0o700);
        assert_eq!(mode(&d.join("a")), 0o700);
        let _ = fs::remove_dir_all(&d);
    }
}
