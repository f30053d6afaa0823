//! RFC 6587 TCP framing for syslog: octet-counting (`LEN SP MSG`) or non-transparent framing
//! (a message per line), chosen per connection from its first byte, with no unbounded
//! buffering. Parsing the message inside a frame is `syslog::parse_message`'s job; reading
//! the socket and keeping the buffer is the listener's.

use std::ops::Range;

use lookout_core::limits::MAX_SYSLOG_MESSAGE_BYTES;

/// Decimal digits of the largest accepted octet count plus one; more digits can only be an
/// oversized or garbage length, so the framer stops looking for the space there.
const MAX_LEN_DIGITS: usize = 10;

/// How a connection frames its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FramingMode {
    /// `MSG-LEN SP SYSLOG-MSG` (RFC 6587 §3.4.1); chosen when the first byte is a digit.
    OctetCounting,
    /// One message per line, ended by LF (RFC 6587 §3.4.2); chosen otherwise (normally `<`).
    LineFeed,
}

/// One step of the framer over the caller's buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Where the message is in the buffer passed in, if this step produced one. `None` when
    /// the step only discarded the tail of an oversized line.
    pub message: Option<Range<usize>>,
    /// Bytes at the front of the buffer the caller must drop before the next call (read the
    /// message out first).
    pub consumed: usize,
    /// The message is the head of a line longer than [`MAX_SYSLOG_MESSAGE_BYTES`]: count it.
    /// Its range is one byte longer than the limit so that `parse_message` cuts it and marks it
    /// with `truncated=true` like any other oversized message.
    pub truncated: bool,
}

/// A stream that cannot be framed any more: the connection must be closed, since where the
/// next message starts is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// An octet-counted frame does not start with `digits SP`.
    #[error("octet-counted frame without a valid length")]
    BadLength,
    /// An octet count above [`MAX_SYSLOG_MESSAGE_BYTES`].
    #[error("octet-counted frame of {len} bytes exceeds the limit")]
    TooLarge {
        /// The announced length.
        len: u64,
    },
}

impl FrameError {
    /// The `reason` label under which listeners count this error.
    pub fn reason(&self) -> &'static str {
        match self {
            FrameError::BadLength => "frame_length",
            FrameError::TooLarge { .. } => "frame_too_large",
        }
    }
}

/// Per-connection framing state. Feed it the unconsumed bytes of the read buffer; it never
/// asks the caller to hold more than one message plus a length prefix.
#[derive(Debug, Clone, Default)]
pub struct Framer {
    /// Decided from the connection's first non-blank byte, then fixed.
    mode: Option<FramingMode>,
    /// Set after an oversized line was cut: bytes up to the next LF are dropped as they come,
    /// so a 10 MB line costs one message and no buffer growth.
    skipping: bool,
}

impl Framer {
    /// A framer for a new connection.
    pub fn new() -> Framer {
        Framer::default()
    }

    /// The framing chosen for this connection, once its first byte has been seen.
    pub fn mode(&self) -> Option<FramingMode> {
        self.mode
    }

    /// The next step over `buf`: `Ok(None)` means more bytes are needed (nothing consumed);
    /// `Ok(Some(frame))` says what to drop and where the message is. Blank lines and blanks
    /// between octet-counted frames are consumed along with the next frame.
    pub fn next_frame(&mut self, buf: &[u8]) -> Result<Option<Frame>, FrameError> {
        if self.skipping {
            return Ok((!buf.is_empty()).then(|| self.skip(buf)));
        }
        let start = buf
            .iter()
            .position(|c| !matches!(c, b'\n' | b'\r' | b'\0' | b' '));
        let Some(start) = start else {
            if buf.is_empty() {
                return Ok(None);
            }
            return Ok(Some(Frame {
                message: None,
                consumed: buf.len(),
                truncated: false,
            }));
        };
        let mode = *self.mode.get_or_insert(if buf[start].is_ascii_digit() {
            FramingMode::OctetCounting
        } else {
            FramingMode::LineFeed
        });
        match mode {
            FramingMode::OctetCounting => octet_counted(buf, start),
            FramingMode::LineFeed => Ok(self.line(buf, start)),
        }
    }

    fn skip(&mut self, buf: &[u8]) -> Frame {
        match memchr::memchr(b'\n', buf) {
            Some(i) => {
                self.skipping = false;
                Frame {
                    message: None,
                    consumed: i + 1,
                    truncated: false,
                }
            }
            None => Frame {
                message: None,
                consumed: buf.len(),
                truncated: false,
            },
        }
    }

    fn line(&mut self, buf: &[u8], start: usize) -> Option<Frame> {
        let window = &buf[start..buf.len().min(start + MAX_SYSLOG_MESSAGE_BYTES + 1)];
        if let Some(i) = memchr::memchr(b'\n', window) {
            return Some(Frame {
                message: Some(start..start + i),
                consumed: start + i + 1,
                truncated: false,
            });
        }
        if window.len() <= MAX_SYSLOG_MESSAGE_BYTES {
            return None;
        }
        self.skipping = true;
        Some(Frame {
            message: Some(start..start + window.len()),
            consumed: start + window.len(),
            truncated: true,
        })
    }
}

