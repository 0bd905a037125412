//! Writing the HTML report: the summaries a report needs from the snapshots (kept in
//! report.json too), what the run folder adds (memory series, heap profiles), redaction,
//! and the file itself. Shared by `report`, `hunt`/`attach` and `suspects`.

use std::path::{Path, PathBuf};

use anyhow::Result;
use heaphound_analysis::trend::{theil_sen, Point};
use heaphound_analysis::views::allocations;
use heaphound_model::profile::AllocationSites;
use heaphound_report::html::{self, redact, MemorySeries, Report};

/// `--html FILE` and `--redact`, as every command that writes a report takes them.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct HtmlArgs {
    /// Also write a self-contained HTML report (no network: opens anywhere, offline).
    #[arg(long, value_name = "FILE", help_heading = "Report")]
    pub html: Option<PathBuf>,
    /// Hide string contents, property values and anything that looks like a secret (API
    /// keys, JWTs, tokens and passwords in URLs) in the HTML report (their length and a
    /// hash instead), so it can be shared outside the company.
    #[arg(long, requires = "html", help_heading = "Report")]
    pub redact: bool,
}

pub use heaphound_capture::judge::{allocations_of, overview_of};

/// What a run folder adds to a report: the memory series and the first heap profile.
pub fn from_run_dir(r: &mut Report, dir: &Path, warn: &dyn Fn(&str)) {
    let series = dir.join("memory.jsonl");
    if r.memory.is_none() {
        match std::fs::read(&series) {
            Ok(bytes) => {
                let (m, skipped) = MemorySeries::from_jsonl(&bytes);
                if skipped > 0 {
                    warn(&format!(
                        "{}: {skipped} line(s) are not memory samples; skipped",
                        series.display()
                    ));
                }
                r.memory = Some(m);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => warn(&format!("{}: cannot read: {e}", series.display())),
        }
    }
    if r.allocations.is_some() {
        return;
    }
    let mut profiles: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "heapprofile"))
        .collect();
    profiles.sort();
    if let Some(p) = profiles.first() {
        let file = p.to_string_lossy().into_owned();
        match crate::commands::profile::read(&file) {
            Ok(profile) => {
                r.allocations = Some(AllocationSites {
                    source: format!("the sampling heap profile {file}"),
                    tree: allocations::from_profile(&profile),
                })
            }
            Err(e) => warn(&format!("{e:#}; the report has no allocation sites")),
        }
    }
}

/// Renders (redacted when asked) and writes the page.
pub fn write(mut r: Report, path: &Path, redacted: bool) -> Result<u64> {
    if redacted {
        redact::apply(&mut r, &mut redact::Redactor::new());
    }
    if let Some(m) = &r.memory {
        let floor: Vec<Point> = html::chart::floor_points(m)
            .into_iter()
            .map(|(t, v)| Point::new(t, v))
            .collect();
        r.memory_trend = theil_sen(&floor);
    }
    let page = html::render(&r);
    heaphound_capture::files::write_atomic(path, page.as_bytes())?;
    Ok(page.len() as u64)
}

/// The title line of a report written by `command`.
pub fn titled(mut r: Report, command: &str) -> Report {
    if let Some(rest) = r.title.strip_prefix("heaphound: ") {
        r.title = format!("heaphound {command}: {rest}");
    } else if r.title == "heaphound report" {
        r.title = format!("heaphound {command}");
    }
    r
}
