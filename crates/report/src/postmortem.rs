//! `heaphound postmortem`: per process, how it ended (the crash report), the verdict, and
//! the suspects of its snapshots.

use heaphound_model::postmortem::{
    ArtifactKind, CrashDoc, PostmortemDoc, PostmortemKind, PostmortemVerdict, ProcessDoc,
};
use heaphound_model::text::escape_control as esc;

use crate::format::{group, human_size, Style};
use crate::html::redact::Redactor;

/// Secret-looking values (tokens, keys, passwords in URLs or `--flag=value`) in a text
/// from a report, replaced by their length and a hash, as the HTML report hides them.
pub fn hide_secrets(text: &str) -> String {
    let mut r = Redactor::new();
    r.find_secrets(text);
    r.hide_secrets(text)
}

pub fn verdict_word(k: PostmortemKind) -> &'static str {
    match k {
        PostmortemKind::Leak => "LEAK",
        PostmortemKind::OffHeap => "OFF-HEAP",
        PostmortemKind::HeapLimitTooSmall => "HEAP LIMIT TOO SMALL",
        PostmortemKind::Inconclusive => "INCONCLUSIVE",
    }
}

fn verdict_line(v: &PostmortemVerdict, style: &Style) -> String {
    let sure = if v.kind == PostmortemKind::Inconclusive {
        String::new()
    } else {
        format!(" ({:.0}% confidence)", v.confidence * 100.0)
    };
    let mut out = format!(
        "{}{sure} — {}\n",
        style.bold(verdict_word(v.kind)),
        esc(&v.reason)
    );
    if let Some(n) = &v.needed {
        out.push_str(&format!("   next time {}\n", esc(n)));
    }
    out
}

fn crash_text(out: &mut String, c: &CrashDoc) {
    let what = if c.fatal { "crash" } else { "report" };
    out.push_str(&format!(
        "   {what:<9} {} ({}){}\n",
        esc(&c.event),
        esc(&c.trigger),
        c.time
            .as_ref()
            .map(|t| format!(" at {}", esc(t)))
            .unwrap_or_default()
    ));
    let h = &c.heap;
    if h.limit > 0 {
        out.push_str(&format!(
            "   heap      {} used of a {} limit ({} committed, {} external)\n",
            human_size(h.used),
            human_size(h.limit),
            human_size(h.total),
            human_size(h.external)
        ));
        let mut spaces: Vec<_> = h.spaces.iter().filter(|s| s.used > 0).collect();
        spaces.sort_by_key(|s| std::cmp::Reverse(s.used));
        if !spaces.is_empty() {
            let list: Vec<String> = spaces
                .iter()
                .map(|s| format!("{} {}", esc(&s.name), human_size(s.used)))
                .collect();
            out.push_str(&format!("   spaces    {}\n", list.join(", ")));
        }
    }
    if let Some(rss) = c.rss {
        out.push_str(&format!(
            "   rss       {}{}{}\n",
            human_size(rss),
            c.max_rss
                .map(|m| format!(" (peak {})", human_size(m)))
                .unwrap_or_default(),
            c.constrained_memory
                .map(|m| format!("; cgroup limit {}", human_size(m)))
                .unwrap_or_default()
        ));
    }
    if !c.js_stack.is_empty() {
        let frames: Vec<String> = c
            .js_stack
            .iter()
            .take(5)
            .map(|f| esc(f).into_owned())
            .collect();
        out.push_str(&format!(
            "   stack     {}\n",
            frames.join("\n             ")
        ));
    } else if c.heap_out_of_memory {
        out.push_str("   stack     none (V8 records no JS stack when the heap runs out)\n");
    }
    let mut facts = Vec::new();
    if let Some(v) = &c.node_version {
        facts.push(format!("Node {}", esc(v)));
    }
    if let Some(u) = c.uptime_s {
        facts.push(format!("up about {u} s"));
    }
    if !facts.is_empty() {
        out.push_str(&format!("   process   {}\n", facts.join(", ")));
    }
    if !c.command_line.is_empty() {
        let cmd: Vec<String> = c.command_line.iter().map(|a| esc(a).into_owned()).collect();
        out.push_str(&format!("   command   {}\n", cmd.join(" ")));
    }
    if !c.handles.is_empty() {
        let list: Vec<String> = c
            .handles
            .iter()
            .map(|h| format!("{} {} ({} active)", group(h.count), esc(&h.kind), h.active))
            .collect();
        out.push_str(&format!("   handles   {}\n", list.join(", ")));
    }
}

/// `alone`: the only process, whose verdict the first line already gave.
fn process_text(
    out: &mut String,
    p: &ProcessDoc,
    alone: bool,
    top: usize,
    verbose: bool,
    style: &Style,
) {
    let pid = p
        .pid
        .map(|p| format!("PID {p}"))
        .unwrap_or_else(|| "files that name no PID".into());
    let snaps = p
        .artifacts
        .iter()
        .filter(|a| a.kind == ArtifactKind::HeapSnapshot)
        .count();
    let reports = p.artifacts.len() - snaps;
    out.push_str(&format!(
        "\n{}: {snaps} snapshot(s), {reports} report(s)\n",
        style.bold(&pid)
    ));
    for a in &p.artifacts {
        out.push_str(&style.dim(&format!(
            "   {}  {}{}\n",
            esc(&a.file),
            human_size(a.bytes),
            a.written
                .as_ref()
                .map(|w| format!(", written {}", esc(w)))
                .unwrap_or_default()
        )));
    }
    if let Some(c) = &p.crash {
        crash_text(out, c);
    }
    if !alone {
        out.push_str("   verdict   ");
        out.push_str(&verdict_line(&p.verdict, style));
    }
    if let Some(s) = &p.suspects {
        let body = crate::suspects::body(s, top, verbose, style);
        for line in body.lines() {
            if line.is_empty() {
                out.push('\n');
            } else {
                out.push_str(&format!("   {line}\n"));
            }
        }
    }
}

pub fn text(doc: &PostmortemDoc, top: usize, verbose: bool, style: &Style) -> String {
    let mut out = verdict_line(&doc.verdict, style);
    for p in &doc.processes {
        process_text(&mut out, p, doc.processes.len() == 1, top, verbose, style);
    }
    if !doc.skipped.is_empty() {
        out.push_str(&format!("\n{}\n", style.bold("not used")));
        for s in &doc.skipped {
            out.push_str(&format!("   {}: {}\n", esc(&s.file), esc(&s.why)));
        }
    }
    out
}
