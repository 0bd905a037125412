//! Turns the JSON text of a `.heapsnapshot` into a `HeapGraph` in one forward pass.
//! Field positions come from `snapshot.meta`, never from assumptions: Node versions differ.

use std::io::Read;

use serde_json::Value;

use crate::arrays::{
    parse_split, ArraySpec, EdgePos, EdgeSink, EdgeSlot, NodePos, NodeSink, NodeSlot, Plan, Sink,
    Window, MAX_FIELDS,
};
use crate::error::SnapshotError;
use crate::graph::{EdgeKind, HeapGraph, Location, Meta, NodeKind, TraceFunction, TraceTree};
use crate::scanner::Scanner;
use crate::strings::StringsBuilder;
use crate::survey::Survey;
use std::sync::atomic::AtomicU64;

type Result<T> = std::result::Result<T, SnapshotError>;

/// The parts of `"snapshot": {...}` the reader needs.
struct Header {
    meta: Meta,
    node_count: u64,
    edge_count: u64,
    root_index: Option<u64>,
    extra_native_bytes: u64,
}

pub(crate) fn parse<R: Read>(
    reader: R,
    size_hint: Option<u64>,
    progress: &mut dyn FnMut(),
) -> Result<HeapGraph> {
    let done = AtomicU64::new(0);
    let plan = Plan {
        threads: 1,
        window: Window {
            done: &done,
            release: &|_, _| {},
        },
    };
    parse_with(Scanner::new(reader, progress), size_hint, &plan, None)
}

/// Parses an input held in memory, the big arrays on `plan.threads`. When the input is
/// `map` (a mapped file), long strings stay in it instead of being copied.
pub(crate) fn parse_memory(
    bytes: &[u8],
    progress: &mut dyn FnMut(),
    plan: &Plan,
    map: Option<std::sync::Arc<crate::mapped::Mapped>>,
) -> Result<HeapGraph> {
    debug_assert!(map.as_ref().is_none_or(|m| std::ptr::eq(&m[..], bytes)));
    let sc: Scanner<'_, '_, std::io::Empty> = Scanner::over(bytes, progress);
    parse_with(sc, Some(bytes.len() as u64), plan, map)
}

