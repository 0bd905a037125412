//! The reader on small hand-built inputs: JSON escapes, the node layouts of each Node
//! version, locations, allocation traces, white space, unknown keys and gzip.
//! The documents are synthetic: these tests are about parsing, not heap semantics.

use std::io::Read;

use heaphound_snapshot::{
    read_bytes, read_path, read_reader, EdgeKind, HeapGraph, Location, NodeKind, SnapshotError,
    TraceFunction,
};

// ---------------------------------------------------------------------------------------
// Building documents

use heaphound_test_support::{gzip, NODE18_TYPES, NODE22_TYPES, NODE_TYPES as NODE20_TYPES};
const EDGE_TYPES: &[&str] = &[
    "context", "element", "property", "internal", "hidden", "shortcut", "weak",
];
const FIELDS_7: &[&str] = &[
    "type",
    "name",
    "id",
    "self_size",
    "edge_count",
    "trace_node_id",
    "detachedness",
];
const FIELDS_NODE24: &[&str] = &[
    "type",
    "name",
    "id",
    "self_size",
    "edge_count",
    "detachedness",
];
const EDGE_FIELDS: &[&str] = &["type", "name_or_index", "to_node"];
const TRACE_META: &str = r#","trace_function_info_fields":["function_id","name","script_name","script_id","line","column"],"trace_node_fields":["id","function_info_index","count","size","children"],"sample_fields":["timestamp_us","last_assigned_id"],"location_fields":["object_index","script_id","line","column"]"#;
const EMPTY_TAIL: &str =
    "\"trace_function_infos\":[],\n\"trace_tree\":[],\n\"samples\":[],\n\"locations\":[],\n";

#[derive(Clone)]
struct N {
    kind: &'static str,
    name: u64,
    id: u64,
    size: u64,
    edges: u64,
    trace: u64,
    detached: u64,
}

#[derive(Clone)]
struct E {
    kind: &'static str,
    name: u64,
    /// Node ordinal (written ×NF).
    to: u64,
}

#[derive(Clone)]
struct Doc {
    node_fields: Vec<&'static str>,
    node_types: Vec<&'static str>,
    edge_fields: Vec<&'static str>,
    edge_types: Vec<&'static str>,
    nodes: Vec<N>,
    edges: Vec<E>,
    /// The inside of the "strings" array, as JSON text.
    strings: String,
    meta_extra: String,
    /// Top-level members between "edges" and "strings", each followed by ",".
    tail: String,
}

fn quoted(list: &[&str]) -> String {
    let v: Vec<String> = list.iter().map(|s| format!("\"{s}\"")).collect();
    format!("[{}]", v.join(","))
}

impl Doc {
    fn nf(&self) -> u64 {
        self.node_fields.len() as u64
    }

    fn node_values(&self) -> Vec<u64> {
        let mut out = Vec::new();
        for n in &self.nodes {
            for f in &self.node_fields {
                out.push(match *f {
                    "type" => self.node_types.iter().position(|t| *t == n.kind).unwrap() as u64,
                    "name" => n.name,
                    "id" => n.id,
                    "self_size" => n.size,
                    "edge_count" => n.edges,
                    "trace_node_id" => n.trace,
                    "detachedness" => n.detached,
                    _ => 42,
                });
            }
        }
        out
    }

    fn edge_values(&self) -> Vec<u64> {
        let mut out = Vec::new();
        for e in &self.edges {
            for f in &self.edge_fields {
                out.push(match *f {
                    "type" => self.edge_types.iter().position(|t| *t == e.kind).unwrap() as u64,
                    "name_or_index" => e.name,
                    "to_node" => e.to * self.nf(),
                    _ => 0,
                });
            }
        }
        out
    }

    fn header(&self) -> String {
        let node_types: Vec<String> = self
            .node_fields
            .iter()
            .map(|f| match *f {
                "type" => quoted(&self.node_types),
                "name" => "\"string\"".into(),
                _ => "\"number\"".into(),
            })
            .collect();
        let edge_types: Vec<String> = self
            .edge_fields
            .iter()
            .map(|f| match *f {
                "type" => quoted(&self.edge_types),
                "name_or_index" => "\"string_or_number\"".into(),
                "to_node" => "\"node\"".into(),
                _ => "\"number\"".into(),
            })
            .collect();
        format!(
            "{{\"meta\":{{\"node_fields\":{},\"node_types\":[{}],\"edge_fields\":{},\"edge_types\":[{}]{}}},\"node_count\":{},\"edge_count\":{},\"trace_function_count\":0}}",
            quoted(&self.node_fields),
            node_types.join(","),
            quoted(&self.edge_fields),
            edge_types.join(","),
            self.meta_extra,
            self.nodes.len(),
            self.edges.len()
        )
    }

