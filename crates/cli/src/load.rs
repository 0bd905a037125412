//! Loading a snapshot for a command: path or stdin, a progress bar when it is worth one,
//! and errors that name the file.

use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use heaphound_analysis::{Analysis, GraphFacts};
use heaphound_snapshot::{HeapGraph, Progress};

/// Files smaller than this load too fast for a bar to help.
const BAR_THRESHOLD: u64 = 4 << 20;

pub struct Loaded {
    pub graph: HeapGraph,
    pub analysis: Analysis,
    pub label: String,
}

/// An input the user named was unreadable or malformed: exit code 2.
#[derive(Debug)]
pub struct InputError(pub String);

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InputError {}

/// How an input is named in messages.
pub fn label(path: &str) -> String {
    if path == "-" {
        "<stdin>".to_string()
    } else {
        path.to_string()
    }
}

pub fn load(path: &str, quiet: bool) -> Result<Loaded> {
    let (graph, label, mut bar, started) = read_graph(path, quiet)?;
    let analysis = analyse(&mut bar, |step| Analysis::new(&graph, step));
    bar.done(started);
    Ok(Loaded {
        graph,
        analysis,
        label,
    })
}

/// A snapshot analysed for its class summary only: the graph itself is let go part by
/// part during the analysis, which keeps the peak memory down on big heaps.
pub struct Summarised {
    pub facts: GraphFacts,
    pub analysis: Analysis,
    pub label: String,
}

pub fn load_for_summary(path: &str, quiet: bool) -> Result<Summarised> {
    let (graph, label, mut bar, started) = read_graph(path, quiet)?;
    let (analysis, facts) = analyse(&mut bar, |step| Analysis::summary_only(graph, step));
    bar.done(started);
    Ok(Summarised {
        facts,
        analysis,
        label,
    })
}

fn read_graph(path: &str, quiet: bool) -> Result<(HeapGraph, String, Bar, Instant)> {
    let label = label(path);
    let show =
        !quiet && std::io::stderr().is_terminal() && std::env::var_os("NO_PROGRESS").is_none();
    let mut bar = Bar::new(show, &label);
    let started = Instant::now();
    let graph = if path == "-" {
        let stdin = std::io::stdin();
        heaphound_snapshot::read_reader(stdin, None, &mut |p| bar.update(p))
    } else {
        let p = Path::new(path);
        if p.is_dir() {
            return Err(InputError(format!("{label}: is a directory, not a heap snapshot")).into());
        }
        heaphound_snapshot::read_path(p, &mut |p| bar.update(p))
    };
    let graph = graph.map_err(|e| InputError(format!("{label}: {e}")))?;
    if std::env::var_os("HEAPHOUND_TIMINGS").is_some() {
        eprintln!(
            "timing: read {:.3}s (cpu {}), graph {} MB (strings {} MB)",
            started.elapsed().as_secs_f64(),
            cpu_so_far(),
            graph.heap_bytes() >> 20,
            graph.strings.heap_bytes() >> 20
        );
    }
    Ok((graph, label, bar, started))
}

/// Runs an analysis, naming its phases on the progress line (and with HEAPHOUND_TIMINGS=1,
/// printing how long each took).
fn analyse<T>(bar: &mut Bar, run: impl FnOnce(&mut dyn FnMut(&'static str)) -> T) -> T {
    let timings = std::env::var_os("HEAPHOUND_TIMINGS").is_some();
    let mut last = Instant::now();
    let mut prev: &'static str = "";
    let mut phase = |name: &'static str| {
        if timings && !prev.is_empty() {
            eprintln!(
                "timing: {prev} {:.3}s (cpu so far {})",
                last.elapsed().as_secs_f64(),
                cpu_so_far()
            );
        }
        last = Instant::now();
        prev = name;
        bar.phase(name)
    };
    let result = run(&mut phase);
    phase("");
    result
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
            label: label.to_string(),
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

    fn done(&mut self, started: Instant) {
        if self.drawn {
            eprintln!(
                "\r\x1b[2K{}: analysed in {:.1}s",
                self.label,
                started.elapsed().as_secs_f64()
            );
        }
    }
}

/// Loads several snapshots at once, one thread each: their parses and analyses overlap, so
/// a comparison costs less than loading one after another. Progress is one line, not a
/// bar per file.
pub fn load_all(paths: &[String], quiet: bool) -> Result<Vec<Loaded>> {
    if paths.iter().filter(|p| *p == "-").count() > 1 {
        return Err(InputError("standard input (-) can be read only once".into()).into());
    }
    let show =
        !quiet && std::io::stderr().is_terminal() && std::env::var_os("NO_PROGRESS").is_none();
    let started = Instant::now();
    if show {
        eprint!("\r\x1b[2Kloading {} snapshots…", paths.len());
        let _ = std::io::stderr().flush();
    }
    let loaded = std::thread::scope(|s| {
        let handles: Vec<_> = paths
            .iter()
            .map(|p| s.spawn(move || load(p, true)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("loader thread panicked"))
            .collect::<Result<Vec<_>>>()
    });
    if show {
        eprintln!(
            "\r\x1b[2Kloaded {} snapshots in {:.1}s",
            paths.len(),
            started.elapsed().as_secs_f64()
        );
    }
    loaded
}
