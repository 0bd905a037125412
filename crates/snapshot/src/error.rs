use thiserror::Error;

/// Everything that can be wrong with a heap snapshot input. Byte offsets count bytes of the
/// decompressed JSON text, so they point at the same place a text editor would.
#[derive(Debug, Error)]
pub enum SnapshotError {
    #[error("cannot read input: {0}")]
    Io(#[from] std::io::Error),

    #[error("corrupt gzip data: {0}")]
    CorruptGzip(String),

    #[error("the file is empty")]
    Empty,

    /// Bytes, but none of them JSON: spaces, tabs and line breaks only.
    #[error("no JSON (only whitespace)")]
    OnlyWhitespace,

    #[error("not a V8 heap snapshot: {0}")]
    NotASnapshot(String),

    #[error("truncated at byte {offset} while reading {context}")]
    Truncated { offset: u64, context: &'static str },

    /// Another process truncated the file while it was mapped.
    #[error("truncated while it was being read: the file shrank from {was} to {now} bytes")]
    ShrankWhileRead { was: u64, now: u64 },

    #[error("invalid JSON at byte {offset} in {context}: {message}")]
    Syntax {
        offset: u64,
        context: &'static str,
        message: String,
    },

    #[error(
        "node {node} (@{id}) has self_size {size}, more than any object can have ({max} bytes)"
    )]
    ImpossibleSize {
        node: u64,
        id: u64,
        size: u64,
        max: u64,
    },

    #[error("unsupported snapshot layout: {0}")]
    Layout(String),

    #[error("{what}: the header says {expected} but the file has {found}")]
    CountMismatch {
        what: &'static str,
        expected: u64,
        found: u64,
    },

    #[error("edge {edge} points to node index {target}, which is {reason}")]
    BadEdgeTarget {
        edge: u64,
        target: u64,
        reason: &'static str,
    },

    #[error("{what} {index} names string {string}, but the file has only {count} strings")]
    BadStringIndex {
        what: &'static str,
        index: u64,
        string: u64,
        count: u64,
    },

    #[error("{what} {index} has type {value}, but the header lists only {count} types")]
    BadType {
        what: &'static str,
        index: u64,
        value: u64,
        count: u64,
    },
}
