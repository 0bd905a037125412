//! Where the growth sits: the leaked objects of the last snapshot, grouped by the object
//! that accumulates them.
//!
//! An object leaked when it was allocated after the first snapshot and is still alive in
//! the last (with three or more snapshots: it also lived in the one before the last, so
//! allocations that the last round of load made and that are simply not collected yet
//! do not count). Its accumulation point is the nearest object above it in the dominator
//! tree that already existed in the first snapshot: the long-lived Map, array, emitter,
//! closure context or timer list the new objects pile up under. One leak is then one
//! group, however many objects it holds.

use std::collections::HashMap;

use heaphound_snapshot::{HeapGraph, NodeKind};

use crate::bits::BitSet;
use crate::distances::BASE_SYSTEM_DISTANCE;
use crate::Analysis;

const NONE: u32 = u32::MAX;

/// Which object ids a snapshot holds, as a bit set indexed by id.
pub struct IdSet(BitSet);

impl IdSet {
    pub fn of(g: &HeapGraph) -> IdSet {
        let max = g.node_id.iter().copied().max().unwrap_or(0);
        let mut bits = BitSet::new(max as usize + 1);
        for &id in &g.node_id {
            bits.set(id);
        }
        IdSet(bits)
    }

    #[inline]
    pub fn contains(&self, id: u32) -> bool {
        (id as usize) < self.0.capacity() && self.0.get(id)
    }
}

/// The leaked objects under one accumulation point of the last snapshot.
#[derive(Debug, Clone)]
pub struct Group {
    pub holder: u32,
    /// Leaked objects of non-zero size, and their shallow bytes.
    pub count: u64,
    pub bytes: u64,
    /// Of `bytes`, what lives off the JS heap (ArrayBuffer backing stores, other natives).
    pub native_bytes: u64,
}

/// Per node of the last snapshot: whether it leaked, and for leaked nodes the holder and
/// the depth below it in the dominator tree (1 = the holder dominates it immediately).
pub struct Growth {
    pub leaked: BitSet,
    pub holder: Vec<u32>,
    pub depth: Vec<u32>,
    pub groups: Vec<Group>,
}

/// Internal arrays (a Map's table, an object's elements or properties store) stand for the
/// object that owns them: `h`, or its nearest dominator that is not one.
pub(super) fn lift(g: &HeapGraph, a: &Analysis, mut h: u32) -> u32 {
    while matches!(g.kind(h), NodeKind::Array | NodeKind::Hidden) {
        let up = a.dominator[h as usize];
        if up == h || up == a.root || g.kind(up) == NodeKind::Synthetic {
            break;
        }
        h = up;
    }
    h
}

/// Finds the leaked objects of `last` and groups them by holder. `first` holds the ids of
/// the first snapshot; `previous`, when there are three or more snapshots, those of the
/// one before the last.
pub fn find(g: &HeapGraph, a: &Analysis, first: &IdSet, previous: Option<&IdSet>) -> Growth {
    let n = g.node_count();
    let mut leaked = BitSet::new(n);
    for v in 0..n as u32 {
        let id = g.node_id[v as usize];
        // Objects only the VM reaches (compiled code caches, internal tables) are not the
        // program's data; unreachable ones are garbage the snapshot still listed.
        if a.distance[v as usize] >= BASE_SYSTEM_DISTANCE || v == a.root {
            continue;
        }
        if !first.contains(id) && previous.is_none_or(|p| p.contains(id)) {
            leaked.set(v);
        }
    }
    // Top-down over the dominator tree, so a node's dominator is settled before it: each
    // node's nearest dominator that already existed in the first snapshot, and how far
    // below it the node is. Objects allocated after the snapshot before the last are not
    // leaked themselves but can sit between a holder and older leaked objects (a chain
    // where each new link holds the previous ones), so the walk passes through them.
    let mut holder = vec![NONE; n];
    let mut depth = vec![0u32; n];
    let mut stack = vec![a.root];
    while let Some(v) = stack.pop() {
        let old = first.contains(g.node_id[v as usize]);
        for &c in a.dominated.children(v) {
            if old {
                holder[c as usize] = v;
                depth[c as usize] = 1;
            } else {
                holder[c as usize] = holder[v as usize];
                depth[c as usize] = depth[v as usize].saturating_add(1);
            }
            stack.push(c);
        }
    }
    for (v, slot) in holder.iter_mut().enumerate() {
        if !leaked.get(v as u32) {
            *slot = NONE;
        }
    }
    let lift = |h: u32| lift(g, a, h);
    let mut lifted: HashMap<u32, u32> = HashMap::new();
    let mut index: HashMap<u32, usize> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    for (v, slot) in holder.iter_mut().enumerate() {
        if *slot == NONE {
            continue;
        }
        let h = *lifted.entry(*slot).or_insert_with(|| lift(*slot));
        *slot = h;
        let size = a.shallow[v] as u64;
        if size == 0 {
            continue;
        }
        let k = *index.entry(h).or_insert_with(|| {
            groups.push(Group {
                holder: h,
                count: 0,
                bytes: 0,
                native_bytes: 0,
            });
            groups.len() - 1
        });
        let grp = &mut groups[k];
        grp.count += 1;
        grp.bytes += size;
        if g.kind(v as u32) == NodeKind::Native {
            grp.native_bytes += size;
        }
    }
    groups.sort_by(|x, y| y.bytes.cmp(&x.bytes).then(x.holder.cmp(&y.holder)));
    Growth {
        leaked,
        holder,
        depth,
        groups,
    }
}
