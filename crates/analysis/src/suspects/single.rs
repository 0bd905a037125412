//! One snapshot, no growth to see: the accumulation points that keep a large share of the
//! heap, as Eclipse MAT finds the leak suspects of a single dump.
//!
//! A node is big when it retains [`SHARE`] of the heap or more. Big nodes form one subtree
//! of the dominator tree (a node retains at least what its children do). A big node is an
//! accumulation point when what it retains beyond its big children is itself big: its size
//! is spread over many small objects (a Map's entries, an array's elements, an emitter's
//! listeners), not passed down to one child. Its objects are what it dominates, less what
//! other accumulation points below it keep.

use heaphound_snapshot::{HeapGraph, NodeKind};

use super::growth::{lift, Group, Growth};
use crate::bits::BitSet;
use crate::distances::BASE_SYSTEM_DISTANCE;
use crate::Analysis;

/// The share of the heap a holder must retain to be named: MAT's default.
pub const SHARE: f64 = 0.10;

const NONE: u32 = u32::MAX;

/// The accumulation points of one snapshot as groups, in [`Growth`]'s terms: each
/// point's objects are "leaked" under it.
pub fn heavy(g: &HeapGraph, a: &Analysis) -> Growth {
    let n = g.node_count();
    let line = ((a.total_size as f64) * SHARE).ceil().max(1.0) as u64;
    let big = |v: u32| a.retained[v as usize] >= line;
    let eligible = |v: u32| {
        v != a.root
            && g.kind(v) != NodeKind::Synthetic
            && a.distance[v as usize] < BASE_SYSTEM_DISTANCE
    };
    // Top-down over the big subtree, one explicit stack (dominator chains can be long).
    let mut points: Vec<u32> = Vec::new();
    let mut stack = vec![a.root];
    while let Some(v) = stack.pop() {
        let mut below = 0u64;
        for &c in a.dominated.children(v) {
            if big(c) {
                below += a.retained[c as usize];
                stack.push(c);
            }
        }
        if eligible(v) && a.retained[v as usize].saturating_sub(below) >= line {
            points.push(v);
        }
    }
    let mut is_point = BitSet::new(n);
    for &p in &points {
        is_point.set(p);
    }
    let mut leaked = BitSet::new(n);
    let mut holder = vec![NONE; n];
    let mut depth = vec![0u32; n];
    let mut groups: Vec<Group> = Vec::new();
    for &p in &points {
        let h = lift(g, a, p);
        let k = match groups.iter().position(|x| x.holder == h) {
            Some(k) => k,
            None => {
                groups.push(Group {
                    holder: h,
                    count: 0,
                    bytes: 0,
                    native_bytes: 0,
                });
                groups.len() - 1
            }
        };
        let mut stack: Vec<(u32, u32)> = a
            .dominated
            .children(p)
            .iter()
            .map(|&c| (c, 1 + u32::from(h != p)))
            .collect();
        while let Some((v, d)) = stack.pop() {
            if is_point.get(v) {
                continue;
            }
            leaked.set(v);
            holder[v as usize] = h;
            depth[v as usize] = d;
            let size = a.shallow[v as usize] as u64;
            if size > 0 {
                let grp = &mut groups[k];
                grp.count += 1;
                grp.bytes += size;
                if g.kind(v) == NodeKind::Native {
                    grp.native_bytes += size;
                }
            }
            for &c in a.dominated.children(v) {
                stack.push((c, d.saturating_add(1)));
            }
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
