//! A synchronous client for the Chrome DevTools Protocol as Node.js speaks it: start Node
//! under the inspector or open the inspector of a running process, then call Runtime and
//! HeapProfiler methods. Heap snapshots stream from the socket straight to disk, so their
//! size never lands in our memory.
//!
//! Only loopback inspectors are reached unless the caller allows remote hosts: an inspector
//! runs any code it is sent. No printing: the only output is the child's own stderr, passed
//! through when asked.

mod error;
mod heap;
mod net;
mod process;
mod session;

pub use error::{InspectorError, Result};
pub use heap::SnapshotProgress;
pub use net::{discover, discover_timeout, Target};
pub use process::{
    attach, attach_opened, attach_timeout, attach_with, check_node, close_inspector, spawn_node,
    AttachOptions, Attached, Output, SpawnOptions, Spawned,
};
pub use session::{AbortHandle, ConnectOptions, Event, EventHandler, MemoryUsage, Session};
