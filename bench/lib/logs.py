"""The log workloads of `bench/all`: lookout's ingestion over syslog TCP, GELF UDP and NDJSON
(HTTP), bytes per line after a clean stop, and the three queries (one component subtree over 2
minutes, the same with `contains`, a count over the whole 24 h); and ClickHouse on the same rows
and the same three questions, through the shared harness's start script and insert code.

The rows are the harness's (gen_logs, seed 7: 18 components over 24 h); syslog gets them as
RFC 5424 lines (the harness's own conversion), GELF and NDJSON get generated records stamped
now, each under a component of its own so the counts cannot mix.
"""
import json
import os
import subprocess
import time

from util import (DATA, Lookout, du, kernel_udp_drops, latency, log, prom_sum, udp_send, use_harness,
                  wait_stable, wait_until)

use_harness()
import common  # noqa: E402
import bench_logs  # noqa: E402
from bench_logs_lookout import to_syslog  # noqa: E402

PREFIX = bench_logs.PREFIX     # webapp.backend.git
WORD = bench_logs.WORD         # timeout


def gen_logs(rows, end):
    path = os.path.join(DATA, "datasets", "logs-%d.tsv" % rows)
    with open(path + ".meta.json", "w") as meta:
        subprocess.run([os.path.join(DATA, "bin", "gen_logs"), "-n", str(rows), "-e", str(end), "-d", "86400",
                        "-r", "7", "-o", path], check=True, stderr=meta, timeout=600)
    with open(path + ".meta.json") as f:
        meta = json.load(f)
    sysf = path + ".rfc5424"
    to_syslog(path, sysf)
    ws = meta["first_ts"] + meta["span"] // 2
    ws -= ws % 60
    meta.update(path=path, syslog=sysf, window=(ws, ws + 120))
    with open(path, "rb") as f:
        f.seek(max(0, os.path.getsize(path) - 4096))
        meta["last_row"] = f.read().rstrip(b"\n").split(b"\n")[-1].decode().split("\t", 4)
    return meta


def log_count(http, component, start, end):
    """Lines stored for a component pattern in [start, end], from the histogram."""
    h = http.json("/api/v1/logs/histogram", {"component": component, "from": start, "until": end})
    return sum(b["total"] for b in h["buckets"])


def queries_lookout(http, meta, quick):
    ws, we = meta["window"]
    base = {"component": PREFIX, "from": ws, "until": we - 1, "limit": 1000000, "order": "asc"}
    wide = {"component": "*", "from": meta["first_ts"], "until": meta["first_ts"] + meta["span"]}
    out = {}
    for name, path, params in (("narrow_2min", "/api/v1/logs", base),
                               ("narrow_2min_contains", "/api/v1/logs", dict(base, contains=WORD)),
                               ("wide_24h_count", "/api/v1/logs/histogram", wide)):
        body = {}

        def run(path=path, params=params):
            body["b"] = http.json(path, params)
        lat = latency(run, runs=20 if quick else 100, budget_s=5 if quick else 15)
        b = body["b"]
        lat["rows"] = len(b["logs"]) if "logs" in b else sum(x["total"] for x in b["buckets"])
        lat["api"] = "%s %s" % (path, params)
        out[name] = lat
        log("lookout logs %s: %s" % (name, lat))
    return out


def gelf_payloads(n, now):
    return [json.dumps({"version": "1.1", "host": "gelf%02d" % (i % 20), "timestamp": now + i * 1e-6,
                        "short_message": "request %d done in %d ms status=%d" % (i, i % 997, 200 + i % 5),
                        "level": 6, "_component": "bench.gelf.c%d" % (i % 10), "_req": i},
                       separators=(",", ":")).encode() for i in range(n)]


def ndjson_bodies(n, per_body, now):
    bodies = []
    for b in range(0, n, per_body):
        lines = [json.dumps({"ts": now + i * 1e-6, "component": "bench.ndjson.c%d" % (i % 10),
                             "host": "nd%02d" % (i % 20), "level": "info",
                             "message": "job %d finished in %d ms" % (i, i % 991), "job": i},
                            separators=(",", ":")) for i in range(b, min(n, b + per_body))]
        bodies.append(("\n".join(lines) + "\n").encode())
    return bodies


