//! The trend verdict on a sampled memory series: what `watch` ends with and what `hunt`
//! adds to its report beside the snapshots' verdict.

use std::time::Duration;

use heaphound_analysis::trend::{self, Point, Source, TrendInput, Verdict, VerdictKind};
use heaphound_model::run::HuntTrend;
use heaphound_model::trend::VerdictDoc;

use crate::sampler::{Sample, SharedSeries};

/// A series as the trend analysis takes it.
#[derive(Default)]
pub struct Points {
    pub heap: Vec<Point>,
    /// Samples taken right after a forced GC.
    pub post_gc: Vec<Point>,
    pub rss: Vec<Point>,
    pub heap_total: Vec<Point>,
    pub external: Vec<Point>,
    pub array_buffers: Vec<Point>,
}

impl Points {
    pub fn of(samples: &[Sample]) -> Points {
        let t = |s: &Sample| s.t_ms as f64 / 1000.0;
        let col = |f: &dyn Fn(&Sample) -> u64| -> Vec<Point> {
            samples
                .iter()
                .map(|s| Point::new(t(s), f(s) as f64))
                .collect()
        };
        Points {
            heap: col(&|s| s.heap_used),
            post_gc: samples
                .iter()
                .filter(|s| s.snapshot.is_some())
                .map(|s| Point::new(t(s), s.heap_used as f64))
                .collect(),
            // Anonymous memory is what leaks; file mappings (the node binary) stay put.
            rss: col(&|s| s.rss_anon.unwrap_or(s.rss)),
            heap_total: col(&|s| s.heap_total),
            external: col(&|s| s.external),
            array_buffers: col(&|s| s.array_buffers),
        }
    }

    /// `all_post_gc`: every sample followed a forced GC (`watch --gc`).
    pub fn verdict(&self, interval: Duration, all_post_gc: bool) -> Verdict {
        let floor = if all_post_gc {
            Some(self.heap.as_slice())
        } else if self.post_gc.len() >= trend::MIN_FLOOR_POINTS {
            Some(self.post_gc.as_slice())
        } else {
            None
        };
        trend::judge(&TrendInput {
            heap: &self.heap,
            floor,
            rss: &self.rss,
            heap_total: &self.heap_total,
            external: &self.external,
            array_buffers: &self.array_buffers,
            source: Source::Series {
                interval_s: interval.as_secs_f64(),
            },
        })
    }
}

/// The verdict on a series of RSS readings alone (a process watched through /proc).
pub fn rss_verdict(rss: &[Point], interval: Duration) -> Verdict {
    trend::judge(&TrendInput {
        heap: &[],
        floor: None,
        rss,
        heap_total: &[],
        external: &[],
        array_buffers: &[],
        source: Source::Series {
            interval_s: interval.as_secs_f64(),
        },
    })
}

/// What the hunt adds beside the snapshots' verdict: the series' verdict (for the header
/// line) and its `trend` document, which says when the two disagree.
pub struct ForHunt {
    pub verdict: Verdict,
    pub doc: HuntTrend,
}

pub fn for_hunt(series: &SharedSeries, interval: Duration, snapshots_say_leak: bool) -> ForHunt {
    let samples = series
        .lock()
        .map(|s| s.samples().to_vec())
        .unwrap_or_default();
    judge_hunt(&samples, interval, snapshots_say_leak)
}

fn judge_hunt(samples: &[Sample], interval: Duration, snapshots_say_leak: bool) -> ForHunt {
    let points = Points::of(samples);
    let mut v = points.verdict(interval, false);
    if v.kind == VerdictKind::Inconclusive && points.post_gc.len() < trend::MIN_FLOOR_POINTS {
        // A hunt forces a GC only before each snapshot: more time alone adds no floor points.
        v.needed = Some(format!(
            "more post-GC points: a hunt takes one per snapshot, so use --snapshots {} or more, or follow the process with `heaphound watch --gc`",
            trend::MIN_FLOOR_POINTS
        ));
    }
    let series_flat = matches!(v.kind, VerdictKind::Plateau | VerdictKind::Stable);
    let warning = if snapshots_say_leak && series_flat {
        Some(format!(
            "the snapshots point at a leak but the memory series says {}: the growth may be a cache filling up or a warm-up; run longer (or `heaphound watch`) to confirm before chasing it",
            v.kind.as_str()
        ))
    } else if !snapshots_say_leak && v.kind == VerdictKind::Leak {
        Some(
            "the memory series says leak but the snapshots found no growing suspect: the growth may be outside the JS heap or between snapshots; try `heaphound watch --gc`"
                .to_string(),
        )
    } else {
        None
    };
    let agrees_with_snapshots = match v.kind {
        VerdictKind::Inconclusive => None,
        _ => Some(warning.is_none()),
    };
    let doc = HuntTrend {
        verdict: VerdictDoc::from(&v),
        samples: samples.len() as u64,
        warning,
        agrees_with_snapshots,
    };
    ForHunt { verdict: v, doc }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A long hunt's series: `f(i)` heap bytes at sample i, every 500 ms; every 10th sample
    /// taken after a forced GC, as before a snapshot.
    fn samples(n: u64, f: impl Fn(u64) -> u64) -> Vec<Sample> {
        (0..n)
            .map(|i| Sample {
                t_ms: i * 500,
                phase: "load".into(),
                rss: 80_000_000,
                rss_anon: None,
                heap_total: 120_000_000,
                heap_used: f(i),
                external: 1_000_000,
                array_buffers: 100_000,
                snapshot: (i % 10 == 0).then_some((i / 10) as u32 + 1),
            })
            .collect()
    }

    #[test]
    fn warns_when_snapshots_say_leak_but_the_series_flattens() {
        let mb = 1_000_000;
        let plateau = samples(200, |i| (20 + i.min(40)) * mb + (i % 3) * 100_000);
        let h = judge_hunt(&plateau, Duration::from_millis(500), true).doc;
        assert_eq!(h.verdict.kind, VerdictKind::Plateau, "{h:?}");
        assert!(h.warning.as_deref().unwrap_or("").contains("plateau"));
        assert_eq!(h.agrees_with_snapshots, Some(false));

        let leak = samples(200, |i| 20 * mb + i * 400_000);
        let h = judge_hunt(&leak, Duration::from_millis(500), false).doc;
        assert_eq!(h.verdict.kind, VerdictKind::Leak);
        assert!(h.warning.is_some());
        let h = judge_hunt(&leak, Duration::from_millis(500), true).doc;
        assert!(h.warning.is_none());
        assert_eq!(h.agrees_with_snapshots, Some(true));
    }
}
