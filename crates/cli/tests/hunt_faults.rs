//! The faults a live capture meets, with real node: the program crashes mid-run or exits
//! at start-up, the load target refuses, remote load is asked for, the program is killed
//! while a snapshot streams. Each says what happened and keeps what was captured. Signals
//! to heaphound itself (Ctrl-C, SIGTERM, SIGHUP) are in tests/signals.rs.

mod common;

use std::process::Command;
use std::time::Duration;

use common::leaks;
use common::live::*;
use common::*;

#[test]
fn program_that_crashes_mid_run_keeps_what_was_captured() {
    let tmp = TempDir::new("hunt-crash");
    let dir = tmp.path().join("run");
    // Warm-up 200 + load 1 of 600 + 300 into load 2: dies after two snapshots.
    let out = output(hunt_cmd(
        &dir,
        &[
            "--json", "-q", "--load", "/", "-n", "600", "--warmup", "200",
        ],
        &["node", "tests/fixtures/apps/crash-after.js", "1100"],
    ));
    let err = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "no leak shown, run cut short: {err}"
    );
    let doc = leaks::doc_of(&out, "crashed hunt");
    let fault = doc["fault"].as_str().unwrap_or_default();
    assert!(
        fault.contains("exited with status 3") && fault.contains("load 2/2"),
        "{fault:?}"
    );
    assert!(fault.contains("kept 2 snapshots"), "{fault:?}");
    assert!(err.contains("exited with status 3"), "{err}");
    assert_eq!(doc["program"]["ended"], "exited with status 3", "{doc:#}");
    assert_eq!(
        doc["snapshots"].as_array().map(Vec::len),
        Some(2),
        "{doc:#}"
    );
    assert_eq!(doc["verdict"], "inconclusive", "{doc:#}");
    for k in 1..=2 {
        assert!(dir.join(format!("{k}.heapsnapshot")).is_file());
    }
    assert!(dir.join("report.json").is_file() && dir.join("memory.jsonl").is_file());
}

#[test]
fn program_that_exits_at_start_up() {
    let tmp = TempDir::new("hunt-exit");
    let out = output(hunt_cmd(
        &tmp.path().join("run"),
        &["--load", "/"],
        &["node", "-e", "console.error('bad config'); process.exit(3)"],
    ));
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("heaphound: error:") && err.contains("status 3"),
        "{err}"
    );
    assert!(
        err.contains("bad config"),
        "the program's own words are shown: {err}"
    );
}

#[test]
fn load_target_that_refuses_connections() {
    let tmp = TempDir::new("hunt-refused");
    let dir = tmp.path().join("run");
    let closed = free_port();
    let out = output(hunt_cmd(
        &dir,
        &[
            "--load",
            &format!("http://127.0.0.1:{closed}/"),
            "--ready-timeout",
            "10s",
        ],
        &["node", "examples/cache-leak/server.js", "0"],
    ));
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "127.0.0.1:{closed}/ refuses connections, but the program listens on 127.0.0.1:"
        )),
        "{err}"
    );
    assert!(
        err.contains("stopped by heaphound") || err.contains("only 0 snapshots"),
        "{err}"
    );
}

#[test]
fn remote_load_is_refused_unless_allowed() {
    let tmp = TempDir::new("hunt-remote");
    let out = output(hunt_cmd(
        &tmp.path().join("run"),
        &["--load", "http://192.0.2.1:8080/"],
        &["node", "examples/cache-leak/server.js", "0"],
    ));
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("not a loopback address") && err.contains("--allow-remote-load"),
        "{err}"
    );
    // Refused before anything started.
    assert!(!tmp.path().join("run").exists());
}

#[test]
fn program_killed_mid_snapshot_leaves_no_half_file() {
    let tmp = TempDir::new("hunt-killed");
    let dir = tmp.path().join("run");
    let (child, rx) = spawn_hunt(hunt_cmd(
        &dir,
        &["--json", "--load", "/", "-n", "50"],
        &["node", "tests/fixtures/apps/big-heap.js"],
    ));
    let pid = noted_pid(&rx, &mut Vec::new());
    let partial = dir.join("1.heapsnapshot.partial");
    wait_for(
        "the first snapshot to stream",
        Duration::from_secs(60),
        || std::fs::metadata(&partial).is_ok_and(|m| m.len() > 0),
    );
    let status = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let (out, err) = finish_child(child, &rx);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("killed by signal 9"), "{err}");
    assert!(err.contains("only 0 snapshots were captured"), "{err}");
    let files: Vec<String> = std::fs::read_dir(&dir)
        .expect("run dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        files.iter().all(|f| !f.contains("heapsnapshot")),
        "no snapshot, whole or half: {files:?}"
    );
    assert!(files.iter().any(|f| f == "memory.jsonl"), "{files:?}");
    // Nothing to judge, but what was captured is reported: the program, its fault, the
    // series, and a verdict that says why there is none.
    let written = std::fs::read(dir.join("report.json")).expect("report.json");
    let report: serde_json::Value = serde_json::from_slice(&written).expect("report.json is JSON");
    assert_eq!(report["verdict"], "inconclusive", "{report}");
    assert!(
        report["reason"]
            .as_str()
            .is_some_and(|r| r.contains("only 0 snapshots were captured")),
        "{report}"
    );
    assert!(report["fault"].is_string(), "{report}");
    assert!(report["memory"]["samples"].as_u64() > Some(0), "{report}");
    assert_eq!(out.stdout, written, "--json prints what report.json holds");
}
