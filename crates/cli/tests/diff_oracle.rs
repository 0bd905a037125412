//! `heaphound diff` against DevTools' own Comparison view (tests/oracle/diff.mjs): a real
//! node process writes three snapshots with objects added, deleted and changing shape
//! between them, and for both consecutive pairs every class's #New, #Deleted, alloc and
//! freed sizes must equal DevTools'; for the three-snapshot view, every class's count,
//! shallow and retained size of the objects allocated between snapshots 1 and 2 still
//! alive in 3 must equal DevTools' "Objects allocated between Snapshot 1 and Snapshot 2".

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::Command;

use serde_json::Value;

use common::*;

/// DevTools' class key for one of heaphound's rows: `,Name`, or
/// `scriptId,line,column,Name` (0-based) for classes told apart by location.
fn class_key(row: &Value) -> String {
    let name = row["name"]
        .as_str()
        .unwrap_or_else(|| panic!("row without name: {row}"));
    match row.get("location") {
        Some(loc) if !loc.is_null() => format!(
            "{},{},{},{}",
            u64_field(loc, "script_id", "location"),
            u64_field(loc, "line", "location") - 1,
            u64_field(loc, "column", "location") - 1,
            name
        ),
        _ => format!(",{name}"),
    }
}

fn rows_by_key(rows: &[Value], fields: &[&str], what: &str) -> BTreeMap<String, Vec<u64>> {
    let mut map = BTreeMap::new();
    for row in rows {
        let nums = fields.iter().map(|f| u64_field(row, f, what)).collect();
        let key = class_key(row);
        assert!(
            map.insert(key.clone(), nums).is_none(),
            "{what}: {key:?} twice"
        );
    }
    map
}

fn oracle_by_key(classes: &Value, fields: &[&str]) -> BTreeMap<String, Vec<u64>> {
    classes
        .as_object()
        .expect("oracle classes object")
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                fields.iter().map(|f| u64_field(v, f, "oracle")).collect(),
            )
        })
        .collect()
}

fn differences(
    what: &str,
    fields: &[&str],
    ours: &BTreeMap<String, Vec<u64>>,
    theirs: &BTreeMap<String, Vec<u64>>,
) -> String {
    let mut report = String::new();
    for (key, o) in theirs {
        match ours.get(key) {
            None => {
                let _ = writeln!(
                    report,
                    "  {what}: {key:?} missing (DevTools {fields:?} = {o:?})"
                );
            }
            Some(h) if h != o => {
                let _ = writeln!(
                    report,
                    "  {what}: {key:?} {fields:?}: heaphound {h:?}, DevTools {o:?}"
                );
            }
            _ => {}
        }
    }
    for key in ours.keys() {
        if !theirs.contains_key(key) {
            let _ = writeln!(report, "  {what}: {key:?} only in heaphound");
        }
    }
    report
}

const PAIR_FIELDS: [&str; 4] = ["new_count", "deleted_count", "alloc_size", "freed_size"];
const BETWEEN_FIELDS: [&str; 3] = ["count", "shallow_size", "retained_size"];

