//! The verdict's `reason`, worded from the rule that gave it. It is part of the JSON, so
//! every command that judges snapshots words it the same way.

use super::Judgement;

impl Judgement {
    /// One sentence.
    pub fn reason(self) -> String {
        match self {
            Judgement::TwoGrew => "memory grew between the two snapshots, but two snapshots cannot tell steady growth from a one-off: take a third after more load".into(),
            Judgement::TwoTooFew => {
                "two snapshots are too few to judge: take a third after more load".into()
            }
            Judgement::Leak { holders, snapshots } => {
                format!("{holders} holder(s) grew in every step between {snapshots} snapshots")
            }
            Judgement::Unsteady => "memory grew, but not in every step: take more snapshots with the same load between them".into(),
            Judgement::SmallSteady { min_growth } => format!(
                "growth is steady but small (under {} kB): run more load between snapshots",
                min_growth / 1000
            ),
            Judgement::NoLeak { snapshots } => {
                format!("no object grows steadily across the {snapshots} snapshots")
            }
        }
    }
}
