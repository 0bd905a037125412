//! Allocation of the big per-node and per-edge columns.
//!
//! Columns are hundreds of megabytes on large heaps. Asking the kernel for transparent
//! huge pages on them turns hundreds of thousands of 4 KiB page faults into a few hundred
//! and makes random access (dominators, BFS) miss the TLB far less.

/// Arrays smaller than this are not worth a system call.
const HUGE_MIN: usize = 4 << 20;

/// A zero-filled vector of `n` elements; `None` when the memory cannot be had.
pub fn try_zeroed<T: Copy + Default + Zeroable>(n: usize) -> Option<Vec<T>> {
    if n == 0 {
        return Some(Vec::new());
    }
    let layout = std::alloc::Layout::array::<T>(n).ok()?;
    // SAFETY: the layout is non-zero-sized; all-zero bytes are a valid T (Zeroable), so
    // the vector may own the block as n initialised elements.
    unsafe {
        let ptr = std::alloc::alloc_zeroed(layout) as *mut T;
        if ptr.is_null() {
            return None;
        }
        advise_huge(ptr as *mut u8, layout.size());
        Some(Vec::from_raw_parts(ptr, n, n))
    }
}

/// Types for which all-zero bytes are a valid value.
pub trait Zeroable {}
impl Zeroable for u8 {}
impl Zeroable for u32 {}
impl Zeroable for u64 {}

/// A zero-filled vector of `n` elements (aborts like `vec!` when memory runs out).
pub fn zeroed<T: Copy + Default + Zeroable>(n: usize) -> Vec<T> {
    try_zeroed(n).unwrap_or_else(|| {
        std::alloc::handle_alloc_error(
            std::alloc::Layout::array::<T>(n).unwrap_or(std::alloc::Layout::new::<T>()),
        )
    })
}

/// A vector holding `n` copies of `value`, on huge pages when large.
pub fn filled<T: Copy>(n: usize, value: T) -> Vec<T> {
    let mut v: Vec<T> = Vec::with_capacity(n);
    advise_huge(v.as_mut_ptr() as *mut u8, n * std::mem::size_of::<T>());
    v.resize(n, value);
    v
}

#[cfg(target_os = "linux")]
fn advise_huge(ptr: *mut u8, bytes: usize) {
    if bytes < HUGE_MIN || std::env::var_os("HEAPHOUND_NO_HUGE_PAGES").is_some() {
        return;
    }
    const PAGE: usize = 4096;
    let start = (ptr as usize).div_ceil(PAGE) * PAGE;
    let end = (ptr as usize + bytes) / PAGE * PAGE;
    if end > start {
        // SAFETY: the range lies inside an allocation we own and have not touched yet;
        // MADV_HUGEPAGE only changes how the kernel backs it.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge(_ptr: *mut u8, _bytes: usize) {}
