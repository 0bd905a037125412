//! Snapshots read and judged by the suspects analysis: what `suspects`, `hunt` and
//! `attach` report on.

use heaphound_analysis::suspects::{self, Findings, Snap, Verdict};
use heaphound_analysis::views::suspects::{document, LastSnapshot, SnapshotInfo};
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
    ) -> Result<Judged, ReadError> {
        let loaded = open_all(files, observer)?;
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
        document(&l, &infos, &self.findings, top)
    }

    pub fn is_leak(&self) -> bool {
        self.findings.verdict == Verdict::Leak
    }
}
