//! After each group is measured: what each holder adds by itself, one suspect per
//! emitter, steady growth, and the verdict on the whole.

use std::collections::HashMap;

use super::{Details, Judgement, Suspect, Verdict, MIN_GROWTH, STEADY_SHARE};
use crate::Analysis;

/// Subtracts from each suspect the growth of the suspects nearest below it in the
/// dominator tree.
pub(super) fn own_growth(a: &Analysis, suspects: &mut [Suspect]) {
    let by_holder: HashMap<u32, usize> = suspects
        .iter()
        .enumerate()
        .map(|(i, s)| (s.holder, i))
        .collect();
    let mut inner = vec![0i64; suspects.len()];
    for s in suspects.iter() {
        let mut v = s.holder;
        loop {
            let up = a.dominator[v as usize];
            if up == v || v == a.root {
                break;
            }
            if let Some(&p) = by_holder.get(&up) {
                inner[p] += s.retained_growth();
                break;
            }
            v = up;
        }
    }
    for (s, inner) in suspects.iter_mut().zip(inner) {
        s.own_growth = s.retained_growth() - inner;
    }
}

/// Listeners of one emitter can gather under several holders (each event's listener
/// array, and the `_events` object for what listeners of several events share): one
/// emitter is one suspect. The outermost holder stays; the others add to it.
pub(super) fn merge_emitters(suspects: &mut Vec<Suspect>) {
    let mut order: Vec<usize> = (0..suspects.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(suspects[i].retained_growth()));
    let mut by_emitter: HashMap<u32, usize> = HashMap::new();
    let mut absorbed = vec![false; suspects.len()];
    for i in order {
        let Details::Listeners { emitter, .. } = suspects[i].details else {
            continue;
        };
        match by_emitter.get(&emitter) {
            None => {
                by_emitter.insert(emitter, i);
            }
            Some(&j) => {
                let (own, objects, bytes, native, steady) = {
                    let s = &suspects[i];
                    (
                        s.own_growth,
                        s.leaked_objects,
                        s.leaked_bytes,
                        s.native_bytes,
                        s.steady,
                    )
                };
                let locs = suspects[i].locations.clone();
                let t = &mut suspects[j];
                t.own_growth += own;
                t.leaked_objects += objects;
                t.leaked_bytes += bytes;
                t.native_bytes += native;
                t.steady |= steady;
                for l in locs {
                    if !t.locations.contains(&l) {
                        t.locations.push(l);
                    }
                }
                absorbed[i] = true;
            }
        }
    }
    let mut k = 0;
    suspects.retain(|_| {
        k += 1;
        !absorbed[k - 1]
    });
}

/// Growth in every step, no step much smaller than the average one.
pub(super) fn is_steady(retained: &[Option<u64>]) -> bool {
    let Some(r): Option<Vec<u64>> = retained.iter().copied().collect() else {
        return false;
    };
    let steps: Vec<i64> = r.windows(2).map(|w| w[1] as i64 - w[0] as i64).collect();
    if steps.is_empty() || steps.iter().any(|&d| d <= 0) {
        return false;
    }
    let mean = steps.iter().sum::<i64>() as f64 / steps.len() as f64;
    steps.iter().all(|&d| d as f64 >= STEADY_SHARE * mean)
}

pub(super) fn judge(snapshots: usize, suspects: &[Suspect]) -> (Verdict, Judgement) {
    let big = |s: &&Suspect| s.own_growth >= MIN_GROWTH as i64;
    let leaks = suspects.iter().filter(|s| s.steady).filter(big).count();
    if snapshots < 3 {
        let why = if suspects.iter().any(|s| big(&s)) {
            Judgement::TwoGrew
        } else {
            Judgement::TwoTooFew
        };
        return (Verdict::Inconclusive, why);
    }
    if leaks > 0 {
        return (
            Verdict::Leak,
            Judgement::Leak {
                holders: leaks,
                snapshots,
            },
        );
    }
    if suspects.iter().any(|s| big(&s)) {
        return (Verdict::Inconclusive, Judgement::Unsteady);
    }
    if suspects.iter().any(|s| s.steady) {
        return (
            Verdict::Inconclusive,
            Judgement::SmallSteady {
                min_growth: MIN_GROWTH,
            },
        );
    }
    (Verdict::NoLeak, Judgement::NoLeak { snapshots })
}
