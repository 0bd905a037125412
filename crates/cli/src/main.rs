//! heaphound: find memory leaks in Node.js processes.

mod capture;
mod commands;
mod env;
mod gate;
mod html_out;
mod load;
mod sources;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "heaphound",
    version,
    about = "Find memory leaks in Node.js heap snapshots"
)]
struct Cli {
    /// Print no progress on stderr.
    #[arg(long, short, global = true)]
    quiet: bool,
    /// Show positions and names as the running code has them: read no source maps.
    #[arg(long, global = true)]
    no_source_maps: bool,
    /// Where the build a snapshot ran is now: paths it recorded under FROM are read under TO
    /// (`--path-map /app/dist=./dist`); repeatable, the first that matches is used.
    #[arg(long = "path-map", value_name = "FROM=TO", global = true)]
    path_map: Vec<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compare two or three snapshots class by class (DevTools' Comparison view).
    Diff(commands::diff::Args),
    /// Name the leak across snapshots: what grows, what holds it, where in the code.
    Suspects(commands::suspects::Args),
    /// Objects grouped by class: count, shallow and retained size (DevTools' Summary).
    Summary(commands::summary::Args),
    /// The dominator tree from the root: who keeps the most memory alive.
    Dominators(commands::dominators::Args),
    /// The shortest retainer paths from GC roots to one object.
    Retainers(commands::retainers::Args),
    /// One object: its fields, outgoing edges, retainers and source location.
    Inspect(commands::inspect::Args),
    /// The largest objects by retained size.
    Objects(commands::objects::Args),
    /// Run a Node program under load, snapshot it between loads and name the leak.
    Hunt(commands::hunt::Args),
    /// The hunt on a Node process that is already running (opens its inspector with SIGUSR1).
    Attach(commands::attach::Args),
    /// Sample a process's memory over time and judge it: leak, plateau, spikes, off-heap.
    Watch(commands::watch::Args),
    /// Read `node --trace-gc` output: GC counts and pauses, the post-GC floor, a verdict.
    Gclog(commands::gclog::Args),
    /// What a crashed process left (near-limit snapshots, its fatal-error report): why it died.
    Postmortem(commands::postmortem::Args),
    /// Write one heap snapshot of a live Node process (PID or ws:// inspector URL).
    Snapshot(commands::snapshot::Args),
    /// A memory-leak gate for CI: run a scenario in rounds, fail when what stays grows.
    Gate(commands::gate::Args),
    /// Allocation sites of a sampling heap profile (.heapprofile), and its flame graph.
    Profile(commands::profile::Args),
    /// A self-contained HTML report of a run folder or a report.json.
    Report(commands::report::Args),
}

fn main() -> ExitCode {
    env::adopt_old_names();
    let cli = Cli::parse();
    let ctx = commands::Ctx {
        quiet: cli.quiet,
        style: heaphound_report::Style {
            color: std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal(),
        },
        sources: sources::Flags {
            off: cli.no_source_maps,
            path_maps: cli.path_map,
        },
    };
    commands::colours_on(ctx.style.color);
    let result = ctx.sources.check().and_then(|()| match cli.command {
        Command::Summary(a) => commands::summary::run(&ctx, a),
        Command::Diff(a) => commands::diff::run(&ctx, a),
        Command::Suspects(a) => commands::suspects::run(&ctx, a),
        Command::Dominators(a) => commands::dominators::run(&ctx, a),
        Command::Retainers(a) => commands::retainers::run(&ctx, a),
        Command::Inspect(a) => commands::inspect::run(&ctx, a),
        Command::Objects(a) => commands::objects::run(&ctx, a),
        Command::Hunt(a) => commands::hunt::run(&ctx, a),
        Command::Attach(a) => commands::attach::run(&ctx, a),
        Command::Postmortem(a) => commands::postmortem::run(&ctx, a),
        Command::Snapshot(a) => commands::snapshot::run(&ctx, a),
        Command::Gate(a) => commands::gate::run(&ctx, a),
        Command::Profile(a) => commands::profile::run(&ctx, a),
        Command::Report(a) => commands::report::run(&ctx, a),
        Command::Gclog(a) => commands::gclog::run(&ctx, a),
        Command::Watch(a) => commands::watch::run(&ctx, a),
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            let _ = std::io::stdout().flush();
            // One line: the chain of contexts, outermost first.
            let msg = e
                .chain()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(": ");
            // File names and names from a heap may be quoted in it. Not eprintln!: after
            // SIGHUP the terminal may be gone, and a panic here would replace the exit code.
            let msg = heaphound_model::text::terminal_safe(&msg);
            let _ = writeln!(std::io::stderr(), "heaphound: error: {msg}");
            // A capture stopped by a signal says so in its exit code, whatever it met next.
            capture::signals::interrupted()
                .map_or(ExitCode::from(2), |s| ExitCode::from(s.exit_code()))
        }
    }
}
