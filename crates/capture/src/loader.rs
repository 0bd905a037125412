//! The load phases: the built-in HTTP load, the user's `--drive` command, or a person
//! pressing Enter. Each phase runs beside the main thread, which keeps watching for Ctrl-C
//! and for the program's end.

use std::io::BufRead;
use std::os::unix::process::ExitStatusExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use heaphound_load::{CommandOutcome, LoadProgress, LoadSpec, LoadStats};
use heaphound_model::load::{
    AbandonedPhase, CommandLoad, CommandPhase, HttpLoad as DocHttp, HttpPhase, LatencyMs,
    LatencyUs, LoadDoc, LoadPhase, ManualLoad, ManualPhase, PhaseOutcome,
};

use crate::{Observer, Stop};

/// How traffic is made.
pub enum Driver {
    Http(HttpLoad),
    Command(String),
    /// A person drives the traffic and presses Enter.
    Manual(Stdin),
}

pub struct HttpLoad {
    /// The full URL, known once the program is ready.
    pub url: String,
    pub connections: usize,
    pub requests: Option<u64>,
    pub duration: Option<Duration>,
    pub warmup: u64,
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub allow_remote: bool,
}

/// One phase to run: the warm-up or load k.
pub struct Phase {
    /// `warmup`, `load-1`, … (in files).
    pub key: String,
    /// `warm-up`, `load 1/2` (on screen).
    pub title: String,
    pub warmup: bool,
    /// For manual phases: what to ask of the person.
    pub prompt: String,
}

pub enum Outcome {
    Http(LoadStats),
    Command(CommandOutcome),
    Manual(Duration),
    /// Cut short before it could report (Ctrl-C, the program ended).
    Abandoned(Duration),
}

pub struct PhaseRecord {
    pub key: String,
    pub outcome: Outcome,
}

/// Lines typed on stdin, read by a thread so that waiting for Enter never blocks Ctrl-C.
pub struct Stdin {
    rx: mpsc::Receiver<Option<String>>,
}

impl Stdin {
    pub fn start() -> Stdin {
        let (tx, rx) = mpsc::channel();
        let _ = std::thread::Builder::new()
            .name("stdin".into())
            .spawn(move || {
                let stdin = std::io::stdin();
                let mut lock = stdin.lock();
                loop {
                    let mut line = String::new();
                    match lock.read_line(&mut line) {
                        Ok(0) | Err(_) => {
                            let _ = tx.send(None);
                            break;
                        }
                        Ok(_) => {
                            if tx.send(Some(line)).is_err() {
                                break;
                            }
                        }
                    }
                }
            });
        Stdin { rx }
    }
}

/// Checked about every 50 ms while a phase runs: `Some` stops it. It may take that long
/// itself (pumping inspector events).
pub type Tick<'a> = &'a mut dyn FnMut() -> Option<Stop>;

impl Driver {
    pub fn run(&self, phase: &Phase, ui: &dyn Observer, tick: Tick) -> (PhaseRecord, Option<Stop>) {
        let start = Instant::now();
        let (outcome, stop) = match self {
            Driver::Http(h) => http_phase(h, phase, ui, tick),
            Driver::Command(cmd) => command_phase(cmd, phase, ui, tick),
            Driver::Manual(stdin) => manual_phase(stdin, phase, ui, tick),
        };
        let outcome = outcome.unwrap_or(Outcome::Abandoned(start.elapsed()));
        (
            PhaseRecord {
                key: phase.key.clone(),
                outcome,
            },
            stop,
        )
    }
}

