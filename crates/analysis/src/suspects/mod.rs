//! The leak report across snapshots of one process: which long-lived objects accumulate
//! new objects snapshot after snapshot, what shape the leak has, what holds it and where
//! in the program it comes from.
//!
//! `growth` finds the leaked objects and groups them under their accumulation point;
//! this module measures each group across every snapshot (the holder exists in all of
//! them, so its retained size and the count of the leaking class under it form a series),
//! judges whether the growth is steady, and ranks; `shapes` names the shape and `source`
//! points at code.

pub mod growth;
pub mod shapes;
pub mod source;

use std::collections::HashMap;

use heaphound_snapshot::{EdgeKind, HeapGraph, NodeKind};

use crate::classes::ClassInfo;
use crate::paths::{retainer_paths, RetainerPath};
use crate::Analysis;
use growth::IdSet;
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
    pub allocation_stack: Vec<String>,
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

/// Per candidate group: statistics of one leaked class.
#[derive(Default, Clone, Copy)]
struct ClassStat {
    count: u64,
    depth_sum: u64,
    best: u32,
    best_depth: u32,
    best_distance: u32,
}

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
        if s.retained_growth() < (MIN_GROWTH / 4) as i64 {
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

/// Subtracts from each suspect the growth of the suspects nearest below it in the
/// dominator tree.
fn own_growth(a: &Analysis, suspects: &mut [Suspect]) {
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
fn merge_emitters(suspects: &mut Vec<Suspect>) {
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

/// The class that stands for a group: of the program's own objects (plain objects, class
/// instances, functions) common enough in the group, the one nearest the holder.
fn representative(
    g: &HeapGraph,
    a: &Analysis,
    stats: &HashMap<u32, ClassStat>,
) -> Option<(ClassInfo, u32)> {
    let user = |c: u32, st: &ClassStat| {
        matches!(g.kind(st.best), NodeKind::Object | NodeKind::Closure)
            && !a.classes.classes[c as usize].name.starts_with("system / ")
    };
    let most = stats
        .iter()
        .filter(|(&c, st)| user(c, st))
        .map(|(_, st)| st.count)
        .max()?;
    let (&c, st) = stats
        .iter()
        .filter(|(&c, st)| user(c, st) && st.count * 4 >= most)
        .min_by(|(c1, x), (c2, y)| {
            let avg = |s: &ClassStat| s.depth_sum as f64 / s.count as f64;
            avg(x)
                .total_cmp(&avg(y))
                .then(y.count.cmp(&x.count))
                .then(c1.cmp(c2))
        })?;
    Some((a.classes.classes[c as usize].clone(), st.best))
}

/// Per snapshot: how many objects of `class` the holder dominates, and its retained size.
fn series(
    snaps: &[Snap],
    holder_id: u32,
    class: &ClassInfo,
) -> (Vec<Option<u64>>, Vec<Option<u64>>) {
    let mut counts = Vec::with_capacity(snaps.len());
    let mut retained = Vec::with_capacity(snaps.len());
    for s in snaps {
        let (g, a) = (s.graph, s.analysis);
        let Some(h) = g.find_id(holder_id) else {
            counts.push(None);
            retained.push(None);
            continue;
        };
        let target = a
            .classes
            .classes
            .iter()
            .position(|c| c == class)
            .map(|c| c as u32);
        let mut count = 0u64;
        if let Some(target) = target {
            let mut stack = vec![h];
            while let Some(v) = stack.pop() {
                if a.classes.of_node[v as usize] == target && a.shallow[v as usize] != 0 {
                    count += 1;
                }
                stack.extend_from_slice(a.dominated.children(v));
            }
        }
        counts.push(Some(count));
        retained.push(Some(a.retained[h as usize]));
    }
    (counts, retained)
}

/// Growth in every step, no step much smaller than the average one.
fn is_steady(retained: &[Option<u64>]) -> bool {
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

fn judge(snapshots: usize, suspects: &[Suspect]) -> (Verdict, Judgement) {
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

/// Finds the path, the holder's place, the shape, the title and the source locations.
fn describe(
    g: &HeapGraph,
    a: &Analysis,
    src: &source::Sources,
    s: &mut Suspect,
    classes: &[(String, u64)],
    context_vars: &[(String, u64)],
) {
    let ret = a.retainers(g);
    s.path = retainer_paths(g, a, s.sample, 1, MAX_PATH)
        .into_iter()
        .next();
    let steps = s.path.as_ref().map(|p| p.steps.as_slice()).unwrap_or(&[]);
    let at = steps.iter().position(|st| st.holder == s.holder);
    let to_holder = &steps[..at.unwrap_or(steps.len())];
    // How the holder is referenced: a context variable if one holds it, else the path's.
    let by_context = ret.of(s.holder).find(|&r| {
        g.edge_kind(ret.edge[r]) == EdgeKind::Context
            && a.class_name(ret.node[r]) == "system / Context"
    });
    let held_by = match (by_context, at) {
        (Some(r), _) => Some((
            EdgeKind::Context,
            g.edge_name(ret.edge[r]).into_owned(),
            ret.node[r],
        )),
        (None, Some(k)) if k > 0 => {
            let st = steps[k - 1];
            Some((
                g.edge_kind(st.edge),
                g.edge_name(st.edge).into_owned(),
                st.holder,
            ))
        }
        _ => None,
    };
    s.place = match &held_by {
        _ if a.class_name(s.holder) == "system / Context" => Place::Scope {
            script: src.script_of_context(ret, s.holder),
            module: is_module_scope(g, s.holder),
        },
        Some((EdgeKind::Context, name, ctx)) => Place::Variable {
            name: name.clone(),
            script: src.script_of_context(ret, *ctx),
            module: is_module_scope(g, *ctx),
        },
        Some((EdgeKind::Property, name, owner)) if shapes::is_global(a, *owner) => {
            Place::Global { name: name.clone() }
        }
        Some((_, name, owner)) => Place::Member {
            name: name.clone(),
            owner: *owner,
        },
        None => Place::Unknown,
    };
    let facts = shapes::Facts {
        holder: s.holder,
        classes,
        context_vars,
        bytes: s.leaked_bytes,
        native_bytes: s.native_bytes,
        path: to_holder,
        held_by,
        sample: s.sample,
    };
    let (shape, details) = shapes::classify(g, a, src, &facts);
    s.shape = shape;
    s.details = details;
    s.locations = locations(g, src, s);
}

/// A module's top-level code runs in a function whose context hangs off the native context.
fn is_module_scope(g: &HeapGraph, ctx: u32) -> bool {
    g.edges(ctx).any(|e| {
        g.edge_kind(e) == EdgeKind::Internal
            && g.edge_name_bytes(e) == Some(b"previous")
            && g.name_bytes(g.edge_to[e as usize]) == b"system / NativeContext"
    })
}

/// Where to look in the code, most telling first: the allocation site when traced, the
/// leaking objects' constructor or function, then the closures on the path.
fn locations(g: &HeapGraph, src: &source::Sources, s: &mut Suspect) -> Vec<SourceRef> {
    let mut out: Vec<SourceRef> = Vec::new();
    let mut push = |r: SourceRef| {
        if source::is_user_script(&r.file)
            && !out
                .iter()
                .any(|x| x.file == r.file && x.line == r.line && x.column == r.column)
        {
            out.push(r);
        }
    };
    if let Some((site, stack)) = src.allocation_site(s.sample) {
        push(site);
        s.allocation_stack = stack;
    }
    if let Some(p) = s.class.position {
        if let Some(file) = src.script(p.script_id) {
            push(SourceRef {
                file: file.to_string(),
                line: p.line + 1,
                column: p.column + 1,
                kind: "constructor",
                function: Some(s.class.name.clone()),
            });
        }
    }
    match &s.details {
        Details::Listeners { listeners, .. } => {
            for &f in listeners {
                if let Some(r) = src.of_node(f, "closure") {
                    push(r);
                }
            }
        }
        Details::Timers {
            callback: Some(cb), ..
        } => push(cb.clone()),
        Details::Stream { node, .. } => {
            if let Some(r) = src.of_node(*node, "constructor") {
                push(r);
            }
        }
        _ => {}
    }
    if g.kind(s.sample) == NodeKind::Closure {
        if let Some(r) = src.of_node(s.sample, "closure") {
            push(r);
        }
    }
    if let Some(p) = &s.path {
        for st in p.steps.iter().rev() {
            let to = g.edge_to[st.edge as usize];
            for node in [to, st.holder] {
                if g.kind(node) == NodeKind::Closure {
                    if let Some(r) = src.of_node(node, "closure") {
                        push(r);
                    }
                }
            }
        }
    }
    out
}
