//! Where the `events()` render function reads Graphite events (annotations) from. The query
//! crate keeps no events: the caller passes in whatever stores them (the binary's events store,
//! with its error-burst events), so this crate stays free of storage and HTTP. Counting the
//! events onto a series is `Evaluator::events`, not here.

/// A source of Graphite events, as `events(*tags)` needs them.
pub trait EventSource {
    /// The times (unix seconds) of the events in `[from, until]`, both ends included as
    /// graphite-web's `Event.find_events` does, that carry every one of `tags`; every event when
    /// `tags` is empty. Any order. An error is the store's failure, not the target's: its text
    /// becomes the message of an [`ErrorKind::Store`](crate::ErrorKind::Store) error.
    fn event_times(&self, from: i64, until: i64, tags: &[String]) -> Result<Vec<i64>, String>;
}
