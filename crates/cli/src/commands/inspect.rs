use std::process::ExitCode;

use anyhow::Result;
use heaphound_analysis::views::graph::{self as views, InspectLimits};
use heaphound_report::graph_views;

use super::{emit, emit_json, node_of, parse_object_id, Ctx};
use crate::load::load;

#[derive(clap::Args)]
pub struct Args {
    /// Heap snapshot (.heapsnapshot or .heapsnapshot.gz); `-` reads stdin.
    pub file: String,
    /// The object, by its snapshot id (@12345).
    pub id: String,
    /// Outgoing edges to list.
    #[arg(long, default_value_t = 50)]
    pub edges: usize,
    /// Retainers to list.
    #[arg(long, default_value_t = 50)]
    pub retainers: usize,
    /// Print one JSON document instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    let id = parse_object_id(&args.file, &args.id)?;
    let maps = ctx.sources.maps_for(&[&args.file]);
    let l = load(&args.file, ctx.quiet, &maps)?;
    let node = node_of(&l, id)?;
    let (g, a) = (&l.graph, &l.analysis);
    let scripts = heaphound_analysis::scripts::script_names(g);
    let limits = InspectLimits {
        edges: args.edges,
        retainers: args.retainers,
    };
    let mut doc = views::inspect(g, a, &l.label, node, &scripts, &limits);
    heaphound_capture::originals::locate_object(&mut doc, &maps);
    if args.json {
        emit_json(&doc)?;
    } else {
        emit(&graph_views::inspect_text(&doc, &ctx.style))?;
    }
    crate::sources::print_notes(&maps, ctx.quiet);
    Ok(ExitCode::SUCCESS)
}
