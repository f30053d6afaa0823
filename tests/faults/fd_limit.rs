//! Running out of file descriptors: every readable block file stays open, so a data directory
//! with weeks of retention needs more than the common soft limit of 1024. The server raises
//! its soft limit to the hard one at start.

use crate::util::{Launch, Lookout};

/// The (soft, hard) "Max open files" of a running process, from `/proc/PID/limits`.
fn open_files_limits(pid: u32) -> (u64, u64) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("/proc limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("a Max open files line");
    let numbers: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    (numbers[0], numbers[1])
}

#[test]
fn the_open_files_soft_limit_is_raised_to_the_hard_limit() {
    // prlimit sets the limits and then execs lookout in the same process.
    let l = Lookout::start_launched(&[], |_| Launch {
        wrapper: vec!["prlimit".into(), "--nofile=256:4096".into(), "--".into()],
        ..Launch::default()
    });
    assert_eq!(open_files_limits(l.pid()), (4096, 4096));
}
