//! `heaphound snapshot PID|ws://URL -o FILE [--gc]`: one heap snapshot of a live process,
//! streamed to disk.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use heaphound_capture::snapshot::{self, SnapshotPlan};
use heaphound_report::{group, human_size};

use super::{emit, emit_json, Ctx};
use crate::capture::args::headroom_guard;
use crate::capture::signals;
use crate::capture::ui::Ui;

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
killer may kill the process mid-snapshot.")]
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
    /// Print one JSON document instead of the path and size.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    signals::install();
    let ui = Ui::new(ctx.quiet);
    let doc = snapshot::take(
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
    )?;
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
