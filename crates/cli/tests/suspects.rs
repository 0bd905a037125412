//! `heaphound suspects` on the example apps: each app runs in a real node process that
//! serves real HTTP requests over loopback (examples/capture.js), three snapshots are
//! taken with load between them, and the top suspect must name the right shape, holder
//! and source line; the bounded cache must come out as no leak.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use common::leaks;
use common::*;

/// Captures three snapshots of an example app and returns their paths.
fn capture(example: &str, dir: &Path, requests: u32) -> Vec<String> {
    let root = repo_root();
    let mut cmd = Command::new("node");
    cmd.arg(root.join("examples/capture.js"))
        .arg(root.join("examples").join(example))
        .arg(dir)
        .args(["--requests", &requests.to_string()]);
    run(cmd);
    (1..=3)
        .map(|k| {
            dir.join(format!("{k}.heapsnapshot"))
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

fn suspects(files: &[String], extra: &[&str]) -> Output {
    let mut cmd = Command::new(heaphound());
    cmd.arg("suspects").arg("--quiet").args(extra).args(files);
    cmd.output().expect("run heaphound suspects")
}

fn check(example: &'static str) {
    let e = leaks::expect(example);
    let tmp = TempDir::new(&format!("suspects-{example}"));
    let files = capture(example, tmp.path(), 1000);
    let out = suspects(&files, &["--json"]);
    leaks::check_report(&e, &leaks::doc_of(&out, example), &out);
}

#[test]
fn map_cache_leak() {
    check("cache-leak");
}

#[test]
fn listeners_added_per_request() {
    check("listener-leak");
}

#[test]
fn closures_sharing_a_context() {
    check("closure-leak");
}

#[test]
fn timers_never_cleared() {
    check("timer-leak");
}

#[test]
fn buffers_off_the_heap() {
    check("buffer-leak");
}

#[test]
fn promises_never_settled() {
    check("promise-leak");
}

#[test]
fn stream_without_backpressure() {
    check("stream-leak");
}

#[test]
fn per_request_global_state() {
    check("global-array-leak");
}

#[test]
fn bounded_cache_is_no_leak() {
    let tmp = TempDir::new("suspects-bounded");
    let files = capture("bounded-cache", tmp.path(), 1000);
    let out = suspects(&files, &["--json"]);
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["verdict"], "no-leak", "{doc:#}");
    assert_eq!(out.status.code(), Some(0), "exit 0 without a leak");
    // The human report says so in its first line.
    let text = suspects(&files, &[]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.starts_with("NO LEAK"), "{text}");
}

#[test]
fn two_snapshots_are_inconclusive_and_the_story_is_told() {
    let tmp = TempDir::new("suspects-two");
    let files = capture("cache-leak", tmp.path(), 600);
    let out = suspects(&files[..2], &["--json"]);
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["verdict"], "inconclusive", "{doc:#}");
    assert_eq!(out.status.code(), Some(0));
    // Three snapshots: the human story names the holder, the path and the line.
    let out = suspects(&files, &[]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "LEAK",
        "#1 unbounded-collection",
        "held by   Map `sessionCache`",
        "module scope of cache-leak/server.js",
        ".sessionCache → Map",
        "source    cache-leak/server.js:8:",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
}

/// Entries of Maps and Sets are counted from the table's layout, whatever the keys: small
/// integers, which the snapshot does not export, count as much as strings and objects.
fn keyed_collections(major: u32) {
    let root = repo_root();
    let node = node_binary(&root, major);
    let tmp = TempDir::new(&format!("suspects-keys-{major}"));
    let out = Command::new(&node)
        .arg(root.join("tests/fixtures/shapes/keyed_collections.js"))
        .arg(tmp.path())
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let files: Vec<String> = (1..=3)
        .map(|k| {
            tmp.join(&format!("{k}.heapsnapshot"))
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let out = suspects(&files, &["--json", "--top", "10"]);
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    for holder in [
        "Map `byNumber`",
        "Map `byString`",
        "Map `byObject`",
        "Set `recSet`",
    ] {
        let s = doc["suspects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["holder"]["name"] == holder)
            .unwrap_or_else(|| panic!("no suspect {holder} (Node {major}) in {doc:#}"));
        assert_eq!(
            s["details"]["entries"], 4667,
            "{holder} (Node {major}): {:#}",
            s["details"]
        );
        assert!(
            s["title"].as_str().unwrap().contains("4,667 entries"),
            "{}",
            s["title"]
        );
    }
}

#[test]
fn map_and_set_entries_count_small_integer_keys_too() {
    keyed_collections(20);
}

#[test]
fn map_and_set_entries_count_under_node_18_and_24() {
    require_oracle(&repo_root());
    keyed_collections(18);
    keyed_collections(24);
}

/// The same apps under Node 18 and 24, whose heaps differ (Node 18 buffers stream writes in
/// a `buffered` array, Node 24 numbers promise reaction slots differently): verdict and
/// shape must not change.
fn across_node_version(major: u32) {
    let root = repo_root();
    require_oracle(&root);
    let node = node_binary(&root, major);
    let cases = [
        ("cache-leak", "unbounded-collection"),
        ("listener-leak", "event-listeners"),
        ("closure-leak", "shared-context"),
        ("timer-leak", "timers"),
        ("buffer-leak", "buffers"),
        ("promise-leak", "unsettled-promises"),
        ("stream-leak", "stream-buffer"),
        ("global-array-leak", "global-array"),
        ("bounded-cache", ""),
    ];
    let tmp = TempDir::new(&format!("suspects-node{major}"));
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = cases
            .iter()
            .map(|&(example, shape)| {
                let dir = tmp.path().join(example);
                let node = node.clone();
                let root = root.clone();
                s.spawn(move || {
                    std::fs::create_dir_all(&dir).expect("temp dir");
                    let mut cmd = Command::new(&node);
                    cmd.arg(root.join("examples/capture.js"))
                        .arg(root.join("examples").join(example))
                        .arg(&dir)
                        .args(["--requests", "600"]);
                    run(cmd);
                    let files: Vec<String> = (1..=3)
                        .map(|k| {
                            dir.join(format!("{k}.heapsnapshot"))
                                .to_string_lossy()
                                .into_owned()
                        })
                        .collect();
                    let out = suspects(&files, &["--json"]);
                    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
                    let (verdict, got) = (&doc["verdict"], &doc["suspects"][0]["shape"]);
                    let ok = if shape.is_empty() {
                        verdict == "no-leak"
                    } else {
                        verdict == "leak" && got == shape
                    };
                    (!ok).then(|| {
                        format!("{example}: verdict {verdict}, top shape {got}, expected {shape:?}")
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().expect("thread"))
            .collect()
    });
    assert!(
        failures.is_empty(),
        "Node {major}:\n{}",
        failures.join("\n")
    );
}

#[test]
fn same_findings_on_node18() {
    across_node_version(18);
}

#[test]
fn same_findings_on_node24() {
    across_node_version(24);
}