fn parse_with<R: Read>(
    mut sc: Scanner<'_, '_, R>,
    size_hint: Option<u64>,
    plan: &Plan,
    map: Option<std::sync::Arc<crate::mapped::Mapped>>,
) -> Result<HeapGraph> {
    match sc.next_token_or_eof()? {
        None => return Err(SnapshotError::OnlyWhitespace),
        Some(b'{') => {}
        Some(_) => {
            return Err(SnapshotError::NotASnapshot(
                "it does not start with a JSON object".into(),
            ))
        }
    }
    sc.expect(b'{', "the top-level object")?;

    let mut g = HeapGraph::default();
    let mut header: Option<Header> = None;
    let mut edge_counts: Vec<u32> = Vec::new();
    let mut seen_nodes = false;
    let mut seen_edges = false;
    let mut seen_strings = false;
    let mut raw_locations: Vec<u32> = Vec::new();

    if sc.next_token("the top-level object")? == b'}' {
        return Err(SnapshotError::NotASnapshot(
            "the JSON object is empty".into(),
        ));
    }
    loop {
        let key = sc.string("a top-level key")?;
        sc.expect(b':', "a top-level key")?;
        match key.as_slice() {
            b"snapshot" => {
                let raw = sc.raw_value("the snapshot header", 64 << 20)?;
                header = Some(parse_header(&raw)?);
            }
            b"nodes" => {
                let h = header_ref(&header, "nodes")?;
                edge_counts = read_nodes(&mut sc, h, &mut g, size_hint, plan)?;
                seen_nodes = true;
            }
            b"edges" => {
                let h = header_ref(&header, "edges")?;
                if !seen_nodes {
                    return Err(SnapshotError::Layout(
                        "\"edges\" comes before \"nodes\"".into(),
                    ));
                }
                read_edges(&mut sc, h, &mut g, size_hint, plan)?;
                seen_edges = true;
            }
            b"trace_function_infos" => {
                let h = header_ref(&header, "trace_function_infos")?;
                read_trace_functions(&mut sc, h, &mut g)?;
            }
            b"trace_tree" => {
                let h = header_ref(&header, "trace_tree")?;
                g.trace_tree = read_trace_tree(&mut sc, &h.meta.trace_node_fields)?;
            }
            b"samples" => {
                let h = header_ref(&header, "samples")?;
                read_samples(&mut sc, h, &mut g)?;
            }
            b"locations" => {
                raw_locations = sc.u32_vec("\"locations\"")?;
            }
            b"strings" => {
                let mut sb = StringsBuilder::new(map.clone());
                sc.string_array("\"strings\"", &mut sb, plan.window.release)?;
                g.strings = sb.build();
                seen_strings = true;
            }
            _ => sc.skip_value("an unknown top-level value")?,
        }
        match sc.next_token("the top-level object")? {
            b',' => {
                sc.expect(b',', "the top-level object")?;
            }
            b'}' => {
                sc.expect(b'}', "the top-level object")?;
                break;
            }
            _ => sc.expect(b',', "the top-level object")?,
        }
    }
    if let Some(b) = sc.next_token_or_eof()? {
        return Err(SnapshotError::Syntax {
            offset: sc.offset(),
            context: "the end of the file",
            message: format!("unexpected data after the snapshot ({:?})", b as char),
        });
    }

    let header = header
        .ok_or_else(|| SnapshotError::NotASnapshot("there is no \"snapshot\" header".into()))?;
    for (seen, what) in [
        (seen_nodes, "nodes"),
        (seen_edges, "edges"),
        (seen_strings, "strings"),
    ] {
        if !seen {
            return Err(SnapshotError::NotASnapshot(format!(
                "there is no \"{what}\" array"
            )));
        }
    }
    finish(g, header, edge_counts, raw_locations)
}

fn header_ref<'a>(h: &'a Option<Header>, what: &str) -> Result<&'a Header> {
    h.as_ref().ok_or_else(|| {
        SnapshotError::NotASnapshot(format!("\"{what}\" appears before the \"snapshot\" header"))
    })
}

fn string_list(v: &Value, what: &str) -> Result<Vec<String>> {
    let arr = v
        .as_array()
        .ok_or_else(|| SnapshotError::Layout(format!("meta.{what} is not a list")))?;
    arr.iter()
        .map(|x| {
            x.as_str()
                .map(str::to_owned)
                .ok_or_else(|| SnapshotError::Layout(format!("meta.{what} holds a non-string")))
        })
        .collect()
}

