//! One suspect described: its retainer path, the holder's place, the shape and where to
//! look in the code.

use heaphound_snapshot::{EdgeKind, HeapGraph, NodeKind};

use super::{shapes, source, Details, Place, SourceRef, Suspect, MAX_PATH};
use crate::paths::retainer_paths;
use crate::Analysis;

/// Finds the path, the holder's place, the shape, the title and the source locations.
pub(super) fn describe(
    g: &HeapGraph,
    a: &Analysis,
    src: &source::Sources,
    s: &mut Suspect,
    classes: &[(String, u64)],
    context_vars: &[(String, u64)],
) {
    let ret = a.retainers(g);
    s.path = retainer_paths(g, a, s.sample, 1, MAX_PATH)
        .into_iter()
        .next();
    let steps = s.path.as_ref().map(|p| p.steps.as_slice()).unwrap_or(&[]);
    let at = steps.iter().position(|st| st.holder == s.holder);
    let to_holder = &steps[..at.unwrap_or(steps.len())];
    // How the holder is referenced: a context variable if one holds it, else the path's.
    let by_context = ret.of(s.holder).find(|&r| {
        g.edge_kind(ret.edge[r]) == EdgeKind::Context
            && a.class_name(ret.node[r]) == "system / Context"
    });
    let held_by = match (by_context, at) {
        (Some(r), _) => Some((
            EdgeKind::Context,
            g.edge_name(ret.edge[r]).into_owned(),
            ret.node[r],
        )),
        (None, Some(k)) if k > 0 => {
            let st = steps[k - 1];
            Some((
                g.edge_kind(st.edge),
                g.edge_name(st.edge).into_owned(),
                st.holder,
            ))
        }
        _ => None,
    };
    s.place = match &held_by {
        _ if a.class_name(s.holder) == "system / Context" => Place::Scope {
            script: src.script_of_context(ret, s.holder),
            module: is_module_scope(g, s.holder),
        },
        Some((EdgeKind::Context, name, ctx)) => Place::Variable {
            name: name.clone(),
            script: src.script_of_context(ret, *ctx),
            module: is_module_scope(g, *ctx),
        },
        Some((EdgeKind::Property, name, owner)) if shapes::is_global(a, *owner) => {
            Place::Global { name: name.clone() }
        }
        Some((_, name, owner)) => Place::Member {
            name: name.clone(),
            owner: *owner,
        },
        None => Place::Unknown,
    };
    let facts = shapes::Facts {
        holder: s.holder,
        classes,
        context_vars,
        bytes: s.leaked_bytes,
        native_bytes: s.native_bytes,
        path: to_holder,
        held_by,
        sample: s.sample,
    };
    let (shape, details) = shapes::classify(g, a, src, &facts);
    s.shape = shape;
    s.details = details;
    s.locations = locations(g, src, s);
}

/// A module's top-level code runs in a function whose context hangs off the native context.
pub(super) fn is_module_scope(g: &HeapGraph, ctx: u32) -> bool {
    g.edges(ctx).any(|e| {
        g.edge_kind(e) == EdgeKind::Internal
            && g.edge_name_bytes(e) == Some(b"previous")
            && g.name_bytes(g.edge_to[e as usize]) == b"system / NativeContext"
    })
}

/// Where to look in the code, most telling first: the allocation site when traced, the
/// leaking objects' constructor or function, then the closures on the path.
pub(super) fn locations(g: &HeapGraph, src: &source::Sources, s: &mut Suspect) -> Vec<SourceRef> {
    let mut out: Vec<SourceRef> = Vec::new();
    let mut push = |r: SourceRef| {
        if source::is_user_script(&r.file)
            && !out
                .iter()
                .any(|x| x.file == r.file && x.line == r.line && x.column == r.column)
        {
            out.push(r);
        }
    };
    if let Some((site, stack)) = src.allocation_site(s.sample) {
        push(site);
        s.allocation_stack = stack;
    }
    if let Some(p) = s.class.position {
        if let Some(file) = src.script(p.script_id) {
            push(SourceRef {
                file: file.to_string(),
                line: p.line + 1,
                column: p.column + 1,
                kind: "constructor",
                function: Some(s.class.name.clone()),
            });
        }
    }
    match &s.details {
        Details::Listeners { listeners, .. } => {
            for &f in listeners {
                if let Some(r) = src.of_node(f, "closure") {
                    push(r);
                }
            }
        }
        Details::Timers {
            callback: Some(cb), ..
        } => push(cb.clone()),
        Details::Stream { node, .. } => {
            if let Some(r) = src.of_node(*node, "constructor") {
                push(r);
            }
        }
        _ => {}
    }
    if g.kind(s.sample) == NodeKind::Closure {
        if let Some(r) = src.of_node(s.sample, "closure") {
            push(r);
        }
    }
    if let Some(p) = &s.path {
        for st in p.steps.iter().rev() {
            let to = g.edge_to[st.edge as usize];
            for node in [to, st.holder] {
                if g.kind(node) == NodeKind::Closure {
                    if let Some(r) = src.of_node(node, "closure") {
                        push(r);
                    }
                }
            }
        }
    }
    out
}
