//! Pointing at the user's code: closure and constructor locations (the snapshot's
//! `locations`, resolved to script names through each closure's script), the script a
//! closure context belongs to, and allocation stacks when the snapshot carries them.

use std::collections::HashMap;

use heaphound_model::source::StackFrame;
use heaphound_snapshot::{EdgeKind, HeapGraph, Location, NodeKind};

/// A place in a script, 1-based as editors show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRef {
    pub file: String,
    pub line: u32,
    pub column: u32,
    /// What is there: `constructor`, `closure`, `allocation`.
    pub kind: &'static str,
    /// The function or class defined there, when known.
    pub function: Option<String>,
}

/// The program's own scripts are named by path or `file://` URL; Node's built-in modules
/// by `node:…` or a bare internal name (`internal/timers`, `events`).
pub fn is_user_script(name: &str) -> bool {
    name.starts_with('/')
        || name.starts_with("file://")
        || name.as_bytes().get(1..3) == Some(b":\\")
}

/// Location look-ups for one snapshot.
pub struct Sources<'g> {
    g: &'g HeapGraph,
    by_node: HashMap<u32, Location>,
    scripts: HashMap<u32, String>,
}

impl<'g> Sources<'g> {
    pub fn new(g: &'g HeapGraph) -> Sources<'g> {
        Sources {
            g,
            by_node: g.locations.iter().map(|l| (l.node, *l)).collect(),
            scripts: crate::scripts::script_names(g),
        }
    }

    pub fn location(&self, node: u32) -> Option<&Location> {
        self.by_node.get(&node)
    }

    pub fn script(&self, script_id: u32) -> Option<&str> {
        self.scripts
            .get(&script_id)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    /// Where a closure was defined, or where an object's constructor was.
    pub fn of_node(&self, node: u32, kind: &'static str) -> Option<SourceRef> {
        let l = self.by_node.get(&node)?;
        let file = self.script(l.script_id)?.to_string();
        let name = self.g.name(node);
        Some(SourceRef {
            file,
            line: l.line + 1,
            column: l.column + 1,
            kind,
            function: (!name.is_empty()).then(|| name.into_owned()),
        })
    }

    /// The script whose code created a closure context: a closure that uses the context
    /// leads to it. Module scopes are named by their file this way.
    pub fn script_of_context(&self, ret: &crate::Retainers, context: u32) -> Option<String> {
        let g = self.g;
        for r in ret.of(context) {
            let (src, e) = (ret.node[r], ret.edge[r]);
            if g.kind(src) == NodeKind::Closure
                && g.edge_kind(e) == EdgeKind::Internal
                && g.edge_name_bytes(e) == Some(b"context")
            {
                if let Some(s) = self.of_node(src, "closure") {
                    return Some(s.file);
                }
            }
        }
        None
    }

    /// The innermost frame of user code (not `node:` internals) in the allocation stack of
    /// an object, when allocation tracking was on while it was allocated.
    pub fn allocation_site(&self, node: u32) -> Option<(SourceRef, Vec<StackFrame>)> {
        let g = self.g;
        let trace = *g.node_trace_id.get(node as usize)?;
        if trace == 0 {
            return None;
        }
        let tree = &g.trace_tree;
        let mut i = tree.id.iter().position(|&id| id == trace)?;
        let mut frames = Vec::new();
        let mut site = None;
        loop {
            let f = g.trace_functions.get(tree.function_info[i] as usize)?;
            let script = g.strings.get(f.script_name);
            let name = g.strings.get(f.name);
            let user = is_user_script(&script);
            frames.push(StackFrame {
                function: name.to_string(),
                file: script.to_string(),
                line: Some(f.line).filter(|&l| l > 0),
                column: Some(f.column).filter(|_| f.line > 0),
                original: None,
            });
            if site.is_none() && user && f.line > 0 {
                site = Some(SourceRef {
                    file: script.into_owned(),
                    line: f.line,
                    column: f.column,
                    kind: "allocation",
                    function: (!name.is_empty()).then(|| name.into_owned()),
                });
            }
            let p = tree.parent[i];
            if p == u32::MAX {
                break;
            }
            i = p as usize;
        }
        site.map(|s| (s, frames))
    }
}

/// The variable a context edge stands for. Usually the edge is named after it; when V8
/// exports a context slot by number instead, the context's scope info lists the names in
/// slot order.
pub fn context_variable(g: &HeapGraph, ctx: u32, e: u32) -> Option<String> {
    match g.edge_kind(e) {
        EdgeKind::Context => Some(g.edge_name(e).into_owned()),
        EdgeKind::Internal | EdgeKind::Hidden => {
            let slot = g.edge_name(e);
            if slot.is_empty() || !slot.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let info = g.edges(ctx).find(|&x| {
                g.edge_kind(x) == EdgeKind::Internal && g.edge_name_bytes(x) == Some(b"scope_info")
            })?;
            let info = g.edge_to[info as usize];
            let name = g.edges(info).find(|&x| {
                matches!(g.edge_kind(x), EdgeKind::Internal | EdgeKind::Hidden)
                    && g.edge_name(x) == slot
            })?;
            let name = g.edge_to[name as usize];
            (g.kind(name) == NodeKind::String).then(|| g.name(name).into_owned())
        }
        _ => None,
    }
}
