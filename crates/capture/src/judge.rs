//! Snapshots read and judged by the suspects analysis: what `suspects`, `hunt` and
//! `attach` report on.

use std::collections::HashMap;

use heaphound_analysis::scripts;
use heaphound_analysis::suspects::{self, Findings, Snap, Verdict};
use heaphound_analysis::views::diff::{compare, Snapshot};
use heaphound_analysis::views::suspects::{document, LastSnapshot, SnapshotInfo};
use heaphound_analysis::views::{allocations, overview};
use heaphound_model::profile::AllocationSites;
use heaphound_model::run::Overview;
use heaphound_model::suspects::SuspectsDoc;

use crate::read::{open_all, Opened, ReadError, ReadObserver};

pub struct Judged {
    pub loaded: Vec<Opened>,
    pub findings: Findings,
}

impl Judged {
    /// Reads the snapshots (in parallel) and finds the suspects.
    pub fn of(
        files: &[String],
        observer: &(dyn Fn() -> Box<dyn ReadObserver + Send> + Sync),
        sources: &std::sync::Arc<crate::originals::SourceMaps>,
    ) -> Result<Judged, ReadError> {
        let loaded = open_all(files, observer, sources)?;
        Ok(Judged::from_opened(loaded))
    }

    pub fn from_opened(loaded: Vec<Opened>) -> Judged {
        let snaps: Vec<Snap> = loaded
            .iter()
            .map(|l| Snap {
                graph: &l.graph,
                analysis: &l.analysis,
            })
            .collect();
        let findings = suspects::find(&snaps);
        Judged { loaded, findings }
    }

    /// The `suspects --json` document of the judgement, `top` suspects at most.
    pub fn document(&self, top: usize) -> SuspectsDoc {
        let infos: Vec<SnapshotInfo> = self
            .loaded
            .iter()
            .map(|l| SnapshotInfo {
                file: &l.label,
                node_count: l.graph.node_count(),
                total_size: l.analysis.total_size,
            })
            .collect();
        let last = self
            .loaded
            .last()
            .expect("a judgement has two snapshots or more");
        let l = LastSnapshot {
            graph: &last.graph,
            analysis: &last.analysis,
        };
        let mut doc = document(&l, &infos, &self.findings, top);
        crate::originals::locate_suspects(&mut doc, &last.sources);
        doc
    }

    /// What a report page needs from the snapshots, bounded whatever the heap: the first
    /// and last compared class by class, the last one's dominator tree, and its
    /// allocation stacks when they were recorded.
    pub fn overview(&self) -> Overview {
        overview_of(&self.loaded)
    }

    pub fn is_leak(&self) -> bool {
        self.findings.verdict == Verdict::Leak
    }
}

fn snapshot(o: &Opened) -> Snapshot<'_> {
    Snapshot {
        label: &o.label,
        graph: &o.graph,
        analysis: &o.analysis,
    }
}

/// [`Judged::overview`] of snapshots read without a judgement (`report` on a run folder
/// whose report.json lacks it).
pub fn overview_of(loaded: &[Opened]) -> Overview {
    let (Some(first), Some(last)) = (loaded.first(), loaded.last()) else {
        return Overview::default();
    };
    let rows = compare(&snapshot(first), &snapshot(last));
    let names: HashMap<u32, String> = scripts::script_names(&last.graph);
    let mut classes = overview::class_comparison(&first.label, &last.label, rows, &names);
    crate::originals::locate_comparison(&mut classes, &last.sources);
    Overview {
        class_comparison: Some(classes),
        dominator_tree: Some(overview::dominator_summary(
            &last.graph,
            &last.analysis,
            &last.label,
        )),
        allocation_sites: allocations_of(loaded).map(|a| AllocationSites {
            tree: allocations::pruned(&a.tree, 0.001, 2000),
            source: a.source,
        }),
    }
}

/// Allocation stacks of the last snapshot, when allocation tracking was on.
pub fn allocations_of(loaded: &[Opened]) -> Option<AllocationSites> {
    let last = loaded.last()?;
    let mut tree = allocations::from_trace(&last.graph)?;
    crate::originals::locate_tree(&mut tree, &last.sources);
    Some(AllocationSites {
        source: format!("the allocation stacks recorded in {}", last.label),
        tree,
    })
}
