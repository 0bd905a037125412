//! Leak or plateau: a verdict on a memory series or a GC log. The leak signal is the heap
//! left after garbage collection (the post-GC floor) rising steadily; a heap that climbs to a
//! ceiling and stays, spikes that come back down, and growth outside the JS heap are not
//! that, and people routinely mistake each of them for it.

mod shape;
mod stats;

pub use shape::{lower_envelope, rolling_min, spikes};
pub use stats::{erfc, mann_kendall, median, theil_sen, Point};

use shape::{rise, split};

pub use heaphound_model::trend::{
    Finding, FloorMetric, MannKendall, Source, Spikes, StableWhy, Trend, Verdict, VerdictKind,
};
use heaphound_model::units::MIB;

/// Mann–Kendall's two-sided p-value below this counts as a trend.
pub const ALPHA: f64 = 0.05;
/// Fewer post-GC points than this say too little for any verdict.
pub const MIN_FLOOR_POINTS: usize = 10;
/// The share of the span (at its end) that must still grow for a leak and not a plateau.
const LATE_SHARE: f64 = 0.4;
/// The late slope under this fraction of the early one: growth has flattened.
const PLATEAU_RATIO: f64 = 0.25;
/// Off-heap growth this many times the heap floor's: the heap is not where memory goes.
const OFF_HEAP_RATIO: f64 = 4.0;

/// What the verdict is computed from. Empty slices mean "not measured".
#[derive(Debug, Clone, Copy)]
pub struct TrendInput<'a> {
    /// Heap used as sampled, garbage included: where spikes show.
    pub heap: &'a [Point],
    /// True post-GC values (forced GCs, mark-compacts), when known; otherwise the floor is
    /// the lower envelope of `heap`.
    pub floor: Option<&'a [Point]>,
    /// Resident memory (anonymous resident memory when known: file mappings do not leak).
    pub rss: &'a [Point],
    /// Committed heap: resident too, so RSS growth is judged net of it. May be empty.
    pub heap_total: &'a [Point],
    pub external: &'a [Point],
    pub array_buffers: &'a [Point],
    pub source: Source,
}

/// A metric's trend: Theil–Sen slope and Mann–Kendall test.
pub fn trend_of(points: &[Point]) -> Option<Trend> {
    let (slope, _) = theil_sen(points)?;
    Some(Trend {
        points: points.len(),
        span_s: span(points),
        first: points.first()?.v,
        last: points.last()?.v,
        slope_bytes_per_s: slope,
        mk: mann_kendall(points),
    })
}

fn span(points: &[Point]) -> f64 {
    match (points.first(), points.last()) {
        (Some(a), Some(b)) => b.t - a.t,
        _ => 0.0,
    }
}

/// Growth smaller than this over the whole span is noise whatever the test says: 1 MB, or
/// 2% of the typical floor on large heaps.
fn material(floor: &[Point]) -> f64 {
    let mut v: Vec<f64> = floor.iter().map(|p| p.v).collect();
    let typical = median(&mut v).unwrap_or(0.0);
    (0.02 * typical).max(MIB)
}

/// The verdict for one value per round, each measured after a forced GC (what `gate` and
/// similar loops have): `floor[i] = Point { t: seconds since start, v: heap bytes }`.
pub fn judge_floor(floor: &[Point]) -> Verdict {
    judge(&TrendInput {
        heap: &[],
        floor: Some(floor),
        rss: &[],
        heap_total: &[],
        external: &[],
        array_buffers: &[],
        source: Source::Rounds,
    })
}

/// The verdict when the input's timestamps give no forward span (all equal, or going back
/// `backwards` times): inconclusive, whatever the values do.
pub fn untimed(backwards: usize, source: Source) -> Verdict {
    let mut v = blank(Finding::NoTimeSpan { backwards, source });
    v.word();
    v
}

fn blank(finding: Finding) -> Verdict {
    Verdict {
        kind: VerdictKind::Inconclusive,
        confidence: 0.0,
        slope_bytes_per_hour: 0.0,
        reason: String::new(),
        needed: None,
        floor: None,
        floor_metric: FloorMetric::HeapUsed,
        early: None,
        late: None,
        off_heap: None,
        spikes: Spikes::default(),
        finding,
    }
}

