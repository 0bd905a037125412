//! `suspects --json` (also embedded in hunt's `report.json` and in `gate`): the objects
//! whose retained memory grows across snapshots, ranked, each with its holder, shape,
//! retainer path and source locations, and the verdict on the whole.

mod wording;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::object::{ObjectRef, PathStep};
use crate::NamedSchema;

pub(crate) fn schemas(out: &mut Vec<NamedSchema>) {
    crate::add::<SuspectsDoc>(out, "suspects");
}

/// What the snapshots say about a leak (not the trend verdict of a memory series).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LeakVerdict {
    Leak,
    NoLeak,
    Inconclusive,
}

impl LeakVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            LeakVerdict::Leak => "leak",
            LeakVerdict::NoLeak => "no-leak",
            LeakVerdict::Inconclusive => "inconclusive",
        }
    }
}

/// Which rule gave the verdict, with its figures; [`Judgement::reason`] words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judgement {
    /// Two snapshots, and something grew between them.
    TwoGrew,
    /// Two snapshots, nothing much grew.
    TwoTooFew,
    /// `holders` grew in every step between `snapshots` snapshots.
    Leak {
        holders: usize,
        snapshots: usize,
    },
    /// Something grew, but not in every step.
    Unsteady,
    /// Steady growth, but each under `min_growth` bytes.
    SmallSteady {
        min_growth: u64,
    },
    NoLeak {
        snapshots: usize,
    },
    /// The run stopped with `kept` snapshots, fewer than the two a judgement needs.
    TooFewSnapshots {
        kept: usize,
    },
    /// One snapshot (a postmortem's): `holders` retain `percent` or more of the heap
    /// each; growth cannot be seen.
    OneSnapshot {
        holders: usize,
        percent: u32,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SuspectsDoc {
    pub schema_version: u32,
    pub verdict: LeakVerdict,
    /// One sentence.
    pub reason: String,
    pub snapshots: Vec<SnapshotInfo>,
    /// Objects new since the first snapshot and still alive in the last (and the one
    /// before it, with three snapshots or more), and their shallow bytes.
    pub leaked_objects: u64,
    pub leaked_bytes: u64,
    /// Best first.
    pub suspects: Vec<SuspectDoc>,
    /// Source maps that were named but could not be used (their positions stay generated).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_map_notes: Vec<crate::source::SourceMapNote>,
    /// The suspects ranked after `suspects` (the document keeps the top few): text lists
    /// the steady ones among them, and all with `--verbose`.
    #[serde(skip)]
    pub more: Vec<SuspectDoc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SnapshotInfo {
    pub file: String,
    pub node_count: usize,
    pub total_size: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SuspectDoc {
    /// 1-based.
    pub rank: usize,
    /// `unbounded-collection`, `event-listeners`, `shared-context`, `timers`, `buffers`,
    /// `unsettled-promises`, `stream-buffer`, `global-array`, `growing-object`.
    pub shape: String,
    /// One sentence that names the leak.
    pub title: String,
    /// The class of the objects that accumulate.
    pub class: String,
    /// Grew in every step.
    pub steady: bool,
    /// Per step between snapshots: objects of `class` added (`null` where unknown).
    pub count_growth: Vec<Option<i64>>,
    /// Per snapshot: objects of `class` under the holder.
    pub counts: Vec<Option<u64>>,
    pub retained_growth: i64,
    /// Per snapshot: the holder's retained size.
    pub retained_sizes: Vec<Option<u64>>,
    /// Growth of the memory only this holder keeps alive.
    pub exclusive_growth: i64,
    pub holder: Holder,
    pub leaked_objects: u64,
    pub leaked_bytes: u64,
    /// Backing stores and other memory outside the JS heap.
    pub off_heap_bytes: u64,
    /// One of the accumulating objects.
    pub sample: ObjectRef,
    /// The retainer path as text shows it, one line per step.
    pub retainer_path: Vec<String>,
    /// The retainer path as steps (documents written before it existed read as empty).
    #[serde(default)]
    pub retainer_chain: Vec<PathStep>,
    pub locations: Vec<SourceLocation>,
    /// Allocation stack of the sample, innermost first, when allocations were tracked, as
    /// text shows it (`remember src/cache.ts:15:3 (dist/server.js:1:687)` where a source
    /// map resolves the frame).
    pub allocation_stack: Vec<String>,
    /// The same frames, typed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allocation_frames: Vec<crate::source::StackFrame>,
    pub details: Details,
    /// For event listeners: the name of the reference by which the retainer path reaches
    /// the emitter, which the title calls it by.
    #[serde(skip)]
    pub emitter_variable: Option<String>,
}

/// The object the growth hangs under.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Holder {
    pub object: ObjectRef,
    /// `Map sessionCache`: its class and the name it goes by.
    pub name: String,
    pub place: Place,
    /// For a holder that is a scope: the variable of that scope through which the growth
    /// hangs, as text names it.
    #[serde(skip)]
    pub variable: Option<String>,
}

/// Where the holder is reachable from.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Place {
    ModuleVariable {
        name: String,
        file: Option<String>,
        /// The source file `file` was compiled from, when its source map has only one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        original_file: Option<String>,
    },
    ClosureVariable {
        name: String,
        file: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        original_file: Option<String>,
    },
    ModuleScope {
        file: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        original_file: Option<String>,
    },
    ClosureScope {
        file: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        original_file: Option<String>,
    },
    Global {
        name: String,
    },
    Member {
        name: String,
        owner: ObjectRef,
    },
    Unknown,
}

/// A source position a suspect points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SourceLocation {
    pub file: String,
    /// 1-based.
    pub line: u32,
    /// 1-based.
    pub column: u32,
    /// `constructor`, `closure` or `allocation`.
    pub kind: String,
    /// The function or class defined there, when known (its original name when the
    /// script's source map restores a minified one).
    pub function: Option<String>,
    /// Where the source map of its script says it was written; absent when none resolves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<crate::source::Original>,
}

/// What the shape knows beyond the common fields; `{}` when nothing.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Details {
    Collection {
        /// `Map`, `Set`, `Array`, `object used as a map`…
        collection: String,
        entries: Option<u64>,
    },
    Listeners {
        emitter: ObjectRef,
        events: Vec<ListenerCount>,
        max_listeners_raised: Option<bool>,
    },
    SharedContext {
        captured_variable: String,
        contexts: u64,
    },
    Timers {
        duration_ms: Option<u64>,
        timers: u64,
        callback: Option<SourceLocation>,
        captures: Vec<Capture>,
    },
    Buffers {
        backing_store_bytes: u64,
    },
    Promises {
        promises: u64,
        keeps_alive: Vec<String>,
    },
    Stream {
        stream: String,
        name: Option<String>,
        object: ObjectRef,
        buffered_chunks: Option<u64>,
    },
    /// Last, so that reading back tries every other shape first.
    None {},
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ListenerCount {
    pub event: String,
    pub listeners: u64,
}

/// A variable a timer callback captures, and the class of its value.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Capture {
    pub variable: String,
    pub class: String,
}
