//! The leak report across snapshots of one process: which long-lived objects accumulate
//! new objects snapshot after snapshot, what shape the leak has, what holds it and where
//! in the program it comes from.
//!
//! `growth` finds the leaked objects and groups them under their accumulation point;
//! [`find`] gathers each group's statistics in one pass; `measure` follows each group
//! across every snapshot (the holder exists in all of them, so its retained size and the
//! count of the leaking class under it form a series); `describe` finds its path, place
//! and shape (`shapes`) and where it points at code (`source`); `rank` judges whether the
//! growth is steady, ranks, and gives the verdict.

mod describe;
pub mod growth;
mod measure;
mod rank;
pub mod shapes;
pub mod single;
pub mod source;

use std::collections::HashMap;

use heaphound_snapshot::{HeapGraph, NodeKind};

use crate::classes::ClassInfo;
use crate::paths::RetainerPath;
use crate::Analysis;
use describe::describe;
use growth::IdSet;
use measure::{representative, series, ClassStat};
use rank::{is_steady, judge, merge_emitters, own_growth};
pub use shapes::{Details, Shape};
pub use source::SourceRef;

/// One snapshot, read and analysed.
#[derive(Clone, Copy)]
pub struct Snap<'a> {
    pub graph: &'a HeapGraph,
    pub analysis: &'a Analysis,
}

/// Growth below this (bytes retained by the holder, first to last snapshot) is not worth
/// a suspect: runtimes cache and warm up by a few kilobytes all the time.
pub const MIN_GROWTH: u64 = 32 * 1024;
/// Steady growth: every step adds at least this share of the average step.
const STEADY_SHARE: f64 = 0.2;
/// Groups measured across snapshots (the largest by leaked bytes).
const CANDIDATES: usize = 40;
/// Longest retainer path searched for: leaks in linked lists and context chains sit
/// thousands of references deep.
const MAX_PATH: u32 = 1_000_000;

/// What the snapshots say: the leak verdict, shared with every document that embeds it.
pub use heaphound_model::suspects::{Judgement, LeakVerdict as Verdict};

/// How the holder is reached, in a user's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A variable of a closure context; `module` when it is a module's top-level scope.
    Variable {
        name: String,
        script: Option<String>,
        module: bool,
    },
    /// The holder is itself a closure context: a module's top-level scope, or a function's.
    Scope {
        script: Option<String>,
        module: bool,
    },
    /// A property of the global object.
    Global {
        name: String,
    },
    /// A property or element of another object.
    Member {
        name: String,
        owner: u32,
    },
    Unknown,
}

#[derive(Debug, Clone)]
pub struct Suspect {
    pub shape: Shape,
    pub details: Details,
    /// The accumulation point, in the last snapshot.
    pub holder: u32,
    pub place: Place,
    /// The class whose objects pile up under the holder.
    pub class: ClassInfo,
    /// Objects of `class` the holder keeps (dominates) in each snapshot; None where the
    /// holder was not found.
    pub counts: Vec<Option<u64>>,
    /// The holder's retained size in each snapshot.
    pub retained: Vec<Option<u64>>,
    /// Leaked objects under the holder in the last snapshot, their bytes, and of those
    /// the bytes off the JS heap.
    pub leaked_objects: u64,
    pub leaked_bytes: u64,
    pub native_bytes: u64,
    pub steady: bool,
    /// `retained_growth` less that of the other suspects this holder keeps alive: what
    /// this holder adds by itself. A module scope that holds a leaking Map grows as much as
    /// the Map, but the Map is the leak.
    pub own_growth: i64,
    /// A leaked object of `class`, the end of `path`.
    pub sample: u32,
    pub path: Option<RetainerPath>,
    pub locations: Vec<SourceRef>,
    /// Innermost frame first, when the snapshot has allocation traces.
    pub allocation_stack: Vec<heaphound_model::source::StackFrame>,
}

impl Suspect {
    /// Retained bytes gained from the first snapshot to the last.
    pub fn retained_growth(&self) -> i64 {
        match (self.retained.first(), self.retained.last()) {
            (Some(Some(a)), Some(Some(b))) => *b as i64 - *a as i64,
            _ => 0,
        }
    }

    /// Per step: how many objects of `class` were added.
    pub fn count_growth(&self) -> Vec<Option<i64>> {
        self.counts
            .windows(2)
            .map(|w| match (w[0], w[1]) {
                (Some(a), Some(b)) => Some(b as i64 - a as i64),
                _ => None,
            })
            .collect()
    }
}

pub struct Findings {
    pub verdict: Verdict,
    /// Why, in a sentence (worded from `judgement`).
    pub reason: String,
    pub judgement: Judgement,
    /// Ranked, the steadiest and largest first.
    pub suspects: Vec<Suspect>,
    /// Leaked objects of the last snapshot, over all holders.
    pub leaked_objects: u64,
    pub leaked_bytes: u64,
}

