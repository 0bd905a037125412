//! `heaphound diff`: DevTools' Comparison view, plus retained-size deltas, and for three
//! snapshots the objects allocated between the first two that are still alive in the last.

use std::collections::HashMap;

use heaphound_analysis::diff::ClassDiff;
use heaphound_analysis::{ClassInfo, ClassSummary};
use serde_json::{json, Value};

use crate::format::{group, human_delta, human_size, Align, Style, Table};
use crate::summary::{class_label, class_position_json};
use crate::SCHEMA_VERSION;

/// One pair of snapshots compared.
pub struct Comparison<'a> {
    pub before: &'a str,
    pub after: &'a str,
    /// Rows to show, already sorted and cut.
    pub rows: &'a [ClassDiff],
    /// Rows before `--top`/`--filter` cut the list.
    pub total_rows: usize,
    /// Script names of the later snapshot, for located classes.
    pub scripts: &'a HashMap<u32, String>,
}

/// Objects of the last snapshot whose ids fall in `(min_id, max_id]`: allocated after the
/// first snapshot was taken and no later than the second.
pub struct Between<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub alive_in: &'a str,
    pub min_id: u32,
    pub max_id: u32,
    pub rows: &'a [(ClassInfo, ClassSummary)],
    pub total_rows: usize,
    pub scripts: &'a HashMap<u32, String>,
}

/// A class that grew across every consecutive pair.
pub struct Growing {
    pub class: ClassInfo,
    pub count_deltas: Vec<i64>,
    pub size_deltas: Vec<i64>,
}

fn with_location(mut v: Value, info: &ClassInfo, scripts: &HashMap<u32, String>) -> Value {
    let pos = class_position_json(info, scripts);
    if !pos.is_null() {
        v["location"] = pos;
    }
    v
}

fn diff_row_json(r: &ClassDiff, scripts: &HashMap<u32, String>) -> Value {
    let v = json!({
        "name": r.class.name,
        "new_count": r.new_count,
        "deleted_count": r.deleted_count,
        "count_delta": r.count_delta(),
        "alloc_size": r.alloc_size,
        "freed_size": r.freed_size,
        "size_delta": r.size_delta(),
        "count_before": r.count_before,
        "count_after": r.count_after,
        "retained_before": r.retained_before,
        "retained_after": r.retained_after,
        "retained_delta": r.retained_delta(),
    });
    with_location(v, &r.class, scripts)
}

/// One comparison without the document header.
pub fn comparison_json(c: &Comparison) -> Value {
    json!({
        "before": c.before,
        "after": c.after,
        "class_count": c.total_rows,
        "classes": c.rows.iter().map(|r| diff_row_json(r, c.scripts)).collect::<Vec<_>>(),
    })
}

/// Two snapshots: `{"schema_version","before","after","class_count","classes"}`.
pub fn pair_json(c: &Comparison) -> Value {
    let mut v = json!({ "schema_version": SCHEMA_VERSION });
    if let (Value::Object(doc), Value::Object(body)) = (&mut v, comparison_json(c)) {
        doc.extend(body);
    }
    v
}

/// Three snapshots: both comparisons, the objects allocated between the first two still
/// alive in the third, and the classes that grew in both steps.
pub fn triple_json(
    files: &[&str],
    comparisons: &[Comparison],
    between: &Between,
    growing: &[Growing],
) -> Value {
    json!({
        "schema_version": SCHEMA_VERSION,
        "files": files,
        "comparisons": comparisons.iter().map(comparison_json).collect::<Vec<_>>(),
        "allocated_between": {
            "from": between.from,
            "to": between.to,
            "alive_in": between.alive_in,
            "min_id": between.min_id,
            "max_id": between.max_id,
            "class_count": between.total_rows,
            "classes": between.rows.iter().map(|(info, r)| with_location(json!({
                "name": info.name,
                "count": r.count,
                "shallow_size": r.shallow_size,
                "retained_size": r.retained_size,
            }), info, between.scripts)).collect::<Vec<_>>(),
        },
        "growing": growing.iter().map(|g| with_location(json!({
            "name": g.class.name,
            "count_deltas": g.count_deltas,
            "size_deltas": g.size_deltas,
        }), &g.class, between.scripts)).collect::<Vec<_>>(),
    })
}

