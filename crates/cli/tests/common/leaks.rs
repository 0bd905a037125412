//! What each example app's leak report must say, shared by the tests that make the
//! snapshots in different ways (`examples/capture.js` + `suspects`, and `hunt`).

use std::process::Output;

use serde_json::Value;

use super::repo_root;

/// A line of an example's server.js, found by its text so edits to the app move it along.
pub enum Line {
    /// The `constructor(` of a class.
    Constructor(&'static str),
    /// The first line containing the text.
    Containing(&'static str),
}

pub fn line_in(example: &str, line: &Line) -> u64 {
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

pub struct Expect {
    pub example: &'static str,
    pub shape: &'static str,
    /// A piece of the holder's name (`Map \`sessionCache\``).
    pub holder: &'static str,
    /// Where the first source location must point (1-based line, found in the app's code).
    pub line: Line,
    /// A piece of the title.
    pub title: &'static str,
}

/// The expectations for one example app.
pub fn expect(example: &'static str) -> Expect {
    let (shape, holder, line, title) = match example {
        "cache-leak" => (
            "unbounded-collection",
            "Map `sessionCache`",
            Line::Constructor("Session"),
            "grows without bound",
        ),
        "listener-leak" => (
            "event-listeners",
            "_events",
            Line::Containing("function onConfigChange"),
            "ConfigBus `configBus`: 'config-change' ×",
        ),
        "closure-leak" => (
            "shared-context",
            "module scope",
            Line::Constructor("RenderState"),
            "captures `previous`",
        ),
        "timer-leak" => (
            "timers",
            "TimersList",
            Line::Containing("setInterval("),
            "(60000 ms)",
        ),
        "buffer-leak" => (
            "buffers",
            "Array `replayLog`",
            Line::Constructor("ReplayEntry"),
            "off the JS heap",
        ),
        "promise-leak" => (
            "unsettled-promises",
            "Promise",
            Line::Constructor("PricedQuote"),
            "never settles",
        ),
        "stream-leak" => (
            "stream-buffer",
            "kBufferedValue",
            Line::Constructor("CollectorSink"),
            "CollectorSink `accessLog` is written to without backpressure",
        ),
        "global-array-leak" => (
            "global-array",
            "Array `recentRequests`",
            Line::Constructor("RequestRecord"),
            "only ever grows",
        ),
        other => panic!("no expectations for example {other:?}"),
    };
    Expect {
        example,
        shape,
        holder,
        line,
        title,
    }
}

/// The JSON document on stdout, or a panic that shows what came instead.
pub fn doc_of(out: &Output, what: &str) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|err| {
        panic!(
            "{what}: not JSON ({err}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// A leak report (the `suspects --json` document, alone or inside `hunt --json`) names the
/// example's leak: shape, holder, title, steady growth, path and the source line.
pub fn check_report(e: &Expect, doc: &Value, out: &Output) {
    let ctx = format!(
        "{}: {}",
        e.example,
        serde_json::to_string_pretty(doc).unwrap_or_default()
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
