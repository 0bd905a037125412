//! The Summary's class of every node, by DevTools' rules: constructor names for objects,
//! `(system)`, `(compiled code)`, `Function`, `(string)`… for the rest, `{a, b, c}` shapes
//! for plain objects that share a property set, and a split by source location for
//! same-named constructors from different scripts.

use std::collections::HashMap;

use heaphound_snapshot::{EdgeKind, HeapGraph, NodeKind};

use crate::bits::BitSet;
use crate::fxhash::FxBuild;
use crate::text::{format_property_name, utf16_len_str};

const NONE: u32 = u32::MAX;
/// An inferred shape name stops growing past this many UTF-16 units.
const MAX_INTERFACE_NAME_LENGTH: usize = 120;
/// A shape must describe at least this many objects…
const MIN_OBJECTS_PER_INTERFACE: f64 = 2.0;
/// …and at least one plain object in this many.
const MIN_OBJECT_PROPORTION: f64 = 1000.0;

/// Where a constructor was defined (0-based, as in the snapshot).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScriptPosition {
    pub script_id: u32,
    pub line: u32,
    pub column: u32,
}

/// A class as DevTools keys it across snapshots: the name, and for located object classes
/// the constructor's position.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClassInfo {
    pub name: String,
    /// Set for object classes told apart by their constructor's location.
    pub position: Option<ScriptPosition>,
}

pub struct Classes {
    pub classes: Vec<ClassInfo>,
    pub of_node: Vec<u32>,
    /// Native nodes DevTools renames "Detached …" after propagating detachedness.
    pub detached: BitSet,
    /// The plain-object shapes that named `{a, b}` classes, most common first.
    pub interfaces: Vec<Interface>,
}

/// Marks embedder (native) nodes detached as DevTools does: attached state flows to
/// reachable natives first, then detached state to those still unmarked. JS objects stop
/// the flow.
pub fn propagate_detachedness(g: &HeapGraph) -> BitSet {
    let n = g.node_count();
    let mut detached = BitSet::new(n);
    if g.node_detachedness.is_empty() {
        return detached;
    }
    let mut state: Vec<u8> = g.node_detachedness.iter().map(|&d| d & 3).collect();
    let mut visited = BitSet::new(n);
    let mut attached_list = Vec::new();
    let mut detached_list = Vec::new();
    let mut process = |node: u32,
                       new_state: u8,
                       state: &mut [u8],
                       visited: &mut BitSet,
                       attached_list: &mut Vec<u32>,
                       detached_list: &mut Vec<u32>| {
        if visited.get(node) {
            return;
        }
        visited.set(node);
        if g.kind(node) != NodeKind::Native {
            return;
        }
        state[node as usize] = new_state;
        if new_state == 1 {
            attached_list.push(node);
        } else if new_state == 2 {
            detached.set(node);
            detached_list.push(node);
        }
    };
    for i in 0..n as u32 {
        let s = state[i as usize];
        if s != 0 {
            process(
                i,
                s,
                &mut state,
                &mut visited,
                &mut attached_list,
                &mut detached_list,
            );
        }
    }
    let flows = |e: u32| !matches!(g.edge_kind(e), EdgeKind::Hidden | EdgeKind::Weak);
    while let Some(node) = attached_list.pop() {
        for e in g.edges(node) {
            if flows(e) {
                let t = g.edge_to[e as usize];
                process(
                    t,
                    1,
                    &mut state,
                    &mut visited,
                    &mut attached_list,
                    &mut detached_list,
                );
            }
        }
    }
    while let Some(node) = detached_list.pop() {
        if state[node as usize] == 1 {
            continue;
        }
        for e in g.edges(node) {
            if flows(e) {
                let t = g.edge_to[e as usize];
                process(
                    t,
                    2,
                    &mut state,
                    &mut visited,
                    &mut attached_list,
                    &mut detached_list,
                );
            }
        }
    }
    detached
}

/// Interns class names by content.
#[derive(Default)]
struct Names {
    list: Vec<String>,
    index: HashMap<String, u32>,
}

