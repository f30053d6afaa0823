//! GELF over UDP and TCP into the in-memory log store: plain, gzip and zlib datagrams, chunked
//! messages (out of order, duplicated, too many chunks, never completed), and NUL-framed TCP
//! (several messages per write, messages split across writes, an oversized frame skipped).
//!
//! Compressed payloads are built here with stored (uncompressed) deflate blocks, which every
//! inflater accepts, so the tests need no compression library.

use lookout_core::limits::MAX_GELF_DECOMPRESSED_BYTES;
use lookout_core::{Glob, LogOrder, LogQuery, LogReader, Severity};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::harness::eventually;
use super::log_harness::{Listeners, LogServer};

const INVALID: &str = "lookout_ingest_records_invalid_total";
const RECEIVED: &str = "lookout_ingest_records_received_total";

/// `lookout_ingest_records_invalid_total{proto,reason}`.
fn invalid(server: &LogServer, proto: &str, reason: &str) -> u64 {
    server.counter(INVALID, &[("proto", proto), ("reason", reason)])
}

/// `lookout_ingest_records_received_total{proto}`.
fn received(server: &LogServer, proto: &str) -> u64 {
    server.counter(RECEIVED, &[("proto", proto)])
}

/// A minimal GELF 1.1 message.
fn message(host: &str, short: &str) -> Vec<u8> {
    format!(
        r#"{{"version":"1.1","host":"{host}","short_message":"{short}","level":3,"_component":"shop.cart"}}"#
    )
    .into_bytes()
}

/// `data` as deflate stored blocks (at most 65535 bytes each).
fn stored_deflate(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let blocks: Vec<&[u8]> = if data.is_empty() {
        vec![data]
    } else {
        data.chunks(65_535).collect()
    };
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len()));
        let len = u16::try_from(block.len()).unwrap();
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    out.extend(stored_deflate(data));
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    out.extend(stored_deflate(data));
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

/// A gzip bomb: `n` bytes of `x` (a multiple of 258, plus one), in one fixed-Huffman deflate
/// block of back-references, a few kilobytes long.
fn gzip_bomb(n: usize) -> Vec<u8> {
    let mut bits = Bits::default();
    bits.put(0b011, 3); // last block, fixed Huffman
    bits.code(0x30 + u32::from(b'x'), 8); // literal 'x'
    for _ in 0..(n - 1) / 258 {
        bits.code(0xC0 + (285 - 280), 8); // length 258
        bits.code(0, 5); // distance 1
    }
    bits.code(0, 7); // end of block
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    out.extend(bits.bytes);
    out.extend_from_slice(&[0; 8]); // the CRC is never reached: inflating stops at the limit
    out
}

/// Deflate's bit order: values least significant bit first, Huffman codes most significant
/// bit first.
#[derive(Default)]
struct Bits {
    bytes: Vec<u8>,
    used: u32,
}

impl Bits {
    fn put(&mut self, value: u32, len: u32) {
        for i in 0..len {
            if self.used % 8 == 0 {
                self.bytes.push(0);
            }
            let bit = u8::from(value >> i & 1 == 1);
            *self.bytes.last_mut().unwrap() |= bit << (self.used % 8);
            self.used += 1;
        }
    }

    fn code(&mut self, code: u32, len: u32) {
        self.put(code.reverse_bits() >> (32 - len), len);
    }
}

/// Chunk `seq` of `count` of message `id`, carrying `data`.
fn chunk(id: u64, seq: u8, count: u8, data: &[u8]) -> Vec<u8> {
    let mut c = vec![0x1e, 0x0f];
    c.extend_from_slice(&id.to_be_bytes());
    c.extend_from_slice(&[seq, count]);
    c.extend_from_slice(data);
    c
}