/// Per group: leaked closures by where they were defined (script, line, column), with a
/// count and one of them.
type ClosureSites = HashMap<(u32, u32, u32), (u64, u32)>;

/// Judges the snapshots, oldest first (at least two).
pub fn find(snaps: &[Snap]) -> Findings {
    assert!(snaps.len() >= 2, "suspects need two snapshots or more");
    let last = *snaps.last().expect("snapshots");
    let (g, a) = (last.graph, last.analysis);
    let first = IdSet::of(snaps[0].graph);
    let previous = (snaps.len() >= 3).then(|| IdSet::of(snaps[snaps.len() - 2].graph));
    let growth = growth::find(g, a, &first, previous.as_ref());
    drop((first, previous));
    let leaked_objects = growth.groups.iter().map(|x| x.count).sum();
    let leaked_bytes = growth.groups.iter().map(|x| x.bytes).sum();
    let mut suspects = build(snaps, &growth, false);
    suspects.retain(|s| s.own_growth >= (MIN_GROWTH / 4) as i64);
    suspects.sort_by(|x, y| {
        let key = |s: &Suspect| (s.steady && s.own_growth >= MIN_GROWTH as i64, s.own_growth);
        key(y).cmp(&key(x))
    });
    let (verdict, judgement) = judge(snaps.len(), &suspects);
    Findings {
        verdict,
        reason: judgement.reason(),
        judgement,
        suspects,
        leaked_objects,
        leaked_bytes,
    }
}

/// One snapshot: the holders that each retain [`single::SHARE`] of the heap or more
/// (Eclipse MAT's leak suspects of a single dump), by leak shape, largest first. Growth
/// cannot be seen, so the verdict is inconclusive; `leaked_*` count what they keep.
pub fn find_single(snap: Snap) -> Findings {
    let growth = single::heavy(snap.graph, snap.analysis);
    let leaked_objects = growth.groups.iter().map(|x| x.count).sum();
    let leaked_bytes = growth.groups.iter().map(|x| x.bytes).sum();
    let mut suspects = build(&[snap], &growth, true);
    suspects.sort_by_key(|s| std::cmp::Reverse(s.retained.first().copied().flatten()));
    let judgement = Judgement::OneSnapshot {
        holders: suspects.len(),
        percent: (single::SHARE * 100.0).round() as u32,
    };
    Findings {
        verdict: Verdict::Inconclusive,
        reason: judgement.reason(),
        judgement,
        suspects,
        leaked_objects,
        leaked_bytes,
    }
}

