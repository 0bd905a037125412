use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use heaphound_model::page::{ReportWritten, Sections};
use heaphound_model::run::RunReport;
use heaphound_model::suspects::SuspectsDoc;
use heaphound_report::html::{ClassTable, DomNode, Report};
use heaphound_report::human_size;
use serde::Deserialize;

use super::{emit, emit_json, Ctx};
use crate::html_out;
use crate::load::{load_all, InputError};

#[derive(clap::Args)]
pub struct Args {
    /// A run folder of `hunt`/`attach`, or a report.json (or any `suspects --json` output).
    pub input: PathBuf,
    /// Where to write the HTML report.
    #[arg(long, short = 'o', value_name = "FILE", default_value = "report.html")]
    pub out: PathBuf,
    /// Hide string contents, property values and anything that looks like a secret (their
    /// length and a hash instead).
    #[arg(long)]
    pub redact: bool,
    /// Print one JSON document (what was written) instead of a line.
    #[arg(long)]
    pub json: bool,
}

/// What `report` draws: a run's report.json, or a bare `suspects --json` document.
enum Input {
    Run(Box<RunReport>),
    Suspects(SuspectsDoc),
}

impl Input {
    fn suspects(&self) -> &SuspectsDoc {
        match self {
            Input::Run(r) => &r.suspects,
            Input::Suspects(s) => s,
        }
    }
}

fn read_doc(path: &Path) -> Result<Input> {
    let bytes = std::fs::read(path)
        .map_err(|e| InputError(format!("{}: cannot read: {e}", path.display())))?;
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| InputError(format!("{}: not valid JSON: {e}", path.display())))?;
    if let Ok(run) = RunReport::deserialize(&value) {
        return Ok(Input::Run(Box::new(run)));
    }
    SuspectsDoc::deserialize(&value)
        .map(Input::Suspects)
        .map_err(|e| {
            InputError(format!(
                "{}: not a heaphound report ({e}; expected report.json of a run folder or `suspects --json` output)",
                path.display()
            ))
            .into()
        })
}

/// The snapshots a document names, when they are all still there.
fn snapshot_files(doc: &SuspectsDoc, dir: &Path) -> Option<Vec<String>> {
    let files: Vec<String> = doc
        .snapshots
        .iter()
        .map(|s| {
            // As written (from where the run was started), then beside the report: run
            // folders get moved.
            let p = Path::new(&s.file);
            let beside = p.file_name().map(|n| dir.join(n));
            [Some(p.to_path_buf()), Some(dir.join(p)), beside]
                .into_iter()
                .flatten()
                .find(|c| c.is_file())
                .unwrap_or_else(|| p.to_path_buf())
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    (files.len() >= 2 && files.iter().all(|f| Path::new(f).is_file())).then_some(files)
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    let (json_path, dir) = if args.input.is_dir() {
        let p = args.input.join("report.json");
        if !p.is_file() {
            return Err(InputError(format!(
                "{}: no report.json in this folder (hunt and attach write it at the end of a run)",
                args.input.display()
            ))
            .into());
        }
        (p, args.input.clone())
    } else {
        let dir = args
            .input
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        (args.input.clone(), dir)
    };
    let doc = read_doc(&json_path)?;
    let warn = |m: &str| {
        if !ctx.quiet {
            eprintln!("heaphound: {}", heaphound_model::text::terminal_safe(m));
        }
    };
    let mut report = match &doc {
        Input::Run(r) => Report::from_run(r),
        Input::Suspects(s) => Report::from_suspects(s),
    };
    let mut computed = false;
    if report.classes.is_none() || report.dominators.is_none() {
        match snapshot_files(doc.suspects(), &dir) {
            Some(files) => {
                // Only the first and the last are needed for these two summaries.
                let ends = [files[0].clone(), files[files.len() - 1].clone()];
                let maps = ctx.sources.maps_for(&ends);
                let loaded = load_all(&ends, ctx.quiet, &maps)?;
                let overview = html_out::overview_of(&loaded);
                report.classes = overview.class_comparison.as_ref().map(ClassTable::of);
                report.dominators = overview.dominator_tree.as_ref().and_then(DomNode::of);
                report.allocations = html_out::allocations_of(&loaded);
                computed = true;
            }
            None => warn(&format!(
                "{}: no class comparison or dominator tree in it, and its snapshots are gone; the report says so",
                json_path.display()
            )),
        }
    }
    html_out::from_run_dir(&mut report, &dir, &warn);
    let report = html_out::titled(report, "report");
    let count = |n: usize| n as u64;
    let sections = Sections {
        verdict: report.verdict.is_some(),
        suspects: report.suspects.as_ref().map(|s| count(s.len())),
        memory: report.memory.as_ref().map(|m| count(m.samples.len())),
        classes: report.classes.as_ref().map(|c| count(c.rows.len())),
        dominators: report.dominators.is_some(),
        allocations: report.allocations.is_some(),
    };
    let bytes = html_out::write(report, &args.out, args.redact)?;
    if args.json {
        emit_json(&ReportWritten {
            schema_version: heaphound_model::SCHEMA_VERSION,
            input: json_path.to_string_lossy().into_owned(),
            html: args.out.to_string_lossy().into_owned(),
            bytes,
            redacted: args.redact,
            computed_from_snapshots: computed,
            sections,
        })?;
    } else {
        emit(&format!(
            "{} written ({}{})\n",
            args.out.display(),
            human_size(bytes),
            if args.redact { ", redacted" } else { "" }
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}
