//! Text rules DevTools applies to names: how property names are quoted in shape names,
//! and how plain objects and concatenated strings are displayed.

use heaphound_snapshot::{EdgeKind, HeapGraph, NodeKind};

/// UTF-16 length of a Rust string (JavaScript's `length`).
pub fn utf16_len_str(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// Decodes WTF-8 into code points, lone surrogates included.
fn code_points(bytes: &[u8]) -> impl Iterator<Item = u32> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        let b = *bytes.get(i)?;
        let (len, init) = match b {
            0x00..=0x7F => (1, b as u32),
            0xC0..=0xDF => (2, (b & 0x1F) as u32),
            0xE0..=0xEF => (3, (b & 0x0F) as u32),
            0xF0..=0xF7 => (4, (b & 0x07) as u32),
            _ => (1, 0xFFFD),
        };
        let mut cp = init;
        for k in 1..len {
            match bytes.get(i + k) {
                Some(&c) if c & 0xC0 == 0x80 => cp = (cp << 6) | (c & 0x3F) as u32,
                _ => {
                    i += k;
                    return Some(0xFFFD);
                }
            }
        }
        i += len;
        Some(cp)
    })
}

/// Property names holding `, ' " { }` are written as a JSON string (JSON.stringify's
/// escaping), so shape names stay unambiguous; others are used as they are.
pub fn format_property_name(raw: &[u8]) -> String {
    let needs_quotes = raw
        .iter()
        .any(|b| matches!(b, b',' | b'\'' | b'"' | b'{' | b'}'));
    if !needs_quotes {
        return String::from_utf8_lossy(raw).into_owned();
    }
    let mut out = String::with_capacity(raw.len() + 2);
    out.push('"');
    for cp in code_points(raw) {
        match cp {
            0x22 => out.push_str("\\\""),
            0x5C => out.push_str("\\\\"),
            0x08 => out.push_str("\\b"),
            0x0C => out.push_str("\\f"),
            0x0A => out.push_str("\\n"),
            0x0D => out.push_str("\\r"),
            0x09 => out.push_str("\\t"),
            c if c < 0x20 || (0xD800..0xE000).contains(&c) => {
                out.push_str(&format!("\\u{c:04x}"));
            }
            c => out.push(char::from_u32(c).unwrap_or('\u{FFFD}')),
        }
    }
    out.push('"');
    out
}

/// DevTools' label for a plain object: `{a, b, …, y, z}`, properties taken alternately
/// from the front and the back until about 100 characters.
pub fn plain_object_name(g: &HeapGraph, node: u32) -> String {
    let range = g.edges(node);
    if range.is_empty() {
        return "{}".into();
    }
    let mut start = String::from("{");
    let mut end = String::from("}");
    let (mut lo, mut hi) = (range.start as i64, range.end as i64 - 1);
    let mut from_end = false;
    while lo <= hi {
        let e = if from_end { hi } else { lo } as u32;
        let skip = g.edge_kind(e) != EdgeKind::Property
            || g.strings.bytes(g.edge_name[e as usize]) == b"__proto__";
        if skip {
            if from_end {
                hi -= 1;
            } else {
                lo += 1;
            }
            continue;
        }
        let formatted = format_property_name(g.strings.bytes(g.edge_name[e as usize]));
        let (ls, le, lf) = (
            utf16_len_str(&start),
            utf16_len_str(&end),
            utf16_len_str(&formatted),
        );
        if ls > 1 && ls + le + lf > 100 {
            break;
        }
        if from_end {
            hi -= 1;
            if le > 1 {
                end.insert_str(0, ", ");
            }
            end.insert_str(0, &formatted);
        } else {
            lo += 1;
            if ls > 1 {
                start.push_str(", ");
            }
            start.push_str(&formatted);
        }
        from_end = !from_end;
    }
    if lo <= hi {
        start.push_str(", …");
    }
    if utf16_len_str(&end) > 1 {
        start.push_str(", ");
    }
    start + &end
}

/// The text of a concatenated string, from its parts (up to about 1024 characters).
pub fn cons_string_text(g: &HeapGraph, node: u32) -> String {
    let mut out = String::new();
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        if utf16_len_str(&out) >= 1024 {
            break;
        }
        if g.kind(n) != NodeKind::ConsString {
            out.push_str(&g.name(n));
            continue;
        }
        let (mut first, mut second) = (None, None);
        for e in g.edges(n) {
            if g.edge_kind(e) == EdgeKind::Internal {
                match g.strings.bytes(g.edge_name[e as usize]) {
                    b"first" => first = Some(g.edge_to[e as usize]),
                    b"second" => second = Some(g.edge_to[e as usize]),
                    _ => {}
                }
            }
        }
        stack.extend(second);
        stack.extend(first);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_property_names_like_json_stringify() {
        assert_eq!(format_property_name(b"plain"), "plain");
        assert_eq!(format_property_name(b"a,b"), "\"a,b\"");
        assert_eq!(
            format_property_name(b"say \"hi\"\n{"),
            "\"say \\\"hi\\\"\\n{\""
        );
        assert_eq!(
            format_property_name(&[b'{', 0xED, 0xA0, 0x80]),
            "\"{\\ud800\""
        );
    }
}
