//! Writing the HTML report: the summaries a report needs from the snapshots (kept in
//! report.json too), what the run folder adds (memory series, heap profiles), redaction,
//! and the file itself. Shared by `report`, `hunt`/`attach` and `suspects`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use heaphound_analysis::scripts;
use heaphound_analysis::trend::{theil_sen, Point};
use heaphound_analysis::views::{allocations, overview};
use heaphound_model::profile::AllocationSites;
use heaphound_model::run::Overview;
use heaphound_report::html::{self, redact, MemorySeries, Report};
use serde_json::Value;

use crate::commands::diff::compare;
use crate::load::Loaded;

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

/// `class_comparison` (first vs last snapshot), `dominator_tree` (last snapshot) and the
/// allocation sites; all bounded summaries, whatever the heap size.
pub fn overview_of(loaded: &[Loaded]) -> Overview {
    let (Some(first), Some(last)) = (loaded.first(), loaded.last()) else {
        return Overview::default();
    };
    let rows = compare(first, last);
    let names: HashMap<u32, String> = scripts::script_names(&last.graph);
    Overview {
        class_comparison: Some(overview::class_comparison(
            &first.label,
            &last.label,
            rows,
            &names,
        )),
        dominator_tree: Some(overview::dominator_summary(
            &last.graph,
            &last.analysis,
            &last.label,
        )),
        allocation_sites: allocations_of(loaded).map(|a| AllocationSites {
            tree: allocations::pruned(&a.tree, 0.001, 2000),
            source: a.source,
        }),
    }
}

/// Adds the [`overview_of`] the snapshots to a document the page is drawn from.
pub fn add_overview(doc: &mut Value, loaded: &[Loaded]) {
    if let (Some(o), Ok(Value::Object(add))) = (
        doc.as_object_mut(),
        serde_json::to_value(overview_of(loaded)),
    ) {
        o.extend(add);
    }
}

/// Allocation stacks of the last snapshot, when allocation tracking was on.
pub fn allocations_of(loaded: &[Loaded]) -> Option<AllocationSites> {
    let last = loaded.last()?;
    Some(AllocationSites {
        source: format!("the allocation stacks recorded in {}", last.label),
        tree: allocations::from_trace(&last.graph)?,
    })
}

/// What a run folder adds to a report: the memory series and the first heap profile.
pub fn from_run_dir(r: &mut Report, dir: &Path, warn: &dyn Fn(&str)) {
    let series = dir.join("memory.jsonl");
    if r.memory.is_none() {
        match std::fs::read_to_string(&series) {
            Ok(text) => r.memory = Some(MemorySeries::from_jsonl(&text)),
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
    std::fs::write(path, &page).with_context(|| format!("{}: cannot write", path.display()))?;
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
