//! `heaphound hunt [options] -- node app.js [args]`: start the program under the inspector,
//! load it, snapshot it between loads, sample its memory, and report the leak.

use std::ffi::OsString;
use std::process::ExitCode;

use anyhow::Result;

use super::Ctx;
use crate::capture::{self, args::CaptureArgs, signals, Program};

#[derive(clap::Args)]
#[command(after_help = "\
Examples:
  heaphound hunt --load /items?user=7 -- node server.js 0
  heaphound hunt --drive 'autocannon -d 5 http://127.0.0.1:{port}/' -- node app.js
  heaphound hunt --load http://127.0.0.1:3000/api -n 2000 --allocation-sites -- node app.js

The program's stdout and stderr go to heaphound's stderr; the report goes to stdout.
Exit codes: 0 no leak, 1 leak, 2 usage error, fewer than 2 snapshots, or a run cut short
(the program ended, the inspector dropped) without a leak found; 130 Ctrl-C, 143 SIGTERM,
129 SIGHUP (the program is stopped; with 2 snapshots or more the report is still written;
a second signal abandons a snapshot in flight and kills the program without grace).
Before each snapshot the program's memory headroom is checked (a snapshot needs about the
heap's used size again, beside the heap): when its cgroup or the machine cannot give that
much, the run ends there, keeping what was captured, unless --force.")]
// hunt has no other --force: the shared --force-snapshot is named --force here.
#[command(mut_arg("force_snapshot", |a| a.long("force").visible_alias("force-snapshot")))]
pub struct Args {
    #[command(flatten)]
    pub capture: CaptureArgs,
    /// The program to run, after `--`: `node app.js [args]` (`--inspect=127.0.0.1:0` is
    /// added after `node`).
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    signals::install();
    let plan = args.capture.plan("--force")?;
    let _claim = plan.create_run_dir(&capture::ui::Ui::new(ctx.quiet))?;
    let program = Program::start(
        args.command,
        plan.capture.ready_timeout,
        std::sync::Arc::new(capture::ui::line),
    )?;
    capture::run(ctx, plan, program, "hunt")
}
