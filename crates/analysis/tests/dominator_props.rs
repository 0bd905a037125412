//! Property tests of the dominator tree and retained sizes.
//!
//! `dominators::compute` (iterative Lengauer–Tarjan with DevTools' handling of nodes the root
//! cannot reach) is checked against a naive definition-based reference on thousands of
//! random heap graphs, and `edges::essential_edges` against an independent re-derivation of
//! DevTools' rules. Every random graph comes from a seed printed on failure, together with
//! a shrunk graph that still fails, so failures reproduce with `PROP_SEED=<seed>`.

use std::collections::HashMap;
use std::fmt::Write as _;

use heaphound_analysis::dominators::{self, Dominators};
use heaphound_analysis::edges::{self, Ephemerons};
use heaphound_analysis::preds::Preds;
use heaphound_analysis::{Analysis, BitSet};
use heaphound_snapshot::{EdgeKind, HeapGraph, Meta, NodeKind, Strings};
use heaphound_test_support::{EDGE_TYPES, NODE22_TYPES as NODE_TYPES};

const RANDOM_CASES: u64 = 3000;
const BASE_SEED: u64 = 0x5EED_D0D0_2024_0001;

// ---------------------------------------------------------------------------------------
// A small deterministic PRNG (SplitMix64).

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u32) -> bool {
        self.below(100) < percent as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Picks from `(weight, item)` pairs.
    fn weighted<T: Copy>(&mut self, items: &[(u32, T)]) -> T {
        let total: u32 = items.iter().map(|&(w, _)| w).sum();
        let mut x = self.below(total as usize) as u32;
        for &(w, item) in items {
            if x < w {
                return item;
            }
            x -= w;
        }
        unreachable!()
    }
}

// ---------------------------------------------------------------------------------------
// A readable description of a graph, turned into a `HeapGraph` by `build`.

#[derive(Clone, Debug)]
enum Name {
    Str(String),
    Num(u32),
}

#[derive(Clone, Debug)]
struct EdgeSpec {
    ty: &'static str,
    name: Name,
    to: u32,
}

#[derive(Clone, Debug)]
struct NodeSpec {
    ty: &'static str,
    name: String,
    id: u32,
    size: u32,
    edges: Vec<EdgeSpec>,
}

#[derive(Clone, Debug)]
struct Spec {
    /// Node 0 is the root.
    nodes: Vec<NodeSpec>,
    /// Equal strings share one string-table index (as in V8's files) or each get their own.
    share_strings: bool,
}

impl Spec {
    /// A graph holding only the synthetic root (id 1).
    fn new() -> Spec {
        Spec {
            nodes: vec![NodeSpec {
                ty: "synthetic",
                name: String::new(),
                id: 1,
                size: 0,
                edges: Vec::new(),
            }],
            share_strings: true,
        }
    }

    /// Adds a node with id `2 * ordinal + 1`.
    fn node(&mut self, ty: &'static str, name: &str, size: u32) -> u32 {
        let id = 2 * self.nodes.len() as u32 + 1;
        self.node_with_id(ty, name, id, size)
    }

    fn node_with_id(&mut self, ty: &'static str, name: &str, id: u32, size: u32) -> u32 {
        self.nodes.push(NodeSpec {
            ty,
            name: name.to_owned(),
            id,
            size,
            edges: Vec::new(),
        });
        self.nodes.len() as u32 - 1
    }

    /// Adds an edge with a generated name (a number for element/hidden edges).
    fn edge(&mut self, from: u32, ty: &'static str, to: u32) {
        let k = self.nodes[from as usize].edges.len() as u32;
        let name = if EdgeKind::from_name(ty).has_string_name() {
            Name::Str(format!("e{k}"))
        } else {
            Name::Num(k)
        };
        self.nodes[from as usize]
            .edges
            .push(EdgeSpec { ty, name, to });
    }

    fn named_edge(&mut self, from: u32, ty: &'static str, name: &str, to: u32) {
        assert!(EdgeKind::from_name(ty).has_string_name());
        self.nodes[from as usize].edges.push(EdgeSpec {
            ty,
            name: Name::Str(name.to_owned()),
            to,
        });
    }

    fn edge_count(&self) -> usize {
        self.nodes.iter().map(|n| n.edges.len()).sum()
    }

    /// The spec without node `k` (k > 0) and the edges touching it; ordinals above shift down.
    fn without_node(&self, k: u32) -> Spec {
        let mut out = self.clone();
        out.nodes.remove(k as usize);
        for node in &mut out.nodes {
            node.edges.retain(|e| e.to != k);
            for e in &mut node.edges {
                if e.to > k {
                    e.to -= 1;
                }
            }
        }
        out
    }

    fn without_edge(&self, node: usize, edge: usize) -> Spec {
        let mut out = self.clone();
        out.nodes[node].edges.remove(edge);
        out
    }

    fn dump(&self) -> String {
        let mut s = String::new();
        for (i, node) in self.nodes.iter().enumerate() {
            let _ = write!(
                s,
                "  node {i}: {} {:?} id={} size={}",
                node.ty, node.name, node.id, node.size
            );
            if node.edges.is_empty() {
                s.push('\n');
                continue;
            }
            s.push_str(" ->");
            for e in &node.edges {
                match &e.name {
                    Name::Str(n) => {
                        let _ = write!(s, " [{} {:?} -> {}]", e.ty, n, e.to);
                    }
                    Name::Num(n) => {
                        let _ = write!(s, " [{} {} -> {}]", e.ty, n, e.to);
                    }
                }
            }
            s.push('\n');
        }
        s
    }
}

