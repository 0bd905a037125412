//! `postmortem`: the files a process left behind (near-heap-limit and signal snapshots,
//! diagnostic reports), grouped by process id from Node's file names, ordered as Node
//! wrote them, and judged per process. A file that cannot be used is listed with why,
//! never the end of the analysis.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use heaphound_analysis::{diagreport, postmortem as verdict, suspects};
use heaphound_model::postmortem::{
    Artifact, ArtifactKind, CrashDoc, PostmortemDoc, ProcessDoc, SkippedFile,
};
use heaphound_model::SCHEMA_VERSION;

use crate::judge::Judged;
use crate::read::{Opened, ReadError};
use crate::CaptureError;

/// Reports larger than this are not Node's (they run to a few hundred kB).
const MAX_REPORT: u64 = 64 << 20;

/// What Node's names say: `Heap.20261121.123856.10959.0.001.heapsnapshot`,
/// `report.20261121.123901.10959.0.002.json`.
#[derive(Debug, Clone, PartialEq)]
struct NodeName {
    written: String,
    pid: u32,
    sequence: u32,
}

fn node_name(file: &str) -> Option<NodeName> {
    let rest = file
        .strip_prefix("Heap.")
        .or_else(|| file.strip_prefix("report."))?;
    let rest = rest
        .strip_suffix(".heapsnapshot")
        .or_else(|| rest.strip_suffix(".json"))?;
    let parts: Vec<&str> = rest.split('.').collect();
    let [date, time, pid, _tid, seq] = parts.as_slice() else {
        return None;
    };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(date, 8) || !digits(time, 6) {
        return None;
    }
    Some(NodeName {
        written: format!(
            "{}-{}-{}T{}:{}:{}",
            &date[..4],
            &date[4..6],
            &date[6..],
            &time[..2],
            &time[2..4],
            &time[4..]
        ),
        pid: pid.parse().ok()?,
        sequence: seq.parse().ok()?,
    })
}

/// One file found, before it is read.
struct Found {
    path: PathBuf,
    kind: ArtifactKind,
    bytes: u64,
    name: Option<NodeName>,
    modified: Option<SystemTime>,
}

fn kind_of(path: &Path) -> Option<ArtifactKind> {
    let name = path.file_name()?.to_string_lossy();
    if name.ends_with(".heapsnapshot") || name.ends_with(".heapsnapshot.gz") {
        Some(ArtifactKind::HeapSnapshot)
    } else if name.ends_with(".json") {
        Some(ArtifactKind::DiagnosticReport)
    } else {
        None
    }
}

/// The files of `inputs` (folders are listed, not descended into).
fn find(inputs: &[PathBuf], skipped: &mut Vec<SkippedFile>) -> Result<Vec<Found>, CaptureError> {
    let mut out = Vec::new();
    for input in inputs {
        let meta = std::fs::metadata(input).map_err(|source| CaptureError::Io {
            what: format!("{}: cannot read", input.display()),
            source,
        })?;
        let mut add = |path: PathBuf, explicit: bool| match kind_of(&path) {
            Some(kind) => {
                let meta = std::fs::metadata(&path).ok();
                let name = path
                    .file_name()
                    .and_then(|n| node_name(&n.to_string_lossy()));
                out.push(Found {
                    kind,
                    bytes: meta.as_ref().map_or(0, |m| m.len()),
                    modified: meta.and_then(|m| m.modified().ok()),
                    name,
                    path,
                });
            }
            None if explicit => skipped.push(SkippedFile {
                file: path.display().to_string(),
                why: "neither a heap snapshot (.heapsnapshot) nor a diagnostic report (.json)"
                    .into(),
            }),
            None => {}
        };
        if meta.is_dir() {
            let entries = std::fs::read_dir(input).map_err(|source| CaptureError::Io {
                what: format!("{}: cannot list", input.display()),
                source,
            })?;
            let mut paths: Vec<PathBuf> = entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .map(|e| e.path())
                .collect();
            paths.sort();
            for p in paths {
                add(p, false);
            }
        } else {
            add(input.clone(), true);
        }
    }
    Ok(out)
}

/// The artifacts of one process, oldest first.
struct Process {
    pid: Option<u32>,
    snapshots: Vec<Found>,
    reports: Vec<(Found, CrashDoc)>,
}

