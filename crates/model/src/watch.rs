//! `watch --json`: a process's memory over time and the verdict on it.

use serde::{Deserialize, Serialize};

use crate::series::Range;
use crate::trend::VerdictDoc;
use crate::NamedSchema;

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WatchDoc {
    pub schema_version: u32,
    /// Always `watch`.
    pub command: String,
    pub target: WatchedProcess,
    pub interval_ms: u64,
    /// How long the watch lasted, to the millisecond.
    pub duration_s: f64,
    /// Why it ended: `duration reached`, `the process exited`, `interrupted (Ctrl-C)`, …
    pub stopped: String,
    /// A full GC ran before each sample.
    pub gc_forced: bool,
    /// The series file (memory.jsonl).
    pub out: String,
    pub samples: u64,
    pub series: SeriesSummary,
    pub verdict: VerdictDoc,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WatchedProcess {
    pub pid: u32,
    pub command: String,
    /// `inspector` or `proc` (RSS from /proc only).
    pub source: String,
    /// Started by watch (and stopped at the end).
    pub spawned: bool,
    /// The ws:// URL, when watched through the inspector.
    pub inspector: Option<String>,
    /// How the process ended, or that it runs on.
    pub ended: String,
}

/// Each figure's range over the series; only `rss` when watched through /proc.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SeriesSummary {
    pub rss: Option<Range>,
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub heap: Option<HeapSummary>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HeapSummary {
    pub rss_anon: Option<Range>,
    pub heap_total: Option<Range>,
    pub heap_used: Option<Range>,
    pub external: Option<Range>,
    pub array_buffers: Option<Range>,
}

pub(crate) fn schemas(out: &mut Vec<NamedSchema>) {
    crate::add::<WatchDoc>(out, "watch");
}
