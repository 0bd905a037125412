//! The options `hunt` and `attach` share, and the plan they resolve to.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use heaphound_capture::duration::parse_duration;
use heaphound_capture::headroom::{Guard, RoomOverride};
use heaphound_capture::listen::LoadUrl;
use heaphound_capture::run_lock::RunLock;
use heaphound_capture::{CapturePlan, LoadPlan};
use heaphound_load::LoadError;

use crate::load::InputError;

#[derive(clap::Args, Debug, Clone)]
pub struct CaptureArgs {
    /// Built-in HTTP/1.1 load (keep-alive) sent to URL in each load phase. The port may be
    /// left out (`--load /items?user=1`): heaphound then uses the port the program listens
    /// on. Load goes only to loopback addresses unless --allow-remote-load.
    #[arg(long, value_name = "URL", help_heading = "Load")]
    pub load: Option<String>,
    /// Concurrent connections for --load.
    #[arg(
        short = 'c',
        long,
        default_value_t = 8,
        value_name = "N",
        help_heading = "Load"
    )]
    pub connections: usize,
    /// Requests per load phase [default: 1000, unless --duration is given].
    #[arg(short = 'n', long, value_name = "N", help_heading = "Load")]
    pub requests: Option<u64>,
    /// Length of each load phase (500ms, 10s, 1m); with -n too, whichever ends first.
    #[arg(short = 'd', long, value_parser = parse_duration, value_name = "DURATION", help_heading = "Load")]
    pub duration: Option<Duration>,
    /// Warm-up requests before the first snapshot [default: -n / 3, at least 100].
    #[arg(long, value_name = "N", help_heading = "Load")]
    pub warmup: Option<u64>,
    /// HTTP method for --load.
    #[arg(long, default_value = "GET", help_heading = "Load")]
    pub method: String,
    /// Request body for --load (`@FILE` reads it from a file).
    #[arg(long, help_heading = "Load")]
    pub body: Option<String>,
    /// A request header for --load, `'Name: value'`; repeatable.
    #[arg(
        long = "header",
        short = 'H',
        value_name = "'NAME: VALUE'",
        help_heading = "Load"
    )]
    pub headers: Vec<String>,
    /// Let --load send traffic to addresses other than loopback (by default load only ever
    /// goes to this machine).
    #[arg(long, help_heading = "Load")]
    pub allow_remote_load: bool,
    /// Your own load instead: a shell command run once per load phase (warm-up included).
    /// `{port}` in it becomes the port the program listens on (and makes heaphound wait for
    /// it). With --load too, the URL only says when the program is ready.
    #[arg(long, value_name = "CMD", help_heading = "Load")]
    pub drive: Option<String>,

    /// Heap snapshots to take, with a load phase between each two (at least 2; 3 tell
    /// steady growth from a one-off).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(2..=100), help_heading = "Capture")]
    pub snapshots: u32,
    /// How often memory is sampled (process.memoryUsage() and RSS).
    #[arg(long, default_value = "500ms", value_parser = parse_duration, value_name = "DURATION", help_heading = "Capture")]
    pub interval: Duration,
    /// How long the program may take to accept connections (or to listen, when the port is
    /// found from /proc).
    #[arg(long, default_value = "20s", value_parser = parse_duration, value_name = "DURATION", help_heading = "Capture")]
    pub ready_timeout: Duration,
    /// Record allocation stacks from the first snapshot on, so suspects point at the line
    /// that allocated the leaking objects (slows the program down while it runs).
    #[arg(long, help_heading = "Capture")]
    pub allocation_sites: bool,
    /// The run folder for snapshots, memory.jsonl, load.json and report.json
    /// [default: ./heaphound-runs/<UTC time>].
    #[arg(long, short = 'o', value_name = "DIR", help_heading = "Capture")]
    pub out: Option<PathBuf>,
    /// Take each snapshot even when the program's memory headroom looks too small for it
    /// (a snapshot needs about the heap's used size again, beside the heap).
    // `--force-snapshot` here, not `--force`: `attach --force` already means "signal a
    // binary that does not look like Node". `hunt`, which has no other --force, names
    // this one `--force` (see its Args).
    #[arg(long, help_heading = "Capture")]
    pub force_snapshot: bool,

    /// Show at most N suspects.
    #[arg(long, default_value_t = 5, help_heading = "Report")]
    pub top: usize,
    /// Show weaker suspects, whole retainer paths and allocation stacks.
    #[arg(long, short, help_heading = "Report")]
    pub verbose: bool,
    /// Print one JSON document instead of the report.
    #[arg(long, help_heading = "Report")]
    pub json: bool,
    #[command(flatten)]
    pub html: crate::html_out::HtmlArgs,
}

/// What the capture does, and how its result is shown.
pub struct Plan {
    pub capture: CapturePlan,
    pub top: usize,
    pub verbose: bool,
    pub json: bool,
    pub html: crate::html_out::HtmlArgs,
}

fn usage(msg: String) -> anyhow::Error {
    InputError(msg).into()
}

/// The testing override of the memory a target can get (bytes, or a size such as `64MB`),
/// in place of its cgroup's room and the machine's MemAvailable.
pub const MEMORY_LIMIT_VAR: &str = "HEAPHOUND_MEMORY_LIMIT";

