//! What apply does about glibc's allocator so that its peak memory stays bounded on large
//! tables (measured with tests/bench/run; nothing here changes what apply does).

/// Makes every allocation of 128 KiB or more from now on a mapping of its own, returned
/// to the kernel when freed. By default glibc raises that threshold to the size of the
/// largest such block freed so far (up to 32 MiB) and serves later ones from its heap,
/// where a freed block stays in memory: after the plan (14 MB at 100,000 x 2) was
/// freed, the table read to verify kept a 10 MB buffer that way, and apply's peak grew
/// by as much. Not from the start: a mapping for each large block cost 0.1 s of an
/// apply of 10,000 x 5 under emulation (page faults), and only the read back needs it.
pub fn return_large_blocks_at_once() {
    // SAFETY: mallopt only sets a parameter of the allocator.
    #[cfg(target_env = "gnu")]
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 << 10);
    }
}

/// Returns to the kernel the free pages among those FILE's services hold (left by
/// reading FILE in pieces and by checking it; later, by the plan and the table first
/// read): the plan and the table read again take fresh pages, not those, so without
/// this they would add to apply's peak (by about 11 MB at 100,000 x 2). Also while
/// FILE's pieces are joined (see `desired::join`).
pub fn give_back_free_memory() {
    // SAFETY: malloc_trim only releases free memory of the allocator's own arenas.
    #[cfg(target_env = "gnu")]
    unsafe {
        libc::malloc_trim(0);
    }
}
