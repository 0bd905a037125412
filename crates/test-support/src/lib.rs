//! Helpers shared by the workspace's tests (a dev-dependency only): one copy of what every
//! test binary used to write for itself.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The repository root, from a crate's `CARGO_MANIFEST_DIR` (`crates/NAME`).
pub fn repo_root(manifest_dir: &str) -> PathBuf {
    let root = Path::new(manifest_dir).join("../..");
    root.canonicalize()
        .unwrap_or_else(|e| panic!("cannot resolve repository root {}: {e}", root.display()))
}

/// A fresh directory under the system temp directory, removed when dropped (kept, and named
/// on stderr, with HEAPHOUND_KEEP_TEMP set).
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "heaphound-test-{tag}-{}-{nanos}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// The names of the files in the folder, sorted.
    pub fn files(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", self.0.display()))
            .map(|e| {
                e.expect("a directory entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        v.sort();
        v
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("HEAPHOUND_KEEP_TEMP").is_some() {
            eprintln!("kept {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A child process killed (and reaped) when dropped, so a failing test leaves no process.
pub struct Kill(pub Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Which stream of a node process to wait on.
#[derive(Clone, Copy)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Starts `program args` and waits for its first line on `stream` (a program says "ready",
/// prints its port, or node announces its inspector there), returning the process and the
/// line. Waiting matters: a signal sent before Node installs its handlers kills it.
pub fn spawn_until_line(program: &str, args: &[&str], stream: Stream) -> (Kill, String) {
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null());
    match stream {
        Stream::Stdout => cmd.stdout(Stdio::piped()).stderr(Stdio::null()),
        Stream::Stderr => cmd.stdout(Stdio::null()).stderr(Stdio::piped()),
    };
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program} {args:?}: {e}"));
    let mut line = String::new();
    let read = match stream {
        Stream::Stdout => {
            BufReader::new(child.stdout.as_mut().expect("piped stdout")).read_line(&mut line)
        }
        Stream::Stderr => {
            BufReader::new(child.stderr.as_mut().expect("piped stderr")).read_line(&mut line)
        }
    };
    read.unwrap_or_else(|e| panic!("{program} {args:?}: no first line: {e}"));
    (Kill(child), line.trim_end().to_string())
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Bytes gzipped (deterministic: no name, no time in the header).
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("gzip into memory");
    enc.finish().expect("gzip into memory")
}

/// V8's node type names in Node 20's order (a snapshot's numbers index this list).
pub const NODE_TYPES: &[&str] = &[
    "hidden",
    "array",
    "string",
    "object",
    "code",
    "closure",
    "regexp",
    "number",
    "native",
    "synthetic",
    "concatenated string",
    "sliced string",
    "symbol",
    "bigint",
    "object shape",
    "wasm object",
];

/// Node 18's node types: no "object shape", no "wasm object".
pub const NODE18_TYPES: &[&str] = NODE_TYPES.split_at(14).0;

/// Node 22's node types: no "wasm object".
pub const NODE22_TYPES: &[&str] = NODE_TYPES.split_at(15).0;

/// V8's edge type names, in V8's order.
pub const EDGE_TYPES: &[&str] = &[
    "context", "element", "property", "internal", "hidden", "shortcut", "weak",
];