fn parse_header(raw: &[u8]) -> Result<Header> {
    let v: Value = serde_json::from_slice(raw).map_err(|e| {
        SnapshotError::NotASnapshot(format!("the \"snapshot\" header is not valid JSON ({e})"))
    })?;
    let meta_v = v
        .get("meta")
        .ok_or_else(|| SnapshotError::NotASnapshot("the header has no \"meta\"".into()))?;
    let field = |name: &str| -> Result<Vec<String>> {
        match meta_v.get(name) {
            Some(x) => string_list(x, name),
            None => Ok(Vec::new()),
        }
    };
    let node_fields = field("node_fields")?;
    let edge_fields = field("edge_fields")?;
    let types_at = |key: &str, fields: &[String]| -> Result<Vec<String>> {
        let pos = fields
            .iter()
            .position(|f| f == "type")
            .ok_or_else(|| SnapshotError::Layout(format!("meta.{key} has no \"type\" field")))?;
        let list = meta_v
            .get(key)
            .and_then(|t| t.get(pos))
            .ok_or_else(|| SnapshotError::Layout(format!("meta.{key} lists no type names")))?;
        string_list(list, key)
    };
    if node_fields.is_empty() || edge_fields.is_empty() {
        return Err(SnapshotError::NotASnapshot(
            "the header does not list node_fields and edge_fields".into(),
        ));
    }
    let node_type_names = types_at("node_types", &node_fields)?;
    let edge_type_names = types_at("edge_types", &edge_fields)?;
    let count = |key: &str| -> Result<u64> {
        v.get(key).and_then(Value::as_u64).ok_or_else(|| {
            SnapshotError::NotASnapshot(format!("the header has no numeric \"{key}\""))
        })
    };
    let meta = Meta {
        node_fields,
        node_type_names,
        edge_fields,
        edge_type_names,
        trace_function_info_fields: field("trace_function_info_fields")?,
        trace_node_fields: field("trace_node_fields")?,
        sample_fields: field("sample_fields")?,
        location_fields: field("location_fields")?,
    };
    for required in ["type", "name", "id", "self_size", "edge_count"] {
        if !meta.node_fields.iter().any(|f| f == required) {
            return Err(SnapshotError::Layout(format!(
                "node_fields has no \"{required}\""
            )));
        }
    }
    for required in ["type", "name_or_index", "to_node"] {
        if !meta.edge_fields.iter().any(|f| f == required) {
            return Err(SnapshotError::Layout(format!(
                "edge_fields has no \"{required}\""
            )));
        }
    }
    if meta.node_type_names.len() > 256 || meta.edge_type_names.len() > 256 {
        return Err(SnapshotError::Layout(
            "more than 256 node or edge types".into(),
        ));
    }
    Ok(Header {
        node_count: count("node_count")?,
        edge_count: count("edge_count")?,
        root_index: v.get("root_index").and_then(Value::as_u64),
        extra_native_bytes: v
            .get("extra_native_bytes")
            .and_then(Value::as_f64)
            .map(|x| x.max(0.0) as u64)
            .unwrap_or(0),
        meta,
    })
}

/// An array's text between `[` and `]` in an in-memory input.
struct Body<'a> {
    bytes: &'a [u8],
    /// Offset of `bytes` in the input.
    start: usize,
    /// With more than one thread: what lets the array be parsed on all of them.
    survey: Option<Survey>,
}

/// Finds the body of an array in an in-memory input at the scanner's position.
fn array_body<'a, R: Read>(
    sc: &mut Scanner<'_, 'a, R>,
    context: &'static str,
    threads: usize,
) -> Result<Option<Body<'a>>> {
    let Some((all, _)) = sc.in_memory() else {
        return Ok(None);
    };
    sc.expect(b'[', context)?;
    let (_, start) = sc.in_memory().expect("in memory");
    let rest = &all[start..];
    let (len, survey) = if threads > 1 {
        match Survey::new(rest, threads) {
            Some(s) => (Some(s.len), Some(s)),
            None => (None, None),
        }
    } else {
        (memchr::memchr(b']', rest), None)
    };
    match len {
        Some(len) => Ok(Some(Body {
            bytes: &rest[..len],
            start,
            survey,
        })),
        None => Err(SnapshotError::Truncated {
            offset: all.len() as u64,
            context,
        }),
    }
}

/// Reads the `nodes` or `edges` array at the scanner into the sinks `make` builds: split
/// across `plan.threads` when the input is in memory, else streamed into one sink.
fn read_array<R: Read, S, F>(
    sc: &mut Scanner<'_, '_, R>,
    spec: ArraySpec,
    plan: &Plan,
    make: F,
) -> Result<(S, Option<S>)>
where
    S: Sink + Send,
    F: FnOnce(Option<usize>) -> (S, Option<S>),
{
    match array_body(sc, spec.context, plan.threads)? {
        Some(Body {
            bytes,
            start,
            survey,
        }) => {
            let r = parse_split(bytes, start, spec, plan, survey.as_ref(), make)?;
            sc.jump(start + bytes.len() + 1);
            sc.report_progress();
            Ok(r)
        }
        None => {
            let (mut first, second) = make(None);
            sc.uint_array(spec.context, &mut first)?;
            Ok((first, second))
        }
    }
}

