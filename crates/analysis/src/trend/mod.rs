//! Leak or plateau: a verdict on a memory series or a GC log. The leak signal is the heap
//! left after garbage collection (the post-GC floor) rising steadily; a heap that climbs to a
//! ceiling and stays, spikes that come back down, and growth outside the JS heap are not
//! that, and people routinely mistake each of them for it.

mod shape;
mod stats;

pub use shape::{lower_envelope, rolling_min, spikes, Spikes};
pub use stats::{erfc, mann_kendall, median, theil_sen, MannKendall, Point};

use shape::{rise, split};

use serde_json::{json, Value};

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
const MIB: f64 = 1024.0 * 1024.0;
/// Sizes for people are decimal, as everywhere in heaphound (DevTools' units).
const MB: f64 = 1e6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerdictKind {
    Leak,
    Plateau,
    Periodic,
    OffHeap,
    Stable,
    Inconclusive,
}

impl VerdictKind {
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictKind::Leak => "leak",
            VerdictKind::Plateau => "plateau",
            VerdictKind::Periodic => "periodic",
            VerdictKind::OffHeap => "off-heap",
            VerdictKind::Stable => "stable",
            VerdictKind::Inconclusive => "inconclusive",
        }
    }
}

/// Where the floor points come from, for the wording of "what more is needed".
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Source {
    /// Samples of a live process; `interval_s` between samples.
    Series { interval_s: f64 },
    /// A `--trace-gc` log.
    GcLog,
    /// One value per round (a gate, a hunt's snapshots), each after a forced GC.
    Rounds,
}

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
#[derive(Debug, Clone, PartialEq)]
pub struct Trend {
    pub points: usize,
    pub span_s: f64,
    pub first: f64,
    pub last: f64,
    pub slope_bytes_per_s: f64,
    pub mk: MannKendall,
}

