//! `postmortem`: what a dead (or still running) process left behind — near-heap-limit and
//! signal snapshots, diagnostic reports — grouped by process, and what they say.

mod wording;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::suspects::SuspectsDoc;
use crate::NamedSchema;

pub(crate) fn schemas(out: &mut Vec<NamedSchema>) {
    crate::add::<PostmortemDoc>(out, "postmortem");
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PostmortemDoc {
    pub schema_version: u32,
    /// The verdict of the process that says the most (a leak over anything else), so that
    /// a script reading one folder reads one answer.
    pub verdict: PostmortemVerdict,
    /// One per process id, in the order their artifacts were written.
    pub processes: Vec<ProcessDoc>,
    /// Files that were given or found but could not be used, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkippedFile>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PostmortemKind {
    /// A holder filled the heap.
    Leak,
    /// Resident memory far above the JS heap: the growth is in Buffers, native addons or
    /// the allocator, which heap snapshots barely show.
    OffHeap,
    /// The heap reached its limit with nothing growing: the working set needs more than the
    /// limit allows.
    HeapLimitTooSmall,
    /// The artifacts cannot tell; `needed` says what to turn on next time.
    Inconclusive,
}

impl PostmortemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PostmortemKind::Leak => "leak",
            PostmortemKind::OffHeap => "off-heap",
            PostmortemKind::HeapLimitTooSmall => "heap-limit-too-small",
            PostmortemKind::Inconclusive => "inconclusive",
        }
    }
}

/// Which rule decided, with its numbers; the sentences are worded from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "rule", rename_all = "kebab-case")]
pub enum PostmortemRule {
    /// Snapshots across which a holder grew steadily (three or more).
    SteadyGrowth { holder: String, snapshots: usize },
    /// The process died at its heap limit, and a holder that grew between its last
    /// snapshots retains `share` of the heap.
    GrewToTheLimit {
        holder: String,
        share: f64,
        snapshots: usize,
    },
    /// Died at the heap limit; a holder grew but keeps less than half of the heap.
    GrewPartly {
        holder: String,
        share: f64,
        snapshots: usize,
    },
    /// One snapshot: a holder retains `share` of a heap that died at its limit.
    OneHolderFillsTheHeap { holder: String, share: f64 },
    /// Resident memory `rss` against a JS heap of `heap`, `external` reported off it.
    RssFarAboveHeap { rss: u64, heap: u64, external: u64 },
    /// Died at the heap limit; nothing grew by `min_growth` between the snapshots.
    NothingGrew { limit: u64, min_growth: u64 },
    /// Died at the heap limit, no snapshot.
    DiedWithoutSnapshots { limit: u64, used: u64 },
    /// One snapshot, no holder that keeps most of it.
    OneSnapshotSpread { top_share: f64 },
    /// Two snapshots, or snapshots with no crash report: growth is seen, a leak not shown.
    GrewWithoutCrash { snapshots: usize },
    /// Snapshots and no growth, no crash.
    NoGrowth { snapshots: usize },
    /// Only a report that is not of a crash, and no snapshot.
    ReportOnly,
    /// None of the process's files could be read (they are in `skipped`).
    NothingReadable,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PostmortemVerdict {
    pub kind: PostmortemKind,
    /// 0–1, two decimals: how sure the artifacts make it.
    pub confidence: f64,
    /// One sentence, with the numbers.
    pub reason: String,
    /// What to turn on (or do) next time to settle it, or to be surer.
    pub needed: Option<String>,
    pub rule: PostmortemRule,
    /// The process it is about.
    pub pid: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ProcessDoc {
    /// From the file names and the report (`null` when a file's name does not say).
    pub pid: Option<u32>,
    /// Oldest first.
    pub artifacts: Vec<Artifact>,
    /// The diagnostic report, when there is one (the last, when there are several).
    pub crash: Option<CrashDoc>,
    pub verdict: PostmortemVerdict,
    /// With two snapshots or more: the suspects analysis across them. With one: the holders
    /// that retain most of its heap, by leak shape (`counts` has one entry).
    pub suspects: Option<SuspectsDoc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ArtifactKind {
    HeapSnapshot,
    DiagnosticReport,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Artifact {
    pub file: String,
    pub kind: ArtifactKind,
    pub bytes: u64,
    /// When it was written, `YYYY-MM-DDTHH:MM:SS` (local time of the process, from Node's
    /// file name; the report's own UTC time for reports).
    pub written: Option<String>,
    /// Node's per-process sequence number (shared by snapshots and reports).
    pub sequence: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SkippedFile {
    pub file: String,
    pub why: String,
}

/// What the diagnostic report says about the end. Never the environment, and secrets in
/// the command line are hidden.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CrashDoc {
    pub report: String,
    /// `header.event`: "Allocation failed - JavaScript heap out of memory".
    pub event: String,
    /// `header.trigger`: `OOMError`, `FatalError`, `Signal`, `API`, `Exception`…
    pub trigger: String,
    /// The report was written because the process was dying (not on request).
    pub fatal: bool,
    /// The JS heap reached its limit.
    pub heap_out_of_memory: bool,
    /// `header.dumpEventTime`.
    pub time: Option<String>,
    pub node_version: Option<String>,
    pub command_line: Vec<String>,
    pub cwd: Option<String>,
    /// Seconds the process ran, as Node's CPU percentages imply (whole seconds).
    pub uptime_s: Option<u64>,
    pub heap: CrashHeap,
    /// `resourceUsage.rss` and `maxRss`.
    pub rss: Option<u64>,
    pub max_rss: Option<u64>,
    /// The cgroup's memory limit, when the process had one.
    pub constrained_memory: Option<u64>,
    /// Top JS frames, innermost first (an OOM report usually has none).
    pub js_stack: Vec<String>,
    pub js_stack_message: Option<String>,
    /// libuv handles by type: how many, how many active.
    pub handles: Vec<HandleCount>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct CrashHeap {
    /// `usedMemory`, `totalMemory`, `memoryLimit` (as raised by near-heap-limit
    /// snapshots), `externalMemory`.
    pub used: u64,
    pub total: u64,
    pub limit: u64,
    pub external: u64,
    pub spaces: Vec<HeapSpace>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct HeapSpace {
    pub name: String,
    pub used: u64,
    /// `memorySize`.
    pub size: u64,
    pub available: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct HandleCount {
    pub kind: String,
    pub count: u64,
    pub active: u64,
}
