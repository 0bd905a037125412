//! `watch`: a process's memory over time, through its inspector (heap figures) or /proc
//! (RSS only), sampled until a duration is up, the process ends or a stopping signal
//! (Ctrl-C, SIGTERM, SIGHUP) comes.

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use heaphound_inspector::{
    discover_timeout, ConnectOptions, InspectorError, MemoryUsage, Session, SpawnOptions, Spawned,
};

use crate::program::OutputLines;
use heaphound_analysis::trend::Point;
use heaphound_model::watch::{HeapSummary, SeriesSummary};

use crate::sampler::{first_last_min_max as range, Pace, Sample, SharedSeries};
use crate::{alive, cmdline, listen, signals, CaptureError, Observer};

/// What to watch: a PID or ws:// URL, or a command to start.
pub struct WatchTarget {
    pub target: Option<String>,
    pub command: Vec<OsString>,
    /// With a PID whose inspector is closed: open it (SIGUSR1).
    pub inspect: bool,
    /// With a PID: the port its inspector opens on.
    pub port: u16,
    /// With `inspect`: signal the PID even when its binary does not look like Node.
    pub any_binary: bool,
}

/// How often and how long.
pub struct WatchPlan {
    pub interval: Duration,
    pub duration: Duration,
    /// A full GC before each sample.
    pub gc: bool,
    /// Snapshots when memory crosses a line.
    pub snapshots: Option<crate::watch_snapshots::Trigger>,
}

/// How the process is reached.
pub enum Target {
    Spawned(Spawned),
    /// Through the inspector of a process we did not start.
    Inspector {
        /// Through a PID (not a ws:// URL): closed again if heaphound opened it.
        opened: Option<crate::OpenedInspector>,
    },
    /// /proc only.
    Proc,
}

pub struct Watched {
    pub pid: u32,
    pub command: String,
    pub target: Target,
    pub ws_url: Option<String>,
}

/// What one sample showed, for the live line.
pub enum Live {
    Heap(MemoryUsage),
    Rss {
        rss: u64,
        anon: Option<u64>,
    },
    /// The call timed out: no figures this time.
    Nothing,
}

/// Told after every sample.
pub trait WatchObserver {
    fn sample(&self, elapsed: Duration, live: &Live, samples: usize);
    /// Where notes and snapshot progress go.
    fn observer(&self) -> &dyn Observer;
}

/// Why watching ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stopped {
    Interrupted(signals::Signal),
    DurationReached,
    Exited,
    InspectorFailed(String),
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stopped::Interrupted(sig) => f.write_str(&sig.cause()),
            Stopped::DurationReached => f.write_str("duration reached"),
            Stopped::Exited => f.write_str("the process exited"),
            Stopped::InspectorFailed(e) => write!(f, "the inspector failed: {e}"),
        }
    }
}

impl Watched {
    pub fn is_proc(&self) -> bool {
        matches!(self.target, Target::Proc)
    }

    pub fn is_spawned(&self) -> bool {
        matches!(self.target, Target::Spawned(_))
    }

    /// Closes the inspector heaphound opened (SIGUSR1), once the watch's sessions are
    /// closed; see [`crate::OpenedInspector::close`].
    pub fn close_inspector(&mut self) -> Option<Result<String, String>> {
        match &mut self.target {
            Target::Inspector {
                opened: Some(o), ..
            } => o.close(),
            _ => None,
        }
    }

    /// A session on the process's inspector, if it is watched through one.
    pub fn connect(&self) -> Result<Option<Session>, CaptureError> {
        match &self.ws_url {
            Some(url) => Session::connect(url, &ConnectOptions::default())
                .map(Some)
                .map_err(|e| {
                    CaptureError::Usage(format!("watch: the inspector of PID {}: {e}", self.pid))
                }),
            None => Ok(None),
        }
    }

