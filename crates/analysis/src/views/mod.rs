//! Graph and analysis results turned into the documents heaphound prints: each function
//! here returns a `heaphound_model` type, ready to serialize or render.

pub mod allocations;
pub mod diff;
pub mod graph;
pub mod object;
pub mod overview;
pub mod summary;
pub mod suspects;
