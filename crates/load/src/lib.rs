//! A small HTTP/1.1 load driver for loopback servers: one thread and one kept-alive
//! connection per concurrent client, no async runtime. Used to push a Node app through
//! enough requests that a per-request leak shows in the heap. Also runs a user's own load
//! command instead.
//!
//! Only loopback targets are loaded unless the caller allows remote ones.

mod command;
mod error;
mod http;
mod url;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub use command::{run_command, run_command_until, CommandOutcome};
pub use error::{LoadError, Result};
pub use url::{parse_parts, resolve_host, UrlParts};

/// What to send, how hard, and for how long.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// `http://host[:port]/path?query`; the scheme may be left out.
    pub url: String,
    /// Concurrent connections, one thread each.
    pub connections: usize,
    /// Exactly this many requests across all connections. With `duration` too, whichever
    /// ends first.
    pub requests: Option<u64>,
    pub duration: Option<Duration>,
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// Send load to non-loopback addresses. Off by default.
    pub allow_remote: bool,
    /// Per connect, per write and per read.
    pub timeout: Duration,
}

impl LoadSpec {
    /// `GET url`, 4 connections, 10 s timeout; set `requests` or `duration` before running.
    pub fn new(url: impl Into<String>) -> LoadSpec {
        LoadSpec {
            url: url.into(),
            connections: 4,
            requests: None,
            duration: None,
            method: "GET".into(),
            headers: Vec::new(),
            body: None,
            allow_remote: false,
            timeout: Duration::from_secs(10),
        }
    }
}

/// Latencies of answered requests (errors excluded), in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Latency {
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    pub mean_us: u64,
}

/// The outcome of a run. `requests` = `ok` + `non_2xx` + `errors`.
#[derive(Debug, Clone, Default)]
pub struct LoadStats {
    pub requests: u64,
    /// 2xx answers.
    pub ok: u64,
    /// Any other status.
    pub non_2xx: u64,
    /// Requests without a complete answer (timeouts, resets, refused reconnects).
    pub errors: u64,
    pub status_counts: BTreeMap<u16, u64>,
    /// Errors by kind ("timeout", "connection refused", "connection closed", ...).
    pub error_counts: BTreeMap<String, u64>,
    /// Response bytes received, heads included.
    pub bytes: u64,
    pub elapsed: Duration,
    pub latency: Latency,
    pub requests_per_sec: f64,
    /// Set when the run gave up before its end because the server stopped answering.
    pub stopped_early: Option<String>,
}

/// A live count for progress display, reported from the calling thread about 5 times a
/// second and once at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadProgress {
    pub requests: u64,
    pub errors: u64,
    /// The requested total, when one was given.
    pub total: Option<u64>,
    pub elapsed: Duration,
}

/// Without any answer for this long, and with every connection failing, the server is
/// taken to be down and the run ends.
const GIVE_UP_AFTER: Duration = Duration::from_secs(2);

struct Shared {
    start: Instant,
    deadline: Option<Instant>,
    /// Requests not yet claimed, in request-count mode.
    remaining: Option<AtomicU64>,
    stop: AtomicBool,
    done: AtomicU64,
    errors: AtomicU64,
    /// Milliseconds after `start` of the latest answer.
    last_answer_ms: AtomicU64,
    /// Failures since the latest answer.
    failing: AtomicU64,
    stopped_early: Mutex<Option<String>>,
}

impl Shared {
    fn claim(&self) -> bool {
        if self.stop.load(Ordering::Relaxed) {
            return false;
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return false;
        }
        match &self.remaining {
            Some(r) => r
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
                .is_ok(),
            None => true,
        }
    }

    fn answered(&self) {
        self.done.fetch_add(1, Ordering::Relaxed);
        self.failing.store(0, Ordering::Relaxed);
        let ms = self.start.elapsed().as_millis() as u64;
        self.last_answer_ms.fetch_max(ms, Ordering::Relaxed);
    }

