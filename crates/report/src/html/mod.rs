//! The self-contained HTML report: one file, no network, readable with scripts off.
//!
//! Build a [`Report`] (by hand, or with [`Report::from_run`] / [`Report::from_suspects`]
//! from the documents),
//! optionally [`redact::apply`] it, then [`render`] it. Every section is optional; a
//! missing one says so on the page.

mod bounds;
pub mod chart;
pub mod flame;
mod from_docs;
pub mod model;
mod page;
pub mod redact;
mod secrets;
mod sections;

pub use model::{
    ChainItem, ClassRow, ClassTable, Crash, DomNode, MemorySeries, Object, Report, Sample,
    SnapshotRow, SourceLink, Suspect, Verdict,
};

use crate::format::human_delta;

/// Escapes text for HTML and XML, in content and in quoted attributes alike.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push(' '),
            // A bidi override in a class name would make the page show it reordered.
            c if heaphound_model::text::is_invisible_format(c) => out.push_str(
                &heaphound_model::text::escape_control(c.encode_utf8(&mut [0; 4])),
            ),
            c => out.push(c),
        }
    }
    out
}

fn memory_section(m: &MemorySeries, trend: Option<(f64, f64)>) -> Result<String, String> {
    let process =
        chart::svg(m, chart::Panel::Process, trend).ok_or("The memory series has no samples.")?;
    let heap = chart::svg(m, chart::Panel::Heap, trend).unwrap_or_default();
    let mut s = String::from("<div class=\"legend\">");
    for (class, name, _) in chart::SERIES {
        s.push_str(&format!(
            "<span><i style=\"background:var(--{class})\"></i>{name}</span>"
        ));
    }
    s.push_str("<span><i style=\"background:var(--trend)\"></i>post-GC floor (heapUsed at each snapshot) and its trend</span></div>");
    s.push_str(&process);
    s.push_str(&heap);
    let floor = chart::floor_points(m);
    if let Some((slope, _)) = trend.filter(|_| !floor.is_empty()) {
        // Bytes per ms → per minute.
        let per_min = slope * 60_000.0;
        s.push_str(&format!(
            "<p>The post-GC floor moves by <strong>{}</strong> per minute of the run (a Theil–Sen line through {} post-GC samples).</p>",
            esc(&human_delta(per_min.round() as i64)),
            floor.len()
        ));
    }
    Ok(s)
}

/// The whole page.
pub fn render(r: &Report) -> String {
    let r = &bounds::bounded(r);
    let suspects = match &r.suspects {
        Some(list) => Ok(sections::suspects(list)),
        None => Err("This report has no suspects analysis.".to_string()),
    };
    let memory = match &r.memory {
        Some(m) => memory_section(m, r.memory_trend),
        None => Err("No memory series: it is recorded by `hunt` and `attach` (memory.jsonl in the run folder).".to_string()),
    };
    let classes = match &r.classes {
        Some(t) => Ok(sections::classes(t)),
        None => Err("No class comparison: it needs the snapshots, or a report.json that carries `class_comparison`.".to_string()),
    };
    let dominators = match &r.dominators {
        Some(d) => Ok(sections::dominators(d)),
        None => Err("No dominator tree: it needs the last snapshot, or a report.json that carries `dominator_tree`.".to_string()),
    };
    let allocations = match &r.allocations {
        Some(a) => Ok(format!(
            "<p class=\"muted\">From {}. Width is bytes still alive; each frame sits on its caller. Hover a frame for its size.</p>{}",
            esc(&a.source),
            flame::svg(&a.tree, "Allocation sites", 1180, false)
        )),
        None => Err("No allocation sites: run `hunt --allocation-sites`, or put a .heapprofile (node --heap-prof) in the run folder.".to_string()),
    };
    let mut sections = Vec::new();
    if let Some(c) = &r.crash {
        sections.push(("crash", "How the process ended", Ok(sections::crash(c))));
    }
    sections.extend([
        ("suspects", "Suspects", suspects),
        ("memory", "Memory over the run", memory),
        ("classes", "Class comparison", classes),
        (
            "dominators",
            "Largest retainers (dominator tree)",
            dominators,
        ),
        ("allocations", "Allocation sites", allocations),
    ]);
    page::page(r, &sections)
}

#[cfg(test)]
mod tests {
    use heaphound_model::profile::{AllocationNode, AllocationSites, AllocationTree};

    use super::*;

    #[test]
    fn names_show_no_bidi_override_or_control() {
        assert_eq!(esc("a\u{202e}b\x1b[2J<"), "a\\u{202e}b [2J&lt;");
        assert_eq!(esc("café 日本"), "café 日本");
    }