/// Node's time and sequence, else the file's modification time.
type OrderKey = (String, u32, Option<SystemTime>);

fn order_key(f: &Found) -> OrderKey {
    match &f.name {
        Some(n) => (n.written.clone(), n.sequence, f.modified),
        None => (String::new(), 0, f.modified),
    }
}

fn artifact(f: &Found) -> Artifact {
    Artifact {
        file: f.path.display().to_string(),
        kind: f.kind,
        bytes: f.bytes,
        written: f.name.as_ref().map(|n| n.written.clone()),
        sequence: f.name.as_ref().map(|n| n.sequence),
    }
}

/// Groups the files by process: Node's names (and each report's own header) say the PID;
/// snapshots named otherwise form one group of unknown PID.
fn group(found: Vec<Found>, skipped: &mut Vec<SkippedFile>) -> Vec<Process> {
    let mut by_pid: BTreeMap<Option<u32>, Process> = BTreeMap::new();
    for f in found {
        let mut pid = f.name.as_ref().map(|n| n.pid);
        match f.kind {
            ArtifactKind::HeapSnapshot => {
                if f.bytes == 0 {
                    skipped.push(SkippedFile {
                        file: f.path.display().to_string(),
                        why: "empty (0 bytes): the snapshot was cut before it was written, often by the kernel's OOM killer"
                            .into(),
                    });
                    continue;
                }
                by_pid
                    .entry(pid)
                    .or_insert_with(|| Process {
                        pid,
                        snapshots: Vec::new(),
                        reports: Vec::new(),
                    })
                    .snapshots
                    .push(f);
            }
            ArtifactKind::DiagnosticReport => {
                let label = f.path.display().to_string();
                let read = if f.bytes > MAX_REPORT {
                    Err("too large for a diagnostic report".to_string())
                } else {
                    std::fs::read(&f.path)
                        .map_err(|e| format!("cannot read: {e}"))
                        .and_then(|b| diagreport::parse(&b, &label).map_err(|e| e.to_string()))
                };
                match read {
                    Ok((header_pid, crash)) => {
                        pid = header_pid.or(pid);
                        by_pid
                            .entry(pid)
                            .or_insert_with(|| Process {
                                pid,
                                snapshots: Vec::new(),
                                reports: Vec::new(),
                            })
                            .reports
                            .push((f, crash));
                    }
                    Err(why) => skipped.push(SkippedFile { file: label, why }),
                }
            }
        }
    }
    let mut out: Vec<Process> = by_pid.into_values().collect();
    for p in &mut out {
        p.snapshots.sort_by_key(order_key);
        p.reports.sort_by_key(|(f, _)| order_key(f));
    }
    // Processes in the order they left their first artifact.
    out.sort_by_key(|p| {
        p.snapshots
            .iter()
            .chain(p.reports.iter().map(|(f, _)| f))
            .map(order_key)
            .min()
    });
    out
}

/// How a caller reads a snapshot (with its progress and source maps).
pub type OpenFn<'a> = dyn Fn(&str) -> Result<Opened, ReadError> + 'a;

/// Reads, groups and judges the artifacts of `inputs`; `top` suspects per process.
/// `hide` is applied to every text taken from a report (secrets in its command line).
pub fn run(
    inputs: &[PathBuf],
    open: &OpenFn,
    top: usize,
    hide: &dyn Fn(&str) -> String,
) -> Result<PostmortemDoc, CaptureError> {
    let mut skipped = Vec::new();
    let found = find(inputs, &mut skipped)?;
    let processes = group(found, &mut skipped);
    let mut docs = Vec::new();
    for p in processes {
        // A process none of whose files could be read is only in `skipped`.
        if let Some(d) = judge_process(p, open, top, hide, &mut skipped) {
            docs.push(d);
        }
    }
    if docs.is_empty() {
        let what: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
        let mut msg = format!(
            "{}: no heap snapshot or diagnostic report to read (Node writes Heap.*.heapsnapshot with --heapsnapshot-near-heap-limit or --heapsnapshot-signal, report.*.json with --report-on-fatalerror)",
            what.join(", ")
        );
        if !skipped.is_empty() {
            let why: Vec<String> = skipped
                .iter()
                .map(|s| format!("{}: {}", s.file, s.why))
                .collect();
            msg.push_str(&format!("; unusable: {}", why.join("; ")));
        }
        return Err(CaptureError::Usage(msg));
    }
    let verdicts: Vec<&_> = docs.iter().map(|d: &ProcessDoc| &d.verdict).collect();
    let verdict = verdict::overall(&verdicts).expect("one process or more");
    Ok(PostmortemDoc {
        schema_version: SCHEMA_VERSION,
        verdict,
        processes: docs,
        skipped,
    })
}

