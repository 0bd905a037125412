//! Views of single objects and their neighbourhood: the largest objects, the dominator
//! tree, retainer paths and one object's details, rendered from their documents.

use heaphound_model::heap::{DominatorNode, Dominators, Inspect, Objects, Retainers};
use heaphound_model::object::{clip, ObjectRef};
use heaphound_model::text::escape_control;

use crate::format::{group, human_size, Align, Style, Table};
use crate::summary::{distance_text, script_name};

/// `Class name @id`, the way objects are named in text output, on one visible line.
pub fn label(o: &ObjectRef) -> String {
    escape_control(&o.label()).into_owned()
}

/// An object's distance as tables show it (`-` when unreachable or VM-internal).
pub fn distance(o: &ObjectRef) -> String {
    o.distance.map(distance_text).unwrap_or_else(|| "-".into())
}

pub use heaphound_model::object::path_lines;

fn percent(part: u64, total: u64) -> String {
    format!("{:.1}", 100.0 * part as f64 / total.max(1) as f64)
}

pub fn objects_text(doc: &Objects, style: &Style) -> String {
    let mut t = Table::new(&[
        ("Object", Align::Left),
        ("Shallow", Align::Right),
        ("Retained", Align::Right),
        ("%", Align::Right),
        ("Distance", Align::Right),
    ])
    .max_width(120);
    for o in &doc.objects {
        t.row(vec![
            label(o),
            human_size(o.shallow_size),
            human_size(o.retained_size),
            percent(o.retained_size, doc.total_size),
            distance(o),
        ]);
    }
    t.render(style)
}

/// The tree as an indented table; `depth` is the `--depth` it was cut at (nodes there
/// list no "… more" line, as their children were never looked at).
pub fn dominators_text(doc: &Dominators, depth: u32, style: &Style) -> String {
    enum Row<'a> {
        Node(&'a DominatorNode, u32),
        More(u32, u64),
    }
    let mut t = Table::new(&[
        ("Object", Align::Left),
        ("Shallow", Align::Right),
        ("Retained", Align::Right),
        ("%", Align::Right),
    ])
    .max_width(120);
    let mut stack = vec![Row::Node(&doc.tree, 0)];
    while let Some(row) = stack.pop() {
        match row {
            Row::More(level, n) => t.row(vec![
                format!("{}… {n} more", "  ".repeat(level as usize)),
                String::new(),
                String::new(),
                String::new(),
            ]),
            Row::Node(node, level) => {
                let o = &node.object;
                t.row(vec![
                    format!("{}{}", "  ".repeat(level as usize), label(o)),
                    human_size(o.shallow_size),
                    human_size(o.retained_size),
                    percent(o.retained_size, doc.total_size),
                ]);
                if level < depth {
                    if node.more_children > 0 {
                        stack.push(Row::More(level + 1, node.more_children));
                    }
                    stack.extend(node.children.iter().rev().map(|k| Row::Node(k, level + 1)));
                }
            }
        }
    }
    t.render(style)
}

pub fn retainers_text(doc: &Retainers, max_depth: u32, style: &Style) -> String {
    let target = &doc.target;
    let mut out = format!(
        "{}  shallow {}, retained {}, distance {}\n",
        style.bold(&label(target)),
        human_size(target.shallow_size),
        human_size(target.retained_size),
        distance(target)
    );
    if doc.paths.is_empty() {
        if target.distance.is_none() {
            out.push_str("\nNo path from a GC root holds this object over strong references: it is garbage, or held only weakly.\n");
        } else {
            out.push_str(&format!(
                "\nNo path of at most {max_depth} references reaches this object from a GC root: raise --max-depth.\n"
            ));
        }
        return out;
    }
    for (i, p) in doc.paths.iter().enumerate() {
        out.push_str(&format!(
            "\n{}\n",
            style.bold(&format!("path {} ({} references)", i + 1, p.length))
        ));
        if p.steps.is_empty() {
            out.push_str("  held directly by the root\n");
            continue;
        }
        // Indented one step per line, up to a point: long chains stay readable.
        for (j, line) in path_lines(&p.folded).iter().enumerate() {
            let line = escape_control(line);
            out.push_str(&format!("{}{line}\n", "  ".repeat(1 + j.min(20))));
        }
    }
    out
}

