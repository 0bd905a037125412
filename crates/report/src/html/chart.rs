//! The memory series as an inline SVG line chart, drawn here so it shows with scripts off.

use super::esc;
use super::model::{MemorySeries, Sample};
use crate::format::human_size;

const W: f64 = 960.0;
const H: f64 = 250.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 40.0;
/// More points than this add nothing a reader can see; the rest are thinned out (the
/// snapshot samples are always kept).
const MAX_POINTS: usize = 1500;

type Field = fn(&Sample) -> Option<u64>;

/// Two panels, so the JS heap is not flattened under an RSS ten times its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Panel {
    /// rss and external.
    Process,
    /// heapTotal, heapUsed, the post-GC floor and its trend.
    Heap,
}

impl Panel {
    fn series(self) -> &'static [(&'static str, &'static str, Field)] {
        match self {
            Panel::Process => &[SERIES[0], SERIES[3]],
            Panel::Heap => &[SERIES[1], SERIES[2]],
        }
    }

    fn title(self) -> &'static str {
        match self {
            Panel::Process => "Process memory: rss and external",
            Panel::Heap => "JS heap: heapTotal, heapUsed, post-GC floor and its trend",
        }
    }
}

/// The lines drawn, with their CSS class (colours follow the theme) and legend name.
pub const SERIES: [(&str, &str, Field); 4] = [
    ("rss", "rss", |s| s.rss),
    ("heap-total", "heapTotal", |s| s.heap_total),
    ("heap-used", "heapUsed", |s| s.heap_used),
    ("external", "external", |s| s.external),
];

fn thin(samples: &[Sample]) -> Vec<Sample> {
    if samples.len() <= MAX_POINTS {
        return samples.to_vec();
    }
    let step = samples.len().div_ceil(MAX_POINTS);
    samples
        .iter()
        .enumerate()
        .filter(|(i, s)| i % step == 0 || s.snapshot.is_some() || *i == samples.len() - 1)
        .map(|(_, s)| *s)
        .collect()
}

/// Round axis steps: 1, 2 or 5 times a power of ten, about `n` of them.
fn nice_step(range: f64, n: f64) -> f64 {
    let raw = (range / n).max(f64::MIN_POSITIVE);
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    mag * if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    }
}

/// The post-GC floor: heapUsed of the samples taken right before each snapshot.
pub fn floor_points(m: &MemorySeries) -> Vec<(f64, f64)> {
    m.samples
        .iter()
        .filter(|s| s.snapshot.is_some())
        .filter_map(|s| Some((s.t_ms, s.heap_used? as f64)))
        .collect()
}

