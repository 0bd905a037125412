//! Against a real Node HTTP server that counts what it is sent.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use heaphound_load::{run, run_command, LoadError, LoadSpec};
use heaphound_test_support::{spawn_until_line, Kill, Stream};

const SERVER: &str = r#"
const http = require('http');
let count = 0, mixed = 0;
const server = http.createServer((req, res) => {
  if (req.url === '/count') { res.end(String(count)); return; }
  count++;
  if (req.url.startsWith('/fail')) { res.statusCode = 500; res.end('no'); return; }
  if (req.url === '/mixed') { res.statusCode = (mixed++ % 2) ? 503 : 200; res.end('m'); return; }
  if (req.url === '/chunked') { res.write('part1'); setImmediate(() => res.end('part2')); return; }
  if (req.url === '/close') { res.setHeader('Connection', 'close'); res.end('bye'); return; }
  res.end('hello');
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
"#;

/// The server process, killed on drop.
struct Server {
    child: Kill,
    port: u16,
}

impl Server {
    fn start() -> Server {
        let (child, line) = spawn_until_line("node", &["-e", SERVER], Stream::Stdout);
        let port = line.trim().parse().unwrap();
        Server { child, port }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Requests the server counted, asked on a connection of its own.
    fn count(&self) -> u64 {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.write_all(b"GET /count HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        text.rsplit("\r\n\r\n")
            .next()
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }
}

fn spec(url: String, requests: u64, connections: usize) -> LoadSpec {
    LoadSpec {
        requests: Some(requests),
        connections,
        ..LoadSpec::new(url)
    }
}

#[test]
fn sends_exactly_the_requested_count() {
    let server = Server::start();
    let mut ticks = Vec::new();
    let stats = run(&spec(server.url("/hello"), 500, 4), &mut |p| ticks.push(p)).unwrap();
    assert_eq!(server.count(), 500);
    assert_eq!(
        (stats.requests, stats.ok, stats.non_2xx, stats.errors),
        (500, 500, 0, 0)
    );
    assert_eq!(stats.status_counts.get(&200), Some(&500));
    let l = stats.latency;
    assert!(
        l.p50_us <= l.p90_us && l.p90_us <= l.p99_us && l.p99_us <= l.max_us,
        "{l:?}"
    );
    assert!(l.max_us > 0);
    assert!(stats.bytes > 500 * 5 && stats.requests_per_sec > 0.0);
    assert_eq!(ticks.last().unwrap().requests, 500);
    assert_eq!(stats.requests, 500);
    assert!(stats.stopped_early.is_none());

    // Chunked bodies and servers that close every connection.
    let stats = run(&spec(server.url("/chunked"), 40, 2), &mut |_| {}).unwrap();
    assert_eq!((stats.ok, stats.errors), (40, 0));
    let stats = run(&spec(server.url("/close"), 40, 3), &mut |_| {}).unwrap();
    assert_eq!((stats.ok, stats.errors), (40, 0));
    assert_eq!(server.count(), 580);
}

#[test]
fn counts_non_2xx() {
    let server = Server::start();
    let stats = run(&spec(server.url("/fail"), 30, 2), &mut |_| {}).unwrap();
    assert_eq!((stats.requests, stats.ok, stats.non_2xx), (30, 0, 30));
    assert_eq!(stats.status_counts.get(&500), Some(&30));
    let stats = run(&spec(server.url("/mixed"), 100, 1), &mut |_| {}).unwrap();
    assert_eq!((stats.ok, stats.non_2xx, stats.errors), (50, 50, 0));
    assert_eq!(stats.status_counts.get(&503), Some(&50));
}

#[test]
fn runs_for_a_duration() {
    let server = Server::start();
    let mut s = LoadSpec::new(server.url("/"));
    s.duration = Some(Duration::from_millis(300));
    s.connections = 2;
    let stats = run(&s, &mut |_| {}).unwrap();
    assert!(stats.requests > 10 && stats.errors == 0, "{stats:?}");
    assert!(stats.elapsed >= Duration::from_millis(300) && stats.elapsed < Duration::from_secs(3));
    assert_eq!(server.count(), stats.requests);
}

#[test]
fn refused_and_remote_targets_fail_at_once() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let err = run(
        &spec(format!("http://127.0.0.1:{port}/"), 100, 4),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        matches!(err, LoadError::ConnectionRefused { .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("connection refused by 127.0.0.1:{port}")
    );
    assert!(started.elapsed() < Duration::from_secs(2));

    for url in [
        "http://10.1.2.3:3000/",
        "http://192.168.1.1/",
        "http://0.0.0.0:3000/",
    ] {
        let err = run(&spec(url.into(), 1, 1), &mut |_| {}).unwrap_err();
        assert!(
            matches!(err, LoadError::RemoteRefused { .. }),
            "{url}: {err:?}"
        );
    }
    let err = run(&spec("https://127.0.0.1/".into(), 1, 1), &mut |_| {}).unwrap_err();
    assert!(matches!(err, LoadError::BadUrl { .. }), "{err:?}");
}

#[test]
fn a_server_that_dies_ends_the_run() {
    let mut server = Server::start();
    let mut s = LoadSpec::new(server.url("/"));
    s.duration = Some(Duration::from_secs(30));
    s.connections = 2;
    let pid = server.child.0.id() as libc::pid_t;
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        // SAFETY: the server is our unreaped child until Server's drop, after the join.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    });
    let started = Instant::now();
    let stats = run(&s, &mut |_| {}).unwrap();
    killer.join().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    assert!(stats.ok > 0 && stats.errors > 0, "{stats:?}");
    // Paced retries: a handful of errors, not a flood.
    assert!(stats.errors < 200, "{stats:?}");
    let why = stats.stopped_early.expect("stopped early");
    assert!(why.contains("connection refused"), "{why}");
    let _ = server.child.0.wait();
}

#[test]
fn runs_user_commands() {
    let out = run_command("echo to-stderr; exit 3", Some(Duration::from_secs(10))).unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(!out.timed_out && !out.success());
    let started = Instant::now();
    let out = run_command("sleep 30", Some(Duration::from_millis(200))).unwrap();
    assert!(out.timed_out);
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(run_command("true", None).unwrap().success());
}
