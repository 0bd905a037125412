//! Naming a leak's shape in the words engineers use: an unbounded collection, listeners
//! added per request, closures sharing a context, timers never cleared, Buffer growth off
//! the JS heap, promises that never settle, a stream buffering without backpressure, a
//! global or module-level array.

use heaphound_snapshot::{EdgeKind, HeapGraph, NodeKind};

use super::source::{SourceRef, Sources};
use crate::paths::Step;
use crate::Analysis;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    UnboundedCollection,
    EventListeners,
    SharedContext,
    Timers,
    Buffers,
    UnsettledPromises,
    StreamBuffer,
    GlobalArray,
    Growing,
}

impl Shape {
    /// The stable name scripts match on.
    pub fn as_str(self) -> &'static str {
        match self {
            Shape::UnboundedCollection => "unbounded-collection",
            Shape::EventListeners => "event-listeners",
            Shape::SharedContext => "shared-context",
            Shape::Timers => "timers",
            Shape::Buffers => "buffers",
            Shape::UnsettledPromises => "unsettled-promises",
            Shape::StreamBuffer => "stream-buffer",
            Shape::GlobalArray => "global-array",
            Shape::Growing => "growing-object",
        }
    }
}

/// Shape-specific findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Details {
    None,
    Collection {
        /// `Map`, `Set`, `Array`, `object used as a map`.
        kind: String,
        entries: Option<u64>,
    },
    Listeners {
        emitter: u32,
        /// Listener count per event name, largest first.
        events: Vec<(String, u64)>,
        /// One listener function per event, in the same order.
        listeners: Vec<u32>,
        /// Whether `setMaxListeners` was called (Node's leak warning then stays quiet).
        max_listeners_raised: Option<bool>,
    },
    SharedContext {
        /// The captured variable that chains each new context to the previous objects.
        variable: String,
        contexts: u64,
    },
    Timers {
        duration_ms: Option<u64>,
        timers: u64,
        callback: Option<SourceRef>,
        /// Variables the callback's context captures, with the class of their values.
        captures: Vec<(String, String)>,
    },
    Buffers {
        backing_store_bytes: u64,
    },
    Promises {
        /// Leaked promises under the holder (settled or not: a race's result promise is
        /// settled but still held by the reaction on the promise that never settles).
        promises: u64,
        /// The program's own classes the pending promises keep alive, most common first.
        keeps: Vec<String>,
    },
    Stream {
        /// The stream object, its class, and the name it is reached by.
        node: u32,
        stream: String,
        name: Option<String>,
        buffered_chunks: Option<u64>,
    },
}

/// What is known of one group when its shape is decided.
pub struct Facts<'a> {
    pub holder: u32,
    /// Leaked classes under the holder by count, largest first.
    pub classes: &'a [(String, u64)],
    /// Context variable names from leaked contexts to leaked objects, most common first.
    pub context_vars: &'a [(String, u64)],
    pub bytes: u64,
    pub native_bytes: u64,
    /// The path from a root to the holder.
    pub path: &'a [Step],
    /// How the holder itself is referenced: `(edge kind, edge name, referrer)`.
    pub held_by: Option<(EdgeKind, String, u32)>,
    /// A leaked object of the representative class.
    pub sample: u32,
}

/// Node's global object: `global` in snapshots the process writes itself, `global / `
/// (name, then the context's empty title) in those taken through the inspector.
pub fn is_global(a: &Analysis, node: u32) -> bool {
    let name = a.class_name(node);
    name == "global" || name.starts_with("global / ")
}

fn count_of(classes: &[(String, u64)], name: &str) -> u64 {
    classes
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, c)| *c)
        .sum()
}

/// The largest count among the program's own objects (not strings, arrays, code…).
fn top_count(classes: &[(String, u64)]) -> u64 {
    classes
        .iter()
        .filter(|(n, _)| !n.starts_with('('))
        .map(|(_, c)| *c)
        .max()
        .unwrap_or(0)
}

