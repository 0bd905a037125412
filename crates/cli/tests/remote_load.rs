//! Load goes to this machine only unless the user allows more: a remote `--load` target is
//! refused before the program starts and before any connection, and the refusal names the
//! flag that allows it (or, for `gate`, which has none, says so).

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// Not loopback, and not routed anywhere: a connection attempt would hang, not fail.
const REMOTE: &str = "http://10.255.255.1:9/";

/// A program that leaves a mark when it starts.
fn marking_app(dir: &TempDir) -> (std::path::PathBuf, std::path::PathBuf) {
    let mark = dir.join("started");
    let script = dir.join("app.js");
    std::fs::write(
        &script,
        format!(
            "require('fs').writeFileSync({:?}, 'x');\nrequire('http').createServer((q, s) => s.end()).listen(0, '127.0.0.1');\n",
            mark.to_string_lossy()
        ),
    )
    .expect("write the app");
    (script, mark)
}

#[test]
fn hunt_refuses_a_remote_target_and_names_the_flag() {
    let dir = TempDir::new("remote-load");
    let (script, mark) = marking_app(&dir);
    let started = Instant::now();
    let out = Command::new(heaphound())
        .args(["hunt", "--load", REMOTE, "-n", "10", "-o"])
        .arg(dir.join("run"))
        .arg("--")
        .arg("node")
        .arg(&script)
        .output()
        .expect("run heaphound hunt");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let line = stderr.lines().last().unwrap_or_default();
    assert!(
        line.contains("10.255.255.1") && line.contains("not a loopback address"),
        "{stderr}"
    );
    assert!(
        line.ends_with("pass --allow-remote-load to allow it"),
        "the refusal does not name the flag: {stderr}"
    );
    // Refused before anything: no program, no connection (which would take seconds to fail).
    assert!(!mark.exists(), "the program was started");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(!dir.join("run").exists(), "a run folder was made");
}

#[test]
fn gate_refuses_a_remote_target_without_naming_a_flag_it_lacks() {
    let dir = TempDir::new("remote-gate");
    let (script, mark) = marking_app(&dir);
    let out = Command::new(heaphound())
        .args(["gate", "--http", REMOTE, "-o"])
        .arg(dir.join("run"))
        .arg("--")
        .arg("node")
        .arg(&script)
        .output()
        .expect("run heaphound gate");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("not a loopback address") && stderr.contains("this machine only"),
        "{stderr}"
    );
    assert!(!stderr.contains("--allow-remote-load"), "{stderr}");
    assert!(!mark.exists(), "the program was started");
}
