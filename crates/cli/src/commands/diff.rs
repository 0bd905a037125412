use std::collections::HashMap;
use std::process::ExitCode;

use anyhow::Result;
use clap::ValueEnum;
use heaphound_analysis::diff::{self, ClassDiff, DiffSide};
use heaphound_analysis::{scripts, summarize, summarize_with, ClassInfo};
use heaphound_report::diff::{self as view, Between, Comparison, Growing};

use super::{emit, emit_json, Ctx};
use crate::load::{load_all, Loaded};

#[derive(Clone, Copy, ValueEnum)]
pub enum Sort {
    SizeDelta,
    CountDelta,
    RetainedDelta,
    New,
    Deleted,
    Alloc,
    Freed,
}

#[derive(clap::Args)]
pub struct Args {
    /// Two or three heap snapshots of one process, oldest first.
    #[arg(num_args = 2..=3, required = true)]
    pub files: Vec<String>,
    /// Show only the first N classes of each table.
    #[arg(long)]
    pub top: Option<usize>,
    /// Order of the rows (largest first).
    #[arg(long, value_enum, default_value = "size-delta")]
    pub sort: Sort,
    /// Keep classes whose name matches this regular expression.
    #[arg(long)]
    pub filter: Option<String>,
    /// Print one JSON document instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// Compares `before` with `after` the way DevTools does: the earlier snapshot is named
/// with the later one's plain-object shapes, so both sides share class keys.
pub fn compare(before: &Loaded, after: &Loaded) -> Vec<ClassDiff> {
    let (ga, aa) = (&before.graph, &before.analysis);
    let (gb, ab) = (&after.graph, &after.analysis);
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

fn sort_rows(rows: &mut [ClassDiff], sort: Sort) {
    let key = |r: &ClassDiff| -> i64 {
        match sort {
            Sort::SizeDelta => r.size_delta(),
            Sort::CountDelta => r.count_delta(),
            Sort::RetainedDelta => r.retained_delta(),
            Sort::New => r.new_count as i64,
            Sort::Deleted => r.deleted_count as i64,
            Sort::Alloc => r.alloc_size as i64,
            Sort::Freed => r.freed_size as i64,
        }
    };
    rows.sort_by(|x, y| {
        key(y)
            .cmp(&key(x))
            .then_with(|| x.class.name.cmp(&y.class.name))
    });
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    let filter = super::class_filter(args.filter.as_deref())?;
    let keep = |info: &ClassInfo| filter.as_ref().is_none_or(|re| re.is_match(&info.name));
    let top = args.top.unwrap_or(usize::MAX);
    let loaded = load_all(&args.files, ctx.quiet)?;
    let scripts: Vec<HashMap<u32, String>> = loaded
        .iter()
        .map(|l| scripts::script_names(&l.graph))
        .collect();

    let mut pairs: Vec<(Vec<ClassDiff>, usize)> = Vec::new();
    for w in loaded.windows(2) {
        let mut rows = compare(&w[0], &w[1]);
        rows.retain(|r| keep(&r.class));
        sort_rows(&mut rows, args.sort);
        let total = rows.len();
        pairs.push((rows, total));
    }
    let comparisons: Vec<Comparison> = pairs
        .iter()
        .enumerate()
        .map(|(i, (rows, total))| Comparison {
            before: &loaded[i].label,
            after: &loaded[i + 1].label,
            rows: &rows[..rows.len().min(top)],
            total_rows: *total,
            scripts: &scripts[i + 1],
        })
        .collect();

    if loaded.len() == 2 {
        if args.json {
            emit_json(&view::pair_json(&comparisons[0]))?;
        } else {
            emit(&view::comparison_text(&comparisons[0], &ctx.style))?;
        }
        return Ok(ExitCode::SUCCESS);
    }

    // Three snapshots: DevTools' "objects allocated between snapshots 1 and 2", read in
    // the third, and the classes whose count grew in both steps.
    let (first, second, last) = (&loaded[0], &loaded[1], &loaded[2]);
    let min_id = diff::max_js_object_id(&first.graph.node_id);
    let max_id = diff::max_js_object_id(&second.graph.node_id);
    let ids = &last.graph.node_id;
    let a = &last.analysis;
    let mut between: Vec<_> = summarize_with(a, &a.classes, |v| {
        let id = ids[v as usize];
        id > min_id && id <= max_id
    })
    .into_iter()
    .map(|r| (a.classes.classes[r.class as usize].clone(), r))
    .filter(|(info, _)| keep(info))
    .collect();
    between.sort_by(|x, y| {
        y.1.retained_size
            .cmp(&x.1.retained_size)
            .then_with(|| x.0.name.cmp(&y.0.name))
    });
    let between_total = between.len();
    between.truncate(top);

    let later: HashMap<&ClassInfo, &ClassDiff> = pairs[1].0.iter().map(|r| (&r.class, r)).collect();
    let mut growing: Vec<Growing> = pairs[0]
        .0
        .iter()
        .filter_map(|r1| {
            let r2 = later.get(&r1.class)?;
            (r1.count_delta() > 0 && r2.count_delta() > 0).then(|| Growing {
                class: r1.class.clone(),
                count_deltas: vec![r1.count_delta(), r2.count_delta()],
                size_deltas: vec![r1.size_delta(), r2.size_delta()],
            })
        })
        .collect();
    growing.sort_by(|x, y| {
        let total = |g: &Growing| g.size_deltas.iter().sum::<i64>();
        total(y)
            .cmp(&total(x))
            .then_with(|| x.class.name.cmp(&y.class.name))
    });
    growing.truncate(top);

    let between_view = Between {
        from: &first.label,
        to: &second.label,
        alive_in: &last.label,
        min_id,
        max_id,
        rows: &between,
        total_rows: between_total,
        scripts: &scripts[2],
    };
    if args.json {
        let files: Vec<&str> = loaded.iter().map(|l| l.label.as_str()).collect();
        emit_json(&view::triple_json(
            &files,
            &comparisons,
            &between_view,
            &growing,
        ))?;
    } else {
        emit(&view::triple_text(
            &comparisons,
            &between_view,
            &growing,
            &ctx.style,
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}
