//! Bad inputs: every command must exit with code 2, print nothing on stdout and exactly one
//! stderr line `heaphound: error: <FILE>: <problem>`; never succeed, panic or hang.
//!
//! The broken files are derived from a real snapshot written by the system `node`; only the
//! deliberate damage is hand-made.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use heaphound_snapshot::{read_bytes, SnapshotError};
use heaphound_test_support::gzip;

const BIN: &str = env!("CARGO_BIN_EXE_heaphound");
const TIMEOUT: Duration = Duration::from_secs(120);

// ---------------------------------------------------------------------------------------
// Fixtures

/// A scratch directory private to this test process.
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
        // Leftovers of earlier runs (an hour old: not a run going on beside this one).
        for entry in std::fs::read_dir(base).into_iter().flatten().flatten() {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > Duration::from_secs(3600));
            if old
                && entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with("bad_input-")
            {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let dir = base.join(format!("bad_input-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
}

fn write_file(name: &str, bytes: &[u8]) -> PathBuf {
    let p = scratch().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// A real Node snapshot and what the reader makes of it.
struct Real {
    path: PathBuf,
    bytes: Vec<u8>,
    node_fields: Vec<String>,
    edge_fields: Vec<String>,
    node_count: u64,
    edge_count: u64,
    string_count: u64,
    /// An id no node has.
    missing_id: u64,
    /// An id some node has.
    present_id: u32,
}

impl Real {
    fn nf(&self) -> u64 {
        self.node_fields.len() as u64
    }
    fn ef(&self) -> u64 {
        self.edge_fields.len() as u64
    }
    fn node_field(&self, name: &str) -> u64 {
        self.node_fields.iter().position(|f| f == name).unwrap() as u64
    }
    fn edge_field(&self, name: &str) -> u64 {
        self.edge_fields.iter().position(|f| f == name).unwrap() as u64
    }
}

/// Some strings that need escapes, so the "strings" section holds `\uXXXX`, `\"`, `\n`…
const NODE_SCRIPT: &str = r#"
globalThis.keep = ["quote \" backslash \\ tab \t nl \n", "lone \ud800 high", "lone \udc00 low",
  "astral \u{1F600}", "ctl \u0001", { "key\twith\ttabs": 1 }];
require('v8').writeHeapSnapshot(process.argv[1]);
"#;

fn real() -> &'static Real {
    static REAL: OnceLock<Real> = OnceLock::new();
    REAL.get_or_init(|| {
        let path = scratch().join("real.heapsnapshot");
        let out = Command::new("node")
            .arg("-e")
            .arg(NODE_SCRIPT)
            .arg(&path)
            .output()
            .expect("the system `node` is needed to write a real heap snapshot");
        assert!(
            out.status.success(),
            "node failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bytes = std::fs::read(&path).unwrap();
        let g = read_bytes(&bytes).expect("the real snapshot must read");
        let max_id = g.node_id.iter().copied().max().unwrap() as u64;
        Real {
            node_fields: g.meta.node_fields.clone(),
            edge_fields: g.meta.edge_fields.clone(),
            node_count: g.node_count() as u64,
            edge_count: g.edge_count() as u64,
            string_count: g.strings.len() as u64,
            missing_id: max_id + 2,
            present_id: g.node_id[g.node_count() / 2],
            path,
            bytes,
        }
    })
}

fn real_gz() -> &'static [u8] {
    static GZ: OnceLock<Vec<u8>> = OnceLock::new();
    GZ.get_or_init(|| gzip(&real().bytes))
}

/// Deterministic noise (xorshift).
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

fn find(hay: &[u8], needle: &[u8]) -> usize {
    find_from(hay, needle, 0)
}

fn find_from(hay: &[u8], needle: &[u8], from: usize) -> usize {
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
        .unwrap_or_else(|| panic!("{:?} not found", String::from_utf8_lossy(needle)))
}

/// The byte range of the digits after `"key":` in the header.
fn header_number(bytes: &[u8], key: &str) -> std::ops::Range<usize> {
    let start = find(bytes, format!("\"{key}\":").as_bytes()) + key.len() + 3;
    let len = bytes[start..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    assert!(len > 0);
    start..start + len
}

/// The byte range of value `index` of the top-level integer array `key`.
fn array_value(bytes: &[u8], key: &str, index: u64) -> std::ops::Range<usize> {
    let mut i = find(bytes, format!("\"{key}\":[").as_bytes()) + key.len() + 4;
    let mut n = 0u64;
    loop {
        while !bytes[i].is_ascii_digit() {
            assert_ne!(bytes[i], b']', "{key} has no value {index}");
            i += 1;
        }
        let len = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        if n == index {
            return i..i + len;
        }
        n += 1;
        i += len;
    }
}

fn replaced(bytes: &[u8], range: std::ops::Range<usize>, with: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + with.len());
    out.extend_from_slice(&bytes[..range.start]);
    out.extend_from_slice(with.as_bytes());
    out.extend_from_slice(&bytes[range.end..]);
    out
}

// ---------------------------------------------------------------------------------------
// Running the binary

struct Out {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
    what: String,
}

fn run(args: &[&str], stdin: Option<&[u8]>) -> Out {
    run_pieces(args, stdin.map(|b| vec![b.to_vec()]))
}

/// Runs the binary; stdin, when given, is written in pieces with a pause between them, as a
/// slow producer (a network pipe) would hand it over.
fn run_pieces(args: &[&str], stdin: Option<Vec<Vec<u8>>>) -> Out {
    let what = format!("heaphound {}", args.join(" "));
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("NO_PROGRESS")
        .env_remove("HEAPHOUND_NO_PROGRESS")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let writer = stdin.map(|pieces| {
        let mut pipe = child.stdin.take().unwrap();
        // The binary may stop reading early (a broken pipe here is fine).
        std::thread::spawn(move || {
            for (i, piece) in pieces.iter().enumerate() {
                if i > 0 {
                    std::thread::sleep(Duration::from_millis(300));
                }
                if pipe.write_all(piece).and_then(|_| pipe.flush()).is_err() {
                    return;
                }
            }
        })
    });
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let so = std::thread::spawn(move || {
        let mut v = Vec::new();
        so.read_to_end(&mut v).unwrap();
        v
    });
    let se = std::thread::spawn(move || {
        let mut v = Vec::new();
        se.read_to_end(&mut v).unwrap();
        v
    });
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {TIMEOUT:?} (hang)");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    if let Some(w) = writer {
        w.join().unwrap();
    }
    Out {
        code: status.code(),
        stdout: so.join().unwrap(),
        stderr: String::from_utf8_lossy(&se.join().unwrap()).into_owned(),
        what,
    }
}

/// Checks the contract and that the problem is named by one of `phrases` (any case).
fn assert_bad(out: &Out, label: &str, phrases: &[&str]) {
    let ctx = format!("{}\n--- stderr ---\n{}", out.what, out.stderr);
    assert_eq!(out.code, Some(2), "exit code; {ctx}");
    assert!(
        out.stdout.is_empty(),
        "stdout should be empty, got {:?}; {ctx}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        out.stderr.ends_with('\n') && out.stderr.matches('\n').count() == 1,
        "stderr should be exactly one line; {ctx}"
    );
    let prefix = format!("heaphound: error: {label}: ");
    assert!(
        out.stderr.starts_with(&prefix),
        "stderr should start with {prefix:?}; {ctx}"
    );
    let lower = out.stderr.to_lowercase();
    assert!(
        phrases.iter().any(|p| lower.contains(&p.to_lowercase())),
        "stderr should mention one of {phrases:?}; {ctx}"
    );
}

fn summary_of_file(name: &str, bytes: &[u8], phrases: &[&str]) -> Out {
    let p = write_file(name, bytes);
    let ps = p.to_str().unwrap();
    let out = run(&["summary", ps], None);
    let _ = std::fs::remove_file(&p);
    assert_bad(&out, ps, phrases);
    out
}

fn summary_of_stdin(bytes: &[u8], phrases: &[&str]) -> Out {
    let out = run(&["summary", "-"], Some(bytes));
    assert_bad(&out, "<stdin>", phrases);
    out
}

/// The in-process reader must refuse `bytes` with a one-line message.
fn reader_refuses(bytes: &[u8], what: &str) -> SnapshotError {
    match read_bytes(bytes) {
        Ok(g) => panic!(
            "{what}: read as a snapshot of {} nodes instead of failing",
            g.node_count()
        ),
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.contains('\n'), "{what}: multi-line message {msg:?}");
            e
        }
    }
}

