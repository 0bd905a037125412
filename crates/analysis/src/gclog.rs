//! `node --trace-gc` output (Node 18–24): one line per collection, mixed with whatever the
//! program prints. Counts and pauses by kind, the heap left after each full GC (the floor),
//! full GCs that free almost nothing (a heap at its limit), and the trend verdict.

use std::collections::{BTreeMap, HashSet};
use std::sync::OnceLock;

use heaphound_model::gclog::{FutileGc, FutileGcs, GcFloor, GcKind, GcKindFigures, GcLogDoc};
use heaphound_model::trend::{Finding, VerdictDoc, VerdictKind};
use heaphound_model::units::{self, mib_to_bytes};
use heaphound_model::SCHEMA_VERSION;
use regex::Regex;

use crate::trend::{self, Point, Source, TrendInput, Verdict, MIN_FLOOR_POINTS};

/// A full GC that frees less than this share of the heap "reclaims almost nothing".
pub const FUTILE_SHARE: f64 = 0.02;

#[derive(Debug, thiserror::Error)]
pub enum GcLogError {
    #[error(
        "no --trace-gc lines among {lines} lines (expected lines like `[1234:0x5f0c…]  81 ms: Mark-Compact 12.7 (44.8) -> 10.4 (43.6) MB, …`; run node with --trace-gc)"
    )]
    NoGcLines { lines: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GcClass {
    /// Young generation: Scavenge, Minor Mark-Sweep / MinorMS.
    Minor,
    /// Full: Mark-Compact, Mark-sweep (Node 18), with or without (reduce).
    Full,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GcEvent {
    /// 1-based line number in the input.
    pub line: usize,
    pub pid: u32,
    pub isolate: String,
    pub t_ms: f64,
    /// As V8 names it, with ` (reduce)`: `Scavenge`, `Mark-Compact (reduce)`, `Mark-sweep`.
    pub label: String,
    pub class: GcClass,
    pub before_bytes: f64,
    pub after_bytes: f64,
    pub committed_after_bytes: f64,
    pub pause_ms: f64,
    /// `allocation failure`, `task`, `finalize incremental marking via task`, …
    pub reason: String,
    pub average_mu: Option<f64>,
}

impl GcEvent {
    pub fn reclaimed(&self) -> f64 {
        self.before_bytes - self.after_bytes
    }
}

#[derive(Debug, Clone)]
pub struct GcLog {
    /// The collections of the busiest isolate, in log order.
    pub events: Vec<GcEvent>,
    pub lines: usize,
    /// Lines that were not GC lines (the program's own output, verbose tables).
    pub skipped: usize,
    /// Lines too long to be GC lines, dropped unread by the caller (not in `skipped`).
    pub long_lines: usize,
    /// Lines V8 printed twice (the ring buffer replayed before an out-of-memory crash).
    pub duplicates: usize,
    /// Other isolates (worker threads) in the log, left out.
    pub other_isolates: usize,
}

fn classic() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(concat!(
            r"\[(?P<pid>\d+):(?P<isolate>0x[0-9a-fA-F]+)\]\s+(?P<t>\d+(?:\.\d+)?) ms: ",
            r"(?P<type>(?:Shared )?[A-Za-z][A-Za-z -]*?)(?P<reduce> \(reduce\))?",
            r"(?: \((?:interleaved|during sweeping|young)\))? ",
            r"(?P<before>[\d.]+) \([\d.]+\) -> (?P<after>[\d.]+) \((?P<committed>[\d.]+)\) MB, ",
            r"(?:pooled: [\d.]+ MB, )?(?P<pause>[\d.]+) / [\d.]+ ms\s+",
            r"(?:\(\+ [^)]*\) )?",
            r"(?:\(average mu = (?P<mu>[\d.]+), current mu = [\d.]+\) )?",
            r"(?P<reason>[^;]*)",
        ))
        .expect("static regex")
    })
}

fn nvp() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(r"\[(?P<pid>\d+):(?P<isolate>0x[0-9a-fA-F]+)\]\s+(?P<t>\d+(?:\.\d+)?) ms: (?P<rest>pause=.*)")
            .expect("static regex")
    })
}

fn class_of(label: &str) -> GcClass {
    let l = label.to_ascii_lowercase();
    if l.contains("scavenge") || l.contains("minor") || l.contains("young") {
        GcClass::Minor
    } else {
        GcClass::Full
    }
}

