//! The allocator's view of the process's memory, and handing its free pages back to the OS.
//!
//! glibc's malloc keeps what the program frees for reuse: the heads (flushed every few
//! minutes) and a log merge's working set go back to its free lists, not to the kernel, so
//! resident memory stays at the high-water mark of every arena that ever held them. That hides
//! whether memory is in use or only held. Two things here make it visible and bounded: the
//! heap gauges (`lookout_process_heap_*`, beside `lookout_process_resident_bytes`) tell the
//! two apart, and [`release_free_memory`], run once a minute by the server, returns free
//! pages inside the arenas (`malloc_trim`), which malloc alone only does at the top of the
//! main heap. Off glibc both are no-ops.

/// What the allocator holds, from `mallinfo2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapStats {
    /// Bytes handed out to the program and not freed (arena chunks plus large mmapped ones).
    pub in_use: u64,
    /// Bytes freed by the program and kept by the allocator; resident only until released.
    pub free: u64,
}

/// The allocator's figures; `None` where the allocator is not glibc's.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn heap_stats() -> Option<HeapStats> {
    // SAFETY: mallinfo2 takes no arguments and returns a struct by value.
    let m = unsafe { libc::mallinfo2() };
    Some(HeapStats {
        in_use: (m.uordblks + m.hblkhd) as u64,
        free: m.fordblks as u64,
    })
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn heap_stats() -> Option<HeapStats> {
    None
}

/// Returns the allocator's free pages to the OS (they stay mapped and come back zeroed on the
/// next use). Costs a walk of the free lists, a few milliseconds on a large heap, so it runs
/// on a timer rather than after every free.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn release_free_memory() {
    // SAFETY: malloc_trim only walks and madvises the allocator's own free chunks.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_free_memory() {}

/// Resident set size from /proc/self/statm (pages × page size); `None` off Linux.
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf reads a constant of the running system.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).unwrap_or(4096))
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    /// Freed chunks below the top of an arena stay resident until released. The test frees
    /// 128 MiB of 64 KiB chunks (below the mmap threshold, so they come from an arena) while
    /// keeping the last one, which pins the arena's top; tests running beside it can only
    /// add resident memory, so the margin is half the freed size.
    #[test]
    fn released_free_chunks_leave_the_resident_set() {
        std::thread::spawn(|| {
            let chunks: Vec<Vec<u8>> = (0..2048).map(|i| vec![i as u8 | 1; 64 << 10]).collect();
            let held = heap_stats().expect("glibc").in_use;
            assert!(held >= 128 * MIB, "in use {held}");
            let mut chunks = chunks;
            let last = chunks.pop();
            drop(chunks);
            let stats = heap_stats().expect("glibc");
            assert!(stats.free >= 100 * MIB, "free {}", stats.free);
            let before = resident_bytes().expect("linux");
            release_free_memory();
            let after = resident_bytes().expect("linux");
            assert!(
                before.saturating_sub(after) >= 64 * MIB,
                "resident {} MiB before the release, {} MiB after",
                before / MIB,
                after / MIB
            );
            drop(last);
        })
        .join()
        .expect("test thread");
    }
}
