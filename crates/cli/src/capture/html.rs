//! `hunt --html` / `attach --html`: the run's report as one HTML file.

use anyhow::Result;
use heaphound_model::run::RunReport;
use heaphound_report::html::Report;
use heaphound_report::human_size;

use super::args::Plan;
use super::ui::Ui;
use crate::commands::suspects::Judged;
use crate::html_out;

/// Writes the HTML report when `--html` was given: the document the run wrote, the memory
/// series and any heap profile in the run folder, and the allocation stacks if tracked.
pub fn write(plan: &Plan, doc: &RunReport, judged: &Judged, command: &str, ui: &Ui) -> Result<()> {
    let Some(path) = &plan.html.html else {
        return Ok(());
    };
    let mut report = Report::from_run(doc);
    report.allocations = html_out::allocations_of(&judged.loaded);
    html_out::from_run_dir(&mut report, &plan.capture.run_dir, &|m| ui.warn(m));
    let report = html_out::titled(report, command);
    let bytes = html_out::write(report, path, plan.html.redact)?;
    ui.note(&format!(
        "HTML report {} ({}{})",
        path.display(),
        human_size(bytes),
        if plan.html.redact { ", redacted" } else { "" }
    ));
    Ok(())
}
