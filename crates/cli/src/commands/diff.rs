use std::process::ExitCode;

use anyhow::Result;
use clap::ValueEnum;
use heaphound_analysis::views::diff::{self as views, Selection, Snapshot, SortKey};
use heaphound_analysis::ClassInfo;
use heaphound_report::diff as view;

use super::{emit, emit_json, Ctx};
use crate::load::{load_all, Loaded};
use heaphound_capture::originals;

#[derive(Clone, Copy, ValueEnum)]
pub enum Sort {
    SizeDelta,
    CountDelta,
    RetainedDelta,
    New,
    Deleted,
    Alloc,
    Freed,
}

#[derive(clap::Args)]
pub struct Args {
    /// Two or three heap snapshots of one process, oldest first.
    #[arg(num_args = 2..=3, required = true)]
    pub files: Vec<String>,
    /// Show only the first N classes of each table.
    #[arg(long)]
    pub top: Option<usize>,
    /// Order of the rows (largest first).
    #[arg(long, value_enum, default_value = "size-delta")]
    pub sort: Sort,
    /// Keep classes whose name matches this regular expression.
    #[arg(long)]
    pub filter: Option<String>,
    /// Print one JSON document instead of tables.
    #[arg(long)]
    pub json: bool,
}

fn snapshot(l: &Loaded) -> Snapshot<'_> {
    Snapshot {
        label: &l.label,
        graph: &l.graph,
        analysis: &l.analysis,
    }
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    let filter = super::class_filter(args.filter.as_deref())?;
    let keep = |info: &ClassInfo| filter.as_ref().is_none_or(|re| re.is_match(&info.name));
    let select = Selection {
        keep: &keep,
        sort: match args.sort {
            Sort::SizeDelta => SortKey::SizeDelta,
            Sort::CountDelta => SortKey::CountDelta,
            Sort::RetainedDelta => SortKey::RetainedDelta,
            Sort::New => SortKey::New,
            Sort::Deleted => SortKey::Deleted,
            Sort::Alloc => SortKey::Alloc,
            Sort::Freed => SortKey::Freed,
        },
        top: args.top.unwrap_or(usize::MAX),
    };
    let maps = ctx.sources.maps_for(&args.files);
    let loaded = load_all(&args.files, ctx.quiet, &maps)?;
    match &loaded[..] {
        [a, b] => {
            let mut doc = views::diff_pair(snapshot(a), snapshot(b), &select);
            originals::locate_comparison(&mut doc.comparison, &maps);
            if args.json {
                emit_json(&doc)?;
            } else {
                emit(&view::comparison_text(&doc.comparison, &ctx.style))?;
            }
        }
        [a, b, c] => {
            let mut doc = views::diff_triple([snapshot(a), snapshot(b), snapshot(c)], &select);
            originals::locate_diff3(&mut doc, &maps);
            if args.json {
                emit_json(&doc)?;
            } else {
                emit(&view::triple_text(&doc, &ctx.style))?;
            }
        }
        _ => anyhow::bail!("diff compares two or three snapshots"),
    }
    crate::sources::print_notes(&maps, ctx.quiet);
    Ok(ExitCode::SUCCESS)
}
