//! Distance from the user's roots, by DevTools' rules: BFS from the global object(s) over
//! non-weak edges, then from the root for what only the VM holds (those get 100,000,000+).

use std::collections::VecDeque;

use heaphound_snapshot::{EdgeKind, HeapGraph, NodeKind};

use crate::bits::BitSet;
use crate::edges::{is_user_root, Ephemerons};

/// Distance of a node no BFS reaches.
pub const UNREACHABLE: u32 = u32::MAX;
/// DevTools adds this to distances of objects reached only through VM internals (the
/// documents' readers need it too, so the model holds it).
pub const BASE_SYSTEM_DISTANCE: u32 = heaphound_model::object::BASE_SYSTEM_DISTANCE;

pub fn distances(g: &HeapGraph, eph: &Ephemerons) -> Vec<u32> {
    distances_with_queue(g, eph, Vec::new())
}

/// `distances`, using `queue`'s memory for the BFS queue.
pub fn distances_with_queue(g: &HeapGraph, eph: &Ephemerons, queue: Vec<u32>) -> Vec<u32> {
    let n = g.node_count();
    let mut dist = heaphound_snapshot::column::filled(n, UNREACHABLE);
    // A ring: it holds the frontier, not every node the search has seen.
    let mut queue = VecDeque::from(queue);
    queue.clear();
    for e in g.edges(g.root) {
        let t = g.edge_to[e as usize];
        if is_user_root(g, t) {
            dist[t as usize] = 1;
            queue.push_back(t);
        }
    }
    let had_user_roots = !queue.is_empty();
    let mut pending = BitSet::new(eph.pair_count());
    bfs(g, eph, &mut dist, &mut queue, &mut pending);
    dist[g.root as usize] = if had_user_roots {
        BASE_SYSTEM_DISTANCE
    } else {
        0
    };
    queue.clear();
    queue.push_back(g.root);
    bfs(g, eph, &mut dist, &mut queue, &mut pending);
    dist
}

fn bfs(
    g: &HeapGraph,
    eph: &Ephemerons,
    dist: &mut [u32],
    queue: &mut VecDeque<u32>,
    pending: &mut BitSet,
) {
    while let Some(node) = queue.pop_front() {
        let d = dist[node as usize] + 1;
        for e in g.edges(node) {
            if g.edge_kind(e) == EdgeKind::Weak {
                continue;
            }
            let t = g.edge_to[e as usize];
            if dist[t as usize] != UNREACHABLE {
                continue;
            }
            if !follow(g, eph, node, e, pending) {
                continue;
            }
            dist[t as usize] = d;
            queue.push_back(t);
        }
    }
}

/// DevTools' distance filter. It is consulted only for edges to unvisited nodes, and its
/// WeakMap rule is stateful: the first edge of each key/value pair is skipped, so the
/// value's distance is one more than the later of the table and the key.
fn follow(g: &HeapGraph, eph: &Ephemerons, node: u32, e: u32, pending: &mut BitSet) -> bool {
    let kind = g.kind(node);
    if kind == NodeKind::Hidden
        && g.edge_name_bytes(e) == Some(b"sloppy_function_map")
        && g.name_bytes(node) == b"system / NativeContext"
    {
        return false;
    }
    if kind == NodeKind::Array && g.name_bytes(node) == b"(map descriptors)" {
        // Descriptor slots may be shared between maps, so key slots (3k+1, k>0) don't count.
        let index = match g.edge_name_bytes(e) {
            None => Some(g.edge_name[e as usize] as u64),
            Some(s) => parse_int_prefix(s),
        };
        return match index {
            Some(i) => i < 2 || i % 3 != 1,
            None => true,
        };
    }
    if g.edge_kind(e) == EdgeKind::Internal {
        if let Some((_, pair)) = eph.lookup(g.edge_name[e as usize]) {
            if pending.get(pair) {
                pending.clear(pair);
            } else {
                pending.set(pair);
                return false;
            }
        }
    }
    true
}

/// `parseInt(s, 10)` for non-negative input: leading digits after optional white space.
fn parse_int_prefix(s: &[u8]) -> Option<u64> {
    let s = s.trim_ascii_start();
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in &s[..digits] {
        v = v.saturating_mul(10).saturating_add((b - b'0') as u64);
    }
    Some(v)
}
