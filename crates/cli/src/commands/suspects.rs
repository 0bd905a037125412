use std::process::ExitCode;

use anyhow::Result;
use heaphound_analysis::suspects::{self, Snap, Verdict};
use heaphound_report::suspects::{self as view, LastSnapshot, SnapshotInfo};

use super::{emit, emit_json, Ctx};
use crate::load::load_all;

#[derive(clap::Args)]
pub struct Args {
    /// Two or more heap snapshots of one process, oldest first, with load between them
    /// (three or more tell steady growth from a one-off).
    #[arg(num_args = 2.., required = true)]
    pub files: Vec<String>,
    /// Show at most N suspects.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
    /// Show weaker suspects, whole retainer paths and allocation stacks.
    #[arg(long, short)]
    pub verbose: bool,
    /// Print one JSON document instead of the report.
    #[arg(long)]
    pub json: bool,
}

/// Exit code 1 when the verdict is a leak, so scripts and CI can act on it.
pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    let loaded = load_all(&args.files, ctx.quiet)?;
    let snaps: Vec<Snap> = loaded
        .iter()
        .map(|l| Snap {
            graph: &l.graph,
            analysis: &l.analysis,
        })
        .collect();
    let findings = suspects::find(&snaps);
    let infos: Vec<SnapshotInfo> = loaded
        .iter()
        .map(|l| SnapshotInfo {
            file: &l.label,
            node_count: l.graph.node_count(),
            total_size: l.analysis.total_size,
        })
        .collect();
    let last = loaded.last().expect("two snapshots or more");
    let l = LastSnapshot {
        graph: &last.graph,
        analysis: &last.analysis,
    };
    if args.json {
        emit_json(&view::to_json(&l, &infos, &findings, args.top))?;
    } else {
        emit(&view::to_text(
            &l,
            &infos,
            &findings,
            args.top,
            args.verbose,
            &ctx.style,
        ))?;
    }
    Ok(if findings.verdict == Verdict::Leak {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
