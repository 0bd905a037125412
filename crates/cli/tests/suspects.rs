//! `heaphound suspects` on the example apps: each app runs in a real node process that
//! serves real HTTP requests over loopback (examples/capture.js), three snapshots are
//! taken with load between them, and the top suspect must name the right shape, holder
//! and source line; the bounded cache must come out as no leak.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

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

/// A line of an example's server.js, found by its text so edits to the app move it along.
enum Line {
    /// The `constructor(` of a class.
    Constructor(&'static str),
    /// The first line containing the text.
    Containing(&'static str),
}

fn line_in(example: &str, line: &Line) -> u64 {
    let path = repo_root().join("examples").join(example).join("server.js");
    let src = std::fs::read_to_string(&path).expect("example source");
    let lines: Vec<&str> = src.lines().collect();
    let find = |from: usize, needle: &str| {
        (from..lines.len())
            .find(|&i| lines[i].contains(needle))
            .unwrap_or_else(|| panic!("{}: no line with {needle:?}", path.display()))
    };
    let i = match line {
        Line::Containing(text) => find(0, text),
        Line::Constructor(class) => find(find(0, &format!("class {class}")), "constructor("),
    };
    i as u64 + 1
}

struct Expect {
    example: &'static str,
    shape: &'static str,
    /// A piece of the holder's name (`Map \`sessionCache\``).
    holder: &'static str,
    /// Where the first source location must point (1-based line, found in the app's code).
    line: Line,
    /// A piece of the title.
    title: &'static str,
}

fn check(e: Expect) {
    let tmp = TempDir::new(&format!("suspects-{}", e.example));
    let files = capture(e.example, tmp.path(), 1000);
    let out = suspects(&files, &["--json"]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|err| {
        panic!(
            "{}: not JSON ({err}): {}{}",
            e.example,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let ctx = format!(
        "{}: {}",
        e.example,
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    );
    assert_eq!(doc["schema_version"], 1, "{ctx}");
    assert_eq!(doc["verdict"], "leak", "{ctx}");
    assert_eq!(out.status.code(), Some(1), "exit code 1 on a leak: {ctx}");
    let top = &doc["suspects"][0];
    assert_eq!(top["rank"], 1, "{ctx}");
    assert_eq!(top["shape"], e.shape, "{ctx}");
    let holder = top["holder"]["name"].as_str().unwrap_or_default();
    assert!(
        holder.contains(e.holder),
        "holder {holder:?} should name {:?}: {ctx}",
        e.holder
    );
    let title = top["title"].as_str().unwrap_or_default();
    assert!(
        title.contains(e.title),
        "title {title:?} should say {:?}: {ctx}",
        e.title
    );
    // Growth in both steps, about one object per request.
    let growth: Vec<i64> = top["count_growth"]
        .as_array()
        .expect("count_growth")
        .iter()
        .map(|v| v.as_i64().expect("number"))
        .collect();
    assert_eq!(growth.len(), 2, "{ctx}");
    assert!(
        growth.iter().all(|&d| d >= 400),
        "steady growth per step: {growth:?}: {ctx}"
    );
    assert!(
        top["retained_growth"].as_i64().unwrap_or(0) > 32 * 1024,
        "{ctx}"
    );
    assert!(
        !top["retainer_path"].as_array().expect("path").is_empty(),
        "{ctx}"
    );
    let loc = &top["locations"][0];
    let file = loc["file"].as_str().unwrap_or_default();
    assert!(
        file.ends_with(&format!("examples/{}/server.js", e.example)),
        "first location in the app's own file: {ctx}"
    );
    assert_eq!(
        loc["line"],
        line_in(e.example, &e.line),
        "first location's line: {ctx}"
    );
    assert!(
        loc["column"].as_u64().unwrap_or(0) >= 1,
        "1-based column: {ctx}"
    );
}

#[test]
fn map_cache_leak() {
    check(Expect {
        example: "cache-leak",
        shape: "unbounded-collection",
        holder: "Map `sessionCache`",
        line: Line::Constructor("Session"),
        title: "grows without bound",
    });
}

#[test]
fn listeners_added_per_request() {
    check(Expect {
        example: "listener-leak",
        shape: "event-listeners",
        holder: "_events",
        line: Line::Containing("function onConfigChange"),
        title: "ConfigBus `configBus`: 'config-change' ×",
    });
}

#[test]
fn closures_sharing_a_context() {
    check(Expect {
        example: "closure-leak",
        shape: "shared-context",
        holder: "module scope",
        line: Line::Constructor("RenderState"),
        title: "captures `previous`",
    });
}

#[test]
fn timers_never_cleared() {
    check(Expect {
        example: "timer-leak",
        shape: "timers",
        holder: "TimersList",
        line: Line::Containing("setInterval("),
        title: "(60000 ms)",
    });
}

#[test]
fn buffers_off_the_heap() {
    check(Expect {
        example: "buffer-leak",
        shape: "buffers",
        holder: "Array `replayLog`",
        line: Line::Constructor("ReplayEntry"),
        title: "off the JS heap",
    });
}

#[test]
fn promises_never_settled() {
    check(Expect {
        example: "promise-leak",
        shape: "unsettled-promises",
        holder: "Promise",
        line: Line::Constructor("PricedQuote"),
        title: "never settles",
    });
}

#[test]
fn stream_without_backpressure() {
    check(Expect {
        example: "stream-leak",
        shape: "stream-buffer",
        holder: "kBufferedValue",
        line: Line::Constructor("CollectorSink"),
        title: "CollectorSink `accessLog` is written to without backpressure",
    });
}

#[test]
fn per_request_global_state() {
    check(Expect {
        example: "global-array-leak",
        shape: "global-array",
        holder: "Array `recentRequests`",
        line: Line::Constructor("RequestRecord"),
        title: "only ever grows",
    });
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
