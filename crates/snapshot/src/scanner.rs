//! A forward-only byte scanner over any `Read`, specialised for the shapes a heap snapshot
//! uses: long arrays of unsigned integers, an array of strings, and small JSON values.
//! The integer and string loops work on the buffered bytes directly because they see every
//! byte of a multi-gigabyte file.

use std::io::{ErrorKind, Read};

use crate::arrays::{Kernel, Refused, Sink};

use crate::error::SnapshotError;
use crate::strings::StringsBuilder;

const BUF_SIZE: usize = 1 << 20;

/// The scanner's bytes: a refillable buffer over a reader, or a whole input in memory.
enum Buf<'a> {
    Owned(Box<[u8]>),
    Borrowed(&'a [u8]),
}

impl std::ops::Deref for Buf<'_> {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        match self {
            Buf::Owned(b) => b,
            Buf::Borrowed(b) => b,
        }
    }
}

pub(crate) struct Scanner<'p, 'a, R: Read> {
    reader: Option<R>,
    buf: Buf<'a>,
    pos: usize,
    len: usize,
    /// Absolute offset of `buf[0]` in the decompressed text.
    base: u64,
    eof: bool,
    progress: &'p mut dyn FnMut(),
}

type Result<T> = std::result::Result<T, SnapshotError>;

#[inline]
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

impl<'p, 'a, R: Read> Scanner<'p, 'a, R> {
    pub fn new(reader: R, progress: &'p mut dyn FnMut()) -> Self {
        Scanner {
            reader: Some(reader),
            buf: Buf::Owned(vec![0u8; BUF_SIZE].into_boxed_slice()),
            pos: 0,
            len: 0,
            base: 0,
            eof: false,
            progress,
        }
    }

    /// A scanner over input already in memory: no copying, and the big arrays can be
    /// handed to the parallel parser.
    pub fn over(bytes: &'a [u8], progress: &'p mut dyn FnMut()) -> Self {
        Scanner {
            reader: None,
            buf: Buf::Borrowed(bytes),
            pos: 0,
            len: bytes.len(),
            base: 0,
            eof: true,
            progress,
        }
    }

    /// The whole input and the current position, when it is all in memory.
    pub fn in_memory(&self) -> Option<(&'a [u8], usize)> {
        match self.buf {
            Buf::Borrowed(b) => Some((b, self.pos)),
            Buf::Owned(_) => None,
        }
    }

    /// Moves to `pos` of an in-memory input.
    pub fn jump(&mut self, pos: usize) {
        debug_assert!(matches!(self.buf, Buf::Borrowed(_)));
        self.pos = pos.min(self.len);
    }

