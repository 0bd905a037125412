use std::process::ExitCode;

use anyhow::Result;
use clap::ValueEnum;
use heaphound_report::summary::{self, SortKey, SummaryDoc};

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
    let l = load_for_summary(&args.file, ctx.quiet)?;
    let (facts, a) = (&l.facts, &l.analysis);
    let started = std::time::Instant::now();
    let mut rows = heaphound_analysis::summarize(a);
    if std::env::var_os("HEAPHOUND_TIMINGS").is_some() {
        eprintln!(
            "timing: class summary {:.3}s",
            started.elapsed().as_secs_f64()
        );
    }
    let total_classes = rows.len();
    if let Some(re) = &filter {
        rows.retain(|r| re.is_match(&a.classes.classes[r.class as usize].name));
    }
    let key = match args.sort {
        Sort::Retained => SortKey::Retained,
        Sort::Shallow => SortKey::Shallow,
        Sort::Count => SortKey::Count,
    };
    summary::sort_rows(a, &mut rows, key);
    if let Some(n) = args.top {
        rows.truncate(n);
    }
    let doc = SummaryDoc {
        file: &l.label,
        rows: &rows,
        total_classes,
    };
    if args.json {
        emit_json(&summary::to_json(facts, a, &doc))?;
    } else {
        emit(&summary::to_text(facts, a, &doc, &ctx.style))?;
    }
    Ok(ExitCode::SUCCESS)
}