fn intern(strings: &mut Strings, index: &mut HashMap<String, u32>, share: bool, s: &str) -> u32 {
    if share {
        if let Some(&i) = index.get(s) {
            return i;
        }
    }
    let i = strings.push(s);
    index.entry(s.to_owned()).or_insert(i);
    i
}

fn build(spec: &Spec) -> HeapGraph {
    let meta = Meta {
        node_fields: ["type", "name", "id", "self_size", "edge_count"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        node_type_names: NODE_TYPES.iter().map(|s| s.to_string()).collect(),
        edge_fields: ["type", "name_or_index", "to_node"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        edge_type_names: EDGE_TYPES.iter().map(|s| s.to_string()).collect(),
        ..Meta::default()
    };
    let node_kinds = NODE_TYPES.iter().map(|s| NodeKind::from_name(s)).collect();
    let edge_kinds = EDGE_TYPES.iter().map(|s| EdgeKind::from_name(s)).collect();
    let mut strings = Strings::default();
    let mut index = HashMap::new();
    let share = spec.share_strings;
    let mut g = HeapGraph {
        meta,
        node_kinds,
        edge_kinds,
        root: 0,
        ..HeapGraph::default()
    };
    g.first_edge.push(0);
    for node in &spec.nodes {
        let ty = NODE_TYPES
            .iter()
            .position(|&t| t == node.ty)
            .expect("known node type");
        g.node_type.push(ty as u8);
        g.node_name
            .push(intern(&mut strings, &mut index, share, &node.name));
        g.node_id.push(node.id);
        g.node_self_size.push(node.size);
        for e in &node.edges {
            let ty = EDGE_TYPES
                .iter()
                .position(|&t| t == e.ty)
                .expect("known edge type");
            let kind = EdgeKind::from_name(e.ty);
            let name = match (&e.name, kind.has_string_name()) {
                (Name::Str(s), true) => intern(&mut strings, &mut index, share, s),
                (Name::Num(n), false) => *n,
                (Name::Num(n), true) => intern(&mut strings, &mut index, share, &n.to_string()),
                (Name::Str(s), false) => s.len() as u32,
            };
            g.edge_type.push(ty as u8);
            g.edge_name.push(name);
            g.edge_to.push(e.to);
        }
        g.first_edge.push(g.edge_to.len() as u32);
    }
    g.strings = strings;
    g
}

// ---------------------------------------------------------------------------------------
// Independent re-derivation of DevTools' essential-edge rules, from the spec.

/// The table id of a WeakMap ephemeron edge name:
/// `<n> / part of key (<k> @<id>) -> value (<v> @<id>) pair in WeakMap (table @<id>)`.
fn weakmap_table(name: &str) -> Option<u32> {
    let digits = name.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let rest = name[digits..].strip_prefix(" / part of key (")?;
    if !rest.contains(") -> value (") {
        return None;
    }
    let (_, tail) = rest.rsplit_once(") pair in WeakMap (table @")?;
    let id = tail.strip_suffix(')')?;
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    id.parse().ok()
}

#[derive(Default, Debug, Clone, Copy)]
struct RuleHits {
    weak: u32,
    self_edge: u32,
    shortcut: u32,
    weakmap_table: u32,
    page_boundary: u32,
}

/// One flag per edge in CSR order.
fn naive_essential(spec: &Spec, hits: &mut RuleHits) -> Vec<bool> {
    let n = spec.nodes.len();
    let mut page = vec![false; n];
    let mut stack = Vec::new();
    for e in &spec.nodes[0].edges {
        let to = e.to as usize;
        let entry = match e.ty {
            "shortcut" => true,
            "element" => {
                spec.nodes[to].ty == "synthetic" && spec.nodes[to].name == "(Document DOM trees)"
            }
            _ => false,
        };
        if entry && !page[to] {
            page[to] = true;
            stack.push(to);
        }
    }
    while let Some(v) = stack.pop() {
        for e in &spec.nodes[v].edges {
            let to = e.to as usize;
            if e.ty != "weak" && !page[to] {
                page[to] = true;
                stack.push(to);
            }
        }
    }
    let mut out = Vec::new();
    for (src, node) in spec.nodes.iter().enumerate() {
        for e in &node.edges {
            let to = e.to as usize;
            let table_edge = e.ty == "internal"
                && matches!(&e.name, Name::Str(s) if weakmap_table(s) == Some(node.id));
            let keep = if e.ty == "weak" {
                hits.weak += 1;
                false
            } else if table_edge {
                hits.weakmap_table += 1;
                false
            } else if to == src {
                hits.self_edge += 1;
                false
            } else if src != 0 && e.ty == "shortcut" {
                hits.shortcut += 1;
                false
            } else if src != 0 && page[to] && !page[src] {
                hits.page_boundary += 1;
                false
            } else {
                true
            };
            out.push(keep);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Naive dominators, by definition.

fn reach_from(root: usize, succ: &[Vec<u32>], removed: Option<usize>) -> Vec<bool> {
    let mut seen = vec![false; succ.len()];
    if removed == Some(root) {
        return seen;
    }
    seen[root] = true;
    let mut stack = vec![root];
    while let Some(v) = stack.pop() {
        for &w in &succ[v] {
            let w = w as usize;
            if !seen[w] && Some(w) != removed {
                seen[w] = true;
                stack.push(w);
            }
        }
    }
    seen
}

struct Reference {
    /// Reachable from the root over essential edges.
    reach_essential: Vec<bool>,
    /// Reachable in the augmented graph (essential edges + root -> every node whose
    /// retainers are all non-essential).
    reach: Vec<bool>,
    /// Nodes given a root edge in the augmented graph.
    attached: Vec<bool>,
    /// Immediate dominator by definition, for reachable non-root nodes.
    idom: Vec<Option<u32>>,
}

fn reference(g: &HeapGraph, essential: &BitSet) -> Reference {
    let n = g.node_count();
    let root = g.root as usize;
    let mut succ: Vec<Vec<u32>> = vec![Vec::new(); n];
    let mut has_essential_retainer = vec![false; n];
    for v in 0..n as u32 {
        for e in g.edges(v) {
            if essential.get(e) {
                let to = g.edge_to[e as usize];
                succ[v as usize].push(to);
                has_essential_retainer[to as usize] = true;
            }
        }
    }
    let reach_essential = reach_from(root, &succ, None);
    let mut attached = vec![false; n];
    for v in 0..n {
        if v != root && !reach_essential[v] && !has_essential_retainer[v] {
            attached[v] = true;
            succ[root].push(v as u32);
        }
    }
    let reach = reach_from(root, &succ, None);
    // dominators[v][d]: d dominates v.
    let mut dominators = vec![vec![false; n]; n];
    for v in 0..n {
        if reach[v] {
            dominators[v][root] = true;
        }
    }
    for d in 0..n {
        if d == root || !reach[d] {
            continue;
        }
        let without = reach_from(root, &succ, Some(d));
        for v in 0..n {
            if reach[v] && !without[v] {
                dominators[v][d] = true;
            }
        }
    }
    let depth: Vec<usize> = dominators
        .iter()
        .map(|row| row.iter().filter(|&&b| b).count())
        .collect();
    let mut idom = vec![None; n];
    for v in 0..n {
        if v == root || !reach[v] {
            continue;
        }
        // The strict dominators form a chain; the closest one has the most dominators.
        idom[v] = (0..n)
            .filter(|&d| d != v && dominators[v][d])
            .max_by_key(|&d| depth[d])
            .map(|d| d as u32);
    }
    Reference {
        reach_essential,
        reach,
        attached,
        idom,
    }
}

// ---------------------------------------------------------------------------------------
// The checks.

#[derive(Default, Debug, Clone, Copy)]
struct Coverage {
    graphs: u32,
    nodes: u32,
    edges: u32,
    /// Graphs where some node hangs under the root only via the "all retainers
    /// non-essential" rule.
    with_attached: u32,
    /// Graphs with nodes unreachable even in the augmented graph (leftover cycles).
    with_leftover: u32,
    /// Graphs where a leftover node has an essential edge into a reachable node.
    with_leftover_into_reachable: u32,
    /// Nodes whose idom is neither the root nor their DFS-tree parent candidate root.
    deep_idoms: u32,
    hits: RuleHits,
}

/// Runs the implementation on `g` and compares it with the reference.
fn check_graph(g: &HeapGraph, cov: &mut Coverage) -> Result<(), String> {
    let n = g.node_count();
    let root = g.root;
    let eph = Ephemerons::build(g);
    let essential = edges::essential_edges(g, &eph);
    let dom: Dominators = dominators::compute(g, Preds::essential(g, &essential), &essential);
    let r = reference(g, &essential);

    // Shape.
    if dom.idom.len() != n {
        return Err(format!("idom has {} entries for {n} nodes", dom.idom.len()));
    }
    if dom.idom[root as usize] != root {
        return Err(format!("root's idom is {}", dom.idom[root as usize]));
    }
    for (v, &d) in dom.idom.iter().enumerate() {
        if d as usize >= n {
            return Err(format!("idom[{v}] = {d} is not a node"));
        }
    }
    for v in 0..n {
        let mut x = v as u32;
        let mut steps = 0;
        while x != root {
            x = dom.idom[x as usize];
            steps += 1;
            if steps > n {
                return Err(format!(
                    "idom chain from {v} loops without reaching the root"
                ));
            }
        }
    }

    // Order: a permutation starting with the root, each idom before its node.
    if dom.order.len() != n {
        return Err(format!(
            "order has {} entries for {n} nodes: {:?}",
            dom.order.len(),
            dom.order
        ));
    }
    if dom.order.first() != Some(&root) {
        return Err(format!(
            "order does not start with the root: {:?}",
            dom.order
        ));
    }
    let mut pos = vec![usize::MAX; n];
    for (i, &v) in dom.order.iter().enumerate() {
        if v as usize >= n || pos[v as usize] != usize::MAX {
            return Err(format!("order is not a permutation: {:?}", dom.order));
        }
        pos[v as usize] = i;
    }
    for v in 0..n {
        if v as u32 != root && pos[dom.idom[v] as usize] >= pos[v] {
            return Err(format!(
                "idom[{v}] = {} comes after {v} in order {:?}",
                dom.idom[v], dom.order
            ));
        }
    }

    // Unreachable count.
    let reached = r.reach_essential.iter().filter(|&&b| b).count();
    if dom.unreachable as usize != n - reached {
        return Err(format!(
            "unreachable = {}, expected {} (nodes not reachable over essential edges)",
            dom.unreachable,
            n - reached
        ));
    }

    // Immediate dominators against the definition.
    for v in 0..n {
        if v as u32 == root || !r.reach[v] {
            continue;
        }
        let expected = r.idom[v].expect("reachable node has a strict dominator");
        if dom.idom[v] != expected {
            return Err(format!(
                "idom[{v}] = {}, expected {expected} (by definition on the augmented graph)",
                dom.idom[v]
            ));
        }
    }

    // Leftover cycles hang directly from the root: DevTools' Lengauer-Tarjan never empties
    // their buckets, so their dominator resolves to the root.
    for v in 0..n {
        if v as u32 != root && !r.reach[v] && dom.idom[v] != root {
            return Err(format!(
                "idom[{v}] = {}, expected the root {root} (a cycle nothing holds)",
                dom.idom[v]
            ));
        }
    }

    // Retained sizes against the idom array, with random shallow sizes.
    let shallow: Vec<u32> = g.node_self_size.clone();
    let retained = dominators::retained_sizes(&dom, &shallow);
    let mut naive = vec![0u64; n];
    for (v, &size) in shallow.iter().enumerate() {
        let mut x = v as u32;
        loop {
            naive[x as usize] += size as u64;
            if x == root {
                break;
            }
            x = dom.idom[x as usize];
        }
    }
    for v in 0..n {
        if retained[v] != naive[v] {
            return Err(format!(
                "retained[{v}] = {}, expected {} (sum over its dominator subtree); reachable: {}",
                retained[v], naive[v], r.reach[v]
            ));
        }
    }
    let total: u64 = shallow.iter().map(|&s| s as u64).sum();
    if retained[root as usize] != total {
        return Err(format!(
            "root retains {}, expected the sum of all shallow sizes {total}",
            retained[root as usize]
        ));
    }

    // Coverage bookkeeping.
    cov.graphs += 1;
    cov.nodes += n as u32;
    cov.edges += g.edge_count() as u32;
    if r.attached.iter().any(|&b| b) {
        cov.with_attached += 1;
    }
    if r.reach.iter().any(|&b| !b) {
        cov.with_leftover += 1;
        let into_reachable = (0..n as u32).any(|v| {
            !r.reach[v as usize]
                && g.edges(v)
                    .any(|e| essential.get(e) && r.reach[g.edge_to[e as usize] as usize])
        });
        if into_reachable {
            cov.with_leftover_into_reachable += 1;
        }
    }
    cov.deep_idoms += (0..n)
        .filter(|&v| r.reach[v] && dom.idom[v] != root)
        .count() as u32;
    Ok(())
}

/// Also compares `essential_edges` with the re-derivation from the spec.
fn check_spec(spec: &Spec, cov: &mut Coverage) -> Result<(), String> {
    let g = build(spec);
    let eph = Ephemerons::build(&g);
    let essential = edges::essential_edges(&g, &eph);
    let expected = naive_essential(spec, &mut cov.hits);
    for (e, &want) in expected.iter().enumerate() {
        if essential.get(e as u32) != want {
            let src = (0..g.node_count() as u32)
                .find(|&v| g.edges(v).contains(&(e as u32)))
                .unwrap();
            return Err(format!(
                "edge {e} ({} {:?} from {src} to {}) essential = {}, expected {want}",
                g.edge_type_name(e as u32),
                g.edge_name(e as u32),
                g.edge_to[e],
                !want
            ));
        }
    }
    check_graph(&g, cov)
}

/// Greedily removes nodes and edges while the failure persists.
/// `check_spec`, with a panic inside the code under test turned into an error.
fn guarded_check(spec: &Spec, cov: &mut Coverage) -> Result<(), String> {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check_spec(spec, cov)));
    result.unwrap_or_else(|payload| {
        let text = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(format!("panicked: {text}"))
    })
}

fn shrink(spec: &Spec) -> (Spec, String) {
    let fails = |s: &Spec| guarded_check(s, &mut Coverage::default()).err();
    let mut cur = spec.clone();
    let mut msg = fails(&cur).expect("spec fails");
    loop {
        let mut progress = false;
        let mut k = cur.nodes.len() as u32;
        while k > 1 {
            k -= 1;
            if k as usize >= cur.nodes.len() {
                continue;
            }
            let cand = cur.without_node(k);
            if let Some(m) = fails(&cand) {
                cur = cand;
                msg = m;
                progress = true;
            }
        }
        for node in (0..cur.nodes.len()).rev() {
            let mut e = cur.nodes[node].edges.len();
            while e > 0 {
                e -= 1;
                let cand = cur.without_edge(node, e);
                if let Some(m) = fails(&cand) {
                    cur = cand;
                    msg = m;
                    progress = true;
                }
            }
        }
        if !progress {
            return (cur, msg);
        }
    }
}

fn assert_spec(spec: &Spec, what: &str) -> HeapGraph {
    if let Err(msg) = check_spec(spec, &mut Coverage::default()) {
        panic!("{what}: {msg}\ngraph:\n{}", spec.dump());
    }
    build(spec)
}

// ---------------------------------------------------------------------------------------
// Random graphs.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    Root,
    Global,
    Synth,
    Normal,
    /// Nothing points at it (except maybe itself).
    Orphan,
    /// Only weak edges point at it.
    WeakOnly,
    /// Member of a clique that only its own members point at.
    Clique(u32),
}

const OTHER_TYPES: &[&str] = &[
    "object", "object", "object", "closure", "array", "hidden", "string", "code", "native",
    "number",
];
const OBJECT_NAMES: &[&str] = &["Object", "Foo", "Array", "Map", "system / Context", "f", ""];

fn random_spec(seed: u64) -> Spec {
    let mut r = Rng::new(seed);
    // Mostly 1-60 nodes (small ones often); a few larger graphs give path compression
    // longer ancestor chains.
    let n = if r.chance(2) {
        61 + r.below(140)
    } else if r.chance(40) {
        1 + r.below(12)
    } else {
        1 + r.below(60)
    };
    let mut spec = Spec::new();
    spec.share_strings = r.chance(75);
    spec.nodes[0].name = r.pick(&["", "(root)"]).to_string();
    // Distinct odd ids.
    let id_base = r.below(500) as u32;
    let id_stride = 1 + r.below(3) as u32;
    spec.nodes[0].id = 2 * id_base + 1;
    let mut roles = vec![Role::Root];
    let mut add = |spec: &mut Spec, r: &mut Rng, ty: &'static str, name: &str, role: Role| {
        let i = spec.nodes.len() as u32;
        let size = if r.chance(15) {
            0
        } else {
            r.below(2000) as u32
        };
        spec.node_with_id(ty, name, 2 * (id_base + i * id_stride) + 1, size);
        roles.push(role);
    };
    let globals = r.below(3).min(n - 1);
    for _ in 0..globals {
        let name = *r.pick(&["global", "Window / https://example.com", "Window"]);
        add(&mut spec, &mut r, "object", name, Role::Global);
    }
    let synths = r.below(4).min(n - 1 - globals);
    for _ in 0..synths {
        let name = *r.pick(&[
            "(GC roots)",
            "(Internalized strings)",
            "(Document DOM trees)",
            "(Strong roots)",
        ]);
        add(&mut spec, &mut r, "synthetic", name, Role::Synth);
    }
    let rest_start = spec.nodes.len();
    while spec.nodes.len() < n {
        let ty = *r.pick(OTHER_TYPES);
        let name = *r.pick(OBJECT_NAMES);
        let role = r.weighted(&[(80, Role::Normal), (8, Role::Orphan), (8, Role::WeakOnly)]);
        add(&mut spec, &mut r, ty, name, role);
    }
    // Cliques nothing outside holds.
    let mut cliques: Vec<Vec<u32>> = Vec::new();
    if n - rest_start >= 2 {
        for _ in 0..r.below(3) {
            let len = 2 + r.below(3);
            let start = rest_start + r.below(n - rest_start);
            let members: Vec<u32> = (start..(start + len).min(n))
                .filter(|&v| roles[v] == Role::Normal)
                .map(|v| v as u32)
                .collect();
            if members.len() >= 2 {
                for &m in &members {
                    roles[m as usize] = Role::Clique(cliques.len() as u32);
                }
                cliques.push(members);
            }
        }
    }

    // Whether `src -ty-> to` respects the roles; WeakOnly targets turn the edge weak.
    let allowed = |src: usize, to: usize, ty: &'static str| -> Option<&'static str> {
        match roles[to] {
            Role::Orphan => None,
            Role::WeakOnly => Some("weak"),
            Role::Clique(c) => (roles[src] == Role::Clique(c)).then_some(ty),
            Role::Root => (src != 0).then_some(ty),
            _ => Some(ty),
        }
    };
    let random_type = |r: &mut Rng| -> &'static str {
        r.weighted(&[
            (30, "property"),
            (15, "element"),
            (15, "internal"),
            (10, "context"),
            (12, "weak"),
            (8, "shortcut"),
            (5, "hidden"),
        ])
    };
    let random_target = |r: &mut Rng| -> usize {
        // Edges to the root are rare in real snapshots but legal.
        if r.chance(3) {
            0
        } else {
            r.below(n)
        }
    };

    // The root: shortcuts to the globals, elements to the synthetic nodes, a few extras.
    for (v, &role) in roles.iter().enumerate().take(rest_start).skip(1) {
        match role {
            Role::Global => {
                let name = spec.nodes[v].name.clone();
                spec.named_edge(0, "shortcut", &name, v as u32);
            }
            _ => spec.edge(0, "element", v as u32),
        }
    }
    if r.chance(30) {
        for _ in 0..1 + r.below(2) {
            let to = random_target(&mut r);
            let ty = *r.pick(&["element", "property", "weak", "shortcut"]);
            if to != 0 {
                if let Some(ty) = allowed(0, to, ty) {
                    spec.edge(0, ty, to as u32);
                }
            }
        }
    }
    // Everything else.
    let density = 1 + r.below(4);
    for (src, &role) in roles.iter().enumerate().skip(1) {
        let count = match role {
            Role::Synth => r.below(5),
            Role::Global => 1 + r.below(4),
            _ => r.below(density + 1),
        };
        for _ in 0..count {
            let to = random_target(&mut r);
            let ty = if role == Role::Synth {
                *r.pick(&["element", "hidden", "property", "weak"])
            } else {
                random_type(&mut r)
            };
            if let Some(ty) = allowed(src, to, ty) {
                spec.edge(src as u32, ty, to as u32);
            }
        }
    }
    for members in &cliques {
        for (i, &a) in members.iter().enumerate() {
            // A ring keeps each clique a cycle; extra chords make it denser.
            let b = members[(i + 1) % members.len()];
            let ty = *r.pick(&["property", "internal", "context", "element"]);
            spec.edge(a, ty, b);
            for &c in members {
                if c != a && c != b && r.chance(50) {
                    spec.edge(a, random_type(&mut r), c);
                }
            }
        }
    }
    // Self edges and duplicate edges between the same pair.
    for src in 0..n {
        if r.chance(6) {
            let ty = random_type(&mut r);
            spec.edge(src as u32, ty, src as u32);
        }
        let len = spec.nodes[src].edges.len();
        if len > 0 && r.chance(12) {
            let mut dup = spec.nodes[src].edges[r.below(len)].clone();
            if r.chance(50) && dup.ty != "weak" {
                dup.ty = *r.pick(&["property", "internal", "weak"]);
                dup.name = Name::Str("dup".into());
            }
            spec.nodes[src].edges.push(dup);
        }
    }
    // WeakMap ephemerons: the table's and the key's internal edges to the value.
    if n >= 2 && r.chance(35) {
        for k in 0..1 + r.below(2) {
            let table = 1 + r.below(n - 1);
            let key = 1 + r.below(n - 1);
            let value = 1 + r.below(n - 1);
            if roles[value] != Role::Normal {
                continue;
            }
            let table_id = if r.chance(80) {
                spec.nodes[table].id
            } else if r.chance(50) {
                spec.nodes[key].id
            } else {
                2 * r.below(10_000) as u32 + 1
            };
            let suffix = format!(
                " / part of key ({} @{}) -> value ({} @{}) pair in WeakMap (table @{table_id})",
                spec.nodes[key].name,
                spec.nodes[key].id,
                spec.nodes[value].name,
                spec.nodes[value].id
            );
            let first = 2 * k + r.below(3);
            let second = if r.chance(50) { first } else { first + 1 };
            for (src, num) in [(table, first), (key, second)] {
                let name = if r.chance(8) {
                    // A near miss that is no ephemeron name.
                    format!("x{num}{suffix}")
                } else {
                    format!("{num}{suffix}")
                };
                let edges = &mut spec.nodes[src].edges;
                let at = r.below(edges.len() + 1);
                let ty = if r.chance(90) { "internal" } else { "property" };
                edges.insert(
                    at,
                    EdgeSpec {
                        ty,
                        name: Name::Str(name),
                        to: value as u32,
                    },
                );
            }
        }
    }
    // Shuffle each node's edge order a little: DFS order depends on it.
    for node in &mut spec.nodes {
        let len = node.edges.len();
        if len > 1 && r.chance(30) {
            for i in (1..len).rev() {
                let j = r.below(i + 1);
                node.edges.swap(i, j);
            }
        }
    }
    spec
}

