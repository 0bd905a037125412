//! `gate --html`: the gate's verdict, its rounds as the memory chart, and on failure the
//! suspects report with the class comparison and dominator tree of its snapshots.
//! Redacted unless `--no-redact`: gate reports travel (CI artifacts, tickets).

use std::path::Path;

use anyhow::Result;
use heaphound_report::html::{MemorySeries, Report, Sample, Verdict};

use super::judge::{Judgement, RoundMemory};
use crate::commands::suspects::Judged;
use crate::html_out;

pub struct Page<'a> {
    pub name: &'a str,
    pub judgement: &'a Judgement,
    pub rounds: &'a [RoundMemory],
    /// Rounds after which a snapshot was taken, in order.
    pub snapshot_rounds: &'a [u32],
    pub suspects: Option<&'a Judged>,
    pub facts: Vec<(String, String)>,
}

pub fn write(page: Page, top: usize, path: &Path, redacted: bool) -> Result<u64> {
    let mut report = match page.suspects {
        Some(judged) => {
            let mut r = Report::from_suspects(&judged.document(top));
            r.add_overview(&html_out::overview_of(&judged.loaded));
            r.allocations = html_out::allocations_of(&judged.loaded);
            r
        }
        None => Report::default(),
    };
    report.title = format!("heaphound gate: {}", page.name);
    report.facts = page.facts;
    report.verdict = Some(Verdict {
        verdict: if page.judgement.pass { "pass" } else { "fail" }.into(),
        reason: page.judgement.reason.clone(),
        leaked_objects: None,
        leaked_bytes: None,
    });
    let mut t = 0u64;
    let mut marked = 0;
    let samples = page
        .rounds
        .iter()
        .map(|r| {
            t += r.elapsed_ms;
            let snapshot = page.snapshot_rounds.get(marked).copied() == Some(r.round);
            if snapshot {
                marked += 1;
            }
            Sample {
                t_ms: t as f64,
                rss: None,
                heap_used: Some(r.heap_used),
                heap_total: Some(r.heap_total),
                external: Some(r.external),
                snapshot: snapshot.then_some(marked as u32),
            }
        })
        .collect();
    report.memory = Some(MemorySeries { samples });
    html_out::write(report, path, redacted)
}
