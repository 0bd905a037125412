//! The one unit rule: JSON sizes are integer bytes; a field named `*_mb` is in megabytes of
//! 10^6 bytes, everywhere; a field named `*_mib` is in mebibytes of 2^20 bytes. V8's
//! `--trace-gc` prints "MB" meaning MiB: the gclog parser converts it once, on input.

/// Bytes in a megabyte (`*_mb` fields).
pub const MB: f64 = 1e6;
/// Bytes in a mebibyte (`*_mib` fields, and V8's `--trace-gc` "MB").
pub const MIB: f64 = 1_048_576.0;

/// Bytes as megabytes of 10^6 bytes.
pub fn mb(bytes: f64) -> f64 {
    bytes / MB
}

/// V8's trace-gc "MB" (MiB) as bytes.
pub fn mib_to_bytes(mib: f64) -> f64 {
    mib * MIB
}

// Counts, sizes and paths as every human-readable text writes them (the terminal tables and
// the sentences documents carry alike), so a title reads like the table beside it.

/// Signed sizes for deltas: "+1.2 MB", "-300 B".
pub fn human_delta(bytes: i64) -> String {
    let sign = if bytes < 0 { "-" } else { "+" };
    format!("{sign}{}", human_size(bytes.unsigned_abs()))
}

/// Bytes in decimal units, as DevTools prints them (1 kB = 1000 B): `999 B`, `1.20 kB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64;
    let mut unit = "";
    for u in UNITS {
        v /= 1000.0;
        unit = u;
        if v < 1000.0 {
            break;
        }
    }
    if v < 10.0 {
        format!("{v:.2} {unit}")
    } else if v < 100.0 {
        format!("{v:.1} {unit}")
    } else {
        format!("{v:.0} {unit}")
    }
}

/// Thousands separators for counts: `12,345`.
pub fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The last two parts of a script's path or URL keep lines narrow: `lib/cache.js`.
pub fn short_path(p: &str) -> String {
    let p = p.strip_prefix("file://").unwrap_or(p);
    let parts: Vec<&str> = p.rsplitn(3, '/').collect();
    if parts.len() >= 3 {
        format!("{}/{}", parts[1], parts[0])
    } else {
        p.to_owned()
    }
}
