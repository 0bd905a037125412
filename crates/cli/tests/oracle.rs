//! heaphound against Chrome DevTools' own heap snapshot engine (tests/oracle/oracle.mjs).
//!
//! For every Node version (18, 20 = the system `node`, 22, 24) and every shape program in
//! tests/fixtures/shapes, the shape program writes a real heap snapshot, and heaphound's
//! `summary --json` and `objects --top 1000 --json` must report exactly the numbers the
//! oracle reports: node/edge counts, total size, the set of classes (keyed like DevTools:
//! by name, or by constructor location), each class's count, shallow and retained size,
//! and the retained sizes of the 1000 largest objects.
//!
//! The oracle's npm packages (DevTools' engine and the other Node versions) must be
//! installed with `npm ci --prefix tests/oracle`; a missing install is a failure, not a skip.
//! Set HEAPHOUND_KEEP_TEMP=1 to keep the snapshots written under the system temp directory.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use common::*;

const SHAPES: &[&str] = &[
    "map_cache",
    "emitter_listeners",
    "shared_context",
    "buffers",
    "weakmaps",
    "class_hierarchy",
];

/// How many of the largest objects are compared.
const TOP: usize = 1000;

/// How many differences a failure message lists per category.
const MAX_LISTED: usize = 20;

/// A class's numbers, as both sides report them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct ClassNums {
    count: u64,
    shallow: u64,
    retained: u64,
}

/// The oracle's class key for one of heaphound's summary rows.
fn heaphound_class_key(row: &Value) -> String {
    let name = row
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("heaphound summary: class without a name: {row}"));
    match row.get("location") {
        Some(loc) if !loc.is_null() => {
            let what = "heaphound summary location";
            let line = u64_field(loc, "line", what);
            let column = u64_field(loc, "column", what);
            assert!(
                line >= 1 && column >= 1,
                "heaphound summary: location must be 1-based: {row}"
            );
            format!(
                "{},{},{},{}",
                u64_field(loc, "script_id", what),
                line - 1,
                column - 1,
                name
            )
        }
        _ => format!(",{name}"),
    }
}

fn heaphound_classes(summary: &Value) -> BTreeMap<String, ClassNums> {
    let what = "heaphound summary";
    let rows = array_field(summary, "classes", what);
    let mut map = BTreeMap::new();
    for row in rows {
        let key = heaphound_class_key(row);
        let nums = ClassNums {
            count: u64_field(row, "count", what),
            shallow: u64_field(row, "shallow_size", what),
            retained: u64_field(row, "retained_size", what),
        };
        assert!(
            map.insert(key.clone(), nums).is_none(),
            "heaphound summary: class key {key:?} appears twice"
        );
    }
    map
}

fn oracle_classes(oracle: &Value) -> BTreeMap<String, ClassNums> {
    let what = "oracle";
    let mut map = BTreeMap::new();
    for row in array_field(oracle, "classes", what) {
        let key = row
            .get("key")
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("oracle: class without a key: {row}"))
            .to_string();
        let nums = ClassNums {
            count: u64_field(row, "count", what),
            shallow: u64_field(row, "shallow_size", what),
            retained: u64_field(row, "retained_size", what),
        };
        map.insert(key, nums);
    }
    map
}

/// id -> retained size, and the ids in list order.
fn objects_by_id(doc: &Value, what: &str) -> BTreeMap<u64, u64> {
    let mut map = BTreeMap::new();
    for o in array_field(doc, "objects", what) {
        let id = u64_field(o, "id", what);
        let retained = u64_field(o, "retained_size", what);
        assert!(
            map.insert(id, retained).is_none(),
            "{what}: object @{id} listed twice"
        );
    }
    map
}

/// Appends at most MAX_LISTED lines of `items` under a heading.
fn list(report: &mut String, heading: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(report, "  {heading} ({}):", items.len());
    for item in items.iter().take(MAX_LISTED) {
        let _ = writeln!(report, "    {item}");
    }
    if items.len() > MAX_LISTED {
        let _ = writeln!(report, "    ... and {} more", items.len() - MAX_LISTED);
    }
}

