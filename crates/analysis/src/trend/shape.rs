//! The shape of a series: its lower envelope, the spikes above it, and its early and late
//! parts.

use super::stats::{median, Point};
use super::{trend_of, Spikes, Trend, LATE_SHARE};

/// The lower envelope of sampled heap values: the minimum of each block of consecutive
/// samples, at the time of that minimum. Without forced GCs the heap carries garbage
/// between collections; the low points are where a GC had just run.
pub fn lower_envelope(points: &[Point]) -> Vec<Point> {
    if points.len() < 3 {
        return points.to_vec();
    }
    // Blocks of 3 samples at least, and no more than 60 blocks.
    let block = (points.len() / 60).max(3);
    points
        .chunks(block)
        .filter_map(|c| c.iter().copied().min_by(|a, b| a.v.total_cmp(&b.v)))
        .collect()
}

/// Half-width of a window wide enough to reach past one spike.
pub(super) fn spike_window(n: usize) -> usize {
    (n / 8).max(5)
}

/// Each point replaced by the minimum within `w` points either side.
pub fn rolling_min(points: &[Point], w: usize) -> Vec<Point> {
    let n = points.len();
    (0..n)
        .map(|i| {
            let lo = i.saturating_sub(w);
            let hi = (i + w + 1).min(n);
            let v = points[lo..hi]
                .iter()
                .map(|p| p.v)
                .fold(f64::INFINITY, f64::min);
            Point::new(points[i].t, v)
        })
        .collect()
}

/// Rises of `raw` above a rolling-minimum base by at least `threshold` that fall back below
/// half of it.
pub fn spikes(raw: &[Point], threshold: f64) -> Spikes {
    let n = raw.len();
    let mut out = Spikes {
        threshold,
        ..Spikes::default()
    };
    if n < 5 {
        return out;
    }
    let base: Vec<f64> = rolling_min(raw, spike_window(n))
        .iter()
        .map(|p| p.v)
        .collect();
    let mut starts = Vec::new();
    let mut inside: Option<(f64, f64)> = None; // (start t, peak height)
    for i in 0..n {
        let h = raw[i].v - base[i];
        match inside {
            None if h >= threshold => inside = Some((raw[i].t, h)),
            Some((t0, peak)) if h < threshold / 2.0 => {
                out.count += 1;
                out.max_height = out.max_height.max(peak);
                starts.push(t0);
                inside = None;
            }
            Some((t0, peak)) => inside = Some((t0, peak.max(h))),
            None => {}
        }
    }
    let mut gaps: Vec<f64> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    out.period_s = median(&mut gaps);
    out
}

/// The floor's first 60% and last 40% (by time), each with enough points for a slope.
pub(super) fn split(floor: &[Point]) -> (Option<Trend>, Option<Trend>) {
    let (Some(a), Some(b)) = (floor.first(), floor.last()) else {
        return (None, None);
    };
    let cut = b.t - LATE_SHARE * (b.t - a.t);
    let k = floor.partition_point(|p| p.t < cut);
    let (early, late) = floor.split_at(k);
    if early.len() < 4 || late.len() < 4 {
        return (None, None);
    }
    (trend_of(early), trend_of(late))
}

/// How much the floor's late part sits above its start (median of the last 40% over the
/// median of the first tenth), and that rise per second.
pub(super) fn rise(floor: &[Point], late: Option<&Trend>) -> Option<(f64, f64)> {
    late?;
    let n = floor.len();
    let head = &floor[..(n / 10).max(3).min(n)];
    let cut = n - n * 4 / 10;
    let tail = &floor[cut.min(n.saturating_sub(1))..];
    let level = |p: &[Point]| {
        let mut v: Vec<f64> = p.iter().map(|q| q.v).collect();
        median(&mut v)
    };
    let mid = |p: &[Point]| {
        let mut v: Vec<f64> = p.iter().map(|q| q.t).collect();
        median(&mut v)
    };
    let r = level(tail)? - level(head)?;
    let dt = mid(tail)? - mid(head)?;
    (dt > 0.0).then(|| (r, r / dt))
}