fn read_nodes<R: Read>(
    sc: &mut Scanner<'_, '_, R>,
    h: &Header,
    g: &mut HeapGraph,
    size_hint: Option<u64>,
    plan: &Plan,
) -> Result<Vec<u32>> {
    const CTX: &str = "\"nodes\"";
    let nf = h.meta.node_fields.len();
    let slots: Vec<NodeSlot> = h
        .meta
        .node_fields
        .iter()
        .map(|f| match f.as_str() {
            "type" => NodeSlot::Type,
            "name" => NodeSlot::Name,
            "id" => NodeSlot::Id,
            "self_size" => NodeSlot::SelfSize,
            "edge_count" => NodeSlot::EdgeCount,
            "trace_node_id" => NodeSlot::TraceNodeId,
            "detachedness" => NodeSlot::Detachedness,
            _ => NodeSlot::Ignore,
        })
        .collect();
    if nf > MAX_FIELDS {
        return Err(SnapshotError::Layout(format!(
            "{nf} node fields (at most {MAX_FIELDS} are supported)"
        )));
    }
    let pos = NodePos::new(&slots)
        .ok_or_else(|| SnapshotError::Layout("node_fields lacks a required field".into()))?;
    let has_trace = slots.iter().any(|s| matches!(s, NodeSlot::TraceNodeId));
    let has_detached = slots.iter().any(|s| matches!(s, NodeSlot::Detachedness));
    let n = column_len(h.node_count, nf, size_hint, "node_count")?;
    g.node_type = zeroed(n, "nodes")?;
    g.node_name = node_column(n)?;
    g.node_id = node_column(n)?;
    g.node_self_size = node_column(n)?;
    g.node_trace_id = if has_trace {
        node_column(n)?
    } else {
        Vec::new()
    };
    g.node_detachedness = if has_detached {
        zeroed(n, "nodes")?
    } else {
        Vec::new()
    };
    // One slot more than the nodes: the counts become the CSR offsets in place.
    let mut edge_counts: Vec<u32> = zeroed(n + 1, "nodes")?;
    let type_count = h.meta.node_type_names.len() as u64;

    // Splits every column at `at` records (or not at all) into one or two sinks.
    let g_ref = &mut *g;
    let cols = NodeCols {
        types: &mut g_ref.node_type,
        names: &mut g_ref.node_name,
        ids: &mut g_ref.node_id,
        sizes: &mut g_ref.node_self_size,
        edge_counts: &mut edge_counts[..n],
        trace: &mut g_ref.node_trace_id,
        detached: &mut g_ref.node_detachedness,
    };
    let make = |at: Option<usize>| cols.split(at, &slots, pos, type_count);
    let spec = ArraySpec {
        context: CTX,
        fields: nf,
        records: n,
    };
    let (first, second) = read_array(sc, spec, plan, make)?;
    let mut written = first.written();
    let mut clamped = first.clamped;
    let mut any_trace = first.any_trace;
    if let Some(s) = &second {
        written += s.written();
        clamped += s.clamped;
        any_trace |= s.any_trace;
    }
    check_count("node_count", "\"nodes\"", nf, h.node_count, written)?;
    if !any_trace {
        g.node_trace_id = Vec::new();
    }
    g.clamped_self_sizes = clamped;
    Ok(edge_counts)
}

#[derive(Clone, Copy)]
struct EdgeParams<'s> {
    slots: &'s [EdgeSlot],
    pos: EdgePos,
    type_count: u64,
    node_fields: u64,
    node_count: u64,
}

/// Every edge column, to be cut into per-thread runs.
struct EdgeCols<'c> {
    types: &'c mut [u8],
    names: &'c mut [u32],
    to: &'c mut [u32],
}

impl<'c> EdgeCols<'c> {
    fn split(self, p: EdgeParams<'c>, at: Option<usize>) -> (EdgeSink<'c>, Option<EdgeSink<'c>>) {
        let sink = |types, names, to, first_record| EdgeSink {
            slots: p.slots,
            pos: p.pos,
            type_count: p.type_count,
            node_fields: p.node_fields,
            node_count: p.node_count,
            first_record,
            types,
            names,
            to,
            rec: 0,
            field: 0,
            buf: [0; MAX_FIELDS],
            extra: 0,
        };
        match at {
            None => (sink(self.types, self.names, self.to, 0), None),
            Some(at) => {
                let (t0, t1) = cut(self.types, at);
                let (n0, n1) = cut(self.names, at);
                let (o0, o1) = cut(self.to, at);
                (sink(t0, n0, o0, 0), Some(sink(t1, n1, o1, at as u64)))
            }
        }
    }
}