impl Names {
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.list.len() as u32;
        self.list.push(s.to_owned());
        self.index.insert(s.to_owned(), i);
        i
    }
}

/// `<div id="x">` → `<div>`: DOM element names are grouped by tag.
fn tag_class(name: &str) -> Option<String> {
    let cut = |s: &str, from: usize| s[from..].find(' ').map(|p| format!("{}>", &s[..from + p]));
    if name.starts_with('<') {
        return Some(cut(name, 0).unwrap_or_else(|| name.to_owned()));
    }
    if name.starts_with("Detached <") {
        return Some(cut(name, 10).unwrap_or_else(|| name.to_owned()));
    }
    None
}

pub fn is_plain_object(g: &HeapGraph, node: u32) -> bool {
    g.kind(node) == NodeKind::Object && g.name_bytes(node) == b"Object"
}

pub fn classify(g: &HeapGraph, detached: BitSet) -> Classes {
    classify_with(g, detached, None)
}

/// Classifies with another snapshot's plain-object shapes instead of this one's own: a
/// comparison names the base snapshot's objects by the shapes of the snapshot it is
/// compared with, as DevTools' Comparison view does, so both sides share class keys.
pub fn classify_with(g: &HeapGraph, detached: BitSet, interfaces: Option<&[Interface]>) -> Classes {
    classify_into(g, detached, interfaces, Vec::new())
}

/// `classify`, building the per-node class ids in `scratch`'s memory (its contents do not
/// matter: every node's slot is written).
pub fn classify_reusing(g: &HeapGraph, detached: BitSet, scratch: Vec<u32>) -> Classes {
    classify_into(g, detached, None, scratch)
}

fn classify_into(
    g: &HeapGraph,
    detached: BitSet,
    interfaces: Option<&[Interface]>,
    scratch: Vec<u32>,
) -> Classes {
    let n = g.node_count();
    let mut names = Names::default();
    let system = names.intern("(system)");
    let code = names.intern("(compiled code)");
    let function = names.intern("Function");
    let regexp = names.intern("RegExp");
    let object = names.intern("Object");
    let by_type: Vec<u32> = g
        .meta
        .node_type_names
        .iter()
        .map(|t| names.intern(&format!("({t})")))
        .collect();
    // Object and native names by string index, resolved once per distinct string.
    let mut by_string = vec![NONE; g.strings.len()];
    let mut detached_by_string: HashMap<u32, u32> = HashMap::new();

    let mut name_of = crate::spare::scratch_in(scratch, n);
    for i in 0..n as u32 {
        name_of[i as usize] = match g.kind(i) {
            NodeKind::Hidden => system,
            NodeKind::Code => code,
            NodeKind::Closure => function,
            NodeKind::RegExp => regexp,
            NodeKind::Object | NodeKind::Native => {
                let s = g.node_name[i as usize];
                if detached.get(i) {
                    *detached_by_string.entry(s).or_insert_with(|| {
                        let full = format!("Detached {}", g.strings.get(s));
                        names.intern(&tag_class(&full).unwrap_or(full))
                    })
                } else if by_string[s as usize] != NONE {
                    by_string[s as usize]
                } else {
                    let raw = g.strings.get(s);
                    let id = match tag_class(&raw) {
                        Some(t) => names.intern(&t),
                        None => names.intern(&raw),
                    };
                    by_string[s as usize] = id;
                    id
                }
            }
            _ => by_type[g.node_type[i as usize] as usize],
        };
    }

    let shapes = match interfaces {
        Some(given) => given.to_vec(),
        None => infer_interfaces(g),
    };
    apply_interfaces(g, &shapes, &mut names, object, &mut name_of);

    // Class key: the name, plus the constructor's position for located objects. Locations
    // are walked in node order beside the nodes (the last entry for a node wins, as in
    // DevTools' map), instead of a hash look-up per node.
    let mut located_nodes: Vec<(u32, ScriptPosition)> = g
        .locations
        .iter()
        .filter(|l| g.kind(l.node) == NodeKind::Object)
        .map(|l| {
            (
                l.node,
                ScriptPosition {
                    script_id: l.script_id,
                    line: l.line,
                    column: l.column,
                },
            )
        })
        .collect();
    located_nodes.sort_by_key(|&(node, _)| node);
    let mut classes: Vec<ClassInfo> = Vec::new();
    let mut plain_class = vec![NONE; names.list.len()];
    let mut located: HashMap<(u32, ScriptPosition), u32> = HashMap::new();
    // The name ids are turned into class ids in place.
    let mut of_node = name_of;
    let mut next_loc = 0;
    for (i, slot) in of_node.iter_mut().enumerate() {
        let name = *slot;
        let mut pos = None;
        while next_loc < located_nodes.len() && located_nodes[next_loc].0 as usize <= i {
            if located_nodes[next_loc].0 as usize == i {
                pos = Some(located_nodes[next_loc].1);
            }
            next_loc += 1;
        }
        *slot = match pos {
            None => {
                if plain_class[name as usize] == NONE {
                    plain_class[name as usize] = classes.len() as u32;
                    classes.push(ClassInfo {
                        name: names.list[name as usize].clone(),
                        position: None,
                    });
                }
                plain_class[name as usize]
            }
            Some(p) => *located.entry((name, p)).or_insert_with(|| {
                classes.push(ClassInfo {
                    name: names.list[name as usize].clone(),
                    position: Some(p),
                });
                classes.len() as u32 - 1
            }),
        };
    }
    Classes {
        classes,
        of_node,
        detached,
        interfaces: shapes,
    }
}