def gelf_rate(quick):
    return 20000 if quick else 50000


def run_lookout(meta, quick, timeout):
    data = os.path.join(DATA, "all-logs", "data")
    lk = Lookout(data)
    lk.wipe()
    res = {"rows": meta["rows"]}
    try:
        lk.start()
        # ---- syslog over one TCP connection
        last = meta["last_row"]
        last_ts = meta["first_ts"] + meta["span"]
        sender = common.send_file(lk.ports["syslog_tcp"], meta["syslog"], 1)
        t0 = sender["t_first_byte"]

        def last_seen():
            b = lk.http.json("/api/v1/logs", {"component": last[1], "contains": last[4][-40:], "limit": 10,
                                              "from": last_ts - 120, "until": last_ts + 120})
            return any(e.get("message") == last[4] for e in b.get("logs", []))
        ok = wait_until(last_seen, timeout=timeout, interval=0.1)
        t1 = time.time()
        res["syslog_tcp"] = {"rows": meta["rows"], "visible": bool(ok), "seconds": round(t1 - t0, 3),
                             "lines_per_s": round(meta["rows"] / (t1 - t0)) if ok else None}
        log("lookout syslog TCP: %s" % res["syslog_tcp"])
        # ---- disk after a clean stop; queries after the restart
        lk.stop()
        res["disk"] = {"logs_dir_bytes": du(os.path.join(data, "logs")), "data_dir_bytes": du(data)}
        res["disk"]["bytes_per_line"] = round(res["disk"]["logs_dir_bytes"] / meta["rows"], 2)
        log("lookout logs disk: %s" % res["disk"])
        lk.start()
        res["queries"] = queries_lookout(lk.http, meta, quick)
        # ---- GELF over UDP, as fast as one sender thread goes; stored vs sent
        n = 30000 if quick else 300000
        now = time.time()
        grams = gelf_payloads(n, now)
        p0, k0 = lk.prom(), kernel_udp_drops()
        t0, t1, sent, errors = udp_send(lk.ports["gelf_udp"], grams, gelf_rate(quick))
        stored, changed = wait_stable(lambda: log_count(lk.http, "bench.gelf.*", int(now) - 60, int(now) + 600),
                                      timeout=min(timeout, 120))
        p1 = lk.prom()
        res["gelf_udp"] = {"sent": sent, "send_errors": errors, "send_seconds": round(t1 - t0, 3),
                           "sent_per_s": round(sent / max(t1 - t0, 1e-9)), "stored": stored,
                           "stored_fraction": round(stored / n, 4),
                           "lines_per_s": round(stored / max(changed - t0, 1e-9)),
                           "lookout_udp_dropped": prom_sum(p1, "lookout_ingest_udp_dropped_total")
                           - prom_sum(p0, "lookout_ingest_udp_dropped_total"),
                           "kernel_rcvbuf_drops": kernel_udp_drops() - k0}
        log("lookout GELF UDP: %s" % res["gelf_udp"])
        # ---- NDJSON over HTTP: 10,000 lines a POST, one keep-alive connection
        n = 100000 if quick else 1000000
        now = time.time()
        bodies = ndjson_bodies(n, 10000, now)
        t0 = time.time()
        for b in bodies:
            st, reply = lk.http.request("POST", "/api/v1/logs", body=b,
                                        headers={"Content-Type": "application/x-ndjson"})
            if st not in (200, 204):
                raise RuntimeError("NDJSON POST: %d %s" % (st, reply[:200]))
        t1 = time.time()
        stored = log_count(lk.http, "bench.ndjson.*", int(now) - 60, int(now) + 600)
        res["ndjson_http"] = {"lines": n, "posts": len(bodies), "seconds": round(t1 - t0, 3),
                              "lines_per_s": round(n / (t1 - t0)), "stored": stored}
        log("lookout NDJSON: %s" % res["ndjson_http"])
    except Exception as e:
        res["error"] = "%s: %s" % (type(e).__name__, e)
        log("lookout logs failed: %s" % res["error"])
    finally:
        lk.stop()
    return res


