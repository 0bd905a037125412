//! The in-memory heap graph: struct-of-arrays nodes indexed by ordinal (`u32`), edges in
//! CSR order exactly as the file lists them.

use crate::strings::Strings;

/// V8's node types, resolved by name from `snapshot.meta` (their numbers differ by version).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeKind {
    Hidden,
    Array,
    String,
    Object,
    Code,
    Closure,
    RegExp,
    Number,
    Native,
    Synthetic,
    ConsString,
    SlicedString,
    Symbol,
    BigInt,
    ObjectShape,
    WasmObject,
    /// A type this reader does not know; its name is in `Meta::node_type_names`.
    Other,
}

impl NodeKind {
    pub fn from_name(name: &str) -> NodeKind {
        match name {
            "hidden" => NodeKind::Hidden,
            "array" => NodeKind::Array,
            "string" => NodeKind::String,
            "object" => NodeKind::Object,
            "code" => NodeKind::Code,
            "closure" => NodeKind::Closure,
            "regexp" => NodeKind::RegExp,
            "number" => NodeKind::Number,
            "native" => NodeKind::Native,
            "synthetic" => NodeKind::Synthetic,
            "concatenated string" => NodeKind::ConsString,
            "sliced string" => NodeKind::SlicedString,
            "symbol" => NodeKind::Symbol,
            "bigint" => NodeKind::BigInt,
            "object shape" => NodeKind::ObjectShape,
            "wasm object" => NodeKind::WasmObject,
            _ => NodeKind::Other,
        }
    }

    pub fn is_string(self) -> bool {
        matches!(
            self,
            NodeKind::String | NodeKind::ConsString | NodeKind::SlicedString
        )
    }
}

/// V8's edge types, resolved by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EdgeKind {
    Context,
    Element,
    Property,
    Internal,
    Hidden,
    Shortcut,
    Weak,
    Other,
}

impl EdgeKind {
    pub fn from_name(name: &str) -> EdgeKind {
        match name {
            "context" => EdgeKind::Context,
            "element" => EdgeKind::Element,
            "property" => EdgeKind::Property,
            "internal" => EdgeKind::Internal,
            "hidden" => EdgeKind::Hidden,
            "shortcut" => EdgeKind::Shortcut,
            "weak" => EdgeKind::Weak,
            _ => EdgeKind::Other,
        }
    }

    /// Element and hidden edges carry a number; every other type names a string.
    pub fn has_string_name(self) -> bool {
        !matches!(self, EdgeKind::Element | EdgeKind::Hidden)
    }
}

/// What the header said about the file's layout.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    pub node_fields: Vec<String>,
    pub node_type_names: Vec<String>,
    pub edge_fields: Vec<String>,
    pub edge_type_names: Vec<String>,
    pub trace_function_info_fields: Vec<String>,
    pub trace_node_fields: Vec<String>,
    pub sample_fields: Vec<String>,
    pub location_fields: Vec<String>,
}

/// Source position of a closure or of an object's constructor. Line and column are 0-based,
/// as the snapshot stores them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Location {
    pub node: u32,
    pub script_id: u32,
    pub line: u32,
    pub column: u32,
}

/// One function of the allocation-tracking tables (line and column 1-based, 0 = unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceFunction {
    pub function_id: u32,
    pub name: u32,
    pub script_name: u32,
    pub script_id: u32,
    pub line: u32,
    pub column: u32,
}

/// The allocation call tree, flattened: entry `i` has `parent[i]` (u32::MAX for roots).
#[derive(Debug, Clone, Default)]
pub struct TraceTree {
    pub id: Vec<u32>,
    pub function_info: Vec<u32>,
    pub count: Vec<u32>,
    pub size: Vec<u64>,
    pub parent: Vec<u32>,
}

impl TraceTree {
    pub fn len(&self) -> usize {
        self.id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.id.is_empty()
    }
}

/// A node's position in one snapshot's arrays. Inside the reader and the analyses nodes are
/// bare `u32` indices (the columns are indexed by them); where a node crosses into code that
/// also handles V8 ids (`@123`, stable across snapshots), it is this type, so the two
/// cannot be mixed up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NodeOrdinal(pub u32);

/// A whole heap snapshot in compact form.
#[derive(Debug, Default)]
pub struct HeapGraph {
    pub meta: Meta,
    /// Node kind per raw type number (as the file numbers them).
    pub node_kinds: Vec<NodeKind>,
    pub edge_kinds: Vec<EdgeKind>,

