//! Snapshot comparisons as documents: two snapshots (DevTools' Comparison view plus
//! retained sizes), and three (objects allocated between the first two still alive in the
//! last, and the classes that grew in both steps).

use std::collections::HashMap;

use heaphound_model::diff::{
    AllocatedBetween, AllocatedClass, ClassComparison, ClassDelta, Diff, Diff3, GrowingClass,
};
use heaphound_model::SCHEMA_VERSION;
use heaphound_snapshot::HeapGraph;

use crate::classes::ClassInfo;
use crate::diff::{self, ClassDiff, DiffSide};
use crate::summary::{summarize, summarize_with};
use crate::views::object::class_location;
use crate::{scripts, Analysis};

/// One snapshot of a comparison.
pub struct Snapshot<'a> {
    pub label: &'a str,
    pub graph: &'a HeapGraph,
    pub analysis: &'a Analysis,
}

/// Compares `before` with `after` the way DevTools does: the earlier snapshot is named
/// with the later one's plain-object shapes, so both sides share class keys. Rows come in
/// no particular order.
pub fn compare(before: &Snapshot, after: &Snapshot) -> Vec<ClassDiff> {
    let (ga, aa) = (before.graph, before.analysis);
    let (gb, ab) = (after.graph, after.analysis);
    let classes_a = aa.classes_with(ga, &ab.classes.interfaces);
    let sum_a = summarize_with(aa, &classes_a, |_| true);
    let sum_b = summarize(ab);
    diff::diff(
        &DiffSide {
            ids: &ga.node_id,
            shallow: &aa.shallow,
            classes: &classes_a,
            summary: &sum_a,
        },
        &DiffSide {
            ids: &gb.node_id,
            shallow: &ab.shallow,
            classes: &ab.classes,
            summary: &sum_b,
        },
    )
}

/// Order of a comparison's rows, largest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    SizeDelta,
    CountDelta,
    RetainedDelta,
    New,
    Deleted,
    Alloc,
    Freed,
}

pub fn sort_rows(rows: &mut [ClassDiff], sort: SortKey) {
    let key = |r: &ClassDiff| -> i64 {
        match sort {
            SortKey::SizeDelta => r.size_delta(),
            SortKey::CountDelta => r.count_delta(),
            SortKey::RetainedDelta => r.retained_delta(),
            SortKey::New => r.new_count as i64,
            SortKey::Deleted => r.deleted_count as i64,
            SortKey::Alloc => r.alloc_size as i64,
            SortKey::Freed => r.freed_size as i64,
        }
    };
    rows.sort_by(|x, y| {
        key(y)
            .cmp(&key(x))
            .then_with(|| x.class.name.cmp(&y.class.name))
    });
}

/// Which rows of each table, and in what order.
pub struct Selection<'a> {
    pub keep: &'a dyn Fn(&ClassInfo) -> bool,
    pub sort: SortKey,
    pub top: usize,
}

/// One comparison's document part. `rows` are already sorted and cut; `class_count` is
/// how many there were before the cut; `scripts` names the later snapshot's scripts.
pub fn comparison(
    before: &str,
    after: &str,
    rows: &[ClassDiff],
    class_count: usize,
    scripts: &HashMap<u32, String>,
) -> ClassComparison {
    ClassComparison {
        before: before.to_owned(),
        after: after.to_owned(),
        class_count: class_count as u64,
        classes: rows
            .iter()
            .map(|r| ClassDelta {
                name: r.class.name.clone(),
                new_count: r.new_count,
                deleted_count: r.deleted_count,
                count_delta: r.count_delta(),
                alloc_size: r.alloc_size,
                freed_size: r.freed_size,
                size_delta: r.size_delta(),
                count_before: r.count_before,
                count_after: r.count_after,
                retained_before: r.retained_before,
                retained_after: r.retained_after,
                retained_delta: r.retained_delta(),
                location: class_location(&r.class, scripts),
            })
            .collect(),
    }
}

/// Each consecutive pair compared, its rows filtered and sorted (not yet cut), with the
/// count before the cut.
fn pairs(snaps: &[Snapshot], select: &Selection) -> Vec<Vec<ClassDiff>> {
    snaps
        .windows(2)
        .map(|w| {
            let mut rows = compare(&w[0], &w[1]);
            rows.retain(|r| (select.keep)(&r.class));
            sort_rows(&mut rows, select.sort);
            rows
        })
        .collect()
}