// ---------------------------------------------------------------------------------------
// The real snapshot itself is fine (otherwise every other test proves nothing).

#[test]
fn real_snapshot_is_accepted() {
    let r = real();
    let p = r.path.to_str().unwrap();
    let out = run(&["summary", p], None);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(!out.stdout.is_empty());
    let out = run(&["summary", "-"], Some(&r.bytes));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let out = run(&["summary", "-"], Some(real_gz()));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let id = format!("@{}", r.present_id);
    let out = run(&["inspect", p, &id], None);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}

// ---------------------------------------------------------------------------------------
// Files that are not there or hold nothing

#[test]
fn empty_file() {
    summary_of_file("empty.heapsnapshot", b"", &["empty"]);
}

#[test]
fn empty_stdin() {
    summary_of_stdin(b"", &["empty"]);
}

#[test]
fn white_space_only() {
    summary_of_file(
        "blank.heapsnapshot",
        b" \n\n\t\r\n",
        &["no JSON (only whitespace)"],
    );
}

/// Megabytes of white space: read through, never "empty", on a file and on stdin.
#[test]
fn megabytes_of_white_space() {
    let blank: Vec<u8> = b" \n\t\r".iter().copied().cycle().take(4 << 20).collect();
    summary_of_file(
        "blank-4m.heapsnapshot",
        &blank,
        &["no JSON (only whitespace)"],
    );
    summary_of_stdin(&blank, &["no JSON (only whitespace)"]);
}

