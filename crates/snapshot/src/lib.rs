//! Reads V8 heap snapshots (`.heapsnapshot`, optionally gzip-compressed) into a compact
//! struct-of-arrays graph. No printing, no network, no async: bytes in, `HeapGraph` out.

mod error;
mod graph;
mod reader;
mod scanner;
mod strings;

use std::cell::Cell;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

pub use error::SnapshotError;
pub use graph::{EdgeKind, HeapGraph, Location, Meta, NodeKind, TraceFunction, TraceTree};
pub use strings::{utf16_len, Strings};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// How far reading has come: bytes taken from the source (compressed bytes for gzip input)
/// and, when known, the source's total size.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub done: u64,
    pub total: Option<u64>,
}

/// Counts the bytes the source hands out, so progress is measured on the file itself.
struct Counting<'c, R> {
    inner: R,
    count: &'c Cell<u64>,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// Reads a snapshot from a file; gzip is recognised by its magic bytes, not the file name.
pub fn read_path(
    path: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<HeapGraph, SnapshotError> {
    let file = File::open(path)?;
    let total = file.metadata().ok().map(|m| m.len());
    read_source(file, total, progress)
}

/// Reads a snapshot from any byte source (stdin, a socket); gzip is detected.
pub fn read_reader<R: Read>(
    reader: R,
    total: Option<u64>,
    progress: &mut dyn FnMut(Progress),
) -> Result<HeapGraph, SnapshotError> {
    read_source(reader, total, progress)
}

fn read_source<R: Read>(
    source: R,
    total: Option<u64>,
    progress: &mut dyn FnMut(Progress),
) -> Result<HeapGraph, SnapshotError> {
    let count = Cell::new(0u64);
    let mut buffered = BufReader::with_capacity(
        1 << 16,
        Counting {
            inner: source,
            count: &count,
        },
    );
    let head = buffered.fill_buf()?;
    let gzip = head.starts_with(&GZIP_MAGIC);
    let mut tick = || {
        progress(Progress {
            done: count.get(),
            total,
        })
    };
    if gzip {
        let decoder = flate2::bufread::MultiGzDecoder::new(buffered);
        // The decompressed size is unknown; a compressed file is typically 5-10x smaller.
        reader::parse(decoder, total.map(|t| t.saturating_mul(20)), &mut tick)
    } else {
        reader::parse(buffered, total, &mut tick)
    }
}

/// Reads a snapshot held in memory (tests, small inputs).
pub fn read_bytes(bytes: &[u8]) -> Result<HeapGraph, SnapshotError> {
    read_source(bytes, Some(bytes.len() as u64), &mut |_| {})
}