    /// V8's own layout: one record per line, each line after the first starting with ','.
    fn render(&self) -> String {
        let records = |values: Vec<u64>, width: usize| -> String {
            values
                .chunks(width)
                .map(|r| r.iter().map(u64::to_string).collect::<Vec<_>>().join(","))
                .collect::<Vec<_>>()
                .join("\n,")
        };
        format!(
            "{{\"snapshot\":{},\n\"nodes\":[{}],\n\"edges\":[{}],\n{}\"strings\":[{}]}}",
            self.header(),
            records(self.node_values(), self.node_fields.len()),
            records(self.edge_values(), self.edge_fields.len()),
            self.tail,
            self.strings
        )
    }
}

/// Three nodes: the root (2 edges), an object "Foo" (1 edge) and a string "hello".
fn small(node_fields: &[&'static str], node_types: &[&'static str]) -> Doc {
    Doc {
        node_fields: node_fields.to_vec(),
        node_types: node_types.to_vec(),
        edge_fields: EDGE_FIELDS.to_vec(),
        edge_types: EDGE_TYPES.to_vec(),
        nodes: vec![
            N {
                kind: "synthetic",
                name: 0,
                id: 1,
                size: 0,
                edges: 2,
                trace: 0,
                detached: 0,
            },
            N {
                kind: "object",
                name: 1,
                id: 3,
                size: 32,
                edges: 1,
                trace: 0,
                detached: 1,
            },
            N {
                kind: "string",
                name: 2,
                id: 5,
                size: 16,
                edges: 0,
                trace: 0,
                detached: 2,
            },
        ],
        edges: vec![
            E {
                kind: "element",
                name: 1,
                to: 1,
            },
            E {
                kind: "property",
                name: 3,
                to: 2,
            },
            E {
                kind: "property",
                name: 4,
                to: 2,
            },
        ],
        strings: r#""","Foo","hello","p","q""#.into(),
        meta_extra: TRACE_META.into(),
        tail: EMPTY_TAIL.into(),
    }
}

fn read(text: &str) -> HeapGraph {
    match read_bytes(text.as_bytes()) {
        Ok(g) => g,
        Err(e) => panic!("{e}\n--- input ---\n{text}"),
    }
}

fn read_err(text: &str) -> SnapshotError {
    match read_bytes(text.as_bytes()) {
        Ok(g) => panic!(
            "read {} nodes, expected an error\n--- input ---\n{text}",
            g.node_count()
        ),
        Err(e) => e,
    }
}

/// Everything the reader built (HeapGraph's Debug shows contents, not capacities).
fn fingerprint(g: &HeapGraph) -> String {
    format!("{g:?}")
}

fn check_small(g: &HeapGraph, detachedness: bool) {
    assert_eq!(g.node_count(), 3);
    assert_eq!(g.edge_count(), 3);
    assert_eq!(g.node_id, [1, 3, 5]);
    assert_eq!(g.node_self_size, [0, 32, 16]);
    assert_eq!(g.first_edge, [0, 2, 3, 3]);
    assert_eq!(g.edge_to, [1, 2, 2]);
    assert_eq!(g.root, 0);
    assert_eq!(
        [g.kind(0), g.kind(1), g.kind(2)],
        [NodeKind::Synthetic, NodeKind::Object, NodeKind::String]
    );
    assert_eq!(
        [g.type_name(0), g.type_name(1), g.type_name(2)],
        ["synthetic", "object", "string"]
    );
    assert_eq!([g.name(0), g.name(1), g.name(2)], ["", "Foo", "hello"]);
    assert_eq!(
        [g.edge_kind(0), g.edge_kind(1), g.edge_kind(2)],
        [EdgeKind::Element, EdgeKind::Property, EdgeKind::Property]
    );
    assert_eq!(
        [g.edge_name(0), g.edge_name(1), g.edge_name(2)],
        ["1", "p", "q"]
    );
    assert_eq!(g.edges(0), 0..2);
    assert_eq!(g.edges(1), 2..3);
    assert_eq!(g.edges(2), 3..3);
    // All trace node ids are 0: the column is dropped.
    assert!(g.node_trace_id.is_empty());
    if detachedness {
        assert_eq!(g.node_detachedness, [0, 1, 2]);
    } else {
        assert!(g.node_detachedness.is_empty());
    }
    assert_eq!(g.strings.len(), 5);
}

