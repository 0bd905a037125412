//! Per-class totals, as DevTools' Summary view shows them.

use crate::distances::UNREACHABLE;
use crate::Analysis;

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
/// retained size counts each object once: an object whose dominator chain already holds a
/// counted object of the same class adds nothing.
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

    // Depth-first over the dominator tree, remembering which classes are open above.
    let mut open = vec![false; nclasses];
    let mut stack: Vec<(u32, bool)> = vec![(a.root, false)];
    while let Some((node, leaving)) = stack.pop() {
        let class = a.classes.of_node[node as usize] as usize;
        if leaving {
            open[class] = false;
            continue;
        }
        let children = a.dominated.children(node);
        if !open[class] && a.shallow[node as usize] != 0 {
            rows[class].retained_size += a.retained[node as usize];
            if !children.is_empty() {
                open[class] = true;
                stack.push((node, true));
            }
        }
        stack.extend(children.iter().map(|&c| (c, false)));
    }
    rows.retain(|r| r.count > 0);
    rows
}
