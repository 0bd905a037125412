//! Robust trend statistics: Theil–Sen slope and the Mann–Kendall test (with tie
//! correction). Both are rank-based, so one GC spike or one stray sample cannot make a
//! trend the way it can with least squares.

use heaphound_model::trend::MannKendall;

/// One observation: `t` in seconds, `v` in bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub t: f64,
    pub v: f64,
}

impl Point {
    pub fn new(t: f64, v: f64) -> Point {
        Point { t, v }
    }
}

/// Both statistics are O(n²): longer series are thinned evenly to this many points, which
/// keeps a 10-minute watch at 1 s (or a GC log of thousands of lines) well under a second.
const MAX_POINTS: usize = 800;

fn thin(points: &[Point]) -> Vec<Point> {
    if points.len() <= MAX_POINTS {
        return points.to_vec();
    }
    let step = points.len() as f64 / MAX_POINTS as f64;
    (0..MAX_POINTS)
        .map(|i| points[((i as f64 * step) as usize).min(points.len() - 1)])
        .collect()
}

/// The Theil–Sen estimator: the median of the slopes between all pairs of points (bytes
/// per second), and the intercept as the median of `v - slope·t`. `None` with fewer than two
/// distinct times.
pub fn theil_sen(points: &[Point]) -> Option<(f64, f64)> {
    let p = thin(points);
    let mut slopes = Vec::with_capacity(p.len() * p.len().saturating_sub(1) / 2);
    for i in 0..p.len() {
        for j in i + 1..p.len() {
            let dt = p[j].t - p[i].t;
            if dt.abs() > 1e-12 {
                slopes.push((p[j].v - p[i].v) / dt);
            }
        }
    }
    let slope = median(&mut slopes)?;
    let mut icpt: Vec<f64> = p.iter().map(|q| q.v - slope * q.t).collect();
    Some((slope, median(&mut icpt)?))
}

pub fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// The Mann–Kendall trend test on values in time order.
pub fn mann_kendall(points: &[Point]) -> MannKendall {
    let p = thin(points);
    let n = p.len();
    let mut s: i64 = 0;
    for i in 0..n {
        for j in i + 1..n {
            s += match p[j].v.total_cmp(&p[i].v) {
                std::cmp::Ordering::Greater => 1,
                std::cmp::Ordering::Less => -1,
                std::cmp::Ordering::Equal => 0,
            };
        }
    }
    // Tie groups: Σ t(t−1)(2t+5) over groups of equal values.
    let mut sorted: Vec<f64> = p.iter().map(|q| q.v).collect();
    sorted.sort_by(f64::total_cmp);
    let mut ties = 0.0;
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i + 1;
        while j < sorted.len() && sorted[j] == sorted[i] {
            j += 1;
        }
        let t = (j - i) as f64;
        ties += t * (t - 1.0) * (2.0 * t + 5.0);
        i = j;
    }
    let nf = n as f64;
    let var_s = ((nf * (nf - 1.0) * (2.0 * nf + 5.0)) - ties) / 18.0;
    let z = if var_s <= 0.0 {
        0.0
    } else if s > 0 {
        (s as f64 - 1.0) / var_s.sqrt()
    } else if s < 0 {
        (s as f64 + 1.0) / var_s.sqrt()
    } else {
        0.0
    };
    let p = if var_s <= 0.0 {
        1.0
    } else {
        erfc(z.abs() / std::f64::consts::SQRT_2).min(1.0)
    };
    MannKendall { s, var_s, z, p }
}

/// The complementary error function (Numerical Recipes' Chebyshev fit, relative error
/// below 1.2e-7 everywhere), enough for p-values.
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(f: impl Fn(usize) -> f64, n: usize) -> Vec<Point> {
        (0..n).map(|i| Point::new(i as f64, f(i))).collect()
    }

    /// A small deterministic generator, so the property tests need no crate.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    #[test]
    fn erfc_matches_known_values() {
        assert!((erfc(0.0) - 1.0).abs() < 1e-7);
        assert!((erfc(1.0) - 0.157_299_207).abs() < 1e-7);
        assert!((erfc(2.0) - 0.004_677_735).abs() < 1e-8);
        assert!((erfc(-1.0) - 1.842_700_793).abs() < 1e-7);
    }

    #[test]
    fn theil_sen_recovers_a_line_through_outliers() {
        let mut pts = series(|i| 1000.0 + 5.0 * i as f64, 50);
        // A quarter of the points thrown far off: the median slope does not move.
        for k in (0..50).step_by(4) {
            pts[k].v += 1e6;
        }
        let (slope, icpt) = theil_sen(&pts).unwrap();
        assert!((slope - 5.0).abs() < 0.5, "{slope}");
        assert!((icpt - 1000.0).abs() < 50.0, "{icpt}");
        assert!(theil_sen(&pts[..1]).is_none());
    }

    #[test]
    fn mann_kendall_on_monotone_and_constant_series() {
        let up = mann_kendall(&series(|i| i as f64, 20));
        assert_eq!(up.s, 190); // every pair agrees: n(n-1)/2
        assert!(up.rising(0.001));
        let down = mann_kendall(&series(|i| -(i as f64), 20));
        assert_eq!(down.s, -190);
        assert!(down.falling(0.001));
        // All ties: no variance, no trend.
        let flat = mann_kendall(&series(|_| 7.0, 20));
        assert_eq!((flat.s, flat.p), (0, 1.0));
    }

    #[test]
    fn tie_correction_lowers_the_variance() {
        let plain = mann_kendall(&series(|i| i as f64, 12));
        let tied = mann_kendall(&series(|i| (i / 3) as f64, 12));
        assert!(tied.var_s < plain.var_s);
        // n=12, four groups of three: (12·11·29 − 4·3·2·11)/18.
        assert!((tied.var_s - (12.0 * 11.0 * 29.0 - 4.0 * 66.0) / 18.0).abs() < 1e-9);
    }

    #[test]
    fn noise_alone_is_rarely_a_trend() {
        // Property: on pure noise, p < 0.05 about 5% of the time (well under 15%).
        let mut rng = Lcg(42);
        let mut hits = 0;
        for _ in 0..200 {
            let pts: Vec<Point> = (0..30).map(|i| Point::new(i as f64, rng.next())).collect();
            if mann_kendall(&pts).p < 0.05 {
                hits += 1;
            }
        }
        assert!(hits < 30, "{hits} of 200 noise series looked like trends");
    }

    #[test]
    fn trend_under_noise_is_found_and_measured() {
        let mut rng = Lcg(7);
        for _ in 0..50 {
            let pts: Vec<Point> = (0..40)
                .map(|i| Point::new(i as f64 * 0.5, 100.0 * i as f64 + 300.0 * rng.next()))
                .collect();
            let mk = mann_kendall(&pts);
            assert!(mk.rising(0.01), "{mk:?}");
            let (slope, _) = theil_sen(&pts).unwrap();
            assert!((slope - 200.0).abs() < 40.0, "{slope}");
        }
    }

    #[test]
    fn long_series_are_thinned_not_rejected() {
        let pts = series(|i| 2.0 * i as f64, 5000);
        let (slope, _) = theil_sen(&pts).unwrap();
        assert!((slope - 2.0).abs() < 1e-9);
        assert!(mann_kendall(&pts).rising(1e-6));
    }
}
