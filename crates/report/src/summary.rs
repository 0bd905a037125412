//! `heaphound summary`: objects grouped by class, as in DevTools' Summary view.

use heaphound_model::heap::Summary;
use heaphound_model::object::{ScriptLocation, BASE_SYSTEM_DISTANCE};
pub use heaphound_model::units::short_path;

use crate::format::{group, human_size, Align, Style, Table};

pub fn to_text(doc: &Summary, style: &Style) -> String {
    let mut out = format!(
        "{}  {} objects, {} edges, total {}\n\n",
        style.bold(&doc.file),
        group(doc.node_count),
        group(doc.edge_count),
        human_size(doc.total_size)
    );
    let total = doc.total_size.max(1) as f64;
    let mut t = Table::new(&[
        ("Class", Align::Left),
        ("Count", Align::Right),
        ("Shallow", Align::Right),
        ("Retained", Align::Right),
        ("%", Align::Right),
        ("Distance", Align::Right),
    ])
    .max_width(120);
    for r in &doc.classes {
        t.row(vec![
            class_label(&r.name, r.location.as_ref()),
            group(r.count),
            human_size(r.shallow_size),
            human_size(r.retained_size),
            format!("{:.1}", 100.0 * r.retained_size as f64 / total),
            r.distance.map(distance_text).unwrap_or_else(|| "-".into()),
        ]);
    }
    out.push_str(&t.render(style));
    if (doc.classes.len() as u64) < doc.class_count {
        out.push_str(&style.dim(&format!(
            "… {} of {} classes shown (--top, --filter)\n",
            doc.classes.len(),
            doc.class_count
        )));
    }
    out
}

/// A class's name for tables; located classes carry `(dir/file.js:line)`.
pub fn class_label(name: &str, location: Option<&ScriptLocation>) -> String {
    match location {
        None => name.to_owned(),
        Some(l) => format!("{name} ({})", script_line(l)),
    }
}

/// `dir/file.js:line`, or `script N:line` when the snapshot does not name the script.
fn script_line(l: &ScriptLocation) -> String {
    match &l.original {
        Some(o) => format!("{}:{}", short_path(&o.file), o.line),
        None => format!("{}:{}", script_name(l), l.line),
    }
}

/// The script's short path, or `script N` when the snapshot does not name it.
pub fn script_name(l: &ScriptLocation) -> String {
    l.file
        .as_deref()
        .map(short_path)
        .unwrap_or_else(|| format!("script {}", l.script_id))
}

/// DevTools shows objects reached only through VM internals with no distance.
pub fn distance_text(d: u32) -> String {
    if d >= BASE_SYSTEM_DISTANCE {
        "-".into()
    } else {
        d.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn located_classes_carry_their_script_line() {
        let mut at = ScriptLocation {
            script_id: 81,
            file: Some("file:///srv/app/lib/cache.js".into()),
            line: 3,
            column: 27,
            original: None,
        };
        assert_eq!(class_label("Widget", Some(&at)), "Widget (lib/cache.js:3)");
        at.file = None;
        assert_eq!(class_label("Widget", Some(&at)), "Widget (script 81:3)");
        assert_eq!(class_label("Widget", None), "Widget");
    }
}
