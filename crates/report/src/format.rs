//! Plain-text building blocks: human-readable sizes and aligned tables.

use heaphound_model::text::{escape_control, escape_text};
pub use heaphound_model::units::{group, human_delta, human_size};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A table printed with columns padded to their widest cell.
pub struct Table {
    headers: Vec<(String, Align)>,
    rows: Vec<Vec<String>>,
    /// Columns that may be cut to keep lines within `max_width` (the last left column).
    max_width: Option<usize>,
}

impl Table {
    pub fn new(headers: &[(&str, Align)]) -> Table {
        Table {
            headers: headers.iter().map(|(h, a)| (h.to_string(), *a)).collect(),
            rows: Vec::new(),
            max_width: None,
        }
    }

    pub fn max_width(mut self, w: usize) -> Self {
        self.max_width = Some(w);
        self
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn render(&self, style: &Style) -> String {
        let ncol = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|(h, _)| width(h)).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate().take(ncol) {
                widths[i] = widths[i].max(width(&escape_control(c)));
            }
        }
        // Shrink the widest left-aligned (name) column when lines would be too long.
        if let Some(max) = self.max_width {
            let total: usize = widths.iter().sum::<usize>() + 2 * (ncol.saturating_sub(1));
            if total > max {
                if let Some((i, _)) = widths
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| self.headers[*i].1 == Align::Left)
                    .max_by_key(|(_, w)| **w)
                {
                    let excess = total - max;
                    widths[i] = widths[i].saturating_sub(excess).max(24.min(widths[i]));
                }
            }
        }
        let mut out = String::new();
        let line = |cells: &[String], out: &mut String, header: bool| {
            let mut parts = Vec::with_capacity(ncol);
            for (i, &w) in widths.iter().enumerate() {
                let cell = cells.get(i).map(String::as_str).unwrap_or("");
                let cell = truncate(&escape_control(cell), w);
                let pad = w - width(&cell);
                let last = i + 1 == ncol;
                let text = match self.headers[i].1 {
                    Align::Left if last => cell,
                    Align::Left => format!("{cell}{}", " ".repeat(pad)),
                    Align::Right => format!("{}{cell}", " ".repeat(pad)),
                };
                parts.push(text);
            }
            let joined = parts.join("  ");
            if header {
                out.push_str(&style.bold(joined.trim_end()));
            } else {
                out.push_str(joined.trim_end());
            }
            out.push('\n');
        };
        let header: Vec<String> = self.headers.iter().map(|(h, _)| h.clone()).collect();
        line(&header, &mut out, true);
        for r in &self.rows {
            line(r, &mut out, false);
        }
        out
    }
}

fn width(s: &str) -> usize {
    s.chars().count()
}

fn truncate(s: &str, w: usize) -> String {
    if width(s) <= w {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(w.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Terminal styling; all of it is off when colour is off. The text styled may be a name from
/// the heap: it is escaped (`model::text`) so that only these colours reach the terminal.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    pub color: bool,
}

impl Style {
    pub fn bold(&self, s: &str) -> String {
        if self.color {
            format!("\x1b[1m{}\x1b[0m", escape_text(s))
        } else {
            escape_text(s).into_owned()
        }
    }

    pub fn dim(&self, s: &str) -> String {
        if self.color {
            format!("\x1b[2m{}\x1b[0m", escape_text(s))
        } else {
            escape_text(s).into_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_devtools() {
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(1000), "1.00 kB");
        assert_eq!(human_size(2_917_547), "2.92 MB");
        assert_eq!(human_size(40_000_000), "40.0 MB");
        assert_eq!(human_delta(-1500), "-1.50 kB");
        assert_eq!(group(1234567), "1,234,567");
    }

    #[test]
    fn table_aligns_columns() {
        let mut t = Table::new(&[("Name", Align::Left), ("Size", Align::Right)]);
        t.row(vec!["a".into(), "1 B".into()]);
        t.row(vec!["longer".into(), "100 kB".into()]);
        let s = t.render(&Style::default());
        assert_eq!(s, "Name      Size\na          1 B\nlonger  100 kB\n");
    }
}
