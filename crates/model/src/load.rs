//! `load.json` (also `load` in a hunt's `report.json`): how the traffic was made, its
//! totals, and each phase.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::NamedSchema;

/// The load of a capture, by how it was made.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "mode", rename_all = "lowercase")]
pub enum LoadDoc {
    /// heaphound's own HTTP/1.1 load.
    Http(HttpLoad),
    /// The user's `--drive` command, run once per phase.
    Command(CommandLoad),
    /// A person drove the traffic and pressed Enter.
    Manual(ManualLoad),
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HttpLoad {
    pub url: String,
    pub method: String,
    pub connections: u64,
    pub requests_per_phase: Option<u64>,
    pub duration_per_phase_ms: Option<u64>,
    pub warmup_requests: u64,
    pub requests: u64,
    pub ok: u64,
    pub errors: u64,
    pub non_2xx: u64,
    /// Over all phases: each phase's percentiles weighted by its answered requests.
    pub latency_ms: LatencyMs,
    pub phases: Vec<LoadPhase>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CommandLoad {
    pub command: String,
    /// Unknown for a command: always null.
    pub requests: Option<u64>,
    pub errors: Option<u64>,
    pub latency_ms: Option<LatencyMs>,
    pub phases: Vec<LoadPhase>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ManualLoad {
    /// Unknown when a person drives: always null.
    pub requests: Option<u64>,
    pub errors: Option<u64>,
    pub latency_ms: Option<LatencyMs>,
    pub phases: Vec<LoadPhase>,
}

/// Milliseconds, rounded to the microsecond.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LatencyMs {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

/// Microseconds, as the load driver measured them.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LatencyUs {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
    pub mean: u64,
}

/// One phase: `warmup`, `load-1`, …
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LoadPhase {
    pub phase: String,
    #[serde(flatten)]
    pub outcome: PhaseOutcome,
}

/// What a phase did; told apart by its keys.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum PhaseOutcome {
    Http(HttpPhase),
    Command(CommandPhase),
    /// Cut short before it could report (Ctrl-C, the program ended).
    Abandoned(AbandonedPhase),
    Manual(ManualPhase),
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HttpPhase {
    pub requests: u64,
    pub ok: u64,
    pub errors: u64,
    pub non_2xx: u64,
    pub latency_ms: LatencyMs,
    /// Requests per second, to one decimal.
    pub rps: f64,
    pub elapsed_ms: u64,
    /// Answers by HTTP status (keys are strings: a flattened phase cannot read number keys
    /// back).
    pub status_counts: BTreeMap<String, u64>,
    /// Requests without a complete answer, by kind ("timeout", "connection refused", …).
    pub error_counts: BTreeMap<String, u64>,
    /// Response bytes received, heads included.
    pub bytes: u64,
    /// Why the phase gave up before its end (the server stopped answering).
    pub stopped_early: Option<String>,
    pub latency_us: LatencyUs,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CommandPhase {
    pub exit_status: Option<i32>,
    pub signal: Option<i32>,
    pub success: bool,
    /// Still running when the phase had to end, and stopped.
    pub stopped: bool,
    pub elapsed_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AbandonedPhase {
    pub abandoned: bool,
    pub elapsed_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ManualPhase {
    pub waited_ms: u64,
}

impl LoadDoc {
    pub fn phases(&self) -> &[LoadPhase] {
        match self {
            LoadDoc::Http(h) => &h.phases,
            LoadDoc::Command(c) => &c.phases,
            LoadDoc::Manual(m) => &m.phases,
        }
    }
}

pub(crate) fn schemas(out: &mut Vec<NamedSchema>) {
    // load.json holds null when the program never got ready for load.
    crate::add::<Option<LoadDoc>>(out, "load");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_load_document_reads_back_as_written() {
        let text = r#"{"mode":"http","url":"http://127.0.0.1:1/x","method":"GET","connections":4,"requests_per_phase":10,"duration_per_phase_ms":null,"warmup_requests":100,"requests":20,"ok":19,"errors":1,"non_2xx":0,"latency_ms":{"p50":0.5,"p90":1.0,"p99":2.25,"max":3.0},"phases":[{"phase":"warmup","requests":10,"ok":10,"errors":0,"non_2xx":0,"latency_ms":{"p50":0.5,"p90":1.0,"p99":2.25,"max":3.0},"rps":1000.5,"elapsed_ms":10,"status_counts":{"200":10},"error_counts":{},"bytes":900,"stopped_early":null,"latency_us":{"p50":500,"p90":1000,"p99":2250,"max":3000,"mean":600}},{"phase":"load-1","abandoned":true,"elapsed_ms":5},{"phase":"load-2","exit_status":0,"signal":null,"success":true,"stopped":false,"elapsed_ms":7},{"phase":"load-3","waited_ms":9}]}"#;
        let doc: LoadDoc = serde_json::from_str(text).unwrap();
        let phases = doc.phases();
        assert!(matches!(phases[0].outcome, PhaseOutcome::Http(_)));
        assert!(matches!(phases[1].outcome, PhaseOutcome::Abandoned(_)));
        assert!(matches!(phases[2].outcome, PhaseOutcome::Command(_)));
        assert!(matches!(phases[3].outcome, PhaseOutcome::Manual(_)));
        assert_eq!(serde_json::to_string(&doc).unwrap(), text);
    }
}