fn run_seed(seed: u64, cov: &mut Coverage) {
    let spec = random_spec(seed);
    if let Err(first) = guarded_check(&spec, cov) {
        // Quiet the panics of the many shrinking attempts.
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let (small, msg) = shrink(&spec);
        std::panic::set_hook(hook);
        panic!(
            "random graph with seed {seed:#x} fails ({} nodes, {} edges): {first}\n\
             reproduce with PROP_SEED={seed:#x}\n\
             shrunk to {} nodes / {} edges: {msg}\n{}",
            spec.nodes.len(),
            spec.edge_count(),
            small.nodes.len(),
            small.edge_count(),
            small.dump()
        );
    }
}

fn parse_seed(s: &str) -> u64 {
    let s = s.trim();
    match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).expect("hex seed"),
        None => s.parse().expect("decimal seed"),
    }
}

#[test]
fn random_graphs_match_naive_dominators() {
    if let Ok(seed) = std::env::var("PROP_SEED") {
        run_seed(parse_seed(&seed), &mut Coverage::default());
        return;
    }
    // PROP_CASES=<n> runs more (or fewer) graphs than the default; the coverage floors below
    // are calibrated for the default count.
    let cases = std::env::var("PROP_CASES")
        .map(|s| parse_seed(&s))
        .unwrap_or(RANDOM_CASES);
    let mut cov = Coverage::default();
    for i in 0..cases {
        run_seed(BASE_SEED.wrapping_add(i), &mut cov);
    }
    eprintln!("coverage over {cases} random graphs: {cov:#?}");
    assert_eq!(cov.graphs as u64, cases);
    if cases < RANDOM_CASES {
        return;
    }
    // The generator must actually exercise the interesting shapes.
    assert!(cov.with_attached > 300, "{cov:?}");
    assert!(cov.with_leftover > 100, "{cov:?}");
    assert!(cov.with_leftover_into_reachable > 20, "{cov:?}");
    assert!(cov.deep_idoms > 1000, "{cov:?}");
    assert!(cov.hits.weak > 1000, "{cov:?}");
    assert!(cov.hits.self_edge > 100, "{cov:?}");
    assert!(cov.hits.shortcut > 500, "{cov:?}");
    assert!(cov.hits.weakmap_table > 100, "{cov:?}");
    assert!(cov.hits.page_boundary > 100, "{cov:?}");
}

