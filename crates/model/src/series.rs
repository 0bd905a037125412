//! `memory.jsonl`: one memory sample per line, written by the capture sampler (`hunt`,
//! `attach`, `watch`, `gate`) and read back by the HTML report.

use serde::{Deserialize, Serialize};

use crate::NamedSchema;

/// One line of `memory.jsonl`. A sample through the inspector has the heap figures of
/// `process.memoryUsage()`; an RSS-only sample (no inspector) has `rss` alone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MemorySample {
    /// Milliseconds since the capture started.
    pub t_ms: u64,
    /// The capture phase: `startup`, `warmup`, `load-1`, `snapshot-2`, `done`, …
    #[serde(default)]
    pub phase: String,
    /// Resident set size, bytes (from /proc when it can be read).
    #[serde(default)]
    pub rss: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heap_total: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heap_used: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub array_buffers: Option<u64>,
    /// Anonymous resident memory (the leak signal of RSS), when /proc tells it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_anon: Option<u64>,
    /// Taken right after the GC before snapshot k (1-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<u32>,
}

pub(crate) fn schemas(out: &mut Vec<NamedSchema>) {
    crate::add::<MemorySample>(out, "memory-sample");
}

/// First, last, smallest and largest value of one figure over a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Range {
    pub first: u64,
    pub last: u64,
    pub min: u64,
    pub max: u64,
}

impl Range {
    /// `None` for an empty series.
    pub fn of(v: impl Iterator<Item = u64>) -> Option<Range> {
        let v: Vec<u64> = v.collect();
        Some(Range {
            first: *v.first()?,
            last: *v.last()?,
            min: *v.iter().min()?,
            max: *v.iter().max()?,
        })
    }
}
