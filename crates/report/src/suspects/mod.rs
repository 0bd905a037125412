//! `heaphound suspects`: the leak report as a short story per suspect, rendered from the
//! suspects document.

use heaphound_model::suspects::{
    Details, LeakVerdict, Place, SourceLocation, SuspectDoc, SuspectsDoc,
};

use heaphound_model::text::escape_control as esc;

use crate::format::{group, human_delta, human_size, Style};
use crate::summary::short_path;

fn where_text(s: &SuspectDoc) -> String {
    let h = &s.holder;
    let name = &h.name;
    let id = h.object.id;
    if let Details::Timers {
        duration_ms: Some(ms),
        ..
    } = s.details
    {
        return format!("Node's list of {ms} ms timers (TimersList {id})");
    }
    let variable =
        |scope: &str, file: &Option<String>, original: &Option<String>| match (original, file) {
            // The source file leads, the compiled one after it, as for positions.
            (Some(o), Some(file)) => format!(
                "{name} {id} in the {scope} of {} ({})",
                short_path(o),
                short_path(file)
            ),
            (_, Some(file)) => format!("{name} {id} in the {scope} of {}", short_path(file)),
            _ => format!("{name} {id} in a {scope}"),
        };
    match &h.place {
        Place::ModuleVariable {
            file,
            original_file,
            ..
        } => variable("module scope", file, original_file),
        Place::ClosureVariable {
            file,
            original_file,
            ..
        } => variable("closure scope", file, original_file),
        Place::ModuleScope { .. } | Place::ClosureScope { .. } => match &h.variable {
            Some(v) => format!("`{v}` in {name} ({id})"),
            None => format!("{name} ({id})"),
        },
        Place::Global { .. } => format!("{name} {id} on the global object"),
        Place::Member { owner, .. } => format!("{name} {id}, held by {}", owner.label()),
        Place::Unknown => format!("{name} {id}"),
    }
}

fn series_text(values: &[Option<u64>], fmt: impl Fn(u64) -> String) -> String {
    values
        .iter()
        .map(|v| v.map(&fmt).unwrap_or_else(|| "?".into()))
        .collect::<Vec<_>>()
        .join(" → ")
}

fn location_text(r: &SourceLocation) -> String {
    let what = match (&r.function, r.kind.as_str()) {
        (Some(f), "constructor") => format!("class {f}"),
        (Some(f), "allocation") => format!("allocated in {f}"),
        (Some(f), _) => format!("function {f}"),
        (None, "allocation") => "allocated here".into(),
        (None, _) => "anonymous function".into(),
    };
    let at = format!("{}:{}:{}", short_path(&r.file), r.line, r.column);
    match &r.original {
        // The original position leads: it is the line the user wrote.
        Some(o) => format!(
            "{}:{}:{}  {what} ({at})",
            short_path(&o.file),
            o.line,
            o.column
        ),
        None => format!("{at}  {what}"),
    }
}

fn suspect_text(out: &mut String, n: usize, s: &SuspectDoc, verbose: bool, style: &Style) {
    out.push_str(&format!(
        "\n{} {}\n",
        style.bold(&format!("#{n} {}:", s.shape)),
        esc(&s.title)
    ));
    out.push_str(&format!("   held by   {}\n", esc(&where_text(s))));
    if s.counts.len() == 1 {
        // One snapshot: what it keeps; nothing can be said of growth.
        out.push_str(&format!(
            "   keeps     {}: {} objects; retains {}\n",
            esc(&s.class),
            series_text(&s.counts, group),
            series_text(&s.retained_sizes, human_size),
        ));
    } else {
        out.push_str(&format!(
            "   grows     {}: {} objects; retained {} ({})\n",
            esc(&s.class),
            series_text(&s.counts, group),
            series_text(&s.retained_sizes, human_size),
            human_delta(s.retained_growth)
        ));
    }
    if !s.steady && s.counts.len() > 1 {
        out.push_str("   note      not every step grew: weaker evidence\n");
    }
    let lines = &s.retainer_path;
    if !lines.is_empty() {
        let keep = if verbose { lines.len() } else { 7 };
        let cut = lines.len().saturating_sub(keep);
        out.push_str("   path      ");
        if cut > 0 {
            out.push_str(&format!(
                "… {cut} step(s) from a GC root (--verbose shows them)\n             "
            ));
        }
        let lines: Vec<_> = lines[cut..].iter().map(|l| esc(l)).collect();
        out.push_str(&lines.join("\n             "));
        out.push('\n');
    }
    for (k, r) in s.locations.iter().enumerate() {
        if !verbose && k >= 3 {
            break;
        }
        let head = if k == 0 {
            "   source    "
        } else {
            "             "
        };
        out.push_str(&format!("{head}{}\n", esc(&location_text(r))));
    }
    if verbose && !s.allocation_stack.is_empty() {
        out.push_str(&format!(
            "   allocated {}\n",
            s.allocation_stack
                .iter()
                .map(|f| esc(f))
                .collect::<Vec<_>>()
                .join("\n             ← ")
        ));
    }
}

/// The human report: the verdict, then up to `top` suspects (with a leak, the steady
/// ones unless `verbose`), from the document's suspects and the ones after them.
pub fn text(doc: &SuspectsDoc, top: usize, verbose: bool, style: &Style) -> String {
    let mut out = String::new();
    let verdict = match doc.verdict {
        LeakVerdict::Leak => "LEAK",
        LeakVerdict::NoLeak => "NO LEAK",
        LeakVerdict::Inconclusive => "INCONCLUSIVE",
    };
    out.push_str(&format!(
        "{} — {} ({} snapshots)\n",
        style.bold(verdict),
        esc(&doc.reason),
        doc.snapshots.len()
    ));
    out.push_str(&body(doc, top, verbose, style));
    out
}

/// The suspects of `doc` without the verdict line (a postmortem words its own).
pub fn body(doc: &SuspectsDoc, top: usize, verbose: bool, style: &Style) -> String {
    let mut out = String::new();
    if verbose {
        for s in &doc.snapshots {
            out.push_str(&format!(
                "  {}  {} objects, {}\n",
                esc(&s.file),
                group(s.node_count as u64),
                human_size(s.total_size)
            ));
        }
    }
    let all = || doc.suspects.iter().chain(&doc.more);
    let shown: Vec<&SuspectDoc> = all()
        .filter(|s| verbose || s.steady || doc.verdict != LeakVerdict::Leak)
        .take(top)
        .collect();
    if shown.is_empty() {
        return out;
    }
    for (i, s) in shown.iter().enumerate() {
        suspect_text(&mut out, i + 1, s, verbose, style);
    }
    let total = all().count();
    if shown.len() < total && !verbose {
        out.push_str(&style.dim(&format!(
            "\n… {} weaker suspect(s) not shown (--verbose, --top)\n",
            total - shown.len()
        )));
    }
    out
}
