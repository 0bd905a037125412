//! `heaphound watch PID|ws://URL|-- node app.js`: sample a process's memory over time and
//! judge the series: leak, plateau, periodic spikes, off-heap growth or stable.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Result;
use heaphound_analysis::trend::{Point, Verdict};
use heaphound_capture::watch::{
    self, Live, Stopped, WatchObserver, WatchPlan, WatchTarget, Watched,
};
use heaphound_model::trend::VerdictDoc;
use heaphound_model::watch::{SeriesSummary, WatchDoc, WatchedProcess};
use heaphound_model::SCHEMA_VERSION;
use heaphound_report::human_size;
use heaphound_report::trend::verdict_text;

use super::{emit, emit_json, gclog::exit_code, Ctx};
use crate::capture::args::headroom_guard;
use crate::capture::duration::{parse_duration, show};
use crate::capture::sampler::Series;
use crate::capture::signals;
use crate::capture::trend::{self, Points};
use crate::capture::ui::Ui;
use crate::load::InputError;
use heaphound_capture::watch_snapshots::{heap_limit, Line, Trigger, Via};

#[derive(clap::Args)]
#[command(after_help = "\
Examples:
  heaphound watch 4242 --duration 10m          # RSS from /proc only: no inspector opened
  heaphound watch 4242 --inspect --gc          # heap figures too (opens the inspector)
  heaphound watch ws://127.0.0.1:9229/3f0c…    # an inspector that is already open
  heaphound watch --interval 200ms -- node server.js 3000

A PID whose inspector is closed is watched through /proc/PID/status (RSS only) unless
--inspect opens it with SIGUSR1 (Node keeps it open until the process exits). Without --gc
the heap floor is the lower envelope of the samples; --gc forces a full GC before each
sample, which makes every sample a true post-GC floor but costs the program a pause.
Watching ends at --duration, when the process exits, or on Ctrl-C, SIGTERM or SIGHUP; a
program started by watch is then stopped. Exit codes: 0 no leak, 1 leak, 2 usage or input
error, 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP (the series so far is still judged).")]
pub struct Args {
    /// A Node process: its PID or its inspector's ws:// URL (or give a command after --).
    pub target: Option<String>,
    /// Time between samples (e.g. 500ms, 1s).
    #[arg(long, default_value = "1s", value_parser = parse_duration, value_name = "DURATION")]
    pub interval: Duration,
    /// How long to watch (e.g. 25s, 10m).
    #[arg(long, default_value = "10m", value_parser = parse_duration, value_name = "DURATION")]
    pub duration: Duration,
    /// Force a full GC before each sample (needs the inspector).
    #[arg(long)]
    pub gc: bool,
    /// With a PID whose inspector is closed: open it (SIGUSR1) for heap figures.
    #[arg(long)]
    pub inspect: bool,
    /// With a PID: the port its inspector opens on.
    #[arg(long, default_value_t = 9229)]
    pub port: u16,
    /// With --inspect: send SIGUSR1 even when /proc/PID/exe does not look like Node.
    #[arg(long, visible_alias = "force-signal", requires = "inspect")]
    pub force: bool,
    /// Where the series goes, one JSON line per sample
    /// [default: ./heaphound-runs/<UTC time>/memory.jsonl].
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Take a heap snapshot into the run folder when memory crosses LINE: RSS (`500MB`,
    /// `rss=500MB`), the used heap (`heap_used=300MB`) or a percentage of the heap limit
    /// (`85%`); the heap lines need the inspector.
    #[arg(long, value_name = "LINE", help_heading = "Snapshots")]
    pub snapshot_above: Option<String>,
    /// At most N snapshots.
    #[arg(
        long,
        default_value_t = 3,
        value_name = "N",
        requires = "snapshot_above",
        help_heading = "Snapshots"
    )]
    pub max_snapshots: usize,
    /// At least this long between two snapshots.
    #[arg(long, default_value = "1m", value_parser = parse_duration, value_name = "DURATION", requires = "snapshot_above", help_heading = "Snapshots")]
    pub snapshot_interval: Duration,
    /// Take them through the process's own --heapsnapshot-signal handler with SIGNAL
    /// (e.g. SIGUSR2): no inspector port is ever opened.
    #[arg(
        long,
        value_name = "SIGNAL",
        requires = "snapshot_above",
        help_heading = "Snapshots"
    )]
    pub snapshot_signal: Option<String>,
    /// With --snapshot-signal: where the process writes them [default: its
    /// --diagnostic-dir, else its working directory].
    #[arg(
        long,
        value_name = "DIR",
        requires = "snapshot_signal",
        help_heading = "Snapshots"
    )]
    pub snapshot_dir: Option<PathBuf>,
    /// Take a snapshot even when the process's memory headroom looks too small for it.
    #[arg(long, requires = "snapshot_above", help_heading = "Snapshots")]
    pub force_snapshot: bool,
    /// Print one JSON document instead of the report.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub html: crate::html_out::HtmlArgs,
    /// The program to run, after `--`: `node app.js [args]` (started with the inspector).
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

