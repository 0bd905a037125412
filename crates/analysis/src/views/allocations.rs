//! The allocation call tree the flame graph draws: from the allocation stacks of a snapshot
//! taken with allocation tracking on, or from a sampling heap profile; and its pruning to
//! what a stored report keeps.

use std::collections::HashMap;

use heaphound_model::profile::{AllocationNode, AllocationTree};
use heaphound_snapshot::HeapGraph;

use crate::heapprofile::Profile;

/// The profile's call tree as it is (it is in pre-order already).
pub fn from_profile(p: &Profile) -> AllocationTree {
    AllocationTree {
        nodes: p
            .nodes
            .iter()
            .map(|n| AllocationNode {
                name: n.frame.display_name().to_string(),
                location: n.frame.location(),
                at: n
                    .frame
                    .line
                    .map(|l| (n.frame.url.clone(), l, n.frame.column.unwrap_or(1))),
                self_size: n.self_size,
                total_size: n.total_size,
                children: n.children.iter().map(|&c| c as usize).collect(),
                ..AllocationNode::default()
            })
            .collect(),
    }
}

fn frame(name: String, location: String, at: Option<(String, u32, u32)>) -> AllocationNode {
    AllocationNode {
        name,
        location,
        at,
        ..AllocationNode::default()
    }
}

/// The allocation stacks of a snapshot taken with allocation tracking on, weighted by
/// the self size of the objects still alive in it; `None` without tracking data.
pub fn from_trace(g: &HeapGraph) -> Option<AllocationTree> {
    let tree = &g.trace_tree;
    if tree.is_empty() || g.node_trace_id.is_empty() {
        return None;
    }
    let index: HashMap<u32, usize> = tree.id.iter().enumerate().map(|(i, &id)| (id, i)).collect();
    // Node 0 is a root of our own: the trace may have several.
    let mut nodes = vec![frame("(root)".into(), String::new(), None)];
    for i in 0..tree.len() {
        let f = g.trace_functions.get(tree.function_info[i] as usize);
        let (name, location, at) = match f {
            Some(f) => {
                let script = g.strings.get(f.script_name);
                let (loc, at) = match (script.is_empty(), f.line) {
                    (true, _) => ("(native)".to_string(), None),
                    (false, 0) => (script.into_owned(), None),
                    (false, l) => (
                        format!("{script}:{l}:{}", f.column),
                        Some((script.into_owned(), l, f.column)),
                    ),
                };
                (g.strings.get(f.name).into_owned(), loc, at)
            }
            None => ("(unknown)".to_string(), String::new(), None),
        };
        let name = if name.is_empty() {
            "(anonymous)".into()
        } else {
            name
        };
        nodes.push(frame(name, location, at));
    }
    for (&t, &size) in g.node_trace_id.iter().zip(&g.node_self_size) {
        if let Some(&i) = index.get(&t) {
            nodes[i + 1].self_size += u64::from(size);
        }
    }
    for i in 0..tree.len() {
        let p = tree.parent[i];
        let parent = if p == u32::MAX || p as usize >= tree.len() {
            0
        } else {
            p as usize + 1
        };
        if parent != i + 1 {
            nodes[parent].children.push(i + 1);
        }
    }
    // Totals, children before parents: a post-order from the root, iteratively.
    let mut order = Vec::with_capacity(nodes.len());
    let mut seen = vec![false; nodes.len()];
    let mut stack = vec![0usize];
    while let Some(n) = stack.pop() {
        if std::mem::replace(&mut seen[n], true) {
            continue;
        }
        order.push(n);
        stack.extend(nodes[n].children.iter().copied());
    }
    for &n in order.iter().rev() {
        let t = nodes[n].self_size
            + nodes[n]
                .children
                .iter()
                .map(|&c| nodes[c].total_size)
                .sum::<u64>();
        nodes[n].total_size = t;
    }
    (nodes[0].total_size > 0).then_some(AllocationTree { nodes })
}

/// The frames worth drawing: at least `min_fraction` of the total, at most `max_nodes`
/// of them (largest first), renumbered in pre-order. Keeps a stored tree small.
pub fn pruned(tree: &AllocationTree, min_fraction: f64, max_nodes: usize) -> AllocationTree {
    let total = tree.total();
    if total == 0 {
        return AllocationTree::default();
    }
    let floor = (total as f64 * min_fraction) as u64;
    let mut out = AllocationTree::default();
    // (old node, new parent)
    let mut stack: Vec<(usize, Option<usize>)> = vec![(0, None)];
    while let Some((n, parent)) = stack.pop() {
        if out.nodes.len() >= max_nodes {
            break;
        }
        let Some(old) = tree.nodes.get(n) else {
            continue;
        };
        let me = out.nodes.len();
        out.nodes.push(AllocationNode {
            children: Vec::new(),
            ..old.clone()
        });
        if let Some(p) = parent {
            out.nodes[p].children.push(me);
        }
        let mut kids: Vec<usize> = old
            .children
            .iter()
            .copied()
            .filter(|&c| {
                tree.nodes
                    .get(c)
                    .is_some_and(|k| k.total_size >= floor.max(1))
            })
            .collect();
        kids.sort_by_key(|&c| tree.nodes[c].total_size);
        stack.extend(kids.into_iter().map(|c| (c, Some(me))));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, self_size: u64, total_size: u64, children: Vec<usize>) -> AllocationNode {
        AllocationNode {
            name: name.into(),
            location: "app.js:1:1".into(),
            self_size,
            total_size,
            children,
            ..AllocationNode::default()
        }
    }

    #[test]
    fn pruning_drops_thin_frames_and_renumbers_largest_first() {
        let tree = AllocationTree {
            nodes: vec![
                node("(root)", 0, 1000, vec![1, 2, 3]),
                node("thin", 1, 1, vec![]),
                node("small", 300, 300, vec![]),
                node("big", 600, 700, vec![4]),
                node("under", 100, 100, vec![]),
            ],
        };
        let p = pruned(&tree, 0.01, 10);
        let names: Vec<&str> = p.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["(root)", "big", "under", "small"]);
        assert_eq!(p.nodes[0].children, [1, 3]);
        assert_eq!(p.nodes[1].children, [2]);
        assert_eq!(pruned(&tree, 0.01, 2).nodes.len(), 2);
        assert!(pruned(&AllocationTree::default(), 0.01, 10)
            .nodes
            .is_empty());
    }
}
