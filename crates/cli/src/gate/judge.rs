//! The gate's rule: the memory left after each round (a full GC, then heap used plus
//! external), its growth over the rounds measured robustly, and whether that growth is a
//! trend or noise.

use heaphound_analysis::trend::{mann_kendall, theil_sen, Point};
use heaphound_model::gate::Growth;

pub use heaphound_capture::gate::RoundMemory;

#[derive(Debug, Clone)]
pub struct Judgement {
    pub pass: bool,
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

/// `unit` names one iteration in messages: `call`, `request`.
pub fn judge(rounds: &[RoundMemory], iterations: u64, max_growth: u64, unit: &str) -> Judgement {
    let ys: Vec<f64> = rounds.iter().map(|r| r.retained() as f64).collect();
    let n = ys.len();
    let last = n.saturating_sub(1);
    let points: Vec<Point> = ys
        .iter()
        .enumerate()
        .map(|(i, &v)| Point::new(i as f64, v))
        .collect();
    let per_round = theil_sen(&points).map_or(0.0, |(slope, _)| slope);
    let growth = (per_round * last as f64).round() as i64;
    let raw_growth = ys[last] as i64 - ys[0] as i64;
    let p_value = rising_p(&points);
    let per_call = per_round / iterations.max(1) as f64;
    let material = growth as f64 > MATERIAL * max_growth as f64;
    let trend = if p_value < SIGNIFICANCE && material {
        "leak"
    } else {
        "stable"
    };
    let over = growth > max_growth as i64;
    let calls = last as u64 * iterations;
    let reason = if over {
        format!(
            "retained memory grew by {} over {last} rounds ({} {unit}s, about {} per {unit}), more than --max-growth {}",
            heaphound_report::human_delta(growth),
            heaphound_report::group(calls),
            per_call_text(per_call),
            heaphound_report::human_size(max_growth)
        )
    } else if trend == "leak" {
        format!(
            "retained memory grew in a steady trend (Mann–Kendall p = {p_value:.3}) by {} over {last} rounds, about {} per {unit}",
            heaphound_report::human_delta(growth),
            per_call_text(per_call)
        )
    } else if p_value < SIGNIFICANCE {
        format!(
            "retained memory rose steadily but only by {} over {last} rounds ({} {unit}s), under a quarter of --max-growth {}",
            heaphound_report::human_delta(growth),
            heaphound_report::group(calls),
            heaphound_report::human_size(max_growth)
        )
    } else {
        format!(
            "retained memory changed by {} over {last} rounds ({} {unit}s), within --max-growth {}, with no steady trend (p = {p_value:.2})",
            heaphound_report::human_delta(growth),
            heaphound_report::group(calls),
            heaphound_report::human_size(max_growth)
        )
    };
    Judgement {
        pass: !over && trend != "leak",
        reason,
        growth,
        raw_growth,
        per_round,
        per_call,
        trend,
        p_value,
    }
}

fn per_call_text(bytes: f64) -> String {
    if bytes.abs() < 10.0 {
        format!("{bytes:.1} B")
    } else {
        heaphound_report::human_delta(bytes.round() as i64)
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

/// `1MB`, `512kB`, `2MiB`, `500000`: decimal units as heaphound prints them, binary ones
/// when asked for.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let (value, unit) = crate::capture::duration::number_and_unit(s)
        .ok_or_else(|| format!("'{s}' is not a size (e.g. 500kB, 1MB, 2MiB)"))?;
    let factor = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!(
                "'{s}': unknown unit '{other}' (use B, kB, MB, GB, KiB, MiB, GiB)"
            ))
        }
    };
    let bytes = value * factor;
    if !bytes.is_finite() || bytes > u64::MAX as f64 / 2.0 {
        return Err(format!("'{s}' is too large"));
    }
    Ok(bytes.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rounds(values: &[u64]) -> Vec<RoundMemory> {
        values
            .iter()
            .enumerate()
            .map(|(i, &v)| RoundMemory {
                round: i as u32,
                heap_used: v,
                heap_total: 0,
                external: 0,
                elapsed_ms: 0,
            })
            .collect()
    }

    #[test]
    fn steady_growth_fails_and_noise_passes() {
        // 500 B a call, 500 calls a round.
        let leak: Vec<u64> = (0..7).map(|k| 4_000_000 + k * 250_000).collect();
        let j = judge(&rounds(&leak), 500, 1_000_000, "call");
        assert!(!j.pass, "{j:?}");
        assert_eq!(j.trend, "leak");
        assert!((j.per_call - 500.0).abs() < 1.0, "{j:?}");
        // Same growth in total but under the limit: still a trend, still a failure.
        let small: Vec<u64> = (0..7).map(|k| 4_000_000 + k * 100_000).collect();
        let j = judge(&rounds(&small), 500, 1_000_000, "call");
        assert!(!j.pass && j.reason.contains("steady trend"), "{j:?}");
        // A few kB up and down.
        let noise = [
            4_000_000, 4_003_000, 3_998_000, 4_001_000, 4_004_000, 3_999_000, 4_002_000,
        ];
        let j = judge(&rounds(&noise), 500, 1_000_000, "call");
        assert!(j.pass, "{j:?}");
        // A cache that filled in the first round, then stayed.
        let fill = [
            4_000_000, 4_600_000, 4_600_100, 4_599_900, 4_600_050, 4_600_000, 4_600_020,
        ];
        let j = judge(&rounds(&fill), 500, 1_000_000, "call");
        assert!(j.pass, "{j:?}");
        assert!(j.growth.abs() < 1_000, "{j:?}");
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

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1MB").unwrap(), 1_000_000);
        assert_eq!(parse_size("512kB").unwrap(), 512_000);
        assert_eq!(parse_size("2MiB").unwrap(), 2 * 1024 * 1024);
        assert_eq!(parse_size("1.5 MB").unwrap(), 1_500_000);
        assert_eq!(parse_size("700").unwrap(), 700);
        for bad in ["", "MB", "1XB", "-1MB"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
