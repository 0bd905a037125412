//! What the HTML report shows, section by section; every section is optional, so each
//! command fills in what it has (`watch`: series and verdict; `gate`: verdict and suspects).
//! Built directly, or from the JSON documents heaphound writes (`report.json`,
//! `suspects --json`, `memory.jsonl`), so old run folders still render.

use serde_json::Value;

use heaphound_model::profile::AllocationSites;
use serde::Deserialize;

#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The page's heading: "heaphound hunt: node server.js".
    pub title: String,
    /// Lines under the heading: ("load", "GET http://… 2,333 requests"), ("run", "/tmp/run").
    pub facts: Vec<(String, String)>,
    pub verdict: Option<Verdict>,
    pub snapshots: Vec<SnapshotRow>,
    /// `None`: not computed; `Some(empty)`: computed, nothing suspicious.
    pub suspects: Option<Vec<Suspect>>,
    pub memory: Option<MemorySeries>,
    /// The Theil–Sen line `(slope per ms, intercept)` through the post-GC floor of
    /// `memory` (`chart::floor_points`), fitted by whoever writes the page; no trend line
    /// without it.
    pub memory_trend: Option<(f64, f64)>,
    pub classes: Option<ClassTable>,
    pub dominators: Option<DomNode>,
    pub allocations: Option<AllocationSites>,
    /// Set by `redact::apply`; the page says so.
    pub redacted: bool,
}

