//! `heaphound attach` and `snapshot` on node processes that run without --inspect: with the
//! built-in load, with a person pressing Enter between snapshots, and the faults of
//! attaching (no such PID, another user's, a port that is taken or another inspector).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::leaks;
use common::live::*;
use common::*;

/// The cache-leak app started without its inspector but with the port SIGUSR1 will open
/// it on: (process, inspector port, HTTP port).
fn cache_leak_to_attach() -> (Kill, u16, u16) {
    let inspect = free_port();
    let (child, port) = start_plain_node(&[
        &format!("--inspect-port={inspect}"),
        "examples/cache-leak/server.js",
        "0",
    ]);
    (Kill(child), inspect, port)
}

#[test]
fn attach_to_a_running_process() {
    let (node, inspect, port) = cache_leak_to_attach();
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
    // Attached programs keep running, and the inspector heaphound opened is closed again.
    assert!(alive(u64::from(pid)), "the attached process was stopped");
    let ports = listening_ports(pid);
    assert!(ports.contains(&port), "the app still serves: {ports:?}");
    assert!(
        !ports.contains(&inspect),
        "attach left the inspector open: {ports:?}"
    );
    // A second capture opens it again, and closes it again.
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
    assert_eq!(doc["inspector_closed"], true, "{doc:#}");
    assert!(
        !listening_ports(pid).contains(&inspect),
        "snapshot left it open"
    );
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

/// A process started with --inspect keeps its own inspector: heaphound closes only what it
/// opened.
#[test]
fn an_inspector_the_process_opened_itself_stays_open() {
    let inspect = free_port();
    let (child, _) = start_plain_node(&[
        &format!("--inspect=127.0.0.1:{inspect}"),
        "examples/cache-leak/server.js",
        "0",
    ]);
    let node = Kill(child);
    let pid = node.0.id();
    wait_for("the inspector", Duration::from_secs(10), || {
        listening_ports(pid).contains(&inspect)
    });
    let tmp = TempDir::new("snapshot-own-inspector");
    let snap = tmp.path().join("s.heapsnapshot");
    let out = output({
        let mut cmd = Command::new(heaphound());
        cmd.args(["snapshot", &pid.to_string(), "--port", &inspect.to_string()])
            .args(["--json", "-o"])
            .arg(&snap);
        cmd
    });
    let doc = leaks::doc_of(&out, "snapshot");
    assert_eq!(doc["inspector_closed"], false, "{doc:#}");
    assert!(
        listening_ports(pid).contains(&inspect),
        "its own inspector was closed"
    );
}

#[test]
fn watch_pid_inspect_closes_the_inspector_it_opened() {
    let (node, inspect, port) = cache_leak_to_attach();
    let pid = node.0.id();
    let tmp = TempDir::new("watch-inspect");
    let out = output({
        let mut cmd = Command::new(heaphound());
        cmd.args([
            "watch",
            &pid.to_string(),
            "--inspect",
            "--port",
            &inspect.to_string(),
        ])
        .args([
            "--json",
            "--interval",
            "200ms",
            "--duration",
            "1500ms",
            "--out",
        ])
        .arg(tmp.path().join("memory.jsonl"));
        cmd
    });
    let doc = leaks::doc_of(&out, "watch PID --inspect");
    assert_eq!(doc["target"]["source"], "inspector", "{doc:#}");
    assert!(
        stderr(&out).contains(&format!(
            "closed the inspector heaphound opened in PID {pid}"
        )),
        "{}",
        stderr(&out)
    );
    let ports = listening_ports(pid);
    assert!(
        ports.contains(&port) && !ports.contains(&inspect),
        "{ports:?}"
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

#[test]
fn attach_without_load_waits_for_enter_between_snapshots() {
    use std::io::Write as _;
    let (node, inspect, port) = cache_leak_to_attach();
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

/// `bash` trapping SIGUSR1 and writing `file` when it gets one, once its trap is set.
fn usr1_trap(file: &std::path::Path) -> Kill {
    let child = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "trap 'echo got >> {}' USR1; while :; do sleep 0.1; done",
            file.display()
        ))
        .stdin(Stdio::null())
        .spawn()
        .expect("bash");
    let pid = child.id();
    let trapped = || {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("SigCgt:"))
                    .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
            })
            .is_some_and(|m| m & (1 << 9) != 0)
    };
    let end = Instant::now() + Duration::from_secs(10);
    while !trapped() {
        assert!(Instant::now() < end, "bash never set its USR1 trap");
        std::thread::sleep(Duration::from_millis(10));
    }
    Kill(child)
}

