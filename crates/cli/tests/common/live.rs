//! Helpers for the tests that drive live node processes through heaphound: running
//! `hunt`, starting node with or without its inspector, sending requests, watching a
//! capture from outside.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

// Each test binary uses its own part of these helpers.
#[allow(unused_imports)]
pub use heaphound_test_support::free_port;
use heaphound_test_support::{spawn_until_line, Stream};

pub use super::Kill;
use super::{describe, heaphound, repo_root};

pub fn hunt_cmd(dir: &Path, args: &[&str], program: &[&str]) -> Command {
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

pub fn output(mut cmd: Command) -> Output {
    let what = describe(&cmd);
    cmd.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{what}`: {e}"))
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn alive(pid: u64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .and_then(|(_, r)| r.trim_start().chars().next())
        })
        .is_some_and(|st| st != 'Z' && st != 'X')
}

/// A node process started without --inspect, once it listens: (child, its HTTP port).
pub fn start_plain_node(args: &[&str]) -> (Child, u16) {
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

/// `node --inspect=127.0.0.1:0 -e SCRIPT`, and the inspector URL it announced.
pub fn start_inspected_node(script: &str) -> (Kill, String) {
    start_inspected(&["-e", script])
}

/// `node --inspect=127.0.0.1:0 ARGS…`, and the inspector URL it announced.
pub fn start_inspected(args: &[&str]) -> (Kill, String) {
    let args: Vec<&str> = std::iter::once("--inspect=127.0.0.1:0")
        .chain(args.iter().copied())
        .collect();
    let (node, line) = spawn_until_line("node", &args, Stream::Stderr);
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("ws://"))
        .unwrap_or_else(|| panic!("no ws:// URL in {line:?}"))
        .to_string();
    (node, url)
}

pub fn unsafe_geteuid() -> u32 {
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
pub fn spawn_hunt(cmd: Command) -> (Child, std::sync::mpsc::Receiver<String>) {
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

pub fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let end = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub fn finish_child(mut child: Child, rx: &std::sync::mpsc::Receiver<String>) -> (Output, String) {
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

/// One request per connection, `n` times, as a person's traffic would come.
pub fn get_many(port: u16, path: &str, n: usize) {
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

/// What every finished hunt leaves behind: three whole snapshots, the memory series with a
/// post-GC sample per snapshot, the load figures and the report, the same as stdout.
pub fn check_run_dir(doc: &Value, dir: &Path, snapshots: u32) {
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

/// The first `(PID N)` heaphound notes on stderr: the program it started.
pub fn noted_pid(rx: &std::sync::mpsc::Receiver<String>, seen: &mut Vec<String>) -> u32 {
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no PID note: {seen:?}"));
        let pid = line
            .split("(PID ")
            .nth(1)
            .and_then(|r| r.split(')').next())
            .and_then(|p| p.parse().ok());
        seen.push(line);
        if let Some(p) = pid {
            return p;
        }
    }
}

/// The TCP ports process `pid` listens on, from its socket descriptors and the kernel's
/// tables (what `ss -ltnp` shows).
pub fn listening_ports(pid: u32) -> Vec<u16> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.flatten()
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .filter_map(|l| {
                    let l = l.to_string_lossy().into_owned();
                    l.strip_prefix("socket:[")?
                        .strip_suffix(']')
                        .map(String::from)
                })
                .collect()
        })
        .unwrap_or_default();
    let mut ports = Vec::new();
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for row in text.lines().skip(1) {
            let f: Vec<&str> = row.split_whitespace().collect();
            // local_address is HEX_IP:HEX_PORT; state 0A is LISTEN; field 9 the inode.
            if f.len() > 9 && f[3] == "0A" && inodes.iter().any(|i| i == f[9]) {
                if let Some(port) = f[1]
                    .rsplit(':')
                    .next()
                    .and_then(|p| u16::from_str_radix(p, 16).ok())
                {
                    ports.push(port);
                }
            }
        }
    }
    ports.sort_unstable();
    ports.dedup();
    ports
}
