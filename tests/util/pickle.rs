//! Hand-written pickle bytes for the pickle listener tests: the good payload carbon clients
//! send (`pickle.dumps([(path, (ts, value)), ...], protocol=2)` behind a 4-byte big-endian
//! length) and the hostile ones (code execution through GLOBAL/REDUCE, wrong shapes,
//! truncation). It encodes only what those tests need; it never decodes.

/// One length-prefixed frame, as carbon's pickle receiver reads them.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).expect("test payloads are far below 4 GiB");
    let mut out = len.to_be_bytes().to_vec();
    out.extend_from_slice(payload);
    out
}

/// The payload CPython 3 writes for `pickle.dumps(points_as_list_of_tuples, protocol=2)`:
/// PROTO 2, EMPTY_LIST, then per batch of up to 1,000 items MARK, items, APPENDS (a batch of
/// one is the item and APPEND); each item is BINUNICODE name, BININT timestamp (BINFLOAT for a
/// fractional one), BINFLOAT value, TUPLE2, TUPLE2; STOP. BINPUT memo entries are written as
/// CPython writes them, so the decoder sees real-world input.
pub fn points_payload(points: &[(&str, f64, f64)]) -> Vec<u8> {
    let mut out = vec![0x80, 2, b']'];
    let mut memo: u32 = 0;
    let mut put = |out: &mut Vec<u8>| {
        match u8::try_from(memo) {
            Ok(m) => out.extend_from_slice(&[b'q', m]),
            Err(_) => {
                out.push(b'r');
                out.extend_from_slice(&memo.to_le_bytes());
            }
        }
        memo += 1;
    };
    put(&mut out);
    for batch in points.chunks(1000) {
        if batch.len() > 1 {
            out.push(b'(');
        }
        for (name, ts, value) in batch {
            out.push(b'X');
            out.extend_from_slice(&(name.len() as u32).to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            put(&mut out);
            if ts.fract() == 0.0 && *ts >= i32::MIN as f64 && *ts <= i32::MAX as f64 {
                out.push(b'J');
                out.extend_from_slice(&(*ts as i32).to_le_bytes());
            } else {
                out.push(b'G');
                out.extend_from_slice(&ts.to_be_bytes());
            }
            out.push(b'G');
            out.extend_from_slice(&value.to_be_bytes());
            out.push(0x86);
            put(&mut out);
            out.push(0x86);
            put(&mut out);
        }
        out.push(if batch.len() > 1 { b'e' } else { b'a' });
    }
    out.push(b'.');
    out
}

/// Protocol 0 code execution, the classic exploit: GLOBAL `os.system`, a one-string tuple,
/// REDUCE. An unpickler that honours it runs `command` in a shell.
pub fn os_system_protocol0(command: &str) -> Vec<u8> {
    format!("cos\nsystem\n(S'{command}'\ntR.").into_bytes()
}

/// Protocol 2 code execution: GLOBAL `posix.system` (what `os.system` pickles as on Linux),
/// BINUNICODE command, TUPLE1, REDUCE, wrapped in a list so it looks like a batch.
pub fn os_system_protocol2(command: &str) -> Vec<u8> {
    let mut out = vec![0x80, 2, b']', b'q', 0];
    out.extend_from_slice(b"cposix\nsystem\nq\x01");
    out.push(b'X');
    out.extend_from_slice(&(command.len() as u32).to_le_bytes());
    out.extend_from_slice(command.as_bytes());
    out.extend_from_slice(&[0x85, b'R', b'q', 2, b'a', b'.']);
    out
}

/// A well-formed pickle of a dict, `{"a.b": (1, 2.0)}`: valid pickle, wrong shape.
pub fn dict_payload() -> Vec<u8> {
    let mut out = vec![0x80, 2, b'}', b'q', 0, b'X', 3, 0, 0, 0];
    out.extend_from_slice(b"a.b");
    out.extend_from_slice(&[b'J', 1, 0, 0, 0, b'G']);
    out.extend_from_slice(&2.0f64.to_be_bytes());
    out.extend_from_slice(&[0x86, b's', b'.']);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_payload_matches_cpython_bytes() {
        // From CPython 3.11: pickle.dumps([("a.b", (1700000000, 1.5))], protocol=2)
        let one: &[u8] = b"\x80\x02]q\x00X\x03\x00\x00\x00a.bq\x01J\x00\xf1SeG?\xf8\x00\x00\x00\x00\x00\x00\x86q\x02\x86q\x03a.";
        assert_eq!(points_payload(&[("a.b", 1_700_000_000.0, 1.5)]), one);
        // ... and with a second point ("c", (1700000000.5, -2.0)).
        let two: &[u8] = b"\x80\x02]q\x00(X\x03\x00\x00\x00a.bq\x01J\x00\xf1SeG?\xf8\x00\x00\x00\x00\x00\x00\x86q\x02\x86q\x03X\x01\x00\x00\x00cq\x04GA\xd9T\xfc@ \x00\x00G\xc0\x00\x00\x00\x00\x00\x00\x00\x86q\x05\x86q\x06e.";
        assert_eq!(
            points_payload(&[("a.b", 1_700_000_000.0, 1.5), ("c", 1_700_000_000.5, -2.0)]),
            two
        );
    }

    #[test]
    fn frame_prefixes_big_endian_length() {
        assert_eq!(frame(b"abc"), b"\x00\x00\x00\x03abc");
    }
}