#[derive(Debug, Clone)]
pub struct Interface {
    name: String,
    /// Property names (by content), as DevTools lists them.
    properties: Vec<Vec<u8>>,
    count: u32,
}

/// Per string: 0 = not looked at yet, 1 = `__proto__`, else 2 + the UTF-16 length of the
/// name as a shape name writes it.
struct PropNames {
    cache: Vec<u32>,
}

impl PropNames {
    fn lookup(&mut self, g: &HeapGraph, s: u32) -> Option<usize> {
        let c = &mut self.cache[s as usize];
        if *c == 0 {
            let raw = g.strings.bytes(s);
            *c = if raw == b"__proto__" {
                1
            } else {
                2 + utf16_len_str(&format_property_name(raw)) as u32
            };
        }
        (*c != 1).then(|| (*c - 2) as usize)
    }
}

/// Names the property sets that many plain objects share, most common first.
///
/// Objects are grouped by the string ids of the properties their shape name lists; names
/// are only built once per group. Groups whose names come out equal are merged, keeping
/// the first one's place, so the result is what grouping by name would give.
fn infer_interfaces(g: &HeapGraph) -> Vec<Interface> {
    let mut names = PropNames {
        cache: vec![0; g.strings.len()],
    };
    let mut groups: HashMap<Vec<u32>, (u32, u32), FxBuild> = HashMap::default();
    let mut total = 0u64;
    let mut props: Vec<u32> = Vec::new();
    for i in 0..g.node_count() as u32 {
        if !is_plain_object(g, i) {
            continue;
        }
        total += 1;
        props.clear();
        let mut name_len = 1usize;
        for e in g.edges(i) {
            if g.edge_kind(e) != EdgeKind::Property {
                continue;
            }
            let s = g.edge_name[e as usize];
            let Some(flen) = names.lookup(g, s) else {
                continue;
            };
            if name_len > 1 && name_len + flen > MAX_INTERFACE_NAME_LENGTH {
                break;
            }
            if name_len != 1 {
                name_len += 2;
            }
            name_len += flen;
            props.push(s);
        }
        if props.is_empty() {
            continue;
        }
        match groups.get_mut(props.as_slice()) {
            Some(entry) => entry.1 += 1,
            None => {
                groups.insert(props.clone(), (i, 1));
            }
        }
    }
    // Build each group's name; merge equal names, ordered by first appearance.
    let mut by_first: Vec<(u32, Vec<u32>, u32)> = groups
        .into_iter()
        .map(|(props, (first, count))| (first, props, count))
        .collect();
    by_first.sort_unstable_by_key(|x| x.0);
    let mut shapes: Vec<Interface> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (_, props, count) in by_first {
        let mut name = String::from("{");
        for (k, &s) in props.iter().enumerate() {
            if k > 0 {
                name.push_str(", ");
            }
            name.push_str(&format_property_name(g.strings.bytes(s)));
        }
        name.push('}');
        match index.get(&name) {
            Some(&k) => shapes[k].count += count,
            None => {
                index.insert(name.clone(), shapes.len());
                shapes.push(Interface {
                    name,
                    properties: props.iter().map(|&s| g.strings.bytes(s).to_vec()).collect(),
                    count,
                });
            }
        }
    }
    // Stable: among equal counts, the shape seen first comes first.
    shapes.sort_by_key(|s| std::cmp::Reverse(s.count));
    let min = MIN_OBJECTS_PER_INTERFACE.max(total as f64 / MIN_OBJECT_PROPORTION);
    shapes.truncate(shapes.iter().take_while(|s| s.count as f64 >= min).count());
    shapes
}

