//! `heaphound diff`: DevTools' Comparison view, plus retained-size deltas, and for three
//! snapshots the objects allocated between the first two that are still alive in the last.

use heaphound_model::diff::{ClassComparison, Diff3};

use crate::format::{group, human_delta, human_size, Align, Style, Table};
use crate::summary::class_label;

/// A count with its sign (`+1,234`, `-5`, `0`).
pub(crate) fn signed(n: i64) -> String {
    if n > 0 {
        format!("+{}", group(n as u64))
    } else if n < 0 {
        format!("-{}", group(n.unsigned_abs()))
    } else {
        "0".into()
    }
}

pub fn comparison_text(c: &ClassComparison, style: &Style) -> String {
    let mut out = format!("{} → {}\n\n", style.bold(&c.before), style.bold(&c.after));
    if c.classes.is_empty() {
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
    for r in &c.classes {
        t.row(vec![
            class_label(&r.name, r.location.as_ref()),
            group(r.new_count),
            group(r.deleted_count),
            signed(r.count_delta),
            human_size(r.alloc_size),
            human_size(r.freed_size),
            human_delta(r.size_delta),
            human_delta(r.retained_delta),
        ]);
    }
    out.push_str(&t.render(style));
    if (c.classes.len() as u64) < c.class_count {
        out.push_str(&style.dim(&format!(
            "… {} of {} classes shown (--top, --filter, --sort)\n",
            c.classes.len(),
            c.class_count
        )));
    }
    out
}

pub fn triple_text(doc: &Diff3, style: &Style) -> String {
    let (between, growing) = (&doc.allocated_between, &doc.growing);
    let mut out = String::new();
    for c in &doc.comparisons {
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
    if between.classes.is_empty() {
        out.push_str("None.\n");
    } else {
        let mut t = Table::new(&[
            ("Class", Align::Left),
            ("Count", Align::Right),
            ("Shallow", Align::Right),
            ("Retained", Align::Right),
        ])
        .max_width(120);
        for r in &between.classes {
            t.row(vec![
                class_label(&r.name, r.location.as_ref()),
                group(r.count),
                human_size(r.shallow_size),
                human_size(r.retained_size),
            ]);
        }
        out.push_str(&t.render(style));
        if (between.classes.len() as u64) < between.class_count {
            out.push_str(&style.dim(&format!(
                "… {} of {} classes shown\n",
                between.classes.len(),
                between.class_count
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
                class_label(&g.name, g.location.as_ref()),
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
