//! Source maps applied to what heaphound reads and writes: minified names in a graph are
//! replaced by the names the maps give them before any analysis runs (so titles, paths and
//! class tables all say `RecordCache`, not `c`), and every generated position in a document
//! gains its `original`.

use std::collections::HashMap;

use heaphound_model::diff::{ClassComparison, Diff3};
use heaphound_model::heap::{Inspect, Summary};
use heaphound_model::object::ScriptLocation;
use heaphound_model::profile::{AllocationTree, ProfileDoc};
use heaphound_model::source::{Original, StackFrame};
use heaphound_model::suspects::{Details, Place, SourceLocation, SuspectDoc, SuspectsDoc};
use heaphound_snapshot::{HeapGraph, NodeKind};
pub use heaphound_sources::SourceMaps;

/// Renames functions, classes (and so their instances) and allocation-stack frames whose
/// minified name a source map restores. Only a name the map ties to that very identifier
/// in the generated text changes (see [`SourceMaps::original_name`]).
pub fn restore_names(g: &mut HeapGraph, maps: &SourceMaps) {
    if !maps.enabled() {
        return;
    }
    let scripts = heaphound_analysis::scripts::script_names(g);
    // Most scripts of a service (node_modules, Node's own) have no map: look each up once
    // and skip their locations without hashing them.
    let mapped: HashMap<u32, &str> = scripts
        .iter()
        .filter(|(_, url)| maps.has_map(url))
        .map(|(id, url)| (*id, url.as_str()))
        .collect();
    if mapped.is_empty() && g.trace_functions.is_empty() {
        return;
    }
    // Every instance of a class shares its constructor's position: ask once per position.
    let mut asked: HashMap<(u32, u32, u32, u32), Option<u32>> = HashMap::new();
    for i in 0..g.locations.len() {
        let l = g.locations[i];
        let Some(url) = mapped.get(&l.script_id) else {
            continue;
        };
        if !matches!(g.kind(l.node), NodeKind::Closure | NodeKind::Object) {
            continue;
        }
        let name = g.node_name[l.node as usize];
        let key = (l.script_id, l.line, l.column, name);
        let renamed = match asked.get(&key) {
            Some(r) => *r,
            None => {
                let old = g.strings.get(name).into_owned();
                let r = maps
                    .original_name(url, l.line, l.column, &old)
                    .map(|n| g.strings.push(&n));
                asked.insert(key, r);
                r
            }
        };
        if let Some(r) = renamed {
            g.node_name[l.node as usize] = r;
        }
    }
    let mut script_mapped: HashMap<u32, bool> = HashMap::new();
    for i in 0..g.trace_functions.len() {
        let f = g.trace_functions[i];
        // Trace function infos count from 1.
        if f.line == 0 || f.column == 0 {
            continue;
        }
        let script = g.strings.get(f.script_name).into_owned();
        let has = *script_mapped
            .entry(f.script_name)
            .or_insert_with(|| maps.has_map(&script));
        if !has {
            continue;
        }
        let old = g.strings.get(f.name).into_owned();
        if let Some(n) = maps.original_name(&script, f.line - 1, f.column - 1, &old) {
            g.trace_functions[i].name = g.strings.push(&n);
        }
    }
}

/// The original of a 1-based generated position.
fn original(maps: &SourceMaps, file: &str, line: u32, column: u32) -> Option<Original> {
    if line == 0 || column == 0 {
        return None;
    }
    maps.original(file, line - 1, column - 1)
}

fn locate(l: &mut SourceLocation, maps: &SourceMaps) {
    l.original = original(maps, &l.file, l.line, l.column);
}

fn locate_frame(f: &mut StackFrame, maps: &SourceMaps) {
    if let (Some(line), Some(column)) = (f.line, f.column) {
        f.original = original(maps, &f.file, line, column);
    }
}

fn locate_script(l: &mut ScriptLocation, maps: &SourceMaps) {
    if let Some(file) = &l.file {
        l.original = original(maps, file, l.line, l.column);
    }
}

