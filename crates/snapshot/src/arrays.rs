//! The hot path: the `nodes` and `edges` integer arrays, most of a snapshot's bytes.
//!
//! One resumable kernel turns `12,0,3\n,4…` into values and hands them to a sink that
//! writes struct-of-arrays columns by index. Streaming input feeds it buffer by buffer;
//! a memory-mapped file is split at a record boundary and parsed on two threads.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::SnapshotError;
use crate::survey::Survey;

type Result<T> = std::result::Result<T, SnapshotError>;

/// Why a sink refused a value.
pub(crate) enum Refused {
    Error(SnapshotError),
}

/// Takes an array's values in order. Values beyond the sink's room are counted, not
/// stored, so a header that undercounts is reported with the real count.
pub(crate) trait Sink {
    fn put(&mut self, v: u64) -> std::result::Result<(), Refused>;
    /// Values taken so far, stored or not.
    fn written(&self) -> u64;
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Just after `[`: a value or the end.
    Start,
    InNumber,
    AfterNumber,
    AfterComma,
}

/// Parses unsigned integers separated by commas and white space, across any number of
/// `feed` calls. Never sees the closing `]`: callers cut the input before it.
pub(crate) struct Kernel {
    state: State,
    cur: u64,
    digits: u32,
    context: &'static str,
}

impl Kernel {
    pub fn new(context: &'static str) -> Kernel {
        Kernel {
            state: State::Start,
            cur: 0,
            digits: 0,
            context,
        }
    }

    /// A kernel for the second part of a split array, which starts after a comma.
    pub fn after_comma(context: &'static str) -> Kernel {
        Kernel {
            state: State::AfterComma,
            ..Kernel::new(context)
        }
    }

    fn syntax(&self, offset: u64, message: String) -> SnapshotError {
        SnapshotError::Syntax {
            offset,
            context: self.context,
            message,
        }
    }

    #[inline(always)]
    fn emit<S: Sink>(&self, sink: &mut S, v: u64) -> Result<()> {
        match sink.put(v) {
            Ok(()) => Ok(()),
            Err(Refused::Error(e)) => Err(e),
        }
    }

    /// Parses `bytes`, which start at absolute offset `base`.
    pub fn feed<S: Sink>(&mut self, bytes: &[u8], base: u64, sink: &mut S) -> Result<()> {
        let n = bytes.len();
        let mut i = 0;
        let mut state = self.state;
        let mut cur = self.cur;
        let mut digits = self.digits;
        while i < n {
            // Fast path for V8's layout, `12,0,3\n,4`: a whole number and its separator,
            // far enough from the end that no bounds matter. Anything else falls through
            // to the general state machine below.
            if matches!(state, State::Start | State::AfterComma) && i + 32 <= n {
                let start = i;
                let mut v: u64 = 0;
                loop {
                    let d = bytes[i].wrapping_sub(b'0');
                    if d >= 10 {
                        break;
                    }
                    if i - start == 19 {
                        return Err(self.syntax(base + i as u64, "number too large".into()));
                    }
                    v = v * 10 + d as u64;
                    i += 1;
                }
                if i > start {
                    self.emit(sink, v)?;
                    match bytes[i] {
                        b',' => {
                            i += 1;
                            state = State::AfterComma;
                        }
                        b'\n' if bytes[i + 1] == b',' => {
                            i += 2;
                            state = State::AfterComma;
                        }
                        _ => state = State::AfterNumber,
                    }
                    continue;
                }
            }
            let b = bytes[i];
            let d = b.wrapping_sub(b'0');
            if d < 10 {
                if state == State::AfterNumber {
                    return Err(self.syntax(base + i as u64, "missing ',' between numbers".into()));
                }
                if state != State::InNumber {
                    cur = 0;
                    digits = 0;
                }
                cur = cur * 10 + d as u64;
                digits += 1;
                i += 1;
                // The rest of the number, without going back through the state checks.
                while i < n {
                    let d = bytes[i].wrapping_sub(b'0');
                    if d >= 10 {
                        break;
                    }
                    cur = cur.wrapping_mul(10).wrapping_add(d as u64);
                    digits += 1;
                    i += 1;
                }
                if digits > 19 {
                    return Err(self.syntax(base + i as u64, "number too large".into()));
                }
                if i == n {
                    state = State::InNumber;
                    break;
                }
                self.emit(sink, cur)?;
                state = State::AfterNumber;
                continue;
            }
            match b {
                b',' => {
                    if state == State::InNumber {
                        self.emit(sink, cur)?;
                    } else if state != State::AfterNumber {
                        return Err(self.syntax(base + i as u64, "unexpected ','".into()));
                    }
                    state = State::AfterComma;
                }
                b' ' | b'\n' | b'\r' | b'\t' => {
                    if state == State::InNumber {
                        self.emit(sink, cur)?;
                        state = State::AfterNumber;
                    }
                }
                _ => {
                    return Err(self.syntax(
                        base + i as u64,
                        format!("expected an unsigned integer, found {}", describe(b)),
                    ))
                }
            }
            i += 1;
        }
        self.state = state;
        self.cur = cur;
        self.digits = digits;
        Ok(())
    }

