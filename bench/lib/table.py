"""The one table of `bench/all` (markdown) and the run's README, from results.json.

Each row is one figure with the direction that is better; a peer's cell shows its value and the
ratio lookout / peer. A peer that cannot do a workload shows n/a with a numbered footnote.
"""
import os
import sys
import time

import util

PEERS = (("victoria-metrics", "VictoriaMetrics"), ("carbon", "carbon + graphite-web"), ("influxdb", "InfluxDB"),
         ("clickhouse", "ClickHouse"), ("etsy", "Etsy statsd"))

NOTES = {
    "no_udp": "the shared harness runs carbon and InfluxDB without their UDP inputs (carbon's "
              "ENABLE_UDP_LISTENER and InfluxDB's graphite udp are off in ../shared/bench/peers/conf)",
    "no_statsd": "no StatsD input",
    "no_logs": "not a log store",
    "no_metrics": "not a metrics store",
    "no_card": "not run: carbon/whisper preallocates every series (1M x ~100 KB at 10s:25h is ~100 GB); "
               "InfluxDB 1.6's graphite input at 1M new series would not finish in the time budget",
    "no_syslog": "no syslog or GELF input (ClickHouse is fed its native TSV over HTTP instead)",
    "tsv": "ClickHouse gets the same rows as TabSeparated over HTTP (10 POSTs), its native bulk format, "
           "not NDJSON",
    "no_wal": "no comparable crash replay: VictoriaMetrics and carbon drop what was buffered in memory on "
              "kill -9, so there is no full WAL to replay",
    "partial": "not all points were queryable when the ingest timeout (240 s) expired: the rate counts the "
               "points stored by then, the percentage is of all sent",
    "below_ladder": "dropped datagrams even at the lowest rate tried, which is shown: its real figure is lower, "
                    "so lookout's ratio against it is a lower bound",
    "not_run": "not run (--peers not given or the peer is missing)",
    "failed": "no figure: the step was not run (--only) or failed (see results.json, errors)",
}


def fmt_rate(v):
    if v is None:
        return None
    if v >= 1e6:
        return "%.2fM" % (v / 1e6)
    if v >= 1e3:
        return "%.0fk" % (v / 1e3)
    return "%.0f" % v


def fmt_ms(v):
    if v is None:
        return None
    return "%.1f ms" % v if v >= 10 else "%.2f ms" % v


def fmt_mib(v):
    return None if v is None else "%.0f MiB" % (v / 2**20)


def fmt_s(v):
    return None if v is None else "%.2f s" % v


def fmt_b(v):
    return None if v is None else "%.2f" % v


def get(d, *path):
    for p in path:
        if isinstance(d, dict):
            d = d.get(p)
        elif isinstance(d, list) and isinstance(p, int) and p < len(d):
            d = d[p]
        else:
            return None
    return d


def query(res, target, name, key):
    for q in get(res, "metrics", target, "queries") or []:
        if q["name"] == name:
            return q[key]
    return None


def rss_at(res, target, i):
    r = get(res, "cardinality", target, "rss") or []
    return (r[i]["series"], r[i]["bytes"]) if i < len(r) else (None, None)


def below_ladder(st, key):
    """A StatsD best rate of 0 means drops even at the lowest rate tried: show that rate with a
    footnote (the true figure is lower, so a ratio against it is a bound)."""
    v = st.get(key)
    if v == 0 and st.get("rates"):
        return ("~", min(st["rates"]), "below_ladder")
    return v


