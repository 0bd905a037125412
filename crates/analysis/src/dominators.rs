//! Immediate dominators by Lengauer–Tarjan (the "simple" eval/link variant), iterative
//! throughout, on u32 arrays. Nodes the root cannot reach are attached the way DevTools
//! attaches them, so retained sizes agree with it on every snapshot, not only clean ones.

use heaphound_snapshot::column::zeroed;
use heaphound_snapshot::HeapGraph;

use crate::bits::BitSet;
use crate::preds::Preds;

/// The dominator tree: `idom[i]` is node i's immediate dominator (the root's is itself),
/// `order` the nodes in DFS preorder (the root first), and `unreachable` how many nodes
/// had to be attached to the root because no essential path reaches them.
pub struct Dominators {
    pub idom: Vec<u32>,
    pub order: Vec<u32>,
    pub unreachable: u32,
}

/// Computes dominators over the edges whose bit is set in `essential`.
///
/// Vertices are numbered from 1 (0 means "none") as in the paper.
pub fn compute(g: &HeapGraph, preds: &Preds, essential: &BitSet) -> Dominators {
    let n = g.node_count();
    let len = n + 1;
    let mut parent = zeroed::<u32>(len);
    let mut semi = zeroed::<u32>(len);
    let mut vertex = zeroed::<u32>(len);
    let mut label = zeroed::<u32>(len);
    // Per-vertex DFS cursor (next edge ordinal to look at).
    let mut cursor = zeroed::<u32>(len);
    let mut count: u32 = 0;
    let root = g.root + 1;

    let mut dfs = |start: u32,
                   parent: &mut [u32],
                   semi: &mut [u32],
                   vertex: &mut [u32],
                   label: &mut [u32],
                   count: &mut u32| {
        cursor[start as usize] = g.first_edge[(start - 1) as usize];
        let mut v = start;
        while v != 0 {
            if semi[v as usize] == 0 {
                *count += 1;
                semi[v as usize] = *count;
                vertex[*count as usize] = v;
                label[v as usize] = v;
            }
            let mut next = parent[v as usize];
            let end = g.first_edge[v as usize];
            while cursor[v as usize] < end {
                let e = cursor[v as usize];
                cursor[v as usize] += 1;
                if !essential.get(e) {
                    continue;
                }
                let w = g.edge_to[e as usize] + 1;
                if semi[w as usize] == 0 {
                    parent[w as usize] = v;
                    cursor[w as usize] = g.first_edge[(w - 1) as usize];
                    next = w;
                    break;
                }
            }
            v = next;
        }
    };

    dfs(
        root,
        &mut parent,
        &mut semi,
        &mut vertex,
        &mut label,
        &mut count,
    );
    let mut unreachable = 0;
    if (count as usize) < n {
        unreachable = n as u32 - count;
        // Nodes held only by non-essential edges hang from the root, with what they reach.
        for v in 1..=n as u32 {
            if semi[v as usize] == 0 && preds.of(v - 1).is_empty() {
                parent[v as usize] = root;
                dfs(
                    v,
                    &mut parent,
                    &mut semi,
                    &mut vertex,
                    &mut label,
                    &mut count,
                );
            }
        }
    }
    if (count as usize) < n {
        // What is left are cycles nothing outside holds: each node hangs from the root.
        for v in 1..=n as u32 {
            if semi[v as usize] == 0 {
                parent[v as usize] = root;
                count += 1;
                semi[v as usize] = count;
                vertex[count as usize] = v;
                label[v as usize] = v;
            }
        }
    }
    let mut ancestor = zeroed::<u32>(len);
    let mut dom = zeroed::<u32>(len);
    // Buckets are linked lists threaded through `dom`: a vertex sits in one bucket until
    // its dominator is computed, and only then is dom[v] written. The DFS cursor's memory
    // becomes the bucket heads.
    let mut bucket_head = cursor;
    bucket_head.fill(0);
    let mut stack: Vec<u32> = Vec::new();

    let mut eval = |v: u32, ancestor: &mut [u32], label: &mut [u32], semi: &[u32]| -> u32 {
        if ancestor[v as usize] == 0 {
            return v;
        }
        // Path compression, iteratively.
        let mut x = v;
        while ancestor[ancestor[x as usize] as usize] != 0 {
            stack.push(x);
            x = ancestor[x as usize];
        }
        while let Some(w) = stack.pop() {
            let a = ancestor[w as usize];
            if semi[label[a as usize] as usize] < semi[label[w as usize] as usize] {
                label[w as usize] = label[a as usize];
            }
            ancestor[w as usize] = ancestor[a as usize];
        }
        label[v as usize]
    };

    for i in (2..=count).rev() {
        let w = vertex[i as usize];
        let ps = preds.of(w - 1);
        for &p in ps {
            let v = p + 1;
            let u = eval(v, &mut ancestor, &mut label, &semi);
            if semi[u as usize] < semi[w as usize] {
                semi[w as usize] = semi[u as usize];
            }
        }
        if ps.is_empty() {
            // Treated as having the root as its one predecessor.
            semi[w as usize] = semi[root as usize];
        }
        let b = vertex[semi[w as usize] as usize];
        dom[w as usize] = bucket_head[b as usize];
        bucket_head[b as usize] = w;
        let p = parent[w as usize];
        ancestor[w as usize] = p;
        let mut v = bucket_head[p as usize];
        bucket_head[p as usize] = 0;
        while v != 0 {
            let next = dom[v as usize];
            let u = eval(v, &mut ancestor, &mut label, &semi);
            dom[v as usize] = if semi[u as usize] < semi[v as usize] {
                u
            } else {
                p
            };
            v = next;
        }
    }
    // Buckets never emptied leave their members without a dominator (0), as in DevTools;
    // clear the list links that stand in `dom` for them.
    for &head in &bucket_head {
        let mut v = head;
        while v != 0 {
            let next = dom[v as usize];
            dom[v as usize] = 0;
            v = next;
        }
    }
    drop(bucket_head);
    drop(ancestor);
    drop(label);
    drop(parent);
    dom[0] = root;
    dom[root as usize] = root;
    for i in 2..=count {
        let w = vertex[i as usize];
        if dom[w as usize] != vertex[semi[w as usize] as usize] {
            dom[w as usize] = dom[dom[w as usize] as usize];
        }
    }

    let idom = dom[1..].iter().map(|&d| d - 1).collect();
    let order = vertex[1..=count as usize].iter().map(|&v| v - 1).collect();
    Dominators {
        idom,
        order,
        unreachable,
    }
}

