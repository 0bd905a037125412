//! Snapshot comparison, as DevTools' Comparison view computes it: objects are matched by
//! their V8 id (stable for the life of a process), class by class. An object whose id is
//! only in the later snapshot is new, one only in the earlier one was deleted. Both sides
//! must be classified with the same plain-object shapes (the later snapshot's), so a class
//! key means the same thing on both sides.

use std::collections::HashMap;

use crate::classes::{ClassInfo, Classes};
use crate::summary::ClassSummary;

/// What the comparison needs of one snapshot.
pub struct DiffSide<'a> {
    /// V8 object id per node.
    pub ids: &'a [u32],
    /// DevTools' shallow sizes (objects of size 0 are not counted, as in its views).
    pub shallow: &'a [u32],
    pub classes: &'a Classes,
    /// The class summary under `classes`, for counts and retained sizes.
    pub summary: &'a [ClassSummary],
}

/// One class's row in the comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassDiff {
    pub class: ClassInfo,
    /// Objects only in the later snapshot, and their shallow bytes there.
    pub new_count: u64,
    pub alloc_size: u64,
    /// Objects only in the earlier snapshot, and their shallow bytes there.
    pub deleted_count: u64,
    pub freed_size: u64,
    pub count_before: u64,
    pub count_after: u64,
    pub retained_before: u64,
    pub retained_after: u64,
}

impl ClassDiff {
    pub fn count_delta(&self) -> i64 {
        self.new_count as i64 - self.deleted_count as i64
    }

    pub fn size_delta(&self) -> i64 {
        self.alloc_size as i64 - self.freed_size as i64
    }

    pub fn retained_delta(&self) -> i64 {
        self.retained_after as i64 - self.retained_before as i64
    }
}

/// Per class: `(id, shallow size)` of its counted objects, sorted by id, in one flat array.
struct ByClass {
    first: Vec<u32>,
    items: Vec<(u32, u32)>,
}

impl ByClass {
    fn build(side: &DiffSide) -> ByClass {
        let nclasses = side.classes.classes.len();
        let mut first = vec![0u32; nclasses + 1];
        for (i, &s) in side.shallow.iter().enumerate() {
            if s != 0 {
                first[side.classes.of_node[i] as usize + 1] += 1;
            }
        }
        for c in 0..nclasses {
            first[c + 1] += first[c];
        }
        let mut fill = first[..nclasses].to_vec();
        let mut items = vec![(0u32, 0u32); first[nclasses] as usize];
        for (i, &s) in side.shallow.iter().enumerate() {
            if s != 0 {
                let c = side.classes.of_node[i] as usize;
                items[fill[c] as usize] = (side.ids[i], s);
                fill[c] += 1;
            }
        }
        for c in 0..nclasses {
            items[first[c] as usize..first[c + 1] as usize].sort_unstable_by_key(|x| x.0);
        }
        ByClass { first, items }
    }

    fn of(&self, class: usize) -> &[(u32, u32)] {
        &self.items[self.first[class] as usize..self.first[class + 1] as usize]
    }
}

/// Compares two snapshots class by class. Classes with neither new nor deleted objects are
/// left out, as in DevTools. Rows come in no particular order.
pub fn diff(before: &DiffSide, after: &DiffSide) -> Vec<ClassDiff> {
    let (a, b) = (ByClass::build(before), ByClass::build(after));
    let totals = |side: &DiffSide| {
        let mut t = vec![(0u64, 0u64); side.classes.classes.len()];
        for r in side.summary {
            t[r.class as usize] = (r.count, r.retained_size);
        }
        t
    };
    let (ta, tb) = (totals(before), totals(after));
    let index_b: HashMap<&ClassInfo, usize> = after
        .classes
        .classes
        .iter()
        .enumerate()
        .map(|(i, c)| (c, i))
        .collect();
    let mut rows = Vec::new();
    let mut matched = vec![false; after.classes.classes.len()];
    for (ca, info) in before.classes.classes.iter().enumerate() {
        let cb = index_b.get(info).copied();
        if let Some(cb) = cb {
            matched[cb] = true;
        }
        let row = compare(
            info,
            a.of(ca),
            cb.map_or(&[][..], |c| b.of(c)),
            ta[ca],
            cb.map_or((0, 0), |c| tb[c]),
        );
        rows.extend(row);
    }
    for (cb, info) in after.classes.classes.iter().enumerate() {
        if !matched[cb] {
            rows.extend(compare(info, &[], b.of(cb), (0, 0), tb[cb]));
        }
    }
    rows
}

fn compare(
    info: &ClassInfo,
    before: &[(u32, u32)],
    after: &[(u32, u32)],
    (count_before, retained_before): (u64, u64),
    (count_after, retained_after): (u64, u64),
) -> Option<ClassDiff> {
    let mut d = ClassDiff {
        class: info.clone(),
        new_count: 0,
        alloc_size: 0,
        deleted_count: 0,
        freed_size: 0,
        count_before,
        count_after,
        retained_before,
        retained_after,
    };
    let (mut i, mut j) = (0, 0);
    while i < before.len() && j < after.len() {
        let (ia, sa) = before[i];
        let (ib, sb) = after[j];
        if ia < ib {
            d.deleted_count += 1;
            d.freed_size += sa as u64;
            i += 1;
        } else if ia > ib {
            d.new_count += 1;
            d.alloc_size += sb as u64;
            j += 1;
        } else {
            i += 1;
            j += 1;
        }
    }
    for &(_, s) in &before[i..] {
        d.deleted_count += 1;
        d.freed_size += s as u64;
    }
    for &(_, s) in &after[j..] {
        d.new_count += 1;
        d.alloc_size += s as u64;
    }
    (d.new_count != 0 || d.deleted_count != 0).then_some(d)
}

/// The largest id of a JS object (odd ids; embedder objects have even ones). Objects with
/// larger ids in a later snapshot of the same process were allocated after this one.
pub fn max_js_object_id(ids: &[u32]) -> u32 {
    ids.iter()
        .copied()
        .filter(|id| id % 2 == 1)
        .max()
        .unwrap_or(0)
}