fn comparisons(
    snaps: &[Snapshot],
    pairs: &[Vec<ClassDiff>],
    scripts: &[HashMap<u32, String>],
    top: usize,
) -> Vec<ClassComparison> {
    pairs
        .iter()
        .enumerate()
        .map(|(i, rows)| {
            comparison(
                snaps[i].label,
                snaps[i + 1].label,
                &rows[..rows.len().min(top)],
                rows.len(),
                &scripts[i + 1],
            )
        })
        .collect()
}

/// `diff` of two snapshots.
pub fn diff_pair(before: Snapshot, after: Snapshot, select: &Selection) -> Diff {
    let snaps = [before, after];
    let pairs = pairs(&snaps, select);
    let names = [HashMap::new(), scripts::script_names(snaps[1].graph)];
    let mut all = comparisons(&snaps, &pairs, &names, select.top);
    Diff {
        schema_version: SCHEMA_VERSION,
        comparison: all.remove(0),
    }
}

/// `diff` of three snapshots: both comparisons, DevTools' "objects allocated between
/// snapshots 1 and 2" read in the third, and the classes whose count grew in both steps.
pub fn diff_triple(snaps: [Snapshot; 3], select: &Selection) -> Diff3 {
    let top = select.top;
    let pairs = pairs(&snaps, select);
    let names: Vec<HashMap<u32, String>> = snaps
        .iter()
        .map(|s| scripts::script_names(s.graph))
        .collect();
    let comparisons = comparisons(&snaps, &pairs, &names, top);

    let [first, second, last] = &snaps;
    let min_id = diff::max_js_object_id(&first.graph.node_id);
    let max_id = diff::max_js_object_id(&second.graph.node_id);
    let ids = &last.graph.node_id;
    let a = last.analysis;
    let mut between: Vec<_> = summarize_with(a, &a.classes, |v| {
        let id = ids[v as usize];
        id > min_id && id <= max_id
    })
    .into_iter()
    .map(|r| (&a.classes.classes[r.class as usize], r))
    .filter(|(info, _)| (select.keep)(info))
    .collect();
    between.sort_by(|x, y| {
        y.1.retained_size
            .cmp(&x.1.retained_size)
            .then_with(|| x.0.name.cmp(&y.0.name))
    });
    let between_count = between.len();
    between.truncate(top);

    let later: HashMap<&ClassInfo, &ClassDiff> = pairs[1].iter().map(|r| (&r.class, r)).collect();
    let mut growing: Vec<(&ClassInfo, [i64; 2], [i64; 2])> = pairs[0]
        .iter()
        .filter_map(|r1| {
            let r2 = later.get(&r1.class)?;
            (r1.count_delta() > 0 && r2.count_delta() > 0).then(|| {
                (
                    &r1.class,
                    [r1.count_delta(), r2.count_delta()],
                    [r1.size_delta(), r2.size_delta()],
                )
            })
        })
        .collect();
    growing.sort_by(|x, y| {
        let total = |g: &(&ClassInfo, [i64; 2], [i64; 2])| g.2.iter().sum::<i64>();
        total(y)
            .cmp(&total(x))
            .then_with(|| x.0.name.cmp(&y.0.name))
    });
    growing.truncate(top);

    let scripts = &names[2];
    Diff3 {
        schema_version: SCHEMA_VERSION,
        files: snaps.iter().map(|s| s.label.to_owned()).collect(),
        comparisons,
        allocated_between: AllocatedBetween {
            from: first.label.to_owned(),
            to: second.label.to_owned(),
            alive_in: last.label.to_owned(),
            min_id,
            max_id,
            class_count: between_count as u64,
            classes: between
                .iter()
                .map(|(info, r)| AllocatedClass {
                    name: info.name.clone(),
                    count: r.count,
                    shallow_size: r.shallow_size,
                    retained_size: r.retained_size,
                    location: class_location(info, scripts),
                })
                .collect(),
        },
        growing: growing
            .into_iter()
            .map(|(info, counts, sizes)| GrowingClass {
                name: info.name.clone(),
                count_deltas: counts.to_vec(),
                size_deltas: sizes.to_vec(),
                location: class_location(info, scripts),
            })
            .collect(),
    }
}
