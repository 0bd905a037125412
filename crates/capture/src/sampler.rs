//! The memory series: `process.memoryUsage()` through a second inspector session every
//! `--interval`, RSS from /proc, one JSON line per sample in `memory.jsonl`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use heaphound_inspector::{ConnectOptions, InspectorError, MemoryUsage, Session};
use heaphound_model::run::{RunMemory, SnapshotMemory};
use heaphound_model::series::{MemorySample, Range};

use crate::CaptureError;

#[derive(Debug, Clone)]
pub struct Sample {
    pub t_ms: u64,
    pub phase: String,
    pub rss: u64,
    /// Anonymous resident memory (the leak signal of RSS), when /proc tells it.
    pub rss_anon: Option<u64>,
    pub heap_total: u64,
    pub heap_used: u64,
    pub external: u64,
    pub array_buffers: u64,
    /// Taken right after the GC before this snapshot (1-based).
    pub snapshot: Option<u32>,
}

impl Sample {
    /// The sample as a line of `memory.jsonl`.
    pub fn to_doc(&self) -> MemorySample {
        MemorySample {
            t_ms: self.t_ms,
            phase: self.phase.clone(),
            rss: self.rss,
            heap_total: Some(self.heap_total),
            heap_used: Some(self.heap_used),
            external: Some(self.external),
            array_buffers: Some(self.array_buffers),
            rss_anon: self.rss_anon,
            snapshot: self.snapshot,
        }
    }
}

/// The samples so far, each also written (and flushed) to `memory.jsonl` as it comes, so a
/// crash loses nothing.
pub struct Series {
    start: Instant,
    pid: u32,
    file: BufWriter<File>,
    samples: Vec<Sample>,
    phase: String,
    write_error: Option<String>,
}

pub type SharedSeries = Arc<Mutex<Series>>;

/// Resident and anonymous resident bytes from `/proc/PID/status`.
pub fn proc_rss(pid: u32) -> Option<(u64, Option<u64>)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|r| r.trim().strip_suffix("kB"))
            .and_then(|n| n.trim().parse::<u64>().ok())
            .map(|n| n * 1024)
    };
    Some((kb("VmRSS:")?, kb("RssAnon:")))
}

impl Series {
    pub fn create(path: &Path, pid: u32, start: Instant) -> Result<SharedSeries, CaptureError> {
        let file = crate::files::create_fresh(path)?;
        Ok(Arc::new(Mutex::new(Series {
            start,
            pid,
            file: BufWriter::new(file),
            samples: Vec::new(),
            phase: "startup".into(),
            write_error: None,
        })))
    }

    pub fn set_phase(&mut self, phase: &str) {
        self.phase = phase.to_string();
    }

    /// Records one sample of `m` (plus RSS from /proc, preferred for `rss`).
    pub fn record(&mut self, m: &MemoryUsage, snapshot: Option<u32>) {
        let (rss, rss_anon) = match proc_rss(self.pid) {
            Some((rss, anon)) => (rss, anon),
            None => (m.rss, None),
        };
        let s = Sample {
            t_ms: self.start.elapsed().as_millis() as u64,
            phase: self.phase.clone(),
            rss,
            rss_anon,
            heap_total: m.heap_total,
            heap_used: m.heap_used,
            external: m.external,
            array_buffers: m.array_buffers,
            snapshot,
        };
        self.write_line(&s.to_doc());
        self.samples.push(s);
    }

    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// Records RSS alone (no inspector): written to the file, returned, not kept as a
    /// [`Sample`] since it has no heap figures.
    pub fn record_rss(&mut self) -> Option<(u64, u64, Option<u64>)> {
        let (rss, anon) = proc_rss(self.pid)?;
        let t_ms = self.start.elapsed().as_millis() as u64;
        self.write_line(&MemorySample {
            t_ms,
            phase: self.phase.clone(),
            rss,
            rss_anon: anon,
            ..MemorySample::default()
        });
        Some((t_ms, rss, anon))
    }

    fn write_line(&mut self, v: &MemorySample) {
        if self.write_error.is_none() {
            let Ok(mut line) = serde_json::to_string(v) else {
                return;
            };
            line.push('\n');
            if let Err(e) = self
                .file
                .write_all(line.as_bytes())
                .and_then(|_| self.file.flush())
            {
                self.write_error = Some(e.to_string());
            }
        }
    }

