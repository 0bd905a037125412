use std::process::ExitCode;

use anyhow::Result;
use clap::ValueEnum;
use heaphound_analysis::views::summary::{self as view, Selection, SortKey};
use heaphound_analysis::ClassInfo;
use heaphound_report::summary;

use super::{emit, emit_json, Ctx};
use crate::load::load_for_summary;

#[derive(Clone, Copy, ValueEnum)]
pub enum Sort {
    Retained,
    Shallow,
    Count,
}

#[derive(clap::Args)]
pub struct Args {
    /// Heap snapshot (.heapsnapshot or .heapsnapshot.gz); `-` reads stdin.
    pub file: String,
    /// Show only the N largest classes.
    #[arg(long)]
    pub top: Option<usize>,
    /// Order of the rows.
    #[arg(long, value_enum, default_value = "retained")]
    pub sort: Sort,
    /// Keep classes whose name matches this regular expression.
    #[arg(long)]
    pub filter: Option<String>,
    /// Print one JSON document instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    let filter = super::class_filter(args.filter.as_deref())?;
    let maps = ctx.sources.maps_for(&[&args.file]);
    let l = load_for_summary(&args.file, ctx.quiet, &maps)?;
    let (facts, a) = (&l.facts, &l.analysis);
    let started = std::time::Instant::now();
    let rows = heaphound_analysis::summarize(a);
    if std::env::var_os("HEAPHOUND_TIMINGS").is_some() {
        eprintln!(
            "timing: class summary {:.3}s",
            started.elapsed().as_secs_f64()
        );
    }
    let key = match args.sort {
        Sort::Retained => SortKey::Retained,
        Sort::Shallow => SortKey::Shallow,
        Sort::Count => SortKey::Count,
    };
    let keep = |info: &ClassInfo| filter.as_ref().is_none_or(|re| re.is_match(&info.name));
    let mut doc = view::summary(
        facts,
        a,
        &l.label,
        rows,
        &Selection {
            keep: &keep,
            sort: key,
            top: args.top,
        },
    );
    heaphound_capture::originals::locate_summary(&mut doc, &maps);
    if args.json {
        emit_json(&doc)?;
    } else {
        emit(&summary::to_text(&doc, &ctx.style))?;
    }
    crate::sources::print_notes(&maps, ctx.quiet);
    Ok(ExitCode::SUCCESS)
}
