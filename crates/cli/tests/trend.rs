//! Leak or plateau, on real Node data: `watch` on live runs of the example apps (a growing
//! Map, a bounded cache, Buffers held off the heap, a report rebuilt and dropped), and
//! `gclog` on `--trace-gc` logs of Node 18, 22 and 24 captured by
//! tests/fixtures/gclog/capture.sh.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{heaphound, parse_json, repo_root, TempDir};
use serde_json::Value;

fn fixture(root: &Path, name: &str) -> PathBuf {
    root.join("tests/fixtures").join(name)
}

fn run(mut cmd: Command) -> Output {
    let what = common::describe(&cmd);
    cmd.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{what}`: {e}"))
}

fn kind(doc: &Value) -> &str {
    doc["verdict"]["kind"].as_str().unwrap_or("?")
}

fn reason(doc: &Value) -> String {
    format!(
        "{}: {}",
        kind(doc),
        doc["verdict"]["reason"].as_str().unwrap_or("")
    )
}

/// `heaphound watch --json` on `node ARGS…` for `secs` seconds, sampling every 50 ms.
fn watch(
    root: &Path,
    tmp: &TempDir,
    tag: &str,
    gc: bool,
    secs: u32,
    node_args: &[&str],
) -> (Value, Output) {
    let out = tmp.path().join(format!("{tag}.jsonl"));
    let mut cmd = Command::new(heaphound());
    cmd.current_dir(root)
        .args(["watch", "--json", "-q", "--interval", "50ms", "--duration"])
        .arg(format!("{secs}s"))
        .arg("--out")
        .arg(&out);
    if gc {
        cmd.arg("--gc");
    }
    cmd.arg("--").arg("node").args(node_args);
    let o = run(cmd);
    let doc = parse_json(&o, tag);
    // The series on disk is the one judged, one JSON line per sample.
    let lines = std::fs::read_to_string(&out)
        .unwrap_or_else(|e| panic!("{}: {e}", out.display()))
        .lines()
        .filter(|l| serde_json::from_str::<Value>(l).is_ok())
        .count() as u64;
    assert_eq!(Some(lines), doc["samples"].as_u64(), "{tag}: samples");
    assert!(lines >= 15, "{tag}: only {lines} samples");
    (doc, o)
}

fn drive(app: &str) -> [String; 2] {
    [
        "tests/fixtures/trend/drive.js".to_string(),
        format!("examples/{app}/server.js"),
    ]
}

#[test]
fn watch_growing_map_is_a_leak() {
    let (root, tmp) = (repo_root(), TempDir::new("watch-leak"));
    let args = drive("cache-leak");
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    // The program stops itself after 3 s, well before --duration: watch ends with it.
    let mut a = a;
    a.push("3");
    let (doc, o) = watch(&root, &tmp, "leak", false, 30, &a);
    assert_eq!(kind(&doc), "leak", "{}", reason(&doc));
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(doc["stopped"], "the process exited", "{}", doc["target"]);
    assert_eq!(doc["target"]["ended"], "exited with status 0");
    assert!(doc["duration_s"].as_f64().unwrap_or(99.0) < 10.0);
    let v = &doc["verdict"];
    assert!(v["confidence"].as_f64().unwrap_or(0.0) > 0.5, "{v}");
    assert!(
        v["growth_mb_per_hour"].as_f64().unwrap_or(0.0) > 100.0,
        "{v}"
    );
    assert!(v["floor"]["mann_kendall"]["p"].as_f64().unwrap_or(1.0) < 0.01);
    assert_eq!(doc["target"]["source"], "inspector");
}

#[test]
fn watch_bounded_cache_is_not_a_leak() {
    let (root, tmp) = (repo_root(), TempDir::new("watch-bounded"));
    let args = drive("bounded-cache");
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let (doc, o) = watch(&root, &tmp, "bounded", true, 3, &a);
    assert!(
        matches!(kind(&doc), "plateau" | "stable"),
        "{}",
        reason(&doc)
    );
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn watch_filling_cache_with_forced_gcs_is_a_plateau() {
    let (root, tmp) = (repo_root(), TempDir::new("watch-plateau"));
    let (doc, o) = watch(
        &root,
        &tmp,
        "plateau",
        true,
        4,
        &["tests/fixtures/trend/plateau.js", "0", "1.5"],
    );
    assert_eq!(kind(&doc), "plateau", "{}", reason(&doc));
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(doc["gc_forced"], true);
    let v = &doc["verdict"];
    assert!(
        v["early"]["slope_bytes_per_hour"].as_i64().unwrap_or(0) > 0,
        "{v}"
    );
}

#[test]
fn watch_buffers_held_off_the_heap_are_off_heap() {
    let (root, tmp) = (repo_root(), TempDir::new("watch-offheap"));
    let args = drive("buffer-leak");
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let (doc, o) = watch(&root, &tmp, "offheap", false, 3, &a);
    assert_eq!(kind(&doc), "off-heap", "{}", reason(&doc));
    assert_eq!(o.status.code(), Some(0));
    let off = &doc["verdict"]["off_heap"];
    assert!(
        matches!(off["metric"].as_str(), Some("arrayBuffers" | "external")),
        "{off}"
    );
    let ab = &doc["series"]["array_buffers"];
    assert!(ab["last"].as_u64() > ab["first"].as_u64().map(|f| f + 20_000_000));
}

#[test]
fn watch_report_rebuilt_and_dropped_is_periodic() {
    let (root, tmp) = (repo_root(), TempDir::new("watch-periodic"));
    let args = drive("report-spike");
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let (doc, o) = watch(&root, &tmp, "periodic", true, 4, &a);
    assert_eq!(kind(&doc), "periodic", "{}", reason(&doc));
    assert_eq!(o.status.code(), Some(0));
    assert!(doc["verdict"]["spikes"]["count"].as_u64().unwrap_or(0) >= 2);
}

#[test]
fn watch_pid_without_inspector_reads_proc_only() {
    let (root, tmp) = (repo_root(), TempDir::new("watch-proc"));
    let mut node = Command::new("node")
        .current_dir(&root)
        .args(drive("buffer-leak"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start node: {e}"));
    // Give it time to start its own load.
    std::thread::sleep(Duration::from_millis(400));
    let out = tmp.path().join("rss.jsonl");
    let mut cmd = Command::new(heaphound());
    cmd.args([
        "watch",
        "--json",
        "-q",
        "--interval",
        "100ms",
        "--duration",
        "2500ms",
    ])
    .arg(node.id().to_string())
    .arg("--out")
    .arg(&out);
    let started = Instant::now();
    let o = run(cmd);
    let _ = node.kill();
    let node_out = node.wait_with_output().expect("node output");
    let doc = parse_json(&o, "watch PID");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(doc["target"]["source"], "proc");
    assert_eq!(doc["verdict"]["floor_metric"], "rss");
    // RSS alone sees the Buffers pile up, and says it cannot tell where they are.
    assert_eq!(kind(&doc), "leak", "{}", reason(&doc));
    assert!(doc["verdict"]["needed"]
        .as_str()
        .unwrap_or("")
        .contains("--inspect"));
    // The process's inspector was never opened.
    let stderr = String::from_utf8_lossy(&node_out.stderr);
    assert!(!stderr.contains("Debugger listening"), "{stderr}");
    let first = std::fs::read_to_string(&out).unwrap_or_default();
    let line: Value =
        serde_json::from_str(first.lines().next().unwrap_or("")).expect("a JSON line");
    assert!(line["rss"].as_u64().unwrap_or(0) > 0 && line.get("heap_used").is_none());
}

fn gclog(file: &Path) -> (Value, Output) {
    let mut cmd = Command::new(heaphound());
    cmd.args(["gclog", "--json"]).arg(file);
    let o = run(cmd);
    let doc = parse_json(&o, &file.display().to_string());
    (doc, o)
}

#[test]
fn gclog_fixtures_of_three_node_versions() {
    let root = repo_root();
    for major in [18, 22, 24] {
        for (name, expect, code) in [
            ("leak", "leak", 1),
            ("plateau", "plateau", 0),
            ("periodic", "periodic", 0),
        ] {
            let f = fixture(&root, &format!("gclog/{name}-node{major}.log.gz"));
            let (doc, o) = gclog(&f);
            assert_eq!(kind(&doc), expect, "{}: {}", f.display(), reason(&doc));
            assert_eq!(o.status.code(), Some(code), "{}", f.display());
            let kinds: Vec<&str> = doc["by_kind"]
                .as_array()
                .map(|a| a.iter().filter_map(|k| k["kind"].as_str()).collect())
                .unwrap_or_default();
            // Node 18 says Mark-sweep where later versions say Mark-Compact.
            let full = if major == 18 {
                "Mark-sweep"
            } else {
                "Mark-Compact"
            };
            assert!(
                kinds.iter().any(|k| k.starts_with(full)),
                "{major} {name}: {kinds:?}"
            );
            assert!(doc["events"].as_u64().unwrap_or(0) >= 10);
            // The program's own output ("listening on …") is skipped.
            if name != "plateau" {
                assert!(doc["skipped_lines"].as_u64().unwrap_or(0) >= 1);
            }
        }
    }
}

/// A short log of a bounded LRU cache filling up: few full GCs, and the floor after
/// scavenges climbing with promoted garbage. It must not be called a leak, and must say
/// what a longer log would need; a leak log whose full GCs show the live heap grow stays a
/// leak, as sure as its few full GCs make it.
#[test]
fn gclog_short_log_of_a_bounded_cache_is_no_confident_leak() {
    let root = repo_root();
    let tmp = TempDir::new("gclog-short");
    let log = tmp.path().join("lru.log");
    let out = Command::new("node")
        .arg("--trace-gc")
        .arg(fixture(&root, "trend/lru.js"))
        .arg("8")
        .output()
        .expect("node runs");
    assert!(out.status.success());
    std::fs::write(&log, &out.stdout).unwrap();
    let (doc, o) = gclog(&log);
    let v = &doc["verdict"];
    assert_ne!(kind(&doc), "leak", "{}", reason(&doc));
    assert_eq!(o.status.code(), Some(0));
    if kind(&doc) == "inconclusive" {
        let needed = v["needed"].as_str().unwrap_or_default();
        assert!(needed.contains("full GCs"), "{needed}");
    }
    // The same program on a busy machine: its only two full GCs came while the cache
    // filled, in the first fifth of the log; none back what the floor did after.
    let busy = fixture(&root, "gclog/lru-busy-node20.log.gz");
    let (doc, o) = gclog(&busy);
    assert_eq!(kind(&doc), "inconclusive", "{}", reason(&doc));
    assert_eq!(o.status.code(), Some(0));
    // Said of full GCs that grew but stopped early, not of full GCs that stayed level.
    assert!(reason(&doc).contains(" s into a "), "{}", reason(&doc));
    let needed = doc["verdict"]["needed"].as_str().unwrap_or_default();
    assert!(needed.contains("full GCs"), "{needed}");
    for major in [18, 22, 24] {
        let f = fixture(&root, &format!("gclog/leak-node{major}.log.gz"));
        let (doc, _) = gclog(&f);
        assert_eq!(kind(&doc), "leak", "{}", reason(&doc));
        if doc["floor"]["after"] == "all" {
            let c = doc["verdict"]["confidence"].as_f64().unwrap();
            assert!(
                c < 0.95,
                "a floor read off scavenges is never near certain: {c}"
            );
        }
    }
}

#[test]
fn gclog_reads_stdin_and_rejects_logs_without_gc_lines() {
    let root = repo_root();
    let tmp = TempDir::new("gclog-bad");
    let plain = tmp.path().join("app.log");
    std::fs::write(&plain, "listening on http://127.0.0.1:3000/\nGET / 200\n").expect("write");
    let (bad, o) = {
        let mut cmd = Command::new(heaphound());
        cmd.arg("gclog").arg(&plain);
        let o = run(cmd);
        (String::from_utf8_lossy(&o.stderr).into_owned(), o)
    };
    assert_eq!(o.status.code(), Some(2));
    assert!(
        bad.contains("app.log") && bad.contains("--trace-gc"),
        "{bad}"
    );
    assert!(!bad.contains("panicked"), "{bad}");

    // Text on stdin: the same report as the file.
    let f = fixture(&root, "gclog/periodic-node24.log.gz");
    let gz = std::fs::read(&f).expect("fixture");
    let mut plain_log = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut plain_log)
        .expect("gunzip");
    let mut child = Command::new(heaphound())
        .args(["gclog", "--json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("heaphound");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), &plain_log).expect("pipe");
    let o = child.wait_with_output().expect("heaphound");
    let from_stdin = parse_json(&o, "gclog -");
    let (from_file, _) = gclog(&f);
    assert_eq!(from_stdin["verdict"], from_file["verdict"]);
    assert_eq!(from_stdin["file"], "<stdin>");
}

/// A real log whose timestamps stand still or run backwards has no span to measure a rate
/// over: inconclusive, never a plateau, leak or stable verdict with an absurd slope.
#[test]
fn gclog_with_equal_or_reversed_timestamps_is_inconclusive() {
    let root = repo_root();
    let tmp = TempDir::new("gclog-untimed");
    let gz = std::fs::read(fixture(&root, "gclog/leak-node22.log.gz")).expect("fixture");
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut text)
        .expect("gunzip");
    let stamp = regex::Regex::new(r"\]\s+\d+ ms: ").unwrap();
    let mut n = 0;
    let counting_down = stamp.replace_all(&text, |_: &regex::Captures| {
        n += 1;
        format!("]  {} ms: ", 100_000 - 10 * n)
    });
    let mut reversed: Vec<&str> = text.lines().collect();
    reversed.reverse();
    for (tag, log, backwards) in [
        (
            "same",
            stamp.replace_all(&text, "]     1000 ms: ").into_owned(),
            false,
        ),
        ("reversed-lines", reversed.join("\n"), true),
        ("counting-down", counting_down.into_owned(), true),
    ] {
        let f = tmp.path().join(format!("{tag}.log"));
        std::fs::write(&f, log).expect("write");
        let (doc, o) = gclog(&f);
        assert_eq!(kind(&doc), "inconclusive", "{tag}: {}", reason(&doc));
        assert_eq!(o.status.code(), Some(0), "{tag}");
        let why = doc["verdict"]["reason"].as_str().unwrap_or("");
        assert!(why.starts_with("no time span"), "{tag}: {why}");
        assert_eq!(why.contains("backwards"), backwards, "{tag}: {why}");
        assert!(doc["verdict"]["needed"].is_string(), "{tag}");
    }
}

#[test]
fn hunt_reports_the_series_trend_and_stays_honest_when_short() {
    let (root, tmp) = (repo_root(), TempDir::new("hunt-trend"));
    let mut cmd = Command::new(heaphound());
    cmd.current_dir(&root)
        .args([
            "hunt",
            "--json",
            "-q",
            "--load",
            "/items?user=7",
            "-n",
            "300",
        ])
        .arg("--out")
        .arg(tmp.path().join("run"))
        .args(["--", "node", "examples/cache-leak/server.js", "0"]);
    let o = run(cmd);
    let doc = parse_json(&o, "hunt");
    assert_eq!(doc["verdict"], "leak", "the snapshots still judge the leak");
    let t = &doc["trend"];
    // A hunt lasts seconds: three post-GC points and a handful of samples say too little.
    assert_eq!(t["kind"], "inconclusive", "{t}");
    // What would settle it, in a hunt's terms: more snapshots, or a watch.
    assert!(
        t["needed"]
            .as_str()
            .unwrap_or("")
            .contains("--snapshots 10"),
        "{t}"
    );
    assert!(t["samples"].as_u64().unwrap_or(0) >= 3, "{t}");
    assert!(t["agrees_with_snapshots"].is_null());
    // The report on disk carries it too.
    let report = std::fs::read_to_string(tmp.path().join("run/report.json")).expect("report.json");
    let report: Value = serde_json::from_str(&report).expect("report.json is JSON");
    assert_eq!(report["trend"]["kind"], "inconclusive");
}

#[test]
fn watch_usage_errors_name_the_problem() {
    let me = std::process::id().to_string();
    for (args, says) in [
        (vec!["watch"], "give a PID"),
        (
            vec!["watch", "abc"],
            "neither a PID nor a ws:// inspector URL",
        ),
        (vec!["watch", "999999999"], "no process with PID 999999999"),
        // This test's own process has no inspector: --gc cannot work from /proc.
        (
            vec!["watch", me.as_str(), "--gc"],
            "--gc needs the inspector",
        ),
        (
            vec!["watch", "--interval", "0s", "1"],
            "--interval must be above zero",
        ),
        (vec!["watch", "--duration", "5x", "1"], "unknown unit"),
    ] {
        let mut cmd = Command::new(heaphound());
        cmd.args(&args);
        let o = run(cmd);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(o.stdout.is_empty(), "{args:?}");
    }
}
