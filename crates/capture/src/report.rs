//! A run's `report.json`: the suspects document of its snapshots, the memory series'
//! verdict, what ran and how, and the overview `heaphound report` draws the run from
//! without its snapshots.

use std::path::Path;

use heaphound_model::run::{Overview, RunProgram, RunReport};
use heaphound_model::suspects::{Judgement, LeakVerdict, SuspectsDoc};

use crate::judge::Judged;
use crate::playbook::Captured;
use crate::trend::{self, ForHunt};
use crate::CaptureError;

/// The report of a finished capture, and the trend verdict it holds (for the text).
pub struct Reported {
    pub report: RunReport,
    pub trend: ForHunt,
}

/// `top`: suspects kept in the document; `interval`: the sampler's, which the trend
/// verdict is judged against.
pub fn run_report(
    cap: &Captured,
    judged: &Judged,
    run_dir: &Path,
    interval: std::time::Duration,
    top: usize,
) -> Reported {
    assemble(
        cap,
        judged.document(top),
        judged.overview(),
        judged.is_leak(),
        run_dir,
        interval,
    )
}

/// The report of a capture that stopped with fewer than two snapshots: nothing to judge
/// them by, so the verdict is inconclusive and says why, but the program, the load, the
/// memory series and the fault are kept. The snapshot taken (if one was) stays in the run
/// folder unread: a run that was stopped should end quickly.
pub fn too_few_report(cap: &Captured, run_dir: &Path, interval: std::time::Duration) -> Reported {
    let suspects = SuspectsDoc {
        schema_version: heaphound_model::SCHEMA_VERSION,
        verdict: LeakVerdict::Inconclusive,
        reason: Judgement::TooFewSnapshots {
            kept: cap.snapshots.len(),
        }
        .reason(),
        snapshots: Vec::new(),
        leaked_objects: 0,
        leaked_bytes: 0,
        suspects: Vec::new(),
        source_map_notes: Vec::new(),
        more: Vec::new(),
    };
    assemble(cap, suspects, Overview::default(), false, run_dir, interval)
}

fn assemble(
    cap: &Captured,
    suspects: SuspectsDoc,
    overview: Overview,
    leak: bool,
    run_dir: &Path,
    interval: std::time::Duration,
) -> Reported {
    let files = cap.snapshot_files();
    let memory = cap
        .series
        .lock()
        .map(|s| s.summary(&files))
        .unwrap_or_default();
    let trend = trend::for_hunt(&cap.series, interval, leak);
    let program = &cap.program;
    let report = RunReport {
        suspects,
        trend: trend.doc.clone(),
        run_dir: run_dir.to_string_lossy().into_owned(),
        program: RunProgram {
            command: program.command.clone(),
            pid: program.pid,
            attached: !program.is_spawned(),
            listening: cap.listen.map(|a| a.to_string()),
            ended: cap.how.clone(),
        },
        memory,
        load: cap.load.clone(),
        fault: cap.fault.clone(),
        overview,
    };
    Reported { report, trend }
}

/// Writes `report.json` into the run folder; returns the text written (which is also
/// what `--json` prints).
pub fn write(run_dir: &Path, report: &RunReport) -> Result<String, CaptureError> {
    let path = run_dir.join("report.json");
    let mut text = serde_json::to_string_pretty(report).map_err(|e| CaptureError::Write {
        path: path.to_string_lossy().into_owned(),
        source: std::io::Error::other(e),
    })?;
    text.push('\n');
    crate::files::write_atomic(&path, text.as_bytes())?;
    Ok(text)
}