/// Retained size = own (shallow) size plus the retained sizes of everything dominated,
/// summed children-first by walking the DFS order backwards.
pub fn retained_sizes(dom: &Dominators, shallow: &[u32]) -> Vec<u64> {
    let mut retained: Vec<u64> = shallow.iter().map(|&s| s as u64).collect();
    for &v in dom.order.iter().skip(1).rev() {
        let d = dom.idom[v as usize];
        retained[d as usize] += retained[v as usize];
    }
    retained
}

/// The dominator tree's child lists in CSR form.
pub struct Dominated {
    pub first: Vec<u32>,
    pub nodes: Vec<u32>,
}

impl Dominated {
    pub fn build(idom: &[u32], root: u32) -> Dominated {
        let n = idom.len();
        let mut first = zeroed::<u32>(n + 1);
        for (v, &d) in idom.iter().enumerate() {
            if v as u32 != root {
                first[d as usize + 1] += 1;
            }
        }
        for i in 0..n {
            first[i + 1] += first[i];
        }
        let mut fill = first[..n].to_vec();
        let mut nodes = zeroed::<u32>(n.saturating_sub(1));
        for (v, &d) in idom.iter().enumerate() {
            if v as u32 != root {
                nodes[fill[d as usize] as usize] = v as u32;
                fill[d as usize] += 1;
            }
        }
        Dominated { first, nodes }
    }

    pub fn children(&self, node: u32) -> &[u32] {
        &self.nodes[self.first[node as usize] as usize..self.first[node as usize + 1] as usize]
    }
}
