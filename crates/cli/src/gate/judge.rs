//! The gate's rule on its rounds (the rule itself is `heaphound_analysis::gate`), and
//! `--max-growth` sizes.

use heaphound_model::gate::Iteration;

pub use heaphound_analysis::gate::Judgement;
pub use heaphound_capture::gate::RoundMemory;

/// The gate's rule (in heaphound-analysis) on the rounds' retained memory.
pub fn judge(
    rounds: &[RoundMemory],
    iterations: u64,
    max_growth: u64,
    per: Iteration,
) -> Judgement {
    let retained: Vec<u64> = rounds.iter().map(RoundMemory::retained).collect();
    heaphound_analysis::gate::judge(&retained, iterations, max_growth, per)
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