/// Compares heaphound's documents with the oracle's; returns a description of every
/// difference (empty when they agree).
fn compare(summary: &Value, objects: &Value, oracle: &Value) -> String {
    let mut report = String::new();

    for (ours, theirs) in [
        ("node_count", "node_count"),
        ("edge_count", "edge_count"),
        ("total_size", "total_size"),
    ] {
        let h = u64_field(summary, ours, "heaphound summary");
        let o = u64_field(oracle, theirs, "oracle");
        if h != o {
            let _ = writeln!(report, "  {ours}: heaphound {h}, DevTools {o}");
        }
    }

    let hc = heaphound_classes(summary);
    let oc = oracle_classes(oracle);
    let class_count = u64_field(summary, "class_count", "heaphound summary");
    if class_count != hc.len() as u64 {
        let _ = writeln!(
            report,
            "  class_count: {class_count}, but heaphound lists {} classes",
            hc.len()
        );
    }
    let mut missing = Vec::new();
    let mut extra = Vec::new();
    let mut differing = Vec::new();
    // Largest (by DevTools' retained size) first, so the most telling rows come first.
    let mut keys: Vec<&String> = oc.keys().collect();
    keys.sort_by(|a, b| oc[*b].retained.cmp(&oc[*a].retained).then(a.cmp(b)));
    for key in keys {
        let o = oc[key];
        match hc.get(key) {
            None => missing.push(format!(
                "{key:?}: count {} shallow {} retained {}",
                o.count, o.shallow, o.retained
            )),
            Some(&h) if h != o => differing.push(format!(
                "{key:?}: count {} vs {}, shallow {} vs {}, retained {} vs {}{}",
                h.count,
                o.count,
                h.shallow,
                o.shallow,
                h.retained,
                o.retained,
                if h.retained == o.retained {
                    String::new()
                } else {
                    format!(" (diff {:+})", h.retained as i64 - o.retained as i64)
                }
            )),
            Some(_) => {}
        }
    }
    for (key, h) in &hc {
        if !oc.contains_key(key) {
            extra.push(format!(
                "{key:?}: count {} shallow {} retained {}",
                h.count, h.shallow, h.retained
            ));
        }
    }
    list(
        &mut report,
        "classes differing (heaphound vs DevTools)",
        &differing,
    );
    list(&mut report, "classes only DevTools has", &missing);
    list(&mut report, "classes only heaphound has", &extra);

    let ho = objects_by_id(objects, "heaphound objects");
    let oo = objects_by_id(oracle, "oracle");
    if ho.len() != oo.len() {
        let _ = writeln!(
            report,
            "  top objects: heaphound lists {}, DevTools {}",
            ho.len(),
            oo.len()
        );
    }
    let mut obj_diff = Vec::new();
    let mut obj_missing = Vec::new();
    // In DevTools' order (largest first).
    for o in array_field(oracle, "objects", "oracle") {
        let id = u64_field(o, "id", "oracle");
        let retained = oo[&id];
        match ho.get(&id) {
            Some(&h) if h != retained => obj_diff.push(format!(
                "@{id} ({}): retained {h} vs {retained}",
                o.get("class").and_then(Value::as_str).unwrap_or("?")
            )),
            Some(_) => {}
            None => obj_missing.push(format!(
                "@{id} ({}): retained {retained}",
                o.get("class").and_then(Value::as_str).unwrap_or("?")
            )),
        }
    }
    let obj_extra: Vec<String> = ho
        .iter()
        .filter(|(id, _)| !oo.contains_key(id))
        .map(|(id, r)| format!("@{id}: retained {r}"))
        .collect();
    list(
        &mut report,
        "top objects with a different retained size (heaphound vs DevTools)",
        &obj_diff,
    );
    list(
        &mut report,
        "objects in DevTools' top list but not heaphound's",
        &obj_missing,
    );
    list(
        &mut report,
        "objects in heaphound's top list but not DevTools'",
        &obj_extra,
    );
    report
}

/// Runs every shape under one Node version and compares heaphound with the oracle.
fn check_node_version(major: u32) {
    let root = repo_root();
    require_oracle(&root);
    let node = node_binary(&root, major);
    let oracle_script = root.join("tests/oracle/oracle.mjs");
    let shapes_dir = root.join("tests/fixtures/shapes");
    let tmp = TempDir::new(&format!("node{major}"));

    let mut failures = String::new();
    for shape in SHAPES {
        let program = shapes_dir.join(format!("{shape}.js"));
        let snapshot = tmp.path().join(format!("{shape}.heapsnapshot"));

        let mut cmd = Command::new(&node);
        cmd.arg(&program).arg(&snapshot).current_dir(tmp.path());
        run(cmd);
        assert!(
            snapshot.is_file(),
            "{}: Node {major} wrote no snapshot at {}",
            program.display(),
            snapshot.display()
        );

        // The three readers of the snapshot run side by side.
        let mut cmd = Command::new("node");
        cmd.arg(&oracle_script).arg(&snapshot).arg(TOP.to_string());
        let oracle = spawn(cmd);
        let mut cmd = Command::new(heaphound());
        cmd.args(["summary", "--json", "--quiet"]).arg(&snapshot);
        let summary = spawn(cmd);
        let mut cmd = Command::new(heaphound());
        cmd.args(["objects", "--top", &TOP.to_string(), "--json", "--quiet"])
            .arg(&snapshot);
        let objects = spawn(cmd);

        let summary = parse_json(&finish(summary), "heaphound summary");
        let objects = parse_json(&finish(objects), "heaphound objects");
        let oracle = parse_json(&finish(oracle), "oracle");

        let report = compare(&summary, &objects, &oracle);
        if !report.is_empty() {
            let _ = writeln!(
                failures,
                "Node {major}, shape tests/fixtures/shapes/{shape}.js:\n{report}"
            );
        }
        let _ = std::fs::remove_file(&snapshot);
    }
    assert!(
        failures.is_empty(),
        "heaphound disagrees with DevTools' heap snapshot engine:\n{failures}"
    );
}

