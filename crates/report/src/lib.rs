//! Renders heaphound's results: aligned terminal tables and the JSON documents that
//! `--json` prints. JSON field names are a promise to users' scripts: extend, never break.

pub mod diff;
pub mod format;
pub mod graph_views;
pub mod html;
pub mod postmortem;
pub mod profile;
pub mod summary;
pub mod suspects;
pub mod trend;

pub use format::{group, human_delta, human_size, Align, Style, Table};

/// Version of every JSON document heaphound prints.
pub const SCHEMA_VERSION: u32 = 1;
