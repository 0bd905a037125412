//! Reads V8 heap snapshots (`.heapsnapshot`, optionally gzip-compressed) into a compact
//! struct-of-arrays graph. No printing, no network, no async: bytes in, `HeapGraph` out.

mod arrays;
pub mod column;
mod error;
mod graph;
mod mapped;
mod pipe;
mod reader;
mod scanner;
mod strings;
mod survey;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use mapped::Mapped;

pub use error::SnapshotError;
pub use graph::{
    EdgeKind, HeapGraph, Location, Meta, NodeKind, NodeOrdinal, TraceFunction, TraceTree,
};
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
    count: &'c AtomicU64,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Reads a snapshot from a file; gzip is recognised by its magic bytes, not the file name.
/// Plain files are memory-mapped and their big arrays parsed on two threads; parsed pages
/// are handed back to the OS as the parser moves on, so the file does not add to the
/// process's resident memory on top of the graph. Anything that is not a regular file (a
/// pipe, `<(…)`, a device) is read as a stream, as stdin is: it cannot be mapped or sized.
pub fn read_path(
    path: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<HeapGraph, SnapshotError> {
    let mut file = File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return read_source(file, None, progress);
    }
    let total = meta.len();
    let mut magic = [0u8; 2];
    let got = read_up_to(&mut file, &mut magic)?;
    if got == 0 {
        return Err(SnapshotError::Empty);
    }
    let map = if got == 2 && magic == GZIP_MAGIC {
        None
    } else {
        // A file that cannot be mapped safely is read like compressed input: a stream.
        Mapped::open(&file).ok().flatten()
    };
    let Some(map) = map else {
        use std::io::{Seek, SeekFrom};
        file.seek(SeekFrom::Start(0))?;
        return read_source(file, Some(total), progress);
    };
    // The graph keeps the map for the long strings it leaves in the file, so it is mapped
    // for as long as the graph lives.
    let map = std::sync::Arc::new(map);
    let _ = map.map().advise(memmap2::Advice::Sequential);
    let done = AtomicU64::new(0);
    let release = |offset: usize, len: usize| {
        // SAFETY: dropping pages of a read-only file mapping only makes later reads of
        // them fault the same bytes back in from the file.
        unsafe {
            let _ =
                map.map()
                    .unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, offset, len);
        }
    };
    let plan = arrays::Plan {
        threads: std::env::var("HEAPHOUND_THREADS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get().min(2))),
        window: arrays::Window {
            done: &done,
            release: &release,
        },
    };
    let mut tick = || {
        progress(Progress {
            done: done.load(Ordering::Relaxed),
            total: Some(total),
        })
    };
    let parsed = reader::parse_memory(&map, &mut tick, &plan, Some(map.clone()));
    // Whatever the parser made of pages that read as zeros, a file cut while it was read is
    // truncated; so is one cut after the parse, as the graph reads its long strings there.
    let now = file.metadata().map_or(0, |m| m.len());
    if map.cut() || now < map.len() as u64 {
        return Err(SnapshotError::ShrankWhileRead {
            was: map.len() as u64,
            now,
        });
    }
    let graph = parsed?;
    // The graph keeps the map for its long strings: what the parse left resident (small
    // sections, the last stretch of each array) is handed back too, and from now on strings
    // are read here and there, not front to back.
    release(0, map.len());
    let _ = map.map().advise(memmap2::Advice::Normal);
    progress(Progress {
        done: total,
        total: Some(total),
    });
    Ok(graph)
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read(&mut buf[got..])? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
}

/// Reads a snapshot from any byte source (stdin, a socket); gzip is detected.
pub fn read_reader<R: Read + Send>(
    reader: R,
    total: Option<u64>,
    progress: &mut dyn FnMut(Progress),
) -> Result<HeapGraph, SnapshotError> {
    read_source(reader, total, progress)
}

fn read_source<R: Read + Send>(
    source: R,
    total: Option<u64>,
    progress: &mut dyn FnMut(Progress),
) -> Result<HeapGraph, SnapshotError> {
    let count = AtomicU64::new(0);
    let mut counted = Counting {
        inner: source,
        count: &count,
    };
    // A pipe may deliver one byte at a time: read until the two magic bytes are known.
    let mut head = [0u8; 2];
    let mut got = 0;
    while got < 2 {
        match counted.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    if got == 0 {
        return Err(SnapshotError::Empty);
    }
    let gzip = got == 2 && head == GZIP_MAGIC;
    let buffered = BufReader::with_capacity(1 << 16, (&head[..got]).chain(counted));
    let mut tick = || {
        progress(Progress {
            done: count.load(Ordering::Relaxed),
            total,
        })
    };
    if gzip {
        // Decompression runs on its own thread, so it overlaps with parsing.
        let decoder = flate2::bufread::MultiGzDecoder::new(buffered);
        std::thread::scope(|s| {
            let (reader, worker) = pipe::spawn(s, decoder);
            let r = reader::parse(reader, total.map(|t| t.saturating_mul(20)), &mut tick);
            drop(worker);
            r
        })
    } else {
        reader::parse(buffered, total, &mut tick)
    }
}

/// Reads a snapshot held in memory (tests, small inputs).
pub fn read_bytes(bytes: &[u8]) -> Result<HeapGraph, SnapshotError> {
    read_source(bytes, Some(bytes.len() as u64), &mut |_| {})
}
