use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use heaphound_report::html::{ClassTable, DomNode, Report};
use heaphound_report::human_size;
use serde_json::{json, Value};

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

fn read_doc(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError(format!("{}: cannot read: {e}", path.display())))?;
    let doc: Value = serde_json::from_str(&text)
        .map_err(|e| InputError(format!("{}: not valid JSON: {e}", path.display())))?;
    if doc.get("verdict").is_none() && doc.get("suspects").is_none() {
        return Err(InputError(format!(
            "{}: not a heaphound report (no `verdict` or `suspects`; expected report.json of a run folder or `suspects --json` output)",
            path.display()
        ))
        .into());
    }
    Ok(doc)
}

/// The snapshots a document names, when they are all still there.
fn snapshot_files(doc: &Value, dir: &Path) -> Option<Vec<String>> {
    let files: Vec<String> = doc["snapshots"]
        .as_array()?
        .iter()
        .filter_map(|s| s["file"].as_str())
        .map(|f| {
            // As written (from where the run was started), then beside the report: run
            // folders get moved.
            let p = Path::new(f);
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
    let mut doc = read_doc(&json_path)?;
    let warn = |m: &str| {
        if !ctx.quiet {
            eprintln!("heaphound: {}", heaphound_model::text::terminal_safe(m));
        }
    };
    let mut report = Report::from_json(&doc);
    let mut computed = false;
    if report.classes.is_none() || report.dominators.is_none() {
        match snapshot_files(&doc, &dir) {
            Some(files) => {
                // Only the first and the last are needed for these two summaries.
                let ends = [files[0].clone(), files[files.len() - 1].clone()];
                let loaded = load_all(&ends, ctx.quiet)?;
                html_out::add_overview(&mut doc, &loaded);
                report.classes = ClassTable::from_json(&doc["class_comparison"]);
                report.dominators = DomNode::from_json(&doc["dominator_tree"]);
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
    let present = json!({
        "verdict": report.verdict.is_some(),
        "suspects": report.suspects.as_ref().map(Vec::len),
        "memory": report.memory.as_ref().map(|m| m.samples.len()),
        "classes": report.classes.as_ref().map(|c| c.rows.len()),
        "dominators": report.dominators.is_some(),
        "allocations": report.allocations.is_some(),
    });
    let bytes = html_out::write(report, &args.out, args.redact)?;
    if args.json {
        emit_json(&json!({
            "schema_version": heaphound_report::SCHEMA_VERSION,
            "input": json_path.to_string_lossy(),
            "html": args.out.to_string_lossy(),
            "bytes": bytes,
            "redacted": args.redact,
            "computed_from_snapshots": computed,
            "sections": present,
        }))?;
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