def rows(res):
    """(figure, better, formatter, {column: value or note key})."""
    out = []

    def metric_row(label, better, fmt, fn, peers=("victoria-metrics", "carbon", "influxdb"), na=None):
        cells = {"lookout": fn("lookout")}
        for p, _ in PEERS:
            if p in peers:
                cells[p] = fn(p)
            elif na and p in na:
                cells[p] = "!" + na[p]
            else:
                cells[p] = "!" + ("no_metrics" if p in ("clickhouse",) else "no_statsd" if p == "etsy" else "")
        out.append((label, better, fmt, cells))

    logs_na = {"clickhouse": "no_metrics", "etsy": "no_statsd"}
    s = get(res, "workloads", "metrics") or {}
    n = "%s x %s" % (s.get("series", "?"), s.get("points_per_series", "?"))
    def tcp(t, key):
        r = get(res, "metrics", t, key) or {}
        if r.get("points_per_s") is None and r.get("partial_points_per_s") is not None:
            return ("~", (r["partial_points_per_s"], r["stored"] / max(r["expected"], 1)), "partial")
        return r.get("points_per_s")
    metric_row("metrics ingest, 1 TCP connection (points/s, %s points)" % n, "higher", fmt_rate,
               lambda t: tcp(t, "tcp1"), na=logs_na)
    metric_row("metrics ingest, 8 TCP connections (points/s)", "higher", fmt_rate,
               lambda t: tcp(t, "tcp8"), na=logs_na)
    metric_row("metrics ingest, UDP paced at %s points/s sent (stored points/s; stored/sent)"
               % fmt_rate(get(res, "workloads", "udp_rate")), "higher", fmt_rate,
               lambda t: (get(res, "metrics", t, "udp", "stored_points_per_s"),
                          get(res, "metrics", t, "udp", "stored_fraction")),
               peers=("victoria-metrics",), na=dict(logs_na, carbon="no_udp", influxdb="no_udp"))
    st = res.get("statsd") or {}
    out.append(("StatsD datagrams/s of %s lines with no drops (one UDP socket)" % st.get("lines_per_datagram", 20),
                "higher", fmt_rate,
                {"lookout": below_ladder(st, "lookout_best"), "etsy": below_ladder(st, "etsy_best"),
                 "victoria-metrics": "!no_statsd", "carbon": "!no_statsd", "influxdb": "!no_statsd",
                 "clickhouse": "!no_statsd"}))
    metric_row("bytes per point on disk (allocated, after a clean stop or forced merge)", "lower", fmt_b,
               lambda t: get(res, "metrics", t, "disk", "bytes_per_point"), na=logs_na)
    for name, label in (("one_series_24h", "render 1 series x 24 h"), ("wildcard_100_series_24h",
                                                                       "render 100 series x 24 h")):
        for k in ("p50_ms", "p99_ms"):
            metric_row("%s, %s" % (label, k[:3]), "lower", fmt_ms, lambda t, k=k, name=name: query(res, t, name, k),
                       na=logs_na)
    card_na = dict(logs_na, carbon="no_card", influxdb="no_card")
    for k in ("p50_ms", "p99_ms"):
        metric_row("render 10,000 series (`card.*.s0.m0`, 2 points each), %s" % k[:3], "lower", fmt_ms,
                   lambda t, k=k: get(res, "cardinality", t, "render_10k", k), peers=("victoria-metrics",), na=card_na)
    total = get(res, "cardinality", "lookout", "series_total") or 0
    for i, q in enumerate(("card.h0123.*", "card.*")):
        for k in ("p50_ms", "p99_ms"):
            metric_row("/metrics/find `%s` over %s names, %s" % (q, "{:,}".format(total), k[:3]), "lower", fmt_ms,
                       lambda t, k=k, i=i: get(res, "cardinality", t, "find", i, k), peers=("victoria-metrics",),
                       na=card_na)
    for i in (0, 1):
        n_series = rss_at(res, "lookout", i)[0]
        if n_series is None:
            continue
        metric_row("RSS at %s active series" % "{:,}".format(n_series), "lower", fmt_mib,
                   lambda t, i=i: rss_at(res, t, i)[1], peers=("victoria-metrics",), na=card_na)
    metric_row("RSS after the metrics ingest", "lower", fmt_mib,
               lambda t: get(res, "metrics", t, "rss_after_ingest"), na=logs_na)
    rs = res.get("restart") or {}
    for k, label in (("exec_to_ready_s", "exec -> ready.json"), ("exec_to_query_s", "exec -> last point answered")):
        out.append(("restart after kill -9 with a full WAL (%s points + %s log lines, %s MiB), %s" % (
            fmt_rate(rs.get("points", 0)), fmt_rate(rs.get("log_lines", 0)),
            "%.0f" % (rs.get("wal_bytes_at_kill", 0) / 2**20), label), "lower", fmt_s,
            dict({"lookout": rs.get(k)}, **{p: "!no_wal" for p, _ in PEERS})))
    lg = res.get("logs") or {}
    ch = res.get("logs clickhouse") or {}
    lrows = "{:,}".format(lg.get("rows", 0))
    na_l = {"victoria-metrics": "!no_logs", "carbon": "!no_logs", "influxdb": "!no_logs", "etsy": "!no_logs"}
    out.append(("logs ingest, syslog TCP (lines/s, %s lines)" % lrows, "higher", fmt_rate,
                dict(na_l, lookout=get(lg, "syslog_tcp", "lines_per_s"), clickhouse="!no_syslog")))
    out.append(("logs ingest, GELF UDP paced at %s lines/s sent (stored lines/s; stored/sent)"
                % fmt_rate(get(res, "workloads", "gelf_rate")), "higher", fmt_rate,
                dict(na_l, lookout=(get(lg, "gelf_udp", "lines_per_s"), get(lg, "gelf_udp", "stored_fraction")),
                     clickhouse="!no_syslog")))
    out.append(("logs ingest, NDJSON over HTTP (lines/s)", "higher", fmt_rate,
                dict(na_l, lookout=get(lg, "ndjson_http", "lines_per_s"),
                     clickhouse=("~", get(ch, "insert", "lines_per_s"), "tsv"))))
    out.append(("bytes per log line on disk", "lower", fmt_b,
                dict(na_l, lookout=get(lg, "disk", "bytes_per_line"), clickhouse=get(ch, "disk", "bytes_per_line"))))
    for name, label in (("narrow_2min", "log query: `webapp.backend.git` subtree, 2 min"),
                        ("narrow_2min_contains", "log query: the same + contains `timeout`"),
                        ("wide_24h_count", "log query: count over 24 h (histogram)")):
        for k in ("p50_ms", "p99_ms"):
            out.append(("%s, %s" % (label, k[:3]), "lower", fmt_ms,
                        dict(na_l, lookout=get(lg, "queries", name, k), clickhouse=get(ch, "queries", name, k))))
    return out


