//! The bounded summaries a run folder keeps for reports: the class comparison of the first
//! and last snapshot, and the top of the last snapshot's dominator tree.
//!
//! Transitional: both documents are typed (`heaphound_model::diff::ClassComparison`,
//! `heaphound_model::heap::DominatorSummary`) and built by
//! `heaphound_analysis::views::overview`; these functions hand them over as `Value`s for
//! the report documents that are not typed yet.

use std::collections::HashMap;

use heaphound_analysis::diff::ClassDiff;
use heaphound_analysis::views::overview;
use heaphound_analysis::Analysis;
use heaphound_snapshot::HeapGraph;
use serde_json::Value;

/// `{"before","after","class_count","classes"}` (as in `diff --json`), the `CLASS_ROWS`
/// classes whose retained size grew most first.
pub fn class_comparison_json(
    before: &str,
    after: &str,
    rows: Vec<ClassDiff>,
    scripts: &HashMap<u32, String>,
) -> Value {
    serde_json::to_value(overview::class_comparison(before, after, rows, scripts))
        .unwrap_or(Value::Null)
}

/// `{"file","total_size","node_budget","tree"}`: the top of the dominator tree.
pub fn dominator_summary_json(g: &HeapGraph, a: &Analysis, file: &str) -> Value {
    serde_json::to_value(overview::dominator_summary(g, a, file)).unwrap_or(Value::Null)
}