    pub node_type: Vec<u8>,
    pub node_name: Vec<u32>,
    pub node_id: Vec<u32>,
    pub node_self_size: Vec<u32>,
    /// `first_edge[i]..first_edge[i + 1]` are node `i`'s edges (edge ordinals).
    pub first_edge: Vec<u32>,
    /// Empty when the file has no `trace_node_id` field or it is zero everywhere.
    pub node_trace_id: Vec<u32>,
    /// Empty when the file has no `detachedness` field.
    pub node_detachedness: Vec<u8>,

    pub edge_type: Vec<u8>,
    pub edge_name: Vec<u32>,
    /// Target node ordinal (the file stores it multiplied by the node field count).
    pub edge_to: Vec<u32>,

    pub strings: Strings,
    pub locations: Vec<Location>,
    pub trace_functions: Vec<TraceFunction>,
    pub trace_tree: TraceTree,
    /// `(timestamp_us, last_assigned_id)` pairs.
    pub samples: Vec<(u64, u32)>,

    pub root: u32,
    pub extra_native_bytes: u64,
    /// Self sizes above 4 GiB do not fit the u32 column; they are clamped and counted here.
    pub clamped_self_sizes: u64,
}

impl HeapGraph {
    pub fn node_count(&self) -> usize {
        self.node_type.len()
    }

    pub fn edge_count(&self) -> usize {
        self.edge_type.len()
    }

    #[inline]
    pub fn kind(&self, node: u32) -> NodeKind {
        self.node_kinds[self.node_type[node as usize] as usize]
    }

    #[inline]
    pub fn edge_kind(&self, edge: u32) -> EdgeKind {
        self.edge_kinds[self.edge_type[edge as usize] as usize]
    }

    #[inline]
    pub fn edges(&self, node: u32) -> std::ops::Range<u32> {
        self.first_edge[node as usize]..self.first_edge[node as usize + 1]
    }

    pub fn name(&self, node: u32) -> std::borrow::Cow<'_, str> {
        self.strings.get(self.node_name[node as usize])
    }

    pub fn name_bytes(&self, node: u32) -> &[u8] {
        self.strings.bytes(self.node_name[node as usize])
    }

    pub fn type_name(&self, node: u32) -> &str {
        self.meta
            .node_type_names
            .get(self.node_type[node as usize] as usize)
            .map(String::as_str)
            .unwrap_or("?")
    }

    pub fn edge_type_name(&self, edge: u32) -> &str {
        self.meta
            .edge_type_names
            .get(self.edge_type[edge as usize] as usize)
            .map(String::as_str)
            .unwrap_or("?")
    }

    /// The edge's name as DevTools shows it: the string for named edges, the number for
    /// element and hidden edges.
    pub fn edge_name(&self, edge: u32) -> std::borrow::Cow<'_, str> {
        let raw = self.edge_name[edge as usize];
        if self.edge_kind(edge).has_string_name() {
            self.strings.get(raw)
        } else {
            std::borrow::Cow::Owned(raw.to_string())
        }
    }

    /// The edge's name string bytes, or None for numbered (element/hidden) edges.
    pub fn edge_name_bytes(&self, edge: u32) -> Option<&[u8]> {
        if self.edge_kind(edge).has_string_name() {
            Some(self.strings.bytes(self.edge_name[edge as usize]))
        } else {
            None
        }
    }

    /// Finds a node by its V8 id (a linear scan; build an index for many look-ups).
    pub fn find_id(&self, id: u32) -> Option<u32> {
        self.node_id.iter().position(|&x| x == id).map(|i| i as u32)
    }

    /// The node a caller outside the graph's crates names by its V8 id.
    pub fn ordinal_of(&self, id: u32) -> Option<NodeOrdinal> {
        self.find_id(id).map(NodeOrdinal)
    }

    /// Approximate bytes held by the graph, for memory accounting.
    pub fn heap_bytes(&self) -> usize {
        self.node_type.capacity()
            + 4 * (self.node_name.capacity()
                + self.node_id.capacity()
                + self.node_self_size.capacity()
                + self.first_edge.capacity()
                + self.node_trace_id.capacity())
            + self.node_detachedness.capacity()
            + self.edge_type.capacity()
            + 4 * (self.edge_name.capacity() + self.edge_to.capacity())
            + self.strings.heap_bytes()
            + self.locations.capacity() * std::mem::size_of::<Location>()
    }
}
