//! Where a mapped array ends, and how many values lie before each stretch of it, found on
//! all threads at once.
//!
//! Both are needed before an array can be parsed on two threads: its end bounds the second
//! thread, and the count before the cut tells it which record it starts at. Found by one
//! thread, they cost a serial pass over hundreds of megabytes, and that thread alone would
//! fault every page of the array into the mapping.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::arrays::count_commas;

/// Bytes each thread takes at a time: small enough that the thread which does not find
/// the end wastes little past it.
const BLOCK: usize = 256 << 10;

pub(crate) struct Survey {
    /// Position of the array's closing `]`, from the start of its body.
    pub len: usize,
    /// Commas in each `BLOCK` of the body (the last one up to `len`).
    commas: Vec<u64>,
}

impl Survey {
    /// Surveys `rest`, which starts just after an array's `[`; None when it has no `]`.
    pub fn new(rest: &[u8], threads: usize) -> Option<Survey> {
        let blocks = rest.len().div_ceil(BLOCK);
        let end = AtomicUsize::new(usize::MAX);
        let commas: Vec<AtomicU64> = (0..blocks).map(|_| AtomicU64::new(0)).collect();
        // Thread t takes blocks t, t + threads, …, and stops at its first `]` or once a
        // `]` is known before its next block. Every block before the first `]` is then
        // counted, since none of them starts past it.
        let scan = |t: usize| {
            let mut k = t;
            while k < blocks {
                let from = k * BLOCK;
                if from > end.load(Ordering::Relaxed) {
                    break;
                }
                let chunk = &rest[from..(from + BLOCK).min(rest.len())];
                let close = memchr::memchr(b']', chunk);
                let counted = close.map_or(chunk, |p| &chunk[..p]);
                commas[k].store(count_commas(counted), Ordering::Relaxed);
                if let Some(p) = close {
                    end.fetch_min(from + p, Ordering::Relaxed);
                    break;
                }
                k += threads;
            }
        };
        let threads = threads.max(1);
        std::thread::scope(|s| {
            for t in 1..threads {
                s.spawn(move || scan(t));
            }
            scan(0);
        });
        let len = end.into_inner();
        if len == usize::MAX {
            return None;
        }
        let commas = commas[..=len / BLOCK]
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        Some(Survey { len, commas })
    }

    /// A comma near the middle of `body` (the surveyed array) after which a new record of
    /// `fields` values starts: its position, and the values before the cut.
    pub fn cut(&self, body: &[u8], fields: usize) -> Option<(usize, u64)> {
        let k = (self.len / 2) / BLOCK;
        let from = k * BLOCK;
        let mut values: u64 = self.commas[..k].iter().sum();
        let mut pos = from + memchr::memchr(b',', body.get(from..)?)?;
        values += 1;
        while !values.is_multiple_of(fields as u64) {
            pos = pos + 1 + memchr::memchr(b',', &body[pos + 1..])?;
            values += 1;
        }
        Some((pos, values))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(values: usize) -> Vec<u8> {
        let mut t = Vec::new();
        for i in 0..values {
            if i > 0 {
                t.extend_from_slice(if i % 7 == 0 { b"\n," } else { b"," });
            }
            t.extend_from_slice((i * 7919 % 100_003).to_string().as_bytes());
        }
        t
    }

    #[test]
    fn finds_the_end_and_a_record_boundary_near_the_middle() {
        let body = text(1_000_000);
        let mut rest = body.clone();
        rest.extend_from_slice(b"],\"strings\":[\"a]\"]}");
        for threads in [1, 2, 3] {
            let s = Survey::new(&rest, threads).expect("has an end");
            assert_eq!(s.len, body.len(), "{threads} threads");
            let (pos, values) = s.cut(&body, 7).expect("a cut");
            assert_eq!(body[pos], b',');
            assert_eq!(values, count_commas(&body[..=pos]));
            assert_eq!(values % 7, 0);
            assert!(pos.abs_diff(body.len() / 2) < 2 * BLOCK);
        }
    }

    #[test]
    fn an_array_without_end_has_no_survey() {
        let rest = text(200_000);
        assert!(Survey::new(&rest, 2).is_none());
        assert!(Survey::new(b"", 2).is_none());
    }

    #[test]
    fn an_end_in_the_first_block() {
        let s = Survey::new(b"1,2,3]xx]", 2).expect("end");
        assert_eq!(s.len, 5);
        assert_eq!(s.cut(b"1,2,3", 1), Some((1, 1)));
    }
}
