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
    /// Snapshots `--snapshot-above` took, each with the sample that crossed the line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snapshots: Vec<WatchSnapshot>,
    /// Snapshots the line asked for that were not taken (refused for lack of memory,
    /// failed), one sentence each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snapshot_notes: Vec<String>,
}

/// One snapshot a watch took when memory crossed its line.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WatchSnapshot {
    pub file: String,
    pub bytes: u64,
    /// `inspector`, or the signal whose `--heapsnapshot-signal` handler wrote it.
    pub via: String,
    /// Milliseconds since the watch began, of the sample that crossed the line.
    pub t_ms: u64,
    /// `rss`, `heap_used` or `heap_limit_percent`.
    pub metric: String,
    /// What the sample measured (bytes; for `heap_limit_percent`, percent), and the line.
    pub value: f64,
    pub line: f64,
    /// The sample's resident memory and used heap (when the inspector gives it).
    pub rss: u64,
    pub heap_used: Option<u64>,
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