    fn failed(&self, connections: u64, detail: &str) {
        self.done.fetch_add(1, Ordering::Relaxed);
        self.errors.fetch_add(1, Ordering::Relaxed);
        let failing = self.failing.fetch_add(1, Ordering::Relaxed) + 1;
        let now = self.start.elapsed();
        let last = Duration::from_millis(self.last_answer_ms.load(Ordering::Relaxed));
        let silent = now.saturating_sub(last);
        if failing >= connections && silent >= GIVE_UP_AFTER {
            if let Ok(mut reason) = self.stopped_early.lock() {
                if reason.is_none() {
                    *reason = Some(format!(
                        "no answer for {:.1} s and {failing} failures in a row (last: {detail}); the server seems to be down",
                        silent.as_secs_f64()
                    ));
                }
            }
            self.stop.store(true, Ordering::Relaxed);
        }
    }
}

#[derive(Default)]
struct WorkerStats {
    ok: u64,
    non_2xx: u64,
    errors: u64,
    status_counts: BTreeMap<u16, u64>,
    error_counts: BTreeMap<String, u64>,
    bytes: u64,
    latencies_us: Vec<u64>,
}

/// Runs the load and returns its statistics. Fails before sending anything when the spec is
/// unusable, the target is not loopback (unless allowed), or the server refuses the first
/// connections; failures after that are counted, and a server that stops answering ends
/// the run after about two seconds (see [`LoadStats::stopped_early`]).
pub fn run(spec: &LoadSpec, progress: &mut dyn FnMut(LoadProgress)) -> Result<LoadStats> {
    if spec.connections == 0 {
        return Err(LoadError::BadSpec("connections must be at least 1".into()));
    }
    if spec.requests.is_none() && spec.duration.is_none() {
        return Err(LoadError::BadSpec(
            "give a number of requests or a duration".into(),
        ));
    }
    if spec.timeout.is_zero() {
        return Err(LoadError::BadSpec("the timeout must be above zero".into()));
    }
    let target = url::parse(&spec.url)?;
    let addrs = url::resolve(&target, spec.allow_remote)?;
    let request = build_request(spec, &target)?;
    let head_request = spec.method.eq_ignore_ascii_case("HEAD");

    // Never more threads than requests.
    let connections = match spec.requests {
        Some(n) => spec.connections.min(n.max(1) as usize),
        None => spec.connections,
    };
    // Connecting everything first turns a server that is not there into one clear error
    // instead of a run full of failures.
    let mut initial = Vec::with_capacity(connections);
    let (first, addr) = http::connect_first(&addrs, spec.timeout)?;
    initial.push(http::Conn::new(first));
    for _ in 1..connections {
        let s = http::connect(&addr, spec.timeout).map_err(|e| {
            match http::connect_first(&[addr], spec.timeout) {
                Err(err) => err,
                Ok(_) => LoadError::Connect {
                    addr: addr.to_string(),
                    source: e,
                },
            }
        })?;
        initial.push(http::Conn::new(s));
    }

    let start = Instant::now();
    let shared = Shared {
        start,
        deadline: spec.duration.map(|d| start + d),
        remaining: spec.requests.map(AtomicU64::new),
        stop: AtomicBool::new(false),
        done: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        last_answer_ms: AtomicU64::new(0),
        failing: AtomicU64::new(0),
        stopped_early: Mutex::new(None),
    };
    let report = |progress: &mut dyn FnMut(LoadProgress)| {
        progress(LoadProgress {
            requests: shared.done.load(Ordering::Relaxed),
            errors: shared.errors.load(Ordering::Relaxed),
            total: spec.requests,
            elapsed: start.elapsed(),
        })
    };
    let per_worker: Vec<WorkerStats> = std::thread::scope(|s| {
        let handles: Vec<_> = initial
            .into_iter()
            .map(|conn| {
                let shared = &shared;
                let request = &request;
                s.spawn(move || {
                    worker(
                        conn,
                        addr,
                        request,
                        head_request,
                        spec.timeout,
                        connections as u64,
                        shared,
                    )
                })
            })
            .collect();
        let mut next_report = Instant::now() + Duration::from_millis(200);
        while !handles.iter().all(|h| h.is_finished()) {
            std::thread::sleep(Duration::from_millis(10));
            if Instant::now() >= next_report {
                report(progress);
                next_report += Duration::from_millis(200);
            }
        }
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let elapsed = start.elapsed();
    report(progress);

    let mut stats = LoadStats {
        elapsed,
        stopped_early: shared.stopped_early.lock().ok().and_then(|r| r.clone()),
        ..LoadStats::default()
    };
    let mut latencies = Vec::new();
    for w in per_worker {
        stats.ok += w.ok;
        stats.non_2xx += w.non_2xx;
        stats.errors += w.errors;
        stats.bytes += w.bytes;
        for (k, v) in w.status_counts {
            *stats.status_counts.entry(k).or_default() += v;
        }
        for (k, v) in w.error_counts {
            *stats.error_counts.entry(k).or_default() += v;
        }
        latencies.extend(w.latencies_us);
    }
    stats.requests = stats.ok + stats.non_2xx + stats.errors;
    stats.requests_per_sec = stats.requests as f64 / elapsed.as_secs_f64().max(1e-9);
    stats.latency = latency(&mut latencies);
    Ok(stats)
}

fn worker(
    conn: http::Conn,
    addr: SocketAddr,
    request: &[u8],
    head_request: bool,
    timeout: Duration,
    connections: u64,
    shared: &Shared,
) -> WorkerStats {
    let mut stats = WorkerStats::default();
    let mut conn = Some(conn);
    let mut backoff = Duration::ZERO;
    while shared.claim() {
        let t0 = Instant::now();
        match exchange(&mut conn, addr, request, head_request, timeout) {
            Ok(r) => {
                stats.latencies_us.push(t0.elapsed().as_micros() as u64);
                stats.bytes += r.bytes;
                *stats.status_counts.entry(r.status).or_default() += 1;
                if (200..300).contains(&r.status) {
                    stats.ok += 1;
                } else {
                    stats.non_2xx += 1;
                }
                if r.close {
                    conn = None;
                }
                backoff = Duration::ZERO;
                shared.answered();
            }
            Err(f) => {
                conn = None;
                stats.errors += 1;
                *stats.error_counts.entry(f.kind.to_string()).or_default() += 1;
                shared.failed(connections, &format!("{}: {}", f.kind, f.detail));
                // A dead server refuses at once: pace the retries so the count of errors
                // says "it went down", not how fast we can be refused.
                backoff =
                    (backoff * 2).clamp(Duration::from_millis(10), Duration::from_millis(200));
                std::thread::sleep(backoff);
            }
        }
    }
    stats
}

/// One request, on the kept connection or a new one; a request that found its kept
/// connection closed by the server while idle is sent once more on a fresh connection.
fn exchange(
    conn: &mut Option<http::Conn>,
    addr: SocketAddr,
    request: &[u8],
    head_request: bool,
    timeout: Duration,
) -> std::result::Result<http::Response, http::Failure> {
    for attempt in 0..2 {
        let c = match conn {
            Some(c) => c,
            None => {
                let s = http::connect(&addr, timeout).map_err(|e| http::Failure {
                    kind: match e.kind() {
                        std::io::ErrorKind::ConnectionRefused => "connection refused",
                        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => "timeout",
                        _ => "connect failed",
                    },
                    detail: format!("{addr}: {e}"),
                    stale: false,
                })?;
                conn.insert(http::Conn::new(s))
            }
        };
        match c.exchange(request, head_request) {
            Ok(r) => return Ok(r),
            Err(f) if f.stale && attempt == 0 => *conn = None,
            Err(f) => return Err(f),
        }
    }
    Err(http::Failure {
        kind: "connection closed",
        detail: "closed twice before answering".into(),
        stale: false,
    })
}

fn build_request(spec: &LoadSpec, target: &url::Target) -> Result<Vec<u8>> {
    let method = spec.method.trim();
    let token = |b: u8| b.is_ascii_alphanumeric() || b"-_.!#$%&'*+^`|~".contains(&b);
    if method.is_empty() || !method.bytes().all(token) {
        return Err(LoadError::BadSpec(format!("bad method {:?}", spec.method)));
    }
    let has = |name: &str| {
        spec.headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(name))
    };
    for (k, v) in &spec.headers {
        let bad_name = k.is_empty() || k.bytes().any(|b| !(b.is_ascii_graphic() && b != b':'));
        if bad_name || v.bytes().any(|b| b == b'\r' || b == b'\n') {
            return Err(LoadError::BadSpec(format!("bad header {k:?}: {v:?}")));
        }
        if k.eq_ignore_ascii_case("transfer-encoding") {
            return Err(LoadError::BadSpec(
                "Transfer-Encoding cannot be set: the body is sent with Content-Length".into(),
            ));
        }
    }
    let mut head = format!(
        "{} {} HTTP/1.1\r\n",
        method.to_ascii_uppercase(),
        target.path
    );
    if !has("host") {
        head.push_str(&format!("Host: {}\r\n", target.authority()));
    }
    if !has("user-agent") {
        head.push_str("User-Agent: heaphound-load\r\n");
    }
    if !has("accept") {
        head.push_str("Accept: */*\r\n");
    }
    for (k, v) in &spec.headers {
        if k.eq_ignore_ascii_case("content-length") {
            continue;
        }
        head.push_str(&format!("{k}: {}\r\n", v.trim()));
    }
    let body = spec.body.as_deref().unwrap_or(&[]);
    let wants_length = spec.body.is_some()
        || matches!(
            method.to_ascii_uppercase().as_str(),
            "POST" | "PUT" | "PATCH"
        );
    if wants_length {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    Ok(bytes)
}

/// Nearest-rank percentiles of the collected samples.
fn latency(samples: &mut [u64]) -> Latency {
    if samples.is_empty() {
        return Latency::default();
    }
    samples.sort_unstable();
    let n = samples.len();
    let rank = |p: f64| {
        let r = ((p / 100.0) * n as f64).ceil() as usize;
        samples[r.clamp(1, n) - 1]
    };
    Latency {
        p50_us: rank(50.0),
        p90_us: rank(90.0),
        p99_us: rank(99.0),
        max_us: samples[n - 1],
        mean_us: samples.iter().sum::<u64>() / n as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut v: Vec<u64> = (1..=100).rev().collect();
        let l = latency(&mut v);
        assert_eq!((l.p50_us, l.p90_us, l.p99_us, l.max_us), (50, 90, 99, 100));
        assert_eq!(latency(&mut [7]).p99_us, 7);
        assert_eq!(latency(&mut []), Latency::default());
    }

    #[test]
    fn request_bytes() {
        let mut spec = LoadSpec::new("http://127.0.0.1:3000/a?b");
        spec.method = "post".into();
        spec.headers = vec![("X-A".into(), "1".into())];
        spec.body = Some(b"hi".to_vec());
        let t = url::parse(&spec.url).unwrap();
        let r = String::from_utf8(build_request(&spec, &t).unwrap()).unwrap();
        assert_eq!(
            r,
            "POST /a?b HTTP/1.1\r\nHost: 127.0.0.1:3000\r\nUser-Agent: heaphound-load\r\nAccept: */*\r\nX-A: 1\r\nContent-Length: 2\r\n\r\nhi"
        );
        spec.headers = vec![("X-A".into(), "1\r\nInjected: yes".into())];
        assert!(matches!(
            build_request(&spec, &t),
            Err(LoadError::BadSpec(_))
        ));
    }

    #[test]
    fn a_kept_connection_closed_while_idle_is_retried_once() {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
            let mut buf = [0u8; 1024];
            // First connection: one answer, then it closes on the next request unanswered.
            let (mut a, _) = l.accept().unwrap();
            let _ = a.read(&mut buf);
            a.write_all(reply).unwrap();
            let _ = a.read(&mut buf);
            drop(a);
            let (mut b, _) = l.accept().unwrap();
            let _ = b.read(&mut buf);
            b.write_all(reply).unwrap();
        });
        let t = Duration::from_secs(5);
        let mut conn = Some(http::Conn::new(http::connect(&addr, t).unwrap()));
        let req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(
            exchange(&mut conn, addr, req, false, t).unwrap().status,
            200
        );
        assert_eq!(
            exchange(&mut conn, addr, req, false, t).unwrap().status,
            200
        );
        server.join().unwrap();
    }

    #[test]
    fn spec_must_end_somewhere() {
        let spec = LoadSpec::new("http://127.0.0.1:1/");
        assert!(matches!(
            run(&spec, &mut |_| {}),
            Err(LoadError::BadSpec(_))
        ));
    }
}
