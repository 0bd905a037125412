//! What the gate prints: the rounds table, the text report and the JSON document.

use std::ffi::OsString;
use std::time::Duration;

use heaphound_model::gate::{GateDoc, RoundMeasurement};
use heaphound_model::SCHEMA_VERSION;
use heaphound_report::{human_delta, human_size, Align, Table};

use super::judge::{Judgement, RoundMemory};
use super::Gate;
use crate::commands::suspects::{Judged, Shown};

impl Gate<'_> {
    pub(super) fn rounds_table(&self) -> String {
        let mut t = Table::new(&[
            ("Round", Align::Left),
            ("Retained", Align::Right),
            ("Δ baseline", Align::Right),
            ("Heap used", Align::Right),
            ("External", Align::Right),
            ("Time", Align::Right),
        ]);
        let base = self.rounds.first().map_or(0, RoundMemory::retained) as i64;
        for r in &self.rounds {
            t.row(vec![
                if r.round == 0 {
                    "baseline".into()
                } else {
                    r.round.to_string()
                },
                human_size(r.retained()),
                human_delta(r.retained() as i64 - base),
                human_size(r.heap_used),
                human_size(r.external),
                format!("{:.1}s", r.elapsed_ms as f64 / 1000.0),
            ]);
        }
        t.render(&heaphound_report::Style { color: false })
    }

    pub(super) fn to_text(
        &self,
        j: &Judgement,
        name: &str,
        suspects: Option<&Judged>,
        style: &heaphound_report::Style,
    ) -> String {
        let a = self.args;
        let mut s = format!(
            "heaphound gate: {name} ({} × {} rounds after {} warm-up)\n\n",
            plural(a.iterations, self.unit),
            a.rounds,
            plural(self.warmup, self.unit)
        );
        s.push_str(&self.rounds_table());
        s.push('\n');
        s.push_str(&format!(
            "{} — {}\n  run      {}\n",
            if j.pass { "PASS" } else { "FAIL" },
            j.reason,
            self.dir.display()
        ));
        if let Some(judged) = suspects {
            s.push('\n');
            s.push_str(&judged.to_text(a.top, false, style));
        }
        s
    }

    pub(super) fn to_json(
        &self,
        j: &Judgement,
        name: &str,
        scenario: bool,
        suspects: Option<&Judged>,
        elapsed: Duration,
    ) -> GateDoc {
        let a = self.args;
        let measurements = self
            .rounds
            .iter()
            .map(|r| RoundMeasurement {
                round: r.round,
                retained: r.retained(),
                heap_used: r.heap_used,
                heap_total: r.heap_total,
                external: r.external,
                elapsed_ms: r.elapsed_ms,
            })
            .collect();
        GateDoc {
            schema_version: SCHEMA_VERSION,
            verdict: if j.pass { "pass" } else { "fail" }.into(),
            reason: j.reason.clone(),
            mode: if scenario { "scenario" } else { "http" }.into(),
            scenario: name.into(),
            command: user_command(&self.args.command),
            iterations: a.iterations,
            rounds: a.rounds,
            warmup: self.warmup,
            max_growth: a.max_growth,
            measurements,
            growth: j.to_doc(),
            run_dir: self.dir.to_string_lossy().into_owned(),
            snapshots: self
                .snapshots
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect(),
            suspects: suspects.map(|s| s.document(a.top)),
            elapsed_ms: elapsed.as_millis() as u64,
        }
    }
}

/// The command as the user gave it (the program runs with heaphound's harness in front of
/// the scenario).
pub(super) fn user_command(argv: &[OsString]) -> String {
    argv.iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) use heaphound_capture::gate::plural;
