//! `gclog --json`: a `node --trace-gc` log judged: collections by kind, futile full GCs,
//! the post-GC floor and the trend verdict.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::trend::VerdictDoc;
use crate::NamedSchema;

pub(crate) fn schemas(out: &mut Vec<NamedSchema>) {
    crate::add::<GcLogDoc>(out, "gclog");
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct GcLogDoc {
    pub schema_version: u32,
    /// Always `gclog`.
    pub command: String,
    /// The file as given (`-` is stdin).
    pub file: String,
    /// The PID of the process whose collections are judged (the busiest isolate's).
    pub pid: Option<u32>,
    pub verdict: VerdictDoc,
    /// Collections of the judged isolate.
    pub events: usize,
    pub lines: usize,
    /// Lines that were not GC lines (the program's own output).
    pub skipped_lines: usize,
    /// Lines V8 printed twice (the ring buffer replayed before an out-of-memory crash).
    pub duplicate_lines: usize,
    /// Other isolates (worker threads) in the log, left out.
    pub other_isolates: usize,
    /// From the first collection to the last, three decimals.
    pub span_s: f64,
    /// V8's average mutator utilization at the last line that gives it.
    pub last_average_mu: Option<f64>,
    /// By count, most first.
    pub by_kind: Vec<GcKind>,
    pub full_gcs: usize,
    pub futile_full_gcs: FutileGcs,
    pub floor: GcFloor,
}

/// The collections of one kind (as V8 names it: `Scavenge`, `Mark-Compact (reduce)`, …).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct GcKind {
    pub kind: String,
    pub count: usize,
    /// Two decimals.
    pub pause_total_ms: f64,
    pub pause_max_ms: f64,
    /// Freed by this kind in all, in MB of 10^6 bytes (V8's log says MiB), one decimal.
    pub reclaimed_mb: f64,
}

/// Full GCs that freed under `threshold_share` of the heap: a heap at its limit.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct FutileGcs {
    pub threshold_share: f64,
    pub count: usize,
    pub list: Vec<FutileGc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct FutileGc {
    /// 1-based line number in the log.
    pub line: usize,
    pub t_ms: f64,
    pub kind: String,
    /// MB of 10^6 bytes, one decimal.
    pub before_mb: f64,
    /// MB of 10^6 bytes, one decimal.
    pub after_mb: f64,
    /// V8's reason (`allocation failure`, `task`, …).
    pub reason: String,
}

/// The floor judged.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct GcFloor {
    /// `full` (the heap after each full GC) or `all` (after every GC, lower envelope, when
    /// full GCs are too few).
    pub after: String,
    /// `[seconds since the process started (three decimals), heap in MB of 10^6 bytes (one decimal)]`.
    pub points: Vec<(f64, f64)>,
}
