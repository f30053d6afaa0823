"""The soak (`bench/all soak`): one lookout under a steady mixed load for a bounded time, sampled
every 10 s, to show that nothing grows without bound.

Load, each at a fixed rate paced per second by its own thread: Graphite plaintext over one TCP
connection and over HTTP, StatsD over UDP, syslog over TCP, NDJSON over HTTP, and a query mix
(renders and log queries). Every 10 s a marker point and a marker log line are sent and polled
until queryable: that is the ingest lag. The sampler records RSS, p99 query latency over the
last interval, both lags, open fds and the data dir's size; the report is a CSV, a PNG (gnuplot)
and a table with a linear fit of the second half.
"""
import csv
import json
import os
import shutil
import socket
import subprocess
import threading
import time

from table import source_commit
from util import DATA, Lookout, du, hardware, loadavg, log, open_fds, parse_prom, pct, rss, run_dir

INTERVAL = 10
# Per-second rates of the steady load.
PLAIN_SERIES = 20000        # plaintext TCP: every series once every 10 s -> 2,000 points/s
HTTP_SERIES = 2000          # POST /api/v1/metrics: 200 points/s
STATSD_LINES = 2000         # StatsD UDP lines/s over 500 names
SYSLOG_LINES = 500          # syslog TCP lines/s
NDJSON_LINES = 200          # NDJSON lines/s in one POST
RENDERS = 2                 # /render requests per second
LOG_QUERIES = 1             # /api/v1/logs or histogram requests per second


