//! `gclog --json`: a `node --trace-gc` log judged: collections by kind, futile full GCs,
//! the post-GC floor and the trend verdict.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::trend::VerdictDoc;
use crate::units::MB;
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
    /// Lines too long to be GC lines (V8's are under 1 KiB), skipped without being read
    /// whole; not counted in `skipped_lines`. Left out when none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skipped_long_lines: usize,
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
    /// `span_s` before rounding, when built from a log: text prints one decimal.
    #[serde(skip)]
    pub unrounded_span_s: Option<f64>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl GcLogDoc {
    pub fn span_s(&self) -> f64 {
        self.unrounded_span_s.unwrap_or(self.span_s)
    }
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
    /// The figures before rounding, when built from a log: text shows its own units.
    #[serde(skip)]
    pub unrounded: Option<GcKindFigures>,
}

/// A kind's pause total and freed bytes, unrounded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GcKindFigures {
    pub pause_total_ms: f64,
    pub reclaimed_bytes: f64,
}

impl GcKind {
    pub fn pause_total_ms(&self) -> f64 {
        self.unrounded
            .map_or(self.pause_total_ms, |f| f.pause_total_ms)
    }

    pub fn reclaimed_bytes(&self) -> f64 {
        self.unrounded
            .map_or(self.reclaimed_mb * MB, |f| f.reclaimed_bytes)
    }
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
    /// `before_mb` and `after_mb` in bytes, unrounded, when built from a log.
    #[serde(skip)]
    pub unrounded_bytes: Option<(f64, f64)>,
}

impl FutileGc {
    pub fn before_bytes(&self) -> f64 {
        self.unrounded_bytes.map_or(self.before_mb * MB, |b| b.0)
    }

    pub fn after_bytes(&self) -> f64 {
        self.unrounded_bytes.map_or(self.after_mb * MB, |b| b.1)
    }
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
