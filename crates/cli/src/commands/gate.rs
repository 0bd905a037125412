//! `heaphound gate [options] -- node scenario.js`: a memory-leak gate for CI. It runs a
//! scenario (or HTTP load against a server) in rounds in a real node process, forcing a GC
//! and reading the heap after each, and fails when what stays grows; a failure comes with
//! the suspects report of snapshots taken at the first and last rounds.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;

use super::Ctx;
use crate::capture::duration::parse_duration;
use crate::gate::{self, judge::parse_size};

#[derive(clap::Args)]
#[command(after_help = "\
The scenario exports one async function: `module.exports = async () => { … }` (CommonJS) or
`export default async function () { … }` (ES module). heaphound runs it --warmup times, then
--rounds rounds of --iterations calls, awaiting each call; after the warm-up and after each
round it forces a full GC and reads the heap used plus external memory (Buffers). It fails
when that grows by more than --max-growth over the rounds (Theil–Sen slope × rounds) or
grows in a steady trend (Mann–Kendall p < 0.05) by more than a quarter of --max-growth.

With --http URL the command is a server: each round sends --iterations requests to it, as
`hunt --load` does (loopback only).

Before each snapshot the program's memory headroom is checked (a snapshot needs about the
heap's used size again, beside the heap): when its cgroup or the machine cannot give that
much, the gate stops there (exit 2) unless --force.

Exit codes: 0 pass, 1 fail (memory grows), 2 the gate could not judge (the scenario threw,
did not finish within --timeout, the program died, a snapshot did not fit its memory; or a
usage error); 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP (the program is stopped).

Examples:
  heaphound gate -- node test/leak-scenario.js
  heaphound gate --iterations 2000 --max-growth 2MB --junit gate.xml -- node scenario.mjs
  heaphound gate --http /api/orders -- node server.js")]
pub struct Args {
    /// Calls of the scenario (or requests, with --http) per round.
    #[arg(long, short = 'n', default_value_t = 500, value_name = "N")]
    pub iterations: u64,
    /// Rounds measured after the warm-up (at least 3: a trend needs points).
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u32).range(3..=1000), value_name = "R")]
    pub rounds: u32,
    /// Calls before the baseline, so caches fill and code warms up [default: --iterations].
    #[arg(long, value_name = "W")]
    pub warmup: Option<u64>,
    /// Growth allowed over all rounds (`500kB`, `1MB`, `2MiB`).
    #[arg(long, default_value = "1MB", value_parser = parse_size, value_name = "SIZE")]
    pub max_growth: u64,
    /// Longest one round (the warm-up included) may take.
    #[arg(long, default_value = "60s", value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Duration,
    /// Drive HTTP load at a server instead of calling a scenario: URL as for `hunt --load`
    /// (the port may be left out).
    #[arg(long, value_name = "URL")]
    pub http: Option<String>,
    /// Concurrent connections for --http.
    #[arg(short = 'c', long, default_value_t = 8, value_name = "N")]
    pub connections: usize,
    /// The run folder: snapshots on failure, rounds, the report
    /// [default: ./heaphound-runs/<UTC time>].
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Also write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Also write a self-contained HTML report to FILE (redacted: string contents and
    /// property values become their length and a hash, unless --no-redact).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Keep string contents and property values in the HTML report.
    #[arg(long, requires = "html")]
    pub no_redact: bool,
    /// Keep the snapshots when the gate passes (they are always kept on failure).
    #[arg(long)]
    pub keep_snapshots: bool,
    /// Suspects shown on failure.
    #[arg(long, default_value_t = 3)]
    pub top: usize,
    /// Take each snapshot even when the program's memory headroom looks too small for it
    /// (a snapshot needs about the heap's used size again, beside the heap).
    #[arg(long)]
    pub force: bool,
    /// Print one JSON document instead of the report.
    #[arg(long)]
    pub json: bool,
    /// The program: `node scenario.js [args]` (or, with --http, the server's command).
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    gate::run(ctx, args)
}
