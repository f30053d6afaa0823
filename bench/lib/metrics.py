"""The metrics workloads of `bench/all`, run the same way against lookout and every peer
through the shared harness's adapters (../shared/bench/harness/targets): ingestion over 1 and
8 TCP connections and over UDP, bytes per point, render latency for 1, 100 and 10,000 series,
/metrics/find over 1M names, RSS at 100k and 1M active series; and lookout's restart with a
full WAL (lookout only: the peers keep no comparable log).

Datasets come from the harness's generator (gen_graphite, seed 42) plus a deterministic name
set for the cardinality steps written here.
"""
import json
import os
import subprocess
import time

from util import (DATA, Lookout, du, kernel_udp_drops, latency, log, rss, udp_send, use_harness, wait_stable,
                  wait_until)

use_harness()
import common  # noqa: E402  (the shared harness)
from bench_metrics import load_meta  # noqa: E402
from targets import get_target  # noqa: E402

UDP_TARGETS = ("lookout", "victoria-metrics")      # carbon's and InfluxDB's UDP inputs are off in the shared configs
CARD_TARGETS = ("lookout", "victoria-metrics")     # whisper would preallocate ~100 GB for 1M series
TEN_K = "card.*.s0.m0"                             # 10,000 series of the cardinality set


def gen_graphite(series, points, end, name):
    path = os.path.join(DATA, "datasets", "%s-%dx%d.txt" % (name, series, points))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".meta.json", "w") as meta:
        subprocess.run([os.path.join(DATA, "bin", "gen_graphite"), "-s", str(series), "-t", str(points),
                        "-e", str(end), "-r", "42", "-o", path], check=True, stderr=meta, timeout=600)
    return path


