//! Objects, references and source positions as the documents describe them, and retainer
//! paths folded the way they are shown.

use std::collections::HashMap;

use heaphound_model::object::{EdgeName, EdgeRef, ObjectRef, PathStep, Repeat, ScriptLocation};
use heaphound_model::ObjectId;
use heaphound_snapshot::HeapGraph;

use crate::classes::ClassInfo;
use crate::paths::RetainerPath;
use crate::{Analysis, UNREACHABLE};

/// One object as every document describes it.
pub fn object_ref(g: &HeapGraph, a: &Analysis, node: u32) -> ObjectRef {
    let d = a.distance[node as usize];
    ObjectRef {
        id: ObjectId(g.node_id[node as usize]),
        node_type: g.type_name(node).to_owned(),
        class: a.class_name(node).to_owned(),
        name: a.display_name(g, node),
        self_size: u64::from(g.node_self_size[node as usize]),
        shallow_size: u64::from(a.shallow[node as usize]),
        retained_size: a.retained[node as usize],
        distance: (d != UNREACHABLE).then_some(d),
    }
}

/// One edge's type and name.
pub fn edge_ref(g: &HeapGraph, e: u32) -> EdgeRef {
    let name = if g.edge_kind(e).has_string_name() {
        EdgeName::Name(g.edge_name(e).into_owned())
    } else {
        EdgeName::Index(g.edge_name[e as usize])
    };
    EdgeRef {
        edge_type: g.edge_type_name(e).to_owned(),
        name,
    }
}

/// The edge as DevTools writes it (`.prop`, `[3]`, `->var`, `{internal}`).
pub fn edge_label(g: &HeapGraph, e: u32) -> String {
    heaphound_model::object::edge_label(g.edge_type_name(e), &g.edge_name(e))
}

/// Where a node's code was defined, with the script name when the snapshot has it.
pub fn node_location(
    g: &HeapGraph,
    node: u32,
    scripts: &HashMap<u32, String>,
) -> Option<ScriptLocation> {
    let l = g.locations.iter().rev().find(|l| l.node == node)?;
    Some(ScriptLocation {
        script_id: l.script_id,
        file: scripts.get(&l.script_id).cloned(),
        line: l.line + 1,
        column: l.column + 1,
        original: None,
    })
}

/// Where a located class (a constructor or closure) was defined.
pub fn class_location(info: &ClassInfo, scripts: &HashMap<u32, String>) -> Option<ScriptLocation> {
    info.position.map(|p| ScriptLocation {
        script_id: p.script_id,
        file: scripts.get(&p.script_id).cloned(),
        line: p.line + 1,
        column: p.column + 1,
        original: None,
    })
}

/// A retainer path as it is shown, by graph positions: the object a root holds, then each
/// edge taken, with a run of references that repeats (a linked list, a chain of closures)
/// kept once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Folded {
    /// The first holder (a node).
    Start(u32),
    /// An edge taken, to the object it reaches.
    Step(u32),
    /// The `period` steps above repeat `times` times in all.
    Repeat { period: usize, times: usize },
}

pub fn folded_steps(g: &HeapGraph, a: &Analysis, p: &RetainerPath) -> Vec<Folded> {
    let mut out = Vec::with_capacity(p.steps.len() + 1);
    if let Some(first) = p.steps.first() {
        out.push(Folded::Start(first.holder));
    }
    // What makes two steps alike: the edge (numbers aside) and the class reached.
    let key = |i: usize| {
        let e = p.steps[i].edge;
        let name = if g.edge_kind(e).has_string_name() {
            g.edge_name(e).into_owned()
        } else {
            String::new()
        };
        (g.edge_kind(e), name, a.class_name(g.edge_to[e as usize]))
    };
    let n = p.steps.len();
    let mut i = 0;
    while i < n {
        let mut folded = false;
        for period in 1..=4 {
            let mut reps = 1;
            while i + (reps + 1) * period <= n
                && (0..period).all(|k| key(i + k) == key(i + reps * period + k))
            {
                reps += 1;
            }
            if reps >= 3 {
                out.extend((0..period).map(|k| Folded::Step(p.steps[i + k].edge)));
                out.push(Folded::Repeat {
                    period,
                    times: reps,
                });
                i += reps * period;
                folded = true;
                break;
            }
        }
        if !folded {
            out.push(Folded::Step(p.steps[i].edge));
            i += 1;
        }
    }
    out
}

/// The folded path as the documents hold it.
pub fn folded_path(g: &HeapGraph, a: &Analysis, p: &RetainerPath) -> Vec<PathStep> {
    folded_steps(g, a, p)
        .into_iter()
        .map(|f| match f {
            Folded::Start(n) => PathStep::Object {
                edge: None,
                edge_type: None,
                object: object_ref(g, a, n),
            },
            Folded::Step(e) => PathStep::Object {
                edge: Some(edge_label(g, e)),
                edge_type: Some(g.edge_type_name(e).to_owned()),
                object: object_ref(g, a, g.edge_to[e as usize]),
            },
            Folded::Repeat { period, times } => PathStep::Repeat {
                repeat: Repeat {
                    references: period,
                    times,
                },
            },
        })
        .collect()
}
