//! `watch --snapshot-above`: a heap snapshot when memory crosses a line (the classic "write
//! a heap snapshot when memory is high" script, built in), at most so many, so far apart,
//! through the inspector or through the process's own `--heapsnapshot-signal` handler.

use std::path::PathBuf;
use std::time::Duration;

use heaphound_inspector::Session;
use heaphound_model::watch::WatchSnapshot;

use crate::headroom::{self, Guard};
use crate::node_signal::{self, SignalPlan};
use crate::watch::{Live, Watched};
use crate::{CaptureError, Observer, SnapshotTicker};

/// The line a sample must reach.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Line {
    Rss(u64),
    HeapUsed(u64),
    /// Used heap as a percentage of the heap limit.
    HeapPercent(f64),
}

impl Line {
    /// `500MB` or `rss=500MB`, `heap_used=300MB`, `80%`; `size` parses a size.
    pub fn parse(text: &str, size: &dyn Fn(&str) -> Result<u64, String>) -> Result<Line, String> {
        let t = text.trim();
        if let Some(p) = t.strip_suffix('%') {
            let p: f64 = p
                .trim()
                .parse()
                .map_err(|_| format!("'{text}': a percentage is a number before %"))?;
            if !(p > 0.0 && p <= 100.0) {
                return Err(format!(
                    "'{text}': a percentage of the heap limit is above 0 and at most 100"
                ));
            }
            return Ok(Line::HeapPercent(p));
        }
        if let Some(v) = t.strip_prefix("heap_used=") {
            return size(v).map(Line::HeapUsed);
        }
        size(t.strip_prefix("rss=").unwrap_or(t)).map(Line::Rss)
    }

    pub fn needs_heap(self) -> bool {
        !matches!(self, Line::Rss(_))
    }

    fn metric(self) -> &'static str {
        match self {
            Line::Rss(_) => "rss",
            Line::HeapUsed(_) => "heap_used",
            Line::HeapPercent(_) => "heap_limit_percent",
        }
    }
}

/// How the snapshot is taken.
pub enum Via {
    Inspector,
    Signal {
        signal: (&'static str, i32),
        dir: Option<PathBuf>,
        any_process: bool,
        timeout: Duration,
    },
}

pub struct Trigger {
    pub line: Line,
    pub max: usize,
    pub interval: Duration,
    pub via: Via,
    /// The run folder.
    pub folder: PathBuf,
    pub headroom: Guard,
    /// For `HeapPercent`: the heap limit, read once at the start.
    pub heap_limit: Option<u64>,
    /// What it did so far.
    pub taken: std::sync::Mutex<Taken>,
}

/// What the trigger did over a watch.
#[derive(Default)]
pub struct Taken {
    pub snapshots: Vec<WatchSnapshot>,
    pub notes: Vec<String>,
    /// Attempts, taken or not: each counts against `max`.
    tries: usize,
    last_ms: Option<u64>,
}

/// The heap limit (`v8.getHeapStatistics().heap_size_limit`) of the process behind `s`.
pub fn heap_limit(s: &mut Session) -> Option<u64> {
    let expr = "(() => { const v8 = process.getBuiltinModule ? process.getBuiltinModule('v8') : (process.mainModule && process.mainModule.require('v8')); return v8 ? v8.getHeapStatistics().heap_size_limit : null; })()";
    s.evaluate(expr).ok().and_then(|v| v.as_u64())
}

impl Trigger {
    /// After a sample: takes a snapshot when the line is crossed and the limits allow.
    pub fn after_sample(&self, live: &Live, t_ms: u64, w: &Watched, ui: &dyn Observer) {
        let Ok(mut done) = self.taken.lock() else {
            return;
        };
        self.after_sample_with(&mut done, live, t_ms, w, ui);
    }

