//! `heaphound profile`: the allocation sites of a sampling heap profile.

use heaphound_model::profile::{AllocationSite, ProfileDoc};

use crate::format::{group, human_size, Align, Style, Table};
use crate::summary::short_path;

fn table(sites: &[AllocationSite], total: u64, style: &Style) -> String {
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
        t.row(vec![
            human_size(s.self_size),
            pct(s.self_size),
            human_size(s.total_size),
            pct(s.total_size),
            s.original
                .as_ref()
                .and_then(|o| o.name.clone())
                .unwrap_or_else(|| s.display_name().to_string()),
            // Node's own modules read best whole: `node:internal/timers:504:25`.
            if s.url.is_empty() || s.url.starts_with("node:") {
                s.location.clone()
            } else {
                heaphound_model::source::shown_at(short_path(&s.location), s.original.as_ref())
            },
        ]);
    }
    t.render(style)
}

pub fn to_text(doc: &ProfileDoc, style: &Style) -> String {
    let total = doc.total_size;
    let mut out = format!(
        "{}  {} sampled in {} live samples ({} frames)\n",
        style.bold(&doc.file),
        human_size(total),
        group(doc.sample_count),
        group(doc.frames)
    );
    if doc.by_self.is_empty() {
        out.push_str("\nNo allocations were sampled.\n");
        return out;
    }
    out.push_str(&format!(
        "\n{}\n",
        style.bold("Allocation sites by self size")
    ));
    out.push_str(&table(&doc.by_self, total, style));
    out.push_str(&format!(
        "\n{}\n",
        style.bold("Allocation sites by total size (the frame and its callees)")
    ));
    out.push_str(&table(&doc.by_total, total, style));
    out
}
