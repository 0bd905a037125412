//! The page's bounds. heaphound writes bounded summaries, but `report` also draws documents
//! it did not write (an old, edited or hostile report.json of 89 MB), so every section is
//! cut to what a reader can use before it is drawn; the memory chart and the flame graph
//! bound themselves (1,500 points a line, 4,000 frames).

use super::model::{ChainItem, DomNode, Object, Report};

pub const SUSPECTS: usize = 20;
pub const CLASSES: usize = 200;
pub const DOMINATOR_NODES: usize = 250;
const CHAIN_ITEMS: usize = 60;
const LOCATIONS: usize = 20;
const STACK_FRAMES: usize = 60;
const PER_SNAPSHOT: usize = 100;
const FACTS: usize = 20;
const SNAPSHOTS: usize = 100;
/// Characters of any one name, title or label.
const TEXT: usize = 500;

fn text(s: &mut String) {
    if let Some((cut, _)) = s.char_indices().nth(TEXT) {
        s.truncate(cut);
        s.push('…');
    }
}

fn object(o: &mut Object) {
    text(&mut o.class);
    text(&mut o.name);
    text(&mut o.kind);
}

/// `r` cut to the page's bounds.
pub fn bounded(r: &Report) -> Report {
    let mut r = r.clone();
    text(&mut r.title);
    r.facts.truncate(FACTS);
    for (k, v) in &mut r.facts {
        text(k);
        text(v);
    }
    if let Some(v) = &mut r.verdict {
        text(&mut v.verdict);
        text(&mut v.reason);
    }
    r.snapshots.truncate(SNAPSHOTS);
    for s in &mut r.snapshots {
        text(&mut s.file);
    }
    if let Some(c) = &mut r.crash {
        c.rows.truncate(FACTS);
        c.stack.truncate(CHAIN_ITEMS);
        for (k, v) in &mut c.rows {
            text(k);
            text(v);
        }
        for f in &mut c.stack {
            text(f);
        }
    }
    if let Some(list) = &mut r.suspects {
        list.truncate(SUSPECTS);
        for s in list {
            for t in [&mut s.shape, &mut s.title, &mut s.class, &mut s.holder] {
                text(t);
            }
            s.counts.truncate(PER_SNAPSHOT);
            s.retained_sizes.truncate(PER_SNAPSHOT);
            s.chain.truncate(CHAIN_ITEMS);
            for item in &mut s.chain {
                if let ChainItem::Object { edge, object: o } = item {
                    if let Some(e) = edge {
                        text(e);
                    }
                    object(o);
                }
            }
            s.locations.truncate(LOCATIONS);
            for l in &mut s.locations {
                text(&mut l.file);
                text(&mut l.kind);
                if let Some(f) = &mut l.function {
                    text(f);
                }
            }
            s.allocation_stack.truncate(STACK_FRAMES);
            for f in &mut s.allocation_stack {
                text(f);
            }
        }
    }
    if let Some(t) = &mut r.classes {
        text(&mut t.before);
        text(&mut t.after);
        t.class_count = t.class_count.max(t.rows.len() as u64);
        t.rows.truncate(CLASSES);
        for row in &mut t.rows {
            text(&mut row.name);
            if let Some(l) = &mut row.location {
                text(l);
            }
        }
    }
    if let Some(d) = r.dominators.take() {
        r.dominators = Some(pruned(d, DOMINATOR_NODES));
    }
    if let Some(a) = &mut r.allocations {
        text(&mut a.source);
    }
    r
}

/// The first `budget` nodes of the tree, breadth first (the biggest holders sit near the
/// root); the children left out are counted in their parent's `more_children`.
fn pruned(mut root: DomNode, budget: usize) -> DomNode {
    // Flatten breadth first, without recursion: the tree may be deep.
    let mut nodes: Vec<(Option<usize>, DomNode)> = Vec::new();
    let kids = std::mem::take(&mut root.children);
    nodes.push((None, root));
    let mut queue = std::collections::VecDeque::from([(0usize, kids)]);
    while let Some((parent, children)) = queue.pop_front() {
        for mut c in children {
            if nodes.len() >= budget {
                nodes[parent].1.more_children += 1;
                drop_flat(c);
                continue;
            }
            object(&mut c.object);
            let grand = std::mem::take(&mut c.children);
            let me = nodes.len();
            nodes.push((Some(parent), c));
            queue.push_back((me, grand));
        }
    }
    object(&mut nodes[0].1.object);
    // Rebuild from the leaves up: a child always comes after its parent.
    while nodes.len() > 1 {
        let (parent, node) = nodes.pop().expect("more than one node");
        let p = parent.expect("only the root has no parent");
        nodes[p].1.children.push(node);
    }
    let (_, mut root) = nodes.pop().expect("the root");
    reverse_children(&mut root);
    root
}

/// Drops a subtree without recursing on its depth (std's drop would).
fn drop_flat(n: DomNode) {
    let mut stack = vec![n];
    while let Some(mut n) = stack.pop() {
        stack.append(&mut n.children);
    }
}

/// Children were pushed last first; put them back in their order.
fn reverse_children(root: &mut DomNode) {
    let mut stack = vec![root];
    while let Some(n) = stack.pop() {
        n.children.reverse();
        stack.extend(n.children.iter_mut());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str) -> DomNode {
        let mut n = DomNode::default();
        n.object.name = name.into();
        n
    }

    #[test]
    fn a_big_tree_keeps_its_top_in_order_and_counts_the_rest() {
        let mut root = named("root");
        for i in 0..10 {
            let mut c = named(&format!("c{i}"));
            for j in 0..100 {
                c.children.push(named(&format!("c{i}.{j}")));
            }
            root.children.push(c);
        }
        let p = pruned(root, 25);
        let mut count = 0;
        let mut stack = vec![&p];
        while let Some(n) = stack.pop() {
            count += 1;
            stack.extend(n.children.iter());
        }
        assert_eq!(count, 25);
        let names: Vec<&str> = p.children.iter().map(|c| c.object.name.as_str()).collect();
        assert_eq!(names[..3], ["c0", "c1", "c2"]);
        assert_eq!(p.children[0].children[0].object.name, "c0.0");
        let more: u64 = p.children.iter().map(|c| c.more_children).sum();
        assert_eq!(more, 1000 - 14);
    }

    #[test]
    fn a_deep_chain_is_cut_without_recursion() {
        let mut n = named("leaf");
        for i in 0..100_000 {
            let mut p = named(&format!("n{i}"));
            p.children.push(n);
            n = p;
        }
        let p = pruned(n, 250);
        let mut depth = 0;
        let mut at = &p;
        while let Some(c) = at.children.first() {
            depth += 1;
            at = c;
        }
        assert_eq!(depth, 249);
        assert_eq!(at.more_children, 1);
    }

    #[test]
    fn long_names_are_cut() {
        let mut s = "é".repeat(10_000);
        text(&mut s);
        assert_eq!(s.chars().count(), TEXT + 1);
    }
}
