//! Documents about one snapshot: the class summary (`summary`), the largest objects
//! (`objects`), the dominator tree (`dominators`, and the bounded `dominator_tree` a run's
//! report.json keeps), retainer paths (`retainers`) and one object's details (`inspect`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::object::{EdgeRef, ObjectRef, PathStep, ScriptLocation};
use crate::NamedSchema;

/// `summary --json`: objects grouped by class, as in DevTools' Summary view.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    pub schema_version: u32,
    pub file: String,
    pub node_count: u64,
    pub edge_count: u64,
    /// The root's retained size plus bytes V8 reports outside the graph.
    pub total_size: u64,
    /// Classes before `--top`/`--filter` cut the list.
    pub class_count: u64,
    /// Nodes no essential path from the root reaches (DevTools warns about these).
    pub unreachable_nodes: u32,
    pub classes: Vec<ClassRow>,
}

/// One class of the summary.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ClassRow {
    pub name: String,
    pub count: u64,
    pub shallow_size: u64,
    /// Each object counted once, even when objects of the class retain each other.
    pub retained_size: u64,
    /// The smallest distance of the class's objects; `null` when none is reachable.
    pub distance: Option<u32>,
    /// Where the class (a constructor or closure) was defined, when the snapshot says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<ScriptLocation>,
}

/// `objects --json`: the objects that retain the most, largest first.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Objects {
    pub schema_version: u32,
    pub file: String,
    pub total_size: u64,
    pub objects: Vec<ObjectRef>,
}

/// `dominators --json`: the dominator tree from the root or from `--from`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Dominators {
    pub schema_version: u32,
    pub file: String,
    pub total_size: u64,
    pub tree: DominatorNode,
}

/// An object and the objects it dominates, largest retained size first.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct DominatorNode {
    #[serde(flatten)]
    pub object: ObjectRef,
    pub children: Vec<DominatorNode>,
    /// Dominated objects left out (`--top`, `--depth`).
    pub more_children: u64,
}

/// The top of a snapshot's dominator tree, bounded whatever the heap size: report.json's
/// `dominator_tree`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct DominatorSummary {
    pub file: String,
    pub total_size: u64,
    /// The most nodes the tree holds.
    pub node_budget: u64,
    pub tree: Option<DominatorSummaryNode>,
}

/// A node of [`DominatorSummary`] (its keys in the order report.json has always had).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct DominatorSummaryNode {
    #[serde(flatten)]
    pub object: ObjectRef,
    /// Dominated objects left out.
    pub more_children: u64,
    pub children: Vec<DominatorSummaryNode>,
}

/// `retainers --json`: shortest paths from the GC roots to one object.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Retainers {
    pub schema_version: u32,
    pub file: String,
    pub target: ObjectRef,
    pub paths: Vec<RetainerPath>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RetainerPath {
    /// References on the path.
    pub length: u64,
    /// From the object a root holds to the one that holds the target: each holder and the
    /// reference it holds the next one by.
    pub steps: Vec<RetainerStep>,
    /// The path as text shows it, repeating runs kept once.
    #[serde(skip)]
    pub folded: Vec<PathStep>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RetainerStep {
    #[serde(flatten)]
    pub object: ObjectRef,
    pub edge: EdgeRef,
}

/// `inspect --json`: one object, its dominator, location, references and retainers.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Inspect {
    #[serde(flatten)]
    pub object: ObjectRef,
    pub schema_version: u32,
    pub file: String,
    /// `null` for the root.
    pub dominator: Option<ObjectRef>,
    pub location: Option<ScriptLocation>,
    /// Only in snapshots taken with allocation tracking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_node_id: Option<u32>,
    /// Only in snapshots that record it (0 unknown, 1 attached, 2 detached).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detachedness: Option<u8>,
    pub edge_count: u64,
    /// The first `--edges` outgoing references.
    pub edges: Vec<OutEdge>,
    pub retainer_count: u64,
    /// The first `--retainers` incoming references.
    pub retainers: Vec<InEdge>,
}

/// A reference the object holds.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct OutEdge {
    #[serde(flatten)]
    pub edge: EdgeRef,
    pub to: ObjectRef,
}

/// A reference that holds the object.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct InEdge {
    #[serde(flatten)]
    pub edge: EdgeRef,
    pub from: ObjectRef,
}

pub(crate) fn schemas(out: &mut Vec<NamedSchema>) {
    crate::add::<Summary>(out, "summary");
    crate::add::<Objects>(out, "objects");
    crate::add::<Dominators>(out, "dominators");
    crate::add::<Retainers>(out, "retainers");
    crate::add::<Inspect>(out, "inspect");
}
