//! The sentences a verdict carries in `reason` and `needed`, worded from its figures. They
//! are part of the JSON, so every command that judges a trend words them the same way.

use super::{Finding, Source, StableWhy, Verdict};
use crate::units::MB;

impl Finding {
    /// One sentence, with the numbers.
    pub fn reason(&self, v: &Verdict) -> String {
        let floor = v.floor.as_ref();
        let grew = || {
            floor.map_or_else(String::new, |w| {
                format!("{} → {} over {:.0} s", mb(w.first), mb(w.last), w.span_s)
            })
        };
        match self {
            Finding::TooFew { have, need, .. } => {
                format!("too few post-GC points to judge ({have} of {need})")
            }
            Finding::SameTime { .. } => "the samples all have the same time".into(),
            Finding::NoTimeSpan { backwards: 0, .. } => {
                "no time span: every collection has the same timestamp, so no rate of growth can be measured".into()
            }
            Finding::NoTimeSpan { backwards, .. } => format!(
                "no time span: the timestamps go backwards {} time{}, so the lines are not one run in time order and no rate of growth can be measured",
                backwards,
                if *backwards == 1 { "" } else { "s" }
            ),
            Finding::OffHeap { heap_rising } => {
                let heap_note = if *heap_rising {
                    format!(
                        ", the heap floor only {} MB/hour",
                        fmt_rate(floor.map_or(0.0, |w| w.mb_per_hour()))
                    )
                } else {
                    ", while the heap floor is flat".to_string()
                };
                let Some((name, t)) = &v.off_heap else {
                    return String::new();
                };
                format!(
                    "{name} grows {} MB/hour ({} → {} over {:.0} s, Mann–Kendall p={:.2e}){heap_note}: memory goes outside the JS heap (Buffers, native addons)",
                    fmt_rate(t.mb_per_hour()),
                    mb(t.first),
                    mb(t.last),
                    t.span_s,
                    t.mk.p
                )
            }
            Finding::Plateau { ratio, late_share } => format!(
                "the post-GC floor rose ({}) but flattened: the last {:.0}% grows at {:.0}% of the early rate — V8 filling its budget or a bounded cache, not a leak",
                grew(),
                late_share * 100.0,
                (ratio.max(0.0) * 100.0)
            ),
            Finding::Leak { estimated } => {
                let (rate, z, p) = floor.map_or((0.0, 0.0, 0.0), |w| (w.mb_per_hour(), w.mk.z, w.mk.p));
                format!(
                    "the post-GC floor rises steadily: {} MB/hour ({}, Theil–Sen; Mann–Kendall Z={:.1}, p={:.2e}){}",
                    fmt_rate(rate),
                    grew(),
                    z,
                    p,
                    if *estimated {
                        "; the floor is the low points of samples without forced GCs, where garbage not yet collected can pass for growth"
                    } else {
                        ""
                    }
                )
            }
            Finding::Periodic { typical } => {
                let spikes = &v.spikes;
                format!(
                    "{} spikes of up to {} above a flat floor ({}), each back down{}: a sawtooth of transient allocations, not a leak",
                    spikes.count,
                    mb(spikes.max_height),
                    mb(*typical),
                    spikes
                        .period_s
                        .map(|p| format!(", about every {p:.1} s"))
                        .unwrap_or_default()
                )
            }
            Finding::Stable {
                typical,
                threshold,
                why,
            } => {
                let Some(w) = floor else {
                    return String::new();
                };
                let why = match why {
                    StableWhy::SlightRise => format!(
                        "a slight rise of {} is too small to matter (under {})",
                        mb(w.growth()),
                        mb(*threshold)
                    ),
                    StableWhy::Falls => format!("it falls (Mann–Kendall p={:.2e})", w.mk.p),
                    StableWhy::NoTrend => format!("no significant trend, p={:.2}", w.mk.p),
                };
                format!(
                    "the post-GC floor stays at about {} ({} → {} over {:.0} s; {why})",
                    mb(*typical),
                    mb(w.first),
                    mb(w.last),
                    w.span_s,
                )
            }
            Finding::FewFullGcs {
                full_gcs,
                live,
                last_full,
                ..
            } => {
                let live = match (live, last_full) {
                    (Some((a, b)), Some((at, span))) => format!(
                        "; its last two full GCs left {} and {}, but the last came {at:.1} s into a {span:.1} s log, and what the floor did after it can be promoted garbage",
                        mb(*a),
                        mb(*b)
                    ),
                    (Some((a, b)), None) => format!(
                        "; its last two full GCs left {} and {}, so the live heap did not grow between them",
                        mb(*a),
                        mb(*b)
                    ),
                    _ => String::new(),
                };
                format!(
                    "the floor after scavenges rose ({}), but the log has {full_gcs} full GC(s), and a scavenge leaves promoted garbage that only a full GC frees{live}",
                    grew()
                )
            }
            Finding::Noisy => {
                let Some(w) = floor else {
                    return String::new();
                };
                format!(
                    "the post-GC floor moves by {} over {:.0} s but without a steady trend (Mann–Kendall p={:.2}): too noisy",
                    mb(w.growth()),
                    w.span_s,
                    w.mk.p
                )
            }
            Finding::RssTooFew { .. } => "too few RSS samples to judge".into(),
            Finding::RssLeak => {
                let Some(t) = floor else {
                    return String::new();
                };
                format!(
                    "resident memory rises steadily: {} MB/hour ({} → {} over {:.0} s, Mann–Kendall p={:.2e}); from RSS alone heap and off-heap growth look the same",
                    fmt_rate(t.mb_per_hour()),
                    mb(t.first),
                    mb(t.last),
                    t.span_s,
                    t.mk.p
                )
            }
            Finding::RssStable => {
                let Some(t) = floor else {
                    return String::new();
                };
                format!(
                    "resident memory stays at about {} over {:.0} s (no significant trend, p={:.2})",
                    mb(t.last),
                    t.span_s,
                    t.mk.p
                )
            }
            Finding::RssNoisy => {
                let Some(t) = floor else {
                    return String::new();
                };
                format!(
                    "resident memory moves by {} without a steady trend (p={:.2})",
                    mb(t.growth()),
                    t.mk.p
                )
            }
        }
    }

