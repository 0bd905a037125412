//! The gate's rule: the memory left after each round (a full GC, then heap used plus
//! external), its growth over the rounds measured robustly, and whether that growth is a
//! trend or noise.

use heaphound_model::gate::{GateFigures, GateRule, Growth, Iteration};

use crate::trend::{mann_kendall, theil_sen, Point};

#[derive(Debug, Clone)]
pub struct Judgement {
    pub pass: bool,
    pub rule: GateRule,
    /// One sentence, worded by [`GateRule::reason`].
    pub reason: String,
    /// Theil–Sen slope × rounds: the growth from the baseline to the last round, robust to
    /// one odd round.
    pub growth: i64,
    /// Last round less the baseline, as measured.
    pub raw_growth: i64,
    pub per_round: f64,
    pub per_call: f64,
    /// `leak` when the rounds grow steadily and by more than noise, else `stable`.
    pub trend: &'static str,
    /// Mann–Kendall one-sided p-value for "grows round after round".
    pub p_value: f64,
}

/// Growth below this share of `--max-growth` is not called a trend however steady it is:
/// V8's own bookkeeping drifts by a few kB.
const MATERIAL: f64 = 0.25;
const SIGNIFICANCE: f64 = 0.05;

/// `retained`: the memory left after each round, the baseline first.
pub fn judge(retained: &[u64], iterations: u64, max_growth: u64, per: Iteration) -> Judgement {
    let ys: Vec<f64> = retained.iter().map(|&r| r as f64).collect();
    let last = ys.len().saturating_sub(1);
    let points: Vec<Point> = ys
        .iter()
        .enumerate()
        .map(|(i, &v)| Point::new(i as f64, v))
        .collect();
    let per_round = theil_sen(&points).map_or(0.0, |(slope, _)| slope);
    let growth = (per_round * last as f64).round() as i64;
    let raw_growth = match (ys.first(), ys.last()) {
        (Some(&a), Some(&b)) => b as i64 - a as i64,
        _ => 0,
    };
    let p_value = rising_p(&points);
    let per_call = per_round / iterations.max(1) as f64;
    let material = growth as f64 > MATERIAL * max_growth as f64;
    let significant = p_value < SIGNIFICANCE;
    let trend = if significant && material {
        "leak"
    } else {
        "stable"
    };
    let rule = if growth > max_growth as i64 {
        GateRule::OverLimit
    } else if trend == "leak" {
        GateRule::SteadyTrend
    } else if significant {
        GateRule::SmallSteady
    } else {
        GateRule::Within
    };
    let reason = rule.reason(&GateFigures {
        growth,
        rounds: last,
        iterations,
        per_call,
        p_value,
        max_growth,
        per,
    });
    Judgement {
        pass: matches!(rule, GateRule::SmallSteady | GateRule::Within),
        rule,
        reason,
        growth,
        raw_growth,
        per_round,
        per_call,
        trend,
        p_value,
    }
}

impl Judgement {
    pub fn to_doc(&self) -> Growth {
        Growth {
            growth: self.growth,
            raw_growth: self.raw_growth,
            per_round: self.per_round.round() as i64,
            per_call: (self.per_call * 10.0).round() / 10.0,
            trend: self.trend.into(),
            p_value: (self.p_value * 10_000.0).round() / 10_000.0,
        }
    }
}

/// One-sided Mann–Kendall p-value for "rises round after round".
fn rising_p(points: &[Point]) -> f64 {
    let mk = mann_kendall(points);
    if points.len() < 3 || mk.s <= 0 {
        1.0
    } else {
        mk.p / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge_calls(values: &[u64]) -> Judgement {
        judge(values, 500, 1_000_000, Iteration::Call)
    }

    #[test]
    fn steady_growth_fails_and_noise_passes() {
        // 500 B a call, 500 calls a round.
        let leak: Vec<u64> = (0..7).map(|k| 4_000_000 + k * 250_000).collect();
        let j = judge_calls(&leak);
        assert!(!j.pass, "{j:?}");
        assert_eq!(j.trend, "leak");
        assert_eq!(j.rule, GateRule::OverLimit);
        assert!((j.per_call - 500.0).abs() < 1.0, "{j:?}");
        // Same growth in total but under the limit: still a trend, still a failure.
        let small: Vec<u64> = (0..7).map(|k| 4_000_000 + k * 100_000).collect();
        let j = judge_calls(&small);
        assert!(!j.pass && j.reason.contains("steady trend"), "{j:?}");
        // A few kB up and down.
        let noise = [
            4_000_000, 4_003_000, 3_998_000, 4_001_000, 4_004_000, 3_999_000, 4_002_000,
        ];
        let j = judge_calls(&noise);
        assert!(j.pass, "{j:?}");
        assert_eq!(j.rule, GateRule::Within);
        // A cache that filled in the first round, then stayed.
        let fill = [
            4_000_000, 4_600_000, 4_600_100, 4_599_900, 4_600_050, 4_600_000, 4_600_020,
        ];
        let j = judge_calls(&fill);
        assert!(j.pass, "{j:?}");
        assert!(j.growth.abs() < 1_000, "{j:?}");
        // Steady but tiny: passes, and says why.
        let creep: Vec<u64> = (0..7).map(|k| 4_000_000 + k * 1_000).collect();
        let j = judge_calls(&creep);
        assert!(j.pass && j.rule == GateRule::SmallSteady, "{j:?}");
        assert!(j.reason.contains("under a quarter"), "{j:?}");
        // No rounds at all: nothing grew, never a panic.
        assert!(judge_calls(&[]).pass);
    }

    #[test]
    fn mann_kendall_matches_the_textbook() {
        // n = 7 strictly increasing: S = 21, var = 7·6·19/18, z = 20/√44.33 = 3.004.
        let pts = |v: &[f64]| -> Vec<Point> {
            v.iter()
                .enumerate()
                .map(|(i, &y)| Point::new(i as f64, y))
                .collect()
        };
        let p = rising_p(&pts(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]));
        assert!((p - 0.001332).abs() < 1e-4, "{p}");
        assert_eq!(rising_p(&pts(&[3.0, 2.0, 1.0])), 1.0);
        assert_eq!(rising_p(&pts(&[1.0, 1.0, 1.0, 1.0])), 1.0);
    }
}
