//! Essential predecessors: for each node, the source nodes of the edges that count for
//! dominance. Dominators need only these, which is far less than the full retainer index.

use heaphound_snapshot::column::zeroed;
use heaphound_snapshot::HeapGraph;

use crate::bits::BitSet;

pub struct Preds {
    /// `first[i]..first[i + 1]` index `src` for node `i`.
    pub first: Vec<u32>,
    pub src: Vec<u32>,
}

impl Preds {
    pub fn essential(g: &HeapGraph, essential: &BitSet) -> Preds {
        let n = g.node_count();
        let mut first = zeroed::<u32>(n + 1);
        for e in 0..g.edge_count() as u32 {
            if essential.get(e) {
                first[g.edge_to[e as usize] as usize + 1] += 1;
            }
        }
        Preds::fill(&g.first_edge, &g.edge_to, essential, first)
    }

    /// Essential edges and their predecessors in one pass over the edges, then the fill.
    pub fn with_essential_edges(g: &HeapGraph, eph: &crate::edges::Ephemerons) -> (BitSet, Preds) {
        let (essential, counts) = Preds::count_essential(g, eph);
        let preds = Preds::fill(&g.first_edge, &g.edge_to, &essential, counts);
        (essential, preds)
    }

    /// The essential edges and, at `counts[t + 1]`, how many of them point at node t: the
    /// first half of building the lists, the half that reads names and ids.
    pub fn count_essential(g: &HeapGraph, eph: &crate::edges::Ephemerons) -> (BitSet, Vec<u32>) {
        Preds::count_essential_into(g, eph, zeroed::<u32>(g.node_count() + 1))
    }

    /// `count_essential`, counting into `counts` (n + 1 zeros).
    pub fn count_essential_into(
        g: &HeapGraph,
        eph: &crate::edges::Ephemerons,
        mut counts: Vec<u32>,
    ) -> (BitSet, Vec<u32>) {
        debug_assert_eq!(counts.len(), g.node_count() + 1);
        let essential = crate::edges::essential_edges_counted(g, eph, &mut counts);
        (essential, counts)
    }

    /// The second half: the lists themselves, from the edge lists alone.
    pub fn fill(first_edge: &[u32], edge_to: &[u32], essential: &BitSet, first: Vec<u32>) -> Preds {
        Preds::fill_into(first_edge, edge_to, essential, first, Vec::new())
    }

    /// `fill`, writing the lists into `src`'s memory (its contents do not matter: every
    /// slot is written).
    pub fn fill_into(
        first_edge: &[u32],
        edge_to: &[u32],
        essential: &BitSet,
        mut first: Vec<u32>,
        src: Vec<u32>,
    ) -> Preds {
        let n = first_edge.len() - 1;
        for i in 0..n {
            first[i + 1] += first[i];
        }
        let mut src = crate::spare::scratch_in(src, first[n] as usize);
        // Fill from the back of each node's range, reusing `first` as the cursor: after
        // the pass, first[i] is the start of node i's range again.
        for node in (0..n as u32).rev() {
            let edges = first_edge[node as usize]..first_edge[node as usize + 1];
            for e in edges.rev() {
                if essential.get(e) {
                    let t = edge_to[e as usize] as usize + 1;
                    first[t] -= 1;
                    src[first[t] as usize] = node;
                }
            }
        }
        // first[t + 1] now holds the start of t's range; shift back into place.
        first.remove(0);
        first.push(src.len() as u32);
        Preds { first, src }
    }

    #[inline]
    pub fn of(&self, node: u32) -> &[u32] {
        &self.src[self.first[node as usize] as usize..self.first[node as usize + 1] as usize]
    }
}