fn usage(msg: String) -> anyhow::Error {
    InputError(msg).into()
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    signals::install();
    if args.interval.is_zero() {
        return Err(usage("--interval must be above zero".into()));
    }
    if args.duration.is_zero() {
        return Err(usage("--duration must be above zero".into()));
    }
    let out = series_path(args.out.as_deref())?;
    let ui = Ui::new(ctx.quiet);
    let mut w = watch::open_target(
        &WatchTarget {
            target: args.target.clone(),
            command: args.command.clone(),
            inspect: args.inspect,
            port: args.port,
            any_binary: args.force,
        },
        &ui,
        std::sync::Arc::new(crate::capture::ui::line),
    )?;
    if w.is_proc() && args.gc {
        return Err(usage(format!(
            "--gc needs the inspector: PID {} has it closed; add --inspect to open it",
            w.pid
        )));
    }
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        heaphound_capture::files::create_dir(parent).map_err(|e| {
            usage(format!(
                "{}: cannot create the folder: {e}",
                parent.display()
            ))
        })?;
    }
    let started = Instant::now();
    let series = Series::create(&out, w.pid, started)?;
    if let Ok(mut s) = series.lock() {
        s.set_phase("watch");
    }
    let session = w.connect()?;
    ui.note(&format!(
        "watching `{}` (PID {}) every {} for up to {}{}; series in {}",
        w.command,
        w.pid,
        show(args.interval),
        show(args.duration),
        match (w.is_proc(), args.gc) {
            (true, _) => {
                ", RSS from /proc only (the inspector is closed; --inspect opens it for heap figures)"
            }
            (_, true) => ", a full GC before each sample",
            _ => "",
        },
        out.display()
    ));
    let mut rss_samples = Vec::new();
    let snapshots = trigger(&args, &w, &out)?;
    let plan = WatchPlan {
        interval: args.interval,
        duration: args.duration,
        gc: args.gc,
        snapshots,
    };

    let stopped = watch::sample_loop(
        &plan,
        &LiveLine(ui),
        &mut w,
        session,
        &series,
        &mut rss_samples,
        started,
    );
    let taken = plan
        .snapshots
        .map(|t| t.taken.into_inner().unwrap_or_default())
        .unwrap_or_default();
    let ended = stopped.to_string();
    let rss_only: Vec<Point> = rss_samples
        .iter()
        .map(|&(t_ms, rss, anon)| Point::new(t_ms as f64 / 1000.0, anon.unwrap_or(rss) as f64))
        .collect();
    ui.clear();
    let how = w.finish();
    signals::release();
    if let Some(e) = series
        .lock()
        .ok()
        .and_then(|s| s.write_error().map(String::from))
    {
        ui.warn(&format!("{}: incomplete: {e}", out.display()));
    }
    match w.close_inspector() {
        Some(Ok(said)) => ui.note(&said),
        Some(Err(said)) => ui.warn(&said),
        None => {}
    }
    let samples = series
        .lock()
        .map(|s| s.samples().to_vec())
        .unwrap_or_default();
    let verdict = if w.is_proc() {
        trend::rss_verdict(&rss_only, args.interval)
    } else {
        Points::of(&samples).verdict(args.interval, args.gc)
    };
    let count = samples.len().max(rss_only.len());
    let summary = watch::series_summary(&samples, &rss_only);
    let elapsed = started.elapsed().as_secs_f64();
    if let Some(path) = &args.html.html {
        let facts = vec![
            (
                "process".into(),
                format!("PID {} `{}` ({how})", w.pid, w.command),
            ),
            (
                "samples".into(),
                format!("{count} every {} over {elapsed:.1}s", show(args.interval)),
            ),
            ("series".into(), out.display().to_string()),
        ];
        let bytes = write_html(path, &args, &out, &verdict, &w.command, facts)?;
        ui.note(&format!(
            "HTML report {} ({})",
            path.display(),
            human_size(bytes)
        ));
    }
    if args.json {
        let doc = WatchDoc {
            schema_version: SCHEMA_VERSION,
            command: "watch".into(),
            target: WatchedProcess {
                pid: w.pid,
                command: w.command.clone(),
                source: if w.is_proc() { "proc" } else { "inspector" }.into(),
                spawned: w.is_spawned(),
                inspector: w.ws_url.clone(),
                ended: how.clone(),
            },
            interval_ms: args.interval.as_millis() as u64,
            duration_s: (elapsed * 1000.0).round() / 1000.0,
            stopped: ended.clone(),
            gc_forced: args.gc,
            out: out.to_string_lossy().into_owned(),
            samples: count as u64,
            series: summary.clone(),
            verdict: VerdictDoc::from(&verdict),
            snapshots: taken.snapshots.clone(),
            snapshot_notes: taken.notes.clone(),
        };
        emit_json(&doc)?;
    } else {
        let mut t = text(
            &w, &how, &ended, count, elapsed, &summary, &out, &verdict, ctx,
        );
        for sn in &taken.snapshots {
            t.push_str(&format!(
                "  snapshot {} ({}) at {:.1} s, {} {} ≥ {}, via {}\n",
                sn.file,
                human_size(sn.bytes),
                sn.t_ms as f64 / 1000.0,
                sn.metric,
                shown_value(&sn.metric, sn.value),
                shown_value(&sn.metric, sn.line),
                sn.via
            ));
        }
        for n in &taken.notes {
            t.push_str(&format!("  not taken: {n}\n"));
        }
        emit(&t)?;
    }
    if let Stopped::Interrupted(sig) = stopped {
        return Ok(ExitCode::from(sig.exit_code()));
    }
    Ok(exit_code(verdict.kind))
}

