//! `heaphound postmortem` on what real node processes leave: a service that leaks until V8
//! aborts with near-heap-limit snapshots and a fatal-error report, one that dies with one
//! snapshot or none, a live one whose snapshots come from --heapsnapshot-signal, a report
//! of a process whose memory is off the heap, and broken artifacts.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{heaphound, repo_root, TempDir};

/// A secret in the command line and one in the environment: neither may come out.
const ARG_SECRET: &str = "ghp_0123456789abcdefghijABCDEFGHIJ012345";
const ENV_SECRET: &str = "sk_live_postmortemEnvSecret0042";

/// Runs the leaking service with a 16 MB heap until it aborts, leaving its artifacts in
/// `dir`; `near_limit` snapshots at most (0: the flag is off).
fn crash(dir: &Path, near_limit: u32) {
    let script = repo_root().join("examples/oom-crash/server.js");
    let mut cmd = Command::new("node");
    cmd.arg("--max-old-space-size=16");
    if near_limit > 0 {
        cmd.arg(format!("--heapsnapshot-near-heap-limit={near_limit}"));
    }
    cmd.args(["--report-on-fatalerror", "--report-compact"])
        .arg(format!("--report-directory={}", dir.display()))
        .arg(format!("--diagnostic-dir={}", dir.display()))
        .arg(&script)
        .arg(format!("--token={ARG_SECRET}"))
        .current_dir(dir)
        .env("PAYMENT_API_KEY", ENV_SECRET);
    let out = cmd.output().expect("node runs");
    // SIGABRT: V8's fatal "JavaScript heap out of memory".
    assert!(
        !out.status.success(),
        "the leaking service was meant to die: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("heap out of memory"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn postmortem(args: &[&str]) -> Output {
    Command::new(heaphound())
        .arg("postmortem")
        .args(args)
        .env("HEAPHOUND_NO_PROGRESS", "1")
        .output()
        .expect("heaphound runs")
}

fn no_secrets(out: &Output) {
    for text in [&out.stdout, &out.stderr] {
        let text = String::from_utf8_lossy(text);
        assert!(
            !text.contains(ARG_SECRET),
            "the command line's token leaked: {text}"
        );
        assert!(!text.contains(ENV_SECRET), "the environment leaked: {text}");
        assert!(
            !text.contains("PAYMENT_API_KEY"),
            "the environment leaked: {text}"
        );
    }
}

fn files_like(dir: &Path, prefix: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix))
        .collect();
    v.sort();
    v
}

