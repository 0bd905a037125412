//! The class summary document.

use heaphound_model::heap::{ClassRow, Summary};
use heaphound_model::SCHEMA_VERSION;

use crate::classes::ClassInfo;
use crate::summary::ClassSummary;
use crate::views::object::class_location;
use crate::{Analysis, GraphFacts};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Retained,
    Shallow,
    Count,
}

/// Sorts rows, largest first; equal rows by name so output is stable.
pub fn sort_rows(a: &Analysis, rows: &mut [ClassSummary], key: SortKey) {
    rows.sort_by(|x, y| {
        let k = |r: &ClassSummary| match key {
            SortKey::Retained => r.retained_size,
            SortKey::Shallow => r.shallow_size,
            SortKey::Count => r.count,
        };
        k(y).cmp(&k(x)).then_with(|| {
            a.classes.classes[x.class as usize]
                .name
                .cmp(&a.classes.classes[y.class as usize].name)
        })
    });
}

/// Which rows and in what order.
pub struct Selection<'a> {
    pub keep: &'a dyn Fn(&ClassInfo) -> bool,
    pub sort: SortKey,
    pub top: Option<usize>,
}

/// The summary of `rows` (all classes, from [`crate::summarize`]) cut to `select`.
/// `class_count` counts the classes before the filter.
pub fn summary(
    facts: &GraphFacts,
    a: &Analysis,
    file: &str,
    mut rows: Vec<ClassSummary>,
    select: &Selection,
) -> Summary {
    let class_count = rows.len() as u64;
    rows.retain(|r| (select.keep)(&a.classes.classes[r.class as usize]));
    sort_rows(a, &mut rows, select.sort);
    if let Some(n) = select.top {
        rows.truncate(n);
    }
    let classes = rows
        .iter()
        .map(|r| {
            let info = &a.classes.classes[r.class as usize];
            ClassRow {
                name: info.name.clone(),
                count: r.count,
                shallow_size: r.shallow_size,
                retained_size: r.retained_size,
                distance: r.distance,
                location: class_location(info, &facts.scripts),
            }
        })
        .collect();
    Summary {
        schema_version: SCHEMA_VERSION,
        file: file.to_owned(),
        node_count: facts.node_count as u64,
        edge_count: facts.edge_count as u64,
        total_size: a.total_size,
        class_count,
        unreachable_nodes: a.unreachable,
        classes,
    }
}