fn shown_value(metric: &str, v: f64) -> String {
    if metric == "heap_limit_percent" {
        format!("{v:.1}%")
    } else {
        human_size(v as u64)
    }
}

/// `--snapshot-above` and its options, checked against how the process is watched.
fn trigger(args: &Args, w: &Watched, out: &Path) -> Result<Option<Trigger>> {
    let Some(text) = &args.snapshot_above else {
        return Ok(None);
    };
    let line = Line::parse(text, &|s| {
        crate::gate::judge::parse_size(s).map_err(|e| e.to_string())
    })
    .map_err(|e| usage(format!("--snapshot-above: {e}")))?;
    if args.max_snapshots == 0 {
        return Err(usage("--max-snapshots must be at least 1".into()));
    }
    if line.needs_heap() && w.is_proc() {
        return Err(usage(format!(
            "--snapshot-above {text} needs heap figures, and PID {} is watched through /proc: give an RSS line (e.g. 500MB), or --inspect",
            w.pid
        )));
    }
    let via = match &args.snapshot_signal {
        Some(sig) => Via::Signal {
            signal: heaphound_capture::node_signal::parse_signal(sig)
                .map_err(|e| usage(format!("--snapshot-signal: {e}")))?,
            dir: args.snapshot_dir.clone(),
            any_process: false,
            timeout: Duration::from_secs(600),
        },
        None if w.is_proc() => {
            return Err(usage(format!(
                "--snapshot-above: PID {} is watched through /proc, with no inspector to take snapshots: add --snapshot-signal SIGUSR2 (the process must run with --heapsnapshot-signal=SIGUSR2) or --inspect",
                w.pid
            )))
        }
        None => Via::Inspector,
    };
    // Checked now, not when memory is already high.
    if let Via::Signal { signal, dir, .. } = &via {
        heaphound_capture::node_signal::prepare(w.pid, signal.0, dir.as_deref(), false)?;
    }
    let heap_limit = match line {
        Line::HeapPercent(_) => {
            let limit = w.connect()?.as_mut().and_then(heap_limit);
            if limit.is_none() {
                return Err(usage(format!(
                    "--snapshot-above {text}: the heap limit of PID {} cannot be read; give heap_used=SIZE instead",
                    w.pid
                )));
            }
            limit
        }
        _ => None,
    };
    Ok(Some(Trigger {
        line,
        max: args.max_snapshots,
        interval: args.snapshot_interval,
        via,
        folder: out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from(".")),
        headroom: headroom_guard(args.force_snapshot, "--force-snapshot")?,
        heap_limit,
        taken: Default::default(),
    }))
}