    /// The array ended (at `]`, absolute offset `at`).
    pub fn finish<S: Sink>(&mut self, sink: &mut S, at: u64) -> Result<()> {
        match self.state {
            State::InNumber => {
                let v = self.cur;
                self.state = State::AfterNumber;
                self.emit(sink, v)
            }
            State::AfterComma => Err(self.syntax(at, "trailing ','".into())),
            State::Start | State::AfterNumber => Ok(()),
        }
    }

    /// The first part of a split array must end just after a comma.
    fn finish_part(&self, at: u64) -> Result<()> {
        if self.state == State::AfterComma {
            Ok(())
        } else {
            Err(self.syntax(at, "internal split error".into()))
        }
    }
}

fn describe(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}

/// Where each node field goes.
#[derive(Clone, Copy)]
pub(crate) enum NodeSlot {
    Type,
    Name,
    Id,
    SelfSize,
    EdgeCount,
    TraceNodeId,
    Detachedness,
    Ignore,
}

/// Most values a record may have; V8 writes 6 or 7 node fields and 3 edge fields.
pub(crate) const MAX_FIELDS: usize = 16;

/// Position of each node field within a record.
#[derive(Clone, Copy)]
pub(crate) struct NodePos {
    ty: usize,
    name: usize,
    id: usize,
    size: usize,
    edges: usize,
    trace: Option<usize>,
    detached: Option<usize>,
}

impl NodePos {
    /// None when a required field is missing (the header check reports which).
    pub fn new(slots: &[NodeSlot]) -> Option<NodePos> {
        let at = |want: fn(&NodeSlot) -> bool| slots.iter().position(want);
        Some(NodePos {
            ty: at(|s| matches!(s, NodeSlot::Type))?,
            name: at(|s| matches!(s, NodeSlot::Name))?,
            id: at(|s| matches!(s, NodeSlot::Id))?,
            size: at(|s| matches!(s, NodeSlot::SelfSize))?,
            edges: at(|s| matches!(s, NodeSlot::EdgeCount))?,
            trace: at(|s| matches!(s, NodeSlot::TraceNodeId)),
            detached: at(|s| matches!(s, NodeSlot::Detachedness)),
        })
    }
}

/// Node columns for a run of records, written by index. Values gather into one record,
/// which is then stored with straight-line code.
pub(crate) struct NodeSink<'c> {
    pub slots: &'c [NodeSlot],
    pub pos: NodePos,
    pub type_count: u64,
    /// Record index of `types[0]` in the whole array, for error messages.
    pub first_record: u64,
    pub types: &'c mut [u8],
    pub names: &'c mut [u32],
    pub ids: &'c mut [u32],
    pub sizes: &'c mut [u32],
    pub edge_counts: &'c mut [u32],
    pub trace: &'c mut [u32],
    pub detached: &'c mut [u8],
    pub rec: usize,
    pub field: usize,
    pub buf: [u64; MAX_FIELDS],
    /// Values past the end of the columns (the header undercounted).
    pub extra: u64,
    pub clamped: u64,
    pub any_trace: bool,
}

/// No object is larger than the largest ArrayBuffer V8 allows (2^53 − 1 bytes, also the
/// largest integer a JavaScript number holds exactly): a bigger self size is corrupt data,
/// and clamping it would pass a made-up number off as a measurement.
const MAX_SELF_SIZE: u64 = (1 << 53) - 1;

