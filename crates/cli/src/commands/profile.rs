use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use heaphound_analysis::heapprofile::{self, Profile};
use heaphound_analysis::views::allocations;
use heaphound_report::html::flame;
use heaphound_report::profile as view;

use super::{emit, emit_json, Ctx};
use crate::load::InputError;
use heaphound_capture::originals;

#[derive(clap::Args)]
pub struct Args {
    /// A sampling heap profile: the .heapprofile `node --heap-prof` writes, or the
    /// `profile` HeapProfiler.stopSampling returns.
    pub file: String,
    /// Show the N largest allocation sites of each table.
    #[arg(long, default_value_t = 15)]
    pub top: usize,
    /// Also write the allocation flame graph as an SVG file.
    #[arg(long, value_name = "OUT.svg")]
    pub flamegraph: Option<PathBuf>,
    /// Print one JSON document instead of the tables.
    #[arg(long)]
    pub json: bool,
}

/// Reads and parses a profile; errors name the file and say what is wrong.
pub fn read(file: &str) -> Result<Profile> {
    let bytes = std::fs::read(file).map_err(|e| InputError(format!("{file}: cannot read: {e}")))?;
    heapprofile::parse(&bytes).map_err(|e| InputError(format!("{file}: {e}")).into())
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    let profile = read(&args.file)?;
    // A profile names its scripts itself; a scripts.json beside it is a run folder's.
    let maps = ctx.sources.maps_for(&[&args.file]);
    if let Some(out) = &args.flamegraph {
        let title = format!("Allocation sites of {}", crate::load::label(&args.file));
        let mut tree = allocations::from_profile(&profile);
        originals::locate_tree(&mut tree, &maps);
        let svg = flame::svg(&tree, &title, 1200, true);
        heaphound_capture::files::write_atomic(out, svg.as_bytes())?;
        if !ctx.quiet {
            eprintln!(
                "heaphound: flame graph written to {}",
                heaphound_model::text::escape_control(&out.display().to_string())
            );
        }
    }
    let mut doc = heapprofile::document(&args.file, &profile, args.top);
    originals::locate_profile(&mut doc, &maps);
    if args.json {
        emit_json(&serde_json::to_value(&doc)?)?;
    } else {
        emit(&view::to_text(&doc, &ctx.style))?;
    }
    crate::sources::print_notes(&maps, ctx.quiet);
    Ok(ExitCode::SUCCESS)
}
