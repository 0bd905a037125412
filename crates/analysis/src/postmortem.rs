//! The postmortem verdict of one process: what its crash report and snapshots say
//! together. Pure: the caller read the files.

use heaphound_model::postmortem::{CrashDoc, PostmortemKind, PostmortemRule, PostmortemVerdict};

use heaphound_snapshot::{EdgeKind, HeapGraph, NodeKind};

use crate::suspects::{Findings, Verdict, MIN_GROWTH};

/// The roots of what the running code holds at the moment of the snapshot.
const IN_FLIGHT: [&str; 2] = ["(Stack roots)", "(Handle scope)"];

/// Makes the references of the stack and of the VM's open handle scopes weak, so that they
/// neither retain nor dominate; returns how many there were. Node writes a near-heap-limit
/// snapshot from inside the allocation that hit the limit, often a collection's resize:
/// the running code then holds the collection's table, the table's dominator becomes the
/// root, and its owner (the Map that leaks) seems to keep nothing. A postmortem reads its snapshots this way; other commands keep
/// DevTools' rule.
pub fn weaken_in_flight_roots(g: &mut HeapGraph) -> u32 {
    let Some(weak) = g.edge_kinds.iter().position(|&k| k == EdgeKind::Weak) else {
        return 0;
    };
    let mut n = 0;
    for v in 0..g.node_count() as u32 {
        if g.kind(v) != NodeKind::Synthetic || !IN_FLIGHT.contains(&g.name(v).as_ref()) {
            continue;
        }
        for e in g.edges(v) {
            g.edge_type[e as usize] = weak as u8;
            n += 1;
        }
    }
    n
}

/// Resident memory this many times the JS heap (and this much above it) is off-heap.
const OFF_HEAP_RATIO: u64 = 3;
const OFF_HEAP_MIN: u64 = 64 << 20;
/// A holder that keeps this share of the heap "retains most of it".
const MOST: f64 = 0.5;

/// What the snapshots of one process gave.
pub struct Snapshots<'a> {
    pub count: usize,
    /// The suspects analysis (across two or more) or the one-snapshot holders.
    pub findings: Option<&'a Findings>,
    /// Holder names as the documents word them, in the order of `findings.suspects`.
    pub holder_names: &'a [String],
    /// The last snapshot's heap, for shares.
    pub last_total: u64,
}

/// Judges one process.
pub fn judge(pid: Option<u32>, crash: Option<&CrashDoc>, s: &Snapshots) -> PostmortemVerdict {
    let verdict = |kind, confidence, rule| PostmortemVerdict::new(kind, confidence, rule, pid);
    let died_at_limit = crash.is_some_and(|c| c.heap_out_of_memory);
    let share = |i: usize| -> f64 {
        let f = s.findings.expect("findings");
        let r = f.suspects[i]
            .retained
            .last()
            .copied()
            .flatten()
            .unwrap_or(0);
        if s.last_total == 0 {
            0.0
        } else {
            r as f64 / s.last_total as f64
        }
    };
    let name = |i: usize| s.holder_names.get(i).cloned().unwrap_or_default();

    // Off-heap first, but never after a heap OOM: a near-limit snapshot leaves the RSS
    // inflated (V8 builds it beside the heap), and the heap was the problem anyway.
    if let Some(c) = crash.filter(|_| !died_at_limit) {
        if let Some(rss) = c.rss {
            let heap = c.heap.total.max(c.heap.used);
            if heap > 0 && rss >= heap * OFF_HEAP_RATIO && rss - heap >= OFF_HEAP_MIN {
                let confidence = if c.heap.external * 2 >= rss - heap {
                    0.9
                } else {
                    0.7
                };
                return verdict(
                    PostmortemKind::OffHeap,
                    confidence,
                    PostmortemRule::RssFarAboveHeap {
                        rss,
                        heap,
                        external: c.heap.external,
                    },
                );
            }
        }
    }

    match (s.count, s.findings) {
        (0, _) | (_, None) => match crash {
            Some(c) if died_at_limit => verdict(
                PostmortemKind::Inconclusive,
                0.0,
                PostmortemRule::DiedWithoutSnapshots {
                    limit: c.heap.limit,
                    used: c.heap.used,
                },
            ),
            Some(_) => verdict(
                PostmortemKind::Inconclusive,
                0.0,
                PostmortemRule::ReportOnly,
            ),
            None => verdict(
                PostmortemKind::Inconclusive,
                0.0,
                PostmortemRule::NothingReadable,
            ),
        },
        (1, Some(f)) => {
            let top = if f.suspects.is_empty() { 0.0 } else { share(0) };
            if died_at_limit && top >= MOST {
                // One dump shows what is big, not what grows: never as sure as a series.
                verdict(
                    PostmortemKind::Leak,
                    0.4 + 0.4 * top,
                    PostmortemRule::OneHolderFillsTheHeap {
                        holder: name(0),
                        share: top,
                    },
                )
            } else {
                verdict(
                    PostmortemKind::Inconclusive,
                    0.0,
                    PostmortemRule::OneSnapshotSpread { top_share: top },
                )
            }
        }
        (n, Some(f)) => {
            let grew = f
                .suspects
                .iter()
                .position(|x| x.own_growth >= MIN_GROWTH as i64);
            if f.verdict == Verdict::Leak {
                let confidence = if died_at_limit { 0.99 } else { 0.95 };
                return verdict(
                    PostmortemKind::Leak,
                    confidence,
                    PostmortemRule::SteadyGrowth {
                        holder: name(0),
                        snapshots: n,
                    },
                );
            }
            match grew {
                // Two snapshots of a heap filling up look alike for a leak and for a
                // bounded cache whose bound does not fit the limit: never near certain.
                Some(i) if died_at_limit && share(i) >= MOST => verdict(
                    PostmortemKind::Leak,
                    0.5 + 0.35 * share(i),
                    PostmortemRule::GrewToTheLimit {
                        holder: name(i),
                        share: share(i),
                        snapshots: n,
                    },
                ),
                None if died_at_limit => verdict(
                    PostmortemKind::HeapLimitTooSmall,
                    0.7,
                    PostmortemRule::NothingGrew {
                        limit: crash.map_or(0, |c| c.heap.limit),
                        min_growth: MIN_GROWTH,
                    },
                ),
                Some(i) if died_at_limit => verdict(
                    PostmortemKind::Inconclusive,
                    0.0,
                    PostmortemRule::GrewPartly {
                        holder: name(i),
                        share: share(i),
                        snapshots: n,
                    },
                ),
                Some(_) => verdict(
                    PostmortemKind::Inconclusive,
                    0.0,
                    PostmortemRule::GrewWithoutCrash { snapshots: n },
                ),
                None => verdict(
                    PostmortemKind::Inconclusive,
                    0.0,
                    PostmortemRule::NoGrowth { snapshots: n },
                ),
            }
        }
    }
}

