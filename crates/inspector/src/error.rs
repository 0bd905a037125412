use std::io;
use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;

/// Everything that can go wrong talking to a Node inspector or running the Node process
/// behind it. Messages name the address, PID or file involved, so a caller can print them
/// as they are.
#[derive(Debug, Error)]
pub enum InspectorError {
    #[error("connection refused by {addr}; is the inspector open there?")]
    ConnectionRefused { addr: String },

    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: String,
        #[source]
        source: io::Error,
    },

    #[error("timed out after {:.1} s waiting for {what}", .after.as_secs_f64())]
    Timeout { what: String, after: Duration },

    #[error("the inspector connection closed while waiting for {during}; the Node process may have exited or crashed")]
    Closed { during: String },

    #[error("the Node process exited ({status}) {when}{}", tail(.stderr_tail))]
    ProcessExited {
        status: String,
        when: &'static str,
        stderr_tail: Vec<String>,
    },

    #[error("node did not announce its inspector URL within {:.1} s{}", .waited.as_secs_f64(), tail(.stderr_tail))]
    NoInspectorUrl {
        waited: Duration,
        stderr_tail: Vec<String>,
    },

    #[error("{method} failed: {message} (CDP error {code})")]
    Cdp {
        method: String,
        code: i64,
        message: String,
    },

    #[error("the evaluated expression threw: {0}")]
    Evaluation(String),

    #[error("unexpected reply to {method}: {detail}")]
    Protocol { method: String, detail: String },

    #[error("refusing to connect to {host}: it is not a loopback address, and the inspector gives full code execution to whoever connects (allow remote hosts explicitly to go on)")]
    RemoteRefused { host: String },

    #[error("bad inspector URL {url:?}: {reason}")]
    BadUrl { url: String, reason: String },

    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("{}: exists (another run, or one cut short); remove it", .path.display())]
    PartialExists { path: PathBuf },

    #[error("the heap snapshot was interrupted after {bytes} bytes and the partial file was removed: {source}")]
    SnapshotInterrupted {
        bytes: u64,
        #[source]
        source: Box<InspectorError>,
    },

    #[error("cannot start {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: io::Error,
    },

    #[error("no process with PID {0}")]
    NoSuchProcess(u32),

    #[error("process {0} belongs to another user; run as that user to attach")]
    NotPermitted(u32),

    #[error("PID {pid} is {}, not node", .exe.display())]
    NotNode { pid: u32, exe: PathBuf },

    #[error("cannot tell what PID {pid} runs, so it is not signalled: /proc/{pid}/exe: {source}")]
    ExeUnreadable {
        pid: u32,
        #[source]
        source: io::Error,
    },

    #[error("process {0} does not handle SIGUSR1, so the signal would kill it instead of opening its inspector: it is not a Node process, is still starting up, or runs with --disable-sigusr1")]
    NoSigusr1Handler(u32),

    #[error("the inspector on {addr} is still open after it was asked to close")]
    StillOpen { addr: String },
    #[error("process {0} exited after it was sent SIGUSR1; was it a Node process?")]
    DiedOnSignal(u32),

    #[error("the inspector did not open on {addr} within {:.0} s; is it a Node process? is the port already taken?", .waited.as_secs_f64())]
    AttachFailed { addr: String, waited: Duration },

    #[error("{addr} is already in use by a program that is not a Node inspector, so Node cannot open its inspector there on SIGUSR1; free the port, or start the program with --inspect-port=N and attach with --port N")]
    PortTaken { addr: String },

    #[error("the inspector on {addr} belongs to PID {found}, not {pid}; another Node process holds that port")]
    WrongProcess { addr: String, pid: u32, found: u64 },

    #[error("HTTP request to {url} failed: {detail}")]
    Http { url: String, detail: String },

    #[error("I/O error while {during}: {source}")]
    Socket {
        during: String,
        #[source]
        source: io::Error,
    },
}

fn tail(lines: &[String]) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let mut s = String::from("; last stderr lines:");
    for l in lines {
        s.push_str("\n  ");
        s.push_str(l);
    }
    s
}

pub type Result<T, E = InspectorError> = std::result::Result<T, E>;