/// The full pipeline agrees with `compute` and keeps every byte under the root.
#[test]
fn analysis_new_agrees_on_random_graphs() {
    for i in 0..300 {
        let seed = BASE_SEED.wrapping_add(1_000_000 + i);
        let g = build(&random_spec(seed));
        let a = Analysis::new(&g, &mut |_| {});
        let eph = Ephemerons::build(&g);
        let essential = edges::essential_edges(&g, &eph);
        let dom = dominators::compute(&g, Preds::essential(&g, &essential), &essential);
        assert_eq!(a.dominator, dom.idom, "seed {seed:#x}");
        assert_eq!(a.unreachable, dom.unreachable, "seed {seed:#x}");
        let total: u64 = a.shallow.iter().map(|&s| s as u64).sum();
        assert_eq!(a.retained[g.root as usize], total, "seed {seed:#x}");
        assert_eq!(
            a.retained,
            dominators::retained_sizes(&dom, &a.shallow),
            "seed {seed:#x}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Hand-made cases.

fn dominators_of(g: &HeapGraph) -> (Dominators, BitSet) {
    let eph = Ephemerons::build(g);
    let essential = edges::essential_edges(g, &eph);
    (
        dominators::compute(g, Preds::essential(g, &essential), &essential),
        essential,
    )
}

fn retained_of(g: &HeapGraph) -> Vec<u64> {
    let (dom, _) = dominators_of(g);
    dominators::retained_sizes(&dom, &g.node_self_size)
}

#[test]
fn single_root() {
    let spec = Spec::new();
    let g = assert_spec(&spec, "single root");
    let (dom, _) = dominators_of(&g);
    assert_eq!(dom.idom, vec![0]);
    assert_eq!(dom.order, vec![0]);
    assert_eq!(dom.unreachable, 0);
}

#[test]
fn diamond() {
    let mut s = Spec::new();
    let global = s.node("object", "global", 10);
    let a = s.node("object", "A", 20);
    let b = s.node("object", "B", 30);
    let c = s.node("object", "C", 40);
    let d = s.node("object", "D", 50);
    s.named_edge(0, "shortcut", "global", global);
    s.edge(global, "property", a);
    s.edge(global, "property", b);
    s.edge(a, "property", c);
    s.edge(b, "element", c);
    s.edge(c, "property", d);
    let g = assert_spec(&s, "diamond");
    let (dom, _) = dominators_of(&g);
    assert_eq!(dom.idom, vec![0, 0, global, global, global, c]);
    let retained = retained_of(&g);
    assert_eq!(retained[c as usize], 90);
    assert_eq!(retained[a as usize], 20);
    assert_eq!(retained[global as usize], 150);
    assert_eq!(retained[0], 150);
}

#[test]
fn chain() {
    let mut s = Spec::new();
    let mut prev = 0;
    for i in 0..6 {
        let v = s.node("object", &format!("N{i}"), 1 << i);
        if prev == 0 {
            s.named_edge(0, "shortcut", "global", v);
        } else {
            s.edge(prev, "property", v);
        }
        prev = v;
    }
    let g = assert_spec(&s, "chain");
    let (dom, _) = dominators_of(&g);
    assert_eq!(dom.idom, vec![0, 0, 1, 2, 3, 4, 5]);
    assert_eq!(dom.order, vec![0, 1, 2, 3, 4, 5, 6]);
    assert_eq!(retained_of(&g), vec![63, 63, 62, 60, 56, 48, 32]);
}

#[test]
fn weak_only_node_hangs_under_root() {
    let mut s = Spec::new();
    let global = s.node("object", "global", 1);
    let w = s.node("object", "WeakTarget", 2);
    let x = s.node("array", "", 4);
    s.named_edge(0, "shortcut", "global", global);
    s.edge(global, "weak", w);
    s.edge(w, "internal", x);
    let g = assert_spec(&s, "weak only");
    let (dom, essential) = dominators_of(&g);
    assert!(!essential.get(1), "weak edge must not count");
    assert_eq!(dom.idom[w as usize], 0);
    assert_eq!(dom.idom[x as usize], w);
    assert_eq!(dom.unreachable, 2);
    let retained = retained_of(&g);
    assert_eq!(retained[global as usize], 1);
    assert_eq!(retained[w as usize], 6);
    assert_eq!(retained[0], 7);
}

#[test]
fn two_cycle_held_by_nothing() {
    let mut s = Spec::new();
    let global = s.node("object", "global", 1);
    let a = s.node("object", "A", 10);
    let b = s.node("object", "B", 100);
    let c = s.node("object", "C", 1000);
    s.named_edge(0, "shortcut", "global", global);
    s.edge(a, "property", b);
    s.edge(b, "property", a);
    // The cycle also points at something the global holds: that must not change its idom.
    s.edge(a, "property", c);
    s.edge(global, "property", c);
    let g = assert_spec(&s, "2-cycle");
    let (dom, _) = dominators_of(&g);
    assert_eq!(dom.idom[a as usize], 0);
    assert_eq!(dom.idom[b as usize], 0);
    assert_eq!(dom.idom[c as usize], global);
    assert_eq!(dom.unreachable, 2);
    let retained = retained_of(&g);
    assert_eq!(retained[a as usize], 10);
    assert_eq!(retained[b as usize], 100);
    assert_eq!(retained[global as usize], 1001);
    assert_eq!(retained[0], 1111);
}

#[test]
fn self_edge_only_node_hangs_under_root() {
    let mut s = Spec::new();
    let a = s.node("object", "A", 5);
    let b = s.node("object", "B", 7);
    s.edge(a, "property", a);
    s.edge(a, "property", b);
    let g = assert_spec(&s, "self edge");
    let (dom, essential) = dominators_of(&g);
    assert!(!essential.get(0));
    assert!(essential.get(1));
    assert_eq!(dom.idom, vec![0, 0, a]);
    assert_eq!(retained_of(&g), vec![12, 12, 7]);
}

/// V8 writes a WeakMap entry as two internal edges to the value, from the table and from the
/// key; only the key's keeps the value alive. With `page` the root reaches the holder through
/// a shortcut (a Node/browser global, so page-owned); otherwise through an element edge.
fn weakmap_spec(table_in_name: u32, key_held_weakly: bool, page: bool) -> (Spec, [u32; 4]) {
    let mut s = Spec::new();
    let global = s.node_with_id("object", "global", 9, 1);
    let key = s.node_with_id("object", "Key", 3, 10);
    let value = s.node_with_id("object", "Val", 5, 100);
    let table = s.node_with_id("array", "", 7, 1000);
    if page {
        s.named_edge(0, "shortcut", "global", global);
    } else {
        s.edge(0, "element", global);
    }
    s.named_edge(global, "property", "map", table);
    if key_held_weakly {
        s.named_edge(global, "weak", "key", key);
    } else {
        s.named_edge(global, "property", "key", key);
    }
    let name = format!(
        "1 / part of key (Key @3) -> value (Val @5) pair in WeakMap (table @{table_in_name})"
    );
    s.named_edge(table, "internal", &name, value);
    s.named_edge(key, "internal", &name, value);
    (s, [global, key, value, table])
}

#[test]
fn weakmap_table_edge_does_not_retain() {
    for page in [true, false] {
        let (s, [global, key, value, table]) = weakmap_spec(7, false, page);
        let g = assert_spec(&s, "weakmap");
        let (dom, essential) = dominators_of(&g);
        let table_edge = g.edges(table).start;
        let key_edge = g.edges(key).start;
        assert!(
            !essential.get(table_edge),
            "the table's edge must not count"
        );
        assert!(essential.get(key_edge), "the key's edge must count");
        assert_eq!(dom.idom[value as usize], key);
        assert_eq!(dom.idom[key as usize], global);
        assert_eq!(dom.idom[table as usize], global);
        assert_eq!(dom.unreachable, 0);
        let retained = retained_of(&g);
        assert_eq!(retained[key as usize], 110);
        assert_eq!(retained[table as usize], 1000);
        assert_eq!(retained[global as usize], 1111);
    }
}

#[test]
fn weakmap_with_weakly_held_key() {
    // Nothing page-owned: the key hangs under the root (only a weak edge holds it) and its
    // edge still holds the value.
    let (s, [_global, key, value, _table]) = weakmap_spec(7, true, false);
    let g = assert_spec(&s, "weakmap, weak key");
    let (dom, essential) = dominators_of(&g);
    assert!(essential.get(g.edges(key).start));
    assert_eq!(dom.idom[key as usize], 0);
    assert_eq!(dom.idom[value as usize], key);
    assert_eq!(dom.unreachable, 2);
    assert_eq!(retained_of(&g)[key as usize], 110);

    // Page-owned global: the table's edge (non-weak) makes the value page-owned while the
    // weakly held key is not, so the key's edge crosses into the page and does not count
    // either. The value then has no essential retainer and hangs under the root itself.
    let (s, [_global, key, value, _table]) = weakmap_spec(7, true, true);
    let g = assert_spec(&s, "weakmap, weak key, page-owned");
    let (dom, essential) = dominators_of(&g);
    assert!(!essential.get(g.edges(key).start));
    assert_eq!(dom.idom[key as usize], 0);
    assert_eq!(dom.idom[value as usize], 0);
    assert_eq!(dom.unreachable, 2);
}

#[test]
fn weakmap_name_of_another_table_counts() {
    // The name says table @11, not this node: it is an ordinary internal edge.
    let (s, [global, key, value, table]) = weakmap_spec(11, false, true);
    let g = assert_spec(&s, "weakmap, other table");
    let (dom, essential) = dominators_of(&g);
    assert!(essential.get(g.edges(table).start));
    assert_eq!(dom.idom[value as usize], global);
    assert_eq!(dom.idom[key as usize], global);
}

#[test]
fn edge_from_vm_owned_to_page_owned_does_not_retain() {
    let mut s = Spec::new();
    let global = s.node("object", "global", 1);
    let roots = s.node("synthetic", "(GC roots)", 0);
    let vm = s.node("object", "VmThing", 10);
    let page = s.node("object", "PageThing", 100);
    let other = s.node("object", "Other", 1000);
    s.named_edge(0, "shortcut", "global", global);
    s.edge(0, "element", roots);
    s.edge(roots, "element", vm);
    s.edge(vm, "property", page);
    s.edge(global, "property", other);
    s.edge(other, "property", page);
    // A non-root shortcut never counts.
    s.edge(vm, "shortcut", other);
    let g = assert_spec(&s, "page boundary");
    let (dom, essential) = dominators_of(&g);
    assert!(!essential.get(g.edges(vm).start));
    assert!(!essential.get(g.edges(vm).start + 1));
    assert_eq!(dom.idom[page as usize], other);
    assert_eq!(dom.idom[vm as usize], roots);
    assert_eq!(retained_of(&g)[global as usize], 1101);
}

#[test]
fn document_dom_trees_are_page_owned() {
    let mut s = Spec::new();
    let dom_trees = s.node("synthetic", "(Document DOM trees)", 0);
    let roots = s.node("synthetic", "(GC roots)", 0);
    let doc = s.node("native", "HTMLDocument", 10);
    let vm = s.node("object", "VmThing", 100);
    s.edge(0, "element", dom_trees);
    s.edge(0, "element", roots);
    s.edge(dom_trees, "element", doc);
    s.edge(roots, "element", vm);
    s.edge(vm, "property", doc);
    let g = assert_spec(&s, "DOM trees");
    let (dom, essential) = dominators_of(&g);
    assert!(!essential.get(g.edges(vm).start));
    assert_eq!(dom.idom[doc as usize], dom_trees);
}

#[test]
fn parallel_edges_and_cross_links() {
    // Two edges global -> a and a late cross edge b -> d: d's idom is the global.
    let mut s = Spec::new();
    let global = s.node("object", "global", 1);
    let a = s.node("object", "A", 1);
    let b = s.node("object", "B", 1);
    let c = s.node("object", "C", 1);
    let d = s.node("object", "D", 1);
    s.named_edge(0, "shortcut", "global", global);
    s.edge(global, "property", a);
    s.edge(global, "element", a);
    s.edge(a, "property", c);
    s.edge(c, "property", d);
    s.edge(global, "property", b);
    s.edge(b, "property", d);
    let g = assert_spec(&s, "parallel edges");
    let (dom, _) = dominators_of(&g);
    assert_eq!(dom.idom, vec![0, 0, global, global, a, global]);
}
