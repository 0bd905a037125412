//! A program whose class and global are named with terminal escape sequences (set the window
//! title, clear the screen) and a bidi override: every human output shows the name escaped,
//! no control byte from the heap reaches the terminal, and the HTML page shows no bidi
//! override.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;

/// `EVIL` names a class and a global array that grows by one instance per request.
const EVIL_APP: &str = r#"'use strict';
const http = require('http');
const EVIL = "\x1b]0;pwned\x07\x1b[2J\u202ekcah";
// V8 names a class after the key it is written under when that key is a literal.
const C = { "\x1b]0;pwned\x07\x1b[2J\u202ekcah": class {} }[EVIL];
globalThis[EVIL] = [];
http.createServer((req, res) => {
  const o = new C();
  o.payload = new Array(1000).fill(Math.random());
  globalThis[EVIL].push(o);
  res.end('ok');
}).listen(Number(process.argv[2] || 0), '127.0.0.1');
"#;

/// The name as heaphound shows it.
const ESCAPED: &str = r"\x1b]0;pwned\x07\x1b[2J\u{202e}kcah";

fn stdout_is_clean(what: &str, out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let raw: Vec<usize> = bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == 0x1b || **b == 0x07)
            .map(|(i, _)| i)
            .collect();
        assert!(
            raw.is_empty(),
            "{what}: raw control bytes on {stream} at {raw:?}:\n{}",
            String::from_utf8_lossy(bytes).escape_debug()
        );
    }
    assert!(
        !text.contains('\u{202e}'),
        "{what}: a raw bidi override on stdout"
    );
    text
}

fn heaphound_cmd(args: &[&str], file: &Path) -> Command {
    let mut cmd = Command::new(heaphound());
    cmd.args(args).arg(file);
    cmd
}

#[test]
fn names_from_the_heap_reach_the_terminal_escaped() {
    let dir = TempDir::new("terminal");
    let script = dir.path().join("evil.js");
    std::fs::write(&script, EVIL_APP).expect("write the app");
    let run_dir = dir.path().join("run");
    let mut cmd = Command::new(heaphound());
    let page = dir.join("report.html");
    cmd.args(["hunt", "--quiet", "--load", "/", "-n", "300"])
        .arg("-o")
        .arg(&run_dir)
        .arg("--html")
        .arg(&page)
        .arg("--")
        .arg("node")
        .arg(&script)
        .arg("0");
    let out = cmd.output().expect("run heaphound hunt");
    assert_eq!(
        out.status.code(),
        Some(1),
        "hunt should find the leak:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hunt = stdout_is_clean("hunt", &out);
    assert!(
        hunt.contains(ESCAPED),
        "hunt does not name the class:\n{hunt}"
    );
    // The page shows no bidi override either (nor controls, which it never did).
    let html = std::fs::read_to_string(&page).expect("hunt --html wrote the page");
    assert!(!html.contains('\u{202e}') && !html.contains('\x1b'));
    assert!(
        html.contains(r"\u{202e}kcah"),
        "the page does not name the class"
    );

    let snaps: Vec<_> = (1..=3)
        .map(|i| run_dir.join(format!("{i}.heapsnapshot")))
        .collect();
    let last = &snaps[2];

    let summary = stdout_is_clean("summary", &run(heaphound_cmd(&["summary"], last)));
    assert!(summary.contains(ESCAPED), "summary:\n{summary}");

    let mut cmd = Command::new(heaphound());
    cmd.arg("suspects").args(&snaps);
    let out = cmd.output().expect("run heaphound suspects");
    assert_eq!(out.status.code(), Some(1), "suspects should find the leak");
    let suspects = stdout_is_clean("suspects", &out);
    assert!(suspects.contains(ESCAPED), "suspects:\n{suspects}");

    // The growing array, held by the global under the name.
    let mut cmd = Command::new(heaphound());
    cmd.args(["suspects", "--json"]).args(&snaps);
    let doc = parse_json(&cmd.output().expect("suspects --json"), "suspects --json");
    let holder = doc["suspects"][0]["holder"]["object"]["id"]
        .as_u64()
        .expect("the first suspect's holder id");
    let id = format!("@{holder}");

    let mut cmd = heaphound_cmd(&["retainers"], last);
    cmd.arg(&id);
    let retainers = stdout_is_clean("retainers", &run(cmd));
    assert!(retainers.contains(ESCAPED), "retainers:\n{retainers}");

    let mut cmd = heaphound_cmd(&["inspect"], last);
    cmd.arg(&id);
    let inspect = stdout_is_clean("inspect", &run(cmd));
    assert!(inspect.contains(ESCAPED), "inspect:\n{inspect}");

    let objects = stdout_is_clean(
        "objects",
        &run(heaphound_cmd(&["objects", "--top", "1000"], last)),
    );
    assert!(objects.contains(ESCAPED), "objects:\n{objects}");

    let mut cmd = Command::new(heaphound());
    cmd.arg("diff").arg(&snaps[0]).arg(last);
    let diff = stdout_is_clean("diff", &run(cmd));
    assert!(diff.contains(ESCAPED), "diff:\n{diff}");

    // JSON keeps the name, escaped the JSON way, and reads back to the same characters.
    let out = run(heaphound_cmd(&["summary", "--json"], last));
    stdout_is_clean("summary --json", &out);
    let v = parse_json(&out, "summary --json");
    let evil = "\x1b]0;pwned\x07\x1b[2J\u{202e}kcah";
    assert!(
        v["classes"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["name"] == evil)),
        "summary --json lost the class name"
    );
}

#[test]
fn function_names_from_a_heap_profile_reach_the_terminal_escaped() {
    let dir = TempDir::new("terminal-profile");
    let script = dir.join("alloc.js");
    std::fs::write(
        &script,
        r#"const name = "\x1b]0;pwned\x07\x1b[2J\u202ekcah";
const f = { "\x1b]0;pwned\x07\x1b[2J\u202ekcah": function () {
  const a = [];
  for (let i = 0; i < 2e5; i++) a.push({ i, s: 'x' + i });
  return a;
} }[name];
globalThis.keep = f();
"#,
    )
    .expect("write the script");
    let mut cmd = Command::new("node");
    cmd.arg("--heap-prof")
        .arg(format!("--heap-prof-dir={}", dir.path().display()))
        .arg(&script);
    run(cmd);
    let profile = dir
        .files()
        .into_iter()
        .find(|f| f.ends_with(".heapprofile"))
        .expect("node wrote a .heapprofile");
    let text = stdout_is_clean(
        "profile",
        &run(heaphound_cmd(&["profile"], &dir.join(&profile))),
    );
    assert!(text.contains(ESCAPED), "profile:\n{text}");
}

#[test]
fn a_file_name_in_an_error_reaches_the_terminal_escaped() {
    let dir = TempDir::new("terminal-error");
    let file = dir.join("\x1b]0;pwned\x07\x1b[2J.heapsnapshot");
    let out = heaphound_cmd(&["summary"], &file)
        .output()
        .expect("run heaphound summary");
    assert_eq!(out.status.code(), Some(2));
    stdout_is_clean("summary of a missing file", &out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(r"\x1b]0;pwned\x07\x1b[2J.heapsnapshot"),
        "{stderr}"
    );
}
