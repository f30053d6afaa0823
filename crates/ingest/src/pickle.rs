//! Carbon's pickle protocol over TCP: the frame framing of a connection. Complete frames go to
//! `lookout_proto::pickle` in batches; a frame whose length prefix is over
//! `max_pickle_frame_bytes` is counted and closes the connection, since what follows cannot be
//! trusted to start a frame. A refused pickle (one that tries to execute code, or is
//! malformed) costs only its own frame. Decoding is `proto`'s job, reading the socket
//! `stream`'s.

use std::sync::Arc;

use lookout_core::Point;
use lookout_proto::{pickle, LineError};
use tokio::net::TcpListener;

use crate::ingest::Shared;
use crate::stream::{serve_stream, Connection, Cut, Framing};

/// Listener and `proto` label of this protocol.
const PROTO: &str = "pickle";

/// Bytes of a frame's length prefix.
const HEADER_BYTES: usize = 4;

pub(crate) async fn serve_tcp(shared: Arc<Shared>, listener: TcpListener) {
    let max_frame = shared.config.max_pickle_frame_bytes;
    serve_stream(shared, listener, PROTO, move || {
        FrameFraming::new(max_frame)
    })
    .await;
}

/// Where a connection is in its stream of frames.
pub(crate) struct FrameFraming {
    max_frame: usize,
    /// Size of the frame being received, once its header is in, so the buffer can hold it.
    partial_frame: usize,
}

impl FrameFraming {
    pub(crate) fn new(max_frame: usize) -> FrameFraming {
        FrameFraming {
            max_frame,
            partial_frame: 0,
        }
    }
}

impl Framing for FrameFraming {
    fn cut(&mut self, conn: &Connection, buf: &mut Vec<u8>) -> Cut {
        let mut ready = 0;
        loop {
            let rest = buf.get(ready..).unwrap_or_default();
            match pickle::next_frame(rest, self.max_frame) {
                Ok(Some((_, used))) => ready += used,
                Ok(None) => {
                    self.partial_frame = rest
                        .first_chunk::<HEADER_BYTES>()
                        .map_or(0, |h| HEADER_BYTES + u32::from_be_bytes(*h) as usize);
                    return Cut {
                        ready,
                        close: false,
                    };
                }
                Err(e) => {
                    conn.counters.refuse(conn.peer, e.reason(), &e);
                    return Cut { ready, close: true };
                }
            }
        }
    }

    fn needed(&self) -> usize {
        self.partial_frame
    }

    fn at_eof(&mut self, conn: &Connection, rest: &[u8]) -> usize {
        conn.counters.refuse(
            conn.peer,
            "truncated",
            &format_args!(
                "connection closed inside a pickle frame ({} bytes)",
                rest.len()
            ),
        );
        0
    }

    fn parse(
        conn: &Connection,
        data: &[u8],
        now: i64,
        points: &mut Vec<Point>,
        errors: &mut Vec<LineError>,
    ) {
        let max_frame = conn.shared.config.max_pickle_frame_bytes;
        let mut at = 0;
        while let Ok(Some((range, used))) =
            pickle::next_frame(data.get(at..).unwrap_or_default(), max_frame)
        {
            let payload = data
                .get(at + range.start..at + range.end)
                .unwrap_or_default();
            at += used;
            let before = points.len();
            errors.clear();
            match pickle::parse_frame(payload, now, points, errors) {
                Ok(()) => conn
                    .counters
                    .record(conn.peer, points.len() - before, errors, |_| None),
                Err(e) => conn.counters.refuse(conn.peer, e.reason(), &e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut f = (payload.len() as u32).to_be_bytes().to_vec();
        f.extend_from_slice(payload);
        f
    }

    /// Cuts `buf` once and compares the ready length, whether the stream closes, the buffer
    /// the framing asks for, and the `frame_too_large` count.
    #[track_caller]
    fn check(
        max_frame: usize,
        buf: &[u8],
        ready: usize,
        close: bool,
        needed: usize,
        too_large: u64,
    ) {
        let conn = Connection::for_test(PROTO);
        let mut framing = FrameFraming::new(max_frame);
        let mut buf = buf.to_vec();
        let cut = framing.cut(&conn, &mut buf);
        assert_eq!((cut.ready, cut.close), (ready, close), "{buf:?}");
        assert_eq!(framing.needed(), needed, "{buf:?}");
        assert_eq!(conn.invalid("frame_too_large"), too_large, "{buf:?}");
    }

    #[test]
    fn complete_frames_are_cut_and_oversized_ones_close() {
        let a = frame(b"\x80\x02].");
        let two = [a.clone(), a.clone()].concat();
        check(100, &a, 8, false, 0, 0);
        check(100, &two, 16, false, 0, 0);
        check(100, &two[..12], 8, false, 8, 0);
        check(100, &two[..10], 8, false, 0, 0);
        check(100, b"", 0, false, 0, 0);
        check(100, &[0, 0, 0, 100], 0, false, 104, 0);
        check(100, &[0, 0, 0, 101], 0, true, 0, 1);
        check(100, &[&a[..], &[0, 0, 1, 0]].concat(), 8, true, 0, 1);
    }

    #[test]
    fn a_frame_cut_by_end_of_stream_is_counted() {
        let conn = Connection::for_test(PROTO);
        let mut framing = FrameFraming::new(100);
        assert_eq!(framing.at_eof(&conn, &[0, 0, 0, 9, 1]), 0);
        assert_eq!(conn.invalid("truncated"), 1);
    }

    #[test]
    fn parse_keeps_good_frames_around_a_refused_one() {
        let conn = Connection::for_test(PROTO);
        let mut data = Vec::new();
        let good = Point {
            name: "a.b".into(),
            ts: 10,
            value: 1.0,
        };
        pickle::encode(std::slice::from_ref(&good), &mut data);
        data.extend(frame(b"cos\nsystem\n(S'echo hi'\ntR."));
        pickle::encode(std::slice::from_ref(&good), &mut data);
        let (mut points, mut errors) = (Vec::new(), Vec::new());
        FrameFraming::parse(&conn, &data, 0, &mut points, &mut errors);
        assert_eq!(points, [good.clone(), good]);
        assert_eq!(conn.invalid("pickle_forbidden"), 1);
    }
}
