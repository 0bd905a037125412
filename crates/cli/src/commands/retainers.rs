use std::process::ExitCode;

use anyhow::Result;
use heaphound_analysis::paths::retainer_paths;
use heaphound_analysis::views::graph as views;
use heaphound_report::graph_views;

use super::{emit, emit_json, node_of, parse_object_id, Ctx};
use crate::load::load;

#[derive(clap::Args)]
pub struct Args {
    /// Heap snapshot (.heapsnapshot or .heapsnapshot.gz); `-` reads stdin.
    pub file: String,
    /// The object, by its snapshot id (as DevTools shows it: @12345).
    pub id: String,
    /// How many paths to show, shortest first.
    #[arg(long, default_value_t = 3)]
    pub paths: usize,
    /// Longest path to consider, in references (leaks in linked lists and closure chains
    /// sit thousands deep; repeating runs are shown folded).
    #[arg(long, default_value_t = 100_000)]
    pub max_depth: u32,
    /// Print one JSON document instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    let id = parse_object_id(&args.file, &args.id)?;
    let maps = ctx.sources.maps_for(&[&args.file]);
    let l = load(&args.file, ctx.quiet, &maps)?;
    let target = node_of(&l, id)?;
    let (g, a) = (&l.graph, &l.analysis);
    let paths = retainer_paths(g, a, target.0, args.paths, args.max_depth);
    let doc = views::retainers(g, a, &l.label, target, &paths);
    if args.json {
        emit_json(&doc)?;
    } else {
        emit(&graph_views::retainers_text(
            &doc,
            args.max_depth,
            &ctx.style,
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}
