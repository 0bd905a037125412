//! Views of single objects and their neighbourhood: the largest objects, the dominator
//! tree, retainer paths and one object's details.

use std::collections::HashMap;

use heaphound_model::heap::{
    DominatorNode, Dominators, InEdge, Inspect, Objects, OutEdge, RetainerPath, RetainerStep,
    Retainers,
};
use heaphound_model::SCHEMA_VERSION;
use heaphound_snapshot::HeapGraph;

use crate::paths;
use crate::views::object::{edge_ref, folded_path, node_location, object_ref};
use crate::Analysis;

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

/// The `top` objects that retain the most.
pub fn objects(g: &HeapGraph, a: &Analysis, file: &str, top: usize) -> Objects {
    Objects {
        schema_version: SCHEMA_VERSION,
        file: file.to_owned(),
        total_size: a.total_size,
        objects: largest(a, top)
            .into_iter()
            .map(|n| object_ref(g, a, n))
            .collect(),
    }
}

/// Children of a node in the dominator tree, largest retained size first, and how many it
/// has in all.
pub fn dominated_sorted(a: &Analysis, node: u32, top: usize) -> (Vec<u32>, usize) {
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
pub fn dominators(
    g: &HeapGraph,
    a: &Analysis,
    file: &str,
    start: u32,
    depth: u32,
    top: usize,
) -> Dominators {
    // Built bottom-up from an explicit stack: no recursion on the tree's depth.
    struct Frame {
        node: u32,
        level: u32,
        kids: Vec<u32>,
        more: usize,
        done: Vec<DominatorNode>,
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
        let Some(top_frame) = stack.last_mut() else {
            unreachable!("the stack holds the start until the loop ends");
        };
        if let Some(k) = top_frame.kids.pop() {
            let level = top_frame.level + 1;
            stack.push(frame(k, level));
            continue;
        }
        let Some(f) = stack.pop() else {
            unreachable!("the stack is not empty");
        };
        let node = DominatorNode {
            object: object_ref(g, a, f.node),
            children: f.done,
            more_children: f.more as u64,
        };
        match stack.last_mut() {
            Some(parent) => parent.done.push(node),
            None => break node,
        }
    };
    Dominators {
        schema_version: SCHEMA_VERSION,
        file: file.to_owned(),
        total_size: a.total_size,
        tree,
    }
}

/// Retainer paths of `target` (from [`paths::retainer_paths`]), each also folded.
pub fn retainers(
    g: &HeapGraph,
    a: &Analysis,
    file: &str,
    target: u32,
    found: &[paths::RetainerPath],
) -> Retainers {
    let paths = found
        .iter()
        .map(|p| RetainerPath {
            length: p.steps.len() as u64,
            steps: p
                .steps
                .iter()
                .map(|s| RetainerStep {
                    object: object_ref(g, a, s.holder),
                    edge: edge_ref(g, s.edge),
                })
                .collect(),
            folded: folded_path(g, a, p),
        })
        .collect();
    Retainers {
        schema_version: SCHEMA_VERSION,
        file: file.to_owned(),
        target: object_ref(g, a, target),
        paths,
    }
}

/// How many references `inspect` lists each way.
pub struct InspectLimits {
    pub edges: usize,
    pub retainers: usize,
}

pub fn inspect(
    g: &HeapGraph,
    a: &Analysis,
    file: &str,
    node: u32,
    scripts: &HashMap<u32, String>,
    limits: &InspectLimits,
) -> Inspect {
    let ret = a.retainers(g);
    Inspect {
        object: object_ref(g, a, node),
        schema_version: SCHEMA_VERSION,
        file: file.to_owned(),
        dominator: (node != a.root).then(|| object_ref(g, a, a.dominator[node as usize])),
        location: node_location(g, node, scripts),
        trace_node_id: g.node_trace_id.get(node as usize).copied(),
        detachedness: g.node_detachedness.get(node as usize).copied(),
        edge_count: g.edges(node).len() as u64,
        edges: g
            .edges(node)
            .take(limits.edges)
            .map(|e| OutEdge {
                edge: edge_ref(g, e),
                to: object_ref(g, a, g.edge_to[e as usize]),
            })
            .collect(),
        retainer_count: u64::from(ret.count(node)),
        retainers: ret
            .of(node)
            .take(limits.retainers)
            .map(|r| InEdge {
                edge: edge_ref(g, ret.edge[r]),
                from: object_ref(g, a, ret.node[r]),
            })
            .collect(),
    }
}