/// Runs `job` on a thread; returns its result, or `None` when `tick` stopped the wait first
/// (after `grace` for the job to end on its own).
fn watch<T: Send + 'static>(
    job: impl FnOnce() -> T + Send + 'static,
    tick: Tick,
    mut on_wait: impl FnMut(),
    grace: impl Fn(&Stop) -> Duration,
) -> (Option<T>, Option<Stop>) {
    let handle = match std::thread::Builder::new().name("load".into()).spawn(job) {
        Ok(h) => h,
        Err(e) => {
            return (
                None,
                Some(Stop::Failed(format!("cannot start a thread: {e}"))),
            )
        }
    };
    let mut stop = None;
    let mut deadline = None;
    loop {
        if handle.is_finished() {
            return (handle.join().ok(), stop);
        }
        if let Some(d) = deadline {
            if Instant::now() >= d {
                // Left behind: it ends on its own, or with the process.
                return (None, stop);
            }
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        if let Some(s) = tick() {
            deadline = Some(Instant::now() + grace(&s));
            stop = Some(s);
            continue;
        }
        on_wait();
    }
}

fn http_phase(
    h: &HttpLoad,
    phase: &Phase,
    ui: &dyn Observer,
    tick: Tick,
) -> (Option<Outcome>, Option<Stop>) {
    let mut spec = LoadSpec::new(h.url.clone());
    spec.connections = h.connections;
    if phase.warmup {
        spec.requests = Some(h.warmup);
    } else {
        spec.requests = h.requests;
        spec.duration = h.duration;
    }
    spec.method = h.method.clone();
    spec.headers = h.headers.clone();
    spec.body = h.body.clone();
    spec.allow_remote = h.allow_remote;
    let progress: Arc<Mutex<Option<LoadProgress>>> = Arc::default();
    let shared = Arc::clone(&progress);
    let (result, stop) = watch(
        move || {
            heaphound_load::run(&spec, &mut |p| {
                if let Ok(mut slot) = shared.lock() {
                    *slot = Some(p);
                }
            })
        },
        tick,
        || {
            if let Some(p) = progress.lock().ok().and_then(|p| *p) {
                let total = p.total.map(|t| format!("/{t}")).unwrap_or_default();
                ui.status(&format!(
                    "{}: {}{total} requests, {} errors, {:.1}s",
                    phase.title,
                    p.requests,
                    p.errors,
                    p.elapsed.as_secs_f64()
                ));
            }
        },
        // When the program ended, the load stops within about 2 s by itself (no answers):
        // its figures are worth that wait. Ctrl-C does not wait.
        |s| match s {
            Stop::Ended => Duration::from_secs(4),
            _ => Duration::ZERO,
        },
    );
    match result {
        Some(Ok(stats)) => {
            ui.step(&format!(
                "{}: {} requests ({} errors, {} non-2xx) in {:.1}s, {:.0} req/s, p50 {}, p99 {}",
                phase.title,
                stats.requests,
                stats.errors,
                stats.non_2xx,
                stats.elapsed.as_secs_f64(),
                stats.requests_per_sec,
                ms(stats.latency.p50_us),
                ms(stats.latency.p99_us)
            ));
            let early = stats.stopped_early.clone();
            let stop = stop.or_else(|| {
                early.map(|why| Stop::Failed(format!("{} stopped early: {why}", phase.title)))
            });
            (Some(Outcome::Http(stats)), stop)
        }
        Some(Err(e)) => (
            None,
            stop.or_else(|| Some(Stop::Failed(format!("{}: {e}", phase.title)))),
        ),
        None => (None, stop),
    }
}

fn command_phase(
    cmd: &str,
    phase: &Phase,
    ui: &dyn Observer,
    tick: Tick,
) -> (Option<Outcome>, Option<Stop>) {
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&cancel);
    let cmdline = cmd.to_string();
    let started = Instant::now();
    ui.status(&format!("{}: running {cmd}", phase.title));
    let mut stop_seen = None;
    let mut guarded_tick = || {
        let s = tick();
        if s.is_some() {
            // The command runs in its own process group: stop it now.
            cancel.store(true, Ordering::Relaxed);
        }
        s
    };
    let (result, stop) = watch(
        move || heaphound_load::run_command_until(&cmdline, None, &flag),
        &mut guarded_tick,
        || {
            ui.status(&format!(
                "{}: running {cmd} ({:.0}s)",
                phase.title,
                started.elapsed().as_secs_f64()
            ))
        },
        // Stopping the command takes up to 2 s (SIGTERM, then SIGKILL).
        |_| Duration::from_secs(3),
    );
    if stop.is_some() {
        stop_seen = stop;
    }
    match result {
        Some(Ok(outcome)) => {
            ui.step(&format!(
                "{}: `{cmd}` {} in {:.1}s",
                phase.title,
                status_text(&outcome.status),
                outcome.elapsed.as_secs_f64()
            ));
            if !outcome.success() && stop_seen.is_none() {
                ui.warn(&format!(
                    "the --drive command {} in {} (going on)",
                    status_text(&outcome.status),
                    phase.title
                ));
            }
            (Some(Outcome::Command(outcome)), stop_seen)
        }
        Some(Err(e)) => (
            None,
            stop_seen.or_else(|| Some(Stop::Failed(format!("{}: {e}", phase.title)))),
        ),
        None => (None, stop_seen),
    }
}