#[test]
fn a_process_that_is_not_node_is_never_signalled() {
    let tmp = TempDir::new("attach-not-node");
    let got = tmp.join("got-usr1");
    let script = usr1_trap(&got);
    let pid = script.0.id().to_string();
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).expect("bash's binary");
    let port = free_port().to_string();
    let snap = tmp.join("s.heapsnapshot");
    for args in [
        vec!["attach", &pid, "--port", &port, "--load", "/"],
        vec![
            "snapshot",
            &pid,
            "--port",
            &port,
            "-o",
            snap.to_str().expect("path"),
        ],
        vec![
            "watch",
            &pid,
            "--inspect",
            "--port",
            &port,
            "--duration",
            "1s",
        ],
    ] {
        let started = Instant::now();
        let out = output({
            let mut cmd = Command::new(heaphound());
            cmd.args(&args);
            cmd
        });
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        let flag = if args[0] == "snapshot" {
            "--force-signal"
        } else {
            "--force"
        };
        assert!(
            err.contains(&format!(
                "{}: PID {pid} is {}, not node; {flag} to signal it anyway",
                args[0],
                exe.display()
            )),
            "{args:?}: {err}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "refused at once"
        );
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(!got.exists(), "the script was sent SIGUSR1");
    assert!(!snap.exists());

    // --force lifts the check, and only it: the script gets the signal.
    let mut forced = Command::new(heaphound())
        .args([
            "attach", &pid, "--port", &port, "--force", "--load", "/", "-q",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("heaphound");
    let end = Instant::now() + Duration::from_secs(10);
    while !got.exists() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = forced.kill();
    let _ = forced.wait();
    assert!(got.exists(), "--force sends the signal");
}

#[test]
fn a_process_whose_binary_cannot_be_read_is_refused() {
    let tmp = TempDir::new("attach-unreadable");
    let got = tmp.join("got-usr1");
    std::fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .expect("chmod");
    // A process that made itself non-dumpable (prctl PR_SET_DUMPABLE 0, syscall 157 on
    // x86-64): /proc/PID/exe is then unreadable to anyone but root. As root, both it and
    // heaphound run as nobody.
    let as_nobody = |program: &str| {
        let mut cmd = if unsafe_geteuid() == 0 {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", program]);
            c
        } else {
            Command::new(program)
        };
        cmd.stdin(Stdio::null());
        cmd
    };
    let script = format!(
        "syscall(157, 4, 0, 0, 0, 0) == 0 or die 'prctl: $!'; \
         $SIG{{USR1}} = sub {{ open my $f, '>>', '{}'; print $f \"got\\n\" }}; \
         print \"ready\\n\"; $| = 1; sleep 1 while 1",
        got.display()
    );
    let mut child = as_nobody("perl")
        .args(["-e", &script])
        .stdout(Stdio::piped())
        .spawn()
        .expect("perl");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().expect("stdout"))
        .read_line(&mut line)
        .expect("ready");
    let target = Kill(child);
    let pid = target.0.id().to_string();
    let out = output({
        let mut cmd = as_nobody(heaphound());
        cmd.args([
            "attach",
            &pid,
            "--port",
            &free_port().to_string(),
            "--load",
            "/",
        ]);
        cmd
    });
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "attach: cannot tell what PID {pid} runs, so it is not signalled: /proc/{pid}/exe: Permission denied"
        )) && err.contains("--force to signal it anyway"),
        "{err}"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(!got.exists(), "the process was sent SIGUSR1");
}

#[test]
fn a_pid_that_is_gone_is_named() {
    let mut child = Command::new("true").spawn().expect("true");
    child.wait().expect("wait");
    let pid = child.id().to_string();
    for cmd in ["attach", "snapshot"] {
        let out = output({
            let mut c = Command::new(heaphound());
            c.args([cmd, &pid, "-o", "/nonexistent/s.heapsnapshot"]);
            if cmd == "attach" {
                c.args(["--load", "/"]);
            }
            c
        });
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains(&format!("{cmd}: no process with PID {pid}")),
            "{err}"
        );
    }
}