fn locate_place(p: &mut Place, maps: &SourceMaps) -> bool {
    let (Place::ModuleVariable {
        file: Some(file),
        original_file,
        ..
    }
    | Place::ClosureVariable {
        file: Some(file),
        original_file,
        ..
    }
    | Place::ModuleScope {
        file: Some(file),
        original_file,
    }
    | Place::ClosureScope {
        file: Some(file),
        original_file,
    }) = p
    else {
        return false;
    };
    *original_file = maps.only_source(file);
    original_file.is_some()
}

fn locate_suspect(s: &mut SuspectDoc, maps: &SourceMaps) {
    if locate_place(&mut s.holder.place, maps) {
        // The holder's name and the title that uses it name the source file.
        s.word();
    }
    s.locations.iter_mut().for_each(|l| locate(l, maps));
    if let Details::Timers {
        callback: Some(l), ..
    } = &mut s.details
    {
        locate(l, maps);
    }
    s.allocation_frames
        .iter_mut()
        .for_each(|f| locate_frame(f, maps));
    if !s.allocation_frames.is_empty() {
        s.allocation_stack = s.allocation_frames.iter().map(StackFrame::text).collect();
    }
}

/// Every source position of a suspects document, and the notes of maps that failed.
pub fn locate_suspects(doc: &mut SuspectsDoc, maps: &SourceMaps) {
    if !maps.enabled() {
        return;
    }
    for s in doc.suspects.iter_mut().chain(doc.more.iter_mut()) {
        locate_suspect(s, maps);
    }
    doc.source_map_notes = maps.notes();
}

/// An allocation call tree's frames (from a snapshot's trace or a heap profile).
pub fn locate_tree(tree: &mut AllocationTree, maps: &SourceMaps) {
    if !maps.enabled() {
        return;
    }
    for n in &mut tree.nodes {
        if let Some((file, line, column)) = &n.at {
            n.original = original(maps, file, *line, *column);
            if let (Some(o), Some(name)) = (
                &mut n.original,
                restored(maps, file, *line, *column, &n.name),
            ) {
                o.name = Some(name);
            }
        }
    }
}

/// The name a map gives a profile's function (a heap profile names what V8 called it).
fn restored(maps: &SourceMaps, file: &str, line: u32, column: u32, name: &str) -> Option<String> {
    if line == 0 || column == 0 || name.is_empty() || name.starts_with('(') {
        return None;
    }
    maps.original_name(file, line - 1, column - 1, name)
}

/// `profile --json`'s allocation sites.
pub fn locate_profile(doc: &mut ProfileDoc, maps: &SourceMaps) {
    if !maps.enabled() {
        return;
    }
    for s in doc.by_self.iter_mut().chain(doc.by_total.iter_mut()) {
        if let (Some(line), Some(column)) = (s.line, s.column) {
            s.original = original(maps, &s.url, line, column);
            if let (Some(o), Some(name)) = (
                &mut s.original,
                restored(maps, &s.url, line, column, &s.function),
            ) {
                o.name = Some(name);
            }
        }
    }
    doc.source_map_notes = maps.notes();
}

fn locate_classes<'a>(
    locations: impl Iterator<Item = &'a mut Option<ScriptLocation>>,
    maps: &SourceMaps,
) {
    if !maps.enabled() {
        return;
    }
    for l in locations.flatten() {
        locate_script(l, maps);
    }
}

/// `summary`'s located classes.
pub fn locate_summary(doc: &mut Summary, maps: &SourceMaps) {
    locate_classes(doc.classes.iter_mut().map(|c| &mut c.location), maps);
}

/// A class-by-class comparison's located classes.
pub fn locate_comparison(doc: &mut ClassComparison, maps: &SourceMaps) {
    locate_classes(doc.classes.iter_mut().map(|c| &mut c.location), maps);
}

/// `diff --json` of three snapshots.
pub fn locate_diff3(doc: &mut Diff3, maps: &SourceMaps) {
    for c in &mut doc.comparisons {
        locate_comparison(c, maps);
    }
    let between = doc.allocated_between.classes.iter_mut();
    locate_classes(between.map(|c| &mut c.location), maps);
    locate_classes(doc.growing.iter_mut().map(|c| &mut c.location), maps);
}

/// `inspect`'s object.
pub fn locate_object(doc: &mut Inspect, maps: &SourceMaps) {
    if let (true, Some(l)) = (maps.enabled(), &mut doc.location) {
        locate_script(l, maps);
    }
}