def run_clickhouse(meta, quick, timeout):
    """ClickHouse on the same TSV rows: insert over HTTP (the harness's chunked POSTs), bytes per
    row after OPTIMIZE FINAL, and the same three questions in SQL."""
    data_dir = os.path.join(DATA, "clickhouse")
    common.safe_rmtree(data_dir)
    res = {"rows": meta["rows"]}
    res["version"] = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "clickhouse-server"],
                                    stdout=subprocess.PIPE, text=True).stdout.strip()
    pid = common.start_peer("clickhouse.sh", {"DATA_DIR": data_dir, "CH_HTTP_PORT": str(bench_logs.HTTP_PORT),
                                              "CH_TCP_PORT": str(bench_logs.TCP_PORT)})
    ch = bench_logs.CH()
    try:
        common.wait_port(bench_logs.HTTP_PORT)
        wait_until(lambda: ch.scalar("SELECT 1") == "1", timeout=60)
        ch.q(bench_logs.DDL)
        qs = "/?query=" + "INSERT%20INTO%20logs%20FORMAT%20TabSeparated"
        t0 = time.time()
        for a, b in bench_logs.chunk_offsets(meta["path"], 10):
            import http.client
            c = http.client.HTTPConnection("127.0.0.1", bench_logs.HTTP_PORT, timeout=timeout, blocksize=1 << 20)
            rr = bench_logs.RangeReader(meta["path"], a, b)
            c.request("POST", qs, body=rr, headers={"Content-Length": str(b - a)})
            r = c.getresponse()
            body = r.read()
            rr.close()
            c.close()
            if r.status != 200:
                raise RuntimeError("insert: %d %s" % (r.status, body[:300]))
        t1 = time.time()
        n = int(ch.scalar("SELECT count() FROM logs"))
        res["insert"] = {"rows": n, "seconds": round(t1 - t0, 3), "lines_per_s": round(n / (t1 - t0)),
                         "format": "TabSeparated over HTTP, 10 sequential POSTs"}
        log("clickhouse insert: %s" % res["insert"])
        for p in ch.scalar("SELECT DISTINCT partition FROM system.parts WHERE table='logs' AND active").split("\n"):
            ch.q("OPTIMIZE TABLE logs PARTITION %s FINAL" % p)
        wait_until(lambda: ch.scalar("SELECT count() FROM system.parts WHERE table='logs' AND NOT active") == "0",
                   timeout=120, interval=1)
        alloc = common.du_bytes([os.path.join(data_dir, "data", "default", "logs")])[1]
        res["disk"] = {"bytes": alloc, "bytes_per_line": round(alloc / meta["rows"], 2)}
        ws, we = meta["window"]
        cond = "component LIKE '%s%%' AND ts >= toDateTime(%d) AND ts < toDateTime(%d)" % (PREFIX, ws, we)
        start, end = meta["first_ts"], meta["first_ts"] + meta["span"]
        step = max(1, (end - start) // 100)
        res["queries"] = {}
        for name, sql in (
                ("narrow_2min", "SELECT * FROM logs WHERE %s ORDER BY ts FORMAT TabSeparated" % cond),
                ("narrow_2min_contains", "SELECT * FROM logs WHERE %s AND message LIKE '%%%s%%' ORDER BY ts "
                 "FORMAT TabSeparated" % (cond, WORD)),
                ("wide_24h_count", "SELECT intDiv(toUInt32(ts) - %d, %d) AS b, level, count() FROM logs "
                 "WHERE ts >= toDateTime(%d) AND ts <= toDateTime(%d) GROUP BY b, level ORDER BY b "
                 "FORMAT TabSeparated" % (start, step, start, end))):
            body = {}

            def run(sql=sql):
                body["b"] = ch.q(sql)
            lat = latency(run, runs=20 if quick else 100, budget_s=5 if quick else 15)
            lines = body["b"].decode().splitlines()
            lat["rows"] = sum(int(l.split("\t")[2]) for l in lines) if name == "wide_24h_count" else len(lines)
            lat["sql"] = sql
            res["queries"][name] = lat
            log("clickhouse %s: %s" % (name, lat))
    except Exception as e:
        res["error"] = "%s: %s" % (type(e).__name__, e)
        log("clickhouse failed: %s" % res["error"])
    finally:
        ch.http.close()
        common.stop_pid(pid)
    return res