def render(res, peers):
    notes, order = {}, []

    def num(key):
        if key not in notes:
            order.append(key)
            notes[key] = len(order)
        return notes[key]

    def note(key):
        return "n/a [%d]" % num(key)

    def cell(v, fmt, lookout, is_peer):
        tilde = ""
        if isinstance(v, tuple) and len(v) == 3 and v[0] == "~":
            tilde = " [%d]" % num(v[2])
            v = v[1]
        frac = None
        if isinstance(v, tuple):
            v, frac = v
        if isinstance(v, str) and v.startswith("!"):
            return note(v[1:] or "no_metrics")
        if v is None:
            return note("not_run" if is_peer and not peers else "failed")
        text = fmt(v)
        if frac is not None:
            text += " (%.1f %%)" % (100 * frac)
        if is_peer:
            lv = lookout
            if isinstance(lv, tuple) and len(lv) == 3 and lv[0] == "~":
                lv = lv[1]
            if isinstance(lv, tuple):
                lv = lv[0]
            if isinstance(lv, (int, float)) and v:
                text += " (**%.2f**)" % (lv / v)
        return text + tilde

    cols = [p for p, _ in PEERS] if peers else []
    head = "| figure | better | lookout | " + "".join(n + " | " for p, n in PEERS if p in cols)
    lines = [head, "|" + "---|" * (3 + len(cols))]
    for label, better, fmt, cells in rows(res):
        lk = cells.get("lookout")
        lines.append("| %s | %s | %s | %s" % (label, better, cell(lk, fmt, None, False),
                                               "".join(cell(cells.get(c), fmt, lk, True) + " | " for c in cols)))
    lines.append("")
    if peers:
        lines.append("Peer cells: the peer's figure and, in bold, **lookout / peer**: above 1 is better for lookout "
                     "where higher is better, below 1 where lower is better.")
        lines.append("")
    for key in order:
        lines.append("[%d] %s." % (notes[key], NOTES.get(key, key)))
    return "\n".join(lines)


def versions(res):
    out = ["lookout %s" % source_commit(res.get("source"))]
    for t, r in (res.get("metrics") or {}).items():
        if t != "lookout" and r.get("version"):
            out.append("%s %s" % (t, r["version"]))
    ch = res.get("logs clickhouse") or {}
    if ch.get("version"):
        out.append("clickhouse-server %s" % ch["version"])
    if get(res, "statsd", "etsy"):
        import json
        import subprocess
        pj = os.path.join(util.ROOT, "target/etsy-statsd/node_modules/statsd/package.json")
        try:
            with open(pj) as f:
                v = json.load(f)["version"]
        except (OSError, ValueError, KeyError):
            v = "?"
        node = subprocess.run(["node", "--version"], stdout=subprocess.PIPE, text=True).stdout.strip()
        out.append("Etsy statsd %s (node %s)" % (v, node))
    out.append("Python %s" % sys.version.split()[0])
    return out


def source_commit(src):
    """The commit built: the working tree's HEAD, or what an export's `.commit` file names."""
    if src and os.path.realpath(src) != os.path.realpath(util.ROOT):
        try:
            with open(os.path.join(src, ".commit")) as f:
                return "%s (an export of it)" % f.read().strip()
        except OSError:
            return "unknown (an export without a .commit file)"
    return util.commit()


def readme(res, cmd, table):
    w = res.get("workloads", {})
    lines = [
        "# Whole-system benchmark, %s" % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "",
        "Command: `%s` (%.1f min)" % (cmd, res.get("minutes", 0)),
        "",
        "lookout commit: %s; built from `%s` into `%s`" % (source_commit(res.get("source")), res.get("source"),
                                                           util.LOOKOUT_BIN),
        "",
        "Machine: %s" % util.hardware(),
        "",
        "Load average before: %s; after: %s. The 2 cores are shared with other engineers' builds and "
        "fuzzers%s." % (res.get("load_before"), res.get("load_after"),
                        ", and the load was high during this run: the figures are pessimistic"
                        if float(str(res.get("load_before", "0")).split()[0]) > 1.5 else ""),
        "",
        "Versions: " + "; ".join(versions(res)),
        "",
        "Workloads (all deterministic): metrics %s series x %s points at 10 s (gen_graphite seed 42, ending at %s); "
        "UDP: `%s`; cardinality: `card.hNNNN.sS.mM`, 2 points each; logs: %s rows over 24 h (gen_logs seed 7), "
        "GELF and NDJSON records generated in bench/lib/logs.py."
        % (w.get("metrics", {}).get("series"), w.get("metrics", {}).get("points_per_series"), w.get("end"),
           os.path.basename(str(w.get("udp_dataset"))), (w.get("logs") or {}).get("rows")),
        "",
        "Raw figures: `results.json`. Table: `table.md`.",
        "",
        table,
        "",
    ]
    if res.get("errors"):
        lines += ["Steps with errors: `%s`" % res["errors"], ""]
    return "\n".join(lines)
