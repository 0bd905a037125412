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
