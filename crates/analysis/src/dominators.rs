//! Immediate dominators by semi-NCA (Lengauer–Tarjan's semidominators, then nearest
//! common ancestors), iterative throughout, on u32 arrays. Nodes the root cannot reach are attached the way DevTools
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
    /// Working arrays (n + 1 long) left over for later phases: fresh memory is the
    /// costliest thing these phases touch.
    pub spare: Vec<Vec<u32>>,
}

/// Computes dominators over the edges whose bit is set in `essential`; `preds` are the
/// essential predecessors (consumed: they are relabelled in place).
///
/// The DFS numbers vertices from 1 (0 means "none"). The main loop works on arrays indexed
/// by DFS number, which keeps a vertex's data near its tree neighbours' in memory.
pub fn compute(g: &HeapGraph, preds: Preds, essential: &BitSet) -> Dominators {
    compute_on(EdgeLists::Borrowed(g), preds, essential)
}

/// The part of the graph the dominator search reads: its edge lists. Owned lists are freed
/// as soon as the DFS is done with them.
pub enum EdgeLists<'a> {
    Borrowed(&'a HeapGraph),
    Owned {
        first_edge: Vec<u32>,
        edge_to: Vec<u32>,
        root: u32,
        /// Buffers the caller no longer needs, reused for working arrays when large enough.
        spare: Vec<Vec<u32>>,
    },
}

/// A zero-filled array of `len`, from `spare` when one is big enough (already-touched
/// memory costs a memset, fresh memory a page fault per page).
fn reuse(spare: &mut Vec<Vec<u32>>, len: usize) -> Vec<u32> {
    match spare.iter().position(|v| v.capacity() >= len) {
        Some(i) => {
            let mut v = spare.swap_remove(i);
            v.clear();
            v.resize(len, 0);
            v
        }
        None => zeroed::<u32>(len),
    }
}

