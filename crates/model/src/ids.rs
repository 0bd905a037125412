//! Identifiers that cross crate boundaries.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A V8 heap object id: the `@12345` DevTools shows, stable across snapshots of one
/// process. Not a node's position in a snapshot's arrays (an ordinal), which differs from
/// snapshot to snapshot.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(transparent)]
pub struct ObjectId(pub u32);

impl std::fmt::Display for ObjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "@{}", self.0)
    }
}
