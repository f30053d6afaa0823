//! Exponential back-off after a socket error (`accept`, `recv`) that may persist, such as
//! running out of file descriptors: retrying at once would spin a core while changing nothing.
//! What counts as an error to back off from is the caller's business.

use std::time::Duration;

use tokio::sync::watch;

use crate::ingest::Shared;

/// First pause: long enough that a descriptor freed by a closing connection is likely back,
/// short enough that a one-off error (a client resetting mid-handshake) costs nothing visible.
const FIRST_PAUSE: Duration = Duration::from_millis(5);

/// Longest pause: an exhausted descriptor table recovers only as connections close, so
/// retrying once a second costs nothing and bounds the recovery delay to a second.
const MAX_PAUSE: Duration = Duration::from_secs(1);

pub(crate) struct Backoff {
    next: Duration,
}

impl Backoff {
    pub(crate) fn new() -> Backoff {
        Backoff { next: FIRST_PAUSE }
    }

    /// A success: the next error starts again from the shortest pause.
    pub(crate) fn reset(&mut self) {
        self.next = FIRST_PAUSE;
    }

    /// Waits after an error, doubling the pause each time up to the cap. Returns `false` if
    /// shutdown was requested meanwhile.
    pub(crate) async fn pause(&mut self, shutdown: &mut watch::Receiver<bool>) -> bool {
        let pause = self.next;
        self.next = (self.next * 2).min(MAX_PAUSE);
        tokio::select! {
            () = Shared::stopped(shutdown) => false,
            () = tokio::time::sleep(pause) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn pauses_double_up_to_the_cap_and_reset() {
        let (_tx, mut rx) = watch::channel(false);
        let mut b = Backoff::new();
        let mut seen = Vec::new();
        for _ in 0..10 {
            seen.push(b.next);
            assert!(b.pause(&mut rx).await);
        }
        assert_eq!(seen[0], FIRST_PAUSE);
        assert_eq!(seen[1], FIRST_PAUSE * 2);
        assert_eq!(seen[9], MAX_PAUSE);
        b.reset();
        assert_eq!(b.next, FIRST_PAUSE);
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_interrupts_a_pause() {
        let (tx, mut rx) = watch::channel(false);
        let mut b = Backoff::new();
        tx.send(true).unwrap();
        assert!(!b.pause(&mut rx).await);
    }
}
