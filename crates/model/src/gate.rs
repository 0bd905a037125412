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

/// What one iteration of the gate is, in its sentences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Iteration {
    /// A call of the scenario's function.
    Call,
    /// One HTTP request (`--http`).
    Request,
}

impl Iteration {
    pub fn as_str(self) -> &'static str {
        match self {
            Iteration::Call => "call",
            Iteration::Request => "request",
        }
    }
}

/// Which of the gate's rules decided; [`GateRule::reason`] words it from the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateRule {
    /// The growth is more than `--max-growth`.
    OverLimit,
    /// A significant trend, and material: more than a share of `--max-growth`.
    SteadyTrend,
    /// A significant trend, but too small to matter.
    SmallSteady,
    /// Within the limit and no significant trend.
    Within,
}

/// The figures the gate's sentence needs.
#[derive(Debug, Clone, Copy)]
pub struct GateFigures {
    /// Theil–Sen growth over the rounds, bytes.
    pub growth: i64,
    /// Rounds after the baseline.
    pub rounds: usize,
    pub iterations: u64,
    /// Bytes per iteration.
    pub per_call: f64,
    pub p_value: f64,
    pub max_growth: u64,
    pub per: Iteration,
}

impl GateRule {
    pub fn reason(self, f: &GateFigures) -> String {
        use crate::units::{group, human_delta, human_size};
        let unit = f.per.as_str();
        let last = f.rounds;
        let calls = group(last as u64 * f.iterations);
        let growth = human_delta(f.growth);
        let limit = human_size(f.max_growth);
        let p = f.p_value;
        match self {
            GateRule::OverLimit => format!(
                "retained memory grew by {growth} over {last} rounds ({calls} {unit}s, about {} per {unit}), more than --max-growth {limit}",
                per_call_text(f.per_call)
            ),
            GateRule::SteadyTrend => format!(
                "retained memory grew in a steady trend (Mann–Kendall p = {p:.3}) by {growth} over {last} rounds, about {} per {unit}",
                per_call_text(f.per_call)
            ),
            GateRule::SmallSteady => format!(
                "retained memory rose steadily but only by {growth} over {last} rounds ({calls} {unit}s), under a quarter of --max-growth {limit}"
            ),
            GateRule::Within => format!(
                "retained memory changed by {growth} over {last} rounds ({calls} {unit}s), within --max-growth {limit}, with no steady trend (p = {p:.2})"
            ),
        }
    }
}

fn per_call_text(bytes: f64) -> String {
    if bytes.abs() < 10.0 {
        format!("{bytes:.1} B")
    } else {
        crate::units::human_delta(bytes.round() as i64)
    }
}
