//! The leak report from the findings and the snapshots, for callers that have not built
//! the document themselves: both build it with
//! `heaphound_analysis::views::suspects::document`.

use heaphound_analysis::suspects::Findings;
use serde_json::Value;

use crate::format::Style;

pub use heaphound_analysis::views::suspects::{LastSnapshot, SnapshotInfo};

use heaphound_analysis::views::suspects::document;

/// The `suspects --json` document as a JSON value, for callers that still add keys to it.
pub fn to_json(l: &LastSnapshot, snapshots: &[SnapshotInfo], f: &Findings, top: usize) -> Value {
    serde_json::to_value(document(l, snapshots, f, top)).unwrap_or_default()
}

/// [`super::text`] of the findings.
pub fn to_text(
    l: &LastSnapshot,
    snapshots: &[SnapshotInfo],
    f: &Findings,
    top: usize,
    verbose: bool,
    style: &Style,
) -> String {
    super::text(&document(l, snapshots, f, top), top, verbose, style)
}