pub(crate) fn signed(n: i64) -> String {
    if n > 0 {
        format!("+{}", group(n as u64))
    } else if n < 0 {
        format!("-{}", group(n.unsigned_abs()))
    } else {
        "0".into()
    }
}

pub fn comparison_text(c: &Comparison, style: &Style) -> String {
    let mut out = format!("{} → {}\n\n", style.bold(c.before), style.bold(c.after));
    if c.rows.is_empty() {
        out.push_str("No class has new or deleted objects.\n");
        return out;
    }
    let mut t = Table::new(&[
        ("Class", Align::Left),
        ("# New", Align::Right),
        ("# Deleted", Align::Right),
        ("# Delta", Align::Right),
        ("Alloc. Size", Align::Right),
        ("Freed Size", Align::Right),
        ("Size Delta", Align::Right),
        ("Retained Δ", Align::Right),
    ])
    .max_width(140);
    for r in c.rows {
        t.row(vec![
            class_label(&r.class, c.scripts),
            group(r.new_count),
            group(r.deleted_count),
            signed(r.count_delta()),
            human_size(r.alloc_size),
            human_size(r.freed_size),
            human_delta(r.size_delta()),
            human_delta(r.retained_delta()),
        ]);
    }
    out.push_str(&t.render(style));
    if c.rows.len() < c.total_rows {
        out.push_str(&style.dim(&format!(
            "… {} of {} classes shown (--top, --filter, --sort)\n",
            c.rows.len(),
            c.total_rows
        )));
    }
    out
}

pub fn triple_text(
    comparisons: &[Comparison],
    between: &Between,
    growing: &[Growing],
    style: &Style,
) -> String {
    let mut out = String::new();
    for c in comparisons {
        out.push_str(&comparison_text(c, style));
        out.push('\n');
    }
    out.push_str(&format!(
        "{}\n\n",
        style.bold(&format!(
            "Objects allocated between {} and {} still alive in {}",
            between.from, between.to, between.alive_in
        ))
    ));
    if between.rows.is_empty() {
        out.push_str("None.\n");
    } else {
        let mut t = Table::new(&[
            ("Class", Align::Left),
            ("Count", Align::Right),
            ("Shallow", Align::Right),
            ("Retained", Align::Right),
        ])
        .max_width(120);
        for (info, r) in between.rows {
            t.row(vec![
                class_label(info, between.scripts),
                group(r.count),
                human_size(r.shallow_size),
                human_size(r.retained_size),
            ]);
        }
        out.push_str(&t.render(style));
        if between.rows.len() < between.total_rows {
            out.push_str(&style.dim(&format!(
                "… {} of {} classes shown\n",
                between.rows.len(),
                between.total_rows
            )));
        }
    }
    out.push_str(&format!(
        "\n{}\n\n",
        style.bold("Classes that grew in both steps")
    ));
    if growing.is_empty() {
        out.push_str("None.\n");
    } else {
        let mut t = Table::new(&[
            ("Class", Align::Left),
            ("# Delta", Align::Right),
            ("Size Delta", Align::Right),
        ])
        .max_width(120);
        for g in growing {
            t.row(vec![
                class_label(&g.class, between.scripts),
                g.count_deltas
                    .iter()
                    .map(|&d| signed(d))
                    .collect::<Vec<_>>()
                    .join(", "),
                g.size_deltas
                    .iter()
                    .map(|&d| human_delta(d))
                    .collect::<Vec<_>>()
                    .join(", "),
            ]);
        }
        out.push_str(&t.render(style));
    }
    out
}
