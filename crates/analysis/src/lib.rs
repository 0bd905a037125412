//! Analyses of a heap graph, each matching Chrome DevTools' heap snapshot engine:
//! shallow sizes, distances, dominators, retained sizes, classes, the class summary and
//! retainer paths.

mod bits;
pub mod classes;
pub mod diagreport;
pub mod diff;
pub mod distances;
pub mod dominators;
pub mod edges;
mod fxhash;
pub mod gate;
pub mod gclog;
pub mod heapprofile;
pub mod paths;
pub mod postmortem;
pub mod preds;
pub mod retainers;
pub mod scripts;
pub mod shallow;
pub mod spare;
pub mod summary;
pub mod suspects;
pub mod text;
pub mod trend;
pub mod views;

use std::collections::HashMap;
use std::sync::OnceLock;

use heaphound_snapshot::{HeapGraph, NodeKind};

pub use bits::BitSet;
pub use classes::{ClassInfo, Classes, Interface, ScriptPosition};
pub use distances::{BASE_SYSTEM_DISTANCE, UNREACHABLE};
pub use dominators::Dominated;
pub use retainers::Retainers;
pub use summary::{summarize, summarize_with, ClassSummary};

/// Everything the Summary, Containment and Retainers views need, computed once.
pub struct Analysis {
    pub root: u32,
    /// Self sizes after DevTools' ownership folding (what the Summary calls shallow size).
    pub shallow: Vec<u32>,
    retainers: OnceLock<Retainers>,
    pub distance: Vec<u32>,
    pub dominator: Vec<u32>,
    pub retained: Vec<u64>,
    pub dominated: Dominated,
    pub classes: Classes,
    /// Objects that count towards their class's retained size (see `summary::topmost`).
    pub topmost: BitSet,
    /// The root's retained size plus bytes V8 reports outside the graph.
    pub total_size: u64,
    /// Nodes no essential path from the root reaches (DevTools warns about these).
    pub unreachable: u32,
}

