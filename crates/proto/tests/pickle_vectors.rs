//! Pickles written by CPython's own pickler (protocols 0 to 5, see `data/generate.py`), by
//! hand in Python 2's forms, and hostile ones: each decodes to the expected points, or is
//! refused whole without anything being executed.

use lookout_proto::pickle::{parse_frame, PickleErrorKind};
use lookout_proto::{Error, LineError};

const NOW: i64 = 1_800_000_000;

type Points = Vec<(&'static str, i64, f64)>;

fn carbon_batch() -> Points {
    vec![
        ("web01.cpu.user", 1_700_000_000, 1.5),
        ("disk.used;datacenter=dc1;rack=a1", 1_700_000_010, 42.0),
        ("big.counter", 1_700_000_020, 1_099_511_627_776.0),
        ("neg.value", 1_700_000_030, -0.25),
        ("now.ts", NOW, 7.0),
    ]
}

fn py2_batch() -> Points {
    vec![
        ("web01.cpu.user", 1_700_000_000, 1.5),
        ("big.counter", 1_700_000_020, 1_099_511_627_776.0),
    ]
}

#[track_caller]
fn check(payload: &[u8], expected: Result<Points, Error>) {
    let (mut out, mut errors): (_, Vec<LineError>) = (Vec::new(), Vec::new());
    let got = parse_frame(payload, NOW, &mut out, &mut errors).map(|()| {
        out.iter()
            .map(|p| (p.name.as_str(), p.ts, p.value))
            .collect::<Vec<_>>()
    });
    let expected = expected
        .as_ref()
        .map(|v| v.iter().map(|(n, t, v)| (*n, *t, *v)).collect::<Vec<_>>());
    assert_eq!(got, expected.map_err(|e| *e));
    assert!(errors.is_empty(), "{errors:?}");
}

fn forbidden(offset: usize, opcode: &'static str) -> Result<Points, Error> {
    Err(Error::Pickle {
        offset,
        kind: PickleErrorKind::Forbidden(opcode),
    })
}

#[test]
fn cpython_pickles_of_every_protocol_decode() {
    check(include_bytes!("data/carbon_p0.pickle"), Ok(carbon_batch()));
    check(include_bytes!("data/carbon_p1.pickle"), Ok(carbon_batch()));
    check(include_bytes!("data/carbon_p2.pickle"), Ok(carbon_batch()));
    check(include_bytes!("data/carbon_p3.pickle"), Ok(carbon_batch()));
    check(include_bytes!("data/carbon_p4.pickle"), Ok(carbon_batch()));
    check(include_bytes!("data/carbon_p5.pickle"), Ok(carbon_batch()));
    check(include_bytes!("data/lists_p2.pickle"), Ok(carbon_batch()));
    check(
        include_bytes!("data/bytes_names_p4.pickle"),
        Ok(vec![("a.b", 1, 2.0)]),
    );
}

#[test]
fn python2_pickles_decode() {
    check(include_bytes!("data/py2_p0.pickle"), Ok(py2_batch()));
    check(include_bytes!("data/py2_p2.pickle"), Ok(py2_batch()));
}

#[test]
fn pickles_that_call_functions_are_refused() {
    // `os.system("echo pwned")` through __reduce__: GLOBAL then REDUCE, refused at the import.
    check(
        include_bytes!("data/evil_reduce_p0.pickle"),
        forbidden(5, "GLOBAL"),
    );
    check(
        include_bytes!("data/evil_reduce_p2.pickle"),
        forbidden(5, "GLOBAL"),
    );
    check(
        include_bytes!("data/evil_reduce_p4.pickle"),
        forbidden(30, "STACK_GLOBAL"),
    );
    check(
        include_bytes!("data/evil_global_p2.pickle"),
        forbidden(5, "GLOBAL"),
    );
    // Python 3 writes bytes through `_codecs.encode` below protocol 3; carbon refuses it too.
    check(
        include_bytes!("data/bytes_names_p2.pickle"),
        forbidden(5, "GLOBAL"),
    );
}

#[test]
fn broken_pickles_are_refused() {
    let refused = |offset, kind| Err(Error::Pickle { offset, kind });
    check(
        include_bytes!("data/truncated_p2.pickle"),
        refused(197, PickleErrorKind::Truncated),
    );
    check(
        include_bytes!("data/not_a_list_dict_p2.pickle"),
        refused(2, PickleErrorKind::Unsupported(b'}')),
    );
    check(
        include_bytes!("data/not_a_list_tuple_p2.pickle"),
        refused(202, PickleErrorKind::NotAList),
    );
}
