//! Which edges DevTools lets retain: the rules shared by dominators, distances and paths.

use std::collections::HashMap;

use heaphound_snapshot::{EdgeKind, HeapGraph, NodeKind};
use regex::bytes::Regex;

use crate::bits::BitSet;

const NONE: u32 = u32::MAX;

/// WeakMap entries appear as two `internal` edges to the value, one from the table and one
/// from the key, whose names share a suffix naming the table. This indexes those names.
pub struct Ephemerons {
    /// Strings that name ephemeron edges: a small bit set checked before `by_string`.
    named: BitSet,
    /// Per string index: the entry in `table_id`/`pair` or NONE.
    by_string: Vec<u32>,
    /// Node ordinal of the table the name mentions (NONE when no node has its id), so
    /// the edge rules need not keep every node's id.
    table_node: Vec<u32>,
    /// Id of the shared suffix, equal for both edges of one pair.
    pair: Vec<u32>,
}

impl Ephemerons {
    pub fn build(g: &HeapGraph) -> Ephemerons {
        let re = Regex::new(
            r"^\d+(?P<dup> / part of key \(.*? @\d+\) -> value \(.*? @\d+\) pair in WeakMap \(table @(?P<table>\d+)\))$",
        )
        .expect("static regex");
        let mut by_string = vec![NONE; g.strings.len()];
        let mut named = BitSet::new(g.strings.len());
        let mut table_id = Vec::new();
        let mut pair = Vec::new();
        let mut suffixes: HashMap<Vec<u8>, u32> = HashMap::new();
        let mut checked = BitSet::new(g.strings.len());
        for e in 0..g.edge_count() as u32 {
            if g.edge_kind(e) != EdgeKind::Internal {
                continue;
            }
            let s = g.edge_name[e as usize];
            if checked.get(s) {
                continue;
            }
            checked.set(s);
            let bytes = g.strings.bytes(s);
            if !bytes.ends_with(b")") || !bytes.first().is_some_and(u8::is_ascii_digit) {
                continue;
            }
            let Some(c) = re.captures(bytes) else {
                continue;
            };
            let table = std::str::from_utf8(&c["table"])
                .ok()
                .and_then(|t| t.parse::<u64>().ok())
                .unwrap_or(u64::MAX);
            let next = suffixes.len() as u32;
            let id = *suffixes.entry(c["dup"].to_vec()).or_insert(next);
            by_string[s as usize] = table_id.len() as u32;
            named.set(s);
            table_id.push(u32::try_from(table).unwrap_or(NONE));
            pair.push(id);
        }
        // Table ids to ordinals in one pass over the ids: a sorted list of the few table
        // ids, behind a range check that turns nearly every node away.
        let mut wanted: Vec<(u32, u32)> = Vec::new();
        wanted.extend(table_id.iter().map(|&t| (t, NONE)));
        wanted.sort_unstable();
        wanted.dedup();
        if let (Some(&(lo, _)), Some(&(hi, _))) = (wanted.first(), wanted.last()) {
            for (i, &id) in g.node_id.iter().enumerate() {
                if (lo..=hi).contains(&id) {
                    if let Ok(k) = wanted.binary_search_by_key(&id, |&(t, _)| t) {
                        wanted[k].1 = i as u32;
                    }
                }
            }
        }
        let table_node = table_id
            .iter()
            .map(|t| {
                wanted
                    .binary_search_by_key(t, |&(w, _)| w)
                    .map_or(NONE, |k| wanted[k].1)
            })
            .collect();
        Ephemerons {
            named,
            by_string,
            table_node,
            pair,
        }
    }

    /// True when `node` is the table the ephemeron edge name `string` names.
    #[inline]
    pub fn is_table_edge(&self, string: u32, node: u32) -> bool {
        self.lookup(string).is_some_and(|(table, _)| table == node)
    }

    /// For an ephemeron edge name: (the table's node ordinal or NONE, pair id).
    #[inline]
    pub fn lookup(&self, string: u32) -> Option<(u32, u32)> {
        if (string as usize) >= self.by_string.len() || !self.named.get(string) {
            return None;
        }
        let i = self.by_string[string as usize];
        (i != NONE).then(|| (self.table_node[i as usize], self.pair[i as usize]))
    }

    pub fn pair_count(&self) -> usize {
        self.pair
            .iter()
            .copied()
            .max()
            .map_or(0, |m| m as usize + 1)
    }
}

/// True for the node that heads the user's object graph: anything the root points at
/// that is not synthetic (in Node, the global object), or a DOM trees root.
pub fn is_user_root(g: &HeapGraph, node: u32) -> bool {
    g.kind(node) != NodeKind::Synthetic || is_dom_trees_root(g, node)
}

fn is_dom_trees_root(g: &HeapGraph, node: u32) -> bool {
    g.kind(node) == NodeKind::Synthetic && g.name_bytes(node) == b"(Document DOM trees)"
}

/// Nodes reachable over non-weak edges from the root's shortcut targets (and DOM tree
/// roots): the "page-owned" objects, as opposed to what only the debugger or VM holds.
pub fn page_owned(g: &HeapGraph) -> BitSet {
    let mut flags = BitSet::new(g.node_count());
    let mut stack = Vec::new();
    for e in g.edges(g.root) {
        let to = g.edge_to[e as usize];
        let entry = match g.edge_kind(e) {
            EdgeKind::Element => is_dom_trees_root(g, to),
            EdgeKind::Shortcut => true,
            _ => false,
        };
        if entry {
            flags.set(to);
            stack.push(to);
        }
    }
    while let Some(n) = stack.pop() {
        for e in g.edges(n) {
            let to = g.edge_to[e as usize];
            if flags.get(to) || g.edge_kind(e) == EdgeKind::Weak {
                continue;
            }
            flags.set(to);
            stack.push(to);
        }
    }
    flags
}

/// The edges that count for dominance: not weak, not self edges, not a WeakMap table's
/// own edge to a value (the key's edge is kept), no shortcuts except from the root, and
/// none from an object the page does not own to one it does.
pub fn essential_edges(g: &HeapGraph, eph: &Ephemerons) -> BitSet {
    essential_edges_counted(g, eph, &mut [])
}

/// `essential_edges`, also counting each node's essential predecessors into `counts[t+1]`
/// when `counts` has room (the first pass of building them).
pub fn essential_edges_counted(g: &HeapGraph, eph: &Ephemerons, counts: &mut [u32]) -> BitSet {
    let count = !counts.is_empty();
    let page = page_owned(g);
    let mut bits = BitSet::new(g.edge_count());
    for src in 0..g.node_count() as u32 {
        let src_page = page.get(src);
        for e in g.edges(src) {
            let kind = g.edge_kind(e);
            if kind == EdgeKind::Weak {
                continue;
            }
            if kind == EdgeKind::Internal && eph.is_table_edge(g.edge_name[e as usize], src) {
                continue;
            }
            let to = g.edge_to[e as usize];
            if to == src {
                continue;
            }
            if src != g.root {
                if kind == EdgeKind::Shortcut {
                    continue;
                }
                if page.get(to) && !src_page {
                    continue;
                }
            }
            bits.set(e);
            if count {
                counts[to as usize + 1] += 1;
            }
        }
    }
    bits
}
