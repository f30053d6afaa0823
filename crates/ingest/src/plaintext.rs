//! Graphite plaintext over TCP: the line framing of a connection. Complete lines go to
//! `lookout_proto::graphite` in batches; the unterminated last line waits for the next read. A
//! line that grows past `max_line_bytes` without a newline is counted once
//! (`reason="line_too_long"`) and skipped up to its newline without being buffered, so a
//! 10 MB line costs no memory and the connection goes on. Parsing the lines is `proto`'s job,
//! reading the socket `stream`'s.

use std::sync::Arc;

use lookout_core::Point;
use lookout_proto::{graphite, LineError};
use tokio::net::TcpListener;

use crate::ingest::Shared;
use crate::stream::{serve_stream, Connection, Cut, Framing};

/// Listener and `proto` label of this protocol.
const PROTO: &str = "graphite_tcp";

pub(crate) async fn serve_tcp(shared: Arc<Shared>, listener: TcpListener) {
    let max_line = shared.config.max_line_bytes;
    serve_stream(shared, listener, PROTO, move || LineFraming::new(max_line)).await;
}

/// Where a connection is in its stream of lines.
pub(crate) struct LineFraming {
    max_line: usize,
    /// Inside an over-long line that was already counted: bytes are dropped up to its newline.
    discarding: bool,
}

impl LineFraming {
    pub(crate) fn new(max_line: usize) -> LineFraming {
        LineFraming {
            max_line,
            discarding: false,
        }
    }

    fn refuse_long_line(&self, conn: &Connection) {
        conn.counters.refuse(
            conn.peer,
            lookout_proto::LineErrorKind::LineTooLong.reason(),
            &format_args!("line longer than {} bytes skipped", self.max_line),
        );
    }
}

impl Framing for LineFraming {
    fn cut(&mut self, conn: &Connection, buf: &mut Vec<u8>) -> Cut {
        if self.discarding {
            match memchr::memchr(b'\n', buf) {
                Some(i) => {
                    buf.drain(..=i);
                    self.discarding = false;
                }
                None => {
                    buf.clear();
                    return Cut {
                        ready: 0,
                        close: false,
                    };
                }
            }
        }
        let ready = memchr::memrchr(b'\n', buf).map_or(0, |i| i + 1);
        if buf.len() - ready > self.max_line {
            self.refuse_long_line(conn);
            buf.truncate(ready);
            self.discarding = true;
        }
        Cut {
            ready,
            close: false,
        }
    }

    fn needed(&self) -> usize {
        // A longest line, its newline, and one byte more to learn that a line is too long.
        self.max_line + 2
    }

    fn at_eof(&mut self, _conn: &Connection, rest: &[u8]) -> usize {
        // A last line without its newline is still a line, like `printf 'a 1 2' | nc`;
        // an over-long one was counted when it was cut.
        if self.discarding {
            0
        } else {
            rest.len()
        }
    }

    fn parse(
        conn: &Connection,
        data: &[u8],
        now: i64,
        points: &mut Vec<Point>,
        errors: &mut Vec<LineError>,
    ) {
        let max_line = conn.shared.config.max_line_bytes;
        graphite::parse_with_max_line(data, now, max_line, points, errors);
        conn.counters.record(conn.peer, points.len(), errors, |e| {
            graphite::line_text(data, e.line)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `reads` one after the other, dispatching what each cut makes ready, and compares
    /// the batches, what is left buffered, and how many long lines were counted.
    #[track_caller]
    fn check(max_line: usize, reads: &[&str], batches: &[&str], left: &str, too_long: u64) {
        let conn = Connection::for_test(PROTO);
        let mut framing = LineFraming::new(max_line);
        let mut buf = Vec::new();
        let mut got = Vec::new();
        for read in reads {
            buf.extend_from_slice(read.as_bytes());
            let cut = framing.cut(&conn, &mut buf);
            assert!(!cut.close);
            if cut.ready > 0 {
                got.push(String::from_utf8(buf.drain(..cut.ready).collect()).unwrap());
            }
        }
        assert_eq!(got, batches, "{reads:?}");
        assert_eq!(String::from_utf8(buf).unwrap(), left, "{reads:?}");
        assert_eq!(conn.invalid("line_too_long"), too_long, "{reads:?}");
    }

    #[test]
    fn complete_lines_are_cut_and_the_partial_one_kept() {
        check(64, &["a 1 2\nb 1 2\n"], &["a 1 2\nb 1 2\n"], "", 0);
        check(64, &["a 1 2\nb 1"], &["a 1 2\n"], "b 1", 0);
        check(64, &["a 1 2\nb 1", " 2\n"], &["a 1 2\n", "b 1 2\n"], "", 0);
        check(64, &["a 1", " 2", "\n"], &["a 1 2\n"], "", 0);
        check(64, &["", "no newline yet"], &[], "no newline yet", 0);
    }

    #[test]
    fn over_long_lines_are_skipped_to_their_newline_once_counted() {
        check(8, &["0123456789"], &[], "", 1);
        check(
            8,
            &["0123456789", "abc", "def\nd 1 2\n"],
            &["d 1 2\n"],
            "",
            1,
        );
        check(8, &["x 1\n0123456789"], &["x 1\n"], "", 1);
        check(8, &["012345678", "9\nok\n"], &["ok\n"], "", 1);
        // Exactly the limit is fine, the next byte is not.
        check(8, &["01234567"], &[], "01234567", 0);
        check(8, &["012345678"], &[], "", 1);
        // Two long lines in a row are two refusals.
        check(4, &["aaaaaa\nbbbbbb\nc\n"], &["aaaaaa\nbbbbbb\nc\n"], "", 0);
        check(4, &["aaaaaa", "\nbbbbbb", "\nc\n"], &["c\n"], "", 2);
    }

    #[test]
    fn the_unterminated_last_line_counts_at_eof_unless_skipped() {
        let conn = Connection::for_test(PROTO);
        let mut framing = LineFraming::new(8);
        assert_eq!(framing.at_eof(&conn, b"a 1 2"), 5);
        let mut buf = b"0123456789".to_vec();
        framing.cut(&conn, &mut buf);
        assert_eq!(framing.at_eof(&conn, b"rest"), 0);
    }
}