def gen_cardinality(hosts, end):
    """hosts x 10 x 10 series `card.hNNNN.sS.mM`, 2 points each (end-10, end), timestamp-major,
    split into the first 1,000 hosts (100k series) and the rest. Values depend only on the name."""
    parts = []
    for lo, hi in ((0, min(hosts, 1000)), (min(hosts, 1000), hosts)):
        if hi <= lo:
            continue
        path = os.path.join(DATA, "datasets", "card-h%d-%d.txt" % (lo, hi))
        last = None
        with open(path, "w") as f:
            for ts in (end - 10, end):
                buf = []
                for h in range(lo, hi):
                    for s in range(10):
                        for m in range(10):
                            last = "card.h%04d.s%d.m%d" % (h, s, m)
                            buf.append("%s %d %d\n" % (last, (h * 7 + s * 3 + m + ts // 10) % 1000, ts))
                f.write("".join(buf))
        n = (hi - lo) * 100
        parts.append({"path": path, "series": n, "lines": 2 * n, "first_ts": end - 10, "last_ts": end,
                      "last_line_name": last})
    return parts


def ingest(t, path, meta, conns, timeout):
    """Send the file over `conns` TCP connections; points/s from the first byte until every point
    is queryable (the harness's rule: the time the last point is visible, if the full count then
    finds every point)."""
    sender = t.send(path, conns)
    t0 = sender["t_first_byte"]
    deadline = t0 + timeout
    expected = meta["expected_points"]
    done = wait_until(lambda: t.last_point_visible(meta), timeout=max(1, deadline - time.time()), interval=0.25)
    # The clock stops when the last point is visible, if the full count (not timed: rendering
    # every point costs more on some targets than on others) then finds everything; otherwise
    # when a later count does, as the shared harness's bench_metrics.py does.
    t1 = time.time()
    count = t.count_points(meta) if done else 0
    while done and count < expected and time.time() < deadline:
        time.sleep(1)
        count = t.count_points(meta)
        t1 = time.time()
    r = {"conns": conns, "expected": expected, "stored": count, "complete": count >= expected,
         "seconds": round(t1 - t0, 3), "send_seconds": sender["seconds"]}
    if r["complete"]:
        r["points_per_s"] = round(expected / (t1 - t0))
    else:
        r["partial_points_per_s"] = round(count / (t1 - t0))
    log("%s ingest over %d connection(s): %s" % (t.name, conns, r))
    return r


def udp_datagrams(path, size=1400):
    """The plaintext file cut into datagrams of whole lines, at most `size` bytes each."""
    out, cur, n = [], [], 0
    with open(path, "rb") as f:
        for line in f:
            if n + len(line) > size and cur:
                out.append(b"".join(cur))
                cur, n = [], 0
            cur.append(line)
            n += len(line)
    if cur:
        out.append(b"".join(cur))
    return out


def ingest_udp(t, path, meta, rate, timeout):
    """Datagrams paced so that `rate` points/s are sent; what was stored is counted afterwards,
    so loss shows as stored < sent."""
    grams = udp_datagrams(path)
    if t.name == "victoria-metrics":
        # VictoriaMetrics caches the empty answer of a search made before new series are
        # indexed, so polling its count query right after the send would read 0 for a while:
        # count the rows its Graphite input inserted instead (what it stored).
        key = 'vm_rows_inserted_total{type="graphite"}'
        base = t._internal_metrics().get(key, 0)

        def count():
            return int(t._internal_metrics().get(key, 0) - base)
    else:
        def count():
            return t.count_points(meta)
    k0 = kernel_udp_drops()
    per_gram = meta["expected_points"] / len(grams)
    t0, t1, sent, errors = udp_send(t.graphite_port, grams, rate / per_gram)
    count, changed = wait_stable(count, timeout=timeout, still_for=3)
    expected = meta["expected_points"]
    lines_sent = expected if errors == 0 else None
    r = {"datagrams": len(grams), "datagrams_sent": sent, "send_errors": errors, "lines_sent": lines_sent,
         "send_seconds": round(t1 - t0, 3), "sent_points_per_s": round(expected / max(t1 - t0, 1e-9)),
         "stored": count, "stored_fraction": round(count / expected, 4),
         "stored_points_per_s": round(count / max(changed - t0, 1e-9)),
         "kernel_rcvbuf_drops": kernel_udp_drops() - k0}
    log("%s UDP: %s" % (t.name, r))
    return r


def render_fn(t, target, start, end):
    """One request returning `target` over [start, end] in the target's own read API."""
    if t.name == "victoria-metrics":
        sel = '{__graphite__="%s"}' % target if "*" in target else '{__name__="%s"}' % target
        params = {"match[]": sel, "start": start, "end": end}
        path = "/api/v1/export"
    else:
        params = {"target": target, "from": start, "until": end, "format": "json"}
        path = "/render"

    def run():
        st, body = t.http.get(path, params)
        if st != 200:
            raise RuntimeError("%s %s: %d %s" % (t.name, path, st, body[:200]))
        return body
    return run


def series_count(t, body):
    if t.name == "victoria-metrics":
        return sum(1 for line in body.splitlines() if line.strip())
    return len(json.loads(body))


def udp_rate(quick):
    return 100000 if quick else 300000


def run_main(name, ds, meta, udp_ds, udp_meta, quick, timeout):
    """Ingest over 1 connection, disk, render latency, peak RSS; then 8 connections; then UDP."""
    res = {"target": name}
    t = get_target(name)
    res["version"] = None
    try:
        t.start()
        res["version"] = t.version()
        res["tcp1"] = ingest(t, ds, meta, 1, timeout)
        res["rss_after_ingest"] = common.rss_bytes(t.pid)
        notes = t.flush_for_disk()
        apparent, allocated = common.du_bytes(t.storage_paths())
        stored = res["tcp1"]["stored"] or 1
        res["disk"] = {"allocated": allocated, "apparent": apparent,
                       "bytes_per_point": round(allocated / stored, 3), "notes": notes}
        log("%s disk: %s" % (name, res["disk"]))
        res["queries"] = []
        for q in t.queries(meta):
            body = {}

            def run(q=q):
                body["b"] = q["run"]()
            lat = latency(run, runs=20 if quick else 100, budget_s=5 if quick else 20)
            lat.update({"name": q["name"], "api": q["api"], "points": q["count"](body["b"])})
            res["queries"].append(lat)
            log("%s %s: %s" % (name, q["name"], lat))
        if getattr(t, "_restart_s", None) is not None:
            res["restart_clean_s"] = t._restart_s
    except Exception as e:  # keep the figures already taken; the table marks the rest
        res["error"] = "%s: %s" % (type(e).__name__, e)
        log("%s failed: %s" % (name, res["error"]))
    finally:
        t.stop()
    try:
        t = get_target(name)
        t.start()
        res["tcp8"] = ingest(t, ds, meta, 8, timeout)
    except Exception as e:
        res["tcp8_error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        t.stop()
    if name in UDP_TARGETS:
        try:
            t = get_target(name)
            t.start()
            res["udp"] = ingest_udp(t, udp_ds, udp_meta, udp_rate(quick), timeout=min(timeout, 120))
        except Exception as e:
            res["udp_error"] = "%s: %s" % (type(e).__name__, e)
        finally:
            t.stop()
    return res


def find_fn(t, query):
    def run():
        st, body = t.http.get("/metrics/find", {"query": query})
        if st != 200:
            raise RuntimeError("%s /metrics/find: %d %s" % (t.name, st, body[:200]))
        return body
    return run


def run_cardinality(name, parts, quick, timeout):
    """RSS after 100k and 1M active series, /metrics/find and a 10,000-series render over them."""
    res = {"target": name}
    t = get_target(name)
    try:
        t.start()
        total = 0
        for p in parts:
            total += p["lines"]
            meta = dict(p, expected_points=total, series_names=[p["last_line_name"]])
            common.send_file(t.graphite_port, p["path"], 1)
            ok = wait_until(lambda: t.last_point_visible(meta), timeout=timeout, interval=0.5)
            time.sleep(2)  # let the last batch's buffers settle before reading RSS, not a sync point
            res.setdefault("rss", []).append({"series": total // 2, "bytes": rss(t.pid) if ok else None})
            log("%s RSS: %s (visible=%s)" % (name, res["rss"][-1], bool(ok)))
        start, end = parts[0]["first_ts"], parts[0]["last_ts"]
        res["series_total"] = total // 2
        res["find"] = []
        for q in ("card.h0123.*", "card.*"):
            body = {}

            def run(f=find_fn(t, q)):
                body["b"] = f()
            lat = latency(run, runs=20 if quick else 50, budget_s=5 if quick else 15)
            lat.update({"query": q, "nodes": len(json.loads(body["b"]))})
            res["find"].append(lat)
            log("%s find %s: %s" % (name, q, lat))
        body = {}
        r10k = render_fn(t, TEN_K, start - 10, end + 10)

        def run10k():
            body["b"] = r10k()
        lat = latency(run10k, runs=10 if quick else 30, budget_s=10 if quick else 30)
        lat["series"] = series_count(t, body["b"])
        res["render_10k"] = lat
        log("%s render %s: %s" % (name, TEN_K, lat))
    except Exception as e:
        res["error"] = "%s: %s" % (type(e).__name__, e)
        log("%s cardinality failed: %s" % (name, res["error"]))
    finally:
        t.stop()
    return res


def run_restart(ds, meta, syslog_file, rows_hint, timeout):
    """kill -9 right after a large ingest is queryable (metrics and logs still in the WAL: both
    are sized under the default flush thresholds), then time exec -> ready.json and exec -> the
    last point answered by /render."""
    data = os.path.join(DATA, "all-restart", "data")
    lk = Lookout(data)
    lk.wipe()
    res = {}
    try:
        lk.start()
        send = common.BIN_DIR + "/send_tcp"
        subprocess.run([send, "127.0.0.1", str(lk.ports["graphite_tcp"]), ds], check=True,
                       stdout=subprocess.DEVNULL, timeout=timeout)
        if syslog_file:
            subprocess.run([send, "127.0.0.1", str(lk.ports["syslog_tcp"]), syslog_file], check=True,
                           stdout=subprocess.DEVNULL, timeout=timeout)

        def last_visible():
            st, body = lk.http.get("/render", {"target": meta["last_line_name"], "from": meta["last_ts"] - 20,
                                               "until": meta["last_ts"] + 10, "format": "json"})
            return st == 200 and any(v is not None and ts == meta["last_ts"]
                                     for s in json.loads(body) for v, ts in s["datapoints"])
        if not wait_until(last_visible, timeout=timeout, interval=0.1):
            raise RuntimeError("the last point never became visible")
        now = int(time.time())

        def log_lines():
            h = lk.http.json("/api/v1/logs/histogram", {"component": "*", "from": now - 2 * 86400,
                                                         "until": now + 3600})
            return sum(b["total"] for b in h["buckets"])
        if syslog_file:
            wait_until(lambda: log_lines() >= rows_hint, timeout=timeout, interval=0.1)
            res["log_lines_before_kill"] = log_lines()
        wal = sum(du(os.path.join(r, d)) for r, ds_, _ in os.walk(data) for d in ds_ if d == "wal")
        res["wal_bytes_at_kill"] = wal
        res["points"] = meta["expected_points"]
        res["log_lines"] = rows_hint
        lk.kill9()
        res["exec_to_ready_s"] = round(lk.start(timeout=timeout), 3)
        t_exec = lk.t_exec
        if not wait_until(last_visible, timeout=timeout, interval=0.01):
            raise RuntimeError("the last point was lost")
        res["exec_to_query_s"] = round(time.perf_counter() - t_exec, 3)
        if syslog_file:
            res["log_lines_after_restart"] = log_lines()
        log("restart with a full WAL: %s" % res)
    except Exception as e:
        res["error"] = "%s: %s" % (type(e).__name__, e)
        log("restart failed: %s" % res["error"])
    finally:
        lk.stop()
    return res


def prepare(quick, end):
    """Every metrics dataset, deterministically (seed 42, timestamps ending at `end`)."""
    s, p = (100, 1000) if quick else (1000, 8640)
    ds = gen_graphite(s, p, end, "graphite")
    us, up = (100, 200) if quick else (1000, 1000)
    udp = gen_graphite(us, up, end, "udp")
    card = gen_cardinality(1100 if quick else 10000, end)
    # Just under the engine's default head flush (4M points), so all of it is still in the WAL.
    rs = gen_graphite(100, 1000, end, "restart") if quick else gen_graphite(1000, 3900, end, "restart")
    return ds, load_meta(ds), udp, load_meta(udp), card, rs, load_meta(rs)


def head_of(path, lines, out):
    """The first `lines` lines of a file (the restart step's logs: under the log head's 64 MiB
    flush threshold, so they are all still in the WAL at the kill)."""
    with open(path, "rb") as f, open(out, "wb") as g:
        for i, line in enumerate(f):
            if i >= lines:
                break
            g.write(line)
    return out
