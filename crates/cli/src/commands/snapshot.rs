//! `heaphound snapshot PID|ws://URL -o FILE [--gc]`: one heap snapshot of a live process,
//! streamed to disk.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use heaphound_inspector::{attach, ConnectOptions, Session};
use heaphound_report::{group, human_size};
use serde_json::json;

use super::{emit, emit_json, Ctx};
use crate::capture::ui::Ui;
use crate::load::InputError;

#[derive(clap::Args)]
#[command(after_help = "\
With a PID, the process's inspector is opened with SIGUSR1 (127.0.0.1:9229, or --port);
Node keeps it open until the process exits. The target pauses while the snapshot is taken.")]
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
    /// Overwrite FILE if it exists.
    #[arg(long)]
    pub force: bool,
    /// Print one JSON document instead of the path and size.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    let ui = Ui::new(ctx.quiet);
    if args.out.exists() && !args.force {
        return Err(InputError(format!(
            "{} already exists (--force overwrites it)",
            args.out.display()
        ))
        .into());
    }
    let (url, pid) = if args.target.starts_with("ws://") {
        (args.target.clone(), None)
    } else {
        let pid: u32 = args.target.parse().map_err(|_| {
            InputError(format!(
                "'{}' is neither a PID nor a ws:// inspector URL",
                args.target
            ))
        })?;
        ui.status(&format!("opening the inspector of PID {pid}…"));
        let url = attach(pid, args.port).map_err(|e| InputError(format!("snapshot: {e}")))?;
        (url, Some(pid))
    };
    let mut session = Session::connect(&url, &ConnectOptions::default())
        .map_err(|e| InputError(format!("snapshot: {e}")))?;
    session
        .enable_heap_profiler()
        .with_context(|| format!("{url}: enabling the heap profiler"))?;
    if args.gc {
        ui.status("collecting garbage…");
        session
            .collect_garbage()
            .with_context(|| format!("{url}: collecting garbage"))?;
    }
    if let Some(parent) = args.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("{}: cannot create the folder", parent.display()))?;
    }
    let started = Instant::now();
    let mut progress = ui.snapshot_progress("snapshot");
    let bytes = session
        .take_heap_snapshot(&args.out, &mut progress)
        .with_context(|| format!("{}: snapshot of {url}", args.out.display()))?;
    session.close();
    ui.clear();
    if let Some(pid) = pid {
        ui.note(&format!(
            "PID {pid} keeps its inspector open on 127.0.0.1:{} until it exits",
            args.port
        ));
    }
    let path = args.out.display().to_string();
    if args.json {
        emit_json(&json!({
            "file": path,
            "bytes": bytes,
            "pid": pid,
            "inspector": url,
            "gc": args.gc,
            "elapsed_ms": started.elapsed().as_millis() as u64,
        }))?;
    } else {
        emit(&format!(
            "{path}  {} ({} bytes)\n",
            human_size(bytes),
            group(bytes)
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}
