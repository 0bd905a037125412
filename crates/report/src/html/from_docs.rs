//! The page's sections from heaphound's typed documents: a `suspects` document, a run's
//! `report.json`, the snapshots' overview and `memory.jsonl`. Documents written before a
//! field existed read with its default, so old run folders still render.

use heaphound_model::diff::ClassComparison;
use heaphound_model::heap::{DominatorSummary, DominatorSummaryNode};
use heaphound_model::load::LoadDoc;
use heaphound_model::object::{ObjectRef, PathStep};
use heaphound_model::profile::AllocationSites;
use heaphound_model::run::{Overview, RunReport};
use heaphound_model::series::MemorySample;
use heaphound_model::suspects::{SuspectDoc, SuspectsDoc};
use heaphound_model::units::short_path;

use super::model::{
    ChainItem, ClassRow, ClassTable, DomNode, MemorySeries, Object, Report, Sample, SnapshotRow,
    SourceLink, Suspect, Verdict,
};

impl Object {
    pub fn of(o: &ObjectRef) -> Object {
        Object {
            id: Some(u64::from(o.id.0)),
            kind: o.node_type.clone(),
            class: o.class.clone(),
            name: o.name.clone(),
            retained_size: Some(o.retained_size),
            self_size: Some(o.self_size),
        }
    }

