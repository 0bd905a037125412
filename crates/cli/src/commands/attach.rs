//! `heaphound attach PID [options]`: the hunt playbook on a Node process that is already
//! running without --inspect (its inspector is opened with SIGUSR1). The process is left
//! running at the end.

use std::process::ExitCode;

use anyhow::Result;

use super::Ctx;
use crate::capture::{self, args::CaptureArgs, signals, Program};
use crate::load::InputError;

#[derive(clap::Args)]
#[command(after_help = "\
Nothing is sent unless /proc/PID/exe is a Node binary (--force lifts that check).
SIGUSR1 makes Node open its inspector on 127.0.0.1:9229 (or the port it was started with
--inspect-port=N: pass the same --port). Node keeps that port open until the process exits.
Without --load or --drive, heaphound waits for Enter between snapshots so you can drive the
traffic yourself. The process keeps running afterwards; Ctrl-C stops the capture only.
Exit codes: 0 no leak, 1 leak, 2 usage error, fewer than 2 snapshots, or a run cut short
without a leak found; 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP (the process keeps running).
Before each snapshot the process's memory headroom is checked (a snapshot needs about the
heap's used size again, beside the heap): when its cgroup or the machine cannot give that
much, the capture ends there, keeping what was captured, unless --force-snapshot (--force
here lifts the Node-binary check only).")]
pub struct Args {
    /// The PID of a running Node process (same user).
    pub pid: u32,
    /// The port its inspector opens on.
    #[arg(long, default_value_t = 9229)]
    pub port: u16,
    /// Send SIGUSR1 even when /proc/PID/exe does not look like Node.
    #[arg(long, visible_alias = "force-signal")]
    pub force: bool,
    #[command(flatten)]
    pub capture: CaptureArgs,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    signals::install();
    let plan = args.capture.plan("--force-snapshot")?;
    let pid = args.pid;
    if !capture::alive(pid) {
        // Say it before signalling anything, in the same words attach would.
        return Err(InputError(format!("attach: no process with PID {pid}")).into());
    }
    // A folder another run holds was refused by the plan, before any signal; the claim
    // itself waits until the process is known to be there, so a failed attach leaves no
    // folder behind.
    let mut opened = capture::open_inspector("attach", pid, args.port, args.force, "--force")
        .map_err(|e| InputError(e.to_string()))?;
    let ui = capture::ui::Ui::new(ctx.quiet);
    let _claim = plan.create_run_dir(&ui)?;
    let command = capture::cmdline(pid);
    let program = Program::attached(pid, opened.url.clone(), command);
    let r = capture::run(ctx, plan, program, "attach");
    // The run's sessions are closed by now; an error or a signal gets here too.
    match opened.close() {
        Some(Ok(said)) => ui.note(&said),
        Some(Err(said)) => ui.warn(&said),
        None => {}
    }
    r
}