/// The verdict on a memory series or GC log.
pub fn judge(input: &TrendInput) -> Verdict {
    let mut v = judge_unclamped(input);
    // A trend test gives odds, never certainty.
    v.confidence = v.confidence.clamp(0.0, 0.999);
    v.word();
    v
}

fn judge_unclamped(input: &TrendInput) -> Verdict {
    let envelope;
    let floor: &[Point] = match input.floor {
        Some(f) if !f.is_empty() => f,
        _ => {
            envelope = lower_envelope(input.heap);
            &envelope
        }
    };
    let mut v = blank(Finding::TooFew {
        have: floor.len(),
        need: MIN_FLOOR_POINTS,
        source: input.source,
    });
    // Memory outside the heap can be judged even without heap figures (RSS only).
    if floor.len() < MIN_FLOOR_POINTS {
        if floor.is_empty() && input.rss.len() >= MIN_FLOOR_POINTS {
            return judge_rss_only(input, v);
        }
        return v;
    }
    let raw = if input.heap.is_empty() {
        floor
    } else {
        input.heap
    };
    let mut typical: Vec<f64> = floor.iter().map(|p| p.v).collect();
    let typical = median(&mut typical).unwrap_or(0.0);
    let height = (0.5 * typical).max(8.0 * MIB);
    v.spikes = spikes(raw, height);
    // Spikes caught in the floor itself (forced GCs while a big transient is still live)
    // are not the floor: judge the level under them.
    let smoothed;
    let floor: &[Point] = if spikes(floor, height).count >= 2 {
        smoothed = rolling_min(floor, (floor.len() / 16).max(2));
        &smoothed
    } else {
        floor
    };
    let Some(whole) = trend_of(floor) else {
        v.finding = Finding::SameTime {
            need: MIN_FLOOR_POINTS,
            source: input.source,
        };
        return v;
    };
    let threshold = material(floor);
    v.slope_bytes_per_hour = whole.slope_bytes_per_s * 3600.0;

    let off = off_heap(input, &whole);
    let (early, late) = split(floor);
    // A fast climb then a long flat stretch has a small median slope overall: measure the
    // rise as the late level over the starting one too.
    let rise = rise(floor, late.as_ref());
    let rising = whole.mk.rising(ALPHA)
        && (whole.growth() >= threshold || rise.is_some_and(|(r, _)| r >= threshold));
    if let Some((name, t)) = off {
        v.kind = VerdictKind::OffHeap;
        v.confidence = 1.0 - t.mk.p;
        v.finding = Finding::OffHeap {
            heap_rising: rising,
        };
        v.off_heap = Some((name, t));
        v.floor = Some(whole);
        return v;
    }
    if rising {
        // The late slope against how fast the floor rose before it.
        let before = early
            .as_ref()
            .map_or(0.0, |e| e.slope_bytes_per_s)
            .max(rise.map_or(0.0, |(_, rate)| rate));
        let ratio = match &late {
            Some(l) if before > 0.0 => Some(l.slope_bytes_per_s / before),
            _ => None,
        };
        v.early = early;
        v.late = late;
        match ratio {
            Some(r) if r < PLATEAU_RATIO => {
                let e = v.early.as_ref().map_or(1.0, |e| e.mk.p.min(whole.mk.p));
                v.kind = VerdictKind::Plateau;
                v.confidence = (1.0 - e) * (1.0 - r.max(0.0) / PLATEAU_RATIO).clamp(0.3, 1.0);
                v.finding = Finding::Plateau {
                    ratio: r,
                    late_share: LATE_SHARE,
                };
            }
            _ => {
                let slowing = ratio.map_or(1.0, |r| (r / 0.5).min(1.0));
                // Between GCs the heap also holds garbage not collected yet: a floor read
                // off such samples is an estimate, and says so.
                let estimated = input.floor.is_none_or(<[Point]>::is_empty);
                v.kind = VerdictKind::Leak;
                v.confidence = (1.0 - whole.mk.p) * slowing * if estimated { 0.85 } else { 1.0 };
                v.finding = Finding::Leak { estimated };
            }
        }
        v.floor = Some(whole);
        return v;
    }
    if v.spikes.count >= 2 {
        v.kind = VerdictKind::Periodic;
        v.confidence = (v.spikes.count as f64 / 4.0).min(1.0) * (1.0 - whole.mk.p.min(0.5));
        v.finding = Finding::Periodic { typical };
        v.floor = Some(whole);
        return v;
    }
    if whole.growth().abs() < threshold || whole.mk.falling(ALPHA) {
        v.kind = VerdictKind::Stable;
        let small = 1.0 - (whole.growth().abs() / threshold).min(1.0);
        let enough = (floor.len() as f64 / (3 * MIN_FLOOR_POINTS) as f64).min(1.0);
        v.confidence = (0.5 + 0.5 * small) * (0.5 + 0.5 * enough);
        let why = if whole.mk.rising(ALPHA) {
            StableWhy::SlightRise
        } else if whole.mk.falling(ALPHA) {
            StableWhy::Falls
        } else {
            StableWhy::NoTrend
        };
        v.finding = Finding::Stable {
            typical,
            threshold,
            why,
        };
    } else {
        v.kind = VerdictKind::Inconclusive;
        v.confidence = 0.0;
        v.finding = Finding::Noisy;
    }
    v.floor = Some(whole);
    v
}