fn fits_u32(v: u64, what: &'static str) -> std::result::Result<u32, Refused> {
    u32::try_from(v).map_err(|_| {
        Refused::Error(SnapshotError::Layout(format!(
            "{what} {v} does not fit 32 bits"
        )))
    })
}

impl NodeSink<'_> {
    #[inline(always)]
    fn store(&mut self) -> std::result::Result<(), Refused> {
        let r = self.rec;
        self.rec += 1;
        if r >= self.types.len() {
            self.extra += self.slots.len() as u64;
            return Ok(());
        }
        let b = &self.buf;
        let p = self.pos;
        let ty = b[p.ty];
        if ty >= self.type_count {
            return Err(Refused::Error(SnapshotError::BadType {
                what: "node",
                index: self.first_record + r as u64,
                value: ty,
                count: self.type_count,
            }));
        }
        self.types[r] = ty as u8;
        self.names[r] = fits_u32(b[p.name], "a node name index")?;
        self.ids[r] = fits_u32(b[p.id], "a node id")?;
        let size = b[p.size];
        if size > u32::MAX as u64 {
            if size > MAX_SELF_SIZE {
                return Err(Refused::Error(SnapshotError::ImpossibleSize {
                    node: self.first_record + r as u64,
                    id: b[p.id],
                    size,
                    max: MAX_SELF_SIZE,
                }));
            }
            self.clamped += 1;
        }
        self.sizes[r] = size.min(u32::MAX as u64) as u32;
        self.edge_counts[r] = fits_u32(b[p.edges], "an edge count")?;
        if let Some(t) = p.trace {
            self.any_trace |= b[t] != 0;
            self.trace[r] = fits_u32(b[t], "a trace node id")?;
        }
        if let Some(d) = p.detached {
            self.detached[r] = b[d].min(255) as u8;
        }
        Ok(())
    }
}

impl Sink for NodeSink<'_> {
    #[inline(always)]
    fn put(&mut self, v: u64) -> std::result::Result<(), Refused> {
        self.buf[self.field] = v;
        self.field += 1;
        if self.field == self.slots.len() {
            self.field = 0;
            return self.store();
        }
        Ok(())
    }

    fn written(&self) -> u64 {
        let stored = self.rec.min(self.types.len());
        (stored * self.slots.len() + self.field) as u64 + self.extra
    }
}

#[derive(Clone, Copy)]
pub(crate) enum EdgeSlot {
    Type,
    Name,
    To,
    Ignore,
}

#[derive(Clone, Copy)]
pub(crate) struct EdgePos {
    ty: usize,
    name: usize,
    to: usize,
}

impl EdgePos {
    pub fn new(slots: &[EdgeSlot]) -> Option<EdgePos> {
        let at = |want: fn(&EdgeSlot) -> bool| slots.iter().position(want);
        Some(EdgePos {
            ty: at(|s| matches!(s, EdgeSlot::Type))?,
            name: at(|s| matches!(s, EdgeSlot::Name))?,
            to: at(|s| matches!(s, EdgeSlot::To))?,
        })
    }
}

pub(crate) struct EdgeSink<'c> {
    pub slots: &'c [EdgeSlot],
    pub pos: EdgePos,
    pub type_count: u64,
    pub node_fields: u64,
    pub node_count: u64,
    pub first_record: u64,
    pub types: &'c mut [u8],
    pub names: &'c mut [u32],
    pub to: &'c mut [u32],
    pub rec: usize,
    pub field: usize,
    pub buf: [u64; MAX_FIELDS],
    pub extra: u64,
}