    /// A document heaphound did not write (edited, or made to hurt) is drawn within the
    /// page's bounds: hundreds of MB of suspects, classes and tree make a page of a few MB,
    /// and its text is escaped.
    #[test]
    fn a_huge_or_hostile_report_is_bounded_and_escaped() {
        let long = "x".repeat(100_000);
        let suspect = Suspect {
            title: format!("<script>alert(1)</script>{long}"),
            chain: (0..2_000)
                .map(|_| ChainItem::Object {
                    edge: Some("e".repeat(100)),
                    object: Object::default(),
                })
                .collect(),
            allocation_stack: vec!["f".repeat(100); 1000],
            ..Suspect::default()
        };
        let row = ClassRow {
            name: "C".repeat(50),
            new_count: 1,
            deleted_count: 0,
            count_delta: 1,
            size_delta: 1,
            count_after: 1,
            retained_before: 0,
            retained_after: 1,
            retained_delta: 1,
            location: None,
        };
        let root = DomNode {
            children: vec![DomNode::default(); 100_000],
            ..DomNode::default()
        };
        let r = Report {
            title: "<script>alert(1)</script>".into(),
            facts: std::iter::once(("load".to_string(), long.clone()))
                .chain(std::iter::repeat_n(("x".into(), "y".into()), 1000))
                .collect(),
            suspects: Some(vec![suspect; 100]),
            classes: Some(ClassTable {
                before: "a".into(),
                after: "b".into(),
                class_count: 0,
                rows: std::iter::once(ClassRow {
                    name: long.clone(),
                    ..row.clone()
                })
                .chain(std::iter::repeat_n(row, 100_000))
                .collect(),
            }),
            dominators: Some(root),
            ..Report::default()
        };
        let page = render(&r);
        assert!(page.ends_with("</html>\n"));
        assert!(!page.contains("<script>alert"));
        assert!(page.len() < 6_000_000, "{} bytes", page.len());
    }

    /// Every section at its bound, as from a long hunt over big snapshots: the page stays
    /// a few MB (summaries, never the graph).
    #[test]
    fn a_report_at_every_bound_stays_small() {
        let samples = (0..200_000u32)
            .map(|i| Sample {
                t_ms: f64::from(i) * 500.0,
                rss: Some(u64::from(i) * 4096 + 50_000_000),
                heap_used: Some(u64::from(i) * 1024),
                heap_total: Some(u64::from(i) * 2048),
                external: Some(1_000_000),
                snapshot: (i % 50_000 == 0).then_some(i / 50_000 + 1),
            })
            .collect();
        let rows = (0..200)
            .map(|i| ClassRow {
                name: format!("Class{i}"),
                new_count: i,
                deleted_count: 0,
                count_delta: i,
                size_delta: i * 100,
                count_after: i,
                retained_before: 0,
                retained_after: i * 1000,
                retained_delta: i * 1000,
                location: Some(format!("/srv/app/lib/file{i}.js:{i}")),
            })
            .collect();
        let mut root = DomNode::default();
        for i in 0..25 {
            let mut child = DomNode::default();
            child.object.class = format!("Holder{i}");
            for _ in 0..10 {
                child.children.push(DomNode::default());
            }
            root.children.push(child);
        }
        // A wide, deep allocation tree: 100 callers of 50-deep stacks.
        let mut nodes = vec![AllocationNode {
            name: "(root)".into(),
            location: String::new(),
            self_size: 0,
            total_size: 100 * 1000,
            children: Vec::new(),
            ..AllocationNode::default()
        }];
        for _ in 0..100 {
            let mut parent = 0;
            for d in 0..50 {
                let me = nodes.len();
                nodes.push(AllocationNode {
                    name: format!("function_with_a_long_name_{d}"),
                    location: format!("/srv/app/lib/deep/module{d}.js:{d}:1"),
                    self_size: if d == 49 { 1000 } else { 0 },
                    total_size: 1000,
                    children: Vec::new(),
                    ..AllocationNode::default()
                });
                nodes[parent].children.push(me);
                parent = me;
            }
        }
        let r = Report {
            title: "big".into(),
            memory: Some(MemorySeries { samples }),
            classes: Some(ClassTable {
                before: "1.heapsnapshot".into(),
                after: "4.heapsnapshot".into(),
                class_count: 5000,
                rows,
            }),
            dominators: Some(root),
            allocations: Some(AllocationSites {
                source: "test".into(),
                tree: AllocationTree { nodes },
            }),
            suspects: Some(Vec::new()),
            ..Report::default()
        };
        let page = render(&r);
        eprintln!("page at every bound: {} bytes", page.len());
        assert!(page.len() < 3_000_000, "{} bytes", page.len());
    }
}