    /// A line of the text retainer path (`Class "name" @id`), for documents written before
    /// `retainer_chain` existed.
    pub(crate) fn from_label(label: &str) -> Object {
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

/// The typed chain when the document has one, else the text lines older documents carry.
fn chain_of(s: &SuspectDoc) -> Vec<ChainItem> {
    if !s.retainer_chain.is_empty() {
        return s
            .retainer_chain
            .iter()
            .map(|step| match step {
                PathStep::Repeat { repeat } => ChainItem::Repeat {
                    references: repeat.references as u64,
                    times: repeat.times as u64,
                },
                PathStep::Object { edge, object, .. } => ChainItem::Object {
                    edge: edge.clone(),
                    object: Object::of(object),
                },
            })
            .collect();
    }
    chain_of_lines(&s.retainer_path)
}

pub(crate) fn chain_of_lines(lines: &[String]) -> Vec<ChainItem> {
    lines
        .iter()
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
    pub fn of(s: &SuspectDoc) -> Suspect {
        Suspect {
            rank: s.rank as u64,
            shape: s.shape.clone(),
            title: s.title.clone(),
            class: s.class.clone(),
            steady: s.steady,
            holder: s.holder.name.clone(),
            counts: s.counts.clone(),
            retained_sizes: s.retained_sizes.clone(),
            retained_growth: s.retained_growth,
            chain: chain_of(s),
            locations: s
                .locations
                .iter()
                .map(|l| match &l.original {
                    // Links point to the file the user wrote.
                    Some(o) => SourceLink {
                        file: o.file.clone(),
                        line: Some(u64::from(o.line)),
                        column: Some(u64::from(o.column)),
                        kind: l.kind.clone(),
                        function: l.function.clone(),
                        generated: Some(format!("{}:{}:{}", short_path(&l.file), l.line, l.column)),
                    },
                    None => SourceLink {
                        file: l.file.clone(),
                        line: Some(u64::from(l.line)),
                        column: Some(u64::from(l.column)),
                        kind: l.kind.clone(),
                        function: l.function.clone(),
                        generated: None,
                    },
                })
                .collect(),
            allocation_stack: s.allocation_stack.clone(),
        }
    }
}

impl MemorySeries {
    /// `memory.jsonl`: one sample per line. Lines that are not samples (a run cut short
    /// may end in half a line; a damaged file may hold bytes that are not UTF-8) are
    /// skipped and counted, never the whole series lost.
    pub fn from_jsonl(bytes: &[u8]) -> (MemorySeries, usize) {
        let mut skipped = 0;
        let samples = bytes
            .split(|&b| b == b'\n')
            .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
            .filter_map(|line| {
                let m = serde_json::from_slice::<MemorySample>(line).ok();
                skipped += usize::from(m.is_none());
                m
            })
            .map(|m| Sample {
                t_ms: m.t_ms as f64,
                rss: Some(m.rss),
                heap_used: m.heap_used,
                heap_total: m.heap_total,
                external: m.external,
                snapshot: m.snapshot,
            })
            .collect();
        (MemorySeries { samples }, skipped)
    }
}

impl ClassTable {
    pub fn of(c: &ClassComparison) -> ClassTable {
        let signed = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        ClassTable {
            before: c.before.clone(),
            after: c.after.clone(),
            class_count: c.class_count,
            rows: c
                .classes
                .iter()
                .map(|r| ClassRow {
                    name: r.name.clone(),
                    new_count: signed(r.new_count),
                    deleted_count: signed(r.deleted_count),
                    count_delta: r.count_delta,
                    size_delta: r.size_delta,
                    count_after: signed(r.count_after),
                    retained_before: signed(r.retained_before),
                    retained_after: signed(r.retained_after),
                    retained_delta: r.retained_delta,
                    location: r
                        .location
                        .as_ref()
                        .map(|l| format!("{}:{}", l.file.as_deref().unwrap_or("?"), l.line)),
                })
                .collect(),
        }
    }
}

impl DomNode {
    pub fn of(d: &DominatorSummary) -> Option<DomNode> {
        let tree = d.tree.as_ref()?;
        fn shallow(n: &DominatorSummaryNode) -> DomNode {
            DomNode {
                object: Object::of(&n.object),
                more_children: n.more_children,
                children: Vec::with_capacity(n.children.len()),
                total_size: None,
            }
        }
        let mut root = shallow(tree);
        root.total_size = Some(d.total_size);
        // Explicit stack: a tree read from a file may be deep.
        let mut stack: Vec<(Vec<usize>, &DominatorSummaryNode)> = vec![(Vec::new(), tree)];
        while let Some((path, n)) = stack.pop() {
            let mut at = &mut root;
            for &k in &path {
                at = &mut at.children[k];
            }
            for (k, c) in n.children.iter().enumerate() {
                at.children.push(shallow(c));
                let mut p = path.clone();
                p.push(k);
                stack.push((p, c));
            }
        }
        Some(root)
    }
}

/// A stored tree, with child links that could loop or point nowhere dropped: only later
/// nodes can be children. `None` when empty.
fn sanitised(a: &AllocationSites) -> Option<AllocationSites> {
    let mut a = a.clone();
    let len = a.tree.nodes.len();
    for (i, n) in a.tree.nodes.iter_mut().enumerate() {
        n.children.retain(|&c| c > i && c < len);
    }
    (len > 0).then_some(a)
}

impl Report {
    /// A `suspects` document: the verdict, the snapshots and the suspects.
    pub fn from_suspects(doc: &SuspectsDoc) -> Report {
        Report {
            title: "heaphound report".into(),
            verdict: Some(Verdict {
                verdict: doc.verdict.as_str().into(),
                reason: doc.reason.clone(),
                leaked_objects: Some(doc.leaked_objects),
                leaked_bytes: Some(doc.leaked_bytes),
            }),
            snapshots: doc
                .snapshots
                .iter()
                .map(|s| SnapshotRow {
                    file: s.file.clone(),
                    node_count: Some(s.node_count as u64),
                    total_size: Some(s.total_size),
                })
                .collect(),
            suspects: Some(doc.suspects.iter().map(Suspect::of).collect()),
            ..Report::default()
        }
    }

    /// A run's `report.json`: its suspects, what ran and how, and the overview it kept.
    pub fn from_run(doc: &RunReport) -> Report {
        let mut r = Report::from_suspects(&doc.suspects);
        let p = &doc.program;
        r.title = format!("heaphound: {}", p.command);
        let mut what = format!("PID {}", p.pid);
        if !p.ended.is_empty() {
            what.push_str(&format!(", {}", p.ended));
        }
        r.facts
            .push(("program".into(), format!("{} ({what})", p.command)));
        match &doc.load {
            Some(LoadDoc::Http(h)) => r.facts.push((
                "load".into(),
                format!(
                    "{} {}, {} connections, {} requests ({} errors)",
                    h.method, h.url, h.connections, h.requests, h.errors
                ),
            )),
            Some(LoadDoc::Command(c)) => r.facts.push(("load".into(), format!("`{}`", c.command))),
            Some(LoadDoc::Manual(_)) => r.facts.push(("load".into(), "manual".into())),
            None => {}
        }
        if !doc.run_dir.is_empty() {
            r.facts.push(("run folder".into(), doc.run_dir.clone()));
        }
        if let Some(f) = &doc.fault {
            r.facts.push(("fault".into(), f.clone()));
        }
        r.add_overview(&doc.overview);
        r
    }

    /// The snapshots' class comparison, dominator tree and allocation sites, where the
    /// overview has them.
    pub fn add_overview(&mut self, o: &Overview) {
        if let Some(c) = &o.class_comparison {
            self.classes = Some(ClassTable::of(c));
        }
        if let Some(d) = o.dominator_tree.as_ref().and_then(DomNode::of) {
            self.dominators = Some(d);
        }
        if let Some(a) = o.allocation_sites.as_ref().and_then(sanitised) {
            self.allocations = Some(a);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_paths_of_older_documents_become_chains() {
        let lines: Vec<String> = [
            "global /  @6045",
            ".exports → Object \"{createServer, sessionCache}\" @55551",
            "… the 1 reference(s) above repeat 4 times in all",
            "{5655} → (string) \"abc\" @9",
        ]
        .map(String::from)
        .to_vec();
        let c = chain_of_lines(&lines);
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

    #[test]
    fn bad_lines_of_a_series_are_skipped_and_counted() {
        let mut text = b"{\"t_ms\":0,\"rss\":100,\"heap_used\":10}\n".to_vec();
        text.extend_from_slice(b"{\"t_ms\":500,\"rss\":\xff\xfe}\n");
        text.extend_from_slice(b"\n{\"t_ms\":1000,\"rss\":200,\"heap_used\":20}\n{\"t_ms\":15");
        let (m, skipped) = MemorySeries::from_jsonl(&text);
        assert_eq!(m.samples.len(), 2);
        assert_eq!(skipped, 2);
        assert_eq!(m.samples[1].rss, Some(200));
    }

    #[test]
    fn allocation_links_that_loop_or_point_nowhere_are_dropped() {
        use heaphound_model::profile::{AllocationNode, AllocationTree};
        let node = |children: Vec<usize>| AllocationNode {
            name: "f".into(),
            location: String::new(),
            self_size: 1,
            total_size: 1,
            children,
            ..AllocationNode::default()
        };
        let a = AllocationSites {
            source: "test".into(),
            tree: AllocationTree {
                nodes: vec![node(vec![0, 1, 9]), node(vec![0])],
            },
        };
        let s = sanitised(&a).expect("two nodes");
        assert_eq!(s.tree.nodes[0].children, vec![1]);
        assert!(s.tree.nodes[1].children.is_empty());
    }
}
