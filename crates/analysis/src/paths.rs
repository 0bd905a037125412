//! Retainer paths: the shortest chains of references from a GC root to an object.
//!
//! A best-first search runs backwards from the object over retaining edges, guided by each
//! node's distance from the roots, so complete paths come out shortest first and paths
//! through the user's objects (the global object) before paths through VM internals.
//! Weak edges never retain, so they are never followed.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use heaphound_snapshot::{EdgeKind, HeapGraph};

use crate::distances::UNREACHABLE;
use crate::Analysis;

/// One reference on a path: `holder --edge--> next node`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub holder: u32,
    pub edge: u32,
}

/// A path from a node the root holds directly down to the target; the last step's edge
/// points at the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetainerPath {
    pub steps: Vec<Step>,
}

/// Bounds the search on pathological graphs; each node is expanded at most `k` times.
const MAX_STATES: usize = 2_000_000;

struct State {
    head: u32,
    /// The state this one extends (towards the target), or u32::MAX for the start.
    next: u32,
    /// Edge from `head` to the next state's head.
    edge: u32,
    len: u32,
}

/// Up to `k` distinct simple paths of at most `max_depth` references, shortest first.
pub fn retainer_paths(
    g: &HeapGraph,
    a: &Analysis,
    target: u32,
    k: usize,
    max_depth: u32,
) -> Vec<RetainerPath> {
    let mut found = Vec::new();
    if k == 0 || a.distance[target as usize] == UNREACHABLE || target == g.root {
        return found;
    }
    let mut states: Vec<State> = vec![State {
        head: target,
        next: u32::MAX,
        edge: u32::MAX,
        len: 0,
    }];
    let mut expansions: HashMap<u32, u32> = HashMap::new();
    let mut heap = BinaryHeap::new();
    heap.push(Reverse((a.distance[target as usize] as u64, 0u32)));
    while let Some(Reverse((_, sid))) = heap.pop() {
        let (head, len) = {
            let s = &states[sid as usize];
            (s.head, s.len)
        };
        if held_by_root(g, a, head) {
            // The root holds this node directly: a complete path (empty for the target).
            found.push(unwind(&states, sid));
            if found.len() >= k {
                break;
            }
            if sid != 0 {
                continue;
            }
        }
        let count = expansions.entry(head).or_insert(0);
        if *count as usize >= k {
            continue;
        }
        *count += 1;
        if len >= max_depth {
            continue;
        }
        let ret = a.retainers(g);
        for r in ret.of(head) {
            let (src, e) = (ret.node[r], ret.edge[r]);
            if src == g.root || g.edge_kind(e) == EdgeKind::Weak {
                continue;
            }
            let d = a.distance[src as usize];
            if d == UNREACHABLE || on_path(&states, sid, src) {
                continue;
            }
            if states.len() >= MAX_STATES {
                break;
            }
            let id = states.len() as u32;
            states.push(State {
                head: src,
                next: sid,
                edge: e,
                len: len + 1,
            });
            heap.push(Reverse(((len + 1) as u64 + d as u64, id)));
        }
    }
    found
}

/// True when the root references the node directly (a global object, a root category).
fn held_by_root(g: &HeapGraph, a: &Analysis, node: u32) -> bool {
    let ret = a.retainers(g);
    ret.of(node)
        .any(|r| ret.node[r] == g.root && g.edge_kind(ret.edge[r]) != EdgeKind::Weak)
}

fn on_path(states: &[State], mut sid: u32, node: u32) -> bool {
    while sid != u32::MAX {
        let s = &states[sid as usize];
        if s.head == node {
            return true;
        }
        sid = s.next;
    }
    false
}

fn unwind(states: &[State], mut sid: u32) -> RetainerPath {
    let mut steps = Vec::new();
    while sid != u32::MAX {
        let s = &states[sid as usize];
        if s.edge != u32::MAX {
            steps.push(Step {
                holder: s.head,
                edge: s.edge,
            });
        }
        sid = s.next;
    }
    RetainerPath { steps }
}
