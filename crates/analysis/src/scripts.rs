//! Script names for the snapshot's script ids. The snapshot does not list them, but every
//! closure leads to its script: closure → `shared` → `script_or_debug_info` (older V8:
//! `script`) → a code node named by the script's URL or path.

use std::collections::HashMap;

use heaphound_snapshot::{EdgeKind, HeapGraph, NodeKind};

pub fn script_names(g: &HeapGraph) -> HashMap<u32, String> {
    let mut names = HashMap::new();
    for l in &g.locations {
        if names.contains_key(&l.script_id) || g.kind(l.node) != NodeKind::Closure {
            continue;
        }
        let Some(shared) = internal_edge(g, l.node, &[b"shared"]) else {
            continue;
        };
        let Some(script) = internal_edge(g, shared, &[b"script_or_debug_info", b"script"]) else {
            continue;
        };
        names.insert(l.script_id, g.name(script).into_owned());
    }
    names
}

fn internal_edge(g: &HeapGraph, node: u32, names: &[&[u8]]) -> Option<u32> {
    g.edges(node)
        .find(|&e| {
            g.edge_kind(e) == EdgeKind::Internal
                && names.contains(&g.strings.bytes(g.edge_name[e as usize]))
        })
        .map(|e| g.edge_to[e as usize])
}