/// The off-heap metric that grows much faster than the heap floor, if any.
fn off_heap(input: &TrendInput, heap: &Trend) -> Option<(&'static str, Trend)> {
    let heap_growth = heap.growth().max(0.0);
    // Resident memory less the committed heap: what RSS holds outside V8's heap.
    let outside: Vec<Point> = if input.heap_total.len() == input.rss.len() {
        input
            .rss
            .iter()
            .zip(input.heap_total)
            .map(|(r, h)| Point::new(r.t, r.v - h.v))
            .collect()
    } else {
        input.rss.to_vec()
    };
    for (name, series) in [
        ("arrayBuffers", input.array_buffers),
        ("external", input.external),
        ("rss", outside.as_slice()),
    ] {
        if series.len() < MIN_FLOOR_POINTS {
            continue;
        }
        let Some(t) = trend_of(series) else {
            continue;
        };
        // RSS also grows with the heap and V8's reservations: ask more of it.
        let least = if name == "rss" { 16.0 * MIB } else { 4.0 * MIB };
        if t.mk.rising(ALPHA) && t.growth() >= least && t.growth() >= OFF_HEAP_RATIO * heap_growth {
            return Some((name, t));
        }
    }
    None
}

/// Without heap figures: RSS alone can show growth but cannot say where it is.
fn judge_rss_only(input: &TrendInput, mut v: Verdict) -> Verdict {
    // RSS has no GC sawtooth to see through: every sample counts.
    let rss = input.rss;
    v.floor_metric = FloorMetric::Rss;
    let Some(t) = trend_of(rss).filter(|_| rss.len() >= MIN_FLOOR_POINTS) else {
        v.finding = Finding::RssTooFew {
            have: rss.len(),
            need: MIN_FLOOR_POINTS,
            source: input.source,
        };
        return v;
    };
    v.slope_bytes_per_hour = t.slope_bytes_per_s * 3600.0;
    let threshold = material(rss).max(4.0 * MIB);
    if t.mk.rising(ALPHA) && t.growth() >= threshold {
        v.kind = VerdictKind::Leak;
        v.confidence = (1.0 - t.mk.p) * 0.8;
        v.finding = Finding::RssLeak;
    } else if t.growth().abs() < threshold || t.mk.falling(ALPHA) {
        v.kind = VerdictKind::Stable;
        v.confidence = 0.6;
        v.finding = Finding::RssStable;
    } else {
        v.finding = Finding::RssNoisy;
    }
    v.floor = Some(t);
    v
}

#[cfg(test)]
mod tests;
