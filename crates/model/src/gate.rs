//! `gate --json` (also `gate.json` in the run folder): the rounds, the growth they show and
//! the verdict.

use serde::{Deserialize, Serialize};

use crate::suspects::SuspectsDoc;
use crate::NamedSchema;

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GateDoc {
    pub schema_version: u32,
    /// `pass` or `fail`.
    pub verdict: String,
    pub reason: String,
    /// `scenario` or `http`.
    pub mode: String,
    /// The scenario file, or the program's command for `--http`.
    pub scenario: String,
    /// The command as the user gave it.
    pub command: String,
    pub iterations: u64,
    pub rounds: u32,
    pub warmup: u64,
    /// Bytes.
    pub max_growth: u64,
    pub measurements: Vec<RoundMeasurement>,
    pub growth: Growth,
    pub run_dir: String,
    pub snapshots: Vec<String>,
    /// The suspects document of the kept snapshots when the gate fails.
    pub suspects: Option<SuspectsDoc>,
    pub elapsed_ms: u64,
}

/// Memory after one round, once garbage is collected (round 0: the baseline).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RoundMeasurement {
    pub round: u32,
    /// heap_used + external: what the gate measures.
    pub retained: u64,
    pub heap_used: u64,
    pub heap_total: u64,
    pub external: u64,
    pub elapsed_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Growth {
    /// Theil–Sen slope × rounds, bytes.
    pub growth: i64,
    /// Last round less the baseline, bytes.
    pub raw_growth: i64,
    pub per_round: i64,
    /// Bytes per iteration, to one decimal.
    pub per_call: f64,
    /// `leak` or `stable`.
    pub trend: String,
    /// Mann–Kendall one-sided p-value, to four decimals.
    pub p_value: f64,
}

pub(crate) fn schemas(out: &mut Vec<NamedSchema>) {
    crate::add::<GateDoc>(out, "gate");
}