/// A reader that hands out `sizes` bytes at a time, cycling: exercises every buffer seam.
struct Chunky<'a> {
    data: &'a [u8],
    sizes: &'a [usize],
    turn: usize,
}

impl Read for Chunky<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let want = self.sizes[self.turn % self.sizes.len()];
        self.turn += 1;
        let n = want.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn read_chunky(data: &[u8], sizes: &[usize]) -> Result<HeapGraph, SnapshotError> {
    read_reader(
        Chunky {
            data,
            sizes,
            turn: 0,
        },
        None,
        &mut |_| {},
    )
}

// ---------------------------------------------------------------------------------------
// Strings and escapes

/// Strings 0-4 are what the small graph's nodes and edges use.
const ESCAPES: &str = r#""","Foo","hello","p","q",
"q\"q","b\\s","s\/s","\b\f\n\r\t","\u0041\u00e9\u20AC\u20ac",
"\ud83d\ude00","\ud800","\udc00","\ud800\u0041","\ud800\n","\ud800\\",
"\ud800\ud83d\ude00","\udc00\ud800","é😀","\u0000","\uDBFF\uDFFF",
"a\ud800""#;

fn escapes_doc() -> String {
    let mut d = small(FIELDS_7, NODE20_TYPES);
    d.strings = ESCAPES.into();
    d.render()
}

#[test]
fn json_escapes_in_strings() {
    let g = read(&escapes_doc());
    let s = &g.strings;
    assert_eq!(s.len(), 22);
    assert_eq!(s.bytes(5), *b"q\"q");
    assert_eq!(s.bytes(6), *b"b\\s");
    assert_eq!(s.bytes(7), *b"s/s");
    assert_eq!(s.bytes(8), [8, 12, b'\n', b'\r', b'\t']);
    assert_eq!(s.get(9), "Aé€€");
    assert_eq!(s.utf16_len(9), 4);
    assert_eq!(s.bytes(18), "é😀".as_bytes());
    assert_eq!(s.utf16_len(18), 3);
    assert_eq!(s.bytes(19), [0]);
}

#[test]
fn surrogate_pairs_become_one_astral_char() {
    let g = read(&escapes_doc());
    let s = &g.strings;
    assert_eq!(s.get(10), "😀");
    assert_eq!(s.bytes(10), [0xF0, 0x9F, 0x98, 0x80]);
    assert_eq!(s.utf16_len(10), 2);
    assert_eq!(s.get(20), "\u{10FFFF}");
    assert_eq!(s.utf16_len(20), 2);
}

#[test]
fn lone_surrogates_are_kept_as_wtf8() {
    let g = read(&escapes_doc());
    let s = &g.strings;
    // Lone high, lone low.
    assert_eq!(s.bytes(11), [0xED, 0xA0, 0x80]);
    assert_eq!(s.utf16_len(11), 1);
    assert_eq!(s.bytes(12), [0xED, 0xB0, 0x80]);
    assert_eq!(s.utf16_len(12), 1);
    // A low then a high do not pair.
    assert_eq!(s.bytes(17), [0xED, 0xB0, 0x80, 0xED, 0xA0, 0x80]);
    assert_eq!(s.utf16_len(17), 2);
    // A high surrogate last in the string.
    assert_eq!(s.bytes(21), [b'a', 0xED, 0xA0, 0x80]);
    assert_eq!(s.utf16_len(21), 2);
}

#[test]
fn high_surrogate_followed_by_a_non_low_escape() {
    let g = read(&escapes_doc());
    let s = &g.strings;
    // \ud800\u0041: a \u escape that is not a low surrogate.
    assert_eq!(s.bytes(13), [0xED, 0xA0, 0x80, b'A']);
    assert_eq!(s.utf16_len(13), 2);
    // \ud800\n and \ud800\\: other escapes.
    assert_eq!(s.bytes(14), [0xED, 0xA0, 0x80, b'\n']);
    assert_eq!(s.bytes(15), [0xED, 0xA0, 0x80, b'\\']);
}