    /// What would settle an unsure verdict, if anything.
    pub fn needed(&self, v: &Verdict) -> Option<String> {
        match self {
            Finding::TooFew { have, need, source } | Finding::RssTooFew { have, need, source } => {
                Some(needed(*source, *have, *need))
            }
            Finding::SameTime { need, source } => Some(needed(*source, 0, *need)),
            Finding::NoTimeSpan { source, .. } => Some(match source {
                Source::GcLog => {
                    "the log of one run of the program over some time, its lines in the order node wrote them".into()
                }
                _ => "samples taken over some time, in the order they were taken".into(),
            }),
            Finding::FewFullGcs {
                last_full: Some((at, span)),
                ..
            } => Some(format!(
                "a longer log with full GCs (Mark-Compact) through all of it (this one's last came {at:.1} s into {span:.1} s): let the program run longer under load"
            )),
            Finding::FewFullGcs { full_gcs, need, .. } => Some(format!(
                "a longer log with at least {need} full GCs (Mark-Compact; this one has {full_gcs}): let the program run longer under load"
            )),
            Finding::Noisy => Some(format!(
                "a longer run (at least {}) or forced GCs (--gc) to steady the floor",
                human_secs((v.floor.as_ref().map_or(0.0, |w| w.span_s) * 3.0).max(60.0))
            )),
            Finding::RssLeak => {
                Some("heap figures (--inspect) to tell a heap leak from off-heap growth".into())
            }
            Finding::RssNoisy => Some("a longer run, or heap figures (--inspect)".into()),
            _ => None,
        }
    }
}

fn needed(source: Source, have: usize, need: usize) -> String {
    let more = need.saturating_sub(have).max(1);
    match source {
        Source::Series { interval_s } => {
            // The envelope keeps about one point per 3 samples.
            let secs = (need * 3) as f64 * interval_s;
            format!(
                "at least {need} post-GC points (have {have}): sample for at least {} at this interval, or use a shorter --interval",
                human_secs(secs.max(1.0))
            )
        }
        Source::GcLog => format!(
            "at least {need} garbage collections in the log (have {have}): let the program run longer under load"
        ),
        Source::Rounds => {
            format!("at least {need} post-GC measurements (have {have}, {more} more)")
        }
    }
}

fn human_secs(s: f64) -> String {
    if s >= 120.0 {
        format!("{:.0} minutes", (s / 60.0).ceil())
    } else {
        format!("{:.0} seconds", s.ceil())
    }
}

/// Sizes for people are decimal, as everywhere in heaphound (DevTools' units).
fn mb(bytes: f64) -> String {
    let m = bytes / MB;
    if m.abs() >= 10.0 {
        format!("{m:.0} MB")
    } else {
        format!("{m:.1} MB")
    }
}

fn fmt_rate(mb_per_hour: f64) -> String {
    if mb_per_hour.abs() >= 100.0 {
        format!("{mb_per_hour:.0}")
    } else {
        format!("{mb_per_hour:.1}")
    }
}