fn edge_to(g: &HeapGraph, node: u32, kinds: &[EdgeKind], name: &[u8]) -> Option<u32> {
    g.edges(node)
        .find(|&e| kinds.contains(&g.edge_kind(e)) && g.edge_name_bytes(e) == Some(name))
        .map(|e| g.edge_to[e as usize])
}

fn property(g: &HeapGraph, node: u32, name: &str) -> Option<u32> {
    edge_to(g, node, &[EdgeKind::Property], name.as_bytes())
}

fn element_count(g: &HeapGraph, node: u32) -> u64 {
    g.edges(node)
        .filter(|&e| g.edge_kind(e) == EdgeKind::Element)
        .count() as u64
}

/// The element with the highest index of a JS array (through its elements store).
fn last_element(g: &HeapGraph, array: u32) -> Option<u32> {
    let last = |n: u32| {
        g.edges(n)
            .filter(|&e| g.edge_kind(e) == EdgeKind::Element)
            .max_by_key(|&e| g.edge_name[e as usize])
            .map(|e| g.edge_to[e as usize])
    };
    last(array).or_else(|| last(edge_to(g, array, &[EdgeKind::Internal], b"elements")?))
}

/// Elements of a JS array, looking through its elements store.
fn array_length(g: &HeapGraph, array: u32) -> u64 {
    match edge_to(g, array, &[EdgeKind::Internal], b"elements") {
        Some(store) => element_count(g, store).max(element_count(g, array)),
        None => element_count(g, array),
    }
}

/// Decides the shape; the most specific rule that fits wins.
pub fn classify(g: &HeapGraph, a: &Analysis, src: &Sources, f: &Facts) -> (Shape, Details) {
    let holder_class = a.class_name(f.holder);
    let top = top_count(f.classes).max(1);
    let share = |name: &str| count_of(f.classes, name) as f64 / top as f64;
    // The object on the path that holds the named reference.
    let from_on_path = |name: &str| {
        f.path
            .iter()
            .find(|st| g.edge_name_bytes(st.edge) == Some(name.as_bytes()))
            .map(|st| st.holder)
    };
    let name_on_path = |node: u32| {
        f.path
            .iter()
            .find(|st| g.edge_to[st.edge as usize] == node)
            .map(|st| g.edge_name(st.edge).into_owned())
    };

    if share("Timeout") >= 0.25 || share("Immediate") >= 0.25 || holder_class == "TimersList" {
        return (Shape::Timers, timers(g, a, src, f));
    }
    if holder_class == "Promise" {
        return promises(f);
    }
    if let Some(d) = listeners(g, a, f) {
        return (Shape::EventListeners, d);
    }
    let stream_state = ["WritableState", "ReadableState"];
    let stream = if stream_state.contains(&holder_class) {
        f.held_by.as_ref().map(|(_, _, owner)| *owner)
    } else {
        from_on_path("_writableState").or_else(|| from_on_path("_readableState"))
    };
    if let Some(stream) = stream {
        // Node 20 keeps buffered writes under a symbol, Node 18 in `buffered`.
        let queue = |n: u32| {
            property(g, n, "<symbol kBufferedValue>").or_else(|| property(g, n, "buffered"))
        };
        let buffered = match &f.held_by {
            Some((_, name, _)) if name == "<symbol kBufferedValue>" || name == "buffered" => {
                Some(array_length(g, f.holder))
            }
            _ => queue(f.holder).map(|arr| array_length(g, arr)),
        };
        return (
            Shape::StreamBuffer,
            Details::Stream {
                node: stream,
                stream: a.class_name(stream).to_string(),
                name: name_on_path(stream),
                buffered_chunks: buffered,
            },
        );
    }
    if share("Promise") >= 0.25 {
        return promises(f);
    }
    if f.native_bytes * 2 >= f.bytes && f.native_bytes > 0 {
        return (
            Shape::Buffers,
            Details::Buffers {
                backing_store_bytes: f.native_bytes,
            },
        );
    }
    if share("system / Context") >= 0.25 {
        if let Some((var, _)) = f.context_vars.first() {
            return (
                Shape::SharedContext,
                Details::SharedContext {
                    variable: var.clone(),
                    contexts: count_of(f.classes, "system / Context"),
                },
            );
        }
    }
    match holder_class {
        "Map" | "Set" => {
            return (
                Shape::UnboundedCollection,
                Details::Collection {
                    kind: holder_class.to_string(),
                    entries: collection_size(g, f.holder, holder_class),
                },
            )
        }
        "Array" => {
            let global = matches!(f.held_by, Some((kind, _, owner))
                if kind == EdgeKind::Context
                    || (kind == EdgeKind::Property && is_global(a, owner)));
            let shape = if global {
                Shape::GlobalArray
            } else {
                Shape::UnboundedCollection
            };
            return (
                shape,
                Details::Collection {
                    kind: "Array".into(),
                    entries: Some(array_length(g, f.holder)),
                },
            );
        }
        _ => {}
    }
    if g.kind(f.holder) == NodeKind::Object
        && edge_to(g, f.holder, &[EdgeKind::Internal], b"properties").is_some_and(|p| {
            let n = g.edges(p).len();
            n > 32
        })
    {
        return (
            Shape::UnboundedCollection,
            Details::Collection {
                kind: "object used as a map".into(),
                entries: None,
            },
        );
    }
    (Shape::Growing, Details::None)
}