#[test]
fn missing_file() {
    let p = scratch().join("does-not-exist.heapsnapshot");
    let ps = p.to_str().unwrap();
    let out = run(&["summary", ps], None);
    assert_bad(&out, ps, &["no such file", "not found", "does not exist"]);
}

#[test]
fn directory() {
    let p = scratch().join("a-directory");
    std::fs::create_dir_all(&p).unwrap();
    let ps = p.to_str().unwrap();
    let out = run(&["summary", ps], None);
    assert_bad(&out, ps, &["directory"]);
}

// ---------------------------------------------------------------------------------------
// Truncation

/// Cut positions across the whole file, with extra ones at every section boundary.
fn cut_positions(b: &[u8]) -> Vec<usize> {
    let len = b.len();
    let mut cuts: Vec<usize> = (1..=40).map(|k| k * len / 41).collect();
    cuts.extend([1, 2, 10, 50, 200, 500]);
    for key in [
        "\"nodes\":",
        "\"edges\":",
        "\"trace_function_infos\":",
        "\"trace_tree\":",
        "\"samples\":",
        "\"locations\":",
        "\"strings\":",
    ] {
        let at = find(b, key.as_bytes());
        // Before the key, inside it, after the colon, after the '['.
        cuts.extend([
            at - 1,
            at,
            at + 1,
            at + 3,
            at + key.len(),
            at + key.len() + 1,
        ]);
    }
    // The end of the header object and the end of the "nodes" and "edges" arrays.
    let nodes = find(b, b"\"nodes\":");
    cuts.extend([nodes - 2, nodes - 3]);
    let edges = find(b, b"\"edges\":");
    cuts.extend([edges - 2, edges - 3, edges - 4]);
    // Inside a string escape in "strings": after '\', after "\u", after "\ud8".
    let strings = find(b, b"\"strings\":");
    let esc = find_from(b, b"\\u", strings);
    cuts.extend([esc + 1, esc + 2, esc + 4]);
    let quote = find_from(b, b"\\\"", strings);
    cuts.extend([quote + 1]);
    // Mid-number in "nodes" and "edges".
    let n = array_value(b, "nodes", 1000);
    cuts.push(n.start + 1);
    let e = array_value(b, "edges", 3001);
    cuts.push(e.start + 1);
    cuts.extend([len - 1, len - 2, len - 3, len - 10]);
    cuts.sort_unstable();
    cuts.dedup();
    cuts.retain(|&c| c > 0 && c < len);
    cuts
}

