//! `heaphound gclog FILE|-`: read `node --trace-gc` output and judge the post-GC floor.

use std::io::{BufRead, BufReader, Read};
use std::process::ExitCode;

use anyhow::Result;
use flate2::read::MultiGzDecoder;
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

/// V8's trace-gc lines are under 1 KiB. A longer line is not one of them, and holding it
/// whole would let one line without a newline take all memory: it is skipped and counted.
const MAX_LINE: usize = 64 << 10;

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    let name = label(&args.file);
    let source: Box<dyn Read> = if args.file == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(
            std::fs::File::open(&args.file)
                .map_err(|e| InputError(format!("{name}: cannot read: {e}")))?,
        )
    };
    let log = read_log(source, MAX_LINE).map_err(|e| InputError(format!("{name}: {e}")))?;
    let report = gclog::analyse(&log);
    let doc = gclog::document(&name, &log, &report);
    if args.json {
        emit_json(&serde_json::to_value(&doc)?)?;
    } else {
        emit(&gclog_text(&doc, &ctx.style))?;
    }
    Ok(exit_code(report.verdict.kind))
}

/// Reads a log as a stream, gzipped or not (rotated logs often are), one line at a time.
fn read_log(mut source: impl Read, max_line: usize) -> Result<gclog::GcLog, String> {
    let mut head = [0u8; 2];
    let mut got = 0;
    while got < 2 {
        match source.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("cannot read: {e}")),
        }
    }
    let plain = BufReader::with_capacity(1 << 16, (&head[..got]).chain(source));
    let mut parser = gclog::Parser::default();
    if got == 2 && head == [0x1f, 0x8b] {
        let unzipped = BufReader::with_capacity(1 << 16, MultiGzDecoder::new(plain));
        lines(unzipped, max_line, &mut parser)
            .map_err(|e| format!("not a readable gzip file: {e}"))?;
    } else {
        lines(plain, max_line, &mut parser).map_err(|e| format!("cannot read: {e}"))?;
    }
    parser.finish().map_err(|e| e.to_string())
}

/// Hands each line to `parser`; a line longer than `max` is dropped as it streams past.
fn lines(mut src: impl BufRead, max: usize, parser: &mut gclog::Parser) -> std::io::Result<()> {
    let mut line = Vec::new();
    let mut long = false;
    let mut end_line = |line: &mut Vec<u8>, long: &mut bool| {
        if *long {
            parser.long_line();
        } else {
            // Program output may be in any encoding; GC lines are ASCII.
            let text = String::from_utf8_lossy(line);
            parser.line(text.strip_suffix('\r').unwrap_or(&text));
        }
        line.clear();
        *long = false;
    };
    loop {
        let buf = match src.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            break;
        }
        let newline = memchr::memchr(b'\n', buf);
        let chunk = &buf[..newline.unwrap_or(buf.len())];
        if !long {
            if line.len() + chunk.len() > max {
                long = true;
                line = Vec::new();
            } else {
                line.extend_from_slice(chunk);
            }
        }
        let used = newline.map_or(buf.len(), |i| i + 1);
        src.consume(used);
        if newline.is_some() {
            end_line(&mut line, &mut long);
        }
    }
    if long || !line.is_empty() {
        end_line(&mut line, &mut long);
    }
    Ok(())
}

/// 1 for a leak, 0 for anything else.
pub fn exit_code(kind: VerdictKind) -> ExitCode {
    if kind == VerdictKind::Leak {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GC: &str = "[11816:0x1f0ab000]       15 ms: Scavenge 4.4 (5.1) -> 3.7 (6.1) MB, pooled: 0 MB, 0.69 / 0.00 ms  (average mu = 1.000, current mu = 1.000) allocation failure; ";

    #[test]
    fn a_long_line_is_counted_across_buffer_refills_and_numbering_goes_on() {
        let long = "z".repeat(300);
        let text = format!(
            "{GC}\r\n{long}\n\n{}\n{long}",
            GC.replace(" 15 ms", " 25 ms")
        );
        let mut p = gclog::Parser::default();
        // A 7-byte buffer makes every line arrive in pieces.
        lines(BufReader::with_capacity(7, text.as_bytes()), 200, &mut p).unwrap();
        let log = p.finish().unwrap();
        assert_eq!(
            (log.lines, log.long_lines, log.skipped, log.events.len()),
            (5, 2, 1, 2)
        );
        assert_eq!(log.events[1].line, 4);
        assert_eq!(log.events[0].reason, "allocation failure");
    }
}