    fn gone(&mut self) -> bool {
        match &mut self.target {
            Target::Spawned(node) => matches!(node.try_exit_status(), Ok(Some(_))),
            _ => !alive(self.pid),
        }
    }

    /// Stops a program watch started; says how the process ended (or that it runs on).
    pub fn finish(&mut self) -> String {
        let w = self;
        match &mut w.target {
            Target::Spawned(node) => {
                if let Ok(Some(status)) = node.try_exit_status() {
                    return crate::loader::status_text(&status);
                }
                match crate::program::stop(node) {
                    Ok(Some(status)) => match status.signal() {
                        Some(libc::SIGTERM) => "stopped by heaphound (SIGTERM)".into(),
                        Some(libc::SIGKILL) if signals::hurried() => {
                            "killed by heaphound (SIGKILL: a second signal asked to hurry)".into()
                        }
                        Some(libc::SIGKILL) => "killed by heaphound (SIGKILL after SIGTERM)".into(),
                        _ => crate::loader::status_text(&status),
                    },
                    _ => "could not be stopped".into(),
                }
            }
            _ if alive(w.pid) => "still running".into(),
            _ => "exited".into(),
        }
    }
}

/// Reaches the process to watch: `target` (a PID or a ws:// URL) or `command` to start.
pub fn open_target(
    args: &WatchTarget,
    ui: &dyn Observer,
    output: OutputLines,
) -> Result<Watched, CaptureError> {
    match (&args.target, args.command.is_empty()) {
        (Some(_), false) => Err(CaptureError::Usage(
            "watch: give a PID, a ws:// URL or a command after --, not both".into(),
        )),
        (None, true) => Err(CaptureError::Usage(
            "watch: give a PID, a ws:// URL, or the program to run after -- (e.g. `heaphound watch -- node app.js`)".into(),
        )),
        (None, false) => spawn(&args.command, output),
        (Some(t), true) if t.starts_with("ws://") => {
            let mut s = Session::connect(t, &ConnectOptions::default())
                .map_err(|e| CaptureError::Usage(format!("watch: {e}")))?;
            let pid = s
                .evaluate("process.pid")
                .ok()
                .and_then(|v| v.as_u64())
                .and_then(|p| u32::try_from(p).ok())
                .unwrap_or(0);
            s.close();
            Ok(Watched {
                pid,
                command: cmdline(pid),
                target: Target::Inspector {
                    opened: None,
                },
                ws_url: Some(t.clone()),
            })
        }
        (Some(t), true) => {
            let pid: u32 = t
                .parse()
                .map_err(|_| CaptureError::Usage(format!("'{t}' is neither a PID nor a ws:// inspector URL")))?;
            if !alive(pid) {
                return Err(CaptureError::Usage(format!("watch: no process with PID {pid}")));
            }
            let command = cmdline(pid);
            // An inspector that is already open is used as it is: nothing changes for the
            // process.
            let open = listen::listeners(pid, 0)
                .iter()
                .any(|l| l.addr.port() == args.port)
                .then(|| discover_timeout("127.0.0.1", args.port, Duration::from_secs(2)).ok())
                .flatten()
                .and_then(|ts| ts.into_iter().find_map(|t| t.web_socket_debugger_url));
            if let Some(url) = open {
                return Ok(Watched {
                    pid,
                    command,
                    target: Target::Inspector {
                        opened: None,
                    },
                    ws_url: Some(url),
                });
            }
            if !args.inspect {
                return Ok(Watched {
                    pid,
                    command,
                    target: Target::Proc,
                    ws_url: None,
                });
            }
            ui.status(&format!("opening the inspector of PID {pid}…"));
            let opened =
                crate::open_inspector("watch", pid, args.port, args.any_binary, "--force")?;
            Ok(Watched {
                pid,
                command,
                ws_url: Some(opened.url.clone()),
                target: Target::Inspector {
                    opened: Some(opened),
                },
            })
        }
    }
}

