use std::path::PathBuf;
use std::time::Duration;

use crate::headroom::Guard;
use crate::listen::LoadUrl;

/// How the traffic is made, before the program's address is known.
pub enum LoadPlan {
    Http {
        url: LoadUrl,
        connections: usize,
        requests: Option<u64>,
        duration: Option<Duration>,
        warmup: u64,
        method: String,
        headers: Vec<(String, String)>,
        body: Option<Vec<u8>>,
        allow_remote: bool,
        /// Run the phases with --drive, the URL only tells readiness.
        drive: Option<String>,
    },
    Command(String),
    Manual,
}

/// What one capture does: how many snapshots, with which load between them, into which
/// run folder.
pub struct CapturePlan {
    pub snapshots: u32,
    pub interval: Duration,
    pub ready_timeout: Duration,
    pub allocation_sites: bool,
    pub run_dir: PathBuf,
    pub load: LoadPlan,
    /// Checked before each snapshot: whether the program has the memory for it.
    pub headroom: Guard,
}