class Soak:
    def __init__(self, minutes, out):
        self.minutes, self.out = minutes, out
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.lat = []                 # query latencies (s) of the current interval
        self.errors = {}              # load thread -> count of failed sends/queries
        self.sent = {}                # load thread -> units sent

    # ---------------------------------------------------------------- pacing
    def paced(self, name, per_second, fn):
        """Call fn(i) once a second (i counts seconds) until stopped; count failures."""
        def loop():
            i = 0
            t_next = time.time()
            while not self.stop.is_set():
                try:
                    n = fn(i)
                    with self.lock:
                        self.sent[name] = self.sent.get(name, 0) + n
                except Exception:  # a failure is counted and the load goes on: the soak reports it
                    with self.lock:
                        self.errors[name] = self.errors.get(name, 0) + 1
                i += 1
                t_next += 1.0
                self.stop.wait(max(0.0, t_next - time.time()))
        th = threading.Thread(target=loop, name=name, daemon=True)
        th.start()
        return th

    def timed(self, fn):
        t0 = time.perf_counter()
        fn()
        with self.lock:
            self.lat.append(time.perf_counter() - t0)

    # ---------------------------------------------------------------- load
    def start_load(self, lk):
        p = lk.ports
        plain = socket.create_connection(("127.0.0.1", p["graphite_tcp"]))
        self.plain = plain
        self.plain_lock = threading.Lock()
        syslog = socket.create_connection(("127.0.0.1", p["syslog_tcp"]))
        self.syslog, self.syslog_lock = syslog, threading.Lock()
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        from util import Http
        h_metrics, h_logs, h_q, h_lq = (Http(p["http"]) for _ in range(4))

        def plaintext(i):
            # One tenth of the series each second, so each series gets a point every 10 s.
            now = int(time.time())
            per = PLAIN_SERIES // 10
            base = (i % 10) * per
            lines = "".join("soak.h%03d.app.m%02d %d %d\n" % ((base + k) // 100, (base + k) % 100, (i + k) % 500, now)
                            for k in range(per))
            with self.plain_lock:
                plain.sendall(lines.encode())
            return per

        def http_metrics(i):
            now = int(time.time())
            per = HTTP_SERIES // 10
            base = (i % 10) * per
            body = "".join("soak.http.h%02d.m%03d %d %d\n" % ((base + k) // 100, (base + k) % 100, k, now)
                           for k in range(per)).encode()
            st, _ = h_metrics.request("POST", "/api/v1/metrics", body=body)
            if st not in (200, 204):
                raise RuntimeError(st)
            return per

        def statsd(i):
            payload, n = [], 0
            for k in range(STATSD_LINES):
                if k % 2:
                    payload.append("soak.req.c%03d:1|c" % (k % 250))
                else:
                    payload.append("soak.lat.t%03d:%d|ms" % (k % 250, (i + k) % 300))
                if len(payload) == 20:
                    udp.sendto("\n".join(payload).encode(), ("127.0.0.1", p["statsd_udp"]))
                    n += len(payload)
                    payload = []
            return n

        def syslog_lines(i):
            ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            lines = "".join("<134>1 %s web%02d soak.app.c%d - - - request %d took %d ms%s\n"
                            % (ts, k % 20, k % 5, i * SYSLOG_LINES + k, k % 700, " timeout" if k % 50 == 0 else "")
                            for k in range(SYSLOG_LINES))
            with self.syslog_lock:
                syslog.sendall(lines.encode())
            return SYSLOG_LINES

        def ndjson(i):
            now = time.time()
            body = "".join(json.dumps({"ts": now, "component": "soak.jobs.c%d" % (k % 4), "host": "w%d" % (k % 8),
                                       "message": "job %d done" % (i * NDJSON_LINES + k)}) + "\n"
                           for k in range(NDJSON_LINES)).encode()
            st, _ = h_logs.request("POST", "/api/v1/logs", body=body)
            if st not in (200, 204):
                raise RuntimeError(st)
            return NDJSON_LINES

        renders = ["soak.h001.app.m01", "soak.h05*.app.m0*", "sumSeries(soak.h1*.app.m01)",
                   "stats_counts.soak.req.c00*", "stats.timers.soak.lat.t001.upper_90"]

        def render(i):
            for k in range(RENDERS):
                t = renders[(i * RENDERS + k) % len(renders)]

                def go(t=t):
                    st, _ = h_q.get("/render", {"target": t, "from": "-1h", "format": "json"})
                    if st != 200:
                        raise RuntimeError(st)
                self.timed(go)
            return RENDERS

        def log_query(i):
            for k in range(LOG_QUERIES):
                kind = (i + k) % 3
                if kind == 0:
                    params, path = {"component": "soak.app", "from": "-2min", "limit": 1000}, "/api/v1/logs"
                elif kind == 1:
                    params = {"component": "soak.app", "from": "-2min", "contains": "timeout", "limit": 1000}
                    path = "/api/v1/logs"
                else:
                    params, path = {"component": "*", "from": "-24h"}, "/api/v1/logs/histogram"

                def go(params=params, path=path):
                    st, _ = h_lq.get(path, params)
                    if st != 200:
                        raise RuntimeError(st)
                self.timed(go)
            return LOG_QUERIES

        for name, fn in (("plaintext", plaintext), ("http_metrics", http_metrics), ("statsd", statsd),
                         ("syslog", syslog_lines), ("ndjson", ndjson), ("render", render), ("log_query", log_query)):
            self.paced(name, 1, fn)

    # ---------------------------------------------------------------- markers
    def metric_lag(self, lk, h, seq):
        now = int(time.time())
        with self.plain_lock:
            self.plain.sendall(b"soak.marker %d %d\n" % (seq, now))
        t0 = time.perf_counter()
        deadline = t0 + INTERVAL - 1
        while time.perf_counter() < deadline:
            st, body = h.get("/render", {"target": "soak.marker", "from": now - 20, "until": now + 10,
                                         "format": "json"})
            if st == 200 and any(v == seq for s in json.loads(body) for v, _ in s["datapoints"]):
                return time.perf_counter() - t0
            time.sleep(0.01)
        return None

    def log_lag(self, lk, h, seq):
        ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with self.syslog_lock:
            self.syslog.sendall(b"<134>1 %s soak soak.marker - - - marker %d end\n" % (ts.encode(), seq))
        t0 = time.perf_counter()
        deadline = t0 + INTERVAL - 1
        while time.perf_counter() < deadline:
            b = h.json("/api/v1/logs", {"component": "soak.marker", "from": "-2min", "until": "now",
                                        "contains": "marker %d end" % seq, "limit": 5})
            if b.get("logs"):
                return time.perf_counter() - t0
            time.sleep(0.01)
        return None

    # ---------------------------------------------------------------- run
    def run(self):
        data = os.path.join(DATA, "soak", "data")
        lk = Lookout(data)
        lk.wipe()
        lk.start()
        from util import Http
        h = Http(lk.ports["http"])
        rows = []
        csv_path = os.path.join(self.out, "soak.csv")
        fields = ["t_s", "rss_mib", "heap_in_use_mib", "p99_query_ms", "queries", "metric_lag_ms", "log_lag_ms", "fds",
                  "data_dir_mib", "errors"]
        t_begin = time.time()
        try:
            self.start_load(lk)
            seq = 0
            with open(csv_path, "w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=fields)
                w.writeheader()
                t_next = t_begin + INTERVAL
                while time.time() - t_begin < self.minutes * 60:
                    seq += 1
                    ml = self.metric_lag(lk, h, seq)
                    ll = self.log_lag(lk, h, seq)
                    time.sleep(max(0.0, t_next - time.time()))
                    t_next += INTERVAL
                    with self.lock:
                        lat, self.lat = self.lat, []
                        errors = sum(self.errors.values())
                    in_use = self_metric(h, "lookout_process_heap_in_use_bytes")
                    row = {"t_s": round(time.time() - t_begin), "rss_mib": round(rss(lk.pid) / 2**20, 1),
                           "heap_in_use_mib": round(in_use / 2**20, 1) if in_use is not None else "",
                           "p99_query_ms": round(pct(lat, 99) * 1000, 1) if lat else "",
                           "queries": len(lat),
                           "metric_lag_ms": round(ml * 1000, 1) if ml is not None else "",
                           "log_lag_ms": round(ll * 1000, 1) if ll is not None else "",
                           "fds": open_fds(lk.pid), "data_dir_mib": round(du(data) / 2**20, 1), "errors": errors}
                    rows.append(row)
                    w.writerow(row)
                    f.flush()
                    if len(rows) % 6 == 0:
                        log("soak %s" % row)
        finally:
            self.stop.set()
            lk.stop()
        return rows, csv_path


def self_metric(h, name):
    """One unlabelled gauge from lookout's GET /metrics, or None."""
    try:
        st, body = h.get("/metrics")
    except OSError:
        return None
    if st != 200:
        return None
    return parse_prom(body.decode("utf-8", "replace")).get(name)


def fit(xs, ys):
    """Least-squares slope and intercept."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return 0.0, my
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    return slope, my - slope * mx


# The server's default flush interval: heads (and so memory, fds and the data dir) rise and fall
# with this period, so the verdict compares one flush window's peak with the next.
WINDOW_S = 600


def verdict(rows, key, rel_limit, abs_limit):
    """Trend of the per-window peaks over the second half: (slope per hour, change over that half,
    mean of the peaks, bounded?). Each series is a sawtooth with the flush period, so a fit to the
    raw samples depends on where in a cycle the run stops (ending just before a flush reads as
    growth, just after as shrinking); the peak of each whole flush window does not. Bounded when
    the fitted change of the peaks over the half is below max(rel_limit x mean, abs_limit); a fall
    (a busy neighbour going quiet) is not growth."""
    half = [r for r in rows[len(rows) // 2:] if r[key] != ""]
    if not half:
        return None
    per_window = {}
    for r in half:
        per_window.setdefault(int(r["t_s"]) // WINDOW_S, []).append(float(r[key]))
    # Whole windows only: the first and last of the half are usually cut.
    full = max(len(v) for v in per_window.values())
    peaks = sorted((w, max(v)) for w, v in per_window.items() if len(v) >= 0.8 * full)
    if len(peaks) < 3:
        return None
    xs = [w * WINDOW_S for w, _ in peaks]
    ys = [p for _, p in peaks]
    slope, _ = fit(xs, ys)
    change = slope * (xs[-1] - xs[0])
    mean = sum(ys) / len(ys)
    return {"slope_per_h": slope * 3600, "change": change, "mean": mean, "windows": len(peaks),
            "bounded": change <= max(rel_limit * mean, abs_limit)}


def plot(csv_path, png):
    if not shutil.which("gnuplot"):
        return False
    script = """set terminal pngcairo size 1200,900
set output '%s'
set datafile separator ','
set key autotitle columnhead
set multiplot layout 3,1 title 'lookout soak'
set xlabel 'seconds'
set ylabel 'MiB'
plot '%s' using 1:2 with lines title 'RSS', '' using 1:3 with lines title 'heap in use', '' using 1:9 with lines title 'data dir'
set ylabel 'ms'
plot '%s' using 1:4 with lines title 'p99 query latency'
set ylabel 'ms'
plot '%s' using 1:6 with lines title 'metric lag', '' using 1:7 with lines title 'log lag'
unset multiplot
""" % (png, csv_path, csv_path, csv_path)
    r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True, timeout=60)
    if r.returncode != 0 or not os.path.exists(png):
        script = script.replace("pngcairo", "png")
        r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True, timeout=60)
    return r.returncode == 0 and os.path.exists(png)


def verdict_table(rows):
    """The markdown table of first/middle/last samples and the growth verdict."""
    def row_md(label, r):
        return "| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            label, r["t_s"], r["rss_mib"], r["heap_in_use_mib"], r["p99_query_ms"], r["metric_lag_ms"], r["log_lag_ms"], r["fds"],
            r["data_dir_mib"])
    lines = ["| interval | t (s) | RSS MiB | heap in use MiB | p99 query ms | metric lag ms | log lag ms | open fds "
             "| data dir MiB |",
             "|---|---|---|---|---|---|---|---|---|"]
    if rows:
        lines += [row_md("first", rows[0]), row_md("middle", rows[len(rows) // 2]), row_md("last", rows[-1])]
    v_rss = verdict(rows, "rss_mib", 0.05, 8.0)
    v_heap = verdict(rows, "heap_in_use_mib", 0.05, 8.0)
    v_ml = verdict(rows, "metric_lag_ms", 0.5, 50.0)
    v_ll = verdict(rows, "log_lag_ms", 0.5, 50.0)
    v_q = verdict(rows, "p99_query_ms", 0.5, 20.0)
    v_fd = verdict(rows, "fds", 0.05, 4.0)
    lines += ["", "Linear fit to the peak of each whole %d-s flush window in the second half (bounded = the fitted "
              "change of the peaks over that half is under the limit):" % WINDOW_S, "",
              "| figure | windows | slope per hour | change over the half | mean of peaks | limit | grows without bound? |",
              "|---|---|---|---|---|---|---|"]
    for name, v, lim in (("RSS (MiB)", v_rss, "max(5 % of mean, 8 MiB)"),
                         ("heap in use (MiB)", v_heap, "max(5 % of mean, 8 MiB)"),
                         ("metric ingest lag (ms)", v_ml, "max(50 % of mean, 50 ms)"),
                         ("log ingest lag (ms)", v_ll, "max(50 % of mean, 50 ms)"),
                         ("p99 query latency (ms)", v_q, "max(50 % of mean, 20 ms)"),
                         ("open fds", v_fd, "max(5 % of mean, 4)")):
        if v is None:
            lines.append("| %s | < 3 | n/a | | | %s | not enough whole windows |" % (name, lim))
        else:
            lines.append("| %s | %d | %+.2f | %+.2f | %.2f | %s | %s |" % (
                name, v["windows"], v["slope_per_h"], v["change"], v["mean"], lim,
                "no" if v["bounded"] else "**yes**"))
    bounded = all(v is None or v["bounded"] for v in (v_rss, v_ml, v_ll))
    lines += ["", "Verdict (RSS and both lags): %s." % (
        "nothing grows without bound" if bounded else "**something grows** (see the rows marked yes)")]
    return "\n".join(lines)


def report(rows, minutes, out, cmd, load_before, sent, errors, source):
    table = verdict_table(rows)
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write(table + "\n")
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write("# Soak, %s\n\nCommand: `%s` (lookout %s)\n\nMachine: %s\n\nLoad average before: %s; after: %s "
                "(2 cores shared with other engineers' builds and fuzzers)\n\n"
                "Steady load: Graphite plaintext TCP %d points/s (%d series every 10 s), HTTP %d points/s, "
                "StatsD UDP %d lines/s, syslog TCP %d lines/s, NDJSON %d lines/s; queries: %d renders/s and "
                "%d log queries/s (narrow, contains, 24 h histogram in turn). Sampled every %d s for %s min.\n\n"
                "Sent in total: %s. Failed load steps: %s.\n\n"
                "Files: `soak.csv` (every sample), `soak.png` (plot), `table.md`.\n\n%s\n\n![soak](soak.png)\n"
                % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), cmd, source_commit(source), hardware(),
                   load_before, loadavg(), PLAIN_SERIES // 10, PLAIN_SERIES, HTTP_SERIES // 10, STATSD_LINES,
                   SYSLOG_LINES, NDJSON_LINES, RENDERS, LOG_QUERIES, INTERVAL, minutes,
                   json.dumps(sent, sort_keys=True),
                   json.dumps(errors, sort_keys=True) if errors else "none", table))
    return table


def rereport(out):
    """Recomputes table.md (and the table inside README.md) of a finished run from its soak.csv,
    after a change to the verdict."""
    with open(os.path.join(out, "soak.csv")) as f:
        rows = [dict(r, t_s=int(r["t_s"])) for r in csv.DictReader(f)]
    table_path = os.path.join(out, "table.md")
    old = open(table_path).read().rstrip("\n") if os.path.exists(table_path) else None
    table = verdict_table(rows)
    with open(table_path, "w") as f:
        f.write(table + "\n")
    readme = os.path.join(out, "README.md")
    if old and os.path.exists(readme):
        text = open(readme).read()
        with open(readme, "w") as f:
            f.write(text.replace(old, table))
    plot(os.path.join(out, "soak.csv"), os.path.join(out, "soak.png"))
    return table


def main(minutes, cmd, source):
    out = run_dir("soak")
    load_before = loadavg()
    log("soak for %s min -> %s (load %s)" % (minutes, out, load_before))
    s = Soak(minutes, out)
    rows, csv_path = s.run()
    plot(csv_path, os.path.join(out, "soak.png"))
    table = report(rows, minutes, out, cmd, load_before, s.sent, s.errors, source)
    print(table)
    if s.errors:
        print("failed load steps: %s" % s.errors)
    print("sent: %s" % s.sent)
    log("soak results in %s" % out)
