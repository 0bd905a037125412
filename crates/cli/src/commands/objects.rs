use std::process::ExitCode;

use anyhow::Result;
use heaphound_analysis::views::graph as views;
use heaphound_report::graph_views;

use super::{emit, emit_json, Ctx};
use crate::load::load;

#[derive(clap::Args)]
pub struct Args {
    /// Heap snapshot (.heapsnapshot or .heapsnapshot.gz); `-` reads stdin.
    pub file: String,
    /// How many objects to list.
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// Print one JSON document instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    let maps = ctx.sources.maps_for(&[&args.file]);
    let l = load(&args.file, ctx.quiet, &maps)?;
    let doc = views::objects(&l.graph, &l.analysis, &l.label, args.top);
    if args.json {
        emit_json(&doc)?;
    } else {
        emit(&graph_views::objects_text(&doc, &ctx.style))?;
    }
    Ok(ExitCode::SUCCESS)
}
