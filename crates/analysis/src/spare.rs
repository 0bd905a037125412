//! Working arrays handed from one phase to the next.
//!
//! On multi-GB heaps the costliest thing a phase does is often touching memory it has just
//! asked for: the kernel zero-fills every fresh page, and on a virtual machine the host may
//! have to back it first. The summary pipeline frees the graph's columns as it goes; this
//! pool lets the later phases write into those pages instead.

use heaphound_snapshot::column::zeroed;

#[derive(Default)]
pub struct Spare(Vec<Vec<u32>>);

impl Spare {
    pub fn put(&mut self, v: Vec<u32>) {
        if v.capacity() > 0 {
            self.0.push(v);
        }
    }

    /// The smallest pooled vector that holds `len` elements without growing.
    fn best_fit(&mut self, len: usize) -> Option<Vec<u32>> {
        let i = (0..self.0.len())
            .filter(|&i| self.0[i].capacity() >= len)
            .min_by_key(|&i| self.0[i].capacity())?;
        Some(self.0.swap_remove(i))
    }

    /// `len` zeros.
    pub fn zeroed(&mut self, len: usize) -> Vec<u32> {
        match self.best_fit(len) {
            Some(mut v) => {
                v.clear();
                v.resize(len, 0);
                v
            }
            None => zeroed(len),
        }
    }

    /// `len` elements of unspecified value, for a caller that writes every one before it
    /// reads it: a reused vector keeps its old contents, which saves a pass over memory.
    pub fn scratch(&mut self, len: usize) -> Vec<u32> {
        scratch_in(self.best_fit(len).unwrap_or_default(), len)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `v`'s memory as `len` elements of unspecified value (see `Spare::scratch`), or fresh
/// zeros when it is too small.
pub fn scratch_in(mut v: Vec<u32>, len: usize) -> Vec<u32> {
    if v.capacity() >= len {
        v.resize(len, 0);
        v
    } else {
        zeroed(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_the_tightest_fit_and_zeroes_on_request() {
        let mut s = Spare::default();
        s.put(vec![7; 100]);
        s.put(vec![9; 10]);
        let z = s.zeroed(8);
        assert_eq!(z, vec![0; 8]);
        assert!(z.capacity() >= 10 && z.capacity() < 100);
        let w = s.scratch(50);
        assert_eq!(w.len(), 50);
        assert!(w.capacity() >= 100);
        assert!(s.is_empty());
        // Nothing fits: a fresh vector.
        assert_eq!(s.zeroed(3), vec![0; 3]);
    }
}