/// How a snapshot that does not fit the target's memory is decided: `force` (set by
/// `force_flag`) takes it anyway; `HEAPHOUND_MEMORY_LIMIT` replaces the room measured.
pub fn headroom_guard(force: bool, force_flag: &'static str) -> Result<Guard> {
    let mut guard = Guard::new(force, force_flag);
    if let Some(v) = std::env::var_os(MEMORY_LIMIT_VAR) {
        let text = v.to_string_lossy();
        let bytes = crate::gate::judge::parse_size(&text)
            .map_err(|e| usage(format!("{MEMORY_LIMIT_VAR}: {e}")))?;
        guard.room_override = Some(RoomOverride {
            bytes,
            from: format!("{MEMORY_LIMIT_VAR}={text}"),
        });
    }
    Ok(guard)
}

impl CaptureArgs {
    /// Checks the options (nothing is created yet); `force_flag` is what the command calls
    /// `--force-snapshot`, for messages.
    pub fn plan(&self, force_flag: &'static str) -> Result<Plan> {
        if self.interval.is_zero() {
            return Err(usage("--interval must be above zero".into()));
        }
        if self.connections == 0 {
            return Err(usage("--connections must be at least 1".into()));
        }
        let load = match (&self.load, &self.drive) {
            (Some(url), drive) => {
                let url = LoadUrl::parse(url).map_err(usage)?;
                // The loopback rule, checked before anything starts (the port does not
                // matter for it).
                url.resolve(url.port.unwrap_or(80), self.allow_remote_load)
                    .map_err(|e| match e {
                        LoadError::RemoteRefused { .. } => {
                            usage(format!("{e}; pass --allow-remote-load to allow it"))
                        }
                        e => usage(e.to_string()),
                    })?;
                let requests = match (self.requests, self.duration) {
                    (Some(0), _) => return Err(usage("--requests must be at least 1".into())),
                    (None, None) => Some(1000),
                    (n, _) => n,
                };
                if self.duration.is_some_and(|d| d.is_zero()) {
                    return Err(usage("--duration must be above zero".into()));
                }
                let warmup = self.warmup.unwrap_or_else(|| {
                    let n = requests.unwrap_or(1000);
                    ((n as f64 / 3.0).round() as u64).max(100)
                });
                let mut headers = Vec::new();
                for h in &self.headers {
                    let (k, v) = h
                        .split_once(':')
                        .ok_or_else(|| usage(format!("--header {h:?}: expected 'Name: value'")))?;
                    headers.push((k.trim().to_string(), v.trim().to_string()));
                }
                let body = match self.body.as_deref() {
                    Some(b) if b.starts_with('@') => {
                        Some(std::fs::read(&b[1..]).map_err(|e| {
                            usage(format!("--body {b}: cannot read {}: {e}", &b[1..]))
                        })?)
                    }
                    Some(b) => Some(b.as_bytes().to_vec()),
                    None => None,
                };
                LoadPlan::Http {
                    url,
                    connections: self.connections,
                    requests,
                    duration: self.duration,
                    warmup,
                    method: self.method.clone(),
                    headers,
                    body,
                    allow_remote: self.allow_remote_load,
                    drive: drive.clone(),
                }
            }
            (None, Some(cmd)) => {
                if cmd.trim().is_empty() {
                    return Err(usage("--drive needs a command".into()));
                }
                LoadPlan::Command(cmd.clone())
            }
            (None, None) => {
                if !std::io::stdin().is_terminal() {
                    return Err(usage(
                        "no load given, and standard input is not a terminal to wait for Enter on: \
                         pass --load URL (built-in HTTP load, e.g. --load /items) or --drive CMD \
                         (your own load command, run once per phase)"
                            .into(),
                    ));
                }
                LoadPlan::Manual
            }
        };
        let run_dir = run_dir(self.out.as_deref(), self.snapshots)?;
        Ok(Plan {
            capture: CapturePlan {
                snapshots: self.snapshots,
                interval: self.interval,
                ready_timeout: self.ready_timeout,
                allocation_sites: self.allocation_sites,
                run_dir,
                load,
                headroom: headroom_guard(self.force_snapshot, force_flag)?,
            },
            top: self.top,
            verbose: self.verbose,
            json: self.json,
            html: self.html.clone(),
        })
    }
}

/// The run folder: `--out`, or a fresh one under `./heaphound-runs/`.
pub fn run_dir(out: Option<&Path>, snapshots: u32) -> Result<PathBuf> {
    heaphound_capture::run_dir::run_dir(out, snapshots).map_err(|e| usage(e.to_string()))
}

impl Plan {
    /// Creates the run folder and claims it for this run until the lock is dropped.
    pub fn create_run_dir(&self, ui: &super::ui::Ui) -> Result<RunLock> {
        let lock = heaphound_capture::run_dir::create(&self.capture.run_dir)
            .map_err(|e| usage(e.to_string()))?;
        if let Some(pid) = lock.took_over {
            ui.note(&format!(
                "{}: took the run folder over from PID {pid}, which ended without releasing it",
                self.capture.run_dir.display()
            ));
        }
        Ok(lock)
    }
}