fn promises(f: &Facts) -> (Shape, Details) {
    let keeps = f
        .classes
        .iter()
        .map(|(n, _)| n)
        .filter(|n| {
            !n.starts_with('(')
                && !n.starts_with("system / ")
                && !["Promise", "Function", "Array", "Object"].contains(&n.as_str())
        })
        .take(3)
        .cloned()
        .collect();
    (
        Shape::UnsettledPromises,
        Details::Promises {
            promises: count_of(f.classes, "Promise"),
            keeps,
        },
    )
}

/// Map and Set tables keep keys (and values) at fixed slots; their count is the number
/// of live entries V8 exported (entries holding only small integers are not exported).
/// Entries of a Map or Set, from its hash table's layout: V8's OrderedHashMap is a
/// FixedArray of 3 header slots, `b` buckets, then `2b` entries of (key, value, chain)
/// (a Set's are (key, chain)). The snapshot exports a slot only when it holds a heap
/// object, so a small-integer key has no edge: entries are counted by the slots' entry
/// index, not by edges.
fn collection_size(g: &HeapGraph, holder: u32, class: &str) -> Option<u64> {
    let table = edge_to(g, holder, &[EdgeKind::Internal], b"table")?;
    let per_entry: u64 = if class == "Map" { 3 } else { 2 };
    let slots: Vec<u64> = g
        .edges(table)
        .filter(|&e| g.edge_kind(e) == EdgeKind::Internal)
        .filter_map(|e| {
            let name = g.edge_name_bytes(e)?;
            std::str::from_utf8(name).ok()?.parse::<u64>().ok()
        })
        .collect();
    let entries = |start: u64| {
        let mut idx: Vec<u64> = slots
            .iter()
            .filter(|&&s| s >= start)
            .map(|&s| (s - start) / per_entry)
            .collect();
        idx.sort_unstable();
        idx.dedup();
        idx.len() as u64
    };
    // The array's length from its size (16-byte header, 8-byte slots), and from the
    // length the bucket count: 3 + b + 2b × per_entry slots.
    let size = g.node_self_size[table as usize] as u64;
    let length = size.checked_sub(16).filter(|l| l % 8 == 0).map(|l| l / 8);
    let per_bucket = 1 + 2 * per_entry;
    let start = length
        .filter(|&l| l >= 3 && (l - 3) % per_bucket == 0)
        .map(|l| 3 + (l - 3) / per_bucket);
    Some(match start {
        Some(s) => entries(s),
        // An unexpected layout (pointer compression, another V8): the entry boundary that
        // keeps each key with its value groups the fewest entries.
        None => (0..per_entry).map(entries).min().unwrap_or(0),
    })
}