fn parse_classic(line: usize, text: &str) -> Option<GcEvent> {
    let c = classic().captures(text)?;
    let num = |k: &str| c.name(k).and_then(|m| m.as_str().parse::<f64>().ok());
    let ty = c.name("type")?.as_str();
    let label = format!("{ty}{}", c.name("reduce").map_or("", |m| m.as_str()));
    Some(GcEvent {
        line,
        pid: c.name("pid")?.as_str().parse().ok()?,
        isolate: c.name("isolate")?.as_str().to_string(),
        t_ms: num("t")?,
        class: class_of(ty),
        label,
        // V8's "MB" here is MiB: bytes from this point on.
        before_bytes: mib_to_bytes(num("before")?),
        after_bytes: mib_to_bytes(num("after")?),
        committed_after_bytes: mib_to_bytes(num("committed")?),
        pause_ms: num("pause")?,
        reason: c
            .name("reason")
            .map_or("", |m| m.as_str())
            .trim()
            .to_string(),
        average_mu: num("mu"),
    })
}

/// `--trace-gc-nvp`: `pause=0.8 mutator=14.4 gc=s … total_size_before=… total_size_after=…`.
fn parse_nvp(line: usize, text: &str) -> Option<GcEvent> {
    let c = nvp().captures(text)?;
    let mut kv = BTreeMap::new();
    for pair in c.name("rest")?.as_str().split_whitespace() {
        if let Some((k, v)) = pair.split_once('=') {
            kv.insert(k, v);
        }
    }
    let f = |k: &str| kv.get(k).and_then(|v| v.parse::<f64>().ok());
    let gc = *kv.get("gc")?;
    let (label, class) = match gc {
        "s" => ("Scavenge", GcClass::Minor),
        "mmc" | "ms" | "minor_ms" => ("Minor Mark-Sweep", GcClass::Minor),
        _ => ("Mark-Compact", GcClass::Full),
    };
    let reduce = f("reduce_memory").is_some_and(|r| r > 0.0) && class == GcClass::Full;
    Some(GcEvent {
        line,
        pid: c.name("pid")?.as_str().parse().ok()?,
        isolate: c.name("isolate")?.as_str().to_string(),
        t_ms: c.name("t")?.as_str().parse().ok()?,
        label: if reduce {
            format!("{label} (reduce)")
        } else {
            label.to_string()
        },
        class,
        before_bytes: f("total_size_before")?,
        after_bytes: f("total_size_after")?,
        committed_after_bytes: f("total_size_after")?,
        pause_ms: f("pause")?,
        reason: String::new(),
        average_mu: None,
    })
}

/// Parses a whole log. Lines that are not GC lines are skipped, whatever they hold.
pub fn parse(text: &str) -> Result<GcLog, GcLogError> {
    let mut p = Parser::default();
    for l in text.lines() {
        p.line(l);
    }
    p.finish()
}

/// A log fed line by line, so a caller reading a file need not hold it whole: V8's lines
/// are short, and a caller that caps line length reports a line it dropped with
/// [`Parser::long_line`].
#[derive(Default)]
pub struct Parser {
    all: Vec<GcEvent>,
    lines: usize,
    skipped: usize,
    long_lines: usize,
    duplicates: usize,
    seen: HashSet<(u32, String, u64, u64)>,
}

impl Parser {
    /// The next line, without its line break.
    pub fn line(&mut self, l: &str) {
        self.lines += 1;
        let n = self.lines;
        let Some(e) = parse_classic(n, l).or_else(|| parse_nvp(n, l)) else {
            self.skipped += 1;
            return;
        };
        // The ring buffer replayed after `<--- Last few GCs --->` repeats lines.
        let key = (
            e.pid,
            e.isolate.clone(),
            e.t_ms.to_bits(),
            e.before_bytes.to_bits(),
        );
        if !self.seen.insert(key) {
            self.duplicates += 1;
            return;
        }
        self.all.push(e);
    }

    /// A line the caller did not keep because it was too long to be a GC line.
    pub fn long_line(&mut self) {
        self.lines += 1;
        self.long_lines += 1;
    }