impl EdgeSink<'_> {
    #[cold]
    fn bad_target(&self, r: usize, v: u64) -> Refused {
        let reason = if !v.is_multiple_of(self.node_fields) {
            "not at the start of a node record"
        } else {
            "past the end of the node array"
        };
        Refused::Error(SnapshotError::BadEdgeTarget {
            edge: self.first_record + r as u64,
            target: v,
            reason,
        })
    }

    #[inline(always)]
    fn store(&mut self) -> std::result::Result<(), Refused> {
        let r = self.rec;
        self.rec += 1;
        if r >= self.types.len() {
            self.extra += self.slots.len() as u64;
            return Ok(());
        }
        let p = self.pos;
        let ty = self.buf[p.ty];
        if ty >= self.type_count {
            return Err(Refused::Error(SnapshotError::BadType {
                what: "edge",
                index: self.first_record + r as u64,
                value: ty,
                count: self.type_count,
            }));
        }
        self.types[r] = ty as u8;
        self.names[r] = fits_u32(self.buf[p.name], "an edge name")?;
        let v = self.buf[p.to];
        // Constant divisors let the compiler turn the division into a multiply.
        let nf = self.node_fields;
        let (q, rem) = match nf {
            6 => (v / 6, v % 6),
            7 => (v / 7, v % 7),
            _ => (v / nf, v % nf),
        };
        if rem != 0 || q >= self.node_count {
            return Err(self.bad_target(r, v));
        }
        self.to[r] = q as u32;
        Ok(())
    }
}

impl Sink for EdgeSink<'_> {
    #[inline(always)]
    fn put(&mut self, v: u64) -> std::result::Result<(), Refused> {
        self.buf[self.field] = v;
        self.field += 1;
        if self.field == self.slots.len() {
            self.field = 0;
            return self.store();
        }
        Ok(())
    }

    fn written(&self) -> u64 {
        let stored = self.rec.min(self.types.len());
        (stored * self.slots.len() + self.field) as u64 + self.extra
    }
}

/// Which array is being parsed: for messages, and the record layout.
#[derive(Clone, Copy)]
pub(crate) struct ArraySpec {
    pub context: &'static str,
    pub fields: usize,
    pub records: usize,
}

/// How the big arrays are read: threads to use, and the hooks for a mapped input.
pub(crate) struct Plan<'w> {
    pub threads: usize,
    pub window: Window<'w>,
}

/// Releases parsed parts of a memory-mapped input, and counts progress.
pub(crate) struct Window<'a> {
    pub done: &'a AtomicU64,
    pub release: &'a (dyn Fn(usize, usize) + Sync),
}

/// Bytes parsed between progress updates and page releases.
const WINDOW: usize = 16 << 20;

/// Parses `body` (the text between `[` and `]`, starting at absolute `base`) in windows,
/// releasing each window's pages once parsed.
fn parse_run<S: Sink>(
    kernel: &mut Kernel,
    body: &[u8],
    base: usize,
    sink: &mut S,
    win: &Window,
) -> Result<()> {
    let mut at = 0;
    while at < body.len() {
        let end = (at + WINDOW).min(body.len());
        kernel.feed(&body[at..end], (base + at) as u64, sink)?;
        (win.release)(base + at, end - at);
        win.done.fetch_add((end - at) as u64, Ordering::Relaxed);
        at = end;
    }
    Ok(())
}

/// Values before which the array can be cut: the count of commas in `bytes`.
pub(crate) fn count_commas(bytes: &[u8]) -> u64 {
    // Byte-wide counters over 255-byte chunks cannot overflow and let the compiler use
    // full-width vector compares.
    bytes
        .chunks(255)
        .map(|c| c.iter().fold(0u8, |n, &b| n + (b == b',') as u8) as u64)
        .sum()
}

/// Below this, a second thread costs more than it saves.
const PARALLEL_MIN: usize = 4 << 20;

