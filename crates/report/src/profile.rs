//! `heaphound profile`: the allocation sites of a sampling heap profile.

use heaphound_analysis::heapprofile::{Profile, Site};
use serde_json::{json, Value};

use crate::format::{group, human_size, Align, Style, Table};
use crate::summary::short_path;
use crate::SCHEMA_VERSION;

fn site_json(s: &Site) -> Value {
    json!({
        "function": s.frame.function_name,
        "url": s.frame.url,
        "line": s.frame.line,
        "column": s.frame.column,
        "location": s.frame.location(),
        "self_size": s.self_size,
        "total_size": s.total_size,
        "samples": s.samples,
    })
}

/// `{"schema_version","file","total_size","sample_count","samples_size","by_self","by_total"}`.
pub fn to_json(file: &str, p: &Profile, top: usize) -> Value {
    let (by_self, by_total) = p.top_sites(top);
    json!({
        "schema_version": SCHEMA_VERSION,
        "file": file,
        "total_size": p.total_size(),
        "sample_count": p.sample_count,
        "samples_size": p.samples_size,
        "by_self": by_self.iter().map(site_json).collect::<Vec<_>>(),
        "by_total": by_total.iter().map(site_json).collect::<Vec<_>>(),
    })
}

fn table(sites: &[Site], total: u64, style: &Style) -> String {
    let mut t = Table::new(&[
        ("Self", Align::Right),
        ("%", Align::Right),
        ("Total", Align::Right),
        ("%", Align::Right),
        ("Function", Align::Left),
        ("Location", Align::Left),
    ])
    .max_width(140);
    let pct = |n: u64| format!("{:.1}", 100.0 * n as f64 / total.max(1) as f64);
    for s in sites {
        let loc = s.frame.location();
        t.row(vec![
            human_size(s.self_size),
            pct(s.self_size),
            human_size(s.total_size),
            pct(s.total_size),
            s.frame.display_name().to_string(),
            // Node's own modules read best whole: `node:internal/timers:504:25`.
            if s.frame.url.is_empty() || s.frame.url.starts_with("node:") {
                loc
            } else {
                short_path(&loc)
            },
        ]);
    }
    t.render(style)
}

pub fn to_text(file: &str, p: &Profile, top: usize, style: &Style) -> String {
    let total = p.total_size();
    let (by_self, by_total) = p.top_sites(top);
    let mut out = format!(
        "{}  {} sampled in {} live samples ({} frames)\n",
        style.bold(file),
        human_size(total),
        group(p.sample_count),
        group(p.nodes.len().saturating_sub(1) as u64)
    );
    if by_self.is_empty() {
        out.push_str("\nNo allocations were sampled.\n");
        return out;
    }
    out.push_str(&format!(
        "\n{}\n",
        style.bold("Allocation sites by self size")
    ));
    out.push_str(&table(&by_self, total, style));
    out.push_str(&format!(
        "\n{}\n",
        style.bold("Allocation sites by total size (the frame and its callees)")
    ));
    out.push_str(&table(&by_total, total, style));
    out
}
