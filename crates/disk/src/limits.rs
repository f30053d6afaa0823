//! The process's open-files limit. Each store keeps its block files open while they are
//! readable (a query must not fail because a file went away under it), so a data directory
//! with months of retention holds hundreds to thousands of descriptors, plus the ingest
//! connections. The common default soft limit (1024) is far below the hard limit (often
//! 524288 under systemd), and a server is expected to raise it, as Go programs do at start.

use std::io;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns (before, after). Never lowers
/// it and changes nothing when it is already at the hard limit.
pub fn raise_open_files_limit() -> io::Result<(u64, u64)> {
    let mut lim = nofile()?;
    let before = lim.rlim_cur;
    if lim.rlim_cur >= lim.rlim_max {
        return Ok((before, before));
    }
    lim.rlim_cur = lim.rlim_max;
    // SAFETY: setrlimit only reads the struct we pass by pointer.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((before, lim.rlim_cur))
}

/// The soft `RLIMIT_NOFILE` now in force.
pub fn open_files_limit() -> io::Result<u64> {
    Ok(nofile()?.rlim_cur)
}

/// The current (soft, hard) `RLIMIT_NOFILE`.
fn nofile() -> io::Result<libc::rlimit> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` into the struct we own and pass by pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(lim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_ends_at_the_hard_limit_and_never_drops() {
        let start = open_files_limit().unwrap();
        let (before, after) = raise_open_files_limit().unwrap();
        assert_eq!(before, start);
        assert!(after >= before);
        assert_eq!(open_files_limit().unwrap(), after);
        // A second call finds it raised already.
        assert_eq!(raise_open_files_limit().unwrap(), (after, after));
    }
}
