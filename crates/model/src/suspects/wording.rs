//! The sentences a suspects document carries: the verdict's `reason`, worded from the rule
//! that gave it, each suspect's `title` and its holder's `name`, worded from the suspect's
//! figures. They are part of the JSON, so every command that judges snapshots words them
//! the same way.

use super::{Details, Holder, Judgement, Place, SuspectDoc};
use crate::object::ObjectRef;
use crate::units::{group, human_size, short_path};

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
            Judgement::TooFewSnapshots { kept } => format!(
                "only {kept} snapshot{} captured before the run stopped, and at least 2 are needed to find a leak: run it again to the end",
                if kept == 1 { " was" } else { "s were" }
            ),
            Judgement::OneSnapshot { holders: 0, percent } => format!(
                "one snapshot, and no holder retains {percent}% of its heap or more: one snapshot cannot show growth"
            ),
            Judgement::OneSnapshot { holders, percent } => format!(
                "one snapshot: {holders} holder(s) retain {percent}% of its heap or more each; one snapshot cannot show whether they grow"
            ),
        }
    }
}

impl Holder {
    /// `Map sessionCache`, `Array recentRequests`: the holder's class and the name it goes
    /// by.
    pub fn word_name(object: &ObjectRef, place: &Place) -> String {
        let class = &object.class;
        match place {
            Place::ModuleVariable { name, .. }
            | Place::ClosureVariable { name, .. }
            | Place::Global { name }
            | Place::Member { name, .. } => format!("{class} `{name}`"),
            Place::ModuleScope {
                file,
                original_file,
            } => scope_name("module scope", original_file.as_ref().or(file.as_ref())),
            Place::ClosureScope {
                file,
                original_file,
            } => scope_name("closure scope", original_file.as_ref().or(file.as_ref())),
            Place::Unknown => class.clone(),
        }
    }
}

fn scope_name(scope: &str, file: Option<&String>) -> String {
    match file {
        Some(file) => format!("the {scope} of {}", short_path(file)),
        None => format!("a {scope}"),
    }
}

impl SuspectDoc {
    /// Words the holder's `name` and then the `title` from the figures.
    pub fn word(&mut self) {
        self.holder.name = Holder::word_name(&self.holder.object, &self.holder.place);
        self.title = self.title_sentence();
    }

    /// Average objects added per step, when they grew.
    fn per_step(&self) -> Option<u64> {
        let steps: Vec<i64> = self.count_growth.iter().copied().flatten().collect();
        if steps.is_empty() {
            return None;
        }
        let avg = steps.iter().sum::<i64>() / steps.len() as i64;
        (avg > 0).then_some(avg as u64)
    }

