//! Reading a snapshot for a command: path or stdin, a progress bar when it is worth one,
//! and errors that name the file.

use std::io::{IsTerminal, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use heaphound_capture::originals::SourceMaps;
use heaphound_capture::read::{self, ReadObserver};
use heaphound_snapshot::{HeapGraph, Progress};

/// Files smaller than this load too fast for a bar to help.
const BAR_THRESHOLD: u64 = 4 << 20;

pub use heaphound_capture::read::{label, Opened as Loaded, Summarised};

/// An input the user named was unreadable or malformed: exit code 2.
#[derive(Debug)]
pub struct InputError(pub String);

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InputError {}

pub fn load(path: &str, quiet: bool, maps: &Arc<SourceMaps>) -> Result<Loaded> {
    let mut w = Watch::new(quiet, &label(path));
    Ok(read::open(path, &mut w, maps).map_err(input)?)
}

pub fn load_for_summary(path: &str, quiet: bool, maps: &Arc<SourceMaps>) -> Result<Summarised> {
    let mut w = Watch::new(quiet, &label(path));
    Ok(read::open_for_summary(path, &mut w, maps).map_err(input)?)
}

/// Reads one snapshot as a postmortem does (the stack retains nothing), with its
/// progress; the error as the capture library gives it, for callers that go on without it.
pub fn open_postmortem(
    path: &str,
    quiet: bool,
    maps: &Arc<SourceMaps>,
) -> Result<Loaded, read::ReadError> {
    let mut w = Watch::new(quiet, &label(path));
    read::open_with(path, &mut w, maps, true)
}

fn input(e: read::ReadError) -> InputError {
    InputError(e.0)
}

/// Progress of one snapshot on stderr: the bar, its analysis phases, and with
/// HEAPHOUND_TIMINGS=1 how long each took.
struct Watch {
    bar: Bar,
    quiet: bool,
    label: String,
    timings: bool,
    last: Instant,
    prev: &'static str,
}

impl Watch {
    fn new(quiet: bool, label: &str) -> Watch {
        let show = !quiet
            && std::io::stderr().is_terminal()
            && std::env::var_os("HEAPHOUND_NO_PROGRESS").is_none();
        Watch {
            bar: Bar::new(show, label),
            quiet,
            label: label.to_string(),
            timings: std::env::var_os("HEAPHOUND_TIMINGS").is_some(),
            last: Instant::now(),
            prev: "",
        }
    }
}

impl ReadObserver for Watch {
    fn progress(&mut self, p: Progress) {
        self.bar.update(p);
    }

    fn read(&mut self, graph: &HeapGraph, took: Duration) {
        if graph.clamped_self_sizes > 0 && !self.quiet {
            // Over a drawn bar, the note takes its line; the bar redraws below it.
            let clear = if self.bar.drawn { "\r\x1b[2K" } else { "" };
            eprintln!(
                "{clear}heaphound: note: {}: {} object{} of over 4 GiB {} counted as 4 GiB (sizes are 32-bit)",
                self.label,
                graph.clamped_self_sizes,
                if graph.clamped_self_sizes == 1 { "" } else { "s" },
                if graph.clamped_self_sizes == 1 { "is" } else { "are" },
            );
        }
        if self.timings {
            eprintln!(
                "timing: read {:.3}s (cpu {}), graph {} MB (strings {} MB)",
                took.as_secs_f64(),
                cpu_so_far(),
                graph.heap_bytes() >> 20,
                graph.strings.heap_bytes() >> 20
            );
        }
    }

    fn phase(&mut self, name: &'static str) {
        if self.timings && !self.prev.is_empty() {
            eprintln!(
                "timing: {} {:.3}s (cpu so far {})",
                self.prev,
                self.last.elapsed().as_secs_f64(),
                cpu_so_far()
            );
        }
        self.last = Instant::now();
        self.prev = name;
        self.bar.phase(name)
    }

    fn done(&mut self, took: Duration) {
        self.bar.done(took);
    }
}

/// The process's user and system CPU time so far: system time is where page faults and
/// memory zeroing show.
fn cpu_so_far() -> String {
    // SAFETY: getrusage fills the zeroed struct it is given.
    let u = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    format!(
        "user {:.2}s, sys {:.2}s",
        secs(u.ru_utime),
        secs(u.ru_stime)
    )
}

/// Reads all of stdin or a file (for small JSON inputs).
#[allow(dead_code)]
pub fn read_all(path: &str) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    if path == "-" {
        std::io::stdin().read_to_end(&mut buf)?;
    } else {
        buf = std::fs::read(path).with_context(|| format!("{path}: cannot read"))?;
    }
    Ok(buf)
}

/// A one-line progress bar on stderr, drawn only on a terminal and for big inputs.
struct Bar {
    enabled: bool,
    label: String,
    last_pct: i32,
    drawn: bool,
}

impl Bar {
    fn new(enabled: bool, label: &str) -> Bar {
        Bar {
            enabled,
            label: heaphound_model::text::escape_control(label).into_owned(),
            last_pct: -1,
            drawn: false,
        }
    }

    fn update(&mut self, p: Progress) {
        if !self.enabled {
            return;
        }
        let Some(total) = p.total.filter(|&t| t >= BAR_THRESHOLD) else {
            return;
        };
        let pct = ((p.done as f64 / total as f64) * 100.0).min(100.0) as i32;
        if pct == self.last_pct {
            return;
        }
        self.last_pct = pct;
        let filled = (pct / 4) as usize;
        eprint!(
            "\r\x1b[2Kreading {} [{}{}] {pct:3}%",
            self.label,
            "#".repeat(filled),
            "-".repeat(25 - filled)
        );
        let _ = std::io::stderr().flush();
        self.drawn = true;
    }

    fn phase(&mut self, name: &str) {
        if self.drawn {
            eprint!("\r\x1b[2K{}: {name}…", self.label);
            let _ = std::io::stderr().flush();
        }
    }

    fn done(&mut self, took: Duration) {
        if self.drawn {
            eprintln!(
                "\r\x1b[2K{}: analysed in {:.1}s",
                self.label,
                took.as_secs_f64()
            );
        }
    }
}

/// Loads several snapshots at once, one thread each: their parses and analyses overlap, so
/// a comparison costs less than loading one after another. Progress is one line, not a
/// bar per file.
pub fn load_all(paths: &[String], quiet: bool, maps: &Arc<SourceMaps>) -> Result<Vec<Loaded>> {
    if paths.iter().filter(|p| *p == "-").count() > 1 {
        return Err(InputError("standard input (-) can be read only once".into()).into());
    }
    let show = !quiet
        && std::io::stderr().is_terminal()
        && std::env::var_os("HEAPHOUND_NO_PROGRESS").is_none();
    let started = Instant::now();
    if show {
        eprint!("\r\x1b[2Kloading {} snapshots…", paths.len());
        let _ = std::io::stderr().flush();
    }
    let loaded = read::open_all(paths, &|| Box::new(Watch::new(true, "")), maps);
    if show {
        eprintln!(
            "\r\x1b[2Kloaded {} snapshots in {:.1}s",
            paths.len(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(loaded.map_err(input)?)
}