    pub fn write_error(&self) -> Option<&str> {
        self.write_error.as_deref()
    }

    /// The series in short, with the sample taken for each snapshot.
    pub fn summary(&self, snapshot_files: &[String]) -> RunMemory {
        let at = snapshot_files
            .iter()
            .zip(1u32..)
            .map(|(file, k)| {
                let s = self
                    .samples
                    .iter()
                    .find(|s| s.snapshot == Some(k))
                    .or_else(|| self.nearest_phase(k));
                SnapshotMemory {
                    snapshot: k,
                    file: file.clone(),
                    sample: s.map(|s| MemorySample {
                        snapshot: None,
                        ..s.to_doc()
                    }),
                }
            })
            .collect();
        RunMemory {
            samples: self.samples.len() as u64,
            rss: Range::of(self.samples.iter().map(|s| s.rss)),
            heap_used: Range::of(self.samples.iter().map(|s| s.heap_used)),
            at_snapshots: at,
        }
    }

    /// Without a sample taken for snapshot k: the last one of its phase.
    fn nearest_phase(&self, k: u32) -> Option<&Sample> {
        let phase = format!("snapshot-{k}");
        self.samples.iter().rev().find(|s| s.phase == phase)
    }
}

/// `{first, last, min, max}` of a series, or none when it is empty.
pub fn first_last_min_max(v: impl Iterator<Item = u64>) -> Option<Range> {
    Range::of(v)
}

/// The rhythm of a sampler: one sample every `interval`, never two at once when one came
/// late. Shared by the capture's sampling thread and `watch`.
pub struct Pace {
    next: Instant,
    interval: Duration,
}

impl Pace {
    pub fn new(interval: Duration) -> Pace {
        Pace {
            next: Instant::now(),
            interval,
        }
    }

    /// Waits until the next sample is due, or `stop` says to stop (checked every 20 ms).
    pub fn wait(&mut self, stop: &dyn Fn() -> bool) {
        self.next += self.interval;
        let now = Instant::now();
        if self.next < now {
            self.next = now;
        }
        while !stop() && Instant::now() < self.next {
            std::thread::sleep(
                self.next
                    .saturating_duration_since(Instant::now())
                    .min(Duration::from_millis(20)),
            );
        }
    }
}

/// The sampling thread, on its own inspector session.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Sampler {
    /// Starts sampling every `interval`. Fails only when the second session cannot be
    /// opened; the caller then goes on without a series. `cut_on_second_signal` only for a
    /// program heaphound started: an attached Node is never cut mid-snapshot.
    pub fn start(
        ws_url: &str,
        series: SharedSeries,
        interval: Duration,
        cut_on_second_signal: bool,
    ) -> Result<Sampler, CaptureError> {
        let opts = ConnectOptions {
            // A snapshot pauses the target's JS thread: this session waits all along.
            idle_timeout: Duration::from_secs(600),
            ..ConnectOptions::default()
        };
        let mut session =
            Session::connect(ws_url, &opts).map_err(|source| CaptureError::SecondSession {
                url: ws_url.to_string(),
                source,
            })?;
        // A second signal cuts this session too: during a snapshot its call waits on the
        // paused target.
        let cut = if cut_on_second_signal {
            crate::signals::cut_on_signal(2, &session)
        } else {
            None
        };
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("memory-sampler".into())
            .spawn(move || {
                let mut pace = Pace::new(interval);
                while !flag.load(Ordering::Relaxed) {
                    match session.memory_usage() {
                        Ok(m) => {
                            if let Ok(mut s) = series.lock() {
                                s.record(&m, None);
                            }
                        }
                        Err(InspectorError::Timeout { .. }) => {}
                        Err(_) => break,
                    }
                    pace.wait(&|| flag.load(Ordering::Relaxed));
                }
                drop(cut);
                session.close();
            })
            .map_err(CaptureError::Thread)?;
        Ok(Sampler {
            stop,
            handle: Some(handle),
        })
    }

    /// Stops sampling and closes the session (waits up to 3 s for a call in flight).
    pub fn finish(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let end = Instant::now() + Duration::from_secs(3);
            while !h.is_finished() && Instant::now() < end {
                std::thread::sleep(Duration::from_millis(5));
            }
            if h.is_finished() {
                let _ = h.join();
            }
        }
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
