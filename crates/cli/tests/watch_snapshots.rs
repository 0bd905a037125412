//! Snapshots when memory crosses a line (`watch --snapshot-above`), through the inspector
//! or through the process's own --heapsnapshot-signal handler (no port ever opened), and
//! `snapshot PID --signal`: real node processes, real files Node writes.

mod common;

use std::process::{Command, Output};

use common::live::listening_ports;
use common::{heaphound, TempDir};
use heaphound_test_support::{spawn_until_line, Stream};

/// Keeps about a megabyte more every 100 ms, and says when its handlers are in place.
const GROWS: &str = "const keep = []; setInterval(() => { for (let i = 0; i < 2000; i++) keep.push({ i, s: 'x' + i }); }, 100); console.log('ready');";

fn run(args: &[&str]) -> Output {
    Command::new(heaphound())
        .args(args)
        .env("HEAPHOUND_NO_PROGRESS", "1")
        .output()
        .expect("heaphound runs")
}

fn heap_files(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".heapsnapshot"))
        .collect();
    v.sort();
    v
}

#[test]
fn watch_takes_signal_snapshots_without_ever_opening_a_port() {
    let written = TempDir::new("ws-node");
    let run_dir = TempDir::new("ws-run");
    let diag = format!("--diagnostic-dir={}", written.path().display());
    let (node, _) = spawn_until_line(
        "node",
        &["--heapsnapshot-signal=SIGUSR2", &diag, "-e", GROWS],
        Stream::Stdout,
    );
    let pid = node.0.id();
    let series = run_dir.join("memory.jsonl");
    let out = run(&[
        "watch",
        &pid.to_string(),
        "--interval",
        "200ms",
        "--duration",
        "3s",
        "--snapshot-above",
        "1MB",
        "--snapshot-interval",
        "800ms",
        "--max-snapshots",
        "2",
        "--snapshot-signal",
        "SIGUSR2",
        "-o",
        series.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = common::parse_json(&out, "heaphound");
    assert_eq!(
        common::validate(&common::repo_root(), "watch", &doc),
        Ok(())
    );
    assert_eq!(doc["target"]["source"], "proc");
    let snaps = doc["snapshots"].as_array().unwrap();
    assert_eq!(snaps.len(), 2, "{doc:#}");
    for s in snaps {
        assert_eq!(s["via"], "SIGUSR2");
        assert_eq!(s["metric"], "rss");
        assert!(s["value"].as_f64().unwrap() >= s["line"].as_f64().unwrap());
        let file = std::path::Path::new(s["file"].as_str().unwrap());
        assert_eq!(file.parent(), Some(run_dir.path()));
        let name = file.file_name().unwrap().to_string_lossy();
        assert!(
            name.starts_with("Heap.") && name.contains(&format!(".{pid}.")),
            "{name}"
        );
        assert_eq!(
            std::fs::metadata(file).unwrap().len(),
            s["bytes"].as_u64().unwrap()
        );
    }
    assert!(snaps[1]["t_ms"].as_u64().unwrap() - snaps[0]["t_ms"].as_u64().unwrap() >= 800);
    // Moved, not copied: nothing is left where Node wrote them.
    assert_eq!(heap_files(written.path()), Vec::<String>::new());
    assert_eq!(listening_ports(pid), Vec::<u16>::new(), "a port was opened");
    // They are whole snapshots: a postmortem reads them as this process's.
    let pm = run(&["postmortem", run_dir.path().to_str().unwrap(), "--json"]);
    let pm = common::parse_json(&pm, "heaphound");
    assert_eq!(pm["processes"][0]["pid"].as_u64(), Some(pid as u64));
    assert!(pm["skipped"].is_null(), "{:#}", pm["skipped"]);
}

#[test]
fn watch_takes_inspector_snapshots_on_the_used_heap_and_on_a_share_of_the_limit() {
    let run_dir = TempDir::new("wi-run");
    let series = run_dir.join("memory.jsonl");
    let out = run(&[
        "watch",
        "--interval",
        "200ms",
        "--duration",
        "2s",
        "--snapshot-above",
        "heap_used=1MB",
        "--snapshot-interval",
        "500ms",
        "--max-snapshots",
        "2",
        "-o",
        series.to_str().unwrap(),
        "--json",
        "--",
        "node",
        "-e",
        GROWS,
    ]);
    let doc = common::parse_json(&out, "heaphound");
    let snaps = doc["snapshots"].as_array().unwrap();
    assert_eq!(snaps.len(), 2, "{doc:#}");
    assert_eq!(snaps[0]["via"], "inspector");
    assert_eq!(snaps[0]["metric"], "heap_used");
    assert!(snaps[0]["heap_used"].as_u64().unwrap() >= 1_000_000);
    assert_eq!(
        heap_files(run_dir.path()),
        ["snapshot-1.heapsnapshot", "snapshot-2.heapsnapshot"]
    );
    let sum = run(&[
        "summary",
        run_dir.join("snapshot-2.heapsnapshot").to_str().unwrap(),
        "--json",
    ]);
    assert!(
        sum.status.success(),
        "{}",
        String::from_utf8_lossy(&sum.stderr)
    );

    let run_dir = TempDir::new("wp-run");
    let series = run_dir.join("memory.jsonl");
    let out = run(&[
        "watch",
        "--interval",
        "200ms",
        "--duration",
        "1500ms",
        "--snapshot-above",
        "1%",
        "--max-snapshots",
        "1",
        "-o",
        series.to_str().unwrap(),
        "--json",
        "--",
        "node",
        "--max-old-space-size=64",
        "-e",
        GROWS,
    ]);
    let doc = common::parse_json(&out, "heaphound");
    let snaps = doc["snapshots"].as_array().unwrap();
    assert_eq!(snaps.len(), 1, "{doc:#}");
    assert_eq!(snaps[0]["metric"], "heap_limit_percent");
    assert!(
        snaps[0]["value"].as_f64().unwrap() >= 1.0 && snaps[0]["value"].as_f64().unwrap() < 100.0
    );
}

#[test]
fn a_snapshot_the_memory_cannot_hold_is_noted_and_the_watch_goes_on() {
    let run_dir = TempDir::new("wh-run");
    let series = run_dir.join("memory.jsonl");
    let out = Command::new(heaphound())
        .args([
            "watch",
            "--interval",
            "200ms",
            "--duration",
            "1s",
            "--snapshot-above",
            "1MB",
            "--max-snapshots",
            "1",
            "-o",
            series.to_str().unwrap(),
            "--json",
            "--",
            "node",
            "-e",
            GROWS,
        ])
        .env("HEAPHOUND_MEMORY_LIMIT", "1MB")
        .env("HEAPHOUND_NO_PROGRESS", "1")
        .output()
        .unwrap();
    let doc = common::parse_json(&out, "heaphound");
    assert!(doc["snapshots"].is_null(), "{doc:#}");
    let notes = doc["snapshot_notes"].as_array().unwrap();
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].as_str().unwrap().contains("not enough memory"),
        "{notes:?}"
    );
    assert!(
        doc["samples"].as_u64().unwrap() >= 3,
        "the watch stopped: {doc:#}"
    );
    assert_eq!(heap_files(run_dir.path()), Vec::<String>::new());
}

