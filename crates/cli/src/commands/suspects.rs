use std::process::ExitCode;

use anyhow::Result;
use heaphound_report::html::Report;
use heaphound_report::suspects as view;
use heaphound_report::Style;

use super::{emit, emit_json, Ctx};
use crate::load::load_all;

#[derive(clap::Args)]
pub struct Args {
    /// Two or more heap snapshots of one process, oldest first, with load between them
    /// (three or more tell steady growth from a one-off).
    #[arg(num_args = 2.., required = true)]
    pub files: Vec<String>,
    #[command(flatten)]
    pub out: Output,
}

/// How a suspects report is shown, by `suspects` and `postmortem`.
#[derive(clap::Args)]
pub struct Output {
    /// Show at most N suspects (per process, in a postmortem).
    #[arg(long, default_value_t = 5)]
    pub top: usize,
    /// Show weaker suspects, whole retainer paths and allocation stacks.
    #[arg(long, short)]
    pub verbose: bool,
    /// Print one JSON document instead of the report.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub html: crate::html_out::HtmlArgs,
}

pub use heaphound_capture::judge::Judged;

/// Reads the snapshots (in parallel, one progress line) and finds the suspects.
pub fn judge(files: &[String], ctx: &Ctx) -> Result<Judged> {
    let maps = ctx.sources.maps_for(files);
    Ok(Judged::from_opened(load_all(files, ctx.quiet, &maps)?))
}

/// How a judgement is shown: the human report and the exit code (its `--json` is
/// [`Judged::document`]).
pub trait Shown {
    fn to_text(&self, top: usize, verbose: bool, style: &Style) -> String;
    /// Exit code 1 when the verdict is a leak, so scripts and CI can act on it.
    fn exit_code(&self) -> ExitCode;
}

impl Shown for Judged {
    fn to_text(&self, top: usize, verbose: bool, style: &Style) -> String {
        view::text(&self.document(top), top, verbose, style)
    }

    fn exit_code(&self) -> ExitCode {
        if self.is_leak() {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        }
    }
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    let judged = judge(&args.files, ctx)?;
    let args = args.out;
    if let Some(path) = &args.html.html {
        let mut report = Report::from_suspects(&judged.document(args.top));
        report.add_overview(&crate::html_out::overview_of(&judged.loaded));
        report.allocations = crate::html_out::allocations_of(&judged.loaded);
        let report = crate::html_out::titled(report, "suspects");
        let bytes = crate::html_out::write(report, path, args.html.redact)?;
        if !ctx.quiet {
            eprintln!(
                "heaphound: HTML report {} ({})",
                heaphound_model::text::escape_control(&path.display().to_string()),
                heaphound_report::human_size(bytes)
            );
        }
    }
    if args.json {
        emit_json(&judged.document(args.top))?;
    } else {
        emit(&judged.to_text(args.top, args.verbose, &ctx.style))?;
    }
    if let Some(l) = judged.loaded.last() {
        crate::sources::print_notes(&l.sources, ctx.quiet);
    }
    Ok(judged.exit_code())
}