impl Trend {
    pub fn of(points: &[Point]) -> Option<Trend> {
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

    /// Bytes gained over the span at the robust slope.
    pub fn growth(&self) -> f64 {
        self.slope_bytes_per_s * self.span_s
    }

    pub fn mb_per_hour(&self) -> f64 {
        self.slope_bytes_per_s * 3600.0 / MB
    }

    pub fn to_json(&self) -> Value {
        json!({
            "points": self.points,
            "span_s": round(self.span_s, 3),
            "first_bytes": self.first.round() as i64,
            "last_bytes": self.last.round() as i64,
            "slope_bytes_per_hour": (self.slope_bytes_per_s * 3600.0).round() as i64,
            "growth_mb_per_hour": round(self.mb_per_hour(), 3),
            "mann_kendall": {
                "s": self.mk.s,
                "z": round(self.mk.z, 3),
                "p": round_sig(self.mk.p),
            },
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub kind: VerdictKind,
    /// 0–1: how sure the verdict is (for a leak, 1 − the trend test's p-value, lowered when
    /// growth slows down).
    pub confidence: f64,
    /// The post-GC floor's slope, bytes per hour (0 when there is no floor).
    pub slope_bytes_per_hour: f64,
    /// One sentence, with the numbers.
    pub reason: String,
    /// For `inconclusive`: what would settle it.
    pub needed: Option<String>,
    pub floor: Option<Trend>,
    /// What the floor measures: `heap_used` (post-GC heap), or `rss` without heap figures.
    pub floor_metric: &'static str,
    /// The floor's trend over its first and last part (plateau test).
    pub early: Option<Trend>,
    pub late: Option<Trend>,
    /// The off-heap metric that grows, with its name, when the verdict is off-heap.
    pub off_heap: Option<(&'static str, Trend)>,
    pub spikes: Spikes,
}

impl Verdict {
    pub fn growth_mb_per_hour(&self) -> f64 {
        self.slope_bytes_per_hour / MB
    }

    pub fn to_json(&self) -> Value {
        let opt = |t: &Option<Trend>| t.as_ref().map(Trend::to_json);
        json!({
            "kind": self.kind.as_str(),
            "confidence": round(self.confidence, 3),
            "slope_bytes_per_hour": self.slope_bytes_per_hour.round() as i64,
            "growth_mb_per_hour": round(self.growth_mb_per_hour(), 3),
            "reason": self.reason,
            "needed": self.needed,
            "floor_metric": self.floor_metric,
            "floor": opt(&self.floor),
            "early": opt(&self.early),
            "late": opt(&self.late),
            "off_heap": self.off_heap.as_ref().map(|(name, t)| {
                let mut v = t.to_json();
                v["metric"] = json!(name);
                v
            }),
            "spikes": {
                "count": self.spikes.count,
                "max_height_bytes": self.spikes.max_height.round() as i64,
                "threshold_bytes": self.spikes.threshold.round() as i64,
                "period_s": self.spikes.period_s.map(|p| round(p, 3)),
            },
        })
    }
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// p-values span many magnitudes: keep three significant digits.
fn round_sig(p: f64) -> f64 {
    if p <= 0.0 || !p.is_finite() {
        return p;
    }
    // Through text, so the JSON shows 1.33e-24 and not 1.3299999999999999e-24.
    format!("{p:.2e}").parse().unwrap_or(p)
}

fn span(points: &[Point]) -> f64 {
    match (points.first(), points.last()) {
        (Some(a), Some(b)) => b.t - a.t,
        _ => 0.0,
    }
}

fn mb(bytes: f64) -> String {
    let m = bytes / MB;
    if m.abs() >= 10.0 {
        format!("{m:.0} MB")
    } else {
        format!("{m:.1} MB")
    }
}

/// Growth smaller than this over the whole span is noise whatever the test says: 1 MB, or
/// 2% of the typical floor on large heaps.
fn material(floor: &[Point]) -> f64 {
    let mut v: Vec<f64> = floor.iter().map(|p| p.v).collect();
    let typical = median(&mut v).unwrap_or(0.0);
    (0.02 * typical).max(MIB)
}

fn needed(source: Source, have: usize) -> String {
    let more = MIN_FLOOR_POINTS.saturating_sub(have).max(1);
    match source {
        Source::Series { interval_s } => {
            // The envelope keeps about one point per 3 samples.
            let secs = (MIN_FLOOR_POINTS * 3) as f64 * interval_s;
            format!(
                "at least {MIN_FLOOR_POINTS} post-GC points (have {have}): sample for at least {} at this interval, or use a shorter --interval",
                human_secs(secs.max(1.0))
            )
        }
        Source::GcLog => format!(
            "at least {MIN_FLOOR_POINTS} garbage collections in the log (have {have}): let the program run longer under load"
        ),
        Source::Rounds => format!(
            "at least {MIN_FLOOR_POINTS} post-GC measurements (have {have}, {more} more)"
        ),
    }
}

fn human_secs(s: f64) -> String {
    if s >= 120.0 {
        format!("{:.0} minutes", (s / 60.0).ceil())
    } else {
        format!("{:.0} seconds", s.ceil())
    }
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

/// The verdict on a memory series or GC log.
pub fn judge(input: &TrendInput) -> Verdict {
    let mut v = judge_unclamped(input);
    // A trend test gives odds, never certainty.
    v.confidence = v.confidence.clamp(0.0, 0.999);
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
    let mut v = Verdict {
        kind: VerdictKind::Inconclusive,
        confidence: 0.0,
        slope_bytes_per_hour: 0.0,
        reason: String::new(),
        needed: None,
        floor: None,
        floor_metric: "heap_used",
        early: None,
        late: None,
        off_heap: None,
        spikes: Spikes::default(),
    };
    // Memory outside the heap can be judged even without heap figures (RSS only).
    if floor.len() < MIN_FLOOR_POINTS {
        if floor.is_empty() && input.rss.len() >= MIN_FLOOR_POINTS {
            return judge_rss_only(input, v);
        }
        v.reason = format!(
            "too few post-GC points to judge ({} of {MIN_FLOOR_POINTS})",
            floor.len()
        );
        v.needed = Some(needed(input.source, floor.len()));
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
    let Some(whole) = Trend::of(floor) else {
        v.reason = "the samples all have the same time".into();
        v.needed = Some(needed(input.source, 0));
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
        let heap_note = if rising {
            format!(
                ", the heap floor only {} MB/hour",
                fmt_rate(whole.mb_per_hour())
            )
        } else {
            ", while the heap floor is flat".to_string()
        };
        v.kind = VerdictKind::OffHeap;
        v.confidence = 1.0 - t.mk.p;
        v.reason = format!(
            "{name} grows {} MB/hour ({} → {} over {:.0} s, Mann–Kendall p={:.2e}){heap_note}: memory goes outside the JS heap (Buffers, native addons)",
            fmt_rate(t.mb_per_hour()),
            mb(t.first),
            mb(t.last),
            t.span_s,
            t.mk.p
        );
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
        let grew = format!(
            "{} → {} over {:.0} s",
            mb(whole.first),
            mb(whole.last),
            whole.span_s
        );
        match ratio {
            Some(r) if r < PLATEAU_RATIO => {
                let e = v.early.as_ref().map_or(1.0, |e| e.mk.p.min(whole.mk.p));
                v.kind = VerdictKind::Plateau;
                v.confidence = (1.0 - e) * (1.0 - r.max(0.0) / PLATEAU_RATIO).clamp(0.3, 1.0);
                v.reason = format!(
                    "the post-GC floor rose ({grew}) but flattened: the last {:.0}% grows at {:.0}% of the early rate — V8 filling its budget or a bounded cache, not a leak",
                    LATE_SHARE * 100.0,
                    (r.max(0.0) * 100.0)
                );
            }
            _ => {
                let slowing = ratio.map_or(1.0, |r| (r / 0.5).min(1.0));
                // Between GCs the heap also holds garbage not collected yet: a floor read
                // off such samples is an estimate, and says so.
                let estimated = input.floor.is_none_or(<[Point]>::is_empty);
                v.kind = VerdictKind::Leak;
                v.confidence = (1.0 - whole.mk.p) * slowing * if estimated { 0.85 } else { 1.0 };
                v.reason = format!(
                    "the post-GC floor rises steadily: {} MB/hour ({grew}, Theil–Sen; Mann–Kendall Z={:.1}, p={:.2e}){}",
                    fmt_rate(whole.mb_per_hour()),
                    whole.mk.z,
                    whole.mk.p,
                    if estimated {
                        "; the floor is the low points of samples without forced GCs, where garbage not yet collected can pass for growth"
                    } else {
                        ""
                    }
                );
            }
        }
        v.floor = Some(whole);
        return v;
    }
    if v.spikes.count >= 2 {
        v.kind = VerdictKind::Periodic;
        v.confidence = (v.spikes.count as f64 / 4.0).min(1.0) * (1.0 - whole.mk.p.min(0.5));
        v.reason = periodic_reason(&v.spikes, typical);
        v.floor = Some(whole);
        return v;
    }
    if whole.growth().abs() < threshold || whole.mk.falling(ALPHA) {
        v.kind = VerdictKind::Stable;
        let small = 1.0 - (whole.growth().abs() / threshold).min(1.0);
        let enough = (floor.len() as f64 / (3 * MIN_FLOOR_POINTS) as f64).min(1.0);
        v.confidence = (0.5 + 0.5 * small) * (0.5 + 0.5 * enough);
        let why = if whole.mk.rising(ALPHA) {
            format!(
                "a slight rise of {} is too small to matter (under {})",
                mb(whole.growth()),
                mb(threshold)
            )
        } else if whole.mk.falling(ALPHA) {
            format!("it falls (Mann–Kendall p={:.2e})", whole.mk.p)
        } else {
            format!("no significant trend, p={:.2}", whole.mk.p)
        };
        v.reason = format!(
            "the post-GC floor stays at about {} ({} → {} over {:.0} s; {why})",
            mb(typical),
            mb(whole.first),
            mb(whole.last),
            whole.span_s,
        );
    } else {
        v.kind = VerdictKind::Inconclusive;
        v.confidence = 0.0;
        v.reason = format!(
            "the post-GC floor moves by {} over {:.0} s but without a steady trend (Mann–Kendall p={:.2}): too noisy",
            mb(whole.growth()),
            whole.span_s,
            whole.mk.p
        );
        v.needed = Some(format!(
            "a longer run (at least {}) or forced GCs (--gc) to steady the floor",
            human_secs((whole.span_s * 3.0).max(60.0))
        ));
    }
    v.floor = Some(whole);
    v
}

fn periodic_reason(spikes: &Spikes, typical: f64) -> String {
    format!(
        "{} spikes of up to {} above a flat floor ({}), each back down{}: a sawtooth of transient allocations, not a leak",
        spikes.count,
        mb(spikes.max_height),
        mb(typical),
        spikes
            .period_s
            .map(|p| format!(", about every {p:.1} s"))
            .unwrap_or_default()
    )
}

fn fmt_rate(mb_per_hour: f64) -> String {
    if mb_per_hour.abs() >= 100.0 {
        format!("{mb_per_hour:.0}")
    } else {
        format!("{mb_per_hour:.1}")
    }
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
        let Some(t) = Trend::of(series) else {
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
    v.floor_metric = "rss";
    let Some(t) = Trend::of(rss).filter(|_| rss.len() >= MIN_FLOOR_POINTS) else {
        v.reason = "too few RSS samples to judge".into();
        v.needed = Some(needed(input.source, rss.len()));
        return v;
    };
    v.slope_bytes_per_hour = t.slope_bytes_per_s * 3600.0;
    let threshold = material(rss).max(4.0 * MIB);
    if t.mk.rising(ALPHA) && t.growth() >= threshold {
        v.kind = VerdictKind::Leak;
        v.confidence = (1.0 - t.mk.p) * 0.8;
        v.reason = format!(
            "resident memory rises steadily: {} MB/hour ({} → {} over {:.0} s, Mann–Kendall p={:.2e}); from RSS alone heap and off-heap growth look the same",
            fmt_rate(t.mb_per_hour()),
            mb(t.first),
            mb(t.last),
            t.span_s,
            t.mk.p
        );
        v.needed = Some("heap figures (--inspect) to tell a heap leak from off-heap growth".into());
    } else if t.growth().abs() < threshold || t.mk.falling(ALPHA) {
        v.kind = VerdictKind::Stable;
        v.confidence = 0.6;
        v.reason = format!(
            "resident memory stays at about {} over {:.0} s (no significant trend, p={:.2})",
            mb(t.last),
            t.span_s,
            t.mk.p
        );
    } else {
        v.reason = format!(
            "resident memory moves by {} without a steady trend (p={:.2})",
            mb(t.growth()),
            t.mk.p
        );
        v.needed = Some("a longer run, or heap figures (--inspect)".into());
    }
    v.floor = Some(t);
    v
}

#[cfg(test)]
mod tests;