/// Every node column, to be cut into per-thread runs.
struct NodeCols<'c> {
    types: &'c mut [u8],
    names: &'c mut [u32],
    ids: &'c mut [u32],
    sizes: &'c mut [u32],
    edge_counts: &'c mut [u32],
    trace: &'c mut [u32],
    detached: &'c mut [u8],
}

fn cut<T>(v: &mut [T], at: usize) -> (&mut [T], &mut [T]) {
    let at = at.min(v.len());
    v.split_at_mut(at)
}

impl<'c> NodeCols<'c> {
    fn split<'s>(
        self,
        at: Option<usize>,
        slots: &'s [NodeSlot],
        pos: NodePos,
        type_count: u64,
    ) -> (NodeSink<'s>, Option<NodeSink<'s>>)
    where
        'c: 's,
    {
        let sink =
            |types, names, ids, sizes, edge_counts, trace, detached, first_record| NodeSink {
                slots,
                pos,
                type_count,
                first_record,
                types,
                names,
                ids,
                sizes,
                edge_counts,
                trace,
                detached,
                rec: 0,
                field: 0,
                buf: [0; MAX_FIELDS],
                extra: 0,
                clamped: 0,
                any_trace: false,
            };
        match at {
            None => (
                sink(
                    self.types,
                    self.names,
                    self.ids,
                    self.sizes,
                    self.edge_counts,
                    self.trace,
                    self.detached,
                    0,
                ),
                None,
            ),
            Some(at) => {
                let (t0, t1) = cut(self.types, at);
                let (n0, n1) = cut(self.names, at);
                let (i0, i1) = cut(self.ids, at);
                let (s0, s1) = cut(self.sizes, at);
                let (e0, e1) = cut(self.edge_counts, at);
                let (tr0, tr1) = cut(self.trace, at);
                let (d0, d1) = cut(self.detached, at);
                (
                    sink(t0, n0, i0, s0, e0, tr0, d0, 0),
                    Some(sink(t1, n1, i1, s1, e1, tr1, d1, at as u64)),
                )
            }
        }
    }
}

/// How many records to allocate for a header count: the count itself, but never more
/// than the input could hold (every value takes at least a digit and a comma), so a broken
/// header cannot make us allocate terabytes; the parse then finds the real count.
fn column_len(
    count: u64,
    fields: usize,
    size_hint: Option<u64>,
    what: &'static str,
) -> Result<usize> {
    if count > u32::MAX as u64 {
        return Err(SnapshotError::Layout(format!(
            "the header's {what} {count} is more than this reader supports (4294967295)"
        )));
    }
    let cap = match size_hint {
        Some(size) => count.min(size / (2 * fields as u64).max(1) + 1),
        None => count,
    };
    Ok(cap as usize)
}

/// A zero-filled column. Large ones come straight from the OS as untouched pages, and a
/// failed allocation is an error, not an abort.
pub(crate) fn zeroed<T: Copy + Default + crate::column::Zeroable>(
    n: usize,
    what: &'static str,
) -> Result<Vec<T>> {
    crate::column::try_zeroed(n)
        .ok_or_else(|| SnapshotError::Layout(format!("cannot allocate memory for {n} {what}")))
}

/// A u32 node column with room for one element more than the nodes: a summary that frees
/// the graph as it goes hands these columns to its n + 1 long working arrays, and the
/// spare slot lets them take the pages as they are.
fn node_column(n: usize) -> Result<Vec<u32>> {
    let mut v = zeroed(n + 1, "nodes")?;
    v.truncate(n);
    Ok(v)
}

