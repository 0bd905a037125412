//! Per-class totals, as DevTools' Summary view shows them.

use crate::distances::UNREACHABLE;
use crate::Analysis;
use crate::{BitSet, Dominated};

#[derive(Debug, Clone)]
pub struct ClassSummary {
    pub class: u32,
    pub count: u64,
    pub shallow_size: u64,
    pub retained_size: u64,
    /// Smallest distance of any member; None when no member is reachable.
    pub distance: Option<u32>,
}

/// Aggregates every class. Objects of size 0 are left out, as in DevTools. A class's
/// retained size counts each object once: only objects with no object of the same class
/// above them in the dominator tree add theirs (see `topmost`).
pub fn summarize(a: &Analysis) -> Vec<ClassSummary> {
    let nclasses = a.classes.classes.len();
    let mut rows: Vec<ClassSummary> = (0..nclasses as u32)
        .map(|class| ClassSummary {
            class,
            count: 0,
            shallow_size: 0,
            retained_size: 0,
            distance: None,
        })
        .collect();
    for (i, &size) in a.shallow.iter().enumerate() {
        if size == 0 {
            continue;
        }
        let row = &mut rows[a.classes.of_node[i] as usize];
        row.count += 1;
        row.shallow_size += size as u64;
        let d = a.distance[i];
        if d != UNREACHABLE {
            row.distance = Some(row.distance.map_or(d, |x| x.min(d)));
        }
    }

    // Each class's retained size: the sum over its topmost objects in the dominator tree.
    for (w, &word) in a.topmost.words().iter().enumerate() {
        let mut bits = word;
        while bits != 0 {
            let v = w * 64 + bits.trailing_zeros() as usize;
            bits &= bits - 1;
            rows[a.classes.of_node[v] as usize].retained_size += a.retained[v];
        }
    }
    rows.retain(|r| r.count > 0);
    rows
}

/// The objects that count towards their class's retained size: those of non-zero size with
/// no object of the same class (and non-zero size) among their dominators. A depth-first
/// walk of the dominator tree that remembers which classes are open above; it needs no
/// retained sizes, so it runs beside their summation.
pub fn topmost(
    dominated: &Dominated,
    of_node: &[u32],
    shallow: &[u32],
    root: u32,
    nclasses: usize,
) -> BitSet {
    let mut marked = BitSet::new(of_node.len());
    let mut open = vec![false; nclasses];
    let mut stack: Vec<(u32, bool)> = vec![(root, false)];
    while let Some((node, leaving)) = stack.pop() {
        let class = of_node[node as usize] as usize;
        if leaving {
            open[class] = false;
            continue;
        }
        let children = dominated.children(node);
        if !open[class] && shallow[node as usize] != 0 {
            marked.set(node);
            if !children.is_empty() {
                open[class] = true;
                stack.push((node, true));
            }
        }
        stack.extend(children.iter().map(|&c| (c, false)));
    }
    marked
}