pub fn compute_on(mut lists: EdgeLists<'_>, mut preds: Preds, essential: &BitSet) -> Dominators {
    let mut spare = match &mut lists {
        EdgeLists::Owned { spare, .. } => std::mem::take(spare),
        EdgeLists::Borrowed(_) => Vec::new(),
    };
    let (first_edge, edge_to, graph_root): (&[u32], &[u32], u32) = match &lists {
        EdgeLists::Borrowed(g) => (&g.first_edge, &g.edge_to, g.root),
        EdgeLists::Owned {
            first_edge,
            edge_to,
            root,
            ..
        } => (first_edge, edge_to, *root),
    };
    let n = first_edge.len() - 1;
    let len = n + 1;
    // DFS phase, indexed by node ordinal + 1: DFS number, and DFS parent (also a node).
    let mut number = reuse(&mut spare, len);
    let mut parent_node = reuse(&mut spare, len);
    // Indexed by DFS number: the vertex (node + 1) and its DFS cursor (next edge).
    let mut vertex = reuse(&mut spare, len);
    let mut cursor = reuse(&mut spare, len);
    let mut count: u32 = 0;
    let root = graph_root + 1;

    let mut dfs = |start: u32,
                   number: &mut [u32],
                   parent: &mut [u32],
                   vertex: &mut [u32],
                   count: &mut u32| {
        let mut v = start;
        while v != 0 {
            let mut pv = number[v as usize];
            if pv == 0 {
                *count += 1;
                pv = *count;
                number[v as usize] = pv;
                vertex[pv as usize] = v;
                cursor[pv as usize] = first_edge[(v - 1) as usize];
            }
            let mut next = parent[v as usize];
            let end = first_edge[v as usize];
            while cursor[pv as usize] < end {
                let e = cursor[pv as usize];
                cursor[pv as usize] += 1;
                if !essential.get(e) {
                    continue;
                }
                let w = edge_to[e as usize] + 1;
                if number[w as usize] == 0 {
                    parent[w as usize] = v;
                    next = w;
                    break;
                }
            }
            v = next;
        }
    };

    dfs(root, &mut number, &mut parent_node, &mut vertex, &mut count);
    let mut unreachable = 0;
    if (count as usize) < n {
        unreachable = n as u32 - count;
        // Nodes held only by non-essential edges hang from the root, with what they reach.
        for v in 1..=n as u32 {
            if number[v as usize] == 0 && preds.of(v - 1).is_empty() {
                parent_node[v as usize] = root;
                dfs(v, &mut number, &mut parent_node, &mut vertex, &mut count);
            }
        }
    }
    if (count as usize) < n {
        // What is left are cycles nothing outside holds: each node hangs from the root.
        for v in 1..=n as u32 {
            if number[v as usize] == 0 {
                parent_node[v as usize] = root;
                count += 1;
                number[v as usize] = count;
                vertex[count as usize] = v;
            }
        }
    }

    drop(lists);

    // Into DFS-number space: predecessors, parents; the node-indexed arrays' memory is
    // reused for the main loop's arrays.
    for s in preds.src.iter_mut() {
        *s = number[(*s + 1) as usize];
    }
    let mut parent = cursor;
    for p in 1..=count as usize {
        parent[p] = number[parent_node[vertex[p] as usize] as usize];
    }
    let mut semi = number;
    let mut label = parent_node;
    for p in 0..len {
        semi[p] = p as u32;
        label[p] = p as u32;
    }
    let r = 1u32;

    // Semi-NCA (Georgiadis): semidominators by eval/link with path compression, then each
    // idom as the nearest common ancestor of its DFS parent and semidominator. For the
    // vertices DevTools hangs from the root (no essential retainers, or unreachable
    // cycles), Lengauer-Tarjan as DevTools runs it also ends at the root; so does this.
    let mut ancestor = reuse(&mut spare, len);
    drop(spare);
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
    for w in (2..=count).rev() {
        let ps = preds.of(vertex[w as usize] - 1);
        let mut sw = semi[w as usize];
        for &v in ps {
            let u = eval(v, &mut ancestor, &mut label, &semi);
            sw = sw.min(semi[u as usize]);
        }
        if ps.is_empty() {
            // Treated as having the root as its one predecessor.
            sw = semi[r as usize];
        }
        semi[w as usize] = sw;
        ancestor[w as usize] = parent[w as usize];
    }
    drop(preds);
    // idom[w] starts as the DFS parent and climbs the finished tree while it lies below
    // the semidominator; done in place over `parent`, in increasing DFS order.
    let mut dom = parent;
    dom[r as usize] = r;
    for w in 2..=count as usize {
        let sw = semi[w];
        let mut d = dom[w];
        while d > sw {
            d = dom[d as usize];
        }
        dom[w] = d;
    }
    let mut idom = label;
    for p in 1..=count as usize {
        idom[(vertex[p] - 1) as usize] = vertex[dom[p] as usize] - 1;
    }
    idom.truncate(n);
    // The DFS order, as node ordinals, in place.
    let mut order = vertex;
    for p in 1..=count as usize {
        order[p - 1] = order[p] - 1;
    }
    order.truncate(count as usize);
    Dominators {
        idom,
        order,
        unreachable,
        spare: vec![semi, dom, ancestor],
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
        Dominated::build_reusing(idom, root, &mut Vec::new())
    }

    /// Like `build`, taking its two arrays from `spare` when it has them.
    pub fn build_reusing(idom: &[u32], root: u32, spare: &mut Vec<Vec<u32>>) -> Dominated {
        let n = idom.len();
        let mut reuse = |len: usize| match spare.pop() {
            Some(mut v) if v.capacity() >= len => {
                v.clear();
                v.resize(len, 0);
                v
            }
            _ => zeroed::<u32>(len),
        };
        let mut first = reuse(n + 1);
        for (v, &d) in idom.iter().enumerate() {
            if v as u32 != root {
                first[d as usize + 1] += 1;
            }
        }
        for i in 0..n {
            first[i + 1] += first[i];
        }
        let mut nodes = reuse(n.saturating_sub(1));
        // `first` doubles as the fill cursor; afterwards first[d] is d's end, which is
        // d + 1's start, so one shift puts the offsets back.
        for (v, &d) in idom.iter().enumerate() {
            if v as u32 != root {
                nodes[first[d as usize] as usize] = v as u32;
                first[d as usize] += 1;
            }
        }
        for i in (1..=n).rev() {
            first[i] = first[i - 1];
        }
        first[0] = 0;
        Dominated { first, nodes }
    }

    pub fn children(&self, node: u32) -> &[u32] {
        &self.nodes[self.first[node as usize] as usize..self.first[node as usize + 1] as usize]
    }
}