/// The live line under a terminal watch.
struct LiveLine(Ui);

impl WatchObserver for LiveLine {
    fn sample(&self, elapsed: Duration, live: &Live, n: usize) {
        let live = match live {
            Live::Heap(m) => format!(
                "rss {}  heap {} / {}  external {}  arrayBuffers {}",
                human_size(m.rss),
                human_size(m.heap_used),
                human_size(m.heap_total),
                human_size(m.external),
                human_size(m.array_buffers)
            ),
            Live::Rss { rss, anon } => format!(
                "rss {}{}",
                human_size(*rss),
                anon.map(|a| format!(" (anonymous {})", human_size(a)))
                    .unwrap_or_default()
            ),
            Live::Nothing => String::new(),
        };
        self.0
            .status(&format!("{}  {live}  ({n} samples)", show(elapsed)));
    }

    fn observer(&self) -> &dyn heaphound_capture::Observer {
        &self.0
    }
}

/// `--html`: the verdict and the series as a chart.
fn write_html(
    path: &Path,
    args: &Args,
    series: &Path,
    verdict: &Verdict,
    command: &str,
    facts: Vec<(String, String)>,
) -> Result<u64> {
    let bytes = std::fs::read(series).unwrap_or_default();
    let report = heaphound_report::html::Report {
        title: format!("heaphound watch: {command}"),
        facts,
        verdict: Some(heaphound_report::html::Verdict {
            verdict: verdict.kind.as_str().into(),
            reason: verdict.reason.clone(),
            leaked_objects: None,
            leaked_bytes: None,
        }),
        memory: Some(heaphound_report::html::MemorySeries::from_jsonl(&bytes).0),
        ..Default::default()
    };
    crate::html_out::write(report, path, args.html.redact)
}

/// `--out`, or `./heaphound-runs/<UTC time>/memory.jsonl` in a fresh folder.
fn series_path(out: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = out {
        if p.is_dir() {
            return Err(usage(format!(
                "{}: is a folder (--out names the series file)",
                p.display()
            )));
        }
        return Ok(p.to_path_buf());
    }
    Ok(heaphound_capture::run_dir::fresh_run_dir().join("memory.jsonl"))
}

#[allow(clippy::too_many_arguments)]
fn text(
    w: &Watched,
    how: &str,
    ended: &str,
    count: usize,
    elapsed: f64,
    summary: &SeriesSummary,
    out: &Path,
    verdict: &Verdict,
    ctx: &Ctx,
) -> String {
    let mut s = format!(
        "heaphound watch: {} (PID {}, {how})\n  samples  {count} over {elapsed:.1} s, {ended}\n  series   {}\n",
        w.command,
        w.pid,
        out.display()
    );
    let heap = summary.heap.as_ref();
    for (range, name) in [
        (summary.rss, "rss"),
        (heap.and_then(|h| h.heap_used), "heap used"),
        (heap.and_then(|h| h.heap_total), "heap total"),
        (heap.and_then(|h| h.external), "external"),
        (heap.and_then(|h| h.array_buffers), "arrayBufs"),
    ] {
        if let Some(m) = range {
            s.push_str(&format!(
                "  {name:<10} {} → {} (min {}, max {})\n",
                human_size(m.first),
                human_size(m.last),
                human_size(m.min),
                human_size(m.max)
            ));
        }
    }
    s.push('\n');
    s.push_str(&verdict_text(verdict, &ctx.style));
    s
}
