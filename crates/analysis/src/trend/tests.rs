//! Synthetic series for the decision rules; the verdicts on real Node data are tested in
//! the CLI's integration tests.

use super::*;

const MB: f64 = 1024.0 * 1024.0;

fn pts(n: usize, dt: f64, f: impl Fn(f64) -> f64) -> Vec<Point> {
    (0..n)
        .map(|i| {
            let t = i as f64 * dt;
            Point::new(t, f(t))
        })
        .collect()
}

/// Deterministic jitter in [-1, 1].
fn jitter(t: f64) -> f64 {
    ((t * 12.9898).sin() * 43_758.545).fract() * 2.0 - 1.0
}

#[test]
fn steady_rise_is_a_leak_with_its_rate() {
    let floor = pts(40, 1.0, |t| 50.0 * MB + 0.5 * MB * t + 0.2 * MB * jitter(t));
    let v = judge_floor(&floor);
    assert_eq!(v.kind, VerdictKind::Leak, "{}", v.reason);
    assert!(v.confidence > 0.95);
    // 0.5 MiB/s = 1887 MB/hour (decimal MB).
    assert!(
        (v.growth_mb_per_hour() - 1887.0).abs() < 100.0,
        "{}",
        v.growth_mb_per_hour()
    );
}

#[test]
fn rise_then_flat_is_a_plateau() {
    let floor = pts(40, 1.0, |t| {
        (50.0 + 2.0 * t.min(15.0)) * MB + 0.1 * MB * jitter(t)
    });
    let v = judge_floor(&floor);
    assert_eq!(v.kind, VerdictKind::Plateau, "{}", v.reason);
}

#[test]
fn flat_floor_is_stable_and_short_is_inconclusive() {
    let floor = pts(30, 1.0, |t| 50.0 * MB + 0.2 * MB * jitter(t));
    assert_eq!(judge_floor(&floor).kind, VerdictKind::Stable);
    let v = judge_floor(&floor[..5]);
    assert_eq!(v.kind, VerdictKind::Inconclusive);
    assert!(v.needed.as_deref().unwrap_or("").contains("at least 10"));
}

#[test]
fn noise_without_trend_is_inconclusive_not_stable() {
    let floor = pts(30, 1.0, |t| 50.0 * MB + 20.0 * MB * jitter(t));
    let v = judge_floor(&floor);
    assert!(
        matches!(v.kind, VerdictKind::Inconclusive | VerdictKind::Periodic),
        "{:?}: {}",
        v.kind,
        v.reason
    );
}

#[test]
fn external_growth_over_a_flat_heap_is_off_heap() {
    let heap = pts(40, 0.1, |t| 10.0 * MB + 0.3 * MB * jitter(t));
    let ext = pts(40, 0.1, |t| 2.0 * MB + 50.0 * MB * t);
    let v = judge(&TrendInput {
        heap: &heap,
        floor: Some(&heap),
        rss: &[],
        heap_total: &[],
        external: &ext,
        array_buffers: &ext,
        source: Source::Series { interval_s: 0.1 },
    });
    assert_eq!(v.kind, VerdictKind::OffHeap, "{}", v.reason);
    assert_eq!(v.off_heap.as_ref().map(|o| o.0), Some("arrayBuffers"));
}

#[test]
fn spikes_that_return_are_periodic() {
    let heap = pts(80, 0.05, |t| {
        let phase = (t / 0.6).fract();
        10.0 * MB + if phase < 0.3 { 40.0 * MB } else { 0.0 }
    });
    let v = judge(&TrendInput {
        heap: &heap,
        floor: None,
        rss: &[],
        heap_total: &[],
        external: &[],
        array_buffers: &[],
        source: Source::Series { interval_s: 0.05 },
    });
    assert_eq!(v.kind, VerdictKind::Periodic, "{}", v.reason);
    assert!(v.spikes.count >= 4);
    let period = v.spikes.period_s.unwrap_or(0.0);
    assert!((period - 0.6).abs() < 0.1, "{period}");
}

#[test]
fn rss_alone_still_judges_growth() {
    let rss = pts(40, 0.5, |t| 60.0 * MB + 5.0 * MB * t);
    let v = judge(&TrendInput {
        heap: &[],
        floor: None,
        rss: &rss,
        heap_total: &[],
        external: &[],
        array_buffers: &[],
        source: Source::Series { interval_s: 0.5 },
    });
    assert_eq!(v.kind, VerdictKind::Leak, "{}", v.reason);
    assert_eq!(v.floor_metric, FloorMetric::Rss);
    assert!(v.needed.is_some());
}

#[test]
fn json_has_the_numbers() {
    let floor = pts(20, 1.0, |t| 10.0 * MB + MB * t);
    let j = heaphound_model::trend::VerdictDoc::from(&judge_floor(&floor));
    assert_eq!(j.kind, VerdictKind::Leak);
    assert!(j.floor.map_or(1.0, |f| f.mann_kendall.p) < 1e-3);
    assert!(j.growth_mb_per_hour > 3000.0);
}

#[test]
fn spikes_caught_by_forced_gcs_are_periodic_not_a_plateau() {
    // Every sample post-GC, but 40% of them taken while a 20 MB report is still held, and
    // a lower start before the first report: the floor under the spikes is flat.
    let floor = pts(80, 0.05, |t| {
        let base = if t < 0.3 { 3.4 * MB } else { 4.2 * MB };
        base + if t >= 0.3 && (t / 0.6).fract() < 0.4 {
            20.0 * MB
        } else {
            0.0
        }
    });
    let v = judge(&TrendInput {
        heap: &floor,
        floor: Some(&floor),
        rss: &[],
        heap_total: &[],
        external: &[],
        array_buffers: &[],
        source: Source::Series { interval_s: 0.05 },
    });
    assert_eq!(v.kind, VerdictKind::Periodic, "{}", v.reason);
}
