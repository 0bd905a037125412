//! `snapshot`: one heap snapshot of a live process (a PID, whose inspector is opened with
//! SIGUSR1, or a ws:// inspector URL), streamed to disk.

use std::path::PathBuf;
use std::time::Instant;

use heaphound_inspector::{ConnectOptions, Session};
use heaphound_model::run::SnapshotDoc;

use crate::{files, signals, CaptureError, Observer, SnapshotTicker};

pub struct SnapshotPlan {
    /// A PID or a ws:// URL.
    pub target: String,
    pub out: PathBuf,
    /// A full GC first.
    pub gc: bool,
    /// With a PID: the port its inspector opens on.
    pub port: u16,
    /// Overwrite `out` if it exists.
    pub force: bool,
    /// With a PID: signal it even when its binary does not look like Node.
    pub any_binary: bool,
}

/// Takes the snapshot; the document says what was written.
pub fn take(plan: &SnapshotPlan, ui: &dyn Observer) -> Result<SnapshotDoc, CaptureError> {
    let step = |what: String| move |source| CaptureError::Step { what, source };
    // A dangling link counts as existing: writing it would create the file it points to.
    if files::taken(&plan.out) && !plan.force {
        return Err(CaptureError::Usage(format!(
            "{} already exists (--force overwrites it)",
            plan.out.display()
        )));
    }
    // Said before the process is signalled; the writer refuses it again if one appears.
    let partial = files::partial_path(&plan.out);
    if files::taken(&partial) {
        return Err(files::FileError::PartialExists(partial).into());
    }
    let (url, pid, mut opened) = if plan.target.starts_with("ws://") {
        (plan.target.clone(), None, None)
    } else {
        let pid: u32 = plan.target.parse().map_err(|_| {
            CaptureError::Usage(format!(
                "'{}' is neither a PID nor a ws:// inspector URL",
                plan.target
            ))
        })?;
        ui.status(&format!("opening the inspector of PID {pid}…"));
        let opened = crate::open_inspector(
            "snapshot",
            pid,
            plan.port,
            plan.any_binary,
            "--force-signal",
        )?;
        (opened.url.clone(), Some(pid), Some(opened))
    };
    let stopped = |what: &str| {
        signals::interrupted()
            .map(|sig| CaptureError::Interrupted(format!("snapshot: {} {what}", sig.cause())))
    };
    if let Some(e) = stopped("before the snapshot began") {
        return Err(e);
    }
    let mut session = Session::connect(&url, &ConnectOptions::default())
        .map_err(|e| CaptureError::Usage(format!("snapshot: {e}")))?;
    // The target is never a process heaphound started, so a signal never cuts this session:
    // Node 20 was seen to die of SIGSEGV when its inspector connection was cut mid-snapshot.
    // A snapshot in flight is finished and kept; the command then stops.
    session
        .enable_heap_profiler()
        .map_err(step(format!("{url}: enabling the heap profiler")))?;
    if plan.gc {
        ui.status("collecting garbage…");
        let gc = session.collect_garbage();
        if let Some(e) = stopped("while collecting garbage") {
            return Err(e);
        }
        gc.map_err(step(format!("{url}: collecting garbage")))?;
    }
    if let Some(parent) = plan.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        files::create_dir(parent).map_err(|source| CaptureError::Io {
            what: format!("{}: cannot create the folder", parent.display()),
            source,
        })?;
    }
    let started = Instant::now();
    let mut ticker = SnapshotTicker::new(ui, "snapshot");
    let taken = session.take_heap_snapshot(&plan.out, &mut |p| ticker.tick(p));
    ui.clear();
    let bytes = taken.map_err(step(format!("{}: snapshot of {url}", plan.out.display())))?;
    session.close();
    // Closed before anything else is said or returned, a signal included.
    let closed = match opened.as_mut().and_then(|o| o.close()) {
        Some(Ok(said)) => {
            ui.note(&said);
            true
        }
        Some(Err(said)) => {
            ui.warn(&said);
            false
        }
        None => false,
    };
    if let Some(e) = stopped(&format!(
        "while the snapshot streamed; it was finished and kept: {} ({bytes} bytes)",
        plan.out.display()
    )) {
        return Err(e);
    }
    Ok(SnapshotDoc {
        inspector_closed: closed,
        file: plan.out.display().to_string(),
        bytes,
        pid,
        inspector: url,
        gc: plan.gc,
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}