/// Checks that an array held exactly the records the header announced.
fn check_count(
    what: &'static str,
    array: &'static str,
    fields: usize,
    expected: u64,
    written: u64,
) -> Result<()> {
    if !written.is_multiple_of(fields as u64) {
        return Err(SnapshotError::Layout(format!(
            "the {array} array holds {written} values, not a whole number of {fields}-value records"
        )));
    }
    let found = written / fields as u64;
    if found != expected {
        return Err(SnapshotError::CountMismatch {
            what,
            expected,
            found,
        });
    }
    Ok(())
}

fn read_edges<R: Read>(
    sc: &mut Scanner<'_, '_, R>,
    h: &Header,
    g: &mut HeapGraph,
    size_hint: Option<u64>,
    plan: &Plan,
) -> Result<()> {
    const CTX: &str = "\"edges\"";
    let ef = h.meta.edge_fields.len();
    let slots: Vec<EdgeSlot> = h
        .meta
        .edge_fields
        .iter()
        .map(|f| match f.as_str() {
            "type" => EdgeSlot::Type,
            "name_or_index" => EdgeSlot::Name,
            "to_node" => EdgeSlot::To,
            _ => EdgeSlot::Ignore,
        })
        .collect();
    let m = column_len(h.edge_count, ef, size_hint, "edge_count")?;
    g.edge_type = zeroed(m, "edges")?;
    g.edge_name = zeroed(m, "edges")?;
    g.edge_to = zeroed(m, "edges")?;
    let type_count = h.meta.edge_type_names.len() as u64;
    let node_fields = h.meta.node_fields.len() as u64;
    let node_count = g.node_type.len() as u64;
    let (types, names, to) = (
        g.edge_type.as_mut_slice(),
        g.edge_name.as_mut_slice(),
        g.edge_to.as_mut_slice(),
    );
    if ef > MAX_FIELDS {
        return Err(SnapshotError::Layout(format!(
            "{ef} edge fields (at most {MAX_FIELDS} are supported)"
        )));
    }
    let params = EdgeParams {
        slots: &slots,
        pos: EdgePos::new(&slots)
            .ok_or_else(|| SnapshotError::Layout("edge_fields lacks a required field".into()))?,
        type_count,
        node_fields,
        node_count,
    };
    let cols = EdgeCols { types, names, to };
    let make = |at: Option<usize>| cols.split(params, at);
    let spec = ArraySpec {
        context: CTX,
        fields: ef,
        records: m,
    };
    let (first, second) = read_array(sc, spec, plan, make)?;
    let written = first.written() + second.as_ref().map_or(0, |s| s.written());
    check_count("edge_count", "\"edges\"", ef, h.edge_count, written)
}

fn read_trace_functions<R: Read>(
    sc: &mut Scanner<'_, '_, R>,
    h: &Header,
    g: &mut HeapGraph,
) -> Result<()> {
    let fields = &h.meta.trace_function_info_fields;
    let raw: Vec<u32> = sc
        .uint_vec("\"trace_function_infos\"")?
        .into_iter()
        .map(|v| v.min(u32::MAX as u64) as u32)
        .collect();
    if fields.is_empty() {
        return Ok(());
    }
    let at = |name: &str| fields.iter().position(|f| f == name);
    let (fid, name, sname, sid, line, col) = (
        at("function_id"),
        at("name"),
        at("script_name"),
        at("script_id"),
        at("line"),
        at("column"),
    );
    let pick = |rec: &[u32], i: Option<usize>| i.map(|i| rec[i]).unwrap_or(0);
    g.trace_functions = raw
        .chunks_exact(fields.len())
        .map(|rec| TraceFunction {
            function_id: pick(rec, fid),
            name: pick(rec, name),
            script_name: pick(rec, sname),
            script_id: pick(rec, sid),
            line: pick(rec, line),
            column: pick(rec, col),
        })
        .collect();
    Ok(())
}

