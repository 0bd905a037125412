//! The `--json` documents users' scripts read, compared with a recording made before the
//! documents became typed: key for key and value for value, byte for byte. The inputs are
//! real (tests/recorded/make.sh made them with node); the commands run from the repository
//! root so the `file` fields stay relative.
//!
//! A deliberate change to a document is recorded anew with
//! `HEAPHOUND_RECORD=1 cargo test -p heaphound-cli --test recorded`, and the diff of
//! tests/recorded/expected/ is read before it is committed (the README's changelog says
//! what changed).

mod common;

use std::path::Path;
use std::process::Command;

use common::validate;
use common::{heaphound, repo_root};
use serde_json::Value;

const S1: &str = "tests/recorded/series/1.heapsnapshot.gz";
const S2: &str = "tests/recorded/series/2.heapsnapshot.gz";
const S3: &str = "tests/recorded/series/3.heapsnapshot.gz";
/// The `orders` Map of tests/fixtures/diff/series.js in the third snapshot.
const ORDERS: &str = "@41617";

/// Name, arguments after `heaphound`, exit code.
fn cases() -> Vec<(&'static str, Vec<&'static str>, i32)> {
    let mut v = vec![
        ("summary", vec!["summary", S3], 0),
        (
            "summary-filter",
            vec![
                "summary",
                S3,
                "--filter",
                "^(Order|Item|Map)",
                "--sort",
                "count",
            ],
            0,
        ),
        (
            "summary-top",
            vec!["summary", S1, "--top", "15", "--sort", "shallow"],
            0,
        ),
        ("objects", vec!["objects", S3, "--top", "30"], 0),
        (
            "dominators",
            vec!["dominators", S3, "--depth", "3", "--top", "6"],
            0,
        ),
        (
            "dominators-from",
            vec![
                "dominators",
                S3,
                "--from",
                ORDERS,
                "--depth",
                "2",
                "--top",
                "4",
            ],
            0,
        ),
        (
            "retainers",
            vec!["retainers", S3, ORDERS, "--paths", "4"],
            0,
        ),
        (
            "inspect",
            vec!["inspect", S3, ORDERS, "--edges", "12", "--retainers", "5"],
            0,
        ),
        (
            "inspect-global",
            vec!["inspect", S3, "@6047", "--edges", "20", "--retainers", "5"],
            0,
        ),
        ("diff-2", vec!["diff", S1, S2], 0),
        (
            "diff-2-sorted",
            vec![
                "diff",
                S1,
                S3,
                "--sort",
                "count-delta",
                "--top",
                "10",
                "--filter",
                "Order|Item|Object",
            ],
            0,
        ),
        ("diff-3", vec!["diff", S1, S2, S3], 0),
        ("suspects", vec!["suspects", S1, S2, S3], 1),
        (
            "suspects-verbose",
            vec!["suspects", S1, S2, S3, "--verbose"],
            1,
        ),
        ("suspects-2", vec!["suspects", S1, S3, "--top", "2"], 0),
        (
            "profile",
            vec!["profile", "tests/recorded/hog.heapprofile", "--top", "8"],
            0,
        ),
    ];
    for (name, file, code) in [
        (
            "gclog-leak-node18",
            "tests/fixtures/gclog/leak-node18.log.gz",
            1,
        ),
        (
            "gclog-leak-node22",
            "tests/fixtures/gclog/leak-node22.log.gz",
            1,
        ),
        (
            "gclog-leak-node24",
            "tests/fixtures/gclog/leak-node24.log.gz",
            1,
        ),
        (
            "gclog-periodic-node18",
            "tests/fixtures/gclog/periodic-node18.log.gz",
            0,
        ),
        (
            "gclog-periodic-node22",
            "tests/fixtures/gclog/periodic-node22.log.gz",
            0,
        ),
        (
            "gclog-periodic-node24",
            "tests/fixtures/gclog/periodic-node24.log.gz",
            0,
        ),
        (
            "gclog-plateau-node18",
            "tests/fixtures/gclog/plateau-node18.log.gz",
            0,
        ),
        (
            "gclog-plateau-node22",
            "tests/fixtures/gclog/plateau-node22.log.gz",
            0,
        ),
        (
            "gclog-plateau-node24",
            "tests/fixtures/gclog/plateau-node24.log.gz",
            0,
        ),
    ] {
        v.push((name, vec!["gclog", file], code));
    }
    v
}

