//! The trend verdict and the GC log report as text, rendered from their documents.

use heaphound_model::gclog::GcLogDoc;
use heaphound_model::trend::{FloorMetric, TrendDoc, Verdict, VerdictDoc, VerdictKind};

use crate::{group, human_size, Align, Style, Table};

fn size(bytes: f64) -> String {
    human_size(bytes.max(0.0).round() as u64)
}

/// `leak (99% sure)`, in bold.
pub fn verdict_word(v: &VerdictDoc, style: &Style) -> String {
    let word = v.kind.as_str().to_uppercase();
    let sure = if v.kind == VerdictKind::Inconclusive {
        String::new()
    } else {
        // Never "100%": a trend test gives odds, not certainty.
        format!(
            " ({:.0}% confidence)",
            (v.confidence() * 100.0).floor().min(99.0)
        )
    };
    format!("{}{sure}", style.bold(&word))
}

/// One line for a report header: `leak (97% confidence): the post-GC floor rises …`.
pub fn verdict_line(v: &Verdict, style: &Style) -> String {
    verdict_doc_line(&VerdictDoc::from(v), style)
}

/// [`verdict_line`] of a verdict document.
pub fn verdict_doc_line(v: &VerdictDoc, style: &Style) -> String {
    let mut s = format!("{}: {}", verdict_word(v, style), v.reason);
    if let Some(n) = &v.needed {
        s.push_str(&format!("; needs {n}"));
    }
    s
}

fn trend_row(t: &TrendDoc) -> String {
    format!(
        "{} → {} over {:.1} s, {:+.1} MB/hour (Theil–Sen), Mann–Kendall S={} Z={:.2} p={:.2e}, {} points",
        size(t.first_bytes as f64),
        size(t.last_bytes as f64),
        t.span_s(),
        t.mb_per_hour(),
        t.mann_kendall.s,
        t.z(),
        t.mann_kendall.p,
        t.points
    )
}

/// The verdict block that ends `watch` and `gclog`.
pub fn verdict_text(v: &Verdict, style: &Style) -> String {
    verdict_doc_text(&VerdictDoc::from(v), style)
}

/// [`verdict_text`] of a verdict document.
pub fn verdict_doc_text(v: &VerdictDoc, style: &Style) -> String {
    let mut s = format!("verdict   {}\n", verdict_word(v, style));
    s.push_str(&format!("          {}\n", v.reason));
    if let Some(n) = &v.needed {
        s.push_str(&format!("needed    {n}\n"));
    }
    if let Some(f) = &v.floor {
        let what = match v.floor_metric {
            FloorMetric::Rss => "rss floor",
            FloorMetric::HeapUsed => "floor    ",
        };
        s.push_str(&format!("{what} {}\n", trend_row(f)));
    }
    if let (Some(e), Some(l)) = (&v.early, &v.late) {
        s.push_str(&format!(
            "          early {:+.1} MB/hour, late {:+.1} MB/hour\n",
            e.mb_per_hour(),
            l.mb_per_hour()
        ));
    }
    if let Some(o) = &v.off_heap {
        s.push_str(&format!("{:<9} {}\n", o.metric, trend_row(&o.trend)));
    }
    if v.spikes.count > 0 {
        s.push_str(&format!(
            "spikes    {} above {} (highest {}{})\n",
            v.spikes.count,
            size(v.spikes.threshold_bytes as f64),
            size(v.spikes.max_height_bytes as f64),
            v.spikes
                .period_s()
                .map(|p| format!(", every {p:.1} s"))
                .unwrap_or_default()
        ));
    }
    s
}

/// `gclog`'s report: collections by kind, futile full GCs, the floor, the verdict.
pub fn gclog_text(doc: &GcLogDoc, style: &Style) -> String {
    let mut s = format!(
        "heaphound gclog {}: {} collections over {:.1} s (PID {}), {} other lines skipped",
        doc.file,
        group(doc.events as u64),
        doc.span_s(),
        doc.pid.unwrap_or(0),
        group(doc.skipped_lines as u64),
    );
    if doc.skipped_long_lines > 0 {
        s.push_str(&format!(
            ", {} over-long line{} skipped",
            group(doc.skipped_long_lines as u64),
            if doc.skipped_long_lines == 1 { "" } else { "s" }
        ));
    }
    if doc.other_isolates > 0 {
        s.push_str(&format!(
            ", {} other isolate{} left out",
            doc.other_isolates,
            if doc.other_isolates == 1 { "" } else { "s" }
        ));
    }
    s.push_str("\n\n");
    let mut t = Table::new(&[
        ("kind", Align::Left),
        ("count", Align::Right),
        ("pause total", Align::Right),
        ("pause max", Align::Right),
        ("freed", Align::Right),
    ]);
    for k in &doc.by_kind {
        t.row(vec![
            k.kind.clone(),
            group(k.count as u64),
            format!("{:.1} ms", k.pause_total_ms()),
            format!("{:.1} ms", k.pause_max_ms),
            size(k.reclaimed_bytes()),
        ]);
    }
    s.push_str(&t.render(style));
    s.push('\n');
    let futile = &doc.futile_full_gcs;
    s.push_str(&format!(
        "full GCs  {} of which {} freed under {:.0}% of the heap",
        doc.full_gcs,
        futile.count,
        futile.threshold_share * 100.0
    ));
    if let Some(mu) = doc.last_average_mu {
        s.push_str(&format!("; mutator utilization {mu:.3} at the end"));
    }
    s.push('\n');
    for e in futile.list.iter().take(5) {
        s.push_str(&format!(
            "          line {}: {} ms {} {} → {} ({})\n",
            e.line,
            e.t_ms,
            e.kind,
            size(e.before_bytes()),
            size(e.after_bytes()),
            e.reason
        ));
    }
    if futile.count > 5 {
        s.push_str(&format!("          … and {} more\n", futile.count - 5));
    }
    s.push_str(&format!(
        "floor     after {} ({} points)\n",
        if doc.floor.after == "full" {
            "each full GC"
        } else {
            "every GC, lower envelope (too few full GCs)"
        },
        doc.floor.points.len()
    ));
    s.push('\n');
    s.push_str(&verdict_doc_text(&doc.verdict, style));
    s
}