#[test]
fn wrong_lines_and_processes_without_the_flag_are_refused_before_anything_starts() {
    let (node, _) = spawn_until_line("node", &["-e", GROWS], Stream::Stdout);
    let pid = node.0.id().to_string();
    let dir = TempDir::new("wr");
    let series = dir.join("memory.jsonl");
    let series = series.to_str().unwrap();
    for (args, want) in [
        (vec!["--snapshot-above", "80%"], "needs heap figures"),
        (vec!["--snapshot-above", "1MB"], "--snapshot-signal"),
        (
            vec!["--snapshot-above", "1MB", "--snapshot-signal", "SIGUSR2"],
            "not started with --heapsnapshot-signal",
        ),
        (vec!["--snapshot-above", "lots"], "--snapshot-above"),
        (
            vec!["--snapshot-above", "1MB", "--snapshot-signal", "SIGTERM"],
            "not a signal heaphound sends",
        ),
    ] {
        let mut all = vec!["watch", pid.as_str(), "--duration", "1s", "-o", series];
        all.extend(args.iter());
        let out = run(&all);
        assert_eq!(out.status.code(), Some(2), "{all:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{all:?}: {err}");
    }
    assert!(
        common::live::alive(node.0.id() as u64),
        "a refused watch signalled the process"
    );
}

#[test]
fn snapshot_by_signal_moves_the_file_node_writes() {
    let written = TempDir::new("ss-node");
    let dest = TempDir::new("ss-dest");
    let diag = format!("--diagnostic-dir={}", written.path().display());
    let (node, _) = spawn_until_line(
        "node",
        &["--heapsnapshot-signal=SIGUSR2", &diag, "-e", GROWS],
        Stream::Stdout,
    );
    let pid = node.0.id();
    let file = dest.join("one.heapsnapshot");
    let out = run(&[
        "snapshot",
        &pid.to_string(),
        "--signal",
        "SIGUSR2",
        "-o",
        file.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = common::parse_json(&out, "heaphound");
    assert_eq!(
        common::validate(&common::repo_root(), "snapshot", &doc),
        Ok(())
    );
    assert_eq!(doc["signal"], "SIGUSR2");
    assert_eq!(doc["inspector"], "");
    assert!(doc["written_as"]
        .as_str()
        .unwrap()
        .contains(&format!(".{pid}.")));
    assert_eq!(
        std::fs::metadata(&file).unwrap().len(),
        doc["bytes"].as_u64().unwrap()
    );
    assert_eq!(heap_files(written.path()), Vec::<String>::new());
    assert_eq!(listening_ports(pid), Vec::<u16>::new());
    let sum = run(&["summary", file.to_str().unwrap(), "--json"]);
    assert!(sum.status.success());
    // The file exists now: refused without --force, replaced with it.
    let again = run(&[
        "snapshot",
        &pid.to_string(),
        "--signal",
        "SIGUSR2",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let forced = run(&[
        "snapshot",
        &pid.to_string(),
        "--signal",
        "SIGUSR2",
        "-o",
        file.to_str().unwrap(),
        "--force",
    ]);
    assert!(
        forced.status.success(),
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );
}
