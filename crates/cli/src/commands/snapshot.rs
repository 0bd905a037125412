//! `heaphound snapshot PID|ws://URL -o FILE [--gc]`: one heap snapshot of a live process,
//! streamed to disk.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use heaphound_capture::node_signal;
use heaphound_capture::snapshot::{self, SnapshotPlan};
use heaphound_model::run::SnapshotDoc;
use heaphound_report::{group, human_size};

use super::{emit, emit_json, Ctx};
use crate::capture::args::headroom_guard;
use crate::capture::signals;
use crate::capture::ui::Ui;
use crate::load::InputError;

#[derive(clap::Args)]
#[command(after_help = "\
With a PID, the process's inspector is opened with SIGUSR1 (127.0.0.1:9229, or --port);
Node keeps it open until the process exits. Nothing is sent unless /proc/PID/exe is a
Node binary (--force-signal lifts that check). The target pauses while the snapshot is taken.
Ctrl-C, SIGTERM or SIGHUP abandons the snapshot, removes its partial file and exits 130,
143 or 129.
A snapshot needs about the heap's used size again, beside the heap: when the process's
cgroup (memory.max − memory.current, or v1's limit − usage) or the machine's MemAvailable
cannot give that much, the snapshot is refused (exit 2) unless --force, as the kernel's OOM
killer may kill the process mid-snapshot.
With --signal SIGUSR2, no inspector is opened: the process's own --heapsnapshot-signal
handler writes the snapshot into its working directory (or --diagnostic-dir, or
--snapshot-dir); heaphound waits until it is whole, checks it and moves it to FILE.")]
pub struct Args {
    /// A Node process: its PID, or its inspector's ws:// URL.
    pub target: String,
    /// Where to write the snapshot.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: PathBuf,
    /// Run a full garbage collection first.
    #[arg(long)]
    pub gc: bool,
    /// With a PID: the port its inspector opens on.
    #[arg(long, default_value_t = 9229)]
    pub port: u16,
    /// Overwrite FILE if it exists, and take the snapshot even when the target's memory
    /// headroom looks too small.
    #[arg(long)]
    pub force: bool,
    /// With a PID: send SIGUSR1 even when /proc/PID/exe does not look like Node.
    #[arg(long)]
    pub force_signal: bool,
    /// Take it through the process's own --heapsnapshot-signal handler with this signal
    /// (e.g. SIGUSR2): no inspector port is opened.
    #[arg(long, value_name = "SIGNAL")]
    pub signal: Option<String>,
    /// With --signal: where the process writes its snapshots [default: its --diagnostic-dir,
    /// else its working directory].
    #[arg(long, value_name = "DIR", requires = "signal")]
    pub snapshot_dir: Option<PathBuf>,
    /// With --signal: how long to wait for the snapshot to be whole.
    #[arg(long, default_value = "10m", value_parser = crate::capture::duration::parse_duration, value_name = "DURATION", requires = "signal")]
    pub timeout: std::time::Duration,
    /// Print one JSON document instead of the path and size.
    #[arg(long)]
    pub json: bool,
}

/// `snapshot PID --signal SIG`: the process writes it; heaphound finds, checks and moves it.
fn by_signal(ctx: &Ctx, args: &Args, signal: &str) -> Result<SnapshotDoc> {
    let signal =
        node_signal::parse_signal(signal).map_err(|e| InputError(format!("--signal: {e}")))?;
    let pid: u32 = args.target.parse().map_err(|_| {
        InputError(format!(
            "--signal needs a PID, not '{}' (a ws:// URL has an inspector: leave --signal out)",
            args.target
        ))
    })?;
    if args.gc {
        return Err(InputError(
            "--gc needs the inspector; V8 collects garbage before a signal snapshot anyway".into(),
        )
        .into());
    }
    if heaphound_capture::files::taken(&args.out) {
        if !args.force {
            return Err(InputError(format!(
                "{} already exists (--force overwrites it)",
                args.out.display()
            ))
            .into());
        }
        std::fs::remove_file(&args.out)?;
    }
    if let Some(parent) = args.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        heaphound_capture::files::create_dir(parent)?;
    }
    let ui = Ui::new(ctx.quiet);
    let started = std::time::Instant::now();
    let taken = node_signal::take(
        &node_signal::SignalPlan {
            pid,
            signal,
            dir: args.snapshot_dir.clone(),
            any_process: args.force_signal,
            headroom: headroom_guard(args.force, "--force")?,
            timeout: args.timeout,
        },
        &args.out,
        &ui,
    )?;
    Ok(SnapshotDoc {
        file: taken.file.display().to_string(),
        bytes: taken.bytes,
        pid: Some(pid),
        inspector: String::new(),
        gc: false,
        elapsed_ms: started.elapsed().as_millis() as u64,
        inspector_closed: false,
        signal: Some(signal.0.to_string()),
        written_as: Some(taken.written_as.display().to_string()),
    })
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    signals::install();
    let doc = if let Some(sig) = args.signal.clone() {
        by_signal(ctx, &args, &sig)?
    } else {
        let ui = Ui::new(ctx.quiet);
        snapshot::take(
            &SnapshotPlan {
                target: args.target,
                out: args.out,
                gc: args.gc,
                port: args.port,
                force: args.force,
                any_binary: args.force_signal,
                headroom: headroom_guard(args.force, "--force")?,
            },
            &ui,
        )?
    };
    signals::release();
    if args.json {
        emit_json(&serde_json::to_value(&doc)?)?;
    } else {
        emit(&format!(
            "{}  {} ({} bytes)\n",
            doc.file,
            human_size(doc.bytes),
            group(doc.bytes)
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}