fn check_node_version(major: u32) {
    let root = repo_root();
    require_oracle(&root);
    let node = node_binary(&root, major);
    let tmp = TempDir::new(&format!("diff-node{major}"));
    let mut cmd = Command::new(&node);
    cmd.arg(root.join("tests/fixtures/diff/series.js"))
        .arg(tmp.path());
    run(cmd);
    let files: Vec<_> = (1..=3)
        .map(|k| tmp.path().join(format!("{k}.heapsnapshot")))
        .collect();

    let mut cmd = Command::new("node");
    cmd.arg(root.join("tests/oracle/diff.mjs")).args(&files);
    let oracle = spawn(cmd);
    let mut cmd = Command::new(heaphound());
    cmd.args(["diff", "--json", "--quiet"]).args(&files);
    let triple = spawn(cmd);
    let mut cmd = Command::new(heaphound());
    cmd.args(["diff", "--json", "--quiet"]).args(&files[..2]);
    let pair = spawn(cmd);
    let oracle = parse_json(&finish(oracle), "oracle");
    let triple = parse_json(&finish(triple), "heaphound diff A B C");
    let pair = parse_json(&finish(pair), "heaphound diff A B");

    let mut report = String::new();
    let comparisons = array_field(&triple, "comparisons", "heaphound diff A B C");
    assert_eq!(comparisons.len(), 2, "two comparisons for three snapshots");
    let oracle_pairs = array_field(&oracle, "pairs", "oracle");
    for (i, c) in comparisons.iter().enumerate() {
        let ours = rows_by_key(
            array_field(c, "classes", "comparison"),
            &PAIR_FIELDS,
            "comparison",
        );
        let theirs = oracle_by_key(&oracle_pairs[i]["classes"], &PAIR_FIELDS);
        assert!(theirs.len() > 10, "the series should change many classes");
        report += &differences(
            &format!("snapshots {}→{}", i + 1, i + 2),
            &PAIR_FIELDS,
            &ours,
            &theirs,
        );
        for row in array_field(c, "classes", "comparison") {
            let d = |k: &str| row[k].as_i64().expect(k);
            assert_eq!(
                d("count_delta"),
                d("new_count") - d("deleted_count"),
                "{row}"
            );
            assert_eq!(d("size_delta"), d("alloc_size") - d("freed_size"), "{row}");
            assert_eq!(
                d("retained_delta"),
                d("retained_after") - d("retained_before"),
                "{row}"
            );
        }
    }
    // Two files give the same first comparison, at the top level.
    assert_eq!(
        pair["classes"], comparisons[0]["classes"],
        "diff A B vs diff A B C"
    );

    let between = &triple["allocated_between"];
    for k in ["min_id", "max_id"] {
        assert_eq!(between[k], oracle["between"][k], "{k}");
    }
    let ours = rows_by_key(
        array_field(between, "classes", "allocated_between"),
        &BETWEEN_FIELDS,
        "between",
    );
    let theirs = oracle_by_key(&oracle["between"]["classes"], &BETWEEN_FIELDS);
    assert!(
        theirs.len() > 5,
        "objects allocated between 1 and 2 survive in 3"
    );
    report += &differences(
        "allocated between 1 and 2, alive in 3",
        &BETWEEN_FIELDS,
        &ours,
        &theirs,
    );
    assert!(
        report.is_empty(),
        "Node {major}: heaphound diff disagrees with DevTools:\n{report}"
    );

    // The classes that grew in both steps include the ever-growing ones.
    let growing: Vec<&str> = array_field(&triple, "growing", "growing")
        .iter()
        .filter_map(|g| g["name"].as_str())
        .collect();
    for class in ["Order", "Function"] {
        assert!(
            growing.contains(&class),
            "{class} grows in both steps: {growing:?}"
        );
    }
}

#[test]
fn diff_matches_devtools_node20() {
    check_node_version(20);
}

#[test]
fn diff_matches_devtools_node24() {
    check_node_version(24);
}

#[test]
fn diff_text_lists_the_growing_class() {
    let root = repo_root();
    let tmp = TempDir::new("diff-text");
    let mut cmd = Command::new("node");
    cmd.arg(root.join("tests/fixtures/diff/series.js"))
        .arg(tmp.path());
    run(cmd);
    let mut cmd = Command::new(heaphound());
    cmd.args([
        "diff",
        "--quiet",
        "--top",
        "1",
        "--sort",
        "new",
        "--filter",
        "^(Order|Function)$",
    ])
    .arg(tmp.path().join("1.heapsnapshot"))
    .arg(tmp.path().join("2.heapsnapshot"));
    let text = String::from_utf8(run(cmd).stdout).expect("utf-8");
    assert!(
        text.contains("# New") && text.contains("Size Delta"),
        "{text}"
    );
    // 1,200 closures are new against fewer orders: Function comes first.
    assert!(
        text.contains("Function") && !text.contains("Order"),
        "{text}"
    );
    assert!(
        text.contains("1 of 2 classes shown"),
        "the cut is said:\n{text}"
    );
}
