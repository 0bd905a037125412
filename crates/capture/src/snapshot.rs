//! `snapshot`: one heap snapshot of a live process (a PID, whose inspector is opened with
//! SIGUSR1, or a ws:// inspector URL), streamed to disk; and [`check_whole`], which every
//! snapshot heaphound takes goes through.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Instant;

use heaphound_inspector::{ConnectOptions, Session};
use heaphound_model::run::SnapshotDoc;

use crate::headroom::{self, Guard};
use crate::{files, signals, CaptureError, Observer, OpenedInspector, SnapshotTicker};

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
    /// Whether the target has the memory for a snapshot (forced, in `snapshot`, by the
    /// same `--force` that overwrites `out`).
    pub headroom: Guard,
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
    // Measured after the GC, which is what the snapshot will see.
    let heap_used = session.heap_usage().ok().map(|(used, _)| used);
    let room_pid = pid.or_else(|| pid_behind(&mut session, &url));
    match (heap_used, room_pid) {
        (Some(_), _) => {}
        (None, Some(_)) => ui.note(
            "the heap's used size could not be read; the process's VmRSS stands in for what the snapshot needs",
        ),
        (None, None) => ui.note(
            "the heap's used size could not be read, nor the process's PID: its memory headroom is not checked",
        ),
    }
    if let Err(r) = headroom::ensure(room_pid, heap_used, &plan.headroom, ui, None) {
        finish(session, opened.as_mut(), ui);
        return Err(CaptureError::NoHeadroom(r));
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
    let whole = check_whole(&plan.out);
    // Closed before anything else is said or returned, a signal included.
    let closed = finish(session, opened.as_mut(), ui);
    whole?;
    if let Some(e) = stopped(&format!(
        "while the snapshot streamed; it was finished and kept: {} ({bytes} bytes)",
        plan.out.display()
    )) {
        return Err(e);
    }
    Ok(SnapshotDoc {
        inspector_closed: closed,
        signal: None,
        written_as: None,
        file: plan.out.display().to_string(),
        bytes,
        pid,
        inspector: url,
        gc: plan.gc,
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}

/// Closes the session, then the inspector when heaphound opened it; whether it was closed.
fn finish(session: Session, opened: Option<&mut OpenedInspector>, ui: &dyn Observer) -> bool {
    session.close();
    match opened.and_then(|o| o.close()) {
        Some(Ok(said)) => {
            ui.note(&said);
            true
        }
        Some(Err(said)) => {
            ui.warn(&said);
            false
        }
        None => false,
    }
}

/// The PID of the process behind a ws:// URL, as this machine sees it: `process.pid`, kept
/// only when that PID holds the URL's port (a process in another PID namespace, a
/// container, reports its own numbering, which may name some other process here).
fn pid_behind(session: &mut Session, url: &str) -> Option<u32> {
    let pid = u32::try_from(session.evaluate("process.pid").ok()?.as_u64()?).ok()?;
    let port = crate::program::ws_port(url);
    crate::listen::listeners(pid, 0)
        .iter()
        .any(|l| l.addr.port() == port)
        .then_some(pid)
}

/// How much of a snapshot's start holds its header (`{"snapshot":{"meta":…,"node_count":…}`,
/// a few kB in practice).
const HEAD_BYTES: u64 = 64 * 1024;
/// How much of its end is read to see its JSON close.
const TAIL_BYTES: u64 = 4 * 1024;

/// Checks that a heap snapshot the inspector wrote is whole: not empty, its header parses
/// and its JSON closes. Reads its first 64 KiB and last 4 KiB only, whatever its size.
/// One that is not is removed (it must never be left looking whole) and named.
pub fn check_whole(path: &Path) -> Result<(), CaptureError> {
    let read = || -> std::io::Result<(u64, Vec<u8>, Vec<u8>)> {
        let mut f = File::open(path)?;
        let len = f.metadata()?.len();
        let mut head = Vec::new();
        (&mut f).take(HEAD_BYTES).read_to_end(&mut head)?;
        let mut tail = Vec::new();
        f.seek(SeekFrom::Start(len.saturating_sub(TAIL_BYTES)))?;
        f.take(TAIL_BYTES).read_to_end(&mut tail)?;
        Ok((len, head, tail))
    };
    let (len, head, tail) = read().map_err(|source| CaptureError::Io {
        what: format!("{}: cannot read the snapshot back", path.display()),
        source,
    })?;
    match incomplete(len, &head, &tail) {
        None => Ok(()),
        Some(what) => {
            let _ = std::fs::remove_file(path);
            Err(CaptureError::Incomplete {
                path: path.display().to_string(),
                what,
            })
        }
    }
}

/// What is wrong with a snapshot of `len` bytes that starts with `head` and ends with
/// `tail`, if anything.
fn incomplete(len: u64, head: &[u8], tail: &[u8]) -> Option<String> {
    let blank = |b: &u8| b.is_ascii_whitespace();
    if head.iter().all(blank) {
        return Some(format!("empty ({len} bytes)"));
    }
    let whole_in_head = len <= head.len() as u64;
    let header = header_error(head);
    let closes = tail.iter().rev().find(|b| !blank(b)) == Some(&b'}');
    match header {
        // The header is cut where the file ends: the file is cut.
        Some(e) if whole_in_head || e.is_eof() => Some(format!(
            "truncated ({len} bytes; its header ends early: {e})"
        )),
        Some(e) => Some(format!(
            "truncated or damaged ({len} bytes; its header does not parse: {e})"
        )),
        None if !closes => Some(format!("truncated ({len} bytes; its JSON does not close)")),
        None => None,
    }
}

/// Why `head` does not start with a heap snapshot's header, if it does not.
fn header_error(head: &[u8]) -> Option<HeaderError> {
    let rest = head.trim_ascii_start();
    let Some(rest) = rest.strip_prefix(b"{") else {
        return Some(HeaderError::Shape("it does not start with `{`"));
    };
    let rest = rest.trim_ascii_start();
    let Some(rest) = rest.strip_prefix(b"\"snapshot\"") else {
        return Some(if rest.is_empty() || b"\"snapshot\"".starts_with(rest) {
            HeaderError::Eof
        } else {
            HeaderError::Shape("its first key is not \"snapshot\"")
        });
    };
    let rest = rest.trim_ascii_start();
    let Some(rest) = rest.strip_prefix(b":") else {
        return Some(if rest.is_empty() {
            HeaderError::Eof
        } else {
            HeaderError::Shape("no `:` after \"snapshot\"")
        });
    };
    let header = match serde_json::Deserializer::from_slice(rest)
        .into_iter::<serde_json::Value>()
        .next()
    {
        Some(Ok(v)) => v,
        Some(Err(e)) if e.is_eof() => return Some(HeaderError::Eof),
        Some(Err(e)) => return Some(HeaderError::Json(e.to_string())),
        None => return Some(HeaderError::Eof),
    };
    let fields = header
        .pointer("/meta/node_fields")
        .and_then(|f| f.as_array());
    if fields.is_none_or(|f| f.is_empty()) || header.get("node_count").is_none() {
        return Some(HeaderError::Shape(
            "it has no meta.node_fields or node_count",
        ));
    }
    None
}

enum HeaderError {
    /// The bytes end inside the header.
    Eof,
    Shape(&'static str),
    Json(String),
}

impl HeaderError {
    fn is_eof(&self) -> bool {
        matches!(self, HeaderError::Eof)
    }
}

impl std::fmt::Display for HeaderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeaderError::Eof => f.write_str("the file ends inside it"),
            HeaderError::Shape(s) => f.write_str(s),
            HeaderError::Json(s) => f.write_str(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = r#"{"snapshot":{"meta":{"node_fields":["type","name","id","self_size","edge_count","trace_node_id","detachedness"],"node_types":[["hidden","array","string","object"],"string","number","number","number","number","number"],"edge_fields":["type","name_or_index","to_node"],"edge_types":[["context","element","property","internal","hidden","shortcut","weak"],"string_or_number","node"],"trace_function_info_fields":[],"trace_node_fields":[],"sample_fields":[],"location_fields":[]},"node_count":2,"edge_count":1,"trace_function_count":0},
"nodes":[9,0,1,0,1,0,0
,3,1,3,64,0,0,0],
"edges":[2,1,7],
"trace_function_infos":[],
"trace_tree":[],
"samples":[],
"locations":[],
"strings":["","(GC roots)"]}
"#;

    fn check(text: &str) -> Option<String> {
        let b = text.as_bytes();
        let head = &b[..b.len().min(HEAD_BYTES as usize)];
        let tail = &b[b.len().saturating_sub(TAIL_BYTES as usize)..];
        incomplete(b.len() as u64, head, tail)
    }

    #[test]
    fn a_whole_snapshot_passes_and_cut_ones_are_named() {
        assert_eq!(check(HEADER), None);
        assert!(check("").unwrap().starts_with("empty (0 bytes)"));
        assert!(check("  \n").unwrap().starts_with("empty"));
        // Cut anywhere: in the header, in the arrays, just before the last brace.
        for cut in [1, 5, 12, 40, 300, HEADER.len() - 60, HEADER.len() - 3] {
            let what = check(&HEADER[..cut]).unwrap_or_else(|| panic!("cut at {cut}"));
            assert!(what.starts_with("truncated"), "cut at {cut}: {what}");
        }
        let what = check(r#"{"nodes":[1,2,3]}"#).unwrap();
        assert!(what.contains("\"snapshot\""), "{what}");
        let what = check(r#"{"snapshot":{"node_count":1}}"#).unwrap();
        assert!(what.contains("meta.node_fields"), "{what}");
    }

    #[test]
    fn check_whole_removes_what_is_not_whole() {
        let dir = std::env::temp_dir().join(format!("heaphound-whole-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.heapsnapshot");
        std::fs::write(&good, HEADER).unwrap();
        check_whole(&good).unwrap();
        assert!(good.exists());
        let empty = dir.join("empty.heapsnapshot");
        std::fs::write(&empty, "").unwrap();
        let e = check_whole(&empty).unwrap_err().to_string();
        assert!(
            e.contains("empty.heapsnapshot: the heap snapshot is empty"),
            "{e}"
        );
        assert!(!empty.exists());
        // Longer than the part read at each end: the tail decides.
        let big = dir.join("big.heapsnapshot");
        let mut text = HEADER.replace(
            "\"nodes\":[9",
            &format!("\"nodes\":[{}9", "0,".repeat(50_000)),
        );
        assert_eq!(check(&text), None);
        text.truncate(text.len() - 10);
        std::fs::write(&big, &text).unwrap();
        let e = check_whole(&big).unwrap_err().to_string();
        assert!(
            e.contains("truncated") && e.contains("does not close"),
            "{e}"
        );
        assert!(!big.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
