//! Against real `node` processes: spawn under the inspector, CDP calls, snapshots streamed to
//! disk and read back, sampling, allocation tracking, a process killed mid-snapshot, and
//! attaching by SIGUSR1. Every child is killed on drop, pass or fail.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use heaphound_inspector::{
    attach, attach_timeout, attach_with, discover, spawn_node, AttachOptions, ConnectOptions,
    InspectorError, Output, Session, SnapshotProgress, SpawnOptions,
};
use heaphound_snapshot::{read_path, HeapGraph, NodeKind};
use heaphound_test_support::{free_port, spawn_until_line, Kill, Stream, TempDir};
use serde_json::json;

const LEAKY: &str = r#"
class Leaky { constructor(i) { this.i = i; this.payload = 'x' + i; } }
globalThis.Leaky = Leaky;
globalThis.kept = [];
for (let i = 0; i < 1000; i++) globalThis.kept.push(new Leaky(i));
console.error('user stderr line');
console.log('ready');
setInterval(() => {}, 1000);
"#;

fn write_script(dir: &TempDir, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn argv(script: &Path) -> Vec<OsString> {
    vec!["node".into(), script.into()]
}

fn count_named(g: &HeapGraph, kind: NodeKind, name: &str) -> usize {
    (0..g.node_count() as u32)
        .filter(|&n| g.kind(n) == kind && g.name(n) == name)
        .count()
}

#[test]
fn spawned_node_full_session() {
    let dir = TempDir::new("full");
    let script = write_script(&dir, "leaky.js", LEAKY);
    let stderr_lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let stdout_lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let (e, o) = (Arc::clone(&stderr_lines), Arc::clone(&stdout_lines));
    let mut node = spawn_node(
        &argv(&script),
        SpawnOptions {
            stderr: Output::Lines(Box::new(move |l| e.lock().unwrap().push(l.to_string()))),
            stdout: Output::Lines(Box::new(move |l| o.lock().unwrap().push(l.to_string()))),
            ..SpawnOptions::default()
        },
    )
    .unwrap();
    assert!(
        node.ws_url().starts_with("ws://127.0.0.1:"),
        "{}",
        node.ws_url()
    );

    // /json/list on the announced port lists the same target.
    let port: u16 = node.ws_url()["ws://127.0.0.1:".len()..]
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let targets = discover("127.0.0.1", port).unwrap();
    assert_eq!(targets.len(), 1);
    assert_eq!(
        targets[0].web_socket_debugger_url.as_deref(),
        Some(node.ws_url())
    );

    let mut s = Session::connect(node.ws_url(), &ConnectOptions::default()).unwrap();
    // The announcement comes before the main module runs: wait for the program itself.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !stdout_lines.lock().unwrap().iter().any(|l| l == "ready") {
        assert!(Instant::now() < deadline, "the script never said ready");
        std::thread::sleep(Duration::from_millis(10));
    }
    let mem = s.memory_usage().unwrap();
    assert!(mem.heap_used > 0 && mem.rss > mem.heap_used, "{mem:?}");
    let (used, total) = s.heap_usage().unwrap();
    assert!(used > 0 && total >= used);
    assert_eq!(s.evaluate("1 + 2").unwrap(), json!(3));
    assert_eq!(s.evaluate("kept.length").unwrap(), json!(1000));
    match s.evaluate("(() => { throw new Error('boom') })()") {
        Err(InspectorError::Evaluation(m)) => assert!(m.contains("boom"), "{m}"),
        other => panic!("{other:?}"),
    }
    match s.call("HeapProfiler.noSuchMethod", json!({})) {
        Err(InspectorError::Cdp { code, .. }) => assert_eq!(code, -32601),
        other => panic!("{other:?}"),
    }
    s.enable_heap_profiler().unwrap();
    s.collect_garbage().unwrap();

    // A snapshot, streamed to disk and read back.
    let out = dir.join("one.heapsnapshot");
    let mut seen: Vec<SnapshotProgress> = Vec::new();
    let bytes = s.take_heap_snapshot(&out, &mut |p| seen.push(p)).unwrap();
    assert_eq!(bytes, std::fs::metadata(&out).unwrap().len());
    assert!(!dir.join("one.heapsnapshot.partial").exists());
    let last = *seen.last().unwrap();
    assert!(last.finished && last.nodes_done == last.nodes_total && last.bytes_written == bytes);
    // Node walks the whole heap before it sends the first byte.
    let first_bytes = seen.iter().position(|p| p.bytes_written > 0).unwrap();
    assert!(seen[..first_bytes].last().unwrap().finished);
    let g = read_path(&out, &mut |_| {}).unwrap();
    assert_eq!(count_named(&g, NodeKind::Object, "Leaky"), 1000);

    // Sampling profile.
    s.start_sampling(1024).unwrap();
    s.evaluate("globalThis.more = Array.from({length: 20000}, (_, i) => ({ i, s: 'y' + i })); 0")
        .unwrap();
    let profile = s
        .write_sampling_profile(&dir.join("p.heapprofile"))
        .unwrap();
    assert_eq!(profile["head"]["callFrame"]["functionName"], "(root)");
    assert!(!profile["samples"].as_array().unwrap().is_empty());
    let on_disk: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("p.heapprofile")).unwrap()).unwrap();
    assert_eq!(on_disk, profile);

    // Allocation tracking: the stop call streams a snapshot with allocation traces.
    s.start_tracking_heap_objects(true).unwrap();
    s.evaluate("for (let i = 0; i < 500; i++) kept.push(new Leaky(-i)); 0")
        .unwrap();
    let n = s.pump_events(Duration::from_millis(200)).unwrap();
    let events = s.take_events();
    // Events that came during the evaluate call were queued too.
    assert!(n <= events.len());
    assert!(
        events
            .iter()
            .any(|e| e.method == "HeapProfiler.heapStatsUpdate"),
        "{:?}",
        events.iter().map(|e| &e.method).collect::<Vec<_>>()
    );
    let traced = dir.join("traced.heapsnapshot");
    let tbytes = s
        .stop_tracking_heap_objects_to(&traced, &mut |_| {})
        .unwrap();
    assert!(tbytes > 0);
    let g = read_path(&traced, &mut |_| {}).unwrap();
    assert!(!g.trace_functions.is_empty());
    assert!(!g.trace_tree.is_empty());
    assert_eq!(count_named(&g, NodeKind::Object, "Leaky"), 1500);
    // Exactly the 500 made while tracking carry an allocation stack.
    let traced_leaky = (0..g.node_count() as u32)
        .filter(|&n| {
            g.name(n) == "Leaky" && g.node_trace_id.get(n as usize).is_some_and(|&t| t != 0)
        })
        .count();
    assert_eq!(traced_leaky, 500);
    s.close();

    // The user's own output passed through; the inspector's lines did not.
    let err = stderr_lines.lock().unwrap().clone();
    assert!(err.iter().any(|l| l == "user stderr line"), "{err:?}");
    assert!(!err.iter().any(|l| l.contains("Debugger")), "{err:?}");

    let status = node.stop().unwrap().expect("node stopped");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGTERM)
    );
    let mut files = dir.files();
    files.retain(|f| !f.ends_with(".js"));
    assert_eq!(
        files,
        ["one.heapsnapshot", "p.heapprofile", "traced.heapsnapshot"]
    );
}

