"""Regenerates the pickle test vectors in this folder with CPython's own pickler.

Run from this folder: python3 generate.py. The files are committed, so the tests do not
need Python; this script only documents how they were made. `py2_*.pickle` are written by
hand in the byte forms Python 2 used (STRING/BINSTRING, INT, LONG with an L suffix), and
checked here by loading them with Python 3.
"""
import os
import pickle

BATCH = [
    ("web01.cpu.user", (1700000000, 1.5)),
    ("disk.used;rack=a1;datacenter=dc1", (1700000010.9, 42)),
    ("big.counter", (1700000020, 2**40)),
    ("neg.value", (1700000030, -0.25)),
    ("now.ts", (-1, 7)),
]
AS_LISTS = [[name, [ts, value]] for name, (ts, value) in BATCH]


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def write(name, data):
    with open(name, "wb") as f:
        f.write(data)


for proto in (0, 1, 2, 3, 4, 5):
    write(f"carbon_p{proto}.pickle", pickle.dumps(BATCH, protocol=proto))
write("lists_p2.pickle", pickle.dumps(AS_LISTS, protocol=2))
write("bytes_names_p4.pickle", pickle.dumps([(b"a.b", (1, 2.0))], protocol=4))
write("bytes_names_p2.pickle", pickle.dumps([(b"a.b", (1, 2.0))], protocol=2))
write("evil_reduce_p0.pickle", pickle.dumps([Evil()], protocol=0))
write("evil_reduce_p2.pickle", pickle.dumps([Evil()], protocol=2))
write("evil_reduce_p4.pickle", pickle.dumps([Evil()], protocol=4))
write("evil_global_p2.pickle", pickle.dumps([os.system], protocol=2))
write("truncated_p2.pickle", pickle.dumps(BATCH, protocol=2)[:-7])
write("not_a_list_dict_p2.pickle", pickle.dumps({"a": (1, 2)}, protocol=2))
write("not_a_list_tuple_p2.pickle", pickle.dumps(tuple(BATCH), protocol=2))

PY2 = {
    "py2_p0.pickle": b"(lp0\n(S'web01.cpu.user'\np1\n(I1700000000\nF1.5\ntp2\ntp3\na"
    b"(S'big.counter'\np4\n(L1700000020L\nL1099511627776L\ntp5\ntp6\na.",
    "py2_p2.pickle": b"\x80\x02]q\x00(U\x0eweb01.cpu.userq\x01J\x00\xf1SeG?\xf8\x00\x00\x00\x00\x00\x00"
    b"\x86q\x02\x86q\x03U\x0bbig.counterq\x04J\x14\xf1Se\x8a\x06\x00\x00\x00\x00\x00\x01\x86q\x05"
    b"\x86q\x06e.",
}
for name, data in PY2.items():
    loaded = pickle.loads(data)
    assert loaded == [("web01.cpu.user", (1700000000, 1.5)), ("big.counter", (1700000020, 2**40))], loaded
    write(name, data)
