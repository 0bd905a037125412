//! `profile --json`: the allocation sites of a sampling heap profile (`node --heap-prof`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::NamedSchema;

pub(crate) fn schemas(out: &mut Vec<NamedSchema>) {
    crate::add::<ProfileDoc>(out, "profile");
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ProfileDoc {
    pub schema_version: u32,
    /// The profile as the user named it.
    pub file: String,
    /// Bytes live at the end of sampling, summed over every frame.
    pub total_size: u64,
    pub sample_count: u64,
    /// Bytes the samples stand for.
    pub samples_size: u64,
    /// The largest allocation sites by the bytes they allocate themselves.
    pub by_self: Vec<AllocationSite>,
    /// The largest by the bytes they and their callees allocate.
    pub by_total: Vec<AllocationSite>,
    /// Source maps that were named but could not be used (their positions stay generated).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_map_notes: Vec<crate::source::SourceMapNote>,

    /// Frames in the profile (its root left out), for the text header.
    #[serde(skip)]
    pub frames: u64,
}

/// One function at one source position, merged over every stack it appears in.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AllocationSite {
    /// Empty for an anonymous function.
    pub function: String,
    /// Empty for builtins without a script.
    pub url: String,
    /// 1-based.
    pub line: Option<u32>,
    /// 1-based.
    pub column: Option<u32>,
    /// `url:line:column`, `url:line`, `url`, or `(native)`.
    pub location: String,
    /// Where the source map of its script says it was written; absent when none resolves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<crate::source::Original>,

    pub self_size: u64,
    pub total_size: u64,
    pub samples: u64,
}

impl AllocationSite {
    /// `function` as people read it: `(anonymous)` for an unnamed function.
    pub fn display_name(&self) -> &str {
        if self.function.is_empty() {
            "(anonymous)"
        } else {
            &self.function
        }
    }
}

/// A call tree weighted by bytes, as the allocation flame graph draws it: node 0 is the
/// root, and a node's children come after it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct AllocationTree {
    #[serde(default)]
    pub nodes: Vec<AllocationNode>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct AllocationNode {
    /// `(anonymous)` for an unnamed function, `(root)` for node 0.
    #[serde(default)]
    pub name: String,
    /// `file:line:column`, or `(native)`.
    #[serde(default)]
    pub location: String,
    /// Where the source map of its script says it was written; absent when none resolves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<crate::source::Original>,
    /// The generated position `location` names (script, 1-based line and column), for
    /// the source maps to resolve before the tree is written.
    #[serde(skip)]
    pub at: Option<(String, u32, u32)>,
    /// Bytes allocated in exactly this frame.
    #[serde(default)]
    pub self_size: u64,
    /// `self_size` of this frame and every frame above it.
    #[serde(default)]
    pub total_size: u64,
    /// Positions in `nodes`.
    #[serde(default)]
    pub children: Vec<usize>,
}

impl AllocationTree {
    /// Bytes in the whole tree: the root's total.
    pub fn total(&self) -> u64 {
        self.nodes.first().map_or(0, |n| n.total_size)
    }
}

/// report.json's `allocation_sites`: the allocation call tree of a run (pruned to the
/// frames worth drawing) and where its stacks come from.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct AllocationSites {
    #[serde(flatten)]
    pub tree: AllocationTree,
    /// "the allocation stacks recorded in 3.heapsnapshot", "the sampling heap profile …".
    #[serde(default)]
    pub source: String,
}
