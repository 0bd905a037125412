//! HeapProfiler: snapshots streamed to disk, sampling profiles, allocation tracking.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::error::{InspectorError, Result};
use crate::session::{Hook, Session};

/// How far a snapshot has come. Node first walks the heap (`nodes_done` of `nodes_total`,
/// ending with `finished`), and only then serialises it, so `bytes_written` grows after
/// the node count is complete.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SnapshotProgress {
    pub nodes_done: u64,
    pub nodes_total: u64,
    pub finished: bool,
    pub bytes_written: u64,
}

/// Removes the `.partial` file unless the snapshot completed, so an interrupted capture
/// never leaves a file that looks whole.
struct PartialFile {
    path: PathBuf,
    armed: bool,
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if self.armed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn partial_path(out: &Path) -> PathBuf {
    let mut name = out
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".partial");
    out.with_file_name(name)
}

/// Creates the partial file exclusively, without following a link, 0600 whatever the umask
/// (Node's own `writeHeapSnapshot` mode): a snapshot holds the program's secrets, and a
/// name that exists already (a link planted by someone else, another run's file) is never
/// written through.
fn create_partial(path: &Path) -> Result<File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|source| {
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                InspectorError::PartialExists {
                    path: path.to_path_buf(),
                }
            } else {
                io_at(path)(source)
            }
        })?;
    file.set_permissions(fs::Permissions::from_mode(0o600))
        .map_err(io_at(path))?;
    Ok(file)
}

fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> InspectorError + '_ {
    move |source| InspectorError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Makes a completed rename durable; best effort, as not every filesystem can sync a
/// directory.
fn sync_parent(path: &Path) {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Ok(d) = File::open(parent) {
        let _ = d.sync_all();
    }
}

impl Session {
    /// Takes a heap snapshot and streams it to `out`, chunk by chunk, through
    /// `<out>.partial`, renamed over `out` only once the inspector confirms the end. Returns
    /// the bytes written.
    pub fn take_heap_snapshot(
        &mut self,
        out: &Path,
        progress: &mut dyn FnMut(SnapshotProgress),
    ) -> Result<u64> {
        self.stream_snapshot(
            "HeapProfiler.takeHeapSnapshot",
            json!({ "reportProgress": true }),
            out,
            progress,
        )
    }

    /// `HeapProfiler.startTrackingHeapObjects`. With `track_allocations`, the snapshot that
    /// stopping writes carries allocation stacks (`trace_function_infos`, `trace_tree`).
    /// While tracking, Node sends `heapStatsUpdate` and `lastSeenObjectId` events (at most
    /// every 50 ms, fewer when the heap is quiet); they are queued like any event.
    ///
    /// With `track_allocations` a full GC runs first: on Node 20, after a burst of
    /// allocation, tracking started without one attributed as few as 0 of 500 later
    /// allocations to their stacks; after a GC, all of them.
    pub fn start_tracking_heap_objects(&mut self, track_allocations: bool) -> Result<()> {
        if track_allocations {
            self.collect_garbage()?;
        }
        self.call(
            "HeapProfiler.startTrackingHeapObjects",
            json!({ "trackAllocations": track_allocations }),
        )
        .map(drop)
    }

    /// `HeapProfiler.stopTrackingHeapObjects`, which itself streams a full snapshot: written
    /// to `out` exactly as [`Session::take_heap_snapshot`] does.
    pub fn stop_tracking_heap_objects_to(
        &mut self,
        out: &Path,
        progress: &mut dyn FnMut(SnapshotProgress),
    ) -> Result<u64> {
        self.stream_snapshot(
            "HeapProfiler.stopTrackingHeapObjects",
            json!({ "reportProgress": true }),
            out,
            progress,
        )
    }

