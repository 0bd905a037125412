//! The reverse edge index: for each node, the edges that point at it.

use heaphound_snapshot::HeapGraph;

/// `first[i]..first[i + 1]` index `edge` and `node`: the retaining edge ordinals of node `i`
/// and their source nodes, in the file's edge order.
#[derive(Debug, Default)]
pub struct Retainers {
    pub first: Vec<u32>,
    pub edge: Vec<u32>,
    pub node: Vec<u32>,
}

impl Retainers {
    /// One counting pass and one fill pass (a counting sort by target).
    pub fn build(g: &HeapGraph) -> Retainers {
        let n = g.node_count();
        let m = g.edge_count();
        let mut first = vec![0u32; n + 1];
        for &t in &g.edge_to {
            first[t as usize + 1] += 1;
        }
        for i in 0..n {
            first[i + 1] += first[i];
        }
        let mut fill: Vec<u32> = first[..n].to_vec();
        let mut edge = vec![0u32; m];
        let mut node = vec![0u32; m];
        for src in 0..n as u32 {
            for e in g.edges(src) {
                let t = g.edge_to[e as usize] as usize;
                let slot = fill[t] as usize;
                fill[t] += 1;
                edge[slot] = e;
                node[slot] = src;
            }
        }
        Retainers { first, edge, node }
    }

    #[inline]
    pub fn of(&self, node: u32) -> std::ops::Range<usize> {
        self.first[node as usize] as usize..self.first[node as usize + 1] as usize
    }

    pub fn count(&self, node: u32) -> u32 {
        self.first[node as usize + 1] - self.first[node as usize]
    }
}
