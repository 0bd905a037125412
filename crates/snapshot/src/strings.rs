//! The snapshot's string table: an offset per string into one byte buffer or, for long
//! strings of a mapped file, into the file itself.
//! Bytes are WTF-8: UTF-8 that may also hold lone UTF-16 surrogates, which V8 writes for
//! JavaScript strings that contain them.

use std::borrow::Cow;
use std::sync::Arc;

use crate::mapped::Mapped;

/// Set in `Strings::at` for a string whose text is read in place from the mapped file: the
/// rest is its file offset, and the text runs to the next `"` (it held no escapes).
const MAPPED: u64 = 1 << 63;

/// Strings at least this long are left in a mapped file rather than copied. Their pages
/// are handed back once parsed, so a heap made mostly of string text costs little memory;
/// shorter ones, which include every name the analyses look up, are copied, so a lookup
/// never has to find the string's end or fault a page back in.
pub(crate) const MAP_MIN: usize = 256;

#[derive(Default, Clone)]
pub struct Strings {
    /// Text of the strings not left in the map, each after its length (u32 little-endian).
    bytes: Vec<u8>,
    /// Per string: the offset of its length in `bytes`, or its place in `map` (`MAPPED`).
    at: Vec<u64>,
    map: Option<Arc<Mapped>>,
}

impl Strings {
    pub fn len(&self) -> usize {
        self.at.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The raw WTF-8 bytes of string `i`.
    pub fn bytes(&self, i: u32) -> &[u8] {
        let at = self.at[i as usize];
        if at & MAPPED != 0 {
            let map = self.map.as_deref().expect("a mapped string keeps its map");
            let rest = &map[(at & !MAPPED) as usize..];
            &rest[..memchr::memchr(b'"', rest).unwrap_or(rest.len())]
        } else {
            let at = at as usize;
            let len = u32::from_le_bytes(
                self.bytes[at..at + 4]
                    .try_into()
                    .expect("a length is four bytes"),
            );
            &self.bytes[at + 4..at + 4 + len as usize]
        }
    }

    /// String `i` as text; each lone surrogate becomes one U+FFFD.
    pub fn get(&self, i: u32) -> Cow<'_, str> {
        let b = self.bytes(i);
        match std::str::from_utf8(b) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => Cow::Owned(wtf8_lossy(b)),
        }
    }

    /// Length in UTF-16 code units, the measure JavaScript (and so DevTools) uses.
    pub fn utf16_len(&self, i: u32) -> usize {
        utf16_len(self.bytes(i))
    }

    /// Appends a string and returns its index (analyses add names such as "(system)").
    pub fn push(&mut self, s: &str) -> u32 {
        let at = self.open();
        self.bytes.extend_from_slice(s.as_bytes());
        self.close(at)
            .expect("a name added by an analysis is shorter than 4 GiB");
        (self.at.len() - 1) as u32
    }

    /// Starts an owned string: its length's place, filled in by `close`.
    fn open(&mut self) -> usize {
        let at = self.bytes.len();
        self.at.push(at as u64);
        self.bytes.extend_from_slice(&[0; 4]);
        at
    }

    /// Ends the owned string `open` started; None when it is 4 GiB or longer.
    fn close(&mut self, at: usize) -> Option<()> {
        let len = u32::try_from(self.bytes.len() - at - 4).ok()?;
        self.bytes[at..at + 4].copy_from_slice(&len.to_le_bytes());
        Some(())
    }

    /// Memory the table holds itself (mapped text is the file's, and mostly not resident).
    pub fn heap_bytes(&self) -> usize {
        self.bytes.capacity() + self.at.capacity() * 8
    }
}

impl std::fmt::Debug for Strings {
    /// The strings themselves, wherever their text lives.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries((0..self.len() as u32).map(|i| String::from_utf8_lossy(self.bytes(i))))
            .finish()
    }
}

/// Counts UTF-16 code units in WTF-8 text: one per sequence, two for 4-byte sequences.
pub fn utf16_len(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0xBF => 0, // continuation byte
            0xF0..=0xFF => 2,
            _ => 1,
        })
        .sum()
}

/// Decodes WTF-8, showing each surrogate (or other undecodable sequence) as one U+FFFD.
fn wtf8_lossy(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match std::str::from_utf8(&b[i..]) {
            Ok(s) => {
                out.push_str(s);
                break;
            }
            Err(e) => {
                let good = e.valid_up_to();
                out.push_str(std::str::from_utf8(&b[i..i + good]).unwrap_or_default());
                i += good;
                out.push('\u{FFFD}');
                // A 3-byte surrogate sequence counts as one character.
                let bad = if b[i] == 0xED && b.len() >= i + 3 {
                    3
                } else {
                    e.error_len().unwrap_or(b.len() - i)
                };
                i += bad;
            }
        }
    }
    out
}

#[derive(Default)]
pub(crate) struct StringsBuilder {
    strings: Strings,
    open: usize,
}

impl StringsBuilder {
    /// `map` is the mapped file being parsed, when long strings may stay in it.
    pub fn new(map: Option<Arc<Mapped>>) -> Self {
        StringsBuilder {
            strings: Strings {
                map,
                ..Strings::default()
            },
            open: 0,
        }
    }

    pub fn maps(&self) -> bool {
        self.strings.map.is_some()
    }

    /// A string whose text is at `offset` in the map, up to the next `"`.
    pub fn push_mapped(&mut self, offset: usize) {
        self.strings.at.push(offset as u64 | MAPPED);
    }

    /// Starts a copied string; its text is appended to the buffer returned.
    pub fn begin(&mut self) -> &mut Vec<u8> {
        self.open = self.strings.open();
        &mut self.strings.bytes
    }

    /// Ends the string `begin` started; false when it is too long to hold (4 GiB).
    pub fn finish_one(&mut self) -> bool {
        self.strings.close(self.open).is_some()
    }

    pub fn build(mut self) -> Strings {
        self.strings.bytes.shrink_to_fit();
        self.strings.at.shrink_to_fit();
        self.strings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushed_strings_read_back() {
        let mut s = Strings::default();
        let a = s.push("");
        let b = s.push("héllo");
        assert_eq!((a, b, s.len()), (0, 1, 2));
        assert_eq!(s.bytes(a), b"");
        assert_eq!(s.get(b), "héllo");
        assert_eq!(format!("{s:?}"), r#"["", "héllo"]"#);
    }

    #[test]
    fn utf16_length_counts_astral_as_two() {
        assert_eq!(utf16_len("abc".as_bytes()), 3);
        assert_eq!(utf16_len("é".as_bytes()), 1);
        assert_eq!(utf16_len("😀".as_bytes()), 2);
        // A lone surrogate in WTF-8 is one unit.
        assert_eq!(utf16_len(&[0xED, 0xA0, 0x80]), 1);
    }
}