/// Gives each plain object the best shape whose properties it all has: the one with the
/// most properties, then the more common one. Objects matching none stay `Object`.
fn apply_interfaces(
    g: &HeapGraph,
    shapes: &[Interface],
    names: &mut Names,
    object: u32,
    name_of: &mut [u32],
) {
    if shapes.is_empty() {
        return;
    }
    // Property names used by any shape get small ids; each shape becomes a sorted id list.
    let mut prop_ids: HashMap<&[u8], u32> = HashMap::new();
    let mut defs: Vec<(Vec<u32>, u32)> = Vec::with_capacity(shapes.len());
    for s in shapes {
        let mut ids: Vec<u32> = s
            .properties
            .iter()
            .map(|p| {
                let next = prop_ids.len() as u32;
                *prop_ids.entry(p.as_slice()).or_insert(next)
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        defs.push((ids, names.intern(&s.name)));
    }
    // Per string: the property id of a shape, NONE if none uses it, UNKNOWN until looked up.
    const UNKNOWN: u32 = NONE - 1;
    let mut by_string: Vec<u32> = vec![UNKNOWN; g.strings.len()];
    // Index shapes by their smallest property so an object only tries shapes it could match.
    let mut by_first: HashMap<u32, Vec<usize>> = HashMap::new();
    for (k, (ids, _)) in defs.iter().enumerate() {
        by_first.entry(ids[0]).or_default().push(k);
    }
    let mut have: Vec<u32> = Vec::new();
    for i in 0..g.node_count() as u32 {
        if !is_plain_object(g, i) {
            continue;
        }
        have.clear();
        for e in g.edges(i) {
            if g.edge_kind(e) == EdgeKind::Property {
                let s = g.edge_name[e as usize] as usize;
                if by_string[s] == UNKNOWN {
                    by_string[s] = prop_ids
                        .get(g.strings.bytes(s as u32))
                        .copied()
                        .unwrap_or(NONE);
                }
                let id = by_string[s];
                if id != NONE {
                    have.push(id);
                }
            }
        }
        have.sort_unstable();
        have.dedup();
        let mut best: Option<usize> = None;
        for &p in &have {
            let Some(cands) = by_first.get(&p) else {
                continue;
            };
            for &k in cands {
                let ids = &defs[k].0;
                let better = match best {
                    None => true,
                    Some(b) => {
                        ids.len() > defs[b].0.len() || (ids.len() == defs[b].0.len() && k < b)
                    }
                };
                if better && is_subset(ids, &have) {
                    best = Some(k);
                }
            }
        }
        name_of[i as usize] = match best {
            Some(k) => defs[k].1,
            None => object,
        };
    }
}

/// Both lists sorted and free of duplicates.
fn is_subset(small: &[u32], big: &[u32]) -> bool {
    let mut j = 0;
    for &x in small {
        while j < big.len() && big[j] < x {
            j += 1;
        }
        if j == big.len() || big[j] != x {
            return false;
        }
        j += 1;
    }
    true
}
