//! Immediate dominators by semi-NCA (Lengauer–Tarjan's semidominators, then nearest
//! common ancestors), iterative throughout, on u32 arrays. Nodes the root cannot reach are attached the way DevTools
//! attaches them, so retained sizes agree with it on every snapshot, not only clean ones.

use heaphound_snapshot::HeapGraph;

use crate::bits::BitSet;
use crate::preds::Preds;
use crate::spare::Spare;

/// The dominator tree: `idom[i]` is node i's immediate dominator (the root's is itself),
/// `order` the nodes in DFS preorder (the root first), and `unreachable` how many nodes
/// had to be attached to the root because no essential path reaches them.
pub struct Dominators {
    pub idom: Vec<u32>,
    pub order: Vec<u32>,
    pub unreachable: u32,
    /// Working arrays (n + 1 long) left over for later phases: fresh memory is the
    /// costliest thing these phases touch.
    pub spare: Spare,
}

/// Computes dominators over the edges whose bit is set in `essential`; `preds` are the
/// essential predecessors (consumed: they are relabelled in place).
pub fn compute(g: &HeapGraph, preds: Preds, essential: &BitSet) -> Dominators {
    let mut spare = Spare::default();
    let d = dfs(
        &g.first_edge,
        &g.edge_to,
        g.root,
        essential,
        |v| !preds.of(v).is_empty(),
        &mut spare,
    );
    semi_nca(d, preds, &mut spare)
}

/// The depth-first numbering the search starts from. Vertices are numbered from 1 (0
/// means "none"); arrays are indexed by node ordinal + 1 or by DFS number.
pub struct Dfs {
    /// Node + 1 → DFS number.
    number: Vec<u32>,
    /// Node + 1 → DFS parent (node + 1).
    parent_node: Vec<u32>,
    /// DFS number → node + 1.
    vertex: Vec<u32>,
    /// Spare, n + 1 long (the DFS cursors).
    cursor: Vec<u32>,
    count: u32,
    unreachable: u32,
}

/// The DFS over essential edges from the root; then, as DevTools does, from every node
/// with no essential retainer (`has_pred` false), and last each node still unvisited.
/// Reads only the edge lists, so it can run while the predecessor lists are being built.
/// Its four arrays come from `spare` when it has them.
pub fn dfs(
    first_edge: &[u32],
    edge_to: &[u32],
    graph_root: u32,
    essential: &BitSet,
    has_pred: impl Fn(u32) -> bool,
    spare: &mut Spare,
) -> Dfs {
    let n = first_edge.len() - 1;
    let len = n + 1;
    let mut number = spare.zeroed(len);
    let mut parent_node = spare.zeroed(len);
    let mut vertex = spare.zeroed(len);
    let mut cursor = spare.zeroed(len);
    let mut count: u32 = 0;
    let root = graph_root + 1;

    let mut walk = |start: u32,
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

    walk(root, &mut number, &mut parent_node, &mut vertex, &mut count);
    let mut unreachable = 0;
    if (count as usize) < n {
        unreachable = n as u32 - count;
        // Nodes held only by non-essential edges hang from the root, with what they reach.
        for v in 1..=n as u32 {
            if number[v as usize] == 0 && !has_pred(v - 1) {
                parent_node[v as usize] = root;
                walk(v, &mut number, &mut parent_node, &mut vertex, &mut count);
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
    Dfs {
        number,
        parent_node,
        vertex,
        cursor,
        count,
        unreachable,
    }
}

/// Semi-NCA on a finished DFS. The arrays are indexed by DFS number, which keeps a
/// vertex's data near its tree neighbours' in memory; the DFS's arrays are reused, and the
/// one more it needs comes from `spare` when it can.
pub fn semi_nca(d: Dfs, mut preds: Preds, spare: &mut Spare) -> Dominators {
    let Dfs {
        number,
        parent_node,
        vertex,
        cursor,
        count,
        unreachable,
    } = d;
    let len = number.len();
    let n = len - 1;

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
    let r = 1u32;

    // Semi-NCA (Georgiadis): semidominators by eval/link with path compression, then each
    // idom as the nearest common ancestor of its DFS parent and semidominator. For the
    // vertices DevTools hangs from the root (no essential retainers, or unreachable
    // cycles), Lengauer-Tarjan as DevTools runs it also ends at the root; so does this.
    //
    // Only semidominator numbers are ever compared, never the vertices that hold them, so
    // a linked vertex's label is the smallest semidominator number on its compressed path
    // itself, not a vertex to look it up in. With each vertex's ancestor and label side
    // by side, a step of the compression touches one cache line, not three.
    let mut link = spare.scratch(2 * len);
    for (p, pair) in link.chunks_exact_mut(2).enumerate() {
        pair[0] = 0;
        pair[1] = p as u32;
    }
    let mut stack: Vec<u32> = Vec::new();
    let mut eval = |v: u32, link: &mut [u32]| -> u32 {
        let at = |x: u32| 2 * x as usize;
        if link[at(v)] == 0 {
            // Not linked yet, so not processed: its semidominator is still its own number.
            return v;
        }
        let mut x = v;
        while link[at(link[at(x)])] != 0 {
            stack.push(x);
            x = link[at(x)];
        }
        while let Some(w) = stack.pop() {
            let a = link[at(w)];
            let (label_a, ancestor_a) = (link[at(a) + 1], link[at(a)]);
            if label_a < link[at(w) + 1] {
                link[at(w) + 1] = label_a;
            }
            link[at(w)] = ancestor_a;
        }
        link[at(v) + 1]
    };
    for w in (2..=count).rev() {
        let ps = preds.of(vertex[w as usize] - 1);
        // Treated as having the root as its one predecessor when it has none.
        let mut sw = if ps.is_empty() { r } else { w };
        for &v in ps {
            sw = sw.min(eval(v, &mut link));
        }
        semi[w as usize] = sw;
        link[2 * w as usize + 1] = sw;
        link[2 * w as usize] = parent[w as usize];
    }
    drop(preds);
    drop(link);
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
    let mut idom = parent_node;
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
        spare: {
            let mut spare = Spare::default();
            spare.put(semi);
            spare.put(dom);
            spare
        },
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
        Dominated::build_reusing(idom, root, &mut Spare::default())
    }

    /// Like `build`, taking its two arrays from `spare` when it has them.
    pub fn build_reusing(idom: &[u32], root: u32, spare: &mut Spare) -> Dominated {
        let n = idom.len();
        let mut first = spare.zeroed(n + 1);
        for (v, &d) in idom.iter().enumerate() {
            if v as u32 != root {
                first[d as usize + 1] += 1;
            }
        }
        for i in 0..n {
            first[i + 1] += first[i];
        }
        let mut nodes = spare.zeroed(n.saturating_sub(1));
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