#[derive(Debug, Clone)]
pub struct Verdict {
    /// `leak`, `no-leak` or `inconclusive` (as in the JSON documents).
    pub verdict: String,
    pub reason: String,
    pub leaked_objects: Option<u64>,
    pub leaked_bytes: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct SnapshotRow {
    pub file: String,
    pub node_count: Option<u64>,
    pub total_size: Option<u64>,
}

/// One object as the JSON documents describe it; `kind` is V8's node type (`string`,
/// `object`, `closure`, …), which decides what redaction hides.
#[derive(Debug, Clone, Default)]
pub struct Object {
    pub id: Option<u64>,
    pub kind: String,
    pub class: String,
    pub name: String,
    pub retained_size: Option<u64>,
    pub self_size: Option<u64>,
}

#[derive(Debug, Clone)]
pub enum ChainItem {
    /// An object, reached through `edge` (`None` for the first, held by a root).
    Object {
        edge: Option<String>,
        object: Object,
    },
    /// "the 2 reference(s) above repeat 40 times in all".
    Repeat { references: u64, times: u64 },
}

#[derive(Debug, Clone)]
pub struct SourceLink {
    pub file: String,
    pub line: Option<u64>,
    pub column: Option<u64>,
    /// `constructor`, `closure`, `allocation`, …
    pub kind: String,
    pub function: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Suspect {
    pub rank: u64,
    pub shape: String,
    pub title: String,
    pub class: String,
    pub steady: bool,
    pub holder: String,
    pub counts: Vec<Option<u64>>,
    pub retained_sizes: Vec<Option<u64>>,
    pub retained_growth: i64,
    pub chain: Vec<ChainItem>,
    pub locations: Vec<SourceLink>,
    pub allocation_stack: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    pub t_ms: f64,
    pub rss: Option<u64>,
    pub heap_used: Option<u64>,
    pub heap_total: Option<u64>,
    pub external: Option<u64>,
    /// The post-GC sample taken just before snapshot k.
    pub snapshot: Option<u32>,
}

#[derive(Debug, Clone, Default)]
pub struct MemorySeries {
    pub samples: Vec<Sample>,
}

#[derive(Debug, Clone)]
pub struct ClassRow {
    pub name: String,
    pub new_count: i64,
    pub deleted_count: i64,
    pub count_delta: i64,
    pub size_delta: i64,
    pub count_after: i64,
    pub retained_before: i64,
    pub retained_after: i64,
    pub retained_delta: i64,
    pub location: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ClassTable {
    pub before: String,
    pub after: String,
    /// Classes in the whole comparison (`rows` is the top of it).
    pub class_count: u64,
    pub rows: Vec<ClassRow>,
}

#[derive(Debug, Clone, Default)]
pub struct DomNode {
    pub object: Object,
    pub more_children: u64,
    pub children: Vec<DomNode>,
    /// The whole heap, on the root only (for percentages).
    pub total_size: Option<u64>,
}

fn u(v: &Value) -> Option<u64> {
    v.as_u64()
}

fn i(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn opt_list(v: &Value) -> Vec<Option<u64>> {
    v.as_array()
        .map(|a| a.iter().map(u).collect())
        .unwrap_or_default()
}

impl Object {
    pub fn from_json(v: &Value) -> Object {
        Object {
            id: u(&v["id"]),
            kind: s(&v["type"]),
            class: s(&v["class"]),
            name: s(&v["name"]),
            retained_size: u(&v["retained_size"]),
            self_size: u(&v["self_size"]),
        }
    }

    /// A line of the text retainer path (`Class "name" @id`), for documents written before
    /// `retainer_chain` existed.
    fn from_label(label: &str) -> Object {
        let (rest, id) = match label.rsplit_once(" @") {
            Some((r, id)) if id.chars().all(|c| c.is_ascii_digit()) => (r, id.parse().ok()),
            _ => (label, None),
        };
        let (class, name) = match rest.find(" \"") {
            Some(k) if rest.ends_with('"') && k + 3 <= rest.len() => {
                (&rest[..k], rest[k + 2..rest.len() - 1].to_string())
            }
            _ => (rest, String::new()),
        };
        let kind = match class {
            "(string)" => "string",
            "(concatenated string)" => "concatenated string",
            "(sliced string)" => "sliced string",
            _ => "",
        };
        Object {
            id,
            kind: kind.into(),
            class: class.into(),
            name,
            ..Object::default()
        }
    }
}

fn chain_of(v: &Value) -> Vec<ChainItem> {
    if let Some(items) = v["retainer_chain"].as_array().filter(|a| !a.is_empty()) {
        return items
            .iter()
            .map(|it| match it.get("repeat") {
                Some(r) => ChainItem::Repeat {
                    references: u(&r["references"]).unwrap_or(1),
                    times: u(&r["times"]).unwrap_or(0),
                },
                None => ChainItem::Object {
                    edge: it["edge"].as_str().map(String::from),
                    object: Object::from_json(&it["object"]),
                },
            })
            .collect();
    }
    let lines = v["retainer_path"].as_array().cloned().unwrap_or_default();
    lines
        .iter()
        .filter_map(Value::as_str)
        .enumerate()
        .map(|(k, line)| {
            if line.starts_with('…') {
                let nums: Vec<u64> = line
                    .split(|c: char| !c.is_ascii_digit())
                    .filter_map(|t| t.parse().ok())
                    .collect();
                return ChainItem::Repeat {
                    references: nums.first().copied().unwrap_or(1),
                    times: nums.get(1).copied().unwrap_or(0),
                };
            }
            match line.split_once(" → ") {
                Some((edge, obj)) if k > 0 => ChainItem::Object {
                    edge: Some(edge.to_string()),
                    object: Object::from_label(obj),
                },
                _ => ChainItem::Object {
                    edge: None,
                    object: Object::from_label(line),
                },
            }
        })
        .collect()
}

impl Suspect {
    pub fn from_json(v: &Value) -> Suspect {
        Suspect {
            rank: u(&v["rank"]).unwrap_or(0),
            shape: s(&v["shape"]),
            title: s(&v["title"]),
            class: s(&v["class"]),
            steady: v["steady"].as_bool().unwrap_or(false),
            holder: s(&v["holder"]["name"]),
            counts: opt_list(&v["counts"]),
            retained_sizes: opt_list(&v["retained_sizes"]),
            retained_growth: i(&v["retained_growth"]),
            chain: chain_of(v),
            locations: v["locations"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|l| SourceLink {
                            file: s(&l["file"]),
                            line: u(&l["line"]),
                            column: u(&l["column"]),
                            kind: s(&l["kind"]),
                            function: l["function"].as_str().map(String::from),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            allocation_stack: v["allocation_stack"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

impl MemorySeries {
    /// `memory.jsonl`: one sample per line; lines that are not samples are skipped (a run
    /// cut short may end in half a line).
    pub fn from_jsonl(text: &str) -> MemorySeries {
        let samples = heaphound_model::series::MemorySample::parse_jsonl(text)
            .into_iter()
            .map(|m| Sample {
                t_ms: m.t_ms as f64,
                rss: Some(m.rss),
                heap_used: m.heap_used,
                heap_total: m.heap_total,
                external: m.external,
                snapshot: m.snapshot,
            })
            .collect();
        MemorySeries { samples }
    }
}

impl ClassTable {
    /// A comparison as `diff --json` writes it (`report.json`'s `class_comparison`).
    pub fn from_json(v: &Value) -> Option<ClassTable> {
        let rows = v["classes"].as_array()?;
        Some(ClassTable {
            before: s(&v["before"]),
            after: s(&v["after"]),
            class_count: u(&v["class_count"]).unwrap_or(rows.len() as u64),
            rows: rows
                .iter()
                .map(|r| ClassRow {
                    name: s(&r["name"]),
                    new_count: i(&r["new_count"]),
                    deleted_count: i(&r["deleted_count"]),
                    count_delta: i(&r["count_delta"]),
                    size_delta: i(&r["size_delta"]),
                    count_after: i(&r["count_after"]),
                    retained_before: i(&r["retained_before"]),
                    retained_after: i(&r["retained_after"]),
                    retained_delta: i(&r["retained_delta"]),
                    location: r["location"].as_object().map(|l| {
                        let file = l.get("file").and_then(Value::as_str).unwrap_or("?");
                        let line = l.get("line").and_then(Value::as_u64).unwrap_or(0);
                        format!("{file}:{line}")
                    }),
                })
                .collect(),
        })
    }
}

impl DomNode {
    /// `report.json`'s `dominator_tree` (or `dominators --json`).
    pub fn from_json(doc: &Value) -> Option<DomNode> {
        let tree = doc.get("tree").filter(|t| t.is_object())?;
        // Explicit stack: the tree may be deep.
        fn shallow(v: &Value) -> DomNode {
            DomNode {
                object: Object::from_json(v),
                more_children: u(&v["more_children"]).unwrap_or(0),
                children: Vec::new(),
                total_size: None,
            }
        }
        let mut root = shallow(tree);
        root.total_size = u(&doc["total_size"]);
        let mut stack: Vec<(Vec<usize>, &Value)> = vec![(Vec::new(), tree)];
        while let Some((path, v)) = stack.pop() {
            let Some(kids) = v["children"].as_array() else {
                continue;
            };
            let mut at = &mut root;
            for &k in &path {
                at = &mut at.children[k];
            }
            for (k, c) in kids.iter().enumerate() {
                at.children.push(shallow(c));
                let mut p = path.clone();
                p.push(k);
                stack.push((p, c));
            }
        }
        Some(root)
    }
}

impl Report {
    /// A `suspects --json` document, or `report.json` (which adds `program`, `load`,
    /// `class_comparison`, `dominator_tree`); keys it lacks leave their section empty.
    pub fn from_json(doc: &Value) -> Report {
        let mut r = Report {
            title: "heaphound report".into(),
            ..Report::default()
        };
        if let Some(v) = doc["verdict"].as_str() {
            r.verdict = Some(Verdict {
                verdict: v.to_string(),
                reason: s(&doc["reason"]),
                leaked_objects: u(&doc["leaked_objects"]),
                leaked_bytes: u(&doc["leaked_bytes"]),
            });
        }
        if let Some(list) = doc["suspects"].as_array() {
            r.suspects = Some(list.iter().map(Suspect::from_json).collect());
        }
        if let Some(list) = doc["snapshots"].as_array() {
            r.snapshots = list
                .iter()
                .map(|x| SnapshotRow {
                    file: s(&x["file"]),
                    node_count: u(&x["node_count"]),
                    total_size: u(&x["total_size"]),
                })
                .collect();
        }
        let p = &doc["program"];
        if let Some(cmd) = p["command"].as_str() {
            r.title = format!("heaphound: {cmd}");
            let mut what = format!("PID {}", p["pid"]);
            if let Some(e) = p["ended"].as_str() {
                what.push_str(&format!(", {e}"));
            }
            r.facts.push(("program".into(), format!("{cmd} ({what})")));
        }
        use heaphound_model::load::LoadDoc;
        match serde_json::from_value::<LoadDoc>(doc["load"].clone()) {
            Ok(LoadDoc::Http(h)) => r.facts.push((
                "load".into(),
                format!(
                    "{} {}, {} connections, {} requests ({} errors)",
                    h.method, h.url, h.connections, h.requests, h.errors
                ),
            )),
            Ok(LoadDoc::Command(c)) => r.facts.push(("load".into(), format!("`{}`", c.command))),
            Ok(LoadDoc::Manual(_)) => r.facts.push(("load".into(), "manual".into())),
            Err(_) => {}
        }
        if let Some(d) = doc["run_dir"].as_str() {
            r.facts.push(("run folder".into(), d.to_string()));
        }
        if let Some(f) = doc["fault"].as_str() {
            r.facts.push(("fault".into(), f.to_string()));
        }
        r.classes = ClassTable::from_json(&doc["class_comparison"]);
        r.dominators = DomNode::from_json(&doc["dominator_tree"]);
        r.allocations = allocation_sites(&doc["allocation_sites"]);
        r
    }
}

/// A stored tree, with child links that could loop or point nowhere dropped: only later
/// nodes can be children. `None` when absent, unreadable or empty.
fn allocation_sites(v: &Value) -> Option<AllocationSites> {
    let mut a = AllocationSites::deserialize(v).ok()?;
    let len = a.tree.nodes.len();
    for (i, n) in a.tree.nodes.iter_mut().enumerate() {
        n.children.retain(|&c| c > i && c < len);
    }
    (len > 0).then_some(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_paths_of_older_documents_become_chains() {
        let v = serde_json::json!({"retainer_path": [
            "global /  @6045",
            ".exports → Object \"{createServer, sessionCache}\" @55551",
            "… the 1 reference(s) above repeat 4 times in all",
            "{5655} → (string) \"abc\" @9",
        ]});
        let c = Suspect::from_json(&v).chain;
        assert_eq!(c.len(), 4);
        match &c[1] {
            ChainItem::Object { edge, object } => {
                assert_eq!(edge.as_deref(), Some(".exports"));
                assert_eq!(object.class, "Object");
                assert_eq!(object.name, "{createServer, sessionCache}");
                assert_eq!(object.id, Some(55551));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            c[2],
            ChainItem::Repeat {
                references: 1,
                times: 4
            }
        ));
        match &c[3] {
            ChainItem::Object { object, .. } => assert_eq!(object.kind, "string"),
            other => panic!("{other:?}"),
        }
        // Odd labels are kept as they are, never a panic.
        for odd in [" \"", "\"", " @", "x \"\" @1", ""] {
            let _ = Object::from_label(odd);
        }
    }
}
