//! The report's sections as HTML: suspects with their retainer chains, the class
//! comparison, the dominator tree. Everything is readable without scripts; the table
//! carries `data-v` sort keys for the script that sorts and filters it.

use super::esc;
use super::model::{ChainItem, ClassTable, Crash, DomNode, Object, SourceLink, Suspect};
use crate::diff::signed;
use crate::format::{group, human_delta, human_size};
use crate::summary::short_path;

fn object_box(o: &Object) -> String {
    let mut s = format!("<span class=\"cls\">{}</span>", esc(&o.class));
    if !o.name.is_empty() && o.name != o.class {
        let shown: String = o.name.chars().take(80).collect();
        let cut = if o.name.chars().count() > 80 {
            "…"
        } else {
            ""
        };
        s.push_str(&format!(
            " <span class=\"nm\">\"{}{cut}\"</span>",
            esc(&shown)
        ));
    }
    if let Some(id) = o.id {
        s.push_str(&format!(" <span class=\"id\">@{id}</span>"));
    }
    if let Some(r) = o.retained_size {
        s.push_str(&format!(
            " <span class=\"sz\">{}</span>",
            esc(&human_size(r))
        ));
    }
    s
}

fn source_link(l: &SourceLink) -> String {
    let mut at = short_path(&l.file);
    if let Some(line) = l.line {
        at.push_str(&format!(":{line}"));
        if let Some(c) = l.column {
            at.push_str(&format!(":{c}"));
        }
    }
    let what = match (&l.function, l.kind.as_str()) {
        (Some(f), "constructor") => format!("class {f}"),
        (Some(f), "allocation") => format!("allocated in {f}"),
        (Some(f), _) => format!("function {f}"),
        (None, "allocation") => "allocated here".into(),
        (None, _) => "anonymous function".into(),
    };
    let path = l.file.strip_prefix("file://").unwrap_or(&l.file);
    let link = if path.starts_with('/') {
        format!(
            "<a href=\"file://{}\" title=\"{}\">{}</a>",
            esc(path),
            esc(&l.file),
            esc(&at)
        )
    } else {
        format!("<code title=\"{}\">{}</code>", esc(&l.file), esc(&at))
    };
    let generated = l
        .generated
        .as_ref()
        .map(|g| format!(" <span class=\"muted\">({})</span>", esc(g)))
        .unwrap_or_default();
    format!(
        "<li>{link} <span class=\"muted\">{}</span>{generated}</li>",
        esc(&what)
    )
}

fn series(values: &[Option<u64>], f: impl Fn(u64) -> String) -> String {
    values
        .iter()
        .map(|v| v.map(&f).unwrap_or_else(|| "?".into()))
        .collect::<Vec<_>>()
        .join(" → ")
}

pub fn suspects(list: &[Suspect]) -> String {
    if list.is_empty() {
        return "<p class=\"muted\">No suspect: nothing grew in a way that points at a leak.</p>"
            .into();
    }
    let mut s = String::new();
    for x in list {
        s.push_str(&format!(
            "<article class=\"suspect\" id=\"suspect-{}\"><h3><span class=\"rank\">#{}</span> <span class=\"shape\">{}</span> {}</h3>",
            x.rank,
            x.rank,
            esc(&x.shape),
            esc(&x.title)
        ));
        s.push_str("<dl class=\"facts\">");
        s.push_str(&format!("<dt>held by</dt><dd>{}</dd>", esc(&x.holder)));
        s.push_str(&format!(
            "<dt>grows</dt><dd>{}: {} objects; retained {} ({})</dd>",
            esc(&x.class),
            esc(&series(&x.counts, group)),
            esc(&series(&x.retained_sizes, human_size)),
            esc(&human_delta(x.retained_growth))
        ));
        if !x.steady {
            s.push_str("<dt>note</dt><dd>not every step grew: weaker evidence</dd>");
        }
        s.push_str("</dl>");
        if !x.chain.is_empty() {
            s.push_str("<h4>Retainer path, from a GC root</h4><ol class=\"chain\">");
            for item in &x.chain {
                match item {
                    ChainItem::Object { edge, object } => {
                        if let Some(e) = edge {
                            s.push_str(&format!(
                                "<li class=\"edge\"><span>{}</span></li>",
                                esc(e)
                            ));
                        }
                        s.push_str(&format!("<li class=\"box\">{}</li>", object_box(object)));
                    }
                    ChainItem::Repeat { references, times } => s.push_str(&format!(
                        "<li class=\"repeat\">the {references} reference(s) before repeat {times} times in all</li>"
                    )),
                }
            }
            s.push_str("</ol>");
        }
        if !x.locations.is_empty() {
            s.push_str("<h4>Source</h4><ul class=\"sources\">");
            for l in &x.locations {
                s.push_str(&source_link(l));
            }
            s.push_str("</ul>");
        }
        if !x.allocation_stack.is_empty() {
            s.push_str("<h4>Allocated at</h4><ol class=\"stack\">");
            for f in &x.allocation_stack {
                s.push_str(&format!("<li><code>{}</code></li>", esc(f)));
            }
            s.push_str("</ol>");
        }
        s.push_str("</article>");
    }
    s
}

fn num_cell(v: i64, text: String) -> String {
    format!("<td class=\"n\" data-v=\"{v}\">{}</td>", esc(&text))
}

