//! `heaphound hunt` against real node processes: the whole playbook (start, warm-up, GC +
//! snapshots with real HTTP load between them, memory samples, the suspects report) on
//! every example app, with the built-in load, a user's own load command, and allocation
//! tracking. Faults are in hunt_faults.rs, `attach` and `snapshot` in attach.rs.

mod common;

use std::process::Output;

use serde_json::Value;

use common::leaks::{self, Line};
use common::live::*;
use common::*;

const REQUESTS: &str = "800";

/// `hunt --load` on one example app with the built-in load.
fn hunt_example(example: &'static str) -> (Value, Output) {
    let tmp = TempDir::new(&format!("hunt-{example}"));
    let dir = tmp.path().join("run");
    let server = format!("examples/{example}/server.js");
    let out = output(hunt_cmd(
        &dir,
        &["--json", "-q", "--load", "/items?user=7", "-n", REQUESTS],
        &["node", &server, "0"],
    ));
    let doc = leaks::doc_of(&out, example);
    check_run_dir(&doc, &dir, 3);
    let load = &doc["load"];
    assert_eq!(load["mode"], "http", "{load:#}");
    // Warm-up (a third of -n) and two load phases, every request answered.
    assert_eq!(load["requests"], 267 + 2 * 800, "{load:#}");
    assert_eq!(load["errors"], 0, "{load:#}");
    assert_eq!(load["phases"].as_array().map(Vec::len), Some(3), "{load:#}");
    assert!(load["latency_ms"]["p99"].as_f64().unwrap_or(0.0) > 0.0);
    let program = &doc["program"];
    assert_eq!(program["attached"], false);
    assert!(
        program["ended"]
            .as_str()
            .unwrap_or_default()
            .starts_with("stopped by heaphound"),
        "{program}"
    );
    let pid = program["pid"].as_u64().expect("pid");
    assert!(!alive(pid), "the program (PID {pid}) was left running");
    (doc, out)
}

macro_rules! hunts {
    ($($name:ident: $example:literal,)*) => {$(
        #[test]
        fn $name() {
            let (doc, out) = hunt_example($example);
            leaks::check_report(&leaks::expect($example), &doc, &out);
        }
    )*};
}

hunts! {
    hunt_map_cache: "cache-leak",
    hunt_listeners: "listener-leak",
    hunt_shared_context: "closure-leak",
    hunt_timers: "timer-leak",
    hunt_buffers: "buffer-leak",
    hunt_promises: "promise-leak",
    hunt_stream: "stream-leak",
    hunt_global_array: "global-array-leak",
}

#[test]
fn hunt_bounded_cache_is_no_leak() {
    let (doc, out) = hunt_example("bounded-cache");
    assert_eq!(doc["verdict"], "no-leak", "{doc:#}");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn hunt_human_report_and_program_output() {
    let tmp = TempDir::new("hunt-text");
    let dir = tmp.path().join("run");
    let out = output(hunt_cmd(
        &dir,
        &["--load", "/items?user=7", "-n", "600"],
        &["examples/cache-leak/server.js", "0"],
    ));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "heaphound hunt: node examples/cache-leak/server.js 0 (PID ",
        "  load     GET http://127.0.0.1:",
        "1,400 requests in 3 phases (0 errors, 0 non-2xx)",
        "  memory   rss ",
        "LEAK",
        "#1 unbounded-collection: Map `sessionCache`",
        "source    cache-leak/server.js:8:",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    // The program's own output goes to stderr, beside heaphound's notes.
    let err = stderr(&out);
    assert!(err.contains("listening on http://127.0.0.1:"), "{err}");
    assert!(err.contains("the program is ready: load goes to"), "{err}");
}

#[test]
fn hunt_with_a_load_command() {
    let tmp = TempDir::new("hunt-drive");
    let dir = tmp.path().join("run");
    let drive = "node tests/fixtures/load/get.js 'http://127.0.0.1:{port}/items?user=3' 700";
    let out = output(hunt_cmd(
        &dir,
        &["--json", "-q", "--drive", drive],
        &["node", "examples/cache-leak/server.js", "0"],
    ));
    let doc = leaks::doc_of(&out, "hunt --drive");
    leaks::check_report(&leaks::expect("cache-leak"), &doc, &out);
    check_run_dir(&doc, &dir, 3);
    let load = &doc["load"];
    assert_eq!(load["mode"], "command", "{load:#}");
    assert!(
        load["command"]
            .as_str()
            .unwrap_or_default()
            .contains("get.js 'http://127.0.0.1:"),
        "{{port}} filled in: {load:#}"
    );
    let phases = load["phases"].as_array().expect("phases");
    assert_eq!(phases.len(), 3, "{load:#}");
    assert!(phases.iter().all(|p| p["success"] == true), "{load:#}");
    // Each phase sent 700 requests, one Session each: 1,400 between the first and last.
    assert_eq!(
        doc["suspects"][0]["counts"][2].as_i64().unwrap_or(0)
            - doc["suspects"][0]["counts"][0].as_i64().unwrap_or(0),
        1400,
        "{doc:#}"
    );
}

#[test]
fn hunt_allocation_sites_name_the_allocating_function() {
    let tmp = TempDir::new("hunt-alloc");
    let dir = tmp.path().join("run");
    let out = output(hunt_cmd(
        &dir,
        &[
            "--json",
            "-q",
            "--allocation-sites",
            "--load",
            "/items",
            "-n",
            "600",
        ],
        &["node", "examples/cache-leak/server.js", "0"],
    ));
    let doc = leaks::doc_of(&out, "hunt --allocation-sites");
    assert_eq!(doc["verdict"], "leak", "{doc:#}");
    let top = &doc["suspects"][0];
    let loc = &top["locations"][0];
    // V8 records the function that allocated (by its definition's position), not the
    // statement: `handle`, which runs `new Session(…)` for every request.
    assert_eq!(loc["kind"], "allocation", "{top:#}");
    assert_eq!(loc["function"], "handle", "{top:#}");
    assert_eq!(
        loc["line"],
        leaks::line_in("cache-leak", &Line::Containing("function handle(")),
        "{top:#}"
    );
    let stack = top["allocation_stack"]
        .as_array()
        .expect("allocation_stack");
    assert!(
        stack[0].as_str().unwrap_or_default().starts_with("handle ")
            && stack[0]
                .as_str()
                .unwrap_or_default()
                .contains("cache-leak/server.js:"),
        "{stack:?}"
    );
    // The constructor still follows.
    assert!(
        top["locations"]
            .as_array()
            .expect("locations")
            .iter()
            .any(|l| l["kind"] == "constructor" && l["function"] == "Session"),
        "{top:#}"
    );
}
