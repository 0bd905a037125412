//! Text from a heap snapshot or a log (class names, property names, strings, file names,
//! URLs) is whatever the program put there. Written to a terminal as is, an escape sequence
//! in a class name sets the window title or clears the screen, and a bidi override makes a
//! line read differently from what it says. Every human-readable output goes through these
//! functions, so such characters are shown as visible escapes (`\x1b`, `\u{202e}`) instead.
//!
//! The escapes are printable ASCII, so escaping twice gives the same text as escaping once:
//! a formatter may escape a field and the final writer may escape the whole output again.

use std::borrow::Cow;
use std::fmt::Write;

/// Characters that do nothing visible but change how the rest of a line reads or is
/// selected: bidi embeddings, overrides, isolates and marks; zero-width spaces and joiners
/// that hide a word break; line and paragraph separators; invisible tag characters (used
/// to hide text in plain sight). The zero-width joiner and non-joiner are left alone: Indic
/// and Persian text and emoji sequences need them.
pub fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E007F}'
    )
}

/// C0 controls (with tab, newline and ESC), DEL and the C1 controls (U+0080–U+009F; U+009B
/// is a CSI to some terminals).
fn is_control(c: char) -> bool {
    c.is_control()
}

fn needs_escape(c: char) -> bool {
    is_control(c) || is_invisible_format(c)
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// One field (a name, a string's text, a path) as a single visible line: every control
/// character, newlines included, and every invisible format character becomes an escape.
/// Other text, accented letters, CJK and emoji included, is untouched.
pub fn escape_control(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if needs_escape(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Length of a colour sequence (SGR: `ESC [ digits;… m`) at the start of `s`, the only
/// escape sequences heaphound writes itself. SGR changes colour and weight; it cannot move
/// the cursor, clear the screen or set a title.
fn sgr_len(s: &str) -> Option<usize> {
    let rest = s.strip_prefix("\x1b[")?;
    let params = rest
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b';')
        .count();
    (params <= 16 && rest.as_bytes().get(params) == Some(&b'm')).then_some(2 + params + 1)
}

/// A whole text about to be written to a terminal: newlines and tabs stay, and so do colour
/// sequences (SGR), which are all heaphound itself writes; every other control or invisible
/// format character, wherever it came from, becomes a visible escape.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    escape_lines(text, true)
}

/// Text of several lines from a heap or a log, before heaphound adds its own colours: as
/// [`escape_control`], but newlines and tabs stay.
pub fn escape_text(text: &str) -> Cow<'_, str> {
    escape_lines(text, false)
}

fn escape_lines(text: &str, keep_sgr: bool) -> Cow<'_, str> {
    let unsafe_char = |c: char| needs_escape(c) && c != '\n' && c != '\t';
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut i = 0;
    while let Some(c) = text[i..].chars().next() {
        if c == '\x1b' && keep_sgr {
            if let Some(n) = sgr_len(&text[i..]) {
                out.push_str(&text[i..i + n]);
                i += n;
                continue;
            }
        }
        if unsafe_char(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
        i += c.len_utf8();
    }
    Cow::Owned(out)
}

/// JSON about to be printed: serde escapes C0 controls but writes C1 controls and invisible
/// format characters as they are, and a terminal showing the JSON acts on them. They can
/// only occur inside strings, where `\uXXXX` means the same character, so the document
/// reads back unchanged.
pub fn json_safe(json: &str) -> Cow<'_, str> {
    let escape = |c: char| is_invisible_format(c) || ('\u{80}'..='\u{9f}').contains(&c);
    if !json.chars().any(escape) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if escape(c) {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{u:04x}");
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_become_visible_escapes() {
        assert_eq!(
            escape_control("\x1b]0;pwned\x07\x1b[2J"),
            "\\x1b]0;pwned\\x07\\x1b[2J"
        );
        assert_eq!(escape_control("a\nb\tc\rd\x7f"), "a\\nb\\tc\\rd\\x7f");
        assert_eq!(escape_control("\u{9b}31m\u{85}"), "\\u{9b}31m\\u{85}");
    }

    #[test]
    fn bidi_and_invisible_characters_become_visible_escapes() {
        assert_eq!(
            escape_control("user\u{202e}gnp.exe"),
            "user\\u{202e}gnp.exe"
        );
        assert_eq!(
            escape_control("\u{2066}a\u{2069}\u{200b}\u{feff}"),
            "\\u{2066}a\\u{2069}\\u{200b}\\u{feff}"
        );
        assert_eq!(escape_control("\u{e0041}"), "\\u{e0041}");
    }

    #[test]
    fn ordinary_text_is_untouched() {
        for s in [
            "café",
            "日本語のクラス",
            "IncomingMessage",
            "Ünïcödé → ok",
            "👩‍👩‍👧",
            "नमस्ते",
            "",
        ] {
            assert!(matches!(escape_control(s), Cow::Borrowed(_)), "{s}");
            assert!(matches!(terminal_safe(s), Cow::Borrowed(_)), "{s}");
            assert!(matches!(json_safe(s), Cow::Borrowed(_)), "{s}");
        }
    }

    #[test]
    fn escaping_twice_is_escaping_once() {
        let s = "\x1b[2J\u{202e}x\n\u{9b}";
        let once = escape_control(s).into_owned();
        assert_eq!(escape_control(&once), once);
        assert_eq!(terminal_safe(&once), once);
    }

    #[test]
    fn terminal_text_keeps_lines_and_colour_only() {
        let ours = "\x1b[1mtitle\x1b[0m\n\tcell\n";
        assert_eq!(terminal_safe(ours), ours);
        assert_eq!(
            terminal_safe("\x1b[1mA\x1b]0;pwned\x07\x1b[2J\x1b[0m\r\u{202e}\n"),
            "\x1b[1mA\\x1b]0;pwned\\x07\\x1b[2J\x1b[0m\\r\\u{202e}\n"
        );
        // A lone ESC at the end, or a CSI that is not SGR.
        assert_eq!(terminal_safe("x\x1b"), "x\\x1b");
        assert_eq!(terminal_safe("\x1b[5A"), "\\x1b[5A");
        assert_eq!(escape_text("a\x1b[1m\nb\t"), "a\\x1b[1m\nb\t");
    }

    #[test]
    fn json_keeps_its_meaning() {
        let v = serde_json::json!({"class": "a\u{202e}b\u{85}c\u{e0041}"});
        let json = serde_json::to_string(&v).unwrap();
        let safe = json_safe(&json);
        assert!(safe.is_ascii());
        assert!(safe.contains("\\u202e") && safe.contains("\\u0085"));
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, v);
    }
}
