//! Per-class totals, as DevTools' Summary view shows them.

use crate::distances::UNREACHABLE;
use crate::Analysis;
use crate::{BitSet, Classes, Dominated};

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
    let mut rows = counts(a, &a.classes, |_| true);
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

/// Like `summarize`, under another classification of the same snapshot (a comparison's
/// shared class keys) and counting only the objects `keep` accepts, as DevTools'
/// filtered Summary does: an object the filter rejects neither counts nor hides objects
/// of its class below it.
pub fn summarize_with(
    a: &Analysis,
    classes: &Classes,
    keep: impl Fn(u32) -> bool,
) -> Vec<ClassSummary> {
    let mut rows = counts(a, classes, &keep);
    let top = topmost_where(
        &a.dominated,
        &classes.of_node,
        &a.shallow,
        a.root,
        classes.classes.len(),
        &keep,
    );
    for (w, &word) in top.words().iter().enumerate() {
        let mut bits = word;
        while bits != 0 {
            let v = w * 64 + bits.trailing_zeros() as usize;
            bits &= bits - 1;
            rows[classes.of_node[v] as usize].retained_size += a.retained[v];
        }
    }
    rows.retain(|r| r.count > 0);
    rows
}

/// Count, shallow size and distance per class (retained sizes left at 0).
fn counts(a: &Analysis, classes: &Classes, keep: impl Fn(u32) -> bool) -> Vec<ClassSummary> {
    let mut rows: Vec<ClassSummary> = (0..classes.classes.len() as u32)
        .map(|class| ClassSummary {
            class,
            count: 0,
            shallow_size: 0,
            retained_size: 0,
            distance: None,
        })
        .collect();
    for (i, &size) in a.shallow.iter().enumerate() {
        if size == 0 || !keep(i as u32) {
            continue;
        }
        let row = &mut rows[classes.of_node[i] as usize];
        row.count += 1;
        row.shallow_size += size as u64;
        let d = a.distance[i];
        if d != UNREACHABLE {
            row.distance = Some(row.distance.map_or(d, |x| x.min(d)));
        }
    }
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
    topmost_where(dominated, of_node, shallow, root, nclasses, |_| true)
}

fn topmost_where(
    dominated: &Dominated,
    of_node: &[u32],
    shallow: &[u32],
    root: u32,
    nclasses: usize,
    keep: impl Fn(u32) -> bool,
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
        if !open[class] && shallow[node as usize] != 0 && keep(node) {
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
