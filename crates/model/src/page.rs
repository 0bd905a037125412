//! `report --json`: what `heaphound report` wrote, and which sections the page has.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::NamedSchema;

pub(crate) fn schemas(out: &mut Vec<NamedSchema>) {
    crate::add::<ReportWritten>(out, "report");
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ReportWritten {
    pub schema_version: u32,
    /// The document the page was drawn from.
    pub input: String,
    /// The page written.
    pub html: String,
    /// Its size.
    pub bytes: u64,
    pub redacted: bool,
    /// The class comparison and dominator tree were computed from the run's snapshots
    /// (the document did not carry them).
    pub computed_from_snapshots: bool,
    pub sections: Sections,
}

/// What each section of the page holds; `null` (or `false`) where the page says it has
/// none.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Sections {
    pub verdict: bool,
    /// Suspects shown.
    pub suspects: Option<u64>,
    /// Memory samples drawn from.
    pub memory: Option<u64>,
    /// Rows of the class comparison.
    pub classes: Option<u64>,
    pub dominators: bool,
    pub allocations: bool,
}
