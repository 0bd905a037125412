use std::process::ExitCode;

use anyhow::Result;
use heaphound_analysis::views::graph as views;
use heaphound_report::graph_views;

use heaphound_snapshot::NodeOrdinal;

use super::{emit, emit_json, node_of, parse_object_id, Ctx};
use crate::load::load;

#[derive(clap::Args)]
pub struct Args {
    /// Heap snapshot (.heapsnapshot or .heapsnapshot.gz); `-` reads stdin.
    pub file: String,
    /// Levels of the tree to show below the start.
    #[arg(long, default_value_t = 3)]
    pub depth: u32,
    /// Children shown per node, largest retained size first.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Start from this object (@id) instead of the root.
    #[arg(long)]
    pub from: Option<String>,
    /// Print one JSON document instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    let from = match &args.from {
        Some(id) => Some(parse_object_id(&args.file, id)?),
        None => None,
    };
    let maps = ctx.sources.maps_for(&[&args.file]);
    let l = load(&args.file, ctx.quiet, &maps)?;
    let (g, a) = (&l.graph, &l.analysis);
    let start = match from {
        Some(id) => node_of(&l, id)?,
        None => NodeOrdinal(g.root),
    };
    let doc = views::dominators(g, a, &l.label, start, args.depth, args.top);
    if args.json {
        emit_json(&doc)?;
    } else {
        emit(&graph_views::dominators_text(&doc, args.depth, &ctx.style))?;
    }
    Ok(ExitCode::SUCCESS)
}
