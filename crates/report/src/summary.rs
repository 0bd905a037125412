//! `heaphound summary`: objects grouped by class, as in DevTools' Summary view.

use std::collections::HashMap;

use heaphound_analysis::{Analysis, ClassInfo, ClassSummary, GraphFacts};
use serde_json::{json, Value};

use crate::format::{group, human_size, Align, Style, Table};
use crate::SCHEMA_VERSION;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Retained,
    Shallow,
    Count,
}

/// Sorts rows, largest first; equal rows by name so output is stable.
pub fn sort_rows(a: &Analysis, rows: &mut [ClassSummary], key: SortKey) {
    rows.sort_by(|x, y| {
        let k = |r: &ClassSummary| match key {
            SortKey::Retained => r.retained_size,
            SortKey::Shallow => r.shallow_size,
            SortKey::Count => r.count,
        };
        k(y).cmp(&k(x)).then_with(|| {
            a.classes.classes[x.class as usize]
                .name
                .cmp(&a.classes.classes[y.class as usize].name)
        })
    });
}

/// `{"script_id","file","line","column"}` for located classes; 1-based like editors.
fn position_json(a: &Analysis, class: u32, scripts: &HashMap<u32, String>) -> Value {
    class_position_json(&a.classes.classes[class as usize], scripts)
}

/// `{"script_id","file","line","column"}` of a located class, null for others.
pub fn class_position_json(info: &ClassInfo, scripts: &HashMap<u32, String>) -> Value {
    match info.position {
        None => Value::Null,
        Some(p) => json!({
            "script_id": p.script_id,
            "file": scripts.get(&p.script_id),
            "line": p.line + 1,
            "column": p.column + 1,
        }),
    }
}

pub struct SummaryDoc<'a> {
    pub file: &'a str,
    pub rows: &'a [ClassSummary],
    /// Classes before --top/--filter cut the list.
    pub total_classes: usize,
}

pub fn to_json(facts: &GraphFacts, a: &Analysis, doc: &SummaryDoc) -> Value {
    let scripts = &facts.scripts;
    let classes: Vec<Value> = doc
        .rows
        .iter()
        .map(|r| {
            let mut v = json!({
                "name": a.classes.classes[r.class as usize].name,
                "count": r.count,
                "shallow_size": r.shallow_size,
                "retained_size": r.retained_size,
                "distance": r.distance,
            });
            let pos = position_json(a, r.class, scripts);
            if !pos.is_null() {
                v["location"] = pos;
            }
            v
        })
        .collect();
    json!({
        "schema_version": SCHEMA_VERSION,
        "file": doc.file,
        "node_count": facts.node_count,
        "edge_count": facts.edge_count,
        "total_size": a.total_size,
        "class_count": doc.total_classes,
        "unreachable_nodes": a.unreachable,
        "classes": classes,
    })
}

pub fn to_text(facts: &GraphFacts, a: &Analysis, doc: &SummaryDoc, style: &Style) -> String {
    let scripts = &facts.scripts;
    let mut out = format!(
        "{}  {} objects, {} edges, total {}\n\n",
        style.bold(doc.file),
        group(facts.node_count as u64),
        group(facts.edge_count as u64),
        human_size(a.total_size)
    );
    let total = a.total_size.max(1) as f64;
    let mut t = Table::new(&[
        ("Class", Align::Left),
        ("Count", Align::Right),
        ("Shallow", Align::Right),
        ("Retained", Align::Right),
        ("%", Align::Right),
        ("Distance", Align::Right),
    ])
    .max_width(120);
    for r in doc.rows {
        t.row(vec![
            class_label(&a.classes.classes[r.class as usize], scripts),
            group(r.count),
            human_size(r.shallow_size),
            human_size(r.retained_size),
            format!("{:.1}", 100.0 * r.retained_size as f64 / total),
            r.distance.map(distance_text).unwrap_or_else(|| "-".into()),
        ]);
    }
    out.push_str(&t.render(style));
    if doc.rows.len() < doc.total_classes {
        out.push_str(&style.dim(&format!(
            "… {} of {} classes shown (--top, --filter)\n",
            doc.rows.len(),
            doc.total_classes
        )));
    }
    out
}

/// A class's name for tables; located classes carry `(dir/file.js:line)`.
pub fn class_label(info: &ClassInfo, scripts: &HashMap<u32, String>) -> String {
    match info.position {
        None => info.name.clone(),
        Some(p) => {
            let file = scripts
                .get(&p.script_id)
                .map(|s| short_path(s))
                .unwrap_or_else(|| format!("script {}", p.script_id));
            format!("{} ({file}:{})", info.name, p.line + 1)
        }
    }
}

/// DevTools shows objects reached only through VM internals with no distance.
pub fn distance_text(d: u32) -> String {
    if d >= heaphound_analysis::BASE_SYSTEM_DISTANCE {
        "-".into()
    } else {
        d.to_string()
    }
}

/// The last two components of a script path keep tables narrow.
pub fn short_path(p: &str) -> String {
    let p = p.strip_prefix("file://").unwrap_or(p);
    let parts: Vec<&str> = p.rsplitn(3, '/').collect();
    if parts.len() >= 3 {
        format!("{}/{}", parts[1], parts[0])
    } else {
        p.to_owned()
    }
}