pub fn inspect_text(doc: &Inspect, style: &Style) -> String {
    let o = &doc.object;
    let mut out = format!("{}\n", style.bold(&label(o)));
    let mut field =
        |k: &str, v: String| out.push_str(&format!("  {k:<13} {}\n", escape_control(&v)));
    field("type", o.node_type.clone());
    field("class", o.class.clone());
    if !o.name.is_empty() {
        field("name", clip(&o.name, 100));
    }
    field(
        "self size",
        format!(
            "{} (shallow {}, as DevTools shows it)",
            human_size(o.self_size),
            human_size(o.shallow_size)
        ),
    );
    field("retained", human_size(o.retained_size));
    field("distance", distance(o));
    if let Some(d) = &doc.dominator {
        field("dominator", label(d));
    }
    if let Some(l) = &doc.location {
        field(
            "location",
            heaphound_model::source::shown_at(
                format!("{}:{}:{}", script_name(l), l.line, l.column),
                l.original.as_ref(),
            ),
        );
    }

    out.push_str(&format!(
        "\n{}\n",
        style.bold(&format!("Edges ({})", group(doc.edge_count)))
    ));
    let mut t = Table::new(&[
        ("Edge", Align::Left),
        ("Object", Align::Left),
        ("Retained", Align::Right),
    ]);
    for e in &doc.edges {
        t.row(vec![
            clip(&e.edge.label(), 40),
            label(&e.to),
            human_size(e.to.retained_size),
        ]);
    }
    if !t.is_empty() {
        out.push_str(&t.render(style));
    }
    let shown = doc.edges.len() as u64;
    if doc.edge_count > shown {
        out.push_str(&style.dim(&format!("  … {} more (--edges)\n", doc.edge_count - shown)));
    }

    out.push_str(&format!(
        "\n{}\n",
        style.bold(&format!("Retainers ({})", group(doc.retainer_count)))
    ));
    let mut t = Table::new(&[
        ("Edge", Align::Left),
        ("Held by", Align::Left),
        ("Distance", Align::Right),
    ]);
    for r in &doc.retainers {
        t.row(vec![
            clip(&r.edge.label(), 40),
            label(&r.from),
            distance(&r.from),
        ]);
    }
    if !t.is_empty() {
        out.push_str(&t.render(style));
    }
    let shown = doc.retainers.len() as u64;
    if doc.retainer_count > shown {
        out.push_str(&style.dim(&format!(
            "  … {} more (--retainers)\n",
            doc.retainer_count - shown
        )));
    }
    out
}

#[cfg(test)]
mod tests {
    use heaphound_model::object::{PathStep, Repeat, BASE_SYSTEM_DISTANCE};
    use heaphound_model::ObjectId;

    use super::*;

    fn object(class: &str, name: &str, distance: Option<u32>) -> ObjectRef {
        ObjectRef {
            id: ObjectId(7),
            node_type: "object".into(),
            class: class.into(),
            name: name.into(),
            self_size: 16,
            shallow_size: 16,
            retained_size: 64,
            distance,
        }
    }

    #[test]
    fn labels_name_an_object_once() {
        assert_eq!(label(&object("Map", "Map", Some(2))), "Map @7");
        assert_eq!(
            label(&object("(string)", "a\nb", None)),
            "(string) \"a b\" @7"
        );
        assert_eq!(distance(&object("A", "", None)), "-");
        assert_eq!(distance(&object("A", "", Some(BASE_SYSTEM_DISTANCE))), "-");
        assert_eq!(distance(&object("A", "", Some(3))), "3");
    }

    #[test]
    fn folded_paths_read_as_lines() {
        let steps = vec![
            PathStep::Object {
                edge: None,
                edge_type: None,
                object: object("global", "", Some(1)),
            },
            PathStep::Object {
                edge: Some(".next".into()),
                edge_type: Some("property".into()),
                object: object("Node", "", Some(2)),
            },
            PathStep::Repeat {
                repeat: Repeat {
                    references: 1,
                    times: 40,
                },
            },
        ];
        assert_eq!(
            path_lines(&steps),
            [
                "global @7",
                ".next → Node @7",
                "… the 1 reference(s) above repeat 40 times in all",
            ]
        );
    }
}