/// `payload` cut into `n` chunks of message `id`, in sequence order.
fn chunks(id: u64, payload: &[u8], n: usize) -> Vec<Vec<u8>> {
    let size = payload.len().div_ceil(n);
    let count = u8::try_from(n).unwrap();
    payload
        .chunks(size)
        .enumerate()
        .map(|(i, part)| chunk(id, u8::try_from(i).unwrap(), count, part))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_plain_gzip_and_zlib_payloads_are_stored() {
    let server = LogServer::start(Listeners::Gelf).await;
    server
        .send_udp(&[
            message("web01", "plain"),
            gzip(&message("web02", "gzipped")),
            zlib(&message("web03", "zlibbed")),
        ])
        .await;
    server.store.wait(3).await;
    assert_eq!(server.store.messages(), ["gzipped", "plain", "zlibbed"]);
    let all = server.store.mem.query(&LogQuery {
        component: Glob::new("shop.cart").unwrap(),
        from_ns: i64::MIN,
        until_ns: i64::MAX,
        max_severity: None,
        host: Some(Glob::new("web02").unwrap()),
        contains: None,
        regex: None,
        fields: Vec::new(),
        limit: 10,
        order: LogOrder::Asc,
        cursor: None,
    });
    let records = all.unwrap().records;
    assert_eq!(records.len(), 1, "host and component come from the JSON");
    assert_eq!(records[0].severity, Severity::Error);
    assert_eq!(received(&server, "gelf_udp"), 3);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_chunks_out_of_order_and_duplicated_are_reassembled_once() {
    let server = LogServer::start(Listeners::Gelf).await;
    let payload = gzip(&message("web01", "reassembled"));
    let parts = chunks(7, &payload, 3);
    let shuffled = [2, 0, 2, 1, 0].map(|i| parts[i].clone());
    server.send_udp(&shuffled).await;
    server.store.wait(1).await;
    // A later whole message is stored after it: the duplicates made no second record.
    server.send_udp(&[message("web01", "after")]).await;
    server.store.wait(2).await;
    assert_eq!(server.store.messages(), ["after", "reassembled"]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_a_message_of_129_chunks_is_refused_and_counted() {
    let server = LogServer::start(Listeners::Gelf).await;
    let refused: Vec<Vec<u8>> = (0..3).map(|seq| chunk(9, seq, 129, b"{}")).collect();
    server.send_udp(&refused).await;
    server.send_udp(&[message("web01", "still served")]).await;
    server.store.wait(1).await;
    eventually("three refused chunks counted", || {
        invalid(&server, "gelf_udp", "chunk_count") == 3
    })
    .await;
    assert_eq!(server.store.messages(), ["still served"]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_an_incomplete_chunked_message_is_not_stored() {
    // Expiry after 5 s is covered by the unit tests on an explicit clock; here the listener
    // must hold the incomplete message aside and keep serving.
    let server = LogServer::start(Listeners::Gelf).await;
    let parts = chunks(11, &message("web01", "never whole"), 2);
    server.send_udp(&parts[..1]).await;
    server.send_udp(&[message("web01", "whole")]).await;
    server.store.wait(1).await;
    assert_eq!(server.store.messages(), ["whole"]);
    let registry = server.registry.clone();
    server.stop().await;
    let labels = [("proto", "gelf_udp")];
    assert_eq!(registry.counter(RECEIVED, "", &labels).get(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_corrupt_payloads_are_counted_by_reason() {
    let server = LogServer::start(Listeners::Gelf).await;
    let mut corrupt = gzip(&message("web01", "x"));
    corrupt.truncate(corrupt.len() - 6);
    server
        .send_udp(&[b"not json".to_vec(), corrupt, message("web01", "good")])
        .await;
    server.store.wait(1).await;
    eventually("refusals counted", || {
        invalid(&server, "gelf_udp", "json") == 1
            && invalid(&server, "gelf_udp", "compression") == 1
    })
    .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_a_gzip_bomb_is_refused_and_counted() {
    let server = LogServer::start(Listeners::Gelf).await;
    let bomb = gzip_bomb(4 * MAX_GELF_DECOMPRESSED_BYTES);
    assert!(bomb.len() < 65_000, "the bomb fits a datagram");
    server
        .send_udp(&[bomb, message("web01", "after the bomb")])
        .await;
    server.store.wait(1).await;
    eventually("the bomb counted", || {
        invalid(&server, "gelf_udp", "too_large") == 1
    })
    .await;
    assert_eq!(server.store.messages(), ["after the bomb"]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_nul_framed_messages_in_one_write_and_split_across_writes() {
    let server = LogServer::start(Listeners::Gelf).await;
    let mut stream = TcpStream::connect(server.tcp).await.unwrap();
    let mut one_write = Vec::new();
    for short in ["first", "second", "third"] {
        one_write.extend(message("web01", short));
        one_write.push(0);
    }
    stream.write_all(&one_write).await.unwrap();
    server.store.wait(3).await;

    let mut split = message("web02", "split");
    split.push(0);
    let (head, tail) = split.split_at(split.len() / 2);
    stream.write_all(head).await.unwrap();
    stream.flush().await.unwrap();
    stream.write_all(tail).await.unwrap();
    let mut last = message("web02", "last, closed without a NUL");
    last.insert(0, b'\n');
    stream.write_all(&last).await.unwrap();
    stream.shutdown().await.unwrap();
    server.store.wait(5).await;
    assert_eq!(
        server.store.messages(),
        [
            "first",
            "last, closed without a NUL",
            "second",
            "split",
            "third"
        ]
    );
    assert_eq!(received(&server, "gelf_tcp"), 5);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_an_oversized_frame_is_skipped_and_the_next_message_stored() {
    let server = LogServer::start(Listeners::Gelf).await;
    let mut stream = TcpStream::connect(server.tcp).await.unwrap();
    let mut first = message("web01", "before");
    first.push(0);
    stream.write_all(&first).await.unwrap();
    let filler = vec![b'x'; 64 * 1024];
    let mut sent = 0;
    while sent <= MAX_GELF_DECOMPRESSED_BYTES + 1 {
        stream.write_all(&filler).await.unwrap();
        sent += filler.len();
    }
    let mut next = vec![0];
    next.extend(message("web01", "after"));
    next.push(0);
    stream.write_all(&next).await.unwrap();
    server.store.wait(2).await;
    assert_eq!(server.store.messages(), ["after", "before"]);
    assert_eq!(invalid(&server, "gelf_tcp", "frame_too_large"), 1);
    server.stop().await;
}