#[test]
fn a_service_that_died_of_its_leak_is_a_leak_with_its_holder_and_line() {
    let dir = TempDir::new("pm-leak");
    crash(dir.path(), 2);
    assert_eq!(files_like(dir.path(), "Heap.").len(), 2);
    assert_eq!(files_like(dir.path(), "report.").len(), 1);
    let d = dir.path().to_str().unwrap();

    let out = postmortem(&[d, "--json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    no_secrets(&out);
    let doc = common::parse_json(&out, "postmortem");
    assert_eq!(common::validate(&repo_root(), "postmortem", &doc), Ok(()));
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["verdict"]["kind"], "leak", "{:#}", doc["verdict"]);
    assert_eq!(doc["verdict"]["rule"]["rule"], "grew-to-the-limit");
    let confidence = doc["verdict"]["confidence"].as_f64().unwrap();
    assert!((0.75..0.99).contains(&confidence), "{confidence}");
    let procs = doc["processes"].as_array().unwrap();
    assert_eq!(procs.len(), 1);
    let p = &procs[0];
    let pid = p["pid"].as_u64().unwrap();
    assert_eq!(doc["verdict"]["pid"].as_u64(), Some(pid));
    // Oldest first, the report (which shares the snapshots' counter) last.
    let kinds: Vec<&str> = p["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["heap-snapshot", "heap-snapshot", "diagnostic-report"]
    );
    let seqs: Vec<u64> = p["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["sequence"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [1, 2, 3]);
    let c = &p["crash"];
    assert_eq!(c["trigger"], "OOMError");
    assert_eq!(c["heap_out_of_memory"], true);
    assert!(c["event"].as_str().unwrap().contains("heap out of memory"));
    assert!(c["heap"]["used"].as_u64().unwrap() > 16 << 20);
    assert!(c["heap"]["limit"].as_u64().unwrap() >= c["heap"]["used"].as_u64().unwrap());
    assert!(c["heap"]["spaces"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["name"] == "old_space" && s["used"].as_u64().unwrap() > 0));
    assert!(c["node_version"].as_str().unwrap().starts_with('v'));
    assert!(c["uptime_s"].as_u64().is_some());
    let cmd: Vec<&str> = c["command_line"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(cmd.contains(&"--max-old-space-size=16"), "{cmd:?}");
    assert!(cmd.iter().any(|a| a.starts_with("--token=‹")), "{cmd:?}");

    let s = &p["suspects"]["suspects"][0];
    assert_eq!(s["shape"], "unbounded-collection");
    assert_eq!(s["class"], "Session");
    assert!(
        s["holder"]["name"].as_str().unwrap().contains("sessions"),
        "{s:#}"
    );
    let retained: Vec<u64> = s["retained_sizes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_u64().unwrap())
        .collect();
    // Near-limit snapshots are taken inside the allocation that hit the limit; the Map
    // keeps its table even though the running code holds it too.
    assert!(
        retained[0] > 1 << 20 && retained[1] > retained[0],
        "{retained:?}"
    );
    let locations = s["locations"].as_array().unwrap();
    assert!(
        locations.iter().any(
            |l| l["file"].as_str().unwrap().ends_with("oom-crash/server.js") && l["line"] == 9
        ),
        "{locations:?}"
    );

    // The text: the verdict first, how it died, the holder and its line.
    let out = postmortem(&[d]);
    assert_eq!(out.status.code(), Some(1));
    no_secrets(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("LEAK ("), "{text}");
    for want in [
        "Allocation failed - JavaScript heap out of memory (OOMError)",
        "used of a",
        "old_space",
        "Map `sessions`",
        "oom-crash/server.js:9",
        "--max-old-space-size=16",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }

    // The page has the crash section.
    let html = dir.join("pm.html");
    let out = postmortem(&[d, "--html", html.to_str().unwrap(), "-q"]);
    assert_eq!(out.status.code(), Some(1));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("id=\"crash\"") && page.contains("How the process ended"));
    assert!(page.contains("JavaScript heap out of memory"));
    assert!(page.contains("data-verdict=\"leak\""));
    assert!(!page.contains(ARG_SECRET) && !page.contains(ENV_SECRET));
}

#[test]
fn one_snapshot_names_the_holder_that_fills_the_heap_and_says_it_is_less_sure() {
    let dir = TempDir::new("pm-one");
    crash(dir.path(), 1);
    assert_eq!(files_like(dir.path(), "Heap.").len(), 1);
    let out = postmortem(&[dir.path().to_str().unwrap(), "--json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = common::parse_json(&out, "postmortem");
    assert_eq!(common::validate(&repo_root(), "postmortem", &doc), Ok(()));
    let v = &doc["verdict"];
    assert_eq!(v["kind"], "leak");
    assert_eq!(v["rule"]["rule"], "one-holder-fills-the-heap");
    assert!(v["confidence"].as_f64().unwrap() < 0.85, "{v:#}");
    assert!(v["needed"]
        .as_str()
        .unwrap()
        .contains("--heapsnapshot-near-heap-limit"));
    let s = &doc["processes"][0]["suspects"];
    assert_eq!(s["verdict"], "inconclusive");
    let top = &s["suspects"][0];
    assert!(
        top["holder"]["name"].as_str().unwrap().contains("sessions"),
        "{top:#}"
    );
    assert_eq!(top["counts"].as_array().unwrap().len(), 1);
    let title = top["title"].as_str().unwrap();
    assert!(
        title.contains("holds") && !title.contains("grows"),
        "{title}"
    );
}

#[test]
fn a_crash_without_snapshots_says_what_to_turn_on() {
    let dir = TempDir::new("pm-none");
    crash(dir.path(), 0);
    let out = postmortem(&[dir.path().to_str().unwrap(), "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    no_secrets(&out);
    let doc = common::parse_json(&out, "postmortem");
    let v = &doc["verdict"];
    assert_eq!(v["kind"], "inconclusive");
    assert_eq!(v["rule"]["rule"], "died-without-snapshots");
    assert!(v["reason"]
        .as_str()
        .unwrap()
        .contains("died at its heap limit"));
    assert!(v["needed"]
        .as_str()
        .unwrap()
        .contains("--heapsnapshot-near-heap-limit="));
    assert!(doc["processes"][0]["suspects"].is_null());
}

/// Waits for `n` files named `Heap.*` whose JSON is closed and whose size holds still.
fn wait_snapshots(dir: &Path, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let names = files_like(dir, "Heap.");
        let complete = names.len() >= n
            && names.iter().all(|f| {
                let b = std::fs::read(dir.join(f)).unwrap_or_default();
                b.iter().rev().find(|c| !c.is_ascii_whitespace()) == Some(&b'}')
            });
        if complete {
            return names;
        }
        assert!(
            Instant::now() < deadline,
            "Node wrote {names:?}, not {n} snapshots"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn signal_snapshots_of_a_live_leak_are_judged_by_their_growth() {
    let dir = TempDir::new("pm-signal");
    let script = repo_root().join("examples/oom-crash/server.js");
    let child = Command::new("node")
        .args(["--heapsnapshot-signal=SIGUSR2"])
        .arg(&script)
        .current_dir(dir.path())
        .spawn()
        .unwrap();
    let pid = child.id();
    let _kill = common::Kill(child);
    std::thread::sleep(Duration::from_millis(500));
    for n in 1..=3 {
        let r = Command::new("kill")
            .args(["-USR2", &pid.to_string()])
            .status();
        assert!(r.unwrap().success());
        wait_snapshots(dir.path(), n);
        std::thread::sleep(Duration::from_millis(400));
    }
    let out = postmortem(&[dir.path().to_str().unwrap(), "--json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = common::parse_json(&out, "postmortem");
    assert_eq!(
        doc["verdict"]["rule"]["rule"], "steady-growth",
        "{:#}",
        doc["verdict"]
    );
    assert_eq!(doc["processes"][0]["pid"].as_u64(), Some(pid as u64));
    assert!(doc["processes"][0]["crash"].is_null());
}

#[test]
fn a_report_with_rss_far_above_the_heap_is_off_heap() {
    let dir = TempDir::new("pm-offheap");
    // 400 MB of Buffers touched page by page, then a report on request.
    let js = "const keep = []; for (let i = 0; i < 400; i++) keep.push(Buffer.alloc(1 << 20, i)); \
              process.report.writeReport(); globalThis.keep = keep;";
    let out = Command::new("node")
        .args(["-e", js])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = postmortem(&[dir.path().to_str().unwrap(), "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = common::parse_json(&out, "postmortem");
    let v = &doc["verdict"];
    assert_eq!(v["kind"], "off-heap", "{v:#}");
    assert_eq!(v["rule"]["rule"], "rss-far-above-heap");
    assert!(v["rule"]["external"].as_u64().unwrap() > 300 << 20);
    let c = &doc["processes"][0]["crash"];
    assert_eq!(c["fatal"], false);
    assert_eq!(c["trigger"], "API");
    assert!(!c["js_stack"].as_array().unwrap().is_empty());
}

#[test]
fn broken_artifacts_are_named_and_the_rest_is_still_read() {
    let dir = TempDir::new("pm-broken");
    crash(dir.path(), 1);
    let snap = dir.path().join(&files_like(dir.path(), "Heap.")[0]);
    let bytes = std::fs::read(&snap).unwrap();
    // A snapshot cut in the middle, as a kill while Node writes it leaves one.
    let cut = dir.join("Heap.20260101.000000.4242.0.001.heapsnapshot");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let empty = dir.join("Heap.20260101.000001.4242.0.002.heapsnapshot");
    std::fs::write(&empty, b"").unwrap();
    let not_json = dir.join("report.20260101.000002.4242.0.003.json");
    std::fs::write(&not_json, b"Writing Node.js report to file: ...").unwrap();
    let d = dir.path().to_str().unwrap();

    let out = postmortem(&[d, "--json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = common::parse_json(&out, "postmortem");
    let skipped = doc["skipped"].as_array().unwrap();
    let why = |f: &Path| {
        skipped
            .iter()
            .find(|s| {
                s["file"]
                    .as_str()
                    .unwrap()
                    .ends_with(&*f.file_name().unwrap().to_string_lossy())
            })
            .map(|s| s["why"].as_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("{} is not listed in {skipped:?}", f.display()))
    };
    assert!(
        why(&cut).contains("truncated") || why(&cut).contains("end"),
        "{}",
        why(&cut)
    );
    assert!(why(&empty).contains("empty"), "{}", why(&empty));
    assert!(why(&not_json).contains("not JSON"), "{}", why(&not_json));
    // The real crash is still judged.
    assert_eq!(doc["verdict"]["kind"], "leak");

    // A folder with nothing of use, and a file that is not an artifact: exit 2, said why.
    let nothing = TempDir::new("pm-nothing");
    std::fs::write(nothing.join("notes.txt"), b"hello").unwrap();
    let out = postmortem(&[nothing.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no heap snapshot or diagnostic report"),
        "{err}"
    );
    assert!(err.contains("--heapsnapshot-near-heap-limit"), "{err}");
    let out = postmortem(&[nothing.join("notes.txt").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("neither a heap snapshot"));
    let out = postmortem(&["/nonexistent/crash-folder"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/crash-folder"));
}
