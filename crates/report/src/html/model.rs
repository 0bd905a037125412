//! What the HTML report shows, section by section; every section is optional, so each
//! command fills in what it has (`watch`: series and verdict; `gate`: verdict and suspects).
//! Built directly, or from the documents heaphound writes (`report.json`, `suspects
//! --json`, `memory.jsonl`; see `from_docs`), so old run folders still render.

use heaphound_model::profile::AllocationSites;

#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The page's heading: "heaphound hunt: node server.js".
    pub title: String,
    /// Lines under the heading: ("load", "GET http://… 2,333 requests"), ("run", "/tmp/run").
    pub facts: Vec<(String, String)>,
    pub verdict: Option<Verdict>,
    pub snapshots: Vec<SnapshotRow>,
    /// `None`: not computed; `Some(empty)`: computed, nothing suspicious.
    pub suspects: Option<Vec<Suspect>>,
    pub memory: Option<MemorySeries>,
    /// The Theil–Sen line `(slope per ms, intercept)` through the post-GC floor of
    /// `memory` (`chart::floor_points`), fitted by whoever writes the page; no trend line
    /// without it.
    pub memory_trend: Option<(f64, f64)>,
    pub classes: Option<ClassTable>,
    pub dominators: Option<DomNode>,
    pub allocations: Option<AllocationSites>,
    /// A postmortem's diagnostic report: how the process ended.
    pub crash: Option<Crash>,
    /// Set by `redact::apply`; the page says so.
    pub redacted: bool,
}

/// How a process ended, from its diagnostic report: labelled facts and the top JS frames.
#[derive(Debug, Clone, Default)]
pub struct Crash {
    pub rows: Vec<(String, String)>,
    pub stack: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Verdict {
    /// `leak`, `no-leak` or `inconclusive` (as in the JSON documents).
    pub verdict: String,
    pub reason: String,
    pub leaked_objects: Option<u64>,
    pub leaked_bytes: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct SnapshotRow {
    pub file: String,
    pub node_count: Option<u64>,
    pub total_size: Option<u64>,
}

/// One object as the JSON documents describe it; `kind` is V8's node type (`string`,
/// `object`, `closure`, …), which decides what redaction hides.
#[derive(Debug, Clone, Default)]
pub struct Object {
    pub id: Option<u64>,
    pub kind: String,
    pub class: String,
    pub name: String,
    pub retained_size: Option<u64>,
    pub self_size: Option<u64>,
}

#[derive(Debug, Clone)]
pub enum ChainItem {
    /// An object, reached through `edge` (`None` for the first, held by a root).
    Object {
        edge: Option<String>,
        object: Object,
    },
    /// "the 2 reference(s) above repeat 40 times in all".
    Repeat { references: u64, times: u64 },
}

#[derive(Debug, Clone)]
pub struct SourceLink {
    pub file: String,
    pub line: Option<u64>,
    pub column: Option<u64>,
    /// `constructor`, `closure`, `allocation`, …
    pub kind: String,
    pub function: Option<String>,
    /// The generated position, when `file`, `line` and `column` are the original's.
    pub generated: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Suspect {
    pub rank: u64,
    pub shape: String,
    pub title: String,
    pub class: String,
    pub steady: bool,
    pub holder: String,
    pub counts: Vec<Option<u64>>,
    pub retained_sizes: Vec<Option<u64>>,
    pub retained_growth: i64,
    pub chain: Vec<ChainItem>,
    pub locations: Vec<SourceLink>,
    pub allocation_stack: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    pub t_ms: f64,
    pub rss: Option<u64>,
    pub heap_used: Option<u64>,
    pub heap_total: Option<u64>,
    pub external: Option<u64>,
    /// The post-GC sample taken just before snapshot k.
    pub snapshot: Option<u32>,
}

#[derive(Debug, Clone, Default)]
pub struct MemorySeries {
    pub samples: Vec<Sample>,
}

#[derive(Debug, Clone)]
pub struct ClassRow {
    pub name: String,
    pub new_count: i64,
    pub deleted_count: i64,
    pub count_delta: i64,
    pub size_delta: i64,
    pub count_after: i64,
    pub retained_before: i64,
    pub retained_after: i64,
    pub retained_delta: i64,
    pub location: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ClassTable {
    pub before: String,
    pub after: String,
    /// Classes in the whole comparison (`rows` is the top of it).
    pub class_count: u64,
    pub rows: Vec<ClassRow>,
}

#[derive(Debug, Clone, Default)]
pub struct DomNode {
    pub object: Object,
    pub more_children: u64,
    pub children: Vec<DomNode>,
    /// The whole heap, on the root only (for percentages).
    pub total_size: Option<u64>,
}
