//! `heaphound postmortem DIR|FILE…`: what a crashed (or still running) process left
//! behind, judged per process.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use heaphound_model::postmortem::{CrashDoc, PostmortemDoc, PostmortemKind};
use heaphound_report::html::{Crash, Report, Verdict};
use heaphound_report::human_size;
use heaphound_report::postmortem as view;

use super::{emit, emit_json, Ctx};

#[derive(clap::Args)]
#[command(after_help = "\
Reads what Node leaves when started with --heapsnapshot-near-heap-limit=N,
--heapsnapshot-signal=SIG and --report-on-fatalerror: Heap.<date>.<time>.<pid>.<tid>.<seq>.heapsnapshot
and report.<date>.<time>.<pid>.<tid>.<seq>.json. Files are grouped by PID and ordered as Node
wrote them. The report's environment variables are never read; secret-looking values in its
command line are hidden. Exit 1 when the verdict is a leak, 0 otherwise, 2 on bad input.")]
pub struct Args {
    /// Folders (their files are read, not their subfolders) or files.
    #[arg(required = true, value_name = "DIR|FILE")]
    pub inputs: Vec<PathBuf>,
    #[command(flatten)]
    pub out: super::suspects::Output,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    let dir = args.inputs.first().map(|p| {
        if p.is_dir() {
            p.clone()
        } else {
            p.parent().map(PathBuf::from).unwrap_or_default()
        }
    });
    let maps = ctx.sources.maps_in(dir.as_deref());
    let quiet = ctx.quiet;
    let open = |path: &str| crate::load::open_postmortem(path, quiet, &maps);
    let doc =
        heaphound_capture::postmortem::run(&args.inputs, &open, args.out.top, &view::hide_secrets)?;
    let args = args.out;
    if let Some(path) = &args.html.html {
        let bytes = crate::html_out::write(page(&doc), path, args.html.redact)?;
        if !ctx.quiet {
            eprintln!(
                "heaphound: HTML report {} ({})",
                heaphound_model::text::escape_control(&path.display().to_string()),
                human_size(bytes)
            );
        }
    }
    if args.json {
        emit_json(&doc)?;
    } else {
        emit(&view::text(&doc, args.top, args.verbose, &ctx.style))?;
    }
    crate::sources::print_notes(&maps, ctx.quiet);
    Ok(if doc.verdict.kind == PostmortemKind::Leak {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The page of the process the verdict is about: its suspects and how it ended.
fn page(doc: &PostmortemDoc) -> Report {
    let p = doc
        .processes
        .iter()
        .find(|p| p.pid == doc.verdict.pid)
        .or(doc.processes.first());
    let mut r = match p.and_then(|p| p.suspects.as_ref()) {
        Some(s) => Report::from_suspects(s),
        None => Report::default(),
    };
    r.title = match p.and_then(|p| p.pid) {
        Some(pid) => format!("heaphound postmortem: PID {pid}"),
        None => "heaphound postmortem".into(),
    };
    let v = &doc.verdict;
    r.verdict = Some(Verdict {
        verdict: v.kind.as_str().into(),
        reason: match &v.needed {
            Some(n) => format!("{}. Next time: {n}", v.reason),
            None => v.reason.clone(),
        },
        leaked_objects: None,
        leaked_bytes: None,
    });
    for a in p.map(|p| p.artifacts.as_slice()).unwrap_or_default() {
        r.facts.push((
            "file".into(),
            format!("{} ({})", a.file, human_size(a.bytes)),
        ));
    }
    r.crash = p.and_then(|p| p.crash.as_ref()).map(crash_rows);
    r
}

fn crash_rows(c: &CrashDoc) -> Crash {
    let mut rows = vec![
        ("event".to_string(), format!("{} ({})", c.event, c.trigger)),
        ("report".to_string(), c.report.clone()),
    ];
    if let Some(t) = &c.time {
        rows.push(("time".into(), t.clone()));
    }
    let h = &c.heap;
    if h.limit > 0 {
        rows.push((
            "heap".into(),
            format!(
                "{} used of a {} limit ({} committed, {} external)",
                human_size(h.used),
                human_size(h.limit),
                human_size(h.total),
                human_size(h.external)
            ),
        ));
        for s in h.spaces.iter().filter(|s| s.used > 0) {
            rows.push((
                s.name.clone(),
                format!("{} used of {}", human_size(s.used), human_size(s.size)),
            ));
        }
    }
    if let Some(rss) = c.rss {
        rows.push(("rss".into(), human_size(rss)));
    }
    if let Some(v) = &c.node_version {
        rows.push(("node".into(), v.clone()));
    }
    if let Some(u) = c.uptime_s {
        rows.push(("uptime".into(), format!("about {u} s")));
    }
    if !c.command_line.is_empty() {
        rows.push(("command".into(), c.command_line.join(" ")));
    }
    Crash {
        rows,
        stack: c.js_stack.clone(),
    }
}
