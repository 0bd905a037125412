//! A group measured: the class that stands for it, and its series across the snapshots.

use std::collections::HashMap;

use heaphound_snapshot::{HeapGraph, NodeKind};

use super::Snap;
use crate::classes::ClassInfo;
use crate::Analysis;

/// Per candidate group: statistics of one leaked class.
#[derive(Default, Clone, Copy)]
pub(super) struct ClassStat {
    pub count: u64,
    pub depth_sum: u64,
    pub best: u32,
    pub best_depth: u32,
    pub best_distance: u32,
}

/// The class that stands for a group: of the program's own objects (plain objects, class
/// instances, functions) common enough in the group, the one nearest the holder.
pub(super) fn representative(
    g: &HeapGraph,
    a: &Analysis,
    stats: &HashMap<u32, ClassStat>,
) -> Option<(ClassInfo, u32)> {
    let user = |c: u32, st: &ClassStat| {
        matches!(g.kind(st.best), NodeKind::Object | NodeKind::Closure)
            && !a.classes.classes[c as usize].name.starts_with("system / ")
    };
    let most = stats
        .iter()
        .filter(|(&c, st)| user(c, st))
        .map(|(_, st)| st.count)
        .max()?;
    let (&c, st) = stats
        .iter()
        .filter(|(&c, st)| user(c, st) && st.count * 4 >= most)
        .min_by(|(c1, x), (c2, y)| {
            let avg = |s: &ClassStat| s.depth_sum as f64 / s.count as f64;
            avg(x)
                .total_cmp(&avg(y))
                .then(y.count.cmp(&x.count))
                .then(c1.cmp(c2))
        })?;
    Some((a.classes.classes[c as usize].clone(), st.best))
}

/// Per snapshot: how many objects of `class` the holder dominates, and its retained size.
pub(super) fn series(
    snaps: &[Snap],
    holder_id: u32,
    class: &ClassInfo,
) -> (Vec<Option<u64>>, Vec<Option<u64>>) {
    let mut counts = Vec::with_capacity(snaps.len());
    let mut retained = Vec::with_capacity(snaps.len());
    for s in snaps {
        let (g, a) = (s.graph, s.analysis);
        let Some(h) = g.find_id(holder_id) else {
            counts.push(None);
            retained.push(None);
            continue;
        };
        let target = a
            .classes
            .classes
            .iter()
            .position(|c| c == class)
            .map(|c| c as u32);
        let mut count = 0u64;
        if let Some(target) = target {
            let mut stack = vec![h];
            while let Some(v) = stack.pop() {
                if a.classes.of_node[v as usize] == target && a.shallow[v as usize] != 0 {
                    count += 1;
                }
                stack.extend_from_slice(a.dominated.children(v));
            }
        }
        counts.push(Some(count));
        retained.push(Some(a.retained[h as usize]));
    }
    (counts, retained)
}
