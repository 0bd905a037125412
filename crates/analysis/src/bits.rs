/// A fixed-size bit set over node or edge ordinals.
#[derive(Debug, Clone, Default)]
pub struct BitSet {
    words: Vec<u64>,
}

impl BitSet {
    pub fn new(len: usize) -> Self {
        BitSet {
            words: vec![0; len.div_ceil(64)],
        }
    }

    #[inline]
    pub fn get(&self, i: u32) -> bool {
        (self.words[(i >> 6) as usize] >> (i & 63)) & 1 != 0
    }

    #[inline]
    pub fn set(&mut self, i: u32) {
        self.words[(i >> 6) as usize] |= 1 << (i & 63);
    }

    /// How many bits the set can hold.
    pub fn capacity(&self) -> usize {
        self.words.len() * 64
    }

    pub fn words(&self) -> &[u64] {
        &self.words
    }

    #[inline]
    pub fn clear(&mut self, i: u32) {
        self.words[(i >> 6) as usize] &= !(1 << (i & 63));
    }
}
