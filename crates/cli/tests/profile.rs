//! `heaphound profile` on a sampling heap profile node writes with --heap-prof.

mod common;

use std::process::Command;

use common::{array_field, heaphound, parse_json, run, u64_field, TempDir};

/// Almost every byte this program keeps is allocated by `hog` (line 3, its definition:
/// the profiler names functions, not statements); the rest allocates little.
const PROGRAM: &str = "'use strict';
const kept = [];
function hog(n) {
  for (let i = 0; i < n; i++) kept.push({ i, a: [i, i + 1, i + 2, i + 3, i + 4, i + 5], s: { t: i } });
}
// From a timer, after the module has loaded, as a server's work runs; the explicit exit
// writes the profile while `kept` is still alive.
setTimeout(() => { hog(60000); process.exit(0); }, 1);
";

#[test]
fn top_site_of_a_real_heap_profile_is_the_allocating_function() {
    let dir = TempDir::new("heapprof");
    let script = dir.path().join("hog.js");
    std::fs::write(&script, PROGRAM).expect("write the program");
    let mut node = Command::new("node");
    node.arg("--heap-prof")
        .arg("--heap-prof-interval=2048")
        .arg(format!("--heap-prof-dir={}", dir.path().display()))
        .arg("--heap-prof-name=hog.heapprofile")
        .arg(&script);
    run(node);
    let profile = dir.path().join("hog.heapprofile");
    assert!(profile.is_file(), "node wrote no {}", profile.display());

    let svg = dir.path().join("flame.svg");
    let mut cmd = Command::new(heaphound());
    cmd.arg("profile")
        .arg(&profile)
        .arg("--json")
        .arg("--top=3")
        .arg("--flamegraph")
        .arg(&svg);
    let out = run(cmd);
    let doc = parse_json(&out, "profile --json");
    let top = &array_field(&doc, "by_self", "profile --json")[0];
    let url = top["url"].as_str().unwrap_or_default();
    assert!(url.ends_with("hog.js"), "top site is not in hog.js: {top}");
    assert_eq!(top["function"], "hog", "{top}");
    assert_eq!(top["line"], 3, "{top}");
    let total = u64_field(&doc, "total_size", "profile --json");
    assert!(
        u64_field(top, "self_size", "top site") * 2 > total,
        "hog should hold most sampled bytes: {top} of {total}"
    );
    let svg = std::fs::read_to_string(&svg).expect("the flame graph was written");
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(
        svg.contains(">hog<") || svg.contains("hog "),
        "no hog frame in the SVG"
    );

    // The human tables name the same line, 1-based.
    let mut cmd = Command::new(heaphound());
    cmd.arg("profile").arg(&profile).arg("--top=1");
    let text = String::from_utf8_lossy(&run(cmd).stdout).into_owned();
    assert!(text.contains("hog.js:3:"), "{text}");
}

#[test]
fn a_file_that_is_not_a_profile_is_a_usage_error() {
    let dir = TempDir::new("heapprof-bad");
    let bad = dir.path().join("x.heapprofile");
    std::fs::write(&bad, "{\"nodes\": []}").expect("write");
    let out = Command::new(heaphound())
        .arg("profile")
        .arg(&bad)
        .output()
        .expect("run heaphound");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("x.heapprofile") && err.contains("not a sampling heap profile"),
        "{err}"
    );
}
