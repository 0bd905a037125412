//! `heaphound hunt` and `attach` against real node processes: the whole playbook (start or
//! attach, warm-up, GC + snapshots with real HTTP load between them, memory samples, the
//! suspects report) on every example app, with the built-in load, a user's own load
//! command, and allocation tracking; and the faults a live capture meets.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::leaks::{self, Line};
use common::*;

const REQUESTS: &str = "800";

fn hunt_cmd(dir: &Path, args: &[&str], program: &[&str]) -> Command {
    let mut cmd = Command::new(heaphound());
    cmd.current_dir(repo_root())
        .arg("hunt")
        .arg("--out")
        .arg(dir)
        .args(args)
        .arg("--")
        .args(program);
    cmd
}

fn output(mut cmd: Command) -> Output {
    let what = describe(&cmd);
    cmd.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{what}`: {e}"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn alive(pid: u64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .and_then(|(_, r)| r.trim_start().chars().next())
        })
        .is_some_and(|st| st != 'Z' && st != 'X')
}

/// What every finished hunt leaves behind: three whole snapshots, the memory series with a
/// post-GC sample per snapshot, the load figures and the report, the same as stdout.
fn check_run_dir(doc: &Value, dir: &Path, snapshots: u32) {
    assert_eq!(doc["run_dir"], dir.to_string_lossy().as_ref(), "{doc:#}");
    for k in 1..=snapshots {
        let f = dir.join(format!("{k}.heapsnapshot"));
        let len = std::fs::metadata(&f).map(|m| m.len()).unwrap_or(0);
        assert!(
            len > 100_000,
            "{} is missing or tiny ({len} bytes)",
            f.display()
        );
        assert!(!dir.join(format!("{k}.heapsnapshot.partial")).exists());
    }
    let series = std::fs::read_to_string(dir.join("memory.jsonl")).expect("memory.jsonl");
    let samples: Vec<Value> = series
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("memory.jsonl: {e}: {l}")))
        .collect();
    for k in 1..=snapshots {
        let s = samples
            .iter()
            .find(|s| s["snapshot"] == k)
            .unwrap_or_else(|| panic!("no post-GC sample for snapshot {k}: {series}"));
        for key in ["rss", "heap_used", "heap_total", "external"] {
            assert!(s[key].as_u64().unwrap_or(0) > 0, "{key} in {s}");
        }
    }
    assert_eq!(doc["memory"]["samples"], samples.len(), "{doc:#}");
    let load: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("load.json")).expect("load.json"))
            .expect("load.json is JSON");
    assert_eq!(load, doc["load"]);
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("report.json")).expect("report.json"),
    )
    .expect("report.json is JSON");
    assert_eq!(&report, doc);
}

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

/// A node process started without --inspect, once it listens: (child, its HTTP port).
fn start_plain_node(args: &[&str]) -> (Child, u16) {
    let mut child = Command::new("node")
        .current_dir(repo_root())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start node");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().expect("stdout"))
        .read_line(&mut line)
        .expect("read the listening line");
    let port = line
        .trim()
        .rsplit(|c: char| !c.is_ascii_digit())
        .find(|s| !s.is_empty())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    (child, port)
}

struct Kill(Child);

/// `node --inspect=127.0.0.1:0 -e SCRIPT`, and the inspector URL it announced.
fn start_inspected_node(script: &str) -> (Kill, String) {
    let mut node = Command::new("node")
        .args(["--inspect=127.0.0.1:0", "-e", script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node");
    let mut line = String::new();
    BufReader::new(node.stderr.as_mut().expect("stderr"))
        .read_line(&mut line)
        .expect("announcement");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("ws://"))
        .unwrap_or_else(|| panic!("no ws:// URL in {line:?}"))
        .to_string();
    (Kill(node), url)
}

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[test]
fn attach_to_a_running_process() {
    let inspect = free_port();
    let (child, port) = start_plain_node(&[
        &format!("--inspect-port={inspect}"),
        "examples/cache-leak/server.js",
        "0",
    ]);
    let node = Kill(child);
    let pid = node.0.id();
    let tmp = TempDir::new("attach");
    let dir = tmp.path().join("run");
    let out = output({
        let mut cmd = Command::new(heaphound());
        cmd.args(["attach", &pid.to_string(), "--port", &inspect.to_string()])
            .args(["--json", "-q", "-n", "700", "--out"])
            .arg(&dir)
            .args(["--load", &format!("http://127.0.0.1:{port}/items?user=1")]);
        cmd
    });
    let doc = leaks::doc_of(&out, "attach");
    leaks::check_report(&leaks::expect("cache-leak"), &doc, &out);
    check_run_dir(&doc, &dir, 3);
    assert_eq!(doc["program"]["attached"], true, "{doc:#}");
    assert_eq!(doc["program"]["pid"], pid, "{doc:#}");
    assert!(
        doc["program"]["command"]
            .as_str()
            .unwrap_or_default()
            .contains("cache-leak/server.js"),
        "{doc:#}"
    );
    // Attached programs keep running, and say where their inspector stays open.
    assert!(alive(u64::from(pid)), "the attached process was stopped");
    // A second capture finds the inspector already open and goes on.
    let snap = tmp.path().join("one.heapsnapshot");
    let out = output({
        let mut cmd = Command::new(heaphound());
        cmd.args([
            "snapshot",
            &pid.to_string(),
            "--port",
            &inspect.to_string(),
            "--json",
            "-o",
        ])
        .arg(&snap);
        cmd
    });
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = leaks::doc_of(&out, "snapshot");
    assert_eq!(doc["pid"], pid);
    assert_eq!(
        doc["bytes"],
        std::fs::metadata(&snap).expect("snapshot").len()
    );
    let summary = output({
        let mut cmd = Command::new(heaphound());
        cmd.args(["summary", "--json", "-q"]).arg(&snap);
        cmd
    });
    let summary = leaks::doc_of(&summary, "summary of the snapshot");
    assert!(
        summary["node_count"].as_u64().unwrap_or(0) > 10_000,
        "{summary}"
    );
}

#[test]
fn snapshot_by_inspector_url() {
    let tmp = TempDir::new("snapshot-url");
    // A node started with the inspector on a port of its own choosing announces the URL.
    let (node, url) =
        start_inspected_node("globalThis.keep = [1, 2, 3]; setInterval(() => {}, 1000)");
    let snap = tmp.path().join("s.heapsnapshot");
    let out = output({
        let mut cmd = Command::new(heaphound());
        cmd.args(["snapshot", &url, "--gc", "-o"]).arg(&snap);
        cmd
    });
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(&snap.to_string_lossy().into_owned()),
        "{text}"
    );
    // Not overwritten without --force.
    let again = output({
        let mut cmd = Command::new(heaphound());
        cmd.args(["snapshot", &url, "-o"]).arg(&snap);
        cmd
    });
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    drop(node);
}

// ----- faults -----

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
fn attach_faults() {
    let run = |args: &[&str]| {
        output({
            let mut cmd = Command::new(heaphound());
            cmd.arg("attach").args(args).args(["--load", "/"]);
            cmd
        })
    };
    // No such process.
    let out = run(&["2000000000"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no process with PID 2000000000"),
        "{}",
        stderr(&out)
    );

    // The inspector port is held by a program that is not an inspector.
    let (child, _) = start_plain_node(&["examples/cache-leak/server.js", "0"]);
    let node = Kill(child);
    let pid = node.0.id().to_string();
    let squatter = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let taken = squatter.local_addr().expect("addr").port().to_string();
    let started = Instant::now();
    let out = run(&[&pid, "--port", &taken]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("already in use"), "{}", stderr(&out));
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "said at once, not after a wait"
    );
    drop(squatter);

    // The port is another node's inspector: never profile the wrong process.
    let (other, url) = start_inspected_node("setInterval(() => {}, 1000)");
    let other_port = url
        .split("ws://127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or_else(|| panic!("no port in {url:?}"))
        .to_string();
    let out = run(&[&pid, "--port", &other_port]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("belongs to PID {}", other.0.id())),
        "{err}"
    );
    assert!(
        alive(u64::from(node.0.id())),
        "the target must be left alone"
    );

    // A process of another user.
    let euid = unsafe_geteuid();
    let out = if euid == 0 {
        // As root anything may be signalled: ask as an ordinary user instead.
        let mut cmd = Command::new("setpriv");
        cmd.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            heaphound(),
            "attach",
            &pid,
            "--load",
            "/",
        ]);
        output(cmd)
    } else {
        run(&["1"])
    };
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("belongs to another user"),
        "{}",
        stderr(&out)
    );
}

fn unsafe_geteuid() -> u32 {
    // The effective uid from /proc, without a libc dependency in the tests.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|r| r.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .expect("euid")
}

/// Starts a hunt whose stderr is read on a thread; returns the child and a receiver of its
/// stderr lines.
fn spawn_hunt(cmd: Command) -> (Child, std::sync::mpsc::Receiver<String>) {
    let mut cmd = cmd;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start heaphound");
    let err = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let end = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn finish_child(mut child: Child, rx: &std::sync::mpsc::Receiver<String>) -> (Output, String) {
    let mut stdout = Vec::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_end(&mut stdout)
        .expect("read stdout");
    let status = child.wait().expect("wait");
    let err: Vec<String> = rx.iter().collect();
    (
        Output {
            status,
            stdout,
            stderr: Vec::new(),
        },
        err.join("\n"),
    )
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
    // The program's PID, from heaphound's first note.
    let mut pid = None;
    let mut seen = Vec::new();
    while pid.is_none() {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no PID note: {seen:?}"));
        pid = line
            .split("(PID ")
            .nth(1)
            .and_then(|r| r.split(')').next())
            .and_then(|p| p.parse::<i32>().ok());
        seen.push(line);
    }
    let pid = pid.expect("pid");
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
}

#[test]
fn ctrl_c_stops_the_program_and_reports_what_was_captured() {
    let tmp = TempDir::new("hunt-sigint");
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
    // Into load 2, then Ctrl-C.
    std::thread::sleep(Duration::from_millis(300));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let (out, err) = finish_child(child, &rx);
    assert_eq!(out.status.code(), Some(130), "{err}");
    let doc = leaks::doc_of(&out, "interrupted hunt");
    let fault = doc["fault"].as_str().unwrap_or_default();
    assert!(fault.starts_with("interrupted (Ctrl-C)"), "{fault:?}");
    assert!(fault.contains("the program was stopped"), "{fault:?}");
    assert_eq!(
        doc["snapshots"].as_array().map(Vec::len),
        Some(2),
        "{doc:#}"
    );
    let pid = doc["program"]["pid"].as_u64().expect("pid");
    assert!(!alive(pid), "the program was left running");
    assert!(!dir.join("3.heapsnapshot").exists());
}

/// One request per connection, `n` times, as a person's traffic would come.
fn get_many(port: u16, path: &str, n: usize) {
    use std::io::Write as _;
    for _ in 0..n {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .expect("send");
        let mut reply = Vec::new();
        s.read_to_end(&mut reply).expect("reply");
        assert!(
            reply.starts_with(b"HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&reply)
        );
    }
}

#[test]
fn attach_without_load_waits_for_enter_between_snapshots() {
    use std::io::Write as _;
    let inspect = free_port();
    let (child, port) = start_plain_node(&[
        &format!("--inspect-port={inspect}"),
        "examples/cache-leak/server.js",
        "0",
    ]);
    let node = Kill(child);
    let tmp = TempDir::new("attach-manual");
    let dir = tmp.path().join("run");
    // A terminal for heaphound to wait on: `script` runs it on a pseudo-terminal and
    // passes our writes on as keystrokes.
    let cmdline = format!(
        "{} attach {} --port {inspect} -q --out {}",
        heaphound(),
        node.0.id(),
        dir.display()
    );
    let mut session = Command::new("script")
        .args(["-qfec", &cmdline, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("script");
    let out = session.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut keys = session.stdin.take().expect("stdin");
    let mut seen = Vec::new();
    for (prompt, requests) in [
        ("press Enter to take snapshot 1 of 3", 200),
        ("Snapshot 1 taken.", 500),
        ("Snapshot 2 taken.", 500),
    ] {
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("no prompt {prompt:?}; saw {seen:?}"));
            let hit = line.contains(prompt);
            seen.push(line);
            if hit {
                break;
            }
        }
        get_many(port, "/items?user=4", requests);
        keys.write_all(b"\n").expect("Enter");
        keys.flush().expect("flush");
    }
    let status = session.wait().expect("script");
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("report.json"))
            .unwrap_or_else(|e| panic!("report.json: {e}; saw {seen:?}")),
    )
    .expect("report.json is JSON");
    assert_eq!(status.code(), Some(1), "a leak: {report:#}");
    assert_eq!(report["verdict"], "leak", "{report:#}");
    assert_eq!(report["load"]["mode"], "manual", "{report:#}");
    assert_eq!(report["load"]["phases"].as_array().map(Vec::len), Some(3));
    let counts = &report["suspects"][0]["counts"];
    assert_eq!(
        counts[2].as_i64().unwrap_or(0) - counts[0].as_i64().unwrap_or(0),
        1000,
        "one Session per request sent between the snapshots: {report:#}"
    );
    assert!(
        alive(u64::from(node.0.id())),
        "attached processes keep running"
    );
}
