//! Comparisons of snapshots: `diff --json` for two snapshots (`diff`) and for three
//! (`diff3`), and the class comparison a run's report.json keeps (`class_comparison`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::object::ScriptLocation;
use crate::NamedSchema;

/// `diff --json` of two snapshots.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Diff {
    pub schema_version: u32,
    #[serde(flatten)]
    pub comparison: ClassComparison,
}

/// One pair of snapshots compared class by class, as DevTools' Comparison view does, plus
/// retained sizes. Also report.json's `class_comparison` (first and last snapshot).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ClassComparison {
    pub before: String,
    pub after: String,
    /// Classes before `--top`/`--filter` cut the list.
    pub class_count: u64,
    pub classes: Vec<ClassDelta>,
}

/// One class's row: objects matched by V8 id across the two snapshots.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ClassDelta {
    pub name: String,
    /// Objects only in the later snapshot.
    pub new_count: u64,
    /// Objects only in the earlier snapshot.
    pub deleted_count: u64,
    pub count_delta: i64,
    /// Shallow bytes of the new objects.
    pub alloc_size: u64,
    /// Shallow bytes of the deleted objects.
    pub freed_size: u64,
    pub size_delta: i64,
    pub count_before: u64,
    pub count_after: u64,
    pub retained_before: u64,
    pub retained_after: u64,
    pub retained_delta: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<ScriptLocation>,
}

/// `diff --json` of three snapshots.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Diff3 {
    pub schema_version: u32,
    pub files: Vec<String>,
    /// First with second, second with third.
    pub comparisons: Vec<ClassComparison>,
    pub allocated_between: AllocatedBetween,
    /// Classes whose count grew in both steps, by total size growth.
    pub growing: Vec<GrowingClass>,
}

/// Objects of the last snapshot whose ids fall in `(min_id, max_id]`: allocated after the
/// first snapshot was taken and no later than the second, and still alive.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AllocatedBetween {
    pub from: String,
    pub to: String,
    pub alive_in: String,
    pub min_id: u32,
    pub max_id: u32,
    pub class_count: u64,
    pub classes: Vec<AllocatedClass>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AllocatedClass {
    pub name: String,
    pub count: u64,
    pub shallow_size: u64,
    pub retained_size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<ScriptLocation>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct GrowingClass {
    pub name: String,
    /// One per step.
    pub count_deltas: Vec<i64>,
    pub size_deltas: Vec<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<ScriptLocation>,
}

pub(crate) fn schemas(out: &mut Vec<NamedSchema>) {
    crate::add::<Diff>(out, "diff");
    crate::add::<Diff3>(out, "diff3");
}
