//! Headroom before a snapshot, with real node: when the target cannot get the memory a
//! snapshot needs (here told by HEAPHOUND_MEMORY_LIMIT, as no cgroup can be made in a
//! test), `snapshot`, `hunt` and `gate` refuse with the numbers and the flag that takes it
//! anyway, leave no file and keep what a run already captured; `--force` takes it.

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use common::live::*;
use common::*;

const LIMIT: &str = "HEAPHOUND_MEMORY_LIMIT";

/// The cache-leak app without its inspector, with the port SIGUSR1 will open it on:
/// (process, inspector port).
fn plain_app() -> (Kill, u16) {
    let inspect = free_port();
    let (child, _) = start_plain_node(&[
        &format!("--inspect-port={inspect}"),
        "examples/cache-leak/server.js",
        "0",
    ]);
    (Kill(child), inspect)
}

fn snapshot(pid: u32, inspect: u16, out: &Path, extra: &[&str], limit: &str) -> Command {
    let mut cmd = Command::new(heaphound());
    cmd.args(["snapshot", &pid.to_string(), "--port", &inspect.to_string()])
        .args(extra)
        .arg("-o")
        .arg(out)
        .env(LIMIT, limit);
    cmd
}

fn no_snapshot_left(path: &Path) {
    assert!(!path.exists(), "{} was left", path.display());
    let partial = path.with_file_name(format!(
        "{}.partial",
        path.file_name().unwrap().to_string_lossy()
    ));
    assert!(!partial.exists(), "{} was left", partial.display());
}

/// The one error line heaphound ends with.
fn error_line(err: &str) -> &str {
    err.lines()
        .find(|l| l.starts_with("heaphound: error: "))
        .unwrap_or_else(|| panic!("no error line in {err}"))
}