fn judge_process(
    p: Process,
    open: &OpenFn,
    top: usize,
    hide: &dyn Fn(&str) -> String,
    skipped: &mut Vec<SkippedFile>,
) -> Option<ProcessDoc> {
    let mut artifacts: Vec<(Artifact, OrderKey)> = Vec::new();
    let mut loaded: Vec<Opened> = Vec::new();
    for f in &p.snapshots {
        let file = f.path.display().to_string();
        match open(&file) {
            Ok(o) => {
                artifacts.push((artifact(f), order_key(f)));
                loaded.push(o);
            }
            Err(e) => skipped.push(SkippedFile {
                file: file.clone(),
                why: e
                    .0
                    .strip_prefix(&format!("{file}: "))
                    .unwrap_or(&e.0)
                    .to_string(),
            }),
        }
    }
    for (f, _) in &p.reports {
        artifacts.push((artifact(f), order_key(f)));
    }
    if artifacts.is_empty() {
        return None;
    }
    artifacts.sort_by(|a, b| a.1.cmp(&b.1));
    // The report of the death when there is one, else the last.
    let crash = p
        .reports
        .iter()
        .rev()
        .find(|(_, c)| c.fatal)
        .or(p.reports.last())
        .map(|(_, c)| hidden(c.clone(), hide));
    let count = loaded.len();
    let judged = match count {
        0 => None,
        1 => {
            let o = &loaded[0];
            let findings = suspects::find_single(suspects::Snap {
                graph: &o.graph,
                analysis: &o.analysis,
            });
            Some(Judged { loaded, findings })
        }
        _ => Some(Judged::from_opened(loaded)),
    };
    let doc = judged.as_ref().map(|j| j.document(top));
    let names: Vec<String> = doc
        .iter()
        .flat_map(|d| d.suspects.iter().chain(d.more.iter()))
        .map(|s| s.holder.name.clone())
        .collect();
    let last_total = judged
        .as_ref()
        .and_then(|j| j.loaded.last())
        .map_or(0, |o| o.analysis.total_size);
    let v = verdict::judge(
        p.pid,
        crash.as_ref(),
        &verdict::Snapshots {
            count,
            findings: judged.as_ref().map(|j| &j.findings),
            holder_names: &names,
            last_total,
        },
    );
    Some(ProcessDoc {
        pid: p.pid,
        artifacts: artifacts.into_iter().map(|(a, _)| a).collect(),
        crash,
        verdict: v,
        suspects: doc,
    })
}

fn hidden(mut c: CrashDoc, hide: &dyn Fn(&str) -> String) -> CrashDoc {
    for a in &mut c.command_line {
        *a = hide(a);
    }
    for f in &mut c.js_stack {
        *f = hide(f);
    }
    c.js_stack_message = c.js_stack_message.map(|m| hide(&m));
    c.cwd = c.cwd.map(|m| hide(&m));
    c.event = hide(&c.event);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_give_pid_time_and_sequence() {
        let n = node_name("Heap.20261121.123856.10959.0.001.heapsnapshot").unwrap();
        assert_eq!(n.pid, 10959);
        assert_eq!(n.sequence, 1);
        assert_eq!(n.written, "2026-11-21T12:38:56");
        let r = node_name("report.20261121.123901.10959.0.002.json").unwrap();
        assert_eq!((r.pid, r.sequence), (10959, 2));
        assert_eq!(node_name("report.json"), None);
        assert_eq!(node_name("Heap.x.y.1.0.001.heapsnapshot"), None);
        assert_eq!(node_name("before.heapsnapshot"), None);
    }
}