    pub fn finish(self) -> Result<GcLog, GcLogError> {
        let Parser {
            all,
            lines,
            skipped,
            long_lines,
            duplicates,
            ..
        } = self;
        if all.is_empty() {
            return Err(GcLogError::NoGcLines { lines });
        }
        let mut per: BTreeMap<(u32, String), usize> = BTreeMap::new();
        for e in &all {
            *per.entry((e.pid, e.isolate.clone())).or_default() += 1;
        }
        let busiest = per
            .iter()
            .max_by_key(|(_, n)| **n)
            .map(|(k, _)| k.clone())
            .unwrap_or_default();
        let events: Vec<GcEvent> = all
            .into_iter()
            .filter(|e| (e.pid, &e.isolate) == (busiest.0, &busiest.1))
            .collect();
        Ok(GcLog {
            events,
            lines,
            skipped,
            long_lines,
            duplicates,
            other_isolates: per.len() - 1,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct KindStats {
    pub label: String,
    pub count: usize,
    pub pause_total_ms: f64,
    pub pause_max_ms: f64,
    pub reclaimed_bytes: f64,
}

#[derive(Debug, Clone)]
pub struct GcReport {
    pub by_kind: Vec<KindStats>,
    /// Full GCs that freed under 2% of the heap.
    pub futile: Vec<GcEvent>,
    pub full_gcs: usize,
    /// The floor judged: heap after each full GC, or after every GC when full GCs are few.
    pub floor: Vec<Point>,
    /// `full` or `all`: which collections the floor is taken after.
    pub floor_from: &'static str,
    pub span_s: f64,
    pub last_average_mu: Option<f64>,
    pub verdict: Verdict,
}

pub fn analyse(log: &GcLog) -> GcReport {
    let mut kinds: BTreeMap<String, KindStats> = BTreeMap::new();
    for e in &log.events {
        let k = kinds.entry(e.label.clone()).or_insert_with(|| KindStats {
            label: e.label.clone(),
            count: 0,
            pause_total_ms: 0.0,
            pause_max_ms: 0.0,
            reclaimed_bytes: 0.0,
        });
        k.count += 1;
        k.pause_total_ms += e.pause_ms;
        k.pause_max_ms = k.pause_max_ms.max(e.pause_ms);
        k.reclaimed_bytes += e.reclaimed();
    }
    let mut by_kind: Vec<KindStats> = kinds.into_values().collect();
    by_kind.sort_by(|a, b| b.count.cmp(&a.count).then(a.label.cmp(&b.label)));
    let full: Vec<&GcEvent> = log
        .events
        .iter()
        .filter(|e| e.class == GcClass::Full)
        .collect();
    let futile = full
        .iter()
        .filter(|e| e.before_bytes > 0.0 && e.reclaimed() < FUTILE_SHARE * e.before_bytes)
        .map(|e| (*e).clone())
        .collect();
    let at = |e: &GcEvent| (e.t_ms + e.pause_ms) / 1000.0;
    let (floor, floor_from, heap) = if full.len() >= MIN_FLOOR_POINTS {
        let floor: Vec<Point> = full
            .iter()
            .map(|e| Point::new(at(e), e.after_bytes))
            .collect();
        // Spikes show in how high the heap got before each full GC.
        let mut heap = Vec::with_capacity(2 * full.len());
        for e in &full {
            heap.push(Point::new(e.t_ms / 1000.0, e.before_bytes));
            heap.push(Point::new(at(e), e.after_bytes));
        }
        (floor, "full", heap)
    } else {
        let after: Vec<Point> = log
            .events
            .iter()
            .map(|e| Point::new(at(e), e.after_bytes))
            .collect();
        // Between full GCs the heap after a scavenge still holds old garbage, so it climbs
        // even when nothing leaks; the next full GC shows how much of it was live. Capping
        // each value at the next full GC's result keeps that garbage out of the floor.
        let mut capped = after.clone();
        let mut cap = f64::INFINITY;
        for (p, e) in capped.iter_mut().zip(&log.events).rev() {
            if e.class == GcClass::Full {
                cap = e.after_bytes;
            }
            p.v = p.v.min(cap);
        }
        (trend::lower_envelope(&capped), "all", after)
    };
    let span_s = match (log.events.first(), log.events.last()) {
        (Some(a), Some(b)) => (b.t_ms - a.t_ms) / 1000.0,
        _ => 0.0,
    };
    // One isolate's clock only moves forward: a log whose times stand still or go back is
    // not one run in order (logs pasted together, edited lines), and any slope over it is
    // an artefact. A pause may end after the next line's start (whole milliseconds), so
    // only the logged times themselves are compared.
    let backwards = log
        .events
        .windows(2)
        .filter(|w| w[1].t_ms < w[0].t_ms)
        .count();
    let verdict = if backwards > 0 || (log.events.len() > 1 && span_s <= 0.0) {
        trend::untimed(backwards, Source::GcLog)
    } else {
        trend::judge(&TrendInput {
            heap: &heap,
            floor: Some(&floor),
            rss: &[],
            heap_total: &[],
            external: &[],
            array_buffers: &[],
            source: Source::GcLog,
        })
    };
    let verdict = if floor_from == "all" {
        let start_ms = log.events.first().map_or(0.0, |e| e.t_ms);
        scavenge_floor_checked(verdict, &full, start_ms, span_s)
    } else {
        verdict
    };
    GcReport {
        by_kind,
        futile,
        full_gcs: full.len(),
        floor,
        floor_from,
        span_s,
        last_average_mu: log.events.iter().rev().find_map(|e| e.average_mu),
        verdict,
    }
}

/// Growth the live heap must show between the last two full GCs to back a leak read off
/// scavenges.
const LIVE_GROWTH: f64 = 1.1;

/// Share of the log the full GCs must reach into to back a leak read off scavenges. A
/// bounded cache fills during the first full GCs; if none follow, the rest of the log is
/// scavenges only, whose floor climbs with promoted garbage whether or not anything leaks
/// (seen on a busy machine: two full GCs in the first fifth of the log, then none).
const FULL_GC_REACH: f64 = 1.0 / 3.0;

/// A leak read off the floor after scavenges, which still holds the garbage promoted since
/// the last full GC, needs the full GCs of the log to back it: two or more, the last of
/// which left more than the one before and came late enough in the log. Then it stands,
/// as sure as that many full GCs make it; otherwise it is inconclusive, and a longer log
/// would tell.
fn scavenge_floor_checked(
    mut v: Verdict,
    full: &[&GcEvent],
    start_ms: f64,
    span_s: f64,
) -> Verdict {
    if v.kind != VerdictKind::Leak {
        return v;
    }
    let live = match full {
        [.., a, b] => Some((a.after_bytes, b.after_bytes)),
        _ => None,
    };
    let last_full_s = full.last().map_or(0.0, |e| (e.t_ms - start_ms) / 1000.0);
    let grew = live.is_some_and(|(a, b)| b >= a * LIVE_GROWTH);
    let reaches = span_s > 0.0 && last_full_s >= span_s * FULL_GC_REACH;
    if grew && reaches {
        v.confidence = v.confidence.min(0.6 + 0.035 * full.len() as f64);
    } else {
        v.kind = VerdictKind::Inconclusive;
        v.confidence = 0.0;
        v.finding = Finding::FewFullGcs {
            full_gcs: full.len(),
            need: MIN_FLOOR_POINTS,
            live,
            last_full: grew.then_some((last_full_s, span_s)),
        };
        v.word();
    }
    v
}

/// The `gclog --json` document: `file` is the log as the user named it.
pub fn document(file: &str, log: &GcLog, r: &GcReport) -> GcLogDoc {
    // `*_mb` is 10^6 bytes, as everywhere in heaphound's JSON.
    let mb = |b: f64| (units::mb(b) * 10.0).round() / 10.0;
    GcLogDoc {
        schema_version: SCHEMA_VERSION,
        command: "gclog".into(),
        file: file.to_string(),
        pid: log.events.first().map(|e| e.pid),
        verdict: VerdictDoc::from(&r.verdict),
        events: log.events.len(),
        lines: log.lines,
        skipped_lines: log.skipped,
        skipped_long_lines: log.long_lines,
        duplicate_lines: log.duplicates,
        other_isolates: log.other_isolates,
        span_s: (r.span_s * 1000.0).round() / 1000.0,
        last_average_mu: r.last_average_mu,
        by_kind: r
            .by_kind
            .iter()
            .map(|k| GcKind {
                kind: k.label.clone(),
                count: k.count,
                pause_total_ms: (k.pause_total_ms * 100.0).round() / 100.0,
                pause_max_ms: k.pause_max_ms,
                reclaimed_mb: mb(k.reclaimed_bytes),
                unrounded: Some(GcKindFigures {
                    pause_total_ms: k.pause_total_ms,
                    reclaimed_bytes: k.reclaimed_bytes,
                }),
            })
            .collect(),
        full_gcs: r.full_gcs,
        futile_full_gcs: FutileGcs {
            threshold_share: FUTILE_SHARE,
            count: r.futile.len(),
            list: r
                .futile
                .iter()
                .map(|e| FutileGc {
                    line: e.line,
                    t_ms: e.t_ms,
                    kind: e.label.clone(),
                    before_mb: mb(e.before_bytes),
                    after_mb: mb(e.after_bytes),
                    reason: e.reason.clone(),
                    unrounded_bytes: Some((e.before_bytes, e.after_bytes)),
                })
                .collect(),
        },
        floor: GcFloor {
            after: r.floor_from.to_string(),
            points: r
                .floor
                .iter()
                .map(|p| ((p.t * 1000.0).round() / 1000.0, mb(p.v)))
                .collect(),
        },
        unrounded_span_s: Some(r.span_s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINES: &str = "\
listening on http://127.0.0.1:3000/
[11807:0x35132d00]       78 ms: Mark-sweep 13.3 (44.7) -> 11.0 (44.0) MB, 8.6 / 0.0 ms  (+ 0.1 ms in 2 steps since start of marking, biggest step 0.1 ms, walltime since start of marking 9 ms) (average mu = 1.000, current mu = 1.000) finalize incremental marking via stack guard; GC in old space requested
[11816:0x1f0ab000]       15 ms: Scavenge 4.4 (5.1) -> 3.7 (6.1) MB, pooled: 0 MB, 0.69 / 0.00 ms  (average mu = 1.000, current mu = 1.000) allocation failure; 
half a line of program output[11816:0x1f0ab000]       94 ms: Mark-Compact (reduce) 24.0 (45.7) -> 23.9 (44.9) MB, pooled: 0 MB, 14.20 / 0.00 ms  (average mu = 0.771, current mu = 0.320) testing; GC in old space requested
[11816:0x1f0ab000]      120 ms: Minor Mark-Sweep 30.1 (46.0) -> 26.0 (46.0) MB, pooled: 0 MB, 1.10 / 0.00 ms  (average mu = 0.771, current mu = 0.320) task; 
[11816:0x1f0ab000]      120 ms: Minor Mark-Sweep 30.1 (46.0) -> 26.0 (46.0) MB, pooled: 0 MB, 1.10 / 0.00 ms  (average mu = 0.771, current mu = 0.320) task; 
[10602:0xd63ece0]       18 ms: pause=0.8 mutator=14.4 gc=s reduce_memory=0 total_size_before=4074352 total_size_after=3409624
";

    #[test]
    fn parses_every_format_and_skips_the_rest() {
        let all = parse(LINES).unwrap();
        // The busiest isolate only; the Node 18 and nvp lines are other isolates.
        assert_eq!(all.events.len(), 3);
        assert_eq!((all.duplicates, all.other_isolates, all.skipped), (1, 2, 1));
        let e = &all.events;
        assert_eq!(
            (e[0].label.as_str(), e[0].class),
            ("Scavenge", GcClass::Minor)
        );
        assert_eq!(e[1].label, "Mark-Compact (reduce)");
        assert_eq!(e[1].reason, "testing");
        assert_eq!(e[1].line, 4);
        assert!((e[1].after_bytes - 23.9 * heaphound_model::units::MIB).abs() < 1.0);
        assert_eq!(e[2].class, GcClass::Minor);
        assert_eq!(e[2].reason, "task");

        let r = analyse(&all);
        assert_eq!(r.futile.len(), 1, "24.0 -> 23.9 frees under 2%");
        assert_eq!(r.full_gcs, 1);

        let n18 = parse(LINES.lines().nth(1).unwrap_or("")).unwrap();
        assert_eq!(n18.events[0].label, "Mark-sweep");
        assert_eq!(n18.events[0].class, GcClass::Full);
        assert_eq!(
            n18.events[0].reason,
            "finalize incremental marking via stack guard"
        );
        let nvp = parse(LINES.lines().last().unwrap_or("")).unwrap();
        assert_eq!(nvp.events[0].before_bytes, 4_074_352.0);
    }

    #[test]
    fn no_gc_lines_is_a_typed_error() {
        match parse("hello\nworld\n") {
            Err(GcLogError::NoGcLines { lines: 2 }) => {}
            other => panic!("{other:?}"),
        }
    }
}
