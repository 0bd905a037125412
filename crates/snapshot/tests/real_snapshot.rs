//! A snapshot Node itself writes, big enough that a mapped file's arrays are split across
//! threads: every way of reading it must build the same graph.

use std::path::{Path, PathBuf};
use std::process::Command;

use heaphound_snapshot::{read_path, read_reader, HeapGraph};

/// Writes a heap of about a million nodes (nodes and edges arrays of tens of MB each).
fn write_snapshot(dir: &Path) -> PathBuf {
    let path = dir.join("big.heapsnapshot");
    let script = r#"
        const v8 = require('v8');
        const keep = new Map();
        for (let i = 0; i < 150000; i++) {
            keep.set('k' + i, { id: i, name: 'item ' + i, tags: [i, i * 2], next: null });
        }
        // Long flat strings (joined, not concatenated), which a mapped file keeps in place
        // unless they hold escapes.
        const long = [];
        for (let i = 0; i < 10000; i++) {
            long.push(['a long string that is kept in the file, number ', i, ' '.repeat(250 + i % 90)].join(''));
            long.push(['one with "quotes" and a\nnewline, which is copied, number ', i, '.'.repeat(250 + i % 70)].join(''));
            long.push(['non-ASCII text, é and 😀, number ', i, '-'.repeat(64)].join(''));
        }
        keep.set('long', long);
        v8.writeHeapSnapshot(process.argv[1]);
    "#;
    let status = Command::new("node")
        .args(["-e", script, path.to_str().expect("utf-8 path")])
        .status()
        .expect("node runs");
    assert!(status.success(), "node failed to write the snapshot");
    path
}

fn assert_same(a: &HeapGraph, b: &HeapGraph, what: &str) {
    assert_eq!(a.node_count(), b.node_count(), "{what}: nodes");
    assert_eq!(a.edge_count(), b.edge_count(), "{what}: edges");
    assert!(a.node_type == b.node_type, "{what}: node types");
    assert!(a.node_name == b.node_name, "{what}: node names");
    assert!(a.node_id == b.node_id, "{what}: node ids");
    assert!(a.node_self_size == b.node_self_size, "{what}: self sizes");
    assert!(a.first_edge == b.first_edge, "{what}: edge offsets");
    assert!(
        a.node_detachedness == b.node_detachedness,
        "{what}: detachedness"
    );
    assert!(a.edge_type == b.edge_type, "{what}: edge types");
    assert!(a.edge_name == b.edge_name, "{what}: edge names");
    assert!(a.edge_to == b.edge_to, "{what}: edge targets");
    assert_eq!(a.strings.len(), b.strings.len(), "{what}: strings");
    assert!(
        (0..a.strings.len() as u32).any(|i| a
            .strings
            .bytes(i)
            .starts_with(b"one with \"quotes\" and a\nnewline")),
        "{what}: the escaped long strings are decoded"
    );
    assert!(
        (0..a.strings.len() as u32).all(|i| a.strings.bytes(i) == b.strings.bytes(i)),
        "{what}: string text"
    );
    assert_eq!(a.locations, b.locations, "{what}: locations");
    assert_eq!(a.root, b.root, "{what}: root");
}

#[test]
fn a_big_real_snapshot_reads_the_same_mapped_streamed_and_gzipped() {
    let dir = std::env::temp_dir().join(format!("heaphound-real-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = write_snapshot(&dir);

    let mapped = read_path(&path, &mut |_| {}).expect("mapped read");
    // More than PARALLEL_MIN (4 MiB) of text in each array, so a machine with two cores
    // parses both on two threads.
    assert!(
        mapped.node_count() > 600_000,
        "{} nodes",
        mapped.node_count()
    );

    let file = std::fs::File::open(&path).expect("open");
    let streamed = read_reader(file, None, &mut |_| {}).expect("streamed read");
    assert_same(&mapped, &streamed, "mapped vs streamed");
    // The long strings without escapes were left in the file, not copied.
    let (m, s) = (mapped.strings.heap_bytes(), streamed.strings.heap_bytes());
    assert!(
        m + 1_000_000 < s,
        "string table: {m} bytes mapped, {s} streamed"
    );

    let gz = dir.join("big.heapsnapshot.gz");
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "gzip -1 -c '{}' > '{}'",
            path.display(),
            gz.display()
        ))
        .status()
        .expect("gzip runs");
    assert!(status.success());
    let gzipped = read_path(&gz, &mut |_| {}).expect("gzip read");
    assert_same(&mapped, &gzipped, "mapped vs gzip");
    let _ = std::fs::remove_dir_all(&dir);
}