impl Analysis {
    /// Runs all analyses; `step` is told the name of each phase as it starts.
    pub fn new(g: &HeapGraph, step: &mut dyn FnMut(&'static str)) -> Analysis {
        step("classifying edges");
        let eph = edges::Ephemerons::build(g);
        // Two independent pipelines: dominators on this thread; shallow sizes, distances
        // and class names on another. Retained sizes need both.
        let (dom, side) = std::thread::scope(|s| {
            let side = s.spawn(|| side_work(g, &eph));
            let (essential, preds) = preds::Preds::with_essential_edges(g, &eph);
            step("computing dominators");
            let dom = dominators::compute(g, preds, &essential);
            drop(essential);
            step("naming classes");
            (dom, side.join().expect("analysis thread panicked"))
        });
        Analysis::assemble(g.root, g.extra_native_bytes, dom, side, step)
    }

    /// The analyses a class summary needs, consuming the graph and freeing each part of it
    /// as soon as no phase reads it any more: names and ids once classes and edge rules are
    /// done, the edge lists once the dominator search's DFS is done. The peak then holds
    /// the graph or the dominator working arrays, not both.
    pub fn summary_only(
        mut g: HeapGraph,
        step: &mut dyn FnMut(&'static str),
    ) -> (Analysis, GraphFacts) {
        let facts = GraphFacts {
            node_count: g.node_count(),
            edge_count: g.edge_count(),
            scripts: scripts::script_names(&g),
        };
        step("classifying edges");
        let eph = edges::Ephemerons::build(&g);
        // From here on no phase reads the ids (the edge rules have what they need of them)
        // or the trace ids, and only the shallow sizes read the self sizes: their memory
        // is reused rather than fresh pages asked for.
        let mut spare = spare::Spare::default();
        spare.put(std::mem::take(&mut g.node_id));
        spare.put(std::mem::take(&mut g.node_trace_id));
        let self_sizes = std::mem::take(&mut g.node_self_size);
        let counts = spare.zeroed(g.node_count() + 1);
        step("counting retainers");
        // Without the dominator search to overlap, distances move to this thread so both
        // finish together.
        let (side, essential, counts) = std::thread::scope(|s| {
            let g = &g;
            let side = s.spawn(move || {
                let (shallow, owner) = shallow::shallow_sizes_from(g, self_sizes);
                let detached = classes::propagate_detachedness(g);
                (shallow, classes::classify_reusing(g, detached, owner))
            });
            let (essential, counts) = preds::Preds::count_essential_into(g, &eph, counts);
            step("computing distances");
            let distance = distances::distances(g, &eph);
            step("naming classes");
            let (shallow, classes) = side.join().expect("analysis thread panicked");
            ((shallow, distance, classes), essential, counts)
        });
        drop(eph);
        let (root, extra) = (g.root, g.extra_native_bytes);
        let first_edge = std::mem::take(&mut g.first_edge);
        let edge_to = std::mem::take(&mut g.edge_to);
        // The columns no later phase reads become the dominator search's working arrays.
        spare.put(std::mem::take(&mut g.node_name));
        let edge_names = std::mem::take(&mut g.edge_name);
        drop(g);
        step("computing dominators");
        // The predecessor lists and the DFS read only the edge lists: one per core.
        let mut has_pred = BitSet::new(counts.len() - 1);
        for (t, &c) in counts[1..].iter().enumerate() {
            if c != 0 {
                has_pred.set(t as u32);
            }
        }
        let (preds, dfs) = std::thread::scope(|s| {
            let fill = s.spawn(|| {
                preds::Preds::fill_into(&first_edge, &edge_to, &essential, counts, edge_names)
            });
            let dfs = dominators::dfs(
                &first_edge,
                &edge_to,
                root,
                &essential,
                |v| has_pred.get(v),
                &mut spare,
            );
            (fill.join().expect("analysis thread panicked"), dfs)
        });
        drop((first_edge, has_pred));
        spare.put(edge_to);
        let dom = dominators::semi_nca(dfs, preds, &mut spare);
        drop((essential, spare));
        (Analysis::assemble(root, extra, dom, side, step), facts)
    }

    fn assemble(
        root: u32,
        extra_native_bytes: u64,
        dom: dominators::Dominators,
        (shallow, distance, classes): SideResults,
        step: &mut dyn FnMut(&'static str),
    ) -> Analysis {
        step("computing retained sizes");
        let mut dom = dom;
        let mut spare = std::mem::take(&mut dom.spare);
        // Independent: the sums walk the DFS order; the tree's child lists, and the walk
        // that finds each class's topmost objects, need only idom.
        let (retained, (dominated, topmost)) = std::thread::scope(|s| {
            let (idom, of_node, sizes) = (&dom.idom, &classes.of_node, &shallow);
            let nclasses = classes.classes.len();
            let tree = s.spawn(move || {
                let tree = Dominated::build_reusing(idom, root, &mut spare);
                let top = summary::topmost(&tree, of_node, sizes, root, nclasses);
                (tree, top)
            });
            let retained = dominators::retained_sizes(&dom, &shallow);
            (retained, tree.join().expect("analysis thread panicked"))
        });
        Analysis {
            root,
            total_size: retained[root as usize] + extra_native_bytes,
            shallow,
            retainers: OnceLock::new(),
            distance,
            dominator: dom.idom,
            retained,
            dominated,
            classes,
            topmost,
            unreachable: dom.unreachable,
        }
    }

    /// Every node's retainers, built on first use (the summary does not need them).
    pub fn retainers(&self, g: &HeapGraph) -> &Retainers {
        self.retainers.get_or_init(|| Retainers::build(g))
    }

    /// This snapshot's classes named with another snapshot's plain-object shapes, so class
    /// keys mean the same on both sides of a comparison.
    pub fn classes_with(&self, g: &HeapGraph, interfaces: &[Interface]) -> Classes {
        classes::classify_with(g, self.classes.detached.clone(), Some(interfaces))
    }

    pub fn class_name(&self, node: u32) -> &str {
        &self.classes.classes[self.classes.of_node[node as usize] as usize].name
    }

    /// The name DevTools shows for one object: `{a, b}` labels for plain objects, the
    /// text of concatenated strings, "Detached …" for detached natives, else V8's name.
    pub fn display_name(&self, g: &HeapGraph, node: u32) -> String {
        match g.kind(node) {
            NodeKind::ConsString => text::cons_string_text(g, node),
            NodeKind::Object if classes::is_plain_object(g, node) => {
                text::plain_object_name(g, node)
            }
            NodeKind::Native if self.classes.detached.get(node) => {
                format!("Detached {}", g.name(node))
            }
            _ => g.name(node).into_owned(),
        }
    }
}

/// What a summary reports of a graph it no longer holds.
pub struct GraphFacts {
    pub node_count: usize,
    pub edge_count: usize,
    /// Script names by script id, for class locations.
    pub scripts: HashMap<u32, String>,
}

type SideResults = (Vec<u32>, Vec<u32>, Classes);

/// Shallow sizes, distances and class names: the pipeline that runs beside dominators.
fn side_work(g: &HeapGraph, eph: &edges::Ephemerons) -> SideResults {
    let (shallow, scratch) = shallow::shallow_sizes_with_scratch(g);
    let distance = distances::distances_with_queue(g, eph, scratch);
    let detached = classes::propagate_detachedness(g);
    let classes = classes::classify(g, detached);
    (shallow, distance, classes)
}

/// Index from V8 object id to node ordinal.
pub fn id_index(g: &HeapGraph) -> HashMap<u32, u32> {
    g.node_id
        .iter()
        .enumerate()
        .map(|(i, &id)| (id, i as u32))
        .collect()
}