fn recording() -> bool {
    std::env::var_os("HEAPHOUND_RECORD").is_some()
}

/// The first line where two texts part, with a little context, for a readable failure.
fn first_difference(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let at = (0..w.len().max(g.len()))
        .find(|&i| w.get(i) != g.get(i))
        .unwrap_or(0);
    let from = at.saturating_sub(3);
    let show = |lines: &[&str]| {
        lines
            .iter()
            .enumerate()
            .skip(from)
            .take(at - from + 2)
            .map(|(i, l)| format!("{:>6}  {l}", i + 1))
            .collect::<Vec<_>>()
            .join("\n")
    };
    format!(
        "first difference at line {}\n--- recorded\n{}\n--- now\n{}",
        at + 1,
        show(&w),
        show(&g)
    )
}

fn compare_or_record(root: &Path, name: &str, got: &str) -> Option<String> {
    let path = root
        .join("tests/recorded/expected")
        .join(format!("{name}.json"));
    if recording() {
        std::fs::write(&path, got).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        return None;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "read {} (make it with HEAPHOUND_RECORD=1): {e}",
            path.display()
        )
    });
    (want != got).then(|| format!("{name}: {}", first_difference(&want, got)))
}

#[test]
fn json_documents_match_the_recording() {
    let root = repo_root();
    let mut failures = Vec::new();
    for (name, args, code) in cases() {
        let out = Command::new(heaphound())
            .args(&args)
            .args(["--json", "--quiet"])
            .current_dir(&root)
            .output()
            .unwrap_or_else(|e| panic!("run heaphound {args:?}: {e}"));
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.code() != Some(code) {
            failures.push(format!(
                "{name}: exit {:?}, recorded {code}; stderr: {}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            ));
            continue;
        }
        if let Err(e) = serde_json::from_str::<Value>(&stdout) {
            failures.push(format!("{name}: not one JSON document ({e})"));
            continue;
        }
        let doc: Value = serde_json::from_str(&stdout).expect("checked above");
        failures.extend(check_schema(&root, name, &doc));
        failures.extend(compare_or_record(&root, name, &stdout));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The schemas are strict enough to catch a wrong kind of value or a missing key.
#[test]
fn a_schema_refuses_a_broken_document() {
    let root = repo_root();
    let text = std::fs::read_to_string(root.join("tests/recorded/expected/summary.json"))
        .expect("the recorded summary");
    let good: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(validate(&root, "summary", &good), Ok(()));
    let mut wrong_kind = good.clone();
    wrong_kind["node_count"] = Value::String("many".into());
    assert!(validate(&root, "summary", &wrong_kind).is_err());
    let mut missing = good;
    missing
        .as_object_mut()
        .expect("an object")
        .remove("classes");
    assert!(validate(&root, "summary", &missing).is_err());
}

/// The schema (docs/schema/NAME.schema.json) a recorded case's document must satisfy.
fn schema_of(case: &str) -> Option<&'static str> {
    const BY_PREFIX: &[(&str, &str)] = &[
        ("summary", "summary"),
        ("objects", "objects"),
        ("dominators", "dominators"),
        ("retainers", "retainers"),
        ("inspect", "inspect"),
        ("diff-3", "diff3"),
        ("diff-2", "diff"),
        ("suspects", "suspects"),
        ("profile", "profile"),
        ("gclog", "gclog"),
    ];
    BY_PREFIX
        .iter()
        .find(|(p, _)| case.starts_with(p))
        .map(|(_, s)| *s)
}

/// Checks a document against the schema generated from its type.
fn check_schema(root: &Path, case: &str, doc: &Value) -> Option<String> {
    let Some(schema) = schema_of(case) else {
        return Some(format!("{case}: no schema named for it"));
    };
    validate(root, schema, doc)
        .err()
        .map(|e| format!("{case}: {e}"))
}

/// A document's shape: every object's keys in order, each value replaced by its kind, an
/// array by the shape of its first element. What a live run measures changes from run to
/// run; what keys it writes, and of which kind, must not.
fn shape(v: &Value) -> Value {
    match v {
        Value::Null => Value::String("null".into()),
        Value::Bool(_) => Value::String("bool".into()),
        Value::Number(_) => Value::String("number".into()),
        Value::String(_) => Value::String("string".into()),
        Value::Array(a) => Value::Array(a.iter().take(1).map(shape).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
    }
}

/// Fields whose kind depends on the run (a number or null), masked to one word.
const VOLATILE: &[&str] = &[
    "distance",
    "duration_per_phase_ms",
    "stopped_early",
    "warning",
    "exit_status",
];

fn mask(v: &mut Value) {
    match v {
        Value::Object(o) => {
            for (k, x) in o.iter_mut() {
                if VOLATILE.contains(&k.as_str()) {
                    *x = Value::String("volatile".into());
                } else {
                    mask(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(mask),
        _ => {}
    }
}

/// hunt's report.json on a real leaking service: its shape and its stable values (the
/// verdict, the suspect's shape and class) against the recording.
#[test]
fn hunt_report_json_keeps_its_shape() {
    let root = repo_root();
    let dir = common::TempDir::new("recorded-hunt");
    let run = dir.path().join("run");
    let out = Command::new(heaphound())
        .args([
            "hunt",
            "-q",
            "--json",
            "--load",
            "/items?user=7",
            "-n",
            "300",
            "--out",
        ])
        .arg(&run)
        .args(["--", "node", "examples/cache-leak/server.js", "0"])
        .current_dir(&root)
        .output()
        .expect("run heaphound hunt");
    assert_eq!(
        out.status.code(),
        Some(1),
        "hunt: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Value = serde_json::from_slice(&out.stdout).expect("hunt --json prints JSON");
    let written: Value = serde_json::from_str(
        &std::fs::read_to_string(run.join("report.json")).expect("report.json is written"),
    )
    .expect("report.json is JSON");
    assert_eq!(printed, written, "--json prints what report.json holds");
    assert_eq!(printed["verdict"], "leak");
    assert_eq!(printed["suspects"][0]["shape"], "unbounded-collection");
    assert_eq!(printed["suspects"][0]["class"], "Session");

    let mut failures = Vec::new();
    for (name, doc) in [
        ("hunt-report-shape", printed),
        (
            "hunt-load-shape",
            serde_json::from_str(
                &std::fs::read_to_string(run.join("load.json")).expect("load.json"),
            )
            .expect("load.json is JSON"),
        ),
    ] {
        let mut s = shape(&doc);
        mask(&mut s);
        let text = serde_json::to_string_pretty(&s).expect("shape to text") + "\n";
        failures.extend(compare_or_record(&root, name, &text));
    }
    let series = std::fs::read_to_string(run.join("memory.jsonl")).expect("memory.jsonl");
    let mut keys: Vec<String> = Vec::new();
    for line in series.lines() {
        let v: Value = serde_json::from_str(line).expect("each memory.jsonl line is JSON");
        for k in v.as_object().expect("a sample is an object").keys() {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
    }
    keys.sort();
    let text = serde_json::to_string_pretty(&keys).expect("keys to text") + "\n";
    failures.extend(compare_or_record(&root, "hunt-memory-keys", &text));
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// `heaphound report INPUT -o PAGE --json -q`, which must succeed; its document.
fn report_json(input: &Path, page: &Path) -> Value {
    let out = Command::new(heaphound())
        .arg("report")
        .arg(input)
        .arg("-o")
        .arg(page)
        .args(["--json", "-q"])
        .output()
        .expect("run heaphound report");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("report --json is JSON")
}

/// A run folder written before the documents were typed still reads into today's types,
/// and `report` still draws every section of it.
#[test]
fn an_old_run_folder_still_reads() {
    let root = repo_root();
    let dir = root.join("tests/recorded/run");
    let text = std::fs::read_to_string(dir.join("report.json")).expect("report.json");
    let report: heaphound_model::run::RunReport =
        serde_json::from_str(&text).expect("an old report.json reads as a RunReport");
    assert!(!report.suspects.suspects.is_empty());
    assert!(report.overview.class_comparison.is_some());
    assert!(report.overview.dominator_tree.is_some());
    let load = std::fs::read_to_string(dir.join("load.json")).expect("load.json");
    serde_json::from_str::<heaphound_model::load::LoadDoc>(&load).expect("load.json reads");
    let series = std::fs::read_to_string(dir.join("memory.jsonl")).expect("memory.jsonl");
    for line in series.lines() {
        serde_json::from_str::<heaphound_model::series::MemorySample>(line)
            .unwrap_or_else(|e| panic!("memory.jsonl line {line}: {e}"));
    }

    let out_dir = common::TempDir::new("recorded-report");
    let page = out_dir.join("report.html");
    let doc = report_json(&dir, &page);
    assert_eq!(validate(&root, "report", &doc), Ok(()));
    let sections = &doc["sections"];
    assert_eq!(sections["verdict"], true, "{doc}");
    assert_eq!(sections["dominators"], true, "{doc}");
    for counted in ["suspects", "memory", "classes"] {
        assert!(
            sections[counted].as_u64().unwrap_or(0) > 0,
            "section {counted}: {doc}"
        );
    }
}

/// A damaged memory.jsonl (a line of bytes that are not UTF-8 in the middle) costs that
/// line, not the series: `report` draws the rest and says how many lines it skipped.
#[test]
fn a_damaged_series_line_is_skipped_not_the_series() {
    let root = repo_root();
    let src = root.join("tests/recorded/run");
    let dir = common::TempDir::new("recorded-damaged");
    for f in ["report.json", "load.json"] {
        std::fs::copy(src.join(f), dir.join(f)).expect("copy the run folder");
    }
    let series = std::fs::read(src.join("memory.jsonl")).expect("memory.jsonl");
    let lines = series
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    let cut = series.iter().position(|&b| b == b'\n').expect("a line") + 1;
    let mut damaged = series[..cut].to_vec();
    damaged.extend_from_slice(b"{\"t_ms\": \xff\xfe\xfd}\n");
    damaged.extend_from_slice(&series[cut..]);
    std::fs::write(dir.join("memory.jsonl"), damaged).expect("write memory.jsonl");

    let out = Command::new(heaphound())
        .arg("report")
        .arg(dir.path())
        .arg("-o")
        .arg(dir.join("report.html"))
        .arg("--json")
        .output()
        .expect("run heaphound report");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("report --json is JSON");
    assert_eq!(doc["sections"]["memory"], lines as u64, "{doc}");
    assert!(err.contains("1 line(s) are not memory samples"), "{err}");
}

/// A report.json heaphound did not write (here the recorded one swollen to tens of MB of
/// classes and suspects) still makes a page of a few MB: every section is cut to its bound.
#[test]
fn a_swollen_report_makes_a_bounded_page() {
    let root = repo_root();
    let text =
        std::fs::read_to_string(root.join("tests/recorded/run/report.json")).expect("report.json");
    let mut doc: Value = serde_json::from_str(&text).expect("JSON");
    let class = doc["class_comparison"]["classes"][0].clone();
    doc["class_comparison"]["classes"] = Value::Array(vec![class; 100_000]);
    let suspect = doc["suspects"][0].clone();
    doc["suspects"] = Value::Array(vec![suspect; 300]);
    let dir = common::TempDir::new("recorded-swollen");
    let swollen = serde_json::to_vec(&doc).expect("to JSON");
    assert!(swollen.len() > 20_000_000, "{} bytes", swollen.len());
    std::fs::write(dir.join("report.json"), swollen).expect("write report.json");
    report_json(&dir.join("report.json"), &dir.join("report.html"));
    let page = std::fs::metadata(dir.join("report.html"))
        .expect("page")
        .len();
    assert!(page < 5_000_000, "a {page}-byte page");
}