fn octet_counted(buf: &[u8], start: usize) -> Result<Option<Frame>, FrameError> {
    let head = &buf[start..];
    let digits = head
        .iter()
        .take(MAX_LEN_DIGITS + 1)
        .take_while(|c| c.is_ascii_digit())
        .count();
    if digits > MAX_LEN_DIGITS {
        return Err(FrameError::BadLength);
    }
    match head.get(digits) {
        None => return Ok(None),
        Some(b' ') => {}
        Some(_) => return Err(FrameError::BadLength),
    }
    let len = head[..digits]
        .iter()
        .fold(0u64, |acc, &c| acc * 10 + u64::from(c - b'0'));
    if len > MAX_SYSLOG_MESSAGE_BYTES as u64 {
        return Err(FrameError::TooLarge { len });
    }
    let body = start + digits + 1;
    let end = body + len as usize;
    if buf.len() < end {
        return Ok(None);
    }
    Ok(Some(Frame {
        message: Some(body..end),
        consumed: end,
        truncated: false,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a framer over `input` delivered in pieces of `step` bytes, as a listener would,
    /// and returns the messages, how many were cut, and the most the buffer ever held.
    fn run(input: &[u8], step: usize) -> Result<(Vec<Vec<u8>>, usize, usize), FrameError> {
        let mut framer = Framer::new();
        let mut buf = Vec::new();
        let (mut out, mut cut, mut peak) = (Vec::new(), 0, 0);
        for piece in input.chunks(step) {
            buf.extend_from_slice(piece);
            peak = peak.max(buf.len());
            while let Some(frame) = framer.next_frame(&buf)? {
                if let Some(range) = frame.message {
                    out.push(buf[range].to_vec());
                }
                cut += usize::from(frame.truncated);
                buf.drain(..frame.consumed);
            }
        }
        Ok((out, cut, peak))
    }

    #[track_caller]
    fn check(input: &[u8], expected: Result<&[&[u8]], FrameError>) {
        for step in [1, 3, 7, input.len().max(1)] {
            let got = run(input, step).map(|(msgs, _, _)| msgs);
            let want = expected.map(|e| e.iter().map(|m| m.to_vec()).collect::<Vec<_>>());
            assert_eq!(got, want, "{} in steps of {step}", crate::excerpt(input));
        }
    }

    #[test]
    fn frames_by_octet_count_or_line() {
        check(
            b"107 <34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed for lonvick on /dev/pts/8",
            Ok(&[b"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed for lonvick on /dev/pts/8"]),
        );
        check(b"5 <13>a3 <1>", Ok(&[b"<13>a", b"<1>"]));
        check(b"5 <13>a\n3 <1>", Ok(&[b"<13>a", b"<1>"]));
        check(b"7 <13>a\nb", Ok(&[b"<13>a\nb"]));
        check(b"5 <13>", Ok(&[]));
        check(b"<13>a\n<14>b\r\n\n<15>c", Ok(&[b"<13>a", b"<14>b\r"]));
        check(b"\n\n<13>a\n", Ok(&[b"<13>a"]));
        check(b"", Ok(&[]));
        check(b"5x<13>a", Err(FrameError::BadLength));
        check(b"5 <13>a<13>", Err(FrameError::BadLength));
        check(b"12345678901 x", Err(FrameError::BadLength));
        check(b"65537 <13>", Err(FrameError::TooLarge { len: 65_537 }));
    }

    #[test]
    fn oversized_line_is_cut_counted_and_rest_skipped_without_buffering() {
        let mut input = b"<13>".to_vec();
        input.resize(10 * 1024 * 1024, b'x');
        input.extend_from_slice(b"\n<14>next\n");
        let (msgs, cut, peak) = run(&input, 4096).unwrap();
        assert_eq!(cut, 1);
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].len(), MAX_SYSLOG_MESSAGE_BYTES + 1);
        assert_eq!(msgs[1], b"<14>next");
        assert!(
            peak <= MAX_SYSLOG_MESSAGE_BYTES + 4096,
            "buffer grew to {peak}"
        );
        let record = crate::syslog::parse_message(&msgs[0], 0, "p").unwrap();
        assert!(record.fields.contains(&("truncated".into(), "true".into())));
    }

    #[test]
    fn mode_is_chosen_from_the_first_byte() {
        let mut f = Framer::new();
        assert_eq!(f.next_frame(b"").unwrap(), None);
        assert_eq!(f.mode(), None);
        f.next_frame(b"12 ").unwrap();
        assert_eq!(f.mode(), Some(FramingMode::OctetCounting));
        let mut f = Framer::new();
        f.next_frame(b"<13>").unwrap();
        assert_eq!(f.mode(), Some(FramingMode::LineFeed));
    }
}