fn manual_phase(
    stdin: &Stdin,
    phase: &Phase,
    ui: &dyn Observer,
    tick: Tick,
) -> (Option<Outcome>, Option<Stop>) {
    let started = Instant::now();
    ui.clear();
    ui.line(&phase.prompt);
    loop {
        match stdin.rx.recv_timeout(Duration::from_millis(50)) {
            Ok(Some(_)) => return (Some(Outcome::Manual(started.elapsed())), None),
            Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                return (
                    None,
                    Some(Stop::Failed(format!(
                        "standard input closed while waiting for Enter ({})",
                        phase.title
                    ))),
                )
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if let Some(s) = tick() {
            return (None, Some(s));
        }
    }
}

pub fn ms(us: u64) -> String {
    format!("{:.1} ms", us as f64 / 1000.0)
}

/// "exit status 3", "signal 9 (SIGKILL)".
pub fn status_text(s: &std::process::ExitStatus) -> String {
    if let Some(code) = s.code() {
        return format!("exited with status {code}");
    }
    match s.signal() {
        Some(sig) => format!("was killed by signal {sig}{}", signal_name(sig)),
        None => format!("ended ({s})"),
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGHUP => " (SIGHUP)",
        libc::SIGINT => " (SIGINT)",
        libc::SIGQUIT => " (SIGQUIT)",
        libc::SIGILL => " (SIGILL)",
        libc::SIGABRT => " (SIGABRT)",
        libc::SIGBUS => " (SIGBUS)",
        libc::SIGFPE => " (SIGFPE)",
        libc::SIGKILL => " (SIGKILL)",
        libc::SIGSEGV => " (SIGSEGV)",
        libc::SIGPIPE => " (SIGPIPE)",
        libc::SIGTERM => " (SIGTERM)",
        _ => "",
    }
}

/// Microseconds as milliseconds, rounded to the microsecond.
fn us_to_ms(us: u64) -> f64 {
    (us as f64 / 1000.0 * 1000.0).round() / 1000.0
}

fn latency_ms(stats: &LoadStats) -> LatencyMs {
    LatencyMs {
        p50: us_to_ms(stats.latency.p50_us),
        p90: us_to_ms(stats.latency.p90_us),
        p99: us_to_ms(stats.latency.p99_us),
        max: us_to_ms(stats.latency.max_us),
    }
}

fn phase_doc(r: &PhaseRecord) -> LoadPhase {
    let outcome = match &r.outcome {
        Outcome::Http(s) => PhaseOutcome::Http(HttpPhase {
            requests: s.requests,
            ok: s.ok,
            errors: s.errors,
            non_2xx: s.non_2xx,
            latency_ms: latency_ms(s),
            rps: (s.requests_per_sec * 10.0).round() / 10.0,
            elapsed_ms: s.elapsed.as_millis() as u64,
            status_counts: s
                .status_counts
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            error_counts: s.error_counts.clone(),
            bytes: s.bytes,
            stopped_early: s.stopped_early.clone(),
            latency_us: LatencyUs {
                p50: s.latency.p50_us,
                p90: s.latency.p90_us,
                p99: s.latency.p99_us,
                max: s.latency.max_us,
                mean: s.latency.mean_us,
            },
        }),
        Outcome::Command(c) => PhaseOutcome::Command(CommandPhase {
            exit_status: c.status.code(),
            signal: c.status.signal(),
            success: c.success(),
            stopped: c.timed_out,
            elapsed_ms: c.elapsed.as_millis() as u64,
        }),
        Outcome::Manual(d) => PhaseOutcome::Manual(ManualPhase {
            waited_ms: d.as_millis() as u64,
        }),
        Outcome::Abandoned(d) => PhaseOutcome::Abandoned(AbandonedPhase {
            abandoned: true,
            elapsed_ms: d.as_millis() as u64,
        }),
    };
    LoadPhase {
        phase: r.key.clone(),
        outcome,
    }
}

/// The `load` document (also `load.json`): totals and each phase.
pub fn to_doc(driver: &Driver, records: &[PhaseRecord]) -> LoadDoc {
    let phases: Vec<LoadPhase> = records.iter().map(phase_doc).collect();
    match driver {
        Driver::Http(h) => {
            let stats: Vec<&LoadStats> = records
                .iter()
                .filter_map(|r| match &r.outcome {
                    Outcome::Http(s) => Some(s),
                    _ => None,
                })
                .collect();
            let sum = |f: &dyn Fn(&LoadStats) -> u64| stats.iter().map(|s| f(s)).sum::<u64>();
            // Percentiles over all phases: each phase's weighted by its answered requests
            // (the load driver reports percentiles, not its samples); max is exact.
            let answered = |s: &LoadStats| s.ok + s.non_2xx;
            let weight: u64 = sum(&answered);
            let weighted = |f: &dyn Fn(&LoadStats) -> u64| {
                if weight == 0 {
                    return 0.0;
                }
                let total: f64 = stats.iter().map(|s| f(s) as f64 * answered(s) as f64).sum();
                (total / weight as f64 / 1000.0 * 1000.0).round() / 1000.0
            };
            let max = stats.iter().map(|s| s.latency.max_us).max().unwrap_or(0);
            LoadDoc::Http(DocHttp {
                url: h.url.clone(),
                method: h.method.to_ascii_uppercase(),
                connections: h.connections as u64,
                requests_per_phase: h.requests,
                duration_per_phase_ms: h.duration.map(|d| d.as_millis() as u64),
                warmup_requests: h.warmup,
                requests: sum(&|s| s.requests),
                ok: sum(&|s| s.ok),
                errors: sum(&|s| s.errors),
                non_2xx: sum(&|s| s.non_2xx),
                latency_ms: LatencyMs {
                    p50: weighted(&|s| s.latency.p50_us),
                    p90: weighted(&|s| s.latency.p90_us),
                    p99: weighted(&|s| s.latency.p99_us),
                    max: us_to_ms(max),
                },
                phases,
            })
        }
        Driver::Command(cmd) => LoadDoc::Command(CommandLoad {
            command: cmd.clone(),
            requests: None,
            errors: None,
            latency_ms: None,
            phases,
        }),
        Driver::Manual(_) => LoadDoc::Manual(ManualLoad {
            requests: None,
            errors: None,
            latency_ms: None,
            phases,
        }),
    }
}
