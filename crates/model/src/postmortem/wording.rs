//! The postmortem verdict's sentences, worded from its rule and numbers.

use super::{PostmortemKind, PostmortemRule, PostmortemVerdict};
use crate::units::human_size;

const NEAR_LIMIT: &str = "--heapsnapshot-near-heap-limit=3";

fn percent(share: f64) -> String {
    format!("{:.0}%", share * 100.0)
}

impl PostmortemRule {
    pub fn reason(&self) -> String {
        match self {
            PostmortemRule::SteadyGrowth { holder, snapshots } => {
                format!("{holder} grew in every step across {snapshots} snapshots")
            }
            PostmortemRule::GrewToTheLimit {
                holder,
                share,
                snapshots,
            } => format!(
                "the process died at its heap limit, and {holder} grew between its {snapshots} last snapshots and retains {} of the heap",
                percent(*share)
            ),
            PostmortemRule::GrewPartly {
                holder,
                share,
                snapshots,
            } => format!(
                "the process died at its heap limit; {holder} grew between its {snapshots} last snapshots but retains only {} of the heap, so more than it filled the heap",
                percent(*share)
            ),
            PostmortemRule::OneHolderFillsTheHeap { holder, share } => format!(
                "the process died at its heap limit and {holder} retains {} of the heap in its only snapshot",
                percent(*share)
            ),
            PostmortemRule::RssFarAboveHeap { rss, heap, external } => format!(
                "resident memory ({}) is far above the JS heap ({}): the memory is outside the heap (external memory reported to V8: {})",
                human_size(*rss),
                human_size(*heap),
                human_size(*external)
            ),
            PostmortemRule::NothingGrew { limit, min_growth } => format!(
                "the heap reached its limit ({}) but no holder grew by {} between the snapshots: a bounded working set larger than the limit",
                human_size(*limit),
                human_size(*min_growth)
            ),
            PostmortemRule::DiedWithoutSnapshots { limit, used } => format!(
                "the process died at its heap limit ({} used of {}), but no snapshot shows what filled it",
                human_size(*used),
                human_size(*limit)
            ),
            PostmortemRule::OneSnapshotSpread { top_share } => format!(
                "one snapshot, and no holder keeps most of it (the largest retains {}): one snapshot cannot show growth",
                percent(*top_share)
            ),
            PostmortemRule::GrewWithoutCrash { snapshots } => format!(
                "memory grew across the {snapshots} snapshots, but they cannot tell steady growth from a one-off, and no crash report says the heap ran out"
            ),
            PostmortemRule::NoGrowth { snapshots } => {
                format!("no holder grew across the {snapshots} snapshots and no crash report says the heap ran out")
            }
            PostmortemRule::ReportOnly => {
                "only a diagnostic report that is not of a crash, and no snapshot".into()
            }
            PostmortemRule::NothingReadable => {
                "none of its files could be read (see the skipped files)".into()
            }
        }
    }

    /// What would settle it (or make it surer) next time.
    pub fn needed(&self) -> Option<String> {
        match self {
            PostmortemRule::SteadyGrowth { .. } => None,
            PostmortemRule::GrewToTheLimit { holder, .. } => Some(format!(
                "a third near-limit snapshot ({NEAR_LIMIT}) would show the growth is steady; if {holder} is bounded by design, its bound does not fit under the heap limit"
            )),
            PostmortemRule::GrewPartly { .. } => Some(format!(
                "more near-limit snapshots ({NEAR_LIMIT}) would show which holders grow steadily"
            )),
            PostmortemRule::OneHolderFillsTheHeap { holder, .. } => Some(format!(
                "more near-limit snapshots ({NEAR_LIMIT}) would show whether it grows; if {holder} is bounded by design, its bound does not fit under the heap limit"
            )),
            PostmortemRule::RssFarAboveHeap { .. } => Some(
                "`heaphound watch PID` on the live process tells Buffers (external) from native memory; snapshots show the JSArrayBufferData holders"
                    .into(),
            ),
            PostmortemRule::NothingGrew { .. } => Some(
                "raise --max-old-space-size (below the container's memory limit), or bound the working set"
                    .into(),
            ),
            PostmortemRule::DiedWithoutSnapshots { .. } => Some(format!(
                "run with {NEAR_LIMIT} (and --report-on-fatalerror) so that the next crash leaves snapshots"
            )),
            PostmortemRule::OneSnapshotSpread { .. } | PostmortemRule::NoGrowth { .. } => {
                Some(format!(
                    "snapshots taken as memory grows ({NEAR_LIMIT}, or `heaphound watch --snapshot-above`), and --report-on-fatalerror"
                ))
            }
            PostmortemRule::GrewWithoutCrash { .. } => Some(format!(
                "a third snapshot, or the crash report (--report-on-fatalerror) with {NEAR_LIMIT}"
            )),
            PostmortemRule::NothingReadable => Some(format!(
                "artifacts on a volume with room for them (a cut snapshot is empty or truncated): {NEAR_LIMIT}, --report-on-fatalerror"
            )),
            PostmortemRule::ReportOnly => Some(format!(
                "heap snapshots: {NEAR_LIMIT} or --heapsnapshot-signal=SIGUSR2"
            )),
        }
    }
}

impl PostmortemVerdict {
    pub fn new(
        kind: PostmortemKind,
        confidence: f64,
        rule: PostmortemRule,
        pid: Option<u32>,
    ) -> Self {
        PostmortemVerdict {
            kind,
            confidence: (confidence.clamp(0.0, 1.0) * 100.0).round() / 100.0,
            reason: rule.reason(),
            needed: rule.needed(),
            rule,
            pid,
        }
    }
}
