//! SIGTERM, SIGHUP and a second SIGINT sent to heaphound mid-capture, with real node: the
//! program heaphound started is stopped, no `.partial` is left, what was captured is kept
//! and reported with a fault naming the signal, and the exit code is 128 + the signal.

mod common;

use std::path::Path;
use std::process::{Child, Command};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::live::*;
use common::*;

fn send(sig: &str, pid: u32) {
    let status = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{sig} {pid}");
}

/// `heaphound attach PID --port PORT --json -q --out DIR`, to add options to.
fn attach_cmd(node: &Kill, inspect: u16, dir: &Path) -> Command {
    let mut cmd = Command::new(heaphound());
    cmd.args([
        "attach",
        &node.0.id().to_string(),
        "--port",
        &inspect.to_string(),
        "--json",
        "-q",
        "--out",
    ])
    .arg(dir);
    cmd
}

fn partials(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|f| f.ends_with(".partial"))
                .collect()
        })
        .unwrap_or_default()
}

/// Waits for heaphound to end, at most `limit`.
fn finish_within(child: Child, rx: &Receiver<String>, limit: Duration) -> (i32, Vec<u8>, String) {
    let pid = child.id();
    let started = Instant::now();
    let watchdog = std::thread::spawn(move || {
        while started.elapsed() < limit {
            if !alive(u64::from(pid)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        send("KILL", pid);
    });
    let (out, err) = finish_child(child, rx);
    let _ = watchdog.join();
    let code = out.status.code().unwrap_or_else(|| {
        panic!(
            "heaphound died of a signal ({}) after {:.1} s: {err}",
            out.status,
            started.elapsed().as_secs_f64()
        )
    });
    (code, out.stdout, err)
}

fn report_in(dir: &Path) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(dir.join("report.json")).expect("report.json is written"),
    )
    .expect("report.json is JSON")
}

/// A hunt stopped by `sig` during load 2: the program is stopped, the two snapshots kept
/// and judged, the fault names the signal.
fn hunt_stopped_by(sig: &str, code: i32, cause: &str) {
    let tmp = TempDir::new(&format!("hunt-{sig}"));
    let dir = tmp.path().join("run");
    let (child, rx) = spawn_hunt(hunt_cmd(
        &dir,
        &[
            "--json",
            "-q",
            "--load",
            "/items?user=2",
            "-d",
            "1s",
            "--warmup",
            "100",
        ],
        &["node", "examples/cache-leak/server.js", "0"],
    ));
    wait_for("snapshot 2", Duration::from_secs(60), || {
        dir.join("2.heapsnapshot").is_file()
    });
    std::thread::sleep(Duration::from_millis(300));
    send(sig, child.id());
    let (got, stdout, err) = finish_within(child, &rx, Duration::from_secs(30));
    assert_eq!(got, code, "{err}");
    let doc: Value = serde_json::from_slice(&stdout).unwrap_or_else(|e| panic!("{e}: {err}"));
    let report = report_in(&dir);
    assert_eq!(report, doc);
    let fault = report["fault"].as_str().unwrap_or_default();
    assert!(fault.starts_with(cause), "{fault:?}");
    assert!(fault.contains("the program was stopped"), "{fault:?}");
    assert_eq!(report["snapshots"].as_array().map(Vec::len), Some(2));
    let pid = report["program"]["pid"].as_u64().expect("program.pid");
    assert!(!alive(pid), "the program {pid} was left running");
    assert!(
        report["program"]["ended"]
            .as_str()
            .unwrap_or_default()
            .starts_with("stopped by heaphound"),
        "{report:#}"
    );
    assert!(partials(&dir).is_empty(), "{:?}", partials(&dir));
    assert!(!dir.join("3.heapsnapshot").exists());
    assert!(err.contains(cause), "{err}");
}

#[test]
fn ctrl_c_stops_a_hunt_and_reports_what_was_captured() {
    hunt_stopped_by("INT", 130, "interrupted (Ctrl-C) during load 2/2");
}

#[test]
fn sigterm_stops_a_hunt_like_ctrl_c() {
    hunt_stopped_by("TERM", 143, "stopped by SIGTERM during load 2/2");
}

#[test]
fn sighup_stops_a_hunt_like_ctrl_c() {
    hunt_stopped_by("HUP", 129, "stopped by SIGHUP during load 2/2");
}