fn spawn(command: &[OsString], output: OutputLines) -> Result<Watched, CaptureError> {
    let (node, command) = crate::program::spawn(
        command.to_vec(),
        SpawnOptions::default().startup_timeout,
        output,
    )?;
    Ok(Watched {
        pid: node.pid(),
        ws_url: Some(node.ws_url().to_string()),
        command,
        target: Target::Spawned(node),
    })
}

/// Samples until the duration is up, the process ends or a stopping signal; says which. RSS-only
/// samples (`t_ms`, rss, anonymous rss) go to `rss_only` as well as to the series file.
pub fn sample_loop(
    args: &WatchPlan,
    ui: &dyn WatchObserver,
    w: &mut Watched,
    mut session: Option<Session>,
    series: &SharedSeries,
    rss_only: &mut Vec<(u64, u64, Option<u64>)>,
    started: Instant,
) -> Stopped {
    let mut pace = Pace::new(args.interval);
    // Nothing is gained by waiting for a sample (or a forced GC) in flight.
    let _cut = session.as_ref().and_then(|s| signals::cut_on_signal(1, s));
    let ended = loop {
        if let Some(sig) = signals::interrupted() {
            break Stopped::Interrupted(sig);
        }
        if started.elapsed() >= args.duration {
            break Stopped::DurationReached;
        }
        if w.gone() {
            break Stopped::Exited;
        }
        let live = match session.as_mut() {
            Some(s) => {
                let m = (if args.gc { s.collect_garbage() } else { Ok(()) })
                    .and_then(|_| s.memory_usage());
                match m {
                    Ok(m) => {
                        if let Ok(mut sr) = series.lock() {
                            sr.record(&m, None);
                        }
                        Live::Heap(m)
                    }
                    Err(InspectorError::Timeout { .. }) => Live::Nothing,
                    Err(_) if signals::interrupted().is_some() => {
                        continue;
                    }
                    Err(e) => {
                        // A program on its way out loses its JS context first, then waits
                        // for the debugger to leave before it exits: let it go.
                        if let Some(s) = session.take() {
                            s.close();
                        }
                        let until = Instant::now() + Duration::from_secs(2);
                        while Instant::now() < until && !w.gone() {
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        if w.gone() {
                            break Stopped::Exited;
                        }
                        break Stopped::InspectorFailed(e.to_string());
                    }
                }
            }
            None => match series.lock().ok().and_then(|mut s| s.record_rss()) {
                Some((t_ms, rss, anon)) => {
                    rss_only.push((t_ms, rss, anon));
                    Live::Rss { rss, anon }
                }
                None => break Stopped::Exited,
            },
        };
        let n = series
            .lock()
            .map(|s| s.samples().len())
            .unwrap_or(0)
            .max(rss_only.len());
        ui.sample(started.elapsed(), &live, n);
        if let Some(t) = &args.snapshots {
            t.after_sample(
                &live,
                started.elapsed().as_millis() as u64,
                w,
                ui.observer(),
            );
        }
        pace.wait(&|| signals::interrupted().is_some());
    };
    if let Some(s) = session {
        s.close();
    }
    ended
}

/// The first, last, lowest and highest of each measure in a watched series; `rss_only` when
/// the process was watched through /proc.
pub fn series_summary(samples: &[Sample], rss_only: &[Point]) -> SeriesSummary {
    if samples.is_empty() {
        return SeriesSummary {
            rss: range(rss_only.iter().map(|p| p.v as u64)),
            heap: None,
        };
    }
    SeriesSummary {
        rss: range(samples.iter().map(|s| s.rss)),
        heap: Some(HeapSummary {
            rss_anon: range(samples.iter().filter_map(|s| s.rss_anon)),
            heap_total: range(samples.iter().map(|s| s.heap_total)),
            heap_used: range(samples.iter().map(|s| s.heap_used)),
            external: range(samples.iter().map(|s| s.external)),
            array_buffers: range(samples.iter().map(|s| s.array_buffers)),
        }),
    }
}