/// The verdict a folder's processes add up to: a leak over anything else, then the surest.
pub fn overall(verdicts: &[&PostmortemVerdict]) -> Option<PostmortemVerdict> {
    let rank = |k: PostmortemKind| match k {
        PostmortemKind::Leak => 3,
        PostmortemKind::OffHeap => 2,
        PostmortemKind::HeapLimitTooSmall => 1,
        PostmortemKind::Inconclusive => 0,
    };
    verdicts
        .iter()
        .max_by(|a, b| {
            rank(a.kind)
                .cmp(&rank(b.kind))
                .then(a.confidence.total_cmp(&b.confidence))
        })
        .map(|v| (*v).clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use heaphound_model::postmortem::CrashHeap;
    use heaphound_model::suspects::Judgement;

    fn crash(oom: bool, rss: u64, heap: u64) -> CrashDoc {
        CrashDoc {
            report: "r.json".into(),
            event: if oom {
                "Allocation failed - JavaScript heap out of memory".into()
            } else {
                "JavaScript API".into()
            },
            trigger: if oom { "OOMError" } else { "API" }.into(),
            fatal: oom,
            heap_out_of_memory: oom,
            time: None,
            node_version: None,
            command_line: Vec::new(),
            cwd: None,
            uptime_s: None,
            heap: CrashHeap {
                used: heap,
                total: heap,
                limit: heap + heap / 10,
                external: rss / 2,
                spaces: Vec::new(),
            },
            rss: Some(rss),
            max_rss: None,
            constrained_memory: None,
            js_stack: Vec::new(),
            js_stack_message: None,
            handles: Vec::new(),
        }
    }

    fn nothing() -> Findings {
        Findings {
            verdict: Verdict::NoLeak,
            reason: String::new(),
            judgement: Judgement::NoLeak { snapshots: 2 },
            suspects: Vec::new(),
            leaked_objects: 0,
            leaked_bytes: 0,
        }
    }

    fn snaps(count: usize, f: Option<&Findings>) -> Snapshots<'_> {
        Snapshots {
            count,
            findings: f,
            holder_names: &[],
            last_total: 100 << 20,
        }
    }

    #[test]
    fn a_full_heap_with_nothing_growing_is_a_limit_too_small() {
        let f = nothing();
        let v = judge(
            Some(7),
            Some(&crash(true, 900 << 20, 100 << 20)),
            &snaps(2, Some(&f)),
        );
        // The RSS after near-limit snapshots is high; the heap was the problem anyway.
        assert_eq!(v.kind, PostmortemKind::HeapLimitTooSmall);
        assert!(v.needed.unwrap().contains("--max-old-space-size"));
        assert_eq!(v.pid, Some(7));
    }

    #[test]
    fn rss_far_above_the_heap_without_a_heap_oom_is_off_heap() {
        let v = judge(
            None,
            Some(&crash(false, 900 << 20, 50 << 20)),
            &snaps(0, None),
        );
        assert_eq!(v.kind, PostmortemKind::OffHeap);
        let v = judge(
            None,
            Some(&crash(false, 120 << 20, 50 << 20)),
            &snaps(0, None),
        );
        assert_eq!(v.rule, PostmortemRule::ReportOnly);
    }

    #[test]
    fn a_crash_without_snapshots_or_without_a_crash_is_inconclusive() {
        let v = judge(
            None,
            Some(&crash(true, 200 << 20, 100 << 20)),
            &snaps(0, None),
        );
        assert!(matches!(
            v.rule,
            PostmortemRule::DiedWithoutSnapshots { .. }
        ));
        assert_eq!(v.kind, PostmortemKind::Inconclusive);
        let f = nothing();
        let v = judge(None, None, &snaps(2, Some(&f)));
        assert_eq!(v.rule, PostmortemRule::NoGrowth { snapshots: 2 });
        let all = [&v];
        assert_eq!(overall(&all).unwrap().kind, PostmortemKind::Inconclusive);
    }
}
