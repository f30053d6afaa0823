//! A minimal blocking HTTP/1.1 client over `TcpStream`, just enough to drive lookout's API
//! from the integration tests: one request per connection (`Connection: close`), bodies framed
//! by `Content-Length`, chunked encoding or end of stream. Hand-rolled instead of a client crate
//! so the test binary stays quick to build and so tests can send what a real client would not
//! (oversized bodies, arbitrary bytes). It is not a general client: no TLS, no redirects, no
//! keep-alive.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// No single request in the suite should take this long; a hung server fails the test instead
/// of hanging it.
const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// One HTTP response.
#[derive(Debug)]
pub struct Response {
    /// Status code, e.g. 200.
    pub status: u16,
    /// Header names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    /// The decoded body (chunked encoding removed).
    pub body: Vec<u8>,
}

impl Response {
    /// The body as text; panics with the raw bytes if it is not UTF-8.
    pub fn text(&self) -> String {
        match String::from_utf8(self.body.clone()) {
            Ok(s) => s,
            Err(_) => panic!("response body is not UTF-8: {:?}", self.body),
        }
    }

    /// The body parsed as JSON; panics with the body if it does not parse.
    pub fn json(&self) -> serde_json::Value {
        match serde_json::from_slice(&self.body) {
            Ok(v) => v,
            Err(e) => {
                let text = String::from_utf8_lossy(&self.body);
                let shown: String = text.chars().take(2000).collect();
                panic!("response (HTTP {}) is not JSON: {e}: {shown}", self.status)
            }
        }
    }

    /// First header with this (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one request and reads the whole response. `path` includes the query string.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<Response> {
    let mut stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" || method == "PUT" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    // A server may answer early (413) and stop reading; the response is still worth reading,
    // so a failed body write is not fatal by itself.
    let write_result = body
        .chunks(64 * 1024)
        .try_for_each(|chunk| stream.write_all(chunk));
    match read_response(&mut BufReader::new(&stream)) {
        Ok(r) => Ok(r),
        Err(e) => Err(write_result.err().unwrap_or(e)),
    }
}

fn read_response(r: &mut impl BufRead) -> io::Result<Response> {
    let status_line = read_line(r)?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| bad(format!("bad status line {status_line:?}")))?;
    let mut headers = Vec::new();
    loop {
        let line = read_line(r)?;
        if line.is_empty() {
            break;
        }
        let (k, v) = line
            .split_once(':')
            .ok_or_else(|| bad(format!("bad header line {line:?}")))?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let size_line = read_line(r)?;
            let size_hex = size_line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_hex, 16)
                .map_err(|_| bad(format!("bad chunk size {size_line:?}")))?;
            if size == 0 {
                // Trailers, then the empty line.
                while !read_line(r)?.is_empty() {}
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            r.read_exact(&mut body[start..])?;
            read_line(r)?;
        }
    } else if let Some(len) = find("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| bad(format!("bad content-length {len:?}")))?;
        body.resize(len, 0);
        r.read_exact(&mut body)?;
    } else {
        r.read_to_end(&mut body)?;
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn read_line(r: &mut impl BufRead) -> io::Result<String> {
    let mut line = Vec::new();
    r.read_until(b'\n', &mut line)?;
    if line.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed before the response ended",
        ));
    }
    while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        line.pop();
    }
    String::from_utf8(line).map_err(|_| bad("non-UTF-8 header line".into()))
}

fn bad(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// Percent-encodes a query-string or form value (everything but RFC 3986 unreserved bytes).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `k1=v1&k2=v2`, each part percent-encoded; keys may repeat (`target` does).
pub fn query(params: &[(&str, &str)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(raw: &str, status: u16, body: &str) {
        let r = read_response(&mut raw.as_bytes()).expect("parses");
        assert_eq!(r.status, status);
        assert_eq!(String::from_utf8(r.body).unwrap(), body);
    }

    #[test]
    fn parses_the_three_body_framings() {
        check(
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA",
            200,
            "ok",
        );
        check(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
            200,
            "abcde",
        );
        check("HTTP/1.1 413 Too Large\r\n\r\nuntil eof", 413, "until eof");
    }

    #[test]
    fn encodes_graphite_targets() {
        assert_eq!(
            query(&[("target", "aliasSub(a.b, \"(^.*$)\", \"\\1 A\")")]),
            "target=aliasSub%28a.b%2C%20%22%28%5E.%2A%24%29%22%2C%20%22%5C1%20A%22%29"
        );
    }
}