#[test]
fn a_second_ctrl_c_during_a_snapshot_hurries_but_cleans_up() {
    let tmp = TempDir::new("hunt-sigint-twice");
    let dir = tmp.path().join("run");
    let (child, rx) = spawn_hunt(hunt_cmd(
        &dir,
        &["--json", "--load", "/", "-n", "50"],
        &["node", "tests/fixtures/apps/big-heap.js"],
    ));
    let mut seen = Vec::new();
    let pid = noted_pid(&rx, &mut seen);
    let partial = dir.join("1.heapsnapshot.partial");
    wait_for(
        "the first snapshot to stream",
        Duration::from_secs(60),
        || std::fs::metadata(&partial).is_ok_and(|m| m.len() > 0),
    );
    let started = Instant::now();
    send("INT", child.id());
    std::thread::sleep(Duration::from_millis(100));
    send("INT", child.id());
    let (code, _, err) = finish_within(child, &rx, Duration::from_secs(30));
    assert_eq!(code, 130, "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "hurried: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(!partial.exists(), "the half snapshot is removed");
    assert!(!dir.join("1.heapsnapshot").exists());
    assert!(partials(&dir).is_empty(), "{:?}", partials(&dir));
    assert!(!alive(u64::from(pid)), "the program {pid} was left running");
    assert!(
        err.contains("interrupted (Ctrl-C) during snapshot 1/3"),
        "{err}"
    );
    assert!(dir.join("memory.jsonl").is_file() && dir.join("load.json").is_file());
}

#[test]
fn sigterm_stops_an_attach_and_leaves_the_process_running() {
    let inspect = free_port();
    let (child, port) = start_plain_node(&[
        &format!("--inspect-port={inspect}"),
        "examples/cache-leak/server.js",
        "0",
    ]);
    let node = Kill(child);
    let tmp = TempDir::new("attach-sigterm");
    let dir = tmp.path().join("run");
    let mut cmd = attach_cmd(&node, inspect, &dir);
    cmd.args(["-d", "1s", "--warmup", "100"])
        .args(["--load", &format!("http://127.0.0.1:{port}/items?user=1")]);
    let (child, rx) = spawn_hunt(cmd);
    wait_for("snapshot 2", Duration::from_secs(60), || {
        dir.join("2.heapsnapshot").is_file()
    });
    std::thread::sleep(Duration::from_millis(300));
    send("TERM", child.id());
    let (code, stdout, err) = finish_within(child, &rx, Duration::from_secs(30));
    assert_eq!(code, 143, "{err}");
    let doc: Value = serde_json::from_slice(&stdout).unwrap_or_else(|e| panic!("{e}: {err}"));
    let fault = doc["fault"].as_str().unwrap_or_default();
    assert!(fault.starts_with("stopped by SIGTERM"), "{fault:?}");
    assert_eq!(report_in(&dir), doc);
    assert_eq!(doc["program"]["ended"], "still running", "{doc:#}");
    assert!(
        alive(u64::from(node.0.id())),
        "an attached process keeps running"
    );
    assert!(partials(&dir).is_empty(), "{:?}", partials(&dir));
}

#[test]
fn sigterm_stops_a_watch_and_its_program() {
    let tmp = TempDir::new("watch-sigterm");
    let series = tmp.join("memory.jsonl");
    let mut cmd = Command::new(heaphound());
    cmd.current_dir(repo_root())
        .args([
            "watch",
            "--interval",
            "100ms",
            "--duration",
            "60s",
            "--json",
            "-o",
        ])
        .arg(&series)
        .args(["--", "node", "examples/cache-leak/server.js", "0"]);
    let (child, rx) = spawn_hunt(cmd);
    let mut seen = Vec::new();
    let pid = noted_pid(&rx, &mut seen);
    wait_for("five samples", Duration::from_secs(30), || {
        std::fs::read_to_string(&series).is_ok_and(|s| s.lines().count() >= 5)
    });
    send("TERM", child.id());
    let (code, stdout, err) = finish_within(child, &rx, Duration::from_secs(20));
    assert_eq!(code, 143, "{err}");
    let doc: Value = serde_json::from_slice(&stdout).unwrap_or_else(|e| panic!("{e}: {err}"));
    assert_eq!(doc["stopped"], "stopped by SIGTERM", "{doc:#}");
    assert_eq!(doc["target"]["pid"], pid, "{doc:#}");
    assert!(!alive(u64::from(pid)), "the program {pid} was left running");
}

#[test]
fn sigterm_stops_a_gate_without_waiting_for_the_round() {
    let tmp = TempDir::new("gate-sigterm");
    let dir = tmp.path().join("run");
    let mut cmd = Command::new(heaphound());
    cmd.current_dir(repo_root())
        .args(["gate", "--timeout", "120s", "--out"])
        .arg(&dir)
        .args(["--", "node", "tests/fixtures/gate/hangs.js"]);
    let (child, rx) = spawn_hunt(cmd);
    let mut seen = Vec::new();
    let pid = noted_pid(&rx, &mut seen);
    // Into the warm-up, whose promise never settles.
    std::thread::sleep(Duration::from_millis(1500));
    let started = Instant::now();
    send("TERM", child.id());
    let (code, _, err) = finish_within(child, &rx, Duration::from_secs(30));
    assert_eq!(code, 143, "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "not waited out: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(err.contains("stopped by SIGTERM during"), "{err}");
    assert!(!alive(u64::from(pid)), "the program {pid} was left running");
    assert!(partials(&dir).is_empty(), "{:?}", partials(&dir));
}

#[test]
fn sigterm_during_a_snapshot_finishes_and_keeps_it() {
    let app = repo_root().join("tests/fixtures/apps/big-heap.js");
    let (node, url) = start_inspected(&[&app.to_string_lossy()]);
    let tmp = TempDir::new("snapshot-sigterm");
    let out = tmp.join("s.heapsnapshot");
    let partial = tmp.join("s.heapsnapshot.partial");
    let mut cmd = Command::new(heaphound());
    cmd.args(["snapshot", &url, "-o"]).arg(&out);
    let (child, rx) = spawn_hunt(cmd);
    wait_for("the snapshot to stream", Duration::from_secs(60), || {
        std::fs::metadata(&partial).is_ok_and(|m| m.len() > 0)
    });
    send("TERM", child.id());
    let (code, _, err) = finish_within(child, &rx, Duration::from_secs(20));
    assert_eq!(code, 143, "{err}");
    assert!(err.contains("stopped by SIGTERM"), "{err}");
    // Cutting the target's inspector mid-snapshot can crash it: the snapshot is finished.
    assert!(err.contains("finished and kept"), "{err}");
    assert!(!partial.exists(), "{:?}", tmp.files());
    let bytes = std::fs::read(&out).expect("the snapshot was kept");
    assert!(
        bytes.ends_with(b"]}") || bytes.ends_with(b"]}\n"),
        "a whole snapshot"
    );
    assert!(alive(u64::from(node.0.id())), "the target is left alone");
}

#[test]
fn a_second_signal_during_an_attached_snapshot_never_cuts_it() {
    let inspect = free_port();
    let (child, _) = start_plain_node(&[
        &format!("--inspect-port={inspect}"),
        "tests/fixtures/apps/big-heap.js",
    ]);
    let mut node = Kill(child);
    let tmp = TempDir::new("attach-sigterm-twice");
    let dir = tmp.path().join("run");
    let mut cmd = attach_cmd(&node, inspect, &dir);
    cmd.args(["--load", "/", "-n", "50"]);
    let (child, rx) = spawn_hunt(cmd);
    let partial = dir.join("1.heapsnapshot.partial");
    wait_for(
        "the first snapshot to stream",
        Duration::from_secs(60),
        || std::fs::metadata(&partial).is_ok_and(|m| m.len() > 0),
    );
    send("TERM", child.id());
    std::thread::sleep(Duration::from_millis(100));
    send("TERM", child.id());
    let (code, _, err) = finish_within(child, &rx, Duration::from_secs(60));
    assert_eq!(code, 143, "{err}");
    // Cutting an attached Node's inspector mid-snapshot can crash it: the snapshot is
    // finished and kept, however many signals come.
    assert!(partials(&dir).is_empty(), "{:?}", partials(&dir));
    assert!(
        dir.join("1.heapsnapshot").is_file(),
        "the snapshot was kept"
    );
    assert!(
        err.contains("stopped by SIGTERM during") && err.contains("kept 1 snapshot"),
        "{err}"
    );
    let id = node.0.id();
    std::thread::sleep(Duration::from_millis(500));
    let ended = node.0.try_wait();
    assert!(
        alive(u64::from(id)),
        "an attached process keeps running (it ended: {ended:?})"
    );
    // Stopped by signals, heaphound still closes the inspector it opened.
    assert!(
        !listening_ports(id).contains(&inspect),
        "the inspector was left open: {:?}",
        listening_ports(id)
    );
}
