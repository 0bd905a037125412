//! Views of single objects and their neighbourhood: the largest objects, the dominator
//! tree, retainer paths and one object's details.

use std::collections::HashMap;

use heaphound_analysis::paths::RetainerPath;
use heaphound_analysis::views::object as views;
use heaphound_analysis::{Analysis, UNREACHABLE};
use heaphound_snapshot::HeapGraph;
use serde_json::{json, Value};

use crate::format::{group, human_size, Align, Style, Table};
use crate::summary::{distance_text, short_path};
use crate::SCHEMA_VERSION;

/// Longest object name shown in tables; JSON keeps V8's full name.
const NAME_WIDTH: usize = 60;

fn clip(s: &str, max: usize) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() <= max {
        one_line
    } else {
        let mut t: String = one_line.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

/// The JSON description of one object, shared by every view.
///
/// Transitional: documents not yet typed embed objects as `Value`; they should hold
/// `heaphound_model::object::ObjectRef` (from `heaphound_analysis::views::object::object_ref`).
pub fn object_json(g: &HeapGraph, a: &Analysis, node: u32) -> Value {
    serde_json::to_value(views::object_ref(g, a, node)).unwrap_or(Value::Null)
}

/// `Class name @id`, the way objects are named in text output.
pub fn object_label(g: &HeapGraph, a: &Analysis, node: u32) -> String {
    let class = a.class_name(node);
    let name = a.display_name(g, node);
    let id = g.node_id[node as usize];
    if name.is_empty() || name == class {
        format!("{class} @{id}")
    } else {
        format!("{class} {} @{id}", clip(&format!("\"{name}\""), NAME_WIDTH))
    }
}

/// Edge labels as DevTools writes them: `.prop`, `[3]`, `->var`, `{internal}`.
pub fn edge_label(g: &HeapGraph, e: u32) -> String {
    views::edge_label(g, e)
}

fn edge_json(g: &HeapGraph, e: u32) -> Value {
    let name = if g.edge_kind(e).has_string_name() {
        json!(g.edge_name(e))
    } else {
        json!(g.edge_name[e as usize])
    };
    json!({ "type": g.edge_type_name(e), "name": name })
}

/// Nodes sorted by retained size, largest first (ties by position in the file).
pub fn largest(a: &Analysis, top: usize) -> Vec<u32> {
    let mut order: Vec<u32> = (0..a.retained.len() as u32).collect();
    let cmp = |x: &u32, y: &u32| {
        a.retained[*y as usize]
            .cmp(&a.retained[*x as usize])
            .then(x.cmp(y))
    };
    if top < order.len() {
        order.select_nth_unstable_by(top, cmp);
        order.truncate(top);
    }
    order.sort_by(cmp);
    order
}

pub fn objects_json(g: &HeapGraph, a: &Analysis, file: &str, nodes: &[u32]) -> Value {
    json!({
        "schema_version": SCHEMA_VERSION,
        "file": file,
        "total_size": a.total_size,
        "objects": nodes.iter().map(|&n| object_json(g, a, n)).collect::<Vec<_>>(),
    })
}

pub fn objects_text(g: &HeapGraph, a: &Analysis, nodes: &[u32], style: &Style) -> String {
    let mut t = Table::new(&[
        ("Object", Align::Left),
        ("Shallow", Align::Right),
        ("Retained", Align::Right),
        ("%", Align::Right),
        ("Distance", Align::Right),
    ])
    .max_width(120);
    let total = a.total_size.max(1) as f64;
    for &n in nodes {
        t.row(vec![
            object_label(g, a, n),
            human_size(a.shallow[n as usize] as u64),
            human_size(a.retained[n as usize]),
            format!("{:.1}", 100.0 * a.retained[n as usize] as f64 / total),
            dist(a, n),
        ]);
    }
    t.render(style)
}

fn dist(a: &Analysis, n: u32) -> String {
    match a.distance[n as usize] {
        UNREACHABLE => "-".into(),
        d => distance_text(d),
    }
}

/// Children of a node in the dominator tree, largest retained size first.
fn dominated_sorted(a: &Analysis, node: u32, top: usize) -> (Vec<u32>, usize) {
    let mut kids = a.dominated.children(node).to_vec();
    let all = kids.len();
    kids.sort_by(|x, y| {
        a.retained[*y as usize]
            .cmp(&a.retained[*x as usize])
            .then(x.cmp(y))
    });
    kids.truncate(top);
    (kids, all)
}

/// The dominator tree from `start`, `depth` levels, `top` children per node.
pub fn dominators_json(
    g: &HeapGraph,
    a: &Analysis,
    file: &str,
    start: u32,
    depth: u32,
    top: usize,
) -> Value {
    // Built bottom-up from an explicit stack: no recursion on the tree's depth.
    struct Frame {
        node: u32,
        level: u32,
        kids: Vec<u32>,
        more: usize,
        done: Vec<Value>,
    }
    let frame = |node: u32, level: u32| {
        let (kids, all) = if level < depth {
            dominated_sorted(a, node, top)
        } else {
            (Vec::new(), a.dominated.children(node).len())
        };
        Frame {
            node,
            level,
            more: all - kids.len(),
            kids: kids.into_iter().rev().collect(),
            done: Vec::new(),
        }
    };
    let mut stack = vec![frame(start, 0)];
    let tree = loop {
        let top_frame = stack
            .last_mut()
            .expect("stack holds the root until the end");
        if let Some(k) = top_frame.kids.pop() {
            let level = top_frame.level + 1;
            stack.push(frame(k, level));
            continue;
        }
        let f = stack.pop().expect("non-empty");
        let mut v = object_json(g, a, f.node);
        v["children"] = Value::Array(f.done);
        v["more_children"] = json!(f.more);
        match stack.last_mut() {
            Some(parent) => parent.done.push(v),
            None => break v,
        }
    };
    json!({
        "schema_version": SCHEMA_VERSION,
        "file": file,
        "total_size": a.total_size,
        "tree": tree,
    })
}

pub fn dominators_text(
    g: &HeapGraph,
    a: &Analysis,
    start: u32,
    depth: u32,
    top: usize,
    style: &Style,
) -> String {
    enum Row {
        Node(u32, u32),
        More(u32, usize),
    }
    let mut t = Table::new(&[
        ("Object", Align::Left),
        ("Shallow", Align::Right),
        ("Retained", Align::Right),
        ("%", Align::Right),
    ])
    .max_width(120);
    let total = a.total_size.max(1) as f64;
    let mut stack = vec![Row::Node(start, 0)];
    while let Some(row) = stack.pop() {
        match row {
            Row::More(level, n) => t.row(vec![
                format!("{}… {n} more", "  ".repeat(level as usize)),
                String::new(),
                String::new(),
                String::new(),
            ]),
            Row::Node(node, level) => {
                t.row(vec![
                    format!(
                        "{}{}",
                        "  ".repeat(level as usize),
                        object_label(g, a, node)
                    ),
                    human_size(a.shallow[node as usize] as u64),
                    human_size(a.retained[node as usize]),
                    format!("{:.1}", 100.0 * a.retained[node as usize] as f64 / total),
                ]);
                if level < depth {
                    let (kids, all) = dominated_sorted(a, node, top);
                    if all > kids.len() {
                        stack.push(Row::More(level + 1, all - kids.len()));
                    }
                    stack.extend(kids.iter().rev().map(|&k| Row::Node(k, level + 1)));
                }
            }
        }
    }
    t.render(style)
}

pub fn retainers_json(
    g: &HeapGraph,
    a: &Analysis,
    file: &str,
    target: u32,
    paths: &[RetainerPath],
) -> Value {
    let paths: Vec<Value> = paths
        .iter()
        .map(|p| {
            let steps: Vec<Value> = p
                .steps
                .iter()
                .map(|s| {
                    let mut v = object_json(g, a, s.holder);
                    v["edge"] = edge_json(g, s.edge);
                    v
                })
                .collect();
            json!({ "length": p.steps.len(), "steps": steps })
        })
        .collect();
    json!({
        "schema_version": SCHEMA_VERSION,
        "file": file,
        "target": object_json(g, a, target),
        "paths": paths,
    })
}

pub fn retainers_text(
    g: &HeapGraph,
    a: &Analysis,
    target: u32,
    paths: &[RetainerPath],
    max_depth: u32,
    style: &Style,
) -> String {
    let mut out = format!(
        "{}  shallow {}, retained {}, distance {}\n",
        style.bold(&object_label(g, a, target)),
        human_size(a.shallow[target as usize] as u64),
        human_size(a.retained[target as usize]),
        dist(a, target)
    );
    if paths.is_empty() {
        if a.distance[target as usize] == UNREACHABLE {
            out.push_str("\nNo path from a GC root holds this object over strong references: it is garbage, or held only weakly.\n");
        } else {
            out.push_str(&format!(
                "\nNo path of at most {max_depth} references reaches this object from a GC root: raise --max-depth.\n"
            ));
        }
        return out;
    }
    for (i, p) in paths.iter().enumerate() {
        out.push_str(&format!(
            "\n{}\n",
            style.bold(&format!("path {} ({} references)", i + 1, p.steps.len()))
        ));
        if p.steps.is_empty() {
            out.push_str("  held directly by the root\n");
            continue;
        }
        // Indented one step per line, up to a point: long chains stay readable.
        for (j, line) in folded_path(g, a, p).iter().enumerate() {
            out.push_str(&format!("{}{line}\n", "  ".repeat(1 + j.min(20))));
        }
    }
    out
}

pub use heaphound_analysis::views::object::{folded_steps, Folded};

/// One line per reference: the first names the object a root holds, each next one the
/// edge taken and the object it reaches.
pub fn folded_path(g: &HeapGraph, a: &Analysis, p: &RetainerPath) -> Vec<String> {
    folded_steps(g, a, p)
        .into_iter()
        .map(|f| match f {
            Folded::Start(n) => object_label(g, a, n),
            Folded::Step(e) => format!(
                "{} → {}",
                edge_label(g, e),
                object_label(g, a, g.edge_to[e as usize])
            ),
            Folded::Repeat { period, times } => {
                format!("… the {period} reference(s) above repeat {times} times in all")
            }
        })
        .collect()
}

/// The folded path as JSON: `{"edge": null|".name", "edge_type", "object"}` per step and
/// `{"repeat": {"references", "times"}}` where a run repeats.
///
/// Transitional: documents not yet typed hold it as `Value`s; they should hold
/// `Vec<heaphound_model::object::PathStep>` (from `views::object::folded_path`).
pub fn folded_path_json(g: &HeapGraph, a: &Analysis, p: &RetainerPath) -> Vec<Value> {
    views::folded_path(g, a, p)
        .iter()
        .map(|s| serde_json::to_value(s).unwrap_or(Value::Null))
        .collect()
}

/// Where a node's code was defined, with the script name when the snapshot has it.
pub fn location_json(g: &HeapGraph, node: u32, scripts: &HashMap<u32, String>) -> Option<Value> {
    let l = g.locations.iter().rev().find(|l| l.node == node)?;
    Some(json!({
        "script_id": l.script_id,
        "file": scripts.get(&l.script_id),
        "line": l.line + 1,
        "column": l.column + 1,
    }))
}

pub struct InspectLimits {
    pub edges: usize,
    pub retainers: usize,
}

pub fn inspect_json(
    g: &HeapGraph,
    a: &Analysis,
    file: &str,
    node: u32,
    scripts: &HashMap<u32, String>,
    limits: &InspectLimits,
) -> Value {
    let mut v = object_json(g, a, node);
    v["schema_version"] = json!(SCHEMA_VERSION);
    v["file"] = json!(file);
    let dom = a.dominator[node as usize];
    v["dominator"] = if node == a.root {
        Value::Null
    } else {
        object_json(g, a, dom)
    };
    v["location"] = location_json(g, node, scripts).unwrap_or(Value::Null);
    if !g.node_trace_id.is_empty() {
        v["trace_node_id"] = json!(g.node_trace_id[node as usize]);
    }
    if !g.node_detachedness.is_empty() {
        v["detachedness"] = json!(g.node_detachedness[node as usize]);
    }
    let edges: Vec<Value> = g
        .edges(node)
        .take(limits.edges)
        .map(|e| {
            let mut x = edge_json(g, e);
            x["to"] = object_json(g, a, g.edge_to[e as usize]);
            x
        })
        .collect();
    v["edge_count"] = json!(g.edges(node).len());
    v["edges"] = Value::Array(edges);
    let ret = a.retainers(g);
    let rets: Vec<Value> = ret
        .of(node)
        .take(limits.retainers)
        .map(|r| {
            let mut x = edge_json(g, ret.edge[r]);
            x["from"] = object_json(g, a, ret.node[r]);
            x
        })
        .collect();
    v["retainer_count"] = json!(ret.count(node));
    v["retainers"] = Value::Array(rets);
    v
}

pub fn inspect_text(
    g: &HeapGraph,
    a: &Analysis,
    node: u32,
    scripts: &HashMap<u32, String>,
    limits: &InspectLimits,
    style: &Style,
) -> String {
    let mut out = format!("{}\n", style.bold(&object_label(g, a, node)));
    let mut field = |k: &str, v: String| out.push_str(&format!("  {k:<13} {v}\n"));
    field("type", g.type_name(node).to_string());
    field("class", a.class_name(node).to_string());
    let name = a.display_name(g, node);
    if !name.is_empty() {
        field("name", clip(&name, 100));
    }
    field(
        "self size",
        format!(
            "{} (shallow {}, as DevTools shows it)",
            human_size(g.node_self_size[node as usize] as u64),
            human_size(a.shallow[node as usize] as u64)
        ),
    );
    field("retained", human_size(a.retained[node as usize]));
    field("distance", dist(a, node));
    if node != a.root {
        field("dominator", object_label(g, a, a.dominator[node as usize]));
    }
    if let Some(l) = g.locations.iter().rev().find(|l| l.node == node) {
        let file = scripts
            .get(&l.script_id)
            .map(|s| short_path(s))
            .unwrap_or_else(|| format!("script {}", l.script_id));
        field(
            "location",
            format!("{file}:{}:{}", l.line + 1, l.column + 1),
        );
    }

    let nedges = g.edges(node).len();
    out.push_str(&format!(
        "\n{}\n",
        style.bold(&format!("Edges ({})", group(nedges as u64)))
    ));
    let mut t = Table::new(&[
        ("Edge", Align::Left),
        ("Object", Align::Left),
        ("Retained", Align::Right),
    ]);
    for e in g.edges(node).take(limits.edges) {
        let to = g.edge_to[e as usize];
        t.row(vec![
            clip(&edge_label(g, e), 40),
            object_label(g, a, to),
            human_size(a.retained[to as usize]),
        ]);
    }
    if !t.is_empty() {
        out.push_str(&t.render(style));
    }
    if nedges > limits.edges {
        out.push_str(&style.dim(&format!("  … {} more (--edges)\n", nedges - limits.edges)));
    }

    let ret = a.retainers(g);
    let nret = ret.count(node) as usize;
    out.push_str(&format!(
        "\n{}\n",
        style.bold(&format!("Retainers ({})", group(nret as u64)))
    ));
    let mut t = Table::new(&[
        ("Edge", Align::Left),
        ("Held by", Align::Left),
        ("Distance", Align::Right),
    ]);
    for r in ret.of(node).take(limits.retainers) {
        let from = ret.node[r];
        t.row(vec![
            clip(&edge_label(g, ret.edge[r]), 40),
            object_label(g, a, from),
            dist(a, from),
        ]);
    }
    if !t.is_empty() {
        out.push_str(&t.render(style));
    }
    if nret > limits.retainers {
        out.push_str(&style.dim(&format!(
            "  … {} more (--retainers)\n",
            nret - limits.retainers
        )));
    }
    out
}