/// The suspects of the groups `growth` found in the last snapshot, measured across all.
/// `single`: one snapshot, where nothing can be seen to grow, so none is dropped for it.
fn build(snaps: &[Snap], growth: &growth::Growth, single: bool) -> Vec<Suspect> {
    let last = *snaps.last().expect("snapshots");
    let (g, a) = (last.graph, last.analysis);
    let cands: Vec<&growth::Group> = growth
        .groups
        .iter()
        .filter(|grp| grp.holder != a.root && g.kind(grp.holder) != NodeKind::Synthetic)
        .take(CANDIDATES)
        .collect();
    let index: HashMap<u32, usize> = cands
        .iter()
        .enumerate()
        .map(|(i, grp)| (grp.holder, i))
        .collect();

    let src = source::Sources::new(g);
    // One pass over the leaked objects: class statistics, context variables and the most
    // common closure definition per group.
    let mut closures: Vec<ClosureSites> = vec![HashMap::new(); cands.len()];
    let mut stats: Vec<HashMap<u32, ClassStat>> = vec![HashMap::new(); cands.len()];
    let mut vars: Vec<HashMap<String, u64>> = vec![HashMap::new(); cands.len()];
    for v in 0..g.node_count() as u32 {
        if !growth.leaked.get(v) || a.shallow[v as usize] == 0 {
            continue;
        }
        let Some(&k) = index.get(&growth.holder[v as usize]) else {
            continue;
        };
        let depth = growth.depth[v as usize];
        let dist = a.distance[v as usize];
        let s = stats[k]
            .entry(a.classes.of_node[v as usize])
            .or_insert(ClassStat {
                best: v,
                best_depth: u32::MAX,
                best_distance: u32::MAX,
                ..ClassStat::default()
            });
        s.count += 1;
        s.depth_sum += depth as u64;
        // The sample: nearest the holder, then nearest a root (in a linked list every
        // member is right below the list, but only the head is a short path away).
        if (depth, dist) < (s.best_depth, s.best_distance) {
            s.best = v;
            s.best_depth = depth;
            s.best_distance = dist;
        }
        if g.kind(v) == NodeKind::Closure {
            if let Some(l) = src.location(v) {
                let slot = closures[k]
                    .entry((l.script_id, l.line, l.column))
                    .or_insert((0, v));
                slot.0 += 1;
            }
        }
        if a.class_name(v) == "system / Context" {
            // Only variables whose value the context alone keeps: in a chain, the link
            // to the previous object, not the reference back to the closure's owner.
            for e in g.edges(v) {
                let t = g.edge_to[e as usize];
                if growth.leaked.get(t) && a.dominator[t as usize] == v {
                    if let Some(name) = source::context_variable(g, v, e) {
                        *vars[k].entry(name).or_default() += 1;
                    }
                }
            }
        }
    }

    let mut suspects: Vec<Suspect> = Vec::new();
    for (k, grp) in cands.iter().enumerate() {
        let Some((class, sample)) = representative(g, a, &stats[k]) else {
            continue;
        };
        let holder_id = g.node_id[grp.holder as usize];
        let (counts, retained) = series(snaps, holder_id, &class);
        let mut s = Suspect {
            shape: Shape::Growing,
            details: Details::None,
            holder: grp.holder,
            place: Place::Unknown,
            class,
            counts,
            retained,
            leaked_objects: grp.count,
            leaked_bytes: grp.bytes,
            native_bytes: grp.native_bytes,
            steady: false,
            own_growth: 0,
            sample,
            path: None,
            locations: Vec::new(),
            allocation_stack: Vec::new(),
        };
        s.steady =
            is_steady(&s.retained) && s.count_growth().iter().all(|d| d.is_none_or(|d| d >= 0));
        if !single && s.retained_growth() < (MIN_GROWTH / 4) as i64 {
            continue;
        }
        let mut classes: HashMap<&str, u64> = HashMap::new();
        for (&c, st) in &stats[k] {
            *classes
                .entry(&a.classes.classes[c as usize].name)
                .or_default() += st.count;
        }
        let mut classes: Vec<(String, u64)> = classes
            .into_iter()
            .map(|(n, c)| (n.to_string(), c))
            .collect();
        classes.sort_by(|x, y| y.1.cmp(&x.1).then_with(|| x.0.cmp(&y.0)));
        let mut context_vars: Vec<(String, u64)> = vars[k].drain().collect();
        context_vars.sort_by(|x, y| y.1.cmp(&x.1).then_with(|| x.0.cmp(&y.0)));
        let closure = closures[k]
            .values()
            .filter(|(_, v)| {
                src.of_node(*v, "closure")
                    .is_some_and(|r| source::is_user_script(&r.file))
            })
            .max_by_key(|(n, v)| (*n, std::cmp::Reverse(*v)))
            .map(|(_, v)| *v);
        describe(g, a, &src, &mut s, &classes, &context_vars);
        // Also the most common of the program's own classes among what leaked, for
        // leaks whose objects are built-ins (promises, timers, listener functions).
        let located = stats[k]
            .iter()
            .filter_map(|(&c, st)| {
                let info = &a.classes.classes[c as usize];
                let p = info.position?;
                let file = src
                    .script(p.script_id)
                    .filter(|f| source::is_user_script(f))?;
                Some((st.count, info, p, file))
            })
            .max_by(|x, y| x.0.cmp(&y.0).then_with(|| y.1.name.cmp(&x.1.name)))
            .map(|(_, info, p, file)| SourceRef {
                file: file.to_string(),
                line: p.line + 1,
                column: p.column + 1,
                kind: "constructor",
                function: Some(info.name.clone()),
            });
        for r in [closure.and_then(|c| src.of_node(c, "closure")), located]
            .into_iter()
            .flatten()
        {
            if !s
                .locations
                .iter()
                .any(|x| x.file == r.file && x.line == r.line)
            {
                s.locations.push(r);
            }
        }
        suspects.push(s);
    }
    own_growth(a, &mut suspects);
    if single {
        // What each holder keeps by itself stands in for its growth.
        for s in &mut suspects {
            s.own_growth = s.retained[0].unwrap_or(0) as i64;
        }
    }
    merge_emitters(&mut suspects);
    for s in &mut suspects {
        // For listeners and timers the function that was added is the line to fix.
        if matches!(s.shape, Shape::EventListeners | Shape::Timers) {
            s.locations.sort_by_key(|l| l.kind != "closure");
        }
        // A promise leak's path runs through whatever closure happens to reach the
        // promise first; the class of what the pending reactions keep alive is the lead.
        if s.shape == Shape::UnsettledPromises {
            s.locations.sort_by_key(|l| match l.kind {
                "allocation" => 0,
                "constructor" => 1,
                _ => 2,
            });
        }
    }
    suspects
}