    pub fn report_progress(&mut self) {
        (self.progress)();
    }

    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Refills the buffer once it is used up. Returns false at the end of input.
    fn fill(&mut self) -> Result<bool> {
        if self.pos < self.len {
            return Ok(true);
        }
        if self.eof {
            return Ok(false);
        }
        let (Some(reader), Buf::Owned(buf)) = (self.reader.as_mut(), &mut self.buf) else {
            return Ok(false);
        };
        self.base += self.len as u64;
        self.pos = 0;
        self.len = 0;
        loop {
            match reader.read(buf) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.len = n;
                    (self.progress)();
                    return Ok(true);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(classify_io(e)),
            }
        }
    }

    pub fn peek(&mut self) -> Result<Option<u8>> {
        if self.fill()? {
            Ok(Some(self.buf[self.pos]))
        } else {
            Ok(None)
        }
    }

    fn bump(&mut self) {
        self.pos += 1;
    }

    fn truncated(&self, context: &'static str) -> SnapshotError {
        SnapshotError::Truncated {
            offset: self.offset(),
            context,
        }
    }

    fn syntax(&self, context: &'static str, message: impl Into<String>) -> SnapshotError {
        SnapshotError::Syntax {
            offset: self.offset(),
            context,
            message: message.into(),
        }
    }

    /// Skips white space and returns the next byte without consuming it.
    pub fn next_token(&mut self, context: &'static str) -> Result<u8> {
        loop {
            if !self.fill()? {
                return Err(self.truncated(context));
            }
            while self.pos < self.len {
                let b = self.buf[self.pos];
                if !is_ws(b) {
                    return Ok(b);
                }
                self.pos += 1;
            }
        }
    }

    /// Like `next_token`, but end of input is not an error.
    pub fn next_token_or_eof(&mut self) -> Result<Option<u8>> {
        loop {
            if !self.fill()? {
                return Ok(None);
            }
            while self.pos < self.len {
                let b = self.buf[self.pos];
                if !is_ws(b) {
                    return Ok(Some(b));
                }
                self.pos += 1;
            }
        }
    }

    pub fn expect(&mut self, want: u8, context: &'static str) -> Result<()> {
        let b = self.next_token(context)?;
        if b != want {
            return Err(self.syntax(
                context,
                format!("expected '{}', found {}", want as char, describe(b)),
            ));
        }
        self.bump();
        Ok(())
    }

    /// Reads a JSON string and decodes it (used for object keys).
    pub fn string(&mut self, context: &'static str) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.expect(b'"', context)?;
        self.string_body(&mut out, context)?;
        Ok(out)
    }

    /// Decodes the rest of a JSON string (after its opening quote) onto `out`, keeping lone
    /// UTF-16 surrogates as WTF-8 so that no string of V8's is ever refused.
    fn string_body(&mut self, out: &mut Vec<u8>, context: &'static str) -> Result<()> {
        loop {
            if !self.fill()? {
                return Err(self.truncated(context));
            }
            let chunk = &self.buf[self.pos..self.len];
            let stop = chunk
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20);
            match stop {
                None => {
                    out.extend_from_slice(chunk);
                    self.pos = self.len;
                }
                Some(i) => {
                    out.extend_from_slice(&chunk[..i]);
                    let b = chunk[i];
                    self.pos += i + 1;
                    match b {
                        b'"' => return Ok(()),
                        b'\\' => self.escape(out, context)?,
                        _ => {
                            self.pos -= 1;
                            return Err(self.syntax(context, "control character inside a string"));
                        }
                    }
                }
            }
        }
    }

    /// After a string's opening quote in a mapped input: records a long string with no
    /// escapes as a place in the map and steps past it. False (nothing consumed) for any
    /// other string, which is then copied.
    fn string_in_place(&mut self, strings: &mut StringsBuilder) -> bool {
        let chunk = &self.buf[self.pos..self.len];
        let stop = chunk
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20);
        match stop {
            Some(i) if i >= crate::strings::MAP_MIN && chunk[i] == b'"' => {
                strings.push_mapped(self.pos);
                self.pos += i + 1;
                true
            }
            _ => false,
        }
    }

    fn byte(&mut self, context: &'static str) -> Result<u8> {
        if !self.fill()? {
            return Err(self.truncated(context));
        }
        let b = self.buf[self.pos];
        self.pos += 1;
        Ok(b)
    }

    fn hex4(&mut self, context: &'static str) -> Result<u32> {
        let mut v = 0u32;
        for _ in 0..4 {
            let b = self.byte(context)?;
            let d = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ => {
                    self.pos -= 1;
                    return Err(self.syntax(context, "bad \\u escape"));
                }
            };
            v = v * 16 + d as u32;
        }
        Ok(v)
    }

    fn escape(&mut self, out: &mut Vec<u8>, context: &'static str) -> Result<()> {
        let b = self.byte(context)?;
        let c = match b {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 8,
            b'f' => 12,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let mut unit = self.hex4(context)?;
                // A high surrogate pairs with an immediately following \uDC00-\uDFFF; one
                // that does not is kept as it is, and the next escape is looked at afresh.
                while (0xD800..0xDC00).contains(&unit) {
                    if self.peek()? != Some(b'\\') {
                        break;
                    }
                    self.bump();
                    if self.peek()? != Some(b'u') {
                        push_wtf8(out, unit);
                        return self.escape(out, context);
                    }
                    self.bump();
                    let next = self.hex4(context)?;
                    if (0xDC00..0xE000).contains(&next) {
                        unit = 0x10000 + ((unit - 0xD800) << 10) + (next - 0xDC00);
                        break;
                    }
                    push_wtf8(out, unit);
                    unit = next;
                }
                push_wtf8(out, unit);
                return Ok(());
            }
            other => {
                self.pos -= 1;
                return Err(self.syntax(context, format!("unknown escape \\{}", other as char)));
            }
        };
        out.push(c);
        Ok(())
    }

    /// Reads `[` u64, u64, … `]` from a stream into `sink`.
    pub fn uint_array<S: Sink>(&mut self, context: &'static str, sink: &mut S) -> Result<()> {
        self.expect(b'[', context)?;
        let mut kernel = Kernel::new(context);
        loop {
            if !self.fill()? {
                return Err(self.truncated(context));
            }
            let chunk = &self.buf[self.pos..self.len];
            let (part, end) = match memchr::memchr(b']', chunk) {
                Some(i) => (&chunk[..i], Some(i)),
                None => (chunk, None),
            };
            kernel.feed(part, self.base + self.pos as u64, sink)?;
            match end {
                Some(i) => {
                    self.pos += i;
                    kernel.finish(sink, self.offset())?;
                    self.pos += 1;
                    return Ok(());
                }
                None => self.pos = self.len,
            }
        }
    }

    /// Reads an integer array of 32-bit values into a vector.
    pub fn u32_vec(&mut self, context: &'static str) -> Result<Vec<u32>> {
        let mut sink = U32Sink(Vec::new(), context);
        self.uint_array(context, &mut sink)?;
        Ok(sink.0)
    }

    /// Reads an integer array of unknown length into a vector.
    pub fn uint_vec(&mut self, context: &'static str) -> Result<Vec<u64>> {
        let mut sink = VecSink(Vec::new());
        self.uint_array(context, &mut sink)?;
        Ok(sink.0)
    }

    /// Reads an array of strings into `strings`.
    /// Reads a JSON array of strings. Over a mapped input, `release(offset, len)` is told
    /// of each 16 MiB parsed, so its pages can go back to the OS: the strings of a big
    /// snapshot run to gigabytes, and holding the text beside its decoded copy would
    /// double them.
    pub fn string_array(
        &mut self,
        context: &'static str,
        strings: &mut StringsBuilder,
        release: &dyn Fn(usize, usize),
    ) -> Result<()> {
        const RELEASE_EVERY: usize = 16 << 20;
        let borrowed = matches!(self.buf, Buf::Borrowed(_));
        let mut released = self.pos;
        self.expect(b'[', context)?;
        if self.next_token(context)? == b']' {
            self.bump();
            return Ok(());
        }
        let in_place = borrowed && strings.maps();
        loop {
            self.expect(b'"', context)?;
            if !(in_place && self.string_in_place(strings)) {
                self.string_body(strings.begin(), context)?;
                if !strings.finish_one() {
                    return Err(self.syntax(context, "a string of 4 GiB or more"));
                }
            }
            if borrowed && self.pos - released >= RELEASE_EVERY {
                release(released, self.pos - released);
                released = self.pos;
            }
            match self.next_token(context)? {
                b',' => self.bump(),
                b']' => {
                    self.bump();
                    return Ok(());
                }
                b => {
                    return Err(self.syntax(
                        context,
                        format!("expected ',' or ']', found {}", describe(b)),
                    ))
                }
            }
        }
    }

    /// Copies the raw text of one JSON value (object, array, string or scalar).
    pub fn raw_value(&mut self, context: &'static str, limit: usize) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.walk_value(context, Some(&mut out), limit)?;
        Ok(out)
    }

    pub fn skip_value(&mut self, context: &'static str) -> Result<()> {
        self.walk_value(context, None, usize::MAX)
    }

    /// Walks one JSON value by tracking bracket depth and string state; the content is
    /// validated later by whoever parses the copy.
    fn walk_value(
        &mut self,
        context: &'static str,
        mut out: Option<&mut Vec<u8>>,
        limit: usize,
    ) -> Result<()> {
        let first = self.next_token(context)?;
        let mut depth: u64 = 0;
        let mut in_str = false;
        let mut escaped = false;
        let scalar = !matches!(first, b'{' | b'[' | b'"');
        loop {
            if !self.fill()? {
                if scalar && depth == 0 {
                    return Ok(());
                }
                return Err(self.truncated(context));
            }
            let start = self.pos;
            let mut i = self.pos;
            let mut done = false;
            while i < self.len {
                let b = self.buf[i];
                if in_str {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_str = false;
                        if depth == 0 {
                            i += 1;
                            done = true;
                            break;
                        }
                    }
                } else if scalar {
                    if matches!(b, b',' | b'}' | b']') || is_ws(b) {
                        done = true;
                        break;
                    }
                } else {
                    match b {
                        b'"' => in_str = true,
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            if depth == 0 {
                                self.pos = i;
                                return Err(self.syntax(context, "unbalanced brackets"));
                            }
                            depth -= 1;
                            if depth == 0 {
                                i += 1;
                                done = true;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                i += 1;
            }
            if let Some(o) = out.as_deref_mut() {
                o.extend_from_slice(&self.buf[start..i]);
                if o.len() > limit {
                    return Err(self.syntax(context, "value is unreasonably large"));
                }
            }
            self.pos = i;
            if done {
                return Ok(());
            }
        }
    }
}

/// Encodes a code point, or a lone surrogate, in (generalised) UTF-8.
pub(crate) fn push_wtf8(out: &mut Vec<u8>, cp: u32) {
    if cp < 0x80 {
        out.push(cp as u8);
    } else if cp < 0x800 {
        out.push(0xC0 | (cp >> 6) as u8);
        out.push(0x80 | (cp & 0x3F) as u8);
    } else if cp < 0x10000 {
        out.push(0xE0 | (cp >> 12) as u8);
        out.push(0x80 | ((cp >> 6) & 0x3F) as u8);
        out.push(0x80 | (cp & 0x3F) as u8);
    } else {
        out.push(0xF0 | (cp >> 18) as u8);
        out.push(0x80 | ((cp >> 12) & 0x3F) as u8);
        out.push(0x80 | ((cp >> 6) & 0x3F) as u8);
        out.push(0x80 | (cp & 0x3F) as u8);
    }
}

fn describe(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}

/// gzip decoding failures arrive as io errors; they mean the file is damaged, not that the
/// disk failed, so they get their own message.
fn classify_io(e: std::io::Error) -> SnapshotError {
    match e.kind() {
        ErrorKind::InvalidInput | ErrorKind::InvalidData => {
            SnapshotError::CorruptGzip(e.to_string())
        }
        ErrorKind::UnexpectedEof => SnapshotError::CorruptGzip("the gzip stream ends early".into()),
        _ => SnapshotError::Io(e),
    }
}

/// Collects values of small arrays (locations, samples).
struct VecSink(Vec<u64>);

impl Sink for VecSink {
    fn put(&mut self, v: u64) -> std::result::Result<(), Refused> {
        self.0.push(v);
        Ok(())
    }

    fn written(&self) -> u64 {
        self.0.len() as u64
    }
}

struct U32Sink(Vec<u32>, &'static str);

impl Sink for U32Sink {
    #[inline]
    fn put(&mut self, v: u64) -> std::result::Result<(), Refused> {
        match u32::try_from(v) {
            Ok(x) => {
                self.0.push(x);
                Ok(())
            }
            Err(_) => Err(Refused::Error(SnapshotError::Layout(format!(
                "{} holds {v}, which does not fit 32 bits",
                self.1
            )))),
        }
    }

    fn written(&self) -> u64 {
        self.0.len() as u64
    }
}