/// `\ud800\ud83d\ude00` is a lone high surrogate and then a valid pair (U+1F600), as
/// JavaScript reads it: the second high surrogate must still pair with the low one after it.
#[test]
fn high_surrogate_followed_by_a_surrogate_pair() {
    let g = read(&escapes_doc());
    let s = &g.strings;
    assert_eq!(
        s.bytes(16),
        [0xED, 0xA0, 0x80, 0xF0, 0x9F, 0x98, 0x80],
        "got {:02X?}",
        s.bytes(16)
    );
    assert_eq!(s.utf16_len(16), 3);
}

/// `Strings::get` documents "lone surrogates become U+FFFD": one per surrogate, as a
/// JavaScript console shows it, not one per WTF-8 byte.
#[test]
fn lone_surrogate_displays_as_one_replacement_char() {
    let g = read(&escapes_doc());
    assert_eq!(g.strings.get(11), "\u{FFFD}");
    assert_eq!(g.strings.get(21), "a\u{FFFD}");
    assert_eq!(g.strings.get(13), "\u{FFFD}A");
}

#[test]
fn escapes_across_every_buffer_seam() {
    let text = escapes_doc();
    let whole = fingerprint(&read(&text));
    for sizes in [&[1usize][..], &[2], &[3], &[1, 5, 2, 7], &[6, 1, 4]] {
        let g = read_chunky(text.as_bytes(), sizes).unwrap();
        assert_eq!(fingerprint(&g), whole, "chunk sizes {sizes:?}");
    }
}

#[test]
fn escaped_keys_are_decoded() {
    let text = small(FIELDS_7, NODE20_TYPES)
        .render()
        .replacen("\"snapshot\"", "\"snap\\u0073hot\"", 1)
        .replacen("\"nodes\"", "\"n\\u006fdes\"", 1);
    check_small(&read(&text), true);
}

