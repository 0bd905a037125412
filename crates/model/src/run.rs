//! What a capture run writes about itself: a hunt's or attach's `report.json` (also their
//! `--json`), and `snapshot --json`.

use serde::{Deserialize, Serialize};

use crate::diff::ClassComparison;
use crate::heap::DominatorSummary;
use crate::load::LoadDoc;
use crate::profile::AllocationSites;
use crate::series::{MemorySample, Range};
use crate::suspects::SuspectsDoc;
use crate::trend::VerdictDoc;
use crate::NamedSchema;

/// `report.json` of `hunt` and `attach`: the suspects document of the snapshots, then what
/// ran and how.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunReport {
    /// The `suspects --json` document of the run's snapshots.
    #[serde(flatten)]
    pub suspects: SuspectsDoc,
    /// The trend verdict on the memory series the run sampled.
    pub trend: HuntTrend,
    pub run_dir: String,
    pub program: RunProgram,
    pub memory: RunMemory,
    /// Null when the program never got ready for load.
    pub load: Option<LoadDoc>,
    /// What cut the run short, with what was kept.
    pub fault: Option<String>,
    /// Kept so `heaphound report` can draw the run without its snapshots.
    #[serde(flatten)]
    pub overview: Overview,
}

/// What a report page needs from the snapshots, in bounded size whatever the heap: the
/// first and last snapshot compared class by class, the last one's dominator tree, and its
/// allocation stacks when they were recorded.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Overview {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_comparison: Option<ClassComparison>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dominator_tree: Option<DominatorSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocation_sites: Option<AllocationSites>,
}

/// The memory series' verdict in a run's report, and whether it agrees with the snapshots'.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HuntTrend {
    #[serde(flatten)]
    pub verdict: VerdictDoc,
    /// Samples the verdict was judged on.
    pub samples: u64,
    /// Set when the series and the snapshots disagree, saying what to make of it.
    pub warning: Option<String>,
    /// Null when the series' verdict is inconclusive.
    pub agrees_with_snapshots: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunProgram {
    pub command: String,
    pub pid: u32,
    pub attached: bool,
    /// Where it listened, when known.
    pub listening: Option<String>,
    /// How it ended: "exited with status 0", "still running", …
    pub ended: String,
}

/// The memory series in short.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunMemory {
    pub samples: u64,
    pub rss: Option<Range>,
    pub heap_used: Option<Range>,
    pub at_snapshots: Vec<SnapshotMemory>,
}

/// The memory sample taken for a snapshot (right after its GC).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SnapshotMemory {
    /// 1-based.
    pub snapshot: u32,
    pub file: String,
    pub sample: Option<MemorySample>,
}

/// `snapshot --json`: the heap snapshot written.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SnapshotDoc {
    pub file: String,
    pub bytes: u64,
    /// The process, when the target was a PID.
    pub pid: Option<u32>,
    /// The inspector's ws:// URL.
    pub inspector: String,
    /// A full GC ran first.
    pub gc: bool,
    pub elapsed_ms: u64,
    /// heaphound opened the PID's inspector (SIGUSR1) and closed it again afterwards.
    #[serde(default)]
    pub inspector_closed: bool,
    /// With `--signal`: the signal whose `--heapsnapshot-signal` handler wrote it (no
    /// inspector was used; `inspector` is empty), and the file Node wrote before it was
    /// moved to `file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written_as: Option<String>,
}

pub(crate) fn schemas(out: &mut Vec<NamedSchema>) {
    crate::add::<RunReport>(out, "run-report");
    crate::add::<SnapshotDoc>(out, "snapshot");
}