#[test]
fn truncated_in_process_at_many_positions() {
    let b = &real().bytes;
    let cuts = cut_positions(b);
    assert!(cuts.len() >= 60);
    let mut wrong = Vec::new();
    for &cut in &cuts {
        let e = reader_refuses(&b[..cut], &format!("cut at {cut}"));
        let msg = e.to_string();
        match e {
            SnapshotError::Truncated { offset, .. } if offset == cut as u64 => {}
            _ => wrong.push(format!("cut at {cut}: {msg}")),
        }
        if !msg.contains("truncated") {
            wrong.push(format!(
                "cut at {cut}: message does not say truncated: {msg}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn truncated_through_the_binary() {
    let r = real();
    let b = &r.bytes;
    let len = b.len();
    let strings = find(b, b"\"strings\":");
    let cuts = [
        ("header", 300),
        ("nodes", array_value(b, "nodes", 70).start + 1),
        ("edges", array_value(b, "edges", 5000).end),
        ("strings", (strings + len) / 2),
        ("one byte short", len - 1),
    ];
    for (name, cut) in cuts {
        let out = summary_of_file(
            &format!("cut-{}.heapsnapshot", name.replace(' ', "-")),
            &b[..cut],
            &["truncated"],
        );
        assert!(
            out.stderr.contains(&format!("byte {cut}")),
            "{name}: the offset {cut} should be named: {}",
            out.stderr
        );
    }
}

#[test]
fn truncated_on_stdin() {
    let b = &real().bytes;
    let cut = array_value(b, "edges", 9000).start + 1;
    let out = summary_of_stdin(&b[..cut], &["truncated"]);
    assert!(
        out.stderr.contains(&format!("byte {cut}")),
        "{}",
        out.stderr
    );
}

// ---------------------------------------------------------------------------------------
// Not a heap snapshot

const PACKAGE_JSON: &str = r#"{
  "name": "some-app",
  "version": "1.2.3",
  "description": "not a heap snapshot",
  "main": "index.js",
  "scripts": { "start": "node index.js", "test": "node --test" },
  "dependencies": { "express": "^4.19.2" },
  "license": "MIT"
}
"#;

#[test]
fn json_that_is_not_a_snapshot() {
    let cases: [(&str, &[u8]); 6] = [
        ("object", br#"{"name":"x"}"#),
        ("array", b"[1,2,3]"),
        ("package", PACKAGE_JSON.as_bytes()),
        ("empty-object", b"{}"),
        ("string", br#""a string""#),
        ("number", b"42\n"),
    ];
    for (name, bytes) in cases {
        reader_refuses(bytes, name);
        summary_of_file(
            &format!("json-{name}.json"),
            bytes,
            &["not a V8 heap snapshot", "not a heap snapshot"],
        );
    }
}

#[test]
fn json_that_is_not_a_snapshot_on_stdin() {
    summary_of_stdin(
        PACKAGE_JSON.as_bytes(),
        &["not a V8 heap snapshot", "not a heap snapshot"],
    );
}

#[test]
fn not_json() {
    let mut brace_noise = b"{".to_vec();
    brace_noise.extend(noise(4096, 7));
    let mut noise1 = noise(4096, 1);
    noise1[0] = b'#'; // not '{', not the gzip magic
    let cases: [(&str, &[u8], &[&str]); 4] = [
        (
            "random",
            &noise1,
            &["not a V8 heap snapshot", "not a heap snapshot"],
        ),
        (
            "text",
            b"hello, this is a text file\nwith two lines\n",
            &["not a V8 heap snapshot", "not a heap snapshot"],
        ),
        (
            "brace-then-random",
            &brace_noise,
            &["not a V8 heap snapshot", "invalid JSON"],
        ),
        (
            "cargo-toml",
            include_bytes!("../Cargo.toml"),
            &["not a V8 heap snapshot", "not a heap snapshot"],
        ),
    ];
    for (name, bytes, phrases) in cases {
        reader_refuses(bytes, name);
        summary_of_file(&format!("notjson-{name}"), bytes, phrases);
    }
}

// ---------------------------------------------------------------------------------------
// Header counts that disagree with the arrays

/// The message must quote the count the header really holds (not a derived number).
fn count_edit(key: &str, value: u64, file: &str) {
    let r = real();
    let bytes = replaced(&r.bytes, header_number(&r.bytes, key), &value.to_string());
    let out = summary_of_file(file, &bytes, &["header"]);
    assert!(
        out.stderr.contains(&value.to_string()),
        "the message should quote the header's {key} {value}: {}",
        out.stderr
    );
    reader_refuses(&bytes, file);
}

#[test]
fn header_node_count_too_large() {
    count_edit(
        "node_count",
        real().node_count + 1,
        "node-count-plus.heapsnapshot",
    );
}

#[test]
fn header_node_count_too_small() {
    count_edit(
        "node_count",
        real().node_count - 1,
        "node-count-minus.heapsnapshot",
    );
}

#[test]
fn header_edge_count_too_large() {
    count_edit(
        "edge_count",
        real().edge_count + 1,
        "edge-count-plus.heapsnapshot",
    );
}

#[test]
fn header_edge_count_too_small() {
    count_edit(
        "edge_count",
        real().edge_count - 1,
        "edge-count-minus.heapsnapshot",
    );
}

/// Counts so large that count × field count does not fit 64 bits.
#[test]
fn header_node_count_absurd() {
    count_edit(
        "node_count",
        3_000_000_000_000_000_000,
        "node-count-huge.heapsnapshot",
    );
}

#[test]
fn header_edge_count_absurd() {
    count_edit(
        "edge_count",
        9_000_000_000_000_000_000,
        "edge-count-huge.heapsnapshot",
    );
}

// ---------------------------------------------------------------------------------------
// Broken references inside the arrays

fn edit_edge_target(edge: u64, target: u64, file: &str, phrases: &[&str]) {
    let r = real();
    let at = array_value(&r.bytes, "edges", edge * r.ef() + r.edge_field("to_node"));
    let bytes = replaced(&r.bytes, at, &target.to_string());
    let e = reader_refuses(&bytes, file);
    assert!(
        matches!(e, SnapshotError::BadEdgeTarget { edge: x, target: t, .. } if x == edge && t == target),
        "{file}: {e}"
    );
    let out = summary_of_file(file, &bytes, phrases);
    assert!(
        out.stderr.contains(&format!("edge {edge} ")) && out.stderr.contains(&target.to_string()),
        "the message should name edge {edge} and index {target}: {}",
        out.stderr
    );
}

#[test]
fn edge_to_node_past_the_node_array() {
    let r = real();
    let past = r.node_count * r.nf();
    edit_edge_target(0, past, "edge-past-first.heapsnapshot", &["past the end"]);
    edit_edge_target(
        r.edge_count / 2,
        past + 7 * r.nf(),
        "edge-past-mid.heapsnapshot",
        &["past the end"],
    );
    edit_edge_target(
        r.edge_count - 1,
        u32::MAX as u64 * r.nf(),
        "edge-past-last.heapsnapshot",
        &["past the end"],
    );
}

#[test]
fn edge_to_node_not_a_multiple_of_the_node_field_count() {
    let r = real();
    edit_edge_target(
        1,
        r.nf() * 2 + 1,
        "edge-misaligned-first.heapsnapshot",
        &["not at the start of a node", "multiple"],
    );
    edit_edge_target(
        r.edge_count / 3,
        r.nf() * 100 + r.nf() - 1,
        "edge-misaligned-mid.heapsnapshot",
        &["not at the start of a node", "multiple"],
    );
}

#[test]
fn node_name_past_the_strings_array() {
    let r = real();
    let node = r.node_count / 2;
    let at = array_value(&r.bytes, "nodes", node * r.nf() + r.node_field("name"));
    let bytes = replaced(&r.bytes, at, &r.string_count.to_string());
    let e = reader_refuses(&bytes, "node name");
    assert!(
        matches!(e, SnapshotError::BadStringIndex { what: "node", index, string, count }
            if index == node && string == r.string_count && count == r.string_count),
        "{e}"
    );
    let out = summary_of_file("node-name-past.heapsnapshot", &bytes, &["string"]);
    assert!(
        out.stderr.contains(&format!("node {node} ")),
        "the message should name node {node}: {}",
        out.stderr
    );
}

#[test]
fn node_self_size_larger_than_any_object() {
    let r = real();
    let node = r.node_count / 3;
    let at = array_value(&r.bytes, "nodes", node * r.nf() + r.node_field("self_size"));
    let bytes = replaced(&r.bytes, at, &(1u64 << 62).to_string());
    let e = reader_refuses(&bytes, "self_size 2^62");
    assert!(
        matches!(e, SnapshotError::ImpossibleSize { node: n, size, .. }
            if n == node && size == 1 << 62),
        "{e}"
    );
    let out = summary_of_file("self-size-2-62.heapsnapshot", &bytes, &["self_size"]);
    assert!(
        out.stderr.contains(&format!("node {node} ")) && out.stderr.contains("4611686018427387904"),
        "the message should name node {node} and its size: {}",
        out.stderr
    );
}

/// A self size past 4 GiB (a big ArrayBuffer's backing store) is plausible: it is read,
/// counted as 4 GiB, and the user is told so.
#[test]
fn node_self_size_over_4_gib_is_read_and_noted() {
    let r = real();
    let node = r.node_count / 3;
    let at = array_value(&r.bytes, "nodes", node * r.nf() + r.node_field("self_size"));
    let bytes = replaced(&r.bytes, at, "5000000000");
    let p = write_file("self-size-5g.heapsnapshot", &bytes);
    let out = run(&["summary", p.to_str().unwrap()], None);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("1 object of over 4 GiB is counted as 4 GiB"),
        "{}",
        out.stderr
    );
    let quiet = run(&["-q", "summary", p.to_str().unwrap()], None);
    assert!(quiet.stderr.is_empty(), "{}", quiet.stderr);
}

// ---------------------------------------------------------------------------------------
// gzip

#[test]
fn gzip_header_then_garbage() {
    let mut bytes = vec![0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03];
    bytes.extend(noise(2048, 3));
    reader_refuses(&bytes, "gzip garbage");
    summary_of_file("garbage.heapsnapshot.gz", &bytes, &["gzip"]);
    // Just the two magic bytes.
    reader_refuses(&[0x1f, 0x8b], "gzip magic only");
    summary_of_file("magic-only.heapsnapshot.gz", &[0x1f, 0x8b], &["gzip"]);
}

#[test]
fn gzip_cut_in_half() {
    let gz = real_gz();
    let half = &gz[..gz.len() / 2];
    let e = reader_refuses(half, "gzip half");
    assert!(
        matches!(
            e,
            SnapshotError::CorruptGzip(_) | SnapshotError::Truncated { .. }
        ),
        "{e}"
    );
    summary_of_file("half.heapsnapshot.gz", half, &["truncated", "ends early"]);
    summary_of_stdin(half, &["truncated", "ends early"]);
}

#[test]
fn gzip_with_a_bad_checksum() {
    let mut gz = real_gz().to_vec();
    let n = gz.len();
    gz[n - 8] ^= 0xff; // CRC32 of the trailer
    reader_refuses(&gz, "gzip crc");
    summary_of_file("badcrc.heapsnapshot.gz", &gz, &["gzip"]);
}

#[test]
fn gzip_cut_in_process_at_many_positions() {
    let gz = real_gz();
    let len = gz.len();
    let mut cuts: Vec<usize> = (1..=30).map(|k| k * len / 31).collect();
    // Inside the 10-byte header and the 8-byte trailer.
    cuts.extend([2, 3, 5, 9, 10, 11, 20]);
    cuts.extend((1..=8).map(|k| len - k));
    cuts.sort_unstable();
    cuts.dedup();
    for cut in cuts {
        let e = reader_refuses(&gz[..cut], &format!("gzip cut at {cut}/{len}"));
        let msg = e.to_string();
        assert!(
            matches!(
                e,
                SnapshotError::CorruptGzip(_) | SnapshotError::Truncated { .. }
            ),
            "gzip cut at {cut}/{len}: {msg}"
        );
    }
}

/// A valid gzip snapshot on stdin whose first read returns a single byte (a slow pipe): it
/// must be read, not refused as "not a V8 heap snapshot".
#[test]
fn gzip_on_stdin_arriving_in_small_pieces() {
    let gz = real_gz();
    let pieces = vec![gz[..1].to_vec(), gz[1..].to_vec()];
    let out = run_pieces(&["summary", "-"], Some(pieces));
    assert_eq!(out.code, Some(0), "{}: {}", out.what, out.stderr);
    assert!(!out.stdout.is_empty());
    // The same file cut in half, arriving the same way, must be called damaged gzip.
    let half = &gz[..gz.len() / 2];
    let pieces = vec![half[..1].to_vec(), half[1..].to_vec()];
    let out = run_pieces(&["summary", "-"], Some(pieces));
    assert_bad(&out, "<stdin>", &["truncated", "ends early"]);
}

/// A complete gzip stream of a cut snapshot: the JSON is what is truncated.
#[test]
fn gzip_of_a_truncated_snapshot() {
    let b = &real().bytes;
    let cut = array_value(b, "edges", 777).start + 1;
    let gz = gzip(&b[..cut]);
    let e = reader_refuses(&gz, "gzip of truncated");
    assert!(
        matches!(e, SnapshotError::Truncated { offset, .. } if offset == cut as u64),
        "{e}"
    );
    let out = summary_of_file("cut.heapsnapshot.gz", &gz, &["truncated"]);
    assert!(
        out.stderr.contains(&format!("byte {cut}")),
        "{}",
        out.stderr
    );
}

// ---------------------------------------------------------------------------------------
// Object ids

#[test]
fn retainers_with_a_malformed_id() {
    let p = real().path.to_str().unwrap();
    let out = run(&["retainers", p, "@abc"], None);
    assert_bad(&out, p, &["not an object id"]);
}

#[test]
fn inspect_with_a_malformed_id() {
    let p = real().path.to_str().unwrap();
    let out = run(&["inspect", p, "@abc"], None);
    assert_bad(&out, p, &["not an object id"]);
}

#[test]
fn retainers_with_a_malformed_id_on_stdin() {
    let out = run(&["retainers", "-", "@12x"], Some(&real().bytes));
    assert_bad(&out, "<stdin>", &["not an object id"]);
}

#[test]
fn inspect_with_an_id_that_does_not_exist() {
    let r = real();
    let p = r.path.to_str().unwrap();
    let id = format!("@{}", r.missing_id);
    let out = run(&["inspect", p, &id], None);
    assert_bad(&out, p, &["no object with id"]);
    assert!(out.stderr.contains(&id), "{}", out.stderr);
}

#[test]
fn retainers_with_an_id_that_does_not_exist() {
    let r = real();
    let p = r.path.to_str().unwrap();
    let id = format!("@{}", r.missing_id);
    let out = run(&["retainers", p, &id], None);
    assert_bad(&out, p, &["no object with id"]);
    let out = run(&["retainers", "-", &id], Some(real_gz()));
    assert_bad(&out, "<stdin>", &["no object with id"]);
}

#[test]
fn bad_file_wins_over_bad_id() {
    let p = write_file("empty-for-ids.heapsnapshot", b"");
    let ps = p.to_str().unwrap();
    let out = run(&["inspect", ps, "@abc"], None);
    assert_bad(&out, ps, &["empty", "not an object id"]);
}