fn read_samples<R: Read>(sc: &mut Scanner<'_, '_, R>, h: &Header, g: &mut HeapGraph) -> Result<()> {
    let fields = &h.meta.sample_fields;
    let raw = sc.uint_vec("\"samples\"")?;
    let n = fields.len().max(1);
    let ts = fields.iter().position(|f| f == "timestamp_us").unwrap_or(0);
    let id = fields
        .iter()
        .position(|f| f == "last_assigned_id")
        .unwrap_or(1);
    if n < 2 {
        return Ok(());
    }
    g.samples = raw
        .chunks_exact(n)
        .map(|r| (r[ts], r[id].min(u32::MAX as u64) as u32))
        .collect();
    Ok(())
}

/// Reads the nested `[id, function_info_index, count, size, [children…], …]` tree without
/// recursion, into flat arrays with parent links.
fn read_trace_tree<R: Read>(sc: &mut Scanner<'_, '_, R>, fields: &[String]) -> Result<TraceTree> {
    const CTX: &str = "\"trace_tree\"";
    let mut tree = TraceTree::default();
    let nfields = fields.len();
    let children = fields.iter().position(|f| f == "children");
    let (Some(children), true) = (children, nfields > 0) else {
        sc.skip_value(CTX)?;
        return Ok(tree);
    };
    let at = |name: &str| fields.iter().position(|f| f == name);
    let (fid, ffi, fcount, fsize) = (at("id"), at("function_info_index"), at("count"), at("size"));
    // One level per open array: (parent record, field position, current record).
    let mut levels: Vec<(u32, usize, u32)> = Vec::new();
    sc.expect(b'[', CTX)?;
    levels.push((u32::MAX, 0, u32::MAX));
    let mut number = Vec::new();
    while let Some(level) = levels.last_mut() {
        let b = sc.next_token(CTX)?;
        match b {
            b',' => {
                sc.expect(b',', CTX)?;
            }
            b']' => {
                sc.expect(b']', CTX)?;
                levels.pop();
                if let Some(parent) = levels.last_mut() {
                    parent.1 = (parent.1 + 1) % nfields;
                }
            }
            b'[' => {
                if level.1 != children || level.2 == u32::MAX {
                    return Err(SnapshotError::Syntax {
                        offset: sc.offset(),
                        context: CTX,
                        message: "a nested list where a number belongs".into(),
                    });
                }
                sc.expect(b'[', CTX)?;
                let parent = level.2;
                levels.push((parent, 0, u32::MAX));
            }
            b'0'..=b'9' => {
                number.clear();
                let raw = sc.raw_value(CTX, 32)?;
                number.extend_from_slice(&raw);
                let v: u64 = std::str::from_utf8(&number)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| SnapshotError::Syntax {
                        offset: sc.offset(),
                        context: CTX,
                        message: "bad number".into(),
                    })?;
                if level.1 == children {
                    return Err(SnapshotError::Syntax {
                        offset: sc.offset(),
                        context: CTX,
                        message: "a number where the children list belongs".into(),
                    });
                }
                if level.1 == 0 {
                    level.2 = tree.id.len() as u32;
                    tree.id.push(0);
                    tree.function_info.push(0);
                    tree.count.push(0);
                    tree.size.push(0);
                    tree.parent.push(level.0);
                }
                let rec = level.2 as usize;
                let pos = Some(level.1);
                if pos == fid {
                    tree.id[rec] = v.min(u32::MAX as u64) as u32;
                } else if pos == ffi {
                    tree.function_info[rec] = v.min(u32::MAX as u64) as u32;
                } else if pos == fcount {
                    tree.count[rec] = v.min(u32::MAX as u64) as u32;
                } else if pos == fsize {
                    tree.size[rec] = v;
                }
                level.1 = (level.1 + 1) % nfields;
            }
            _ => {
                return Err(SnapshotError::Syntax {
                    offset: sc.offset(),
                    context: CTX,
                    message: format!("unexpected {:?}", b as char),
                })
            }
        }
    }
    Ok(tree)
}