#[test]
fn snapshot_of_a_pid_is_refused_without_room_and_taken_with_force() {
    let (node, inspect) = plain_app();
    let pid = node.0.id();
    let tmp = TempDir::new("headroom-snapshot");
    let snap = tmp.path().join("s.heapsnapshot");

    let out = output(snapshot(pid, inspect, &snap, &[], "1MB"));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let line = error_line(&err);
    for want in [
        &format!("heap snapshot of PID {pid}"),
        "beside the heap, its used size",
        "it can get 1.00 MB (1,000,000 bytes), from HEAPHOUND_MEMORY_LIMIT=1MB (a testing override)",
        &format!("the kernel's OOM killer may kill PID {pid} mid-snapshot and leave a 0-byte file"),
        "--force takes it anyway",
    ] {
        assert!(line.contains(want), "{want:?} not in {line}");
    }
    assert!(out.stdout.is_empty());
    no_snapshot_left(&snap);
    // Nothing was taken, and the inspector heaphound opened is closed again.
    assert!(alive(u64::from(pid)), "the target died");
    assert!(
        !listening_ports(pid).contains(&inspect),
        "the refusal left the inspector open"
    );

    let out = output(snapshot(pid, inspect, &snap, &["--force", "--json"], "1MB"));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("taking the snapshot anyway (--force)"),
        "no warning: {err}"
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("snapshot --json");
    assert_eq!(doc["inspector_closed"], true, "{doc:#}");
    let bytes = std::fs::read(&snap).expect("the forced snapshot");
    assert_eq!(doc["bytes"], bytes.len(), "{doc:#}");
    assert!(bytes.starts_with(b"{\"snapshot\":{\"meta\":"));
    assert_eq!(bytes.trim_ascii_end().last(), Some(&b'}'));
    assert!(!listening_ports(pid).contains(&inspect));

    // Room enough: no word of it. A fresh target: a third SIGUSR1 right after a forced
    // snapshot and its close was seen to end Node 20 under load (open issue, see the notes).
    let (node2, inspect2) = plain_app();
    let (pid, inspect) = (node2.0.id(), inspect2);
    let roomy = tmp.path().join("roomy.heapsnapshot");
    let out = output(snapshot(pid, inspect, &roomy, &["-q"], "1GiB"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(roomy.is_file());
    assert!(!stderr(&out).contains("OOM"), "{}", stderr(&out));

    // A value that is not a size is a usage error, before anything is signalled.
    let bad = tmp.path().join("bad.heapsnapshot");
    let out = output(snapshot(pid, inspect, &bad, &[], "lots"));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        error_line(&stderr(&out)).contains("HEAPHOUND_MEMORY_LIMIT: 'lots' is not a size"),
        "{}",
        stderr(&out)
    );
    no_snapshot_left(&bad);
}

/// A ws:// URL names no PID: the one behind it is asked (`process.pid`) and kept once it
/// is seen to hold the URL's port.
#[test]
fn snapshot_of_a_url_names_the_pid_behind_it() {
    let (node, url) = start_inspected(&["-e", "setInterval(() => {}, 1000)"]);
    let pid = node.0.id();
    let tmp = TempDir::new("headroom-url");
    let snap = tmp.path().join("s.heapsnapshot");
    let mut cmd = Command::new(heaphound());
    cmd.args(["snapshot", &url, "-o"])
        .arg(&snap)
        .env(LIMIT, "100kB");
    let out = output(cmd);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let line = error_line(&err);
    assert!(
        line.contains(&format!("of PID {pid}:")) && line.contains("--force takes it anyway"),
        "{line}"
    );
    no_snapshot_left(&snap);
}

#[test]
fn hunt_refuses_its_first_snapshot_and_keeps_the_memory_series() {
    let tmp = TempDir::new("headroom-hunt");
    let dir = tmp.path().join("run");
    let mut cmd = hunt_cmd(
        &dir,
        &["--json", "-q", "--load", "/", "-n", "50", "--warmup", "20"],
        &["node", "examples/cache-leak/server.js", "0"],
    );
    cmd.env(LIMIT, "1MB");
    let out = output(cmd);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    // The refusal is told as the run's fault, with what was kept.
    let fault_line = err
        .lines()
        .find(|l| l.contains("snapshot 1/3: not enough memory for a heap snapshot of PID"))
        .unwrap_or_else(|| panic!("no refusal in {err}"));
    for want in [
        "from HEAPHOUND_MEMORY_LIMIT=1MB (a testing override)",
        "OOM killer",
        "--force takes it anyway",
        "kept 0 snapshots in",
    ] {
        assert!(fault_line.contains(want), "{want:?} not in {fault_line}");
    }
    assert!(
        error_line(&err).contains("only 0 snapshots were captured"),
        "{err}"
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("report.json on stdout");
    let fault = doc["fault"].as_str().unwrap_or_default();
    assert!(fault.contains("snapshot 1/3: not enough memory"), "{doc:#}");
    assert_eq!(doc["verdict"], "inconclusive", "{doc:#}");
    assert_eq!(
        doc["program"]["ended"], "stopped by heaphound (SIGTERM)",
        "{doc:#}"
    );
    no_snapshot_left(&dir.join("1.heapsnapshot"));
    // What was measured before the refusal is kept: the series, with the post-GC sample
    // taken for the snapshot that was refused.
    let series = std::fs::read_to_string(dir.join("memory.jsonl")).expect("memory.jsonl");
    let samples: Vec<Value> = series
        .lines()
        .map(|l| serde_json::from_str(l).expect("a memory sample"))
        .collect();
    assert!(
        samples
            .iter()
            .any(|s| s["snapshot"] == 1 && s["heap_used"].as_u64().unwrap_or(0) > 1_000_000),
        "{series}"
    );
    assert_eq!(doc["memory"]["samples"], samples.len(), "{doc:#}");
    assert!(dir.join("report.json").is_file() && dir.join("load.json").is_file());
}

#[test]
fn gate_refuses_its_first_snapshot_with_the_reason() {
    let tmp = TempDir::new("headroom-gate");
    let dir = tmp.path().join("run");
    let mut cmd = Command::new(heaphound());
    cmd.current_dir(repo_root())
        .args([
            "gate", "-q", "-n", "20", "--rounds", "3", "--warmup", "0", "--out",
        ])
        .arg(&dir)
        .args(["--", "node", "tests/fixtures/gate/leaky.js"])
        .env(LIMIT, "1MB");
    let out = output(cmd);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let line = error_line(&err);
    assert!(
        line.contains("gate: snapshot 1 (round 1/3): not enough memory for a heap snapshot of PID")
            && line.contains("--force takes it anyway"),
        "{line}"
    );
    no_snapshot_left(&dir.join("1.heapsnapshot"));
}
