//! The `suspects --json` document (also hunt's `report.json` and gate's leak report) from
//! the findings and the last snapshot, where holders, samples and paths live.

use heaphound_model::suspects::{
    self as doc, Capture, Holder, ListenerCount, SourceLocation, SuspectDoc, SuspectsDoc,
};
use heaphound_model::SCHEMA_VERSION;
use heaphound_snapshot::{EdgeKind, HeapGraph};

use super::object as views;
use crate::suspects::{Details, Findings, Place, SourceRef, Suspect};
use crate::Analysis;

/// The last snapshot, where holders, samples and paths live.
pub struct LastSnapshot<'a> {
    pub graph: &'a HeapGraph,
    pub analysis: &'a Analysis,
}

/// What each snapshot was, for the document's header.
pub struct SnapshotInfo<'a> {
    pub file: &'a str,
    pub node_count: usize,
    pub total_size: u64,
}

fn location_doc(r: &SourceRef) -> SourceLocation {
    SourceLocation {
        file: r.file.clone(),
        line: r.line,
        column: r.column,
        kind: r.kind.to_string(),
        function: r.function.clone(),
        original: None,
    }
}

fn details_doc(l: &LastSnapshot, d: &Details) -> doc::Details {
    let obj = |n: u32| views::object_ref(l.graph, l.analysis, n);
    match d {
        Details::None => doc::Details::None {},
        Details::Collection { kind, entries } => doc::Details::Collection {
            collection: kind.clone(),
            entries: *entries,
        },
        Details::Listeners {
            emitter,
            events,
            max_listeners_raised,
            ..
        } => doc::Details::Listeners {
            emitter: obj(*emitter),
            events: events
                .iter()
                .map(|(e, n)| ListenerCount {
                    event: e.clone(),
                    listeners: *n,
                })
                .collect(),
            max_listeners_raised: *max_listeners_raised,
        },
        Details::SharedContext { variable, contexts } => doc::Details::SharedContext {
            captured_variable: variable.clone(),
            contexts: *contexts,
        },
        Details::Timers {
            duration_ms,
            timers,
            callback,
            captures,
        } => doc::Details::Timers {
            duration_ms: *duration_ms,
            timers: *timers,
            callback: callback.as_ref().map(location_doc),
            captures: captures
                .iter()
                .map(|(v, c)| Capture {
                    variable: v.clone(),
                    class: c.clone(),
                })
                .collect(),
        },
        Details::Buffers {
            backing_store_bytes,
        } => doc::Details::Buffers {
            backing_store_bytes: *backing_store_bytes,
        },
        Details::Promises { promises, keeps } => doc::Details::Promises {
            promises: *promises,
            keeps_alive: keeps.clone(),
        },
        Details::Stream {
            node,
            stream,
            name,
            buffered_chunks,
        } => doc::Details::Stream {
            stream: stream.clone(),
            name: name.clone(),
            object: obj(*node),
            buffered_chunks: *buffered_chunks,
        },
    }
}

fn place_doc(l: &LastSnapshot, p: &Place) -> doc::Place {
    match p {
        Place::Variable {
            name,
            script,
            module: true,
        } => doc::Place::ModuleVariable {
            name: name.clone(),
            file: script.clone(),
            original_file: None,
        },
        Place::Variable { name, script, .. } => doc::Place::ClosureVariable {
            name: name.clone(),
            file: script.clone(),
            original_file: None,
        },
        Place::Scope {
            script,
            module: true,
        } => doc::Place::ModuleScope {
            file: script.clone(),
            original_file: None,
        },
        Place::Scope { script, .. } => doc::Place::ClosureScope {
            file: script.clone(),
            original_file: None,
        },
        Place::Global { name } => doc::Place::Global { name: name.clone() },
        Place::Member { name, owner } => doc::Place::Member {
            name: name.clone(),
            owner: views::object_ref(l.graph, l.analysis, *owner),
        },
        Place::Unknown => doc::Place::Unknown,
    }
}

/// The name of the edge by which the retainer path reaches `node`.
fn name_on_path(g: &HeapGraph, s: &Suspect, node: u32) -> Option<String> {
    s.path
        .as_ref()?
        .steps
        .iter()
        .find(|st| g.edge_to[st.edge as usize] == node)
        .map(|st| g.edge_name(st.edge).into_owned())
}

/// For a scope holder: the variable of that scope the retainer path leaves it by.
fn scope_variable(g: &HeapGraph, s: &Suspect) -> Option<String> {
    if !matches!(s.place, Place::Scope { .. }) {
        return None;
    }
    s.path
        .as_ref()?
        .steps
        .iter()
        .find(|st| st.holder == s.holder)
        .filter(|st| g.edge_kind(st.edge) == EdgeKind::Context)
        .map(|st| g.edge_name(st.edge).into_owned())
}

fn suspect_doc(l: &LastSnapshot, rank: usize, s: &Suspect) -> SuspectDoc {
    let (g, a) = (l.graph, l.analysis);
    let chain = s
        .path
        .as_ref()
        .map(|p| views::folded_path(g, a, p))
        .unwrap_or_default();
    let emitter_variable = match &s.details {
        Details::Listeners { emitter, .. } => name_on_path(g, s, *emitter),
        _ => None,
    };
    let mut d = SuspectDoc {
        rank,
        shape: s.shape.as_str().to_string(),
        title: String::new(),
        class: s.class.name.clone(),
        steady: s.steady,
        count_growth: s.count_growth(),
        counts: s.counts.clone(),
        retained_growth: s.retained_growth(),
        retained_sizes: s.retained.clone(),
        exclusive_growth: s.own_growth,
        holder: Holder {
            object: views::object_ref(g, a, s.holder),
            name: String::new(),
            place: place_doc(l, &s.place),
            variable: scope_variable(g, s),
        },
        leaked_objects: s.leaked_objects,
        leaked_bytes: s.leaked_bytes,
        off_heap_bytes: s.native_bytes,
        sample: views::object_ref(g, a, s.sample),
        retainer_path: heaphound_model::object::path_lines(&chain),
        retainer_chain: chain,
        locations: s.locations.iter().map(location_doc).collect(),
        allocation_stack: s.allocation_stack.iter().map(|f| f.text()).collect(),
        allocation_frames: s.allocation_stack.clone(),
        details: details_doc(l, &s.details),
        emitter_variable,
    };
    d.word();
    d
}

/// The document, with the first `top` suspects (the others in its `more`, for text).
pub fn document(
    l: &LastSnapshot,
    snapshots: &[SnapshotInfo],
    f: &Findings,
    top: usize,
) -> SuspectsDoc {
    let mut suspects: Vec<SuspectDoc> = f
        .suspects
        .iter()
        .enumerate()
        .map(|(i, s)| suspect_doc(l, i + 1, s))
        .collect();
    let more = suspects.split_off(top.min(suspects.len()));
    SuspectsDoc {
        schema_version: SCHEMA_VERSION,
        verdict: f.verdict,
        reason: f.reason.clone(),
        snapshots: snapshots
            .iter()
            .map(|s| doc::SnapshotInfo {
                file: s.file.to_string(),
                node_count: s.node_count,
                total_size: s.total_size,
            })
            .collect(),
        leaked_objects: f.leaked_objects,
        leaked_bytes: f.leaked_bytes,
        suspects,
        source_map_notes: Vec::new(),
        more,
    }
}