/// One panel of the chart, or `None` when there is nothing to draw. `trend` is the line
/// `(slope per ms, intercept)` fitted through [`floor_points`], drawn on the heap panel.
pub fn svg(m: &MemorySeries, panel: Panel, trend: Option<(f64, f64)>) -> Option<String> {
    let series = panel.series();
    let samples = thin(&m.samples);
    if samples.is_empty() {
        return None;
    }
    let t0 = samples.iter().map(|s| s.t_ms).fold(f64::INFINITY, f64::min);
    let t1 = samples
        .iter()
        .map(|s| s.t_ms)
        .fold(f64::NEG_INFINITY, f64::max);
    // A little room on the right, so the last snapshot's mark is not on the edge.
    let span = ((t1 - t0) * 1.04).max(1.0);
    let ymax = samples
        .iter()
        .flat_map(|s| series.iter().filter_map(move |(_, _, f)| f(s)))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let ystep = nice_step(ymax, 5.0);
    let ytop = (ymax / ystep).ceil() * ystep;
    let x = |t: f64| LEFT + (t - t0) / span * (W - LEFT - RIGHT);
    let y = |v: f64| H - BOTTOM - v / ytop * (H - TOP - BOTTOM);

    let mut s = format!(
        r#"<svg class="chart" viewBox="0 0 {W} {H}" width="100%" role="img" aria-label="{t}"><title>{t}; snapshots marked</title><text class="panel" x="{LEFT}" y="18">{t}</text>"#,
        t = panel.title()
    );
    // Grid and axes.
    let mut v = 0.0;
    while v <= ytop + ystep / 2.0 {
        let yy = y(v);
        s.push_str(&format!(
            r#"<line class="grid" x1="{LEFT}" x2="{:.1}" y1="{yy:.1}" y2="{yy:.1}"/><text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            W - RIGHT,
            LEFT - 6.0,
            yy + 4.0,
            human_size(v as u64)
        ));
        v += ystep;
    }
    let tstep = nice_step(span / 1000.0, 8.0);
    let mut t = 0.0;
    while t <= span / 1000.0 + 1e-9 {
        let xx = x(t0 + t * 1000.0);
        s.push_str(&format!(
            r#"<text class="tick" x="{xx:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            H - BOTTOM + 16.0,
            time_label(t, tstep)
        ));
        t += tstep;
    }
    s.push_str(&format!(
        r#"<line class="axis" x1="{LEFT}" x2="{:.1}" y1="{:.1}" y2="{:.1}"/><text class="tick" x="{:.1}" y="{:.1}" text-anchor="middle">time since start</text>"#,
        W - RIGHT,
        H - BOTTOM,
        H - BOTTOM,
        (LEFT + W - RIGHT) / 2.0,
        H - 6.0
    ));
    // Snapshot moments.
    for smp in samples.iter().filter(|s| s.snapshot.is_some()) {
        let xx = x(smp.t_ms);
        let k = smp.snapshot.unwrap_or(0);
        // Near the right edge the label goes on the left of its line.
        let (lx, anchor) = if xx > W - RIGHT - 80.0 {
            (xx - 3.0, "end")
        } else {
            (xx + 3.0, "start")
        };
        s.push_str(&format!(
            r#"<g class="snap"><line x1="{xx:.1}" x2="{xx:.1}" y1="{TOP}" y2="{:.1}"/><text x="{lx:.1}" y="{:.1}" text-anchor="{anchor}">snapshot {k}</text><title>snapshot {k} at {:.1}s (post-GC sample)</title></g>"#,
            H - BOTTOM,
            TOP + 10.0,
            (smp.t_ms - t0) / 1000.0
        ));
    }
    for &(class, name, f) in series {
        let pts: Vec<String> = samples
            .iter()
            .filter_map(|smp| Some(format!("{:.1},{:.1}", x(smp.t_ms), y(f(smp)? as f64))))
            .collect();
        if pts.is_empty() {
            continue;
        }
        s.push_str(&format!(
            r#"<polyline class="line {class}" points="{}"><title>{}</title></polyline>"#,
            pts.join(" "),
            esc(name)
        ));
    }
    let floor = if panel == Panel::Heap {
        floor_points(m)
    } else {
        Vec::new()
    };
    for (t, v) in &floor {
        s.push_str(&format!(
            r#"<circle class="floor-pt" cx="{:.1}" cy="{:.1}" r="4"><title>post-GC heapUsed {}</title></circle>"#,
            x(*t),
            y(*v),
            human_size(*v as u64)
        ));
    }
    if let Some((slope, icept)) = trend.filter(|_| !floor.is_empty()) {
        let (a, b) = (t0, t1);
        s.push_str(&format!(
            r#"<line class="trend" x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}"><title>post-GC floor trend (Theil–Sen line through the snapshot samples)</title></line>"#,
            x(a),
            y((slope * a + icept).max(0.0)),
            x(b),
            y((slope * b + icept).max(0.0))
        ));
    }
    s.push_str("</svg>");
    Some(s)
}

/// `1.5s`, or `12m` / `1h30m` once the steps are minutes.
fn time_label(secs: f64, step: f64) -> String {
    if step < 60.0 {
        return format!("{}s", trim_float(secs));
    }
    let m = (secs / 60.0).round() as u64;
    match (m / 60, m % 60) {
        (0, m) => format!("{m}m"),
        (h, 0) => format!("{h}h"),
        (h, m) => format!("{h}h{m:02}m"),
    }
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_runs_are_labelled_in_minutes() {
        assert_eq!(time_label(1.5, 0.5), "1.5s");
        assert_eq!(time_label(600.0, 200.0), "10m");
        assert_eq!(time_label(5400.0, 600.0), "1h30m");
    }

    #[test]
    fn draws_every_series_and_marks_snapshots() {
        let (m, _) = MemorySeries::from_jsonl(
            b"{\"t_ms\":0,\"rss\":100,\"heap_used\":10,\"heap_total\":20,\"external\":5}\n\
             {\"t_ms\":500,\"rss\":200,\"heap_used\":30,\"heap_total\":40,\"external\":5,\"snapshot\":1}\n\
             {\"t_ms\":900,\"rss\":300,\"heap_used\":50,\"heap_total\":60,\"external\":5,\"snapshot\":2}\n{\"t_ms\":",
        );
        assert_eq!(m.samples.len(), 3);
        let trend = Some((0.04, 10.0));
        let s = svg(&m, Panel::Process, trend).unwrap() + &svg(&m, Panel::Heap, trend).unwrap();
        for c in [
            "line rss",
            "line heap-used",
            "line heap-total",
            "line external",
            "trend",
        ] {
            assert!(s.contains(c), "{c} missing");
        }
        assert_eq!(s.matches("class=\"snap\"").count(), 4);
    }
}
