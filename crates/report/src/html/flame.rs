//! The flame graph of allocation sites, as SVG. One renderer for both users: `profile
//! --flamegraph` writes it as a file, the HTML report inlines it.

use heaphound_model::profile::AllocationTree;

use super::esc;
use crate::format::human_size;

const ROW: f64 = 17.0;
const CHAR_W: f64 = 6.4;
/// Frames narrower than this are left out (with everything above them).
const MIN_W: f64 = 0.6;
/// Frames drawn at most: keeps the SVG (and the report) a few hundred kB at worst.
const MAX_FRAMES: usize = 4000;

fn colour(name: &str, location: &str) -> String {
    // A stable hash, so a frame keeps its colour from one report to the next.
    let h = name
        .bytes()
        .fold(2166136261u32, |h, b| (h ^ b as u32).wrapping_mul(16777619));
    let v = |shift: u32, range: u32| (h >> shift) % range;
    if location == "(native)" {
        format!(
            "rgb({},{},{})",
            190 + v(0, 40),
            190 + v(8, 40),
            60 + v(16, 40)
        )
    } else if location.starts_with("node:") {
        format!(
            "rgb({},{},{})",
            80 + v(0, 50),
            160 + v(8, 50),
            190 + v(16, 50)
        )
    } else {
        format!(
            "rgb({},{},{})",
            205 + v(0, 50),
            80 + v(8, 110),
            40 + v(16, 40)
        )
    }
}

fn fit(label: &str, width: f64) -> Option<String> {
    let room = ((width - 6.0) / CHAR_W).floor() as usize;
    if room < 3 {
        return None;
    }
    if label.chars().count() <= room {
        return Some(label.to_string());
    }
    let mut s: String = label.chars().take(room - 1).collect();
    s.push('…');
    Some(s)
}

/// The flame graph (root at the bottom, callees above their callers, width = bytes).
/// `standalone` adds the XML namespace and its own styles, for a file of its own.
pub fn svg(tree: &AllocationTree, title: &str, width: u32, standalone: bool) -> String {
    let total = tree.total();
    let w = f64::from(width.max(200));
    // Lay out first (x, width, depth per frame), to know the height.
    let mut frames: Vec<(usize, f64, f64, usize)> = Vec::new();
    if total > 0 {
        // Level by level, so a cap on frames drops the deepest (thinnest) ones first.
        let mut queue = std::collections::VecDeque::from([(0usize, 0.0f64, 0usize)]);
        while let Some((n, x, depth)) = queue.pop_front() {
            if frames.len() >= MAX_FRAMES {
                break;
            }
            let node = &tree.nodes[n];
            let fw = node.total_size as f64 / total as f64 * w;
            if fw < MIN_W {
                continue;
            }
            frames.push((n, x, fw, depth));
            let mut kids: Vec<usize> = node
                .children
                .iter()
                .copied()
                .filter(|&c| c < tree.nodes.len())
                .collect();
            kids.sort_by(|a, b| {
                tree.nodes[*b]
                    .total_size
                    .cmp(&tree.nodes[*a].total_size)
                    .then_with(|| tree.nodes[*a].name.cmp(&tree.nodes[*b].name))
            });
            let mut cx = x;
            for c in kids {
                queue.push_back((c, cx, depth + 1));
                cx += tree.nodes[c].total_size as f64 / total as f64 * w;
            }
        }
    }
    let depth = frames.iter().map(|f| f.3).max().unwrap_or(0) + 1;
    let top = 24.0;
    let h = top + depth as f64 * ROW + 4.0;
    let mut s = String::new();
    let ns = if standalone {
        r#" xmlns="http://www.w3.org/2000/svg""#
    } else {
        ""
    };
    // A file of its own has a size; inline, the page's width decides.
    let size = if standalone {
        format!(r#"width="{w}" height="{h}""#)
    } else {
        r#"width="100%""#.to_string()
    };
    s.push_str(&format!(
        r#"<svg{ns} class="flame" viewBox="0 0 {w} {h}" {size} role="img" aria-label="{}" preserveAspectRatio="xMinYMin meet">"#,
        esc(title)
    ));
    if standalone {
        s.push_str("<style>text{font:11px ui-monospace,Menlo,Consolas,monospace;fill:#111}.t{font:bold 13px sans-serif}rect{stroke:#fff;stroke-width:.5}</style><rect width=\"100%\" height=\"100%\" fill=\"#fff\" stroke=\"none\"/>");
    }
    s.push_str(&format!(
        r#"<text class="t" x="4" y="16">{} — {} sampled</text>"#,
        esc(title),
        human_size(total)
    ));
    for (n, x, fw, d) in frames {
        let node = &tree.nodes[n];
        let y = h - 4.0 - (d as f64 + 1.0) * ROW;
        let label = if n == 0 {
            "all".to_string()
        } else {
            node.original
                .as_ref()
                .and_then(|o| o.name.clone())
                .unwrap_or_else(|| node.name.clone())
        };
        let at = heaphound_model::source::shown_at(node.location.clone(), node.original.as_ref());
        let pct = 100.0 * node.total_size as f64 / total as f64;
        s.push_str(&format!(
            r#"<g><title>{} {} — {} ({pct:.1}%), self {}</title><rect x="{x:.1}" y="{y:.1}" width="{fw:.1}" height="{}" rx="2" fill="{}"/>"#,
            esc(&label),
            esc(&at),
            human_size(node.total_size),
            human_size(node.self_size),
            ROW - 1.0,
            if n == 0 { "rgb(200,200,200)".into() } else { colour(&node.name, &node.location) },
        ));
        if let Some(t) = fit(&label, fw) {
            s.push_str(&format!(
                r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
                x + 3.0,
                y + ROW - 5.0,
                esc(&t)
            ));
        }
        s.push_str("</g>");
    }
    s.push_str("</svg>");
    if standalone {
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    use heaphound_model::profile::AllocationNode;

    fn tree() -> AllocationTree {
        let node = |name: &str, self_size, total_size, children| AllocationNode {
            name: name.into(),
            location: "app.js:1:1".into(),
            self_size,
            total_size,
            children,
            ..AllocationNode::default()
        };
        AllocationTree {
            nodes: vec![
                node("(root)", 0, 100, vec![1, 2]),
                node("big <alloc>", 70, 70, vec![]),
                node("tiny", 0, 30, vec![]),
            ],
        }
    }

    #[test]
    fn frames_are_as_wide_as_their_bytes_and_escaped() {
        let s = svg(&tree(), "sites", 1000, true);
        assert!(s.starts_with("<svg xmlns="));
        assert!(s.contains(r#"width="700.0""#), "{s}");
        assert!(s.contains(r#"width="1000" height="#));
        assert!(s.contains("big &lt;alloc&gt;"));
        assert!(!s.contains("<alloc>"));
    }

    #[test]
    fn an_empty_profile_still_draws() {
        let s = svg(&AllocationTree::default(), "none", 800, false);
        assert!(s.contains("0 B sampled"));
    }
}