#[test]
fn killed_mid_snapshot_leaves_no_file() {
    let dir = TempDir::new("kill");
    // Enough heap that the snapshot is still streaming when the first chunk arrives.
    let script = write_script(
        &dir,
        "big.js",
        "globalThis.big = Array.from({length: 200000}, (_, i) => ({ i, s: 'v' + i }));\n\
         setInterval(() => {}, 1000);\n",
    );
    let mut node = spawn_node(&argv(&script), SpawnOptions::default()).unwrap();
    let mut s = Session::connect(node.ws_url(), &ConnectOptions::default()).unwrap();
    let out = dir.join("x.heapsnapshot");
    let pid = node.pid() as libc::pid_t;
    let mut killed = false;
    let started = Instant::now();
    let r = s.take_heap_snapshot(&out, &mut |p| {
        if p.bytes_written > 0 && !killed {
            killed = true;
            // SAFETY: our own child, not yet reaped (the Spawned guard is alive).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    });
    assert!(killed, "the snapshot never streamed");
    match r {
        Err(InspectorError::SnapshotInterrupted { bytes, source }) => {
            assert!(bytes > 0);
            assert!(
                matches!(*source, InspectorError::Closed { .. }),
                "{source:?}"
            );
        }
        other => panic!("expected an interrupted snapshot, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(
        dir.files().iter().all(|f| f.ends_with(".js")),
        "{:?}",
        dir.files()
    );
    let status = node.wait_timeout(Duration::from_secs(5)).unwrap().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGKILL)
    );
}

fn spawn_ready(args: &[&str]) -> Kill {
    // SIGUSR1 before Node installs its handler would kill it: wait until the program runs.
    let (child, line) = spawn_until_line("node", args, Stream::Stdout);
    assert_eq!(line.trim(), "ready");
    child
}

#[test]
fn attach_opens_the_inspector_of_a_running_node() {
    let port = free_port();
    let child = spawn_ready(&[
        &format!("--inspect-port={port}"),
        "-e",
        "console.log('ready'); setInterval(() => {}, 1000)",
    ]);
    let started = Instant::now();
    let url = attach(child.0.id(), port).unwrap();
    let took = started.elapsed();
    assert!(url.starts_with(&format!("ws://127.0.0.1:{port}/")), "{url}");
    let mut s = Session::connect(&url, &ConnectOptions::default()).unwrap();
    assert!(s.memory_usage().unwrap().heap_used > 0);
    assert_eq!(s.evaluate("process.pid").unwrap(), json!(child.0.id()));
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[test]
fn attach_errors() {
    // Above any Linux pid_max, below i32::MAX.
    match attach(2_000_000_000, 9) {
        Err(e @ InspectorError::NoSuchProcess(_)) => {
            assert_eq!(e.to_string(), "no process with PID 2000000000")
        }
        other => panic!("{other:?}"),
    }
    // PID 1 is root's init: not ours to signal (unless the tests run as root).
    if unsafe { libc::geteuid() } != 0 {
        assert!(matches!(attach(1, 9), Err(InspectorError::NotPermitted(1))));
    }
    // A process without a SIGUSR1 handler would die of the signal: refused, and it lives.
    let mut sleeper = Kill(Command::new("sleep").arg("30").spawn().unwrap());
    let pid = sleeper.0.id();
    // Let exec finish, or we would be looking at the forked test binary.
    std::thread::sleep(Duration::from_millis(100));
    // It is not node, to begin with: refused by its binary's name.
    match attach_timeout(pid, free_port(), Duration::from_secs(1)) {
        Err(e @ InspectorError::NotNode { .. }) => {
            assert!(e.to_string().ends_with("sleep, not node"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    // Told to signal any binary, the handler check still holds.
    let any = AttachOptions {
        timeout: Duration::from_secs(1),
        any_binary: true,
    };
    match attach_with(pid, free_port(), &any) {
        Err(InspectorError::NoSigusr1Handler(p)) => assert_eq!(p, pid),
        other => panic!("{other:?}"),
    }
    assert!(sleeper.0.try_wait().unwrap().is_none());
}

#[test]
fn refuses_non_loopback_and_reports_refused_connections() {
    for url in [
        "ws://10.1.2.3:9229/x",
        "ws://192.168.0.10:9229/x",
        "ws://example.com:9229/x",
        "ws://0.0.0.0:9229/x",
    ] {
        match Session::connect(url, &ConnectOptions::default()) {
            Err(InspectorError::RemoteRefused { .. }) => {}
            Err(e) => panic!("{url}: {e}"),
            Ok(_) => panic!("{url}: connected"),
        }
    }
    assert!(matches!(
        Session::connect("wss://127.0.0.1:9229/x", &ConnectOptions::default()),
        Err(InspectorError::BadUrl { .. })
    ));
    let port = free_port();
    let url = format!("ws://127.0.0.1:{port}/x");
    match Session::connect(&url, &ConnectOptions::default()) {
        Err(InspectorError::ConnectionRefused { addr }) => {
            assert_eq!(addr, format!("127.0.0.1:{port}"))
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("connected"),
    }
    assert!(matches!(
        discover("127.0.0.1", port),
        Err(InspectorError::ConnectionRefused { .. })
    ));
}

#[test]
fn spawn_failures_name_the_cause() {
    // Node rejects the option before it opens the inspector.
    let err = spawn_node(
        &["node".into(), "--no-such-node-flag".into()],
        SpawnOptions {
            stderr: Output::Null,
            ..SpawnOptions::default()
        },
    )
    .err()
    .unwrap();
    match &err {
        InspectorError::ProcessExited {
            status,
            stderr_tail,
            ..
        } => {
            assert!(status.contains("exit status: 9"), "{status}");
            assert!(
                stderr_tail
                    .iter()
                    .any(|l| l.contains("--no-such-node-flag")),
                "{stderr_tail:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        spawn_node(&["/nonexistent/node".into()], SpawnOptions::default()),
        Err(InspectorError::Spawn { .. })
    ));
}