/// Listeners pile up in an emitter's `_events` object: one property per event name,
/// holding the listener or an array of them.
fn listeners(g: &HeapGraph, a: &Analysis, f: &Facts) -> Option<Details> {
    // The emitter: the holder itself, the owner of the holder (its `_events`), or the owner
    // of the `_events` object that holds the holder (a listener array).
    let emitter = match &f.held_by {
        Some((EdgeKind::Property, name, owner)) if name == "_events" => *owner,
        _ if property(g, f.holder, "_events").is_some() => f.holder,
        // A listener array: held by the `_events` object, which its emitter holds.
        _ => match f.path {
            [.., events, _into_holder] if g.edge_name_bytes(events.edge) == Some(b"_events") => {
                events.holder
            }
            _ => return None,
        },
    };
    let events_obj = property(g, emitter, "_events")?;
    // An emitter's own growth is not necessarily its listeners'; growth in or below its
    // `_events` is.
    if emitter == f.holder && count_of(f.classes, "Function") == 0 {
        return None;
    }
    // Per event: how many listeners, and the newest one (an array's last element).
    let mut events: Vec<(String, u64, Option<u32>)> = g
        .edges(events_obj)
        .filter(|&e| g.edge_kind(e) == EdgeKind::Property)
        .filter_map(|e| {
            let name = g.edge_name(e).into_owned();
            if name == "__proto__" {
                return None;
            }
            let t = g.edge_to[e as usize];
            match g.kind(t) {
                NodeKind::Closure => Some((name, 1, Some(t))),
                NodeKind::Object if a.class_name(t) == "Array" => {
                    Some((name, array_length(g, t), last_element(g, t)))
                }
                _ => None,
            }
        })
        .collect();
    events.sort_by(|x, y| y.1.cmp(&x.1).then_with(|| x.0.cmp(&y.0)));
    let listeners = events.iter().filter_map(|e| e.2).collect();
    let events = events.into_iter().map(|(n, c, _)| (n, c)).collect();
    // `_maxListeners` stays `undefined` until setMaxListeners stores a number (a small
    // integer, which the snapshot does not export).
    let raised = match property(g, emitter, "_maxListeners") {
        Some(t) => Some(g.name(t) != "undefined"),
        None => Some(true),
    };
    Some(Details::Listeners {
        emitter,
        events,
        listeners,
        max_listeners_raised: raised.filter(|_| a.class_name(emitter) != "Object"),
    })
}

fn timers(g: &HeapGraph, a: &Analysis, src: &Sources, f: &Facts) -> Details {
    // Timer lists are kept per duration, under that duration as an element index of an
    // object (the priority queue's array refers to them by position instead).
    let ret = a.retainers(g);
    let duration_ms = ret.of(f.holder).find_map(|r| {
        let e = ret.edge[r];
        (a.class_name(f.holder) == "TimersList"
            && g.edge_kind(e) == EdgeKind::Element
            && g.kind(ret.node[r]) == NodeKind::Object
            && a.class_name(ret.node[r]) != "Array")
            .then(|| g.edge_name[e as usize] as u64)
    });
    let timers = count_of(f.classes, "Timeout") + count_of(f.classes, "Immediate");
    let callback = property(g, f.sample, "_onTimeout");
    let captures = callback
        .and_then(|c| edge_to(g, c, &[EdgeKind::Internal], b"context"))
        .map(|ctx| {
            g.edges(ctx)
                .filter_map(|e| {
                    let name = super::source::context_variable(g, ctx, e)?;
                    Some((name, a.class_name(g.edge_to[e as usize]).to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    Details::Timers {
        duration_ms,
        timers,
        callback: callback.and_then(|c| src.of_node(c, "closure")),
        captures,
    }
}
