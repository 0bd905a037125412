//! `heaphound gclog FILE|-`: read `node --trace-gc` output and judge the post-GC floor.

use std::io::Read;
use std::process::ExitCode;

use anyhow::Result;
use heaphound_analysis::gclog;
use heaphound_analysis::trend::VerdictKind;
use heaphound_report::trend::gclog_text;

use super::{emit, emit_json, Ctx};
use crate::load::{label, InputError};

#[derive(clap::Args)]
#[command(after_help = "\
Examples:
  node --trace-gc app.js > gc.log; heaphound gclog gc.log
  node --trace-gc app.js | heaphound gclog -
  heaphound gclog gc.log.gz

Lines that are not GC lines (the program's own output) are skipped. Node 18 to 24 formats
are read, and --trace-gc-nvp too. Exit codes: 0 no leak, 1 leak, 2 unreadable input or no
GC lines.")]
pub struct Args {
    /// A file of `node --trace-gc` output (gzipped or not), or `-` for stdin.
    pub file: String,
    /// Print one JSON document instead of the report.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    let name = label(&args.file);
    let bytes = if args.file == "-" {
        let mut b = Vec::new();
        std::io::stdin()
            .read_to_end(&mut b)
            .map_err(|e| InputError(format!("{name}: cannot read: {e}")))?;
        b
    } else {
        std::fs::read(&args.file).map_err(|e| InputError(format!("{name}: cannot read: {e}")))?
    };
    // Rotated logs are often gzipped.
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut plain = Vec::new();
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_end(&mut plain)
            .map_err(|e| InputError(format!("{name}: not a readable gzip file: {e}")))?;
        plain
    } else {
        bytes
    };
    // Program output may be in any encoding; GC lines are ASCII.
    let text = String::from_utf8_lossy(&bytes);
    let log = gclog::parse(&text).map_err(|e| InputError(format!("{name}: {e}")))?;
    let report = gclog::analyse(&log);
    let doc = gclog::document(&name, &log, &report);
    if args.json {
        emit_json(&serde_json::to_value(&doc)?)?;
    } else {
        emit(&gclog_text(&doc, &ctx.style))?;
    }
    Ok(exit_code(report.verdict.kind))
}

/// 1 for a leak, 0 for anything else.
pub fn exit_code(kind: VerdictKind) -> ExitCode {
    if kind == VerdictKind::Leak {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