    fn stream_snapshot(
        &mut self,
        method: &str,
        params: Value,
        out: &Path,
        progress: &mut dyn FnMut(SnapshotProgress),
    ) -> Result<u64> {
        let partial = partial_path(out);
        let file = create_partial(&partial)?;
        let mut guard = PartialFile {
            path: partial.clone(),
            armed: true,
        };
        let mut writer = BufWriter::with_capacity(1 << 20, file);
        let mut state = SnapshotProgress::default();
        let mut chunks = 0u64;
        let mut write_error = None;
        let result = self.call_hooked(method, params, &mut |name, params| match name {
            "HeapProfiler.addHeapSnapshotChunk" => {
                let chunk = params.get("chunk").and_then(Value::as_str).unwrap_or("");
                chunks += 1;
                // After a failed write the rest is drained, not written: the call must
                // still run to its response so the session stays usable.
                if write_error.is_none() {
                    match writer.write_all(chunk.as_bytes()) {
                        Ok(()) => {
                            state.bytes_written += chunk.len() as u64;
                            progress(state);
                        }
                        Err(e) => write_error = Some(e),
                    }
                }
                Hook::Consumed
            }
            "HeapProfiler.reportHeapSnapshotProgress" => {
                let n = |k: &str| params.get(k).and_then(Value::as_u64);
                state.nodes_done = n("done").unwrap_or(state.nodes_done);
                state.nodes_total = n("total").unwrap_or(state.nodes_total);
                state.finished |= params.get("finished").and_then(Value::as_bool) == Some(true);
                progress(state);
                Hook::Consumed
            }
            _ => Hook::Pass,
        });
        let bytes = state.bytes_written;
        match result {
            Ok(_) => {}
            Err(
                e @ (InspectorError::Closed { .. }
                | InspectorError::Timeout { .. }
                | InspectorError::Socket { .. }
                | InspectorError::Protocol { .. }),
            ) => {
                drop(writer);
                drop(guard);
                return Err(InspectorError::SnapshotInterrupted {
                    bytes,
                    source: Box::new(e),
                });
            }
            Err(e) => return Err(e),
        }
        if let Some(e) = write_error {
            return Err(io_at(&partial)(e));
        }
        if chunks == 0 {
            return Err(InspectorError::Protocol {
                method: method.to_string(),
                detail: "the response came without any snapshot chunk".into(),
            });
        }
        let file = writer
            .into_inner()
            .map_err(|e| io_at(&partial)(e.into_error()))?;
        file.sync_all().map_err(io_at(&partial))?;
        drop(file);
        fs::rename(&partial, out).map_err(io_at(out))?;
        guard.armed = false;
        sync_parent(out);
        Ok(bytes)
    }

    /// `HeapProfiler.startSampling` with a mean sampling interval in bytes (V8's default is
    /// 32768).
    pub fn start_sampling(&mut self, interval_bytes: u64) -> Result<()> {
        self.call(
            "HeapProfiler.startSampling",
            json!({ "samplingInterval": interval_bytes }),
        )
        .map(drop)
    }

    /// `HeapProfiler.getSamplingProfile`: the profile so far, sampling goes on.
    pub fn sampling_profile(&mut self) -> Result<Value> {
        let r = self.call("HeapProfiler.getSamplingProfile", json!({}))?;
        take_profile("HeapProfiler.getSamplingProfile", r)
    }

    /// `HeapProfiler.stopSampling`: the profile (`{head, samples}`), the same shape as a
    /// `.heapprofile` file.
    pub fn stop_sampling(&mut self) -> Result<Value> {
        let r = self.call("HeapProfiler.stopSampling", json!({}))?;
        take_profile("HeapProfiler.stopSampling", r)
    }

    /// Stops sampling and writes the profile to `path` as a `.heapprofile` (written whole to
    /// `<path>.partial`, then renamed). Returns the profile too.
    pub fn write_sampling_profile(&mut self, path: &Path) -> Result<Value> {
        let profile = self.stop_sampling()?;
        write_json_atomically(path, &profile)?;
        Ok(profile)
    }
}

fn take_profile(method: &str, mut r: Value) -> Result<Value> {
    match r.get_mut("profile").map(Value::take) {
        Some(p) if p.get("head").is_some() => Ok(p),
        _ => Err(InspectorError::Protocol {
            method: method.to_string(),
            detail: "the result has no profile with a head".into(),
        }),
    }
}

fn write_json_atomically(path: &Path, value: &Value) -> Result<()> {
    let partial = partial_path(path);
    // Armed only once the file is ours: an existing partial file is not ours to remove.
    let file = create_partial(&partial)?;
    let mut guard = PartialFile {
        path: partial.clone(),
        armed: true,
    };
    let mut w = BufWriter::new(file);
    serde_json::to_writer(&mut w, value).map_err(|e| io_at(&partial)(std::io::Error::other(e)))?;
    let file = w
        .into_inner()
        .map_err(|e| io_at(&partial)(e.into_error()))?;
    file.sync_all().map_err(io_at(&partial))?;
    drop(file);
    fs::rename(&partial, path).map_err(io_at(path))?;
    guard.armed = false;
    sync_parent(path);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_sits_beside_the_output() {
        assert_eq!(
            partial_path(Path::new("/tmp/run/a.heapsnapshot")),
            PathBuf::from("/tmp/run/a.heapsnapshot.partial")
        );
        assert_eq!(
            partial_path(Path::new("a.heapsnapshot")),
            PathBuf::from("a.heapsnapshot.partial")
        );
    }
}