    fn after_sample_with(
        &self,
        done: &mut Taken,
        live: &Live,
        t_ms: u64,
        w: &Watched,
        ui: &dyn Observer,
    ) {
        if done.tries >= self.max {
            return;
        }
        if done
            .last_ms
            .is_some_and(|l| t_ms.saturating_sub(l) < self.interval.as_millis() as u64)
        {
            return;
        }
        let (rss, heap_used) = match live {
            Live::Heap(m) => (m.rss, Some(m.heap_used)),
            Live::Rss { rss, .. } => (*rss, None),
            Live::Nothing => return,
        };
        let (value, line) = match self.line {
            Line::Rss(l) => (rss as f64, l as f64),
            Line::HeapUsed(l) => match heap_used {
                Some(h) => (h as f64, l as f64),
                None => return,
            },
            Line::HeapPercent(p) => match (heap_used, self.heap_limit) {
                (Some(h), Some(limit)) if limit > 0 => (h as f64 * 100.0 / limit as f64, p),
                _ => return,
            },
        };
        if value < line {
            return;
        }
        done.tries += 1;
        done.last_ms = Some(t_ms);
        let n = done.tries;
        ui.note(&format!(
            "{} crossed its line ({}): snapshot {n} of at most {}",
            self.line.metric(),
            shown(self.line, value),
            self.max
        ));
        let taken = match &self.via {
            Via::Inspector => self.by_inspector(n, heap_used, w, ui),
            Via::Signal {
                signal,
                dir,
                any_process,
                timeout,
            } => node_signal::take(
                &SignalPlan {
                    pid: w.pid,
                    signal: *signal,
                    dir: dir.clone(),
                    any_process: *any_process,
                    headroom: self.headroom.clone(),
                    timeout: *timeout,
                },
                &self.folder,
                ui,
            )
            .map(|t| (t.file, t.bytes, signal.0.to_string())),
        };
        match taken {
            Ok((file, bytes, via)) => {
                ui.note(&format!("snapshot {n}: {} ({bytes} bytes)", file.display()));
                done.snapshots.push(WatchSnapshot {
                    file: file.display().to_string(),
                    bytes,
                    via,
                    t_ms,
                    metric: self.line.metric().into(),
                    value: (value * 100.0).round() / 100.0,
                    line,
                    rss,
                    heap_used,
                });
            }
            Err(e) => {
                let msg = format!(
                    "snapshot {n} at {:.1}s: {}",
                    t_ms as f64 / 1000.0,
                    crate::error_chain(&e)
                );
                ui.warn(&msg);
                done.notes.push(msg);
            }
        }
    }

    /// Through a session of its own, which the watch's signal handling never cuts: a
    /// snapshot cut halfway can bring the target down.
    fn by_inspector(
        &self,
        n: usize,
        heap_used: Option<u64>,
        w: &Watched,
        ui: &dyn Observer,
    ) -> Result<(PathBuf, u64, String), CaptureError> {
        headroom::ensure(Some(w.pid), heap_used, &self.headroom, ui, None)
            .map_err(CaptureError::NoHeadroom)?;
        let mut session = w.connect()?.ok_or_else(|| {
            CaptureError::Usage("no inspector to take the snapshot through".into())
        })?;
        let path = self.folder.join(format!("snapshot-{n}.heapsnapshot"));
        let mut ticker = SnapshotTicker::new(ui, "snapshot");
        let taken = session
            .enable_heap_profiler()
            .and_then(|_| session.take_heap_snapshot(&path, &mut |p| ticker.tick(p)));
        ui.clear();
        session.close();
        let bytes = taken.map_err(|source| CaptureError::Step {
            what: format!("{}: snapshot of PID {}", path.display(), w.pid),
            source,
        })?;
        crate::snapshot::check_whole(&path)?;
        Ok((path, bytes, "inspector".into()))
    }
}

fn shown(line: Line, value: f64) -> String {
    match line {
        Line::HeapPercent(p) => format!("{value:.1}% of the heap limit ≥ {p}%"),
        Line::Rss(l) | Line::HeapUsed(l) => {
            format!("{:.1} MB ≥ {:.1} MB", value / 1e6, l as f64 / 1e6)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(s: &str) -> Result<u64, String> {
        s.strip_suffix("MB")
            .and_then(|n| n.parse::<u64>().ok())
            .map(|n| n * 1_000_000)
            .ok_or_else(|| format!("bad size {s}"))
    }

    #[test]
    fn lines_by_metric() {
        assert_eq!(Line::parse("500MB", &size), Ok(Line::Rss(500_000_000)));
        assert_eq!(Line::parse("rss=5MB", &size), Ok(Line::Rss(5_000_000)));
        assert_eq!(
            Line::parse("heap_used=3MB", &size),
            Ok(Line::HeapUsed(3_000_000))
        );
        assert_eq!(Line::parse("80%", &size), Ok(Line::HeapPercent(80.0)));
        assert!(Line::parse("180%", &size).is_err());
        assert!(Line::parse("lots", &size).is_err());
    }
}