/// A postmortem's crash: what the diagnostic report says, as a table of facts and the
/// top frames.
pub fn crash(c: &Crash) -> String {
    let mut s = String::from("<table class=\"facts\"><tbody>");
    for (k, v) in &c.rows {
        s.push_str(&format!("<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v)));
    }
    s.push_str("</tbody></table>");
    if !c.stack.is_empty() {
        s.push_str("<p class=\"muted\">Top JavaScript frames, innermost first:</p><pre>");
        let frames: Vec<String> = c.stack.iter().map(|f| esc(f)).collect();
        s.push_str(&frames.join("\n"));
        s.push_str("</pre>");
    }
    s
}

pub fn classes(t: &ClassTable) -> String {
    let mut s = format!(
        "<p class=\"muted\">{} → {}: the {} of {} classes whose retained size grew most.</p>",
        esc(&short_path(&t.before)),
        esc(&short_path(&t.after)),
        t.rows.len(),
        group(t.class_count)
    );
    s.push_str("<p class=\"js-only\" hidden><label>Filter classes <input type=\"search\" id=\"class-filter\" placeholder=\"Session, Map, (string)…\"></label> <span id=\"class-count\" class=\"muted\"></span></p>");
    s.push_str("<div class=\"scroll\"><table id=\"classes-table\" class=\"sortable\"><thead><tr>");
    for (h, numeric) in [
        ("Class", false),
        ("# New", true),
        ("# Deleted", true),
        ("# Δ", true),
        ("Count", true),
        ("Size Δ", true),
        ("Retained before", true),
        ("Retained after", true),
        ("Retained Δ", true),
        ("Retained growth", true),
    ] {
        s.push_str(&format!(
            "<th{}>{}</th>",
            if numeric { " class=\"n\"" } else { "" },
            esc(h)
        ));
    }
    s.push_str("</tr></thead><tbody>");
    let widest = t
        .rows
        .iter()
        .map(|r| r.retained_delta.unsigned_abs())
        .max()
        .unwrap_or(0)
        .max(1);
    for r in &t.rows {
        let name = match &r.location {
            Some(l) => format!(
                "{} <span class=\"muted\">{}</span>",
                esc(&r.name),
                esc(&short_path(l))
            ),
            None => esc(&r.name),
        };
        s.push_str(&format!(
            "<tr><td data-v=\"{}\">{name}</td>",
            esc(&r.name.to_lowercase())
        ));
        s.push_str(&num_cell(r.new_count, group(r.new_count.max(0) as u64)));
        s.push_str(&num_cell(
            r.deleted_count,
            group(r.deleted_count.max(0) as u64),
        ));
        s.push_str(&num_cell(r.count_delta, signed(r.count_delta)));
        s.push_str(&num_cell(r.count_after, group(r.count_after.max(0) as u64)));
        s.push_str(&num_cell(r.size_delta, human_delta(r.size_delta)));
        s.push_str(&num_cell(
            r.retained_before,
            human_size(r.retained_before.max(0) as u64),
        ));
        s.push_str(&num_cell(
            r.retained_after,
            human_size(r.retained_after.max(0) as u64),
        ));
        s.push_str(&num_cell(r.retained_delta, human_delta(r.retained_delta)));
        let pct = 100.0 * r.retained_delta.unsigned_abs() as f64 / widest as f64;
        s.push_str(&format!(
            "<td class=\"bar\" data-v=\"{}\"><span class=\"{}\" style=\"width:{pct:.1}%\"></span></td></tr>",
            r.retained_delta,
            if r.retained_delta < 0 { "down" } else { "up" }
        ));
    }
    s.push_str("</tbody></table></div>");
    s
}

/// The tree as nested `<details>` (expandable with scripts off); the first levels open.
pub fn dominators(root: &DomNode) -> String {
    let total = root
        .total_size
        .or(root.object.retained_size)
        .unwrap_or(0)
        .max(1);
    enum Step<'a> {
        Open(&'a DomNode, usize),
        Close(u64),
    }
    let mut s = String::from("<div class=\"domtree\">");
    let mut stack = vec![Step::Open(root, 0)];
    while let Some(step) = stack.pop() {
        match step {
            Step::Close(more) => {
                if more > 0 {
                    s.push_str(&format!(
                        "<p class=\"more muted\">… {} smaller dominated object(s) not kept</p>",
                        group(more)
                    ));
                }
                s.push_str("</details>");
            }
            Step::Open(n, level) => {
                let r = n.object.retained_size.unwrap_or(0);
                let pct = 100.0 * r as f64 / total as f64;
                let body = format!(
                    "<span class=\"pct\" style=\"--p:{pct:.1}%\">{pct:.1}%</span> {}",
                    object_box(&n.object)
                );
                if n.children.is_empty() {
                    s.push_str(&format!("<div class=\"leaf\">{body}</div>"));
                    continue;
                }
                s.push_str(&format!(
                    "<details{}><summary>{body}</summary>",
                    if level < 2 { " open" } else { "" }
                ));
                stack.push(Step::Close(n.more_children));
                for c in n.children.iter().rev() {
                    stack.push(Step::Open(c, level + 1));
                }
            }
        }
    }
    s.push_str("</div>");
    s
}
