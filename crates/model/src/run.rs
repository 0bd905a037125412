//! What a capture run writes about itself: `snapshot --json` (and, to come, a hunt's
//! `report.json`).

use serde::{Deserialize, Serialize};

use crate::NamedSchema;

/// `snapshot --json`: the heap snapshot written.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SnapshotDoc {
    pub file: String,
    pub bytes: u64,
    /// The process, when the target was a PID.
    pub pid: Option<u32>,
    /// The inspector's ws:// URL.
    pub inspector: String,
    /// A full GC ran first.
    pub gc: bool,
    pub elapsed_ms: u64,
}

pub(crate) fn schemas(out: &mut Vec<NamedSchema>) {
    crate::add::<SnapshotDoc>(out, "snapshot");
}