/// Parses a whole array held in memory. `make_sink(first_record, records)` builds a sink
/// over that run of records; with two threads the array is cut at a record boundary that
/// `survey` (of this array) finds.
pub(crate) fn parse_split<S, F>(
    body: &[u8],
    base: usize,
    array: ArraySpec,
    plan: &Plan,
    survey: Option<&Survey>,
    make_sinks: F,
) -> Result<(S, Option<S>)>
where
    S: Sink + Send,
    F: FnOnce(Option<usize>) -> (S, Option<S>),
{
    let ArraySpec {
        context,
        fields,
        records,
    } = array;
    let (threads, win) = (plan.threads, &plan.window);
    let cut = survey
        .filter(|_| threads > 1 && body.len() >= PARALLEL_MIN)
        .and_then(|s| s.cut(body, fields));
    // A cut past the columns' end means the header undercounts: parse on one thread and
    // let the sink count the surplus.
    let cut = cut.filter(|&(_, values)| values / fields as u64 <= records as u64);
    let split_record = cut.map(|(_, values)| (values / fields as u64) as usize);
    let (mut first, second) = make_sinks(split_record);
    match (cut, second) {
        (Some((pos, _)), Some(mut second)) => {
            let (a, b) = body.split_at(pos + 1);
            let r = std::thread::scope(|s| {
                let h = s.spawn(|| {
                    let mut k = Kernel::after_comma(context);
                    parse_run(&mut k, b, base + pos + 1, &mut second, win)?;
                    k.finish(&mut second, (base + body.len()) as u64)?;
                    Ok::<_, SnapshotError>(second)
                });
                let mut k = Kernel::new(context);
                let ra = parse_run(&mut k, a, base, &mut first, win)
                    .and_then(|_| k.finish_part((base + pos) as u64));
                let rb = h.join().unwrap_or_else(|_| {
                    Err(SnapshotError::Layout("a parser thread failed".into()))
                });
                ra.and(rb)
            })?;
            Ok((first, Some(r)))
        }
        (_, second) => {
            let mut k = Kernel::new(context);
            parse_run(&mut k, body, base, &mut first, win)?;
            k.finish(&mut first, (base + body.len()) as u64)?;
            Ok((first, second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Collect(Vec<u64>);

    impl Sink for Collect {
        fn put(&mut self, v: u64) -> std::result::Result<(), Refused> {
            self.0.push(v);
            Ok(())
        }
        fn written(&self) -> u64 {
            self.0.len() as u64
        }
    }

    fn run(text: &[u8], cuts: &[usize]) -> Result<Vec<u64>> {
        let mut k = Kernel::new("test");
        let mut sink = Collect(Vec::new());
        let mut at = 0;
        for &c in cuts.iter().chain(std::iter::once(&text.len())) {
            let c = c.clamp(at, text.len());
            k.feed(&text[at..c], at as u64, &mut sink)?;
            at = c;
        }
        k.finish(&mut sink, text.len() as u64)?;
        Ok(sink.0)
    }

    /// A deterministic generator, so failures reproduce.
    fn next(seed: &mut u64) -> u64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    }

    #[test]
    fn kernel_matches_reference_on_random_layouts_and_chunkings() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..2000 {
            let count = (next(&mut seed) % 60) as usize;
            let mut values = Vec::new();
            let mut text = Vec::new();
            for k in 0..count {
                // Every digit count from 1 to 20 turns up.
                let v = match next(&mut seed) % 4 {
                    0 => next(&mut seed) % 10,
                    1 => next(&mut seed) % 100_000,
                    2 => next(&mut seed) % 10_000_000_000_000_000_000,
                    _ => next(&mut seed) % 10u64.pow(1 + (next(&mut seed) % 19) as u32),
                };
                values.push(v);
                if k > 0 {
                    let sep: &[u8] = match next(&mut seed) % 5 {
                        0 => b"\n,",
                        1 => b" , ",
                        2 => b",\n",
                        _ => b",",
                    };
                    text.extend_from_slice(sep);
                }
                text.extend_from_slice(v.to_string().as_bytes());
            }
            let mut cuts: Vec<usize> = (0..next(&mut seed) % 4)
                .map(|_| (next(&mut seed) as usize) % (text.len() + 1))
                .collect();
            cuts.sort_unstable();
            let got = run(&text, &cuts).expect("valid input parses");
            assert_eq!(
                got,
                values,
                "text {:?} cuts {cuts:?}",
                String::from_utf8_lossy(&text)
            );
        }
    }

    #[test]
    fn kernel_rejects_malformed_arrays() {
        let long = format!("{},1", "9".repeat(20));
        for bad in [
            &b"1,,2"[..],
            b"1 2",
            b"1,2,",
            b",1",
            b"1,x",
            long.as_bytes(),
        ] {
            let mut padded = bad.to_vec();
            assert!(
                run(&padded, &[]).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
            // Long enough for the fast path too.
            padded.splice(
                0..0,
                b"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,".iter().copied(),
            );
            assert!(
                run(&padded, &[]).is_err(),
                "{:?}",
                String::from_utf8_lossy(&padded)
            );
        }
    }
}
