//! The bounded summaries a run folder keeps for reports: the class comparison of the first
//! and last snapshot, and the top of the last snapshot's dominator tree. They stay small
//! whatever the heap size, so a report never needs the graph again.

use std::collections::{BinaryHeap, HashMap};

use heaphound_model::diff::ClassComparison;
use heaphound_model::heap::{DominatorSummary, DominatorSummaryNode};
use heaphound_snapshot::HeapGraph;

use crate::diff::ClassDiff;
use crate::views::diff::comparison;
use crate::views::object::object_ref;
use crate::Analysis;

/// Classes kept in the comparison.
pub const CLASS_ROWS: usize = 200;
/// Nodes kept in the dominator tree summary, children per node and levels.
pub const TREE_NODES: usize = 250;
pub const TREE_CHILDREN: usize = 12;
pub const TREE_DEPTH: u32 = 12;

/// The comparison (as in `diff --json`), the `CLASS_ROWS` classes whose retained size
/// grew most first.
pub fn class_comparison(
    before: &str,
    after: &str,
    mut rows: Vec<ClassDiff>,
    scripts: &HashMap<u32, String>,
) -> ClassComparison {
    rows.sort_by(|x, y| {
        y.retained_delta()
            .cmp(&x.retained_delta())
            .then_with(|| y.size_delta().cmp(&x.size_delta()))
            .then_with(|| x.class.name.cmp(&y.class.name))
    });
    let total = rows.len();
    rows.truncate(CLASS_ROWS);
    comparison(before, after, &rows, total, scripts)
}

/// The dominator tree from the root, grown largest retained size first until
/// `TREE_NODES` nodes are in (none under 0.1% of the heap).
pub fn dominator_summary(g: &HeapGraph, a: &Analysis, file: &str) -> DominatorSummary {
    // Pick the nodes: a best-first walk, so the budget goes to the biggest retainers.
    let mut kept: Vec<(u32, Vec<u32>)> = Vec::new();
    let mut slot: HashMap<u32, usize> = HashMap::new();
    let mut frontier: BinaryHeap<(u64, u32, u32, Option<u32>)> = BinaryHeap::new();
    frontier.push((u64::MAX, 0, g.root, None));
    // Below a thousandth of the heap a retainer is not a "largest" one.
    let floor = a.total_size / 1000;
    while let Some((_, level, node, parent)) = frontier.pop() {
        if kept.len() >= TREE_NODES {
            break;
        }
        slot.insert(node, kept.len());
        kept.push((node, Vec::new()));
        if let Some(p) = parent.and_then(|p| slot.get(&p)) {
            kept[*p].1.push(node);
        }
        if level >= TREE_DEPTH {
            continue;
        }
        let mut kids = a.dominated.children(node).to_vec();
        kids.sort_by(|x, y| {
            a.retained[*y as usize]
                .cmp(&a.retained[*x as usize])
                .then(x.cmp(y))
        });
        for &k in kids.iter().take(TREE_CHILDREN) {
            if a.retained[k as usize] > floor {
                frontier.push((a.retained[k as usize], level + 1, k, Some(node)));
            }
        }
    }
    // Build bottom-up (children were kept after their parents): no recursion.
    let mut built: Vec<Option<DominatorSummaryNode>> = vec![None; kept.len()];
    for i in (0..kept.len()).rev() {
        let (node, kids) = &kept[i];
        let mut children: Vec<(u64, DominatorSummaryNode)> = kids
            .iter()
            .filter_map(|k| {
                let j = *slot.get(k)?;
                Some((a.retained[*k as usize], built[j].take()?))
            })
            .collect();
        children.sort_by_key(|c| std::cmp::Reverse(c.0));
        built[i] = Some(DominatorSummaryNode {
            object: object_ref(g, a, *node),
            more_children: (a.dominated.children(*node).len() - children.len()) as u64,
            children: children.into_iter().map(|c| c.1).collect(),
        });
    }
    DominatorSummary {
        file: file.to_owned(),
        total_size: a.total_size,
        node_budget: TREE_NODES as u64,
        tree: built.first_mut().and_then(Option::take),
    }
}
