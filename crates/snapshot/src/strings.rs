//! The snapshot's string table: one byte buffer and an offset per string.
//! Bytes are WTF-8: UTF-8 that may also hold lone UTF-16 surrogates, which V8 writes for
//! JavaScript strings that contain them.

use std::borrow::Cow;

#[derive(Debug, Default, Clone)]
pub struct Strings {
    bytes: Vec<u8>,
    /// `offsets[i]..offsets[i + 1]` is string `i`; u64 because the text can pass 4 GiB.
    offsets: Vec<u64>,
}

impl Strings {
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The raw WTF-8 bytes of string `i`.
    pub fn bytes(&self, i: u32) -> &[u8] {
        let i = i as usize;
        &self.bytes[self.offsets[i] as usize..self.offsets[i + 1] as usize]
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
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        self.bytes.extend_from_slice(s.as_bytes());
        self.offsets.push(self.bytes.len() as u64);
        (self.offsets.len() - 2) as u32
    }

    pub fn heap_bytes(&self) -> usize {
        self.bytes.capacity() + self.offsets.capacity() * 8
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
}

impl StringsBuilder {
    pub fn new() -> Self {
        StringsBuilder {
            strings: Strings {
                bytes: Vec::new(),
                offsets: vec![0],
            },
        }
    }

    pub fn bytes_mut(&mut self) -> &mut Vec<u8> {
        &mut self.strings.bytes
    }

    pub fn finish_one(&mut self) {
        let end = self.strings.bytes.len() as u64;
        self.strings.offsets.push(end);
    }

    pub fn build(mut self) -> Strings {
        self.strings.bytes.shrink_to_fit();
        self.strings.offsets.shrink_to_fit();
        self.strings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_length_counts_astral_as_two() {
        assert_eq!(utf16_len("abc".as_bytes()), 3);
        assert_eq!(utf16_len("é".as_bytes()), 1);
        assert_eq!(utf16_len("😀".as_bytes()), 2);
        // A lone surrogate in WTF-8 is one unit.
        assert_eq!(utf16_len(&[0xED, 0xA0, 0x80]), 1);
    }
}
