//! The trend verdict: what a memory series, a GC log or a run of post-GC measurements says
//! (leak, plateau, periodic, off-heap, stable, inconclusive), with the numbers behind it.
//!
//! [`Verdict`] is the value the analysis returns and every command that judges a trend
//! shares; [`VerdictDoc`] is how it reads in JSON (`watch --json`, `gclog --json`, hunt's
//! `report.json` `trend`), with the same rounding everywhere.

mod wording;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::units::MB;
use crate::NamedSchema;

pub(crate) fn schemas(_out: &mut Vec<NamedSchema>) {
    // The verdict is a part of other documents (gclog, watch, hunt's report), not one of
    // its own.
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
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

/// What the floor measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FloorMetric {
    /// The heap left after garbage collection.
    HeapUsed,
    /// Resident memory, when there are no heap figures.
    Rss,
}

impl FloorMetric {
    pub fn as_str(self) -> &'static str {
        match self {
            FloorMetric::HeapUsed => "heap_used",
            FloorMetric::Rss => "rss",
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

/// The Mann–Kendall trend test's result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannKendall {
    /// Σ sign(xⱼ − xᵢ) over i < j: positive when later values tend to be larger.
    pub s: i64,
    /// Var(S) under "no trend", corrected for ties.
    pub var_s: f64,
    /// The normal score of S with continuity correction.
    pub z: f64,
    /// Two-sided p-value: the chance of a trend this strong in trendless data.
    pub p: f64,
}

impl MannKendall {
    pub fn rising(&self, alpha: f64) -> bool {
        self.s > 0 && self.p < alpha
    }

    pub fn falling(&self, alpha: f64) -> bool {
        self.s < 0 && self.p < alpha
    }
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
    /// Bytes gained over the span at the robust slope.
    pub fn growth(&self) -> f64 {
        self.slope_bytes_per_s * self.span_s
    }

    pub fn mb_per_hour(&self) -> f64 {
        self.slope_bytes_per_s * 3600.0 / MB
    }
}

/// Spikes above the floor that come back down.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Spikes {
    pub count: usize,
    pub max_height: f64,
    /// The height a rise must reach to count.
    pub threshold: f64,
    /// Median time between the starts of spikes, seconds.
    pub period_s: Option<f64>,
}

/// Why the stable verdict is stable.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StableWhy {
    /// A significant rise, but under the material threshold.
    SlightRise,
    Falls,
    NoTrend,
}

/// Which rule gave the verdict, with the figures its sentence needs that the verdict does
/// not hold otherwise. The sentences themselves are worded from this ([`Finding::reason`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Finding {
    /// Fewer post-GC points than `need`.
    TooFew {
        have: usize,
        need: usize,
        source: Source,
    },
    /// No time passes between the points.
    SameTime { need: usize, source: Source },
    /// The input's own timestamps give no forward span: all equal (`backwards` 0), or going
    /// back `backwards` times. Slopes over such times mean nothing.
    NoTimeSpan { backwards: usize, source: Source },
    /// An off-heap metric grows; `heap_rising`: the heap floor grows too, more slowly.
    OffHeap { heap_rising: bool },
    /// The floor rose then flattened: the late part grows at `ratio` of the early rate.
    Plateau { ratio: f64, late_share: f64 },
    /// The floor rises; `estimated`: it is read off samples without forced GCs.
    Leak { estimated: bool },
    /// Spikes over a flat floor of about `typical` bytes.
    Periodic { typical: f64 },
    /// The floor stays at about `typical` bytes; growth under `threshold` does not count.
    Stable {
        typical: f64,
        threshold: f64,
        why: StableWhy,
    },
    /// The floor moves without a steady trend.
    Noisy,
    /// A GC log's floor after scavenges rose, but the log has only `full_gcs` full GCs
    /// (`need` make a floor of their own); `live`: the heap after the last two of them,
    /// when there are two; `last_full`: when the last one came and how long the log is,
    /// in seconds from its first line, when the full GCs stop too early to back the rest.
    FewFullGcs {
        full_gcs: usize,
        need: usize,
        live: Option<(f64, f64)>,
        last_full: Option<(f64, f64)>,
    },
    /// Too few RSS samples (no heap figures).
    RssTooFew {
        have: usize,
        need: usize,
        source: Source,
    },
    /// Resident memory rises (no heap figures).
    RssLeak,
    /// Resident memory stays level (no heap figures).
    RssStable,
    /// Resident memory moves without a steady trend (no heap figures).
    RssNoisy,
}

/// A verdict on a memory series or GC log.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub kind: VerdictKind,
    /// 0–1: how sure the verdict is (for a leak, 1 − the trend test's p-value, lowered when
    /// growth slows down).
    pub confidence: f64,
    /// The post-GC floor's slope, bytes per hour (0 when there is no floor).
    pub slope_bytes_per_hour: f64,
    /// One sentence, with the numbers (worded from `finding`).
    pub reason: String,
    /// For `inconclusive`: what would settle it.
    pub needed: Option<String>,
    pub floor: Option<Trend>,
    pub floor_metric: FloorMetric,
    /// The floor's trend over its first and last part (plateau test).
    pub early: Option<Trend>,
    pub late: Option<Trend>,
    /// The off-heap metric that grows, with its name, when the verdict is off-heap.
    pub off_heap: Option<(&'static str, Trend)>,
    pub spikes: Spikes,
    pub finding: Finding,
}