fn finish(
    mut g: HeapGraph,
    h: Header,
    edge_counts: Vec<u32>,
    raw_locations: Vec<u32>,
) -> Result<HeapGraph> {
    let n = g.node_type.len();
    let nf = h.meta.node_fields.len() as u64;

    // Edges are grouped by source in node order, so node i's edges start at the prefix sum.
    // Edge counts become offsets in place: first_edge[i] = Σ_{j<i} count[j].
    let mut first_edge = edge_counts;
    first_edge.truncate(n);
    first_edge.push(0);
    let mut acc: u64 = 0;
    for slot in first_edge.iter_mut().take(n) {
        let c = *slot as u64;
        *slot = acc as u32;
        acc += c;
        if acc > u32::MAX as u64 {
            return Err(SnapshotError::Layout("more than 4 billion edges".into()));
        }
    }
    first_edge[n] = acc as u32;
    if acc != g.edge_type.len() as u64 {
        return Err(SnapshotError::CountMismatch {
            what: "edges (the sum of the nodes' edge_count)",
            expected: acc,
            found: g.edge_type.len() as u64,
        });
    }
    g.first_edge = first_edge;

    let nstrings = g.strings.len() as u64;
    let largest = g.node_name.iter().copied().max().unwrap_or(0);
    if largest as u64 >= nstrings {
        let i = g.node_name.iter().position(|&s| s == largest).unwrap_or(0);
        return Err(SnapshotError::BadStringIndex {
            what: "node",
            index: i as u64,
            string: largest as u64,
            count: nstrings,
        });
    }
    g.node_kinds = h
        .meta
        .node_type_names
        .iter()
        .map(|s| NodeKind::from_name(s))
        .collect();
    g.edge_kinds = h
        .meta
        .edge_type_names
        .iter()
        .map(|s| EdgeKind::from_name(s))
        .collect();
    // One branch-free pass finds the largest string index named by an edge; only when it
    // is out of range is the offending edge looked for.
    let mut named = [0u32; 256];
    for (t, k) in g.edge_kinds.iter().enumerate() {
        named[t] = if k.has_string_name() { u32::MAX } else { 0 };
    }
    let largest = g
        .edge_type
        .iter()
        .zip(&g.edge_name)
        .map(|(&t, &n)| n & named[t as usize])
        .max()
        .unwrap_or(0);
    if largest as u64 >= nstrings {
        let e = (0..g.edge_type.len())
            .find(|&e| g.edge_name[e] & named[g.edge_type[e] as usize] == largest)
            .unwrap_or(0);
        return Err(SnapshotError::BadStringIndex {
            what: "edge",
            index: e as u64,
            string: largest as u64,
            count: nstrings,
        });
    }

    if let Some(ri) = h.root_index {
        if ri % nf != 0 || ri / nf >= n as u64 {
            return Err(SnapshotError::Layout(format!(
                "root_index {ri} is not a node"
            )));
        }
        g.root = (ri / nf) as u32;
    }
    if n == 0 {
        return Err(SnapshotError::NotASnapshot("it has no nodes".into()));
    }

    let lf = &h.meta.location_fields;
    if !lf.is_empty() && !raw_locations.is_empty() {
        let at = |name: &str| lf.iter().position(|f| f == name);
        let (oi, sid, line, col) = (
            at("object_index"),
            at("script_id"),
            at("line"),
            at("column"),
        );
        let Some(oi) = oi else {
            return Err(SnapshotError::Layout(
                "location_fields has no \"object_index\"".into(),
            ));
        };
        let pick = |rec: &[u32], i: Option<usize>| i.map(|i| rec[i]).unwrap_or(0);
        g.locations.reserve_exact(raw_locations.len() / lf.len());
        for rec in raw_locations.chunks_exact(lf.len()) {
            let idx = rec[oi] as u64;
            if !idx.is_multiple_of(nf) || idx / nf >= n as u64 {
                return Err(SnapshotError::Layout(format!(
                    "a location names node index {idx}, which is not a node"
                )));
            }
            g.locations.push(Location {
                node: (idx / nf) as u32,
                script_id: pick(rec, sid),
                line: pick(rec, line),
                column: pick(rec, col),
            });
        }
    }

    g.meta = h.meta;
    g.extra_native_bytes = h.extra_native_bytes;
    Ok(g)
}
