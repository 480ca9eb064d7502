//! How the process's heap behaves in long batches. An FFI file (one call
//! into the C library), like those named in the crate's documentation.
//!
//! glibc serves a large allocation (128 KiB and more: a signHash reply of
//! a 1,000-signature chunk, the HTTP read buffer, a chunk's signature
//! table) with `mmap` and returns it to the system on `free`, but only
//! until the first such block is freed: then it raises its threshold to
//! that size and serves the next ones from the heap, where they stay
//! resident after they are freed and fragment it. In a pipeline that frees
//! and allocates such blocks once per chunk, the process's resident memory
//! then grows with the number of chunks. [`return_large_buffers`] fixes
//! the threshold, so that resident memory follows what is in flight, not
//! how long the batch has run (`benches/pipeline.rs` measures it).

/// The size from which blocks are mapped and unmapped on their own
/// (glibc's initial threshold).
pub const LARGE_BLOCK: usize = 128 * 1024;

/// Makes the C library return every block of [`LARGE_BLOCK`] bytes or
/// more to the system when it is freed, for the rest of the process. For
/// programs that sign long batches (`crpki sign` calls it); a library
/// that is only loaded into another program (the PKCS#11 module, the
/// Windows providers) leaves the host's allocator alone. Does nothing on
/// other C libraries than glibc, whose allocators do not keep such blocks.
/// Returns whether the setting was made.
pub fn return_large_buffers() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let threshold = libc::c_int::try_from(LARGE_BLOCK).unwrap_or(libc::c_int::MAX);
        // SAFETY: mallopt only sets an allocator parameter; it takes two
        // integers, touches no memory of ours, and may be called at any
        // time from any thread (glibc takes its arena lock).
        #[allow(unsafe_code)]
        let done = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, threshold) };
        done == 1
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn glibc_takes_the_setting() {
        assert!(super::return_large_buffers());
    }
}