    /// One sentence that names the leak.
    fn title_sentence(&self) -> String {
        if self.counts.len() == 1 {
            return self.one_snapshot_title();
        }
        let holder = &self.holder.name;
        let class = &self.class;
        let rate = self
            .per_step()
            .map(|n| format!("+{} {class} per snapshot", group(n)))
            .unwrap_or_else(|| format!("{class} objects accumulate"));
        let last = self.counts.last().copied().flatten().unwrap_or(0);
        match &self.details {
            Details::Listeners {
                emitter,
                events,
                max_listeners_raised,
            } => {
                let list: Vec<String> = events
                    .iter()
                    .take(3)
                    .map(|e| format!("'{}' ×{}", e.event, group(e.listeners)))
                    .collect();
                let name = match &self.emitter_variable {
                    Some(var) => format!("{} `{var}`", emitter.class),
                    None => emitter.class.clone(),
                };
                let raised = if *max_listeners_raised == Some(true) {
                    "; setMaxListeners was raised, so Node's leak warning stays quiet"
                } else {
                    ""
                };
                format!(
                    "Listeners added per request pile up on {name}: {}{raised}",
                    list.join(", ")
                )
            }
            Details::SharedContext {
                captured_variable, ..
            } => format!(
                "Closures share a context that captures `{captured_variable}`: each {class} keeps the previous one alive ({rate})"
            ),
            Details::Timers {
                duration_ms,
                timers,
                captures,
                ..
            } => {
                let every = duration_ms.map(|d| format!(" ({d} ms)")).unwrap_or_default();
                let keeps = if captures.is_empty() {
                    "its callback's data".to_string()
                } else {
                    captures
                        .iter()
                        .take(3)
                        .map(|c| format!("`{}` ({})", c.variable, c.class))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                format!(
                    "{} timers never cleared{every}; each callback keeps {keeps} alive",
                    group(*timers)
                )
            }
            Details::Buffers { .. } => format!(
                "Buffers accumulate in {holder}: {} more retained, mostly backing stores off the JS heap ({rate})",
                human_size(self.retained_growth.max(0) as u64)
            ),
            Details::Promises {
                promises,
                keeps_alive,
            } => {
                let keeps = if keeps_alive.is_empty() {
                    String::new()
                } else {
                    format!("; they keep {} alive", keeps_alive.join(", "))
                };
                if self.holder.object.class == "Promise" {
                    format!(
                        "{holder} never settles and collects a reaction per call: {} promises held{keeps}",
                        group(*promises)
                    )
                } else {
                    format!(
                        "Promises that never settle pile up in {holder}: {} held{keeps}",
                        group(*promises)
                    )
                }
            }
            Details::Stream {
                stream,
                name,
                buffered_chunks,
                ..
            } => {
                let chunks = buffered_chunks
                    .map(|n| format!("{} writes buffered", group(n)))
                    .unwrap_or_else(|| "its buffer grows".into());
                let stream = match name {
                    Some(n) => format!("{stream} `{n}`"),
                    None => stream.clone(),
                };
                format!("{stream} is written to without backpressure: {chunks} ({rate})")
            }
            Details::Collection {
                collection,
                entries,
            } => {
                let n = entries.map(group).unwrap_or_else(|| group(last));
                if self.shape == "global-array" {
                    format!("{holder} only ever grows: {n} elements ({rate})")
                } else if collection == "object used as a map" {
                    format!("{holder}, an object used as a map, grows without bound ({rate})")
                } else {
                    format!("{holder} grows without bound: {n} entries ({rate})")
                }
            }
            Details::None {} => format!("{class} objects accumulate under {holder} ({rate})"),
        }
    }
}

impl SuspectDoc {
    /// A holder of one snapshot: what it keeps, not how it grows (Eclipse MAT's wording of
    /// a leak suspect in a single dump).
    fn one_snapshot_title(&self) -> String {
        let holder = &self.holder.name;
        let class = &self.class;
        let retained = self.retained_sizes.first().copied().flatten().unwrap_or(0);
        let n = self.counts.first().copied().flatten().unwrap_or(0);
        let keeps = match &self.details {
            Details::Listeners {
                emitter, events, ..
            } => {
                let n: u64 = events.iter().map(|e| e.listeners).sum();
                format!("{} keeps {} listeners", emitter.class, group(n))
            }
            Details::Timers { timers, .. } => {
                format!("{} timers keep their callbacks' data", group(*timers))
            }
            Details::Promises { promises, .. } => {
                format!("{holder} holds {} unsettled promises", group(*promises))
            }
            Details::Collection { entries, .. } => {
                format!("{holder} holds {} entries", group(entries.unwrap_or(n)))
            }
            Details::Buffers { .. } => {
                format!("{holder} holds Buffers, mostly backing stores off the JS heap")
            }
            _ => format!("{holder} holds {} {class}", group(n)),
        };
        format!("{keeps}, retaining {}", human_size(retained))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ObjectId;

    fn object(class: &str) -> ObjectRef {
        ObjectRef {
            id: ObjectId(7),
            node_type: "object".into(),
            class: class.into(),
            name: String::new(),
            self_size: 1,
            shallow_size: 1,
            retained_size: 1,
            distance: Some(3),
        }
    }

    #[test]
    fn holders_go_by_their_class_and_name() {
        let map = object("Map");
        let place = Place::ModuleVariable {
            name: "sessionCache".into(),
            file: None,
            original_file: None,
        };
        assert_eq!(Holder::word_name(&map, &place), "Map `sessionCache`");
        let scope = Place::ModuleScope {
            file: Some("file:///srv/app/lib/cache.js".into()),
            original_file: None,
        };
        assert_eq!(
            Holder::word_name(&object("system / Context"), &scope),
            "the module scope of lib/cache.js"
        );
        let compiled = Place::ModuleScope {
            file: Some("/srv/app/dist/cache.js".into()),
            original_file: Some("/srv/app/src/cache.ts".into()),
        };
        assert_eq!(
            Holder::word_name(&object("system / Context"), &compiled),
            "the module scope of src/cache.ts"
        );
        assert_eq!(Holder::word_name(&map, &Place::Unknown), "Map");
    }

    #[test]
    fn titles_count_and_size_as_tables_do() {
        assert_eq!(group(1_234_567), "1,234,567");
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(33_400_000), "33.4 MB");
    }
}
