//! DevTools' shallow-size rule: internal arrays and hidden objects that exactly one
//! ordinary object owns are folded into that owner, so a Map's size includes its table.

use heaphound_snapshot::{EdgeKind, HeapGraph, NodeKind};

use crate::edges::is_user_root;

const UNVISITED: u32 = u32::MAX;
const SHARED: u32 = u32::MAX - 1;

/// Returns the adjusted self sizes. A snapshot with no user root (taken with internals
/// exposed) is left as V8 wrote it, as DevTools does.
pub fn shallow_sizes(g: &HeapGraph) -> Vec<u32> {
    shallow_sizes_with_scratch(g).0
}

/// `shallow_sizes`, also handing back its n-element working array for reuse.
pub fn shallow_sizes_with_scratch(g: &HeapGraph) -> (Vec<u32>, Vec<u32>) {
    shallow_sizes_from(g, g.node_self_size.clone())
}

/// `shallow_sizes_with_scratch`, folding the self sizes in `sizes` (V8's, taken out of
/// the graph, which then need not be copied) in place.
pub fn shallow_sizes_from(g: &HeapGraph, mut sizes: Vec<u32>) -> (Vec<u32>, Vec<u32>) {
    let has_user_root = g
        .edges(g.root)
        .any(|e| is_user_root(g, g.edge_to[e as usize]));
    let n = g.node_count();
    if !has_user_root {
        return (sizes, Vec::new());
    }
    let mut owner = heaphound_snapshot::column::filled(n, UNVISITED);
    let ownable = |i: u32| match g.kind(i) {
        NodeKind::Hidden | NodeKind::Array => true,
        NodeKind::Native => g.name_bytes(i) == b"system / ExternalStringData",
        _ => false,
    };
    for i in 0..n as u32 {
        if !ownable(i) {
            owner[i as usize] = i;
        }
    }
    // Ownership flows from each ordinary node through the ownable nodes it reaches; a node
    // reached from two owners is shared. The lattice (unvisited < one owner < shared) makes
    // the result independent of visiting order, so each owner's flow is followed to the end
    // before the next starts, which keeps the stack short.
    let mut work: Vec<u32> = Vec::new();
    for i in 0..n as u32 {
        if owner[i as usize] != i {
            continue;
        }
        work.push(i);
        while let Some(id) = work.pop() {
            let own = owner[id as usize];
            for e in g.edges(id) {
                if g.edge_kind(e) == EdgeKind::Weak {
                    continue;
                }
                let t = g.edge_to[e as usize];
                let cur = owner[t as usize];
                if cur == UNVISITED {
                    owner[t as usize] = own;
                    work.push(t);
                } else if cur == t || cur == own || cur == SHARED {
                    continue;
                } else {
                    owner[t as usize] = SHARED;
                    work.push(t);
                }
            }
        }
    }
    for i in 0..n {
        let o = owner[i];
        if o == UNVISITED || o == SHARED || o as usize == i {
            continue;
        }
        if g.kind(o) == NodeKind::Synthetic || o == g.root {
            continue;
        }
        let moved = sizes[i];
        sizes[i] = 0;
        sizes[o as usize] = sizes[o as usize].saturating_add(moved);
    }
    (sizes, owner)
}