impl Verdict {
    pub fn growth_mb_per_hour(&self) -> f64 {
        self.slope_bytes_per_hour / MB
    }

    /// Words `reason` and `needed` from `finding` and the numbers.
    pub fn word(&mut self) {
        self.reason = self.finding.reason(self);
        self.needed = self.finding.needed(self);
    }
}

/// The Mann–Kendall test in JSON.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct MannKendallDoc {
    pub s: i64,
    /// Three decimals.
    pub z: f64,
    /// Three significant digits.
    pub p: f64,
}

/// A metric's trend in JSON.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TrendDoc {
    pub points: usize,
    pub span_s: f64,
    pub first_bytes: i64,
    pub last_bytes: i64,
    pub slope_bytes_per_hour: i64,
    pub growth_mb_per_hour: f64,
    pub mann_kendall: MannKendallDoc,
    /// The trend before rounding, when built from one: text prints one decimal of some
    /// figures, and rounding twice could change it.
    #[serde(skip)]
    pub unrounded: Option<Trend>,
}

impl TrendDoc {
    pub fn span_s(&self) -> f64 {
        self.unrounded.as_ref().map_or(self.span_s, |t| t.span_s)
    }

    pub fn mb_per_hour(&self) -> f64 {
        self.unrounded
            .as_ref()
            .map_or(self.growth_mb_per_hour, Trend::mb_per_hour)
    }

    /// The Mann–Kendall normal score.
    pub fn z(&self) -> f64 {
        self.unrounded
            .as_ref()
            .map_or(self.mann_kendall.z, |t| t.mk.z)
    }
}

impl From<&Trend> for TrendDoc {
    fn from(t: &Trend) -> Self {
        TrendDoc {
            points: t.points,
            span_s: round(t.span_s, 3),
            first_bytes: t.first.round() as i64,
            last_bytes: t.last.round() as i64,
            slope_bytes_per_hour: (t.slope_bytes_per_s * 3600.0).round() as i64,
            growth_mb_per_hour: round(t.mb_per_hour(), 3),
            mann_kendall: MannKendallDoc {
                s: t.mk.s,
                z: round(t.mk.z, 3),
                p: round_sig(t.mk.p),
            },
            unrounded: Some(t.clone()),
        }
    }
}

/// The growing off-heap metric's trend, with its name.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct OffHeapDoc {
    #[serde(flatten)]
    pub trend: TrendDoc,
    /// `arrayBuffers`, `external` or `rss` (resident memory less the committed heap).
    pub metric: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SpikesDoc {
    pub count: usize,
    pub max_height_bytes: i64,
    pub threshold_bytes: i64,
    pub period_s: Option<f64>,
    /// `period_s` before rounding, when built from a verdict.
    #[serde(skip)]
    pub unrounded_period_s: Option<f64>,
}

impl SpikesDoc {
    pub fn period_s(&self) -> Option<f64> {
        self.unrounded_period_s.or(self.period_s)
    }
}

/// The trend verdict in JSON.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct VerdictDoc {
    pub kind: VerdictKind,
    /// 0–1, three decimals.
    pub confidence: f64,
    pub slope_bytes_per_hour: i64,
    pub growth_mb_per_hour: f64,
    /// One sentence, with the numbers.
    pub reason: String,
    /// For `inconclusive`: what would settle it.
    pub needed: Option<String>,
    pub floor_metric: FloorMetric,
    pub floor: Option<TrendDoc>,
    pub early: Option<TrendDoc>,
    pub late: Option<TrendDoc>,
    pub off_heap: Option<OffHeapDoc>,
    pub spikes: SpikesDoc,
    /// `confidence` before rounding, when built from a verdict: text shows whole percents.
    #[serde(skip)]
    pub unrounded_confidence: Option<f64>,
}

impl VerdictDoc {
    pub fn confidence(&self) -> f64 {
        self.unrounded_confidence.unwrap_or(self.confidence)
    }
}

impl From<&Verdict> for VerdictDoc {
    fn from(v: &Verdict) -> Self {
        let opt = |t: &Option<Trend>| t.as_ref().map(TrendDoc::from);
        VerdictDoc {
            kind: v.kind,
            confidence: round(v.confidence, 3),
            slope_bytes_per_hour: v.slope_bytes_per_hour.round() as i64,
            growth_mb_per_hour: round(v.growth_mb_per_hour(), 3),
            reason: v.reason.clone(),
            needed: v.needed.clone(),
            floor_metric: v.floor_metric,
            floor: opt(&v.floor),
            early: opt(&v.early),
            late: opt(&v.late),
            off_heap: v.off_heap.as_ref().map(|(name, t)| OffHeapDoc {
                trend: t.into(),
                metric: (*name).to_string(),
            }),
            spikes: SpikesDoc {
                count: v.spikes.count,
                max_height_bytes: v.spikes.max_height.round() as i64,
                threshold_bytes: v.spikes.threshold.round() as i64,
                period_s: v.spikes.period_s.map(|p| round(p, 3)),
                unrounded_period_s: v.spikes.period_s,
            },
            unrounded_confidence: Some(v.confidence),
        }
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