/// The same comparison on one snapshot named by HEAPHOUND_ORACLE_FILE (the benchmark
/// corpus's medium file, say), with DevTools' engine given room for it. Out of the default
/// run: `HEAPHOUND_ORACLE_FILE=/tmp/heaphound-corpus/medium.heapsnapshot cargo test
/// --release -p heaphound-cli --test oracle -- --ignored`.
#[test]
#[ignore]
fn matches_devtools_on_a_named_file() {
    let root = repo_root();
    require_oracle(&root);
    let file = std::env::var("HEAPHOUND_ORACLE_FILE")
        .expect("set HEAPHOUND_ORACLE_FILE to the snapshot to compare");
    let mut cmd = Command::new("node");
    cmd.arg("--max-old-space-size=16000")
        .arg(root.join("tests/oracle/oracle.mjs"))
        .arg(&file)
        .arg(TOP.to_string());
    let oracle = spawn(cmd);
    let mut cmd = Command::new(heaphound());
    cmd.args(["summary", "--json", "--quiet"]).arg(&file);
    let summary = parse_json(&run(cmd), "heaphound summary");
    let mut cmd = Command::new(heaphound());
    cmd.args(["objects", "--top", &TOP.to_string(), "--json", "--quiet"])
        .arg(&file);
    let objects = parse_json(&run(cmd), "heaphound objects");
    let oracle = parse_json(&finish(oracle), "oracle");
    let report = compare(&summary, &objects, &oracle);
    assert!(
        report.is_empty(),
        "heaphound disagrees with DevTools' engine on {file}:\n{report}"
    );
    eprintln!(
        "{file}: {} nodes, {} classes, total {} bytes: heaphound and DevTools agree",
        summary["node_count"], summary["class_count"], summary["total_size"]
    );
}

#[test]
fn matches_devtools_node18() {
    check_node_version(18);
}

#[test]
fn matches_devtools_node20() {
    check_node_version(20);
}

#[test]
fn matches_devtools_node22() {
    check_node_version(22);
}

#[test]
fn matches_devtools_node24() {
    check_node_version(24);
}

/// Removes the `file` field, which names the input.
fn without_file(mut v: Value) -> Value {
    if let Some(obj) = v.as_object_mut() {
        obj.remove("file");
    }
    v
}

fn summary_from_stdin(input: Vec<u8>) -> Value {
    let mut child = Command::new(heaphound())
        .args(["summary", "-", "--json", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run heaphound");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    // Written from another thread so a full stdout pipe cannot deadlock us.
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("waiting for heaphound");
    writer
        .join()
        .expect("stdin writer panicked")
        .expect("writing the snapshot to heaphound's stdin");
    assert!(
        out.status.success(),
        "`heaphound summary - --json` failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    parse_json(&out, "heaphound summary (stdin)")
}

#[test]
fn gzip_and_stdin_inputs_match_plain_file() {
    let root = repo_root();
    let tmp = TempDir::new("inputs");
    let snapshot = tmp.path().join("weakmaps.heapsnapshot");
    let mut cmd = Command::new("node");
    cmd.arg(root.join("tests/fixtures/shapes/weakmaps.js"))
        .arg(&snapshot)
        .current_dir(tmp.path());
    run(cmd);

    let gz = tmp.path().join("weakmaps.heapsnapshot.gz");
    let mut cmd = Command::new("gzip");
    cmd.arg("-c").arg(&snapshot);
    let compressed = run(cmd).stdout;
    assert!(
        compressed.starts_with(&[0x1f, 0x8b]),
        "gzip -c did not write gzip data"
    );
    std::fs::write(&gz, &compressed).expect("writing the .gz file");

    let summary = |path: &Path| {
        let mut cmd = Command::new(heaphound());
        cmd.args(["summary", "--json", "--quiet"]).arg(path);
        parse_json(&run(cmd), "heaphound summary")
    };
    let plain = summary(&snapshot);
    assert_eq!(
        plain.get("file").and_then(Value::as_str),
        Some(snapshot.to_str().unwrap()),
        "summary --json names its input in `file`"
    );
    assert!(
        plain
            .get("classes")
            .and_then(Value::as_array)
            .is_some_and(|c| !c.is_empty()),
        "summary --json of the plain file lists no classes"
    );
    let plain = without_file(plain);

    let from_gz = without_file(summary(&gz));
    assert!(
        from_gz == plain,
        "summary --json of the gzip-compressed snapshot differs from the plain file's"
    );

    let raw = std::fs::read(&snapshot).expect("reading the snapshot");
    let from_stdin = without_file(summary_from_stdin(raw));
    assert!(
        from_stdin == plain,
        "summary --json reading the snapshot from stdin differs from reading the file"
    );

    let from_gz_stdin = without_file(summary_from_stdin(compressed));
    assert!(
        from_gz_stdin == plain,
        "summary --json reading gzip-compressed stdin differs from reading the plain file"
    );
}
