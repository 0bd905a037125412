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