#[test]
fn bad_escapes_and_control_characters_are_refused_with_their_offset() {
    for (bad, marker) in [
        (r#""bad \x escape""#, "x escape"),
        (r#""bad \u12G4 hex""#, "G4 hex"),
        ("\"raw \u{1} control\"", "\u{1} control"),
    ] {
        let mut d = small(FIELDS_7, NODE20_TYPES);
        d.strings = format!(r#""","Foo","hello","p","q",{bad}"#);
        let text = d.render();
        let at = text.find(marker).unwrap() as u64;
        match read_err(&text) {
            SnapshotError::Syntax {
                offset, context, ..
            } => {
                assert_eq!(offset, at, "{bad}");
                assert!(context.contains("strings"), "{context}");
            }
            e => panic!("{bad}: {e}"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Node layouts

#[test]
fn node18_layout() {
    let g = read(&small(FIELDS_7, NODE18_TYPES).render());
    check_small(&g, true);
    assert_eq!(g.meta.node_type_names.len(), 14);
    assert_eq!(g.meta.node_fields, FIELDS_7);
}

#[test]
fn node20_layout() {
    let g = read(&small(FIELDS_7, NODE20_TYPES).render());
    check_small(&g, true);
    assert_eq!(g.meta.node_type_names.len(), 16);
    assert_eq!(g.node_kinds.len(), 16);
    assert_eq!(g.node_kinds[14], NodeKind::ObjectShape);
    assert_eq!(g.node_kinds[15], NodeKind::WasmObject);
}

#[test]
fn node22_layout() {
    let g = read(&small(FIELDS_7, NODE22_TYPES).render());
    check_small(&g, true);
    assert_eq!(g.meta.node_type_names.len(), 15);
}

#[test]
fn node24_layout_without_trace_node_id() {
    let d = small(FIELDS_NODE24, NODE22_TYPES);
    let text = d.render();
    // to_node is ordinal × 6 here.
    assert!(
        text.contains("\"edges\":[1,1,6\n,2,3,12\n,2,4,12]"),
        "{text}"
    );
    let g = read(&text);
    check_small(&g, true);
    assert_eq!(g.meta.node_fields.len(), 6);
}

#[test]
fn trace_node_ids_are_kept_when_any_is_set() {
    let mut d = small(FIELDS_7, NODE20_TYPES);
    d.nodes[1].trace = 7;
    let g = read(&d.render());
    assert_eq!(g.node_trace_id, [0, 7, 0]);
}

/// Node fields in a made-up order, an unknown extra field, and node types listed in another
/// order: everything is resolved by name.
#[test]
fn node_fields_resolved_by_name() {
    let types = [
        "object",
        "string",
        "hidden",
        "synthetic",
        "array",
        "closure",
        "my new type",
    ];
    let mut d = small(
        &["id", "flags", "edge_count", "type", "self_size", "name"],
        &types,
    );
    d.edge_fields = vec!["to_node", "type", "name_or_index"];
    d.edge_types = vec!["property", "weak", "element", "shortcut"];
    let text = d.render();
    // The first node record: id 1, flags 42, 2 edges, type 3 (synthetic), size 0, name 0.
    assert!(text.contains("\"nodes\":[1,42,2,3,0,0\n"), "{text}");
    let g = read(&text);
    check_small(&g, false);
    assert_eq!(g.node_kinds[6], NodeKind::Other);
    assert_eq!(
        g.edge_kinds,
        [
            EdgeKind::Property,
            EdgeKind::Weak,
            EdgeKind::Element,
            EdgeKind::Shortcut
        ]
    );
}

#[test]
fn edges_follow_the_nodes_edge_counts() {
    let mut d = small(FIELDS_7, NODE20_TYPES);
    // The root has no edges, the object has three.
    d.nodes[0].edges = 0;
    d.nodes[1].edges = 3;
    let g = read(&d.render());
    assert_eq!(g.first_edge, [0, 0, 3, 3]);
    // The sum of edge_count must match the edges array.
    d.nodes[2].edges = 1;
    match read_err(&d.render()) {
        SnapshotError::CountMismatch { .. } => {}
        e => panic!("{e}"),
    }
}

// ---------------------------------------------------------------------------------------
// Locations, allocation traces, samples

#[test]
fn locations_map_to_node_ordinals() {
    let mut d = small(FIELDS_7, NODE20_TYPES);
    d.tail = "\"trace_function_infos\":[],\"trace_tree\":[],\"samples\":[],\n\
              \"locations\":[14,7,10,3\n,7,8,0,0\n,0,9,1,2],\n"
        .into();
    let g = read(&d.render());
    assert_eq!(
        g.locations,
        [
            Location {
                node: 2,
                script_id: 7,
                line: 10,
                column: 3
            },
            Location {
                node: 1,
                script_id: 8,
                line: 0,
                column: 0
            },
            Location {
                node: 0,
                script_id: 9,
                line: 1,
                column: 2
            },
        ]
    );
}

#[test]
fn location_fields_resolved_by_name() {
    let mut d = small(FIELDS_NODE24, NODE22_TYPES);
    d.meta_extra = r#","location_fields":["line","column","script_id","object_index"]"#.into();
    d.tail = "\"locations\":[10,3,7,12,5,6,8,6],\n".into();
    let g = read(&d.render());
    assert_eq!(
        g.locations,
        [
            Location {
                node: 2,
                script_id: 7,
                line: 10,
                column: 3
            },
            Location {
                node: 1,
                script_id: 8,
                line: 5,
                column: 6
            },
        ]
    );
}

#[test]
fn a_location_that_is_not_a_node_is_refused() {
    for bad in ["15", "21"] {
        let mut d = small(FIELDS_7, NODE20_TYPES);
        d.tail = format!("\"locations\":[{bad},7,10,3],\n");
        match read_err(&d.render()) {
            SnapshotError::Layout(m) => assert!(m.contains(bad), "{m}"),
            e => panic!("{e}"),
        }
    }
}

/// One root, two children, one grandchild: `[id, function_info_index, count, size, [children]]`.
const TRACE_TAIL: &str = "\"trace_function_infos\":[1,1,2,3,10,5\n,2,3,2,3,20,7],\n\
\"trace_tree\":[1,0,0,0,[2,0,3,100,[3,1,1,50,[]],4,1,2,30,[]]],\n\
\"samples\":[1000,3\n,2000,5\n,3500,5],\n\
\"locations\":[],\n";

#[test]
fn allocation_traces_and_samples() {
    let mut d = small(FIELDS_7, NODE20_TYPES);
    d.tail = TRACE_TAIL.into();
    let g = read(&d.render());
    assert_eq!(
        g.trace_functions,
        [
            TraceFunction {
                function_id: 1,
                name: 1,
                script_name: 2,
                script_id: 3,
                line: 10,
                column: 5
            },
            TraceFunction {
                function_id: 2,
                name: 3,
                script_name: 2,
                script_id: 3,
                line: 20,
                column: 7
            },
        ]
    );
    let t = &g.trace_tree;
    assert_eq!(t.len(), 4);
    assert_eq!(t.id, [1, 2, 3, 4]);
    assert_eq!(t.function_info, [0, 0, 1, 1]);
    assert_eq!(t.count, [0, 3, 1, 2]);
    assert_eq!(t.size, [0, 100, 50, 30]);
    assert_eq!(t.parent, [u32::MAX, 0, 1, 0]);
    assert_eq!(g.samples, [(1000, 3), (2000, 5), (3500, 5)]);
}

#[test]
fn trace_fields_resolved_by_name() {
    let mut d = small(FIELDS_7, NODE20_TYPES);
    d.meta_extra = r#","trace_function_info_fields":["name","line","column","function_id","script_id","script_name"],"trace_node_fields":["size","count","id","function_info_index","children"],"sample_fields":["last_assigned_id","timestamp_us"]"#.into();
    d.tail = "\"trace_function_infos\":[4,10,5,1,3,2],\n\
              \"trace_tree\":[0,0,1,0,[50,1,3,1,[],100,3,2,0,[30,2,4,1,[]]]],\n\
              \"samples\":[3,1000,5,2000],\n"
        .into();
    let g = read(&d.render());
    assert_eq!(
        g.trace_functions,
        [TraceFunction {
            function_id: 1,
            name: 4,
            script_name: 2,
            script_id: 3,
            line: 10,
            column: 5
        }]
    );
    let t = &g.trace_tree;
    assert_eq!(t.id, [1, 3, 2, 4]);
    assert_eq!(t.size, [0, 50, 100, 30]);
    assert_eq!(t.count, [0, 1, 3, 2]);
    assert_eq!(t.function_info, [0, 1, 0, 1]);
    assert_eq!(t.parent, [u32::MAX, 0, 0, 2]);
    assert_eq!(g.samples, [(1000, 3), (2000, 5)]);
}

#[test]
fn a_deep_trace_tree_is_read_without_recursion() {
    const DEPTH: usize = 20_000;
    let mut tree = String::from("[");
    for i in 0..DEPTH {
        tree.push_str(&format!("{},0,1,8,[", i + 1));
    }
    tree.push_str(&"]".repeat(DEPTH + 1));
    let mut d = small(FIELDS_7, NODE20_TYPES);
    d.tail = format!("\"trace_tree\":{tree},\n");
    let g = read(&d.render());
    let t = &g.trace_tree;
    assert_eq!(t.len(), DEPTH);
    assert_eq!(t.parent[0], u32::MAX);
    assert!((1..DEPTH).all(|i| t.parent[i] == i as u32 - 1));
    assert_eq!(t.id[DEPTH - 1], DEPTH as u32);
}

// ---------------------------------------------------------------------------------------
// White space and unknown keys

/// Adds white space around every structural character outside strings.
fn spaced(text: &str) -> String {
    let mut out = String::from(" \n\t");
    let (mut in_str, mut esc) = (false, false);
    for c in text.chars() {
        if in_str {
            out.push(c);
            if esc {
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_str = true;
                out.push(c);
            }
            ',' | ':' | '[' | ']' | '{' | '}' => {
                out.push_str(" \r\n");
                out.push(c);
                out.push_str("\t ");
            }
            '\n' => out.push_str("\r\n  "),
            _ => out.push(c),
        }
    }
    out.push_str("\n\n");
    out
}

#[test]
fn white_space_everywhere() {
    let mut d = small(FIELDS_7, NODE20_TYPES);
    d.tail = TRACE_TAIL.replace("\"locations\":[]", "\"locations\":[14,7,10,3]");
    d.strings = ESCAPES.into();
    let compact = d.render();
    let base = fingerprint(&read(&compact));
    let loose = spaced(&compact);
    assert!(loose.contains(" \r\n,\t 0 \r\n,\t "));
    assert_eq!(fingerprint(&read(&loose)), base);
    // All on one line, no white space at all.
    let tight: String = compact.replace('\n', "");
    assert_eq!(fingerprint(&read(&tight)), base);
    // The same, through a reader that hands out a few bytes at a time.
    let g = read_chunky(loose.as_bytes(), &[3, 1, 8]).unwrap();
    assert_eq!(fingerprint(&g), base);
}

#[test]
fn numbers_without_a_comma_between_them_are_refused() {
    let text =
        small(FIELDS_7, NODE20_TYPES)
            .render()
            .replacen("\"nodes\":[9,0,1", "\"nodes\":[9 0,1", 1);
    match read_err(&text) {
        SnapshotError::Syntax { offset, .. } => {
            assert_eq!(offset, text.find("0,1,0,2").unwrap() as u64)
        }
        e => panic!("{e}"),
    }
}

#[test]
fn unknown_top_level_keys_are_skipped() {
    let d = small(FIELDS_7, NODE20_TYPES);
    let base = fingerprint(&read(&d.render()));
    let junk = [
        r#""first":{"a":[1,2,{"b":"]}[{\"\\"}],"c":null},"#,
        r#""num":-12.5e+3,"t":true,"f":false,"n":null,"#,
        r#""str":"x\"y]}","arr":[[],[[]],{}],"#,
        r#""nodes_but_not":[1,2,3],"strings_too":["a","b"],"#,
    ];
    // Before the header, between the arrays, and just before "strings".
    let mut text = d.render();
    text = text.replacen("{\"snapshot\"", &format!("{{{}\"snapshot\"", junk[0]), 1);
    text = text.replacen("\n\"edges\"", &format!("\n{}\"edges\"", junk[1]), 1);
    text = text.replacen(
        "\n\"trace_tree\"",
        &format!("\n{}\"trace_tree\"", junk[2]),
        1,
    );
    text = text.replacen("\"strings\"", &format!("{}\"strings\"", junk[3]), 1);
    assert_eq!(fingerprint(&read(&text)), base, "{text}");
    // And after "strings", last in the object.
    let last = d.render();
    let last = format!(
        "{},\"after\":{{\"k\":[1,\"}}\"]}},\"z\":0}}",
        &last[..last.len() - 1]
    );
    assert_eq!(fingerprint(&read(&last)), base, "{last}");
}

#[test]
fn unknown_header_and_meta_keys_are_ignored() {
    let d = small(FIELDS_7, NODE20_TYPES);
    let base = fingerprint(&read(&d.render()));
    let text = d
        .render()
        .replacen(
            "{\"meta\":{",
            "{\"future\":{\"x\":[1]},\"meta\":{\"new_fields\":[\"a\"],",
            1,
        )
        .replacen(
            "\"trace_function_count\":0",
            "\"trace_function_count\":0,\"extra\":\"y\"",
            1,
        );
    assert_eq!(fingerprint(&read(&text)), base, "{text}");
}

// ---------------------------------------------------------------------------------------
// gzip

#[test]
fn gzip_input_is_detected_by_magic_bytes() {
    let text = escapes_doc();
    let base = fingerprint(&read(&text));
    let gz = gzip(text.as_bytes());
    assert_eq!(&gz[..2], [0x1f, 0x8b]);
    assert_eq!(fingerprint(&read_bytes(&gz).unwrap()), base);
    let g = read_reader(&gz[..], None, &mut |_| {}).unwrap();
    assert_eq!(fingerprint(&g), base);
    // Through a file whose name does not say gzip.
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("reader-gzip-{}.heapsnapshot", std::process::id()));
    std::fs::write(&path, &gz).unwrap();
    let g = read_path(&path, &mut |_| {});
    std::fs::remove_file(&path).unwrap();
    assert_eq!(fingerprint(&g.unwrap()), base);
}

#[test]
fn concatenated_gzip_members() {
    let text = escapes_doc();
    let base = fingerprint(&read(&text));
    let cut = text.find("\"edges\"").unwrap();
    let mut gz = gzip(&text.as_bytes()[..cut]);
    gz.extend(gzip(&text.as_bytes()[cut..]));
    assert_eq!(fingerprint(&read_bytes(&gz).unwrap()), base);
}

/// A byte source may hand out fewer than two bytes on its first read (a pipe or socket fed
/// slowly); gzip must still be recognised.
#[test]
fn gzip_through_a_source_that_hands_out_one_byte_at_a_time() {
    let text = escapes_doc();
    let base = fingerprint(&read(&text));
    let gz = gzip(text.as_bytes());
    match read_chunky(&gz, &[1, 3, 64]) {
        Ok(g) => assert_eq!(fingerprint(&g), base),
        Err(e) => panic!("gzip arriving one byte at a time was refused: {e}"),
    }
}
