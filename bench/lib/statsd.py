#!/usr/bin/python3
"""StatsD over one UDP socket: the highest rate sustained with no drops. `bench/all` runs it as
one of its steps; `bench/run-statsd` runs it alone:

    bench/run-statsd [--peers] [--seconds 5] [--rates 25000,50000,...]

Builds lookout and the load generator (crates/ingest/examples/statsd_flood.rs) in release
mode, starts lookout with only its StatsD and HTTP listeners, and sends datagrams of 20 lines
at each rate in turn for --seconds. After each step it reads what lookout counted (samples
aggregated, datagrams it dropped itself) and what the kernel dropped on UDP receive buffers
(/proc/net/snmp: RcvbufErrors), and prints a table. With --peers it runs the same steps
against Etsy's statsd (node, installed under target/etsy-statsd by scripts/test), whose own
drops show only in the kernel's counter. Results are written as JSON under bench/runs/.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.dont_write_bytecode = True

from util import free_port, kernel_udp_drops, parse_prom, prom_sum  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LINES = 20


def prom(url):
    return parse_prom(urllib.request.urlopen(url + "/metrics", timeout=10).read().decode())


def wait_http(url, deadline=30):
    t = time.time()
    while time.time() - t < deadline:
        try:
            urllib.request.urlopen(url + "/health", timeout=2).read()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("lookout did not come up")


def flood(flood_bin, port, rate, seconds):
    out = subprocess.run([flood_bin, "127.0.0.1:%d" % port, str(rate), str(seconds)],
                         check=True, capture_output=True, text=True, timeout=seconds + 60).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_lookout(bin_path, flood_bin, rates, seconds):
    data = tempfile.mkdtemp(prefix="lookout-statsd-bench-")
    http, port = free_port(), free_port()
    url = "http://127.0.0.1:%d" % http
    proc = subprocess.Popen([bin_path, "serve", "--data-dir", data, "--http", "127.0.0.1:%d" % http,
                             "--statsd", "127.0.0.1:%d" % port, "--graphite", "off", "--pickle", "off",
                             "--syslog", "off", "--gelf", "off"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    steps = []
    try:
        wait_http(url)
        for rate in rates:
            before, kbefore = prom(url), kernel_udp_drops()
            sent = flood(flood_bin, port, rate, seconds)
            # The socket buffer may still hold a backlog: wait until the count stops moving.
            received = lambda m: prom_sum(m, "lookout_ingest_points_received_total", proto="statsd_udp")
            after, last, still = prom(url), -1.0, 0
            for _ in range(100):
                time.sleep(0.2)
                after = prom(url)
                still = still + 1 if received(after) == last else 0
                last = received(after)
                if still >= 3:
                    break
            kafter = kernel_udp_drops()
            got = received(after) - received(before)
            app_drops = (prom_sum(after, "lookout_ingest_udp_dropped_total", proto="statsd_udp")
                         - prom_sum(before, "lookout_ingest_udp_dropped_total", proto="statsd_udp"))
            steps.append({"rate": rate, "sent": sent, "lines_aggregated": int(got),
                          "app_dropped_datagrams": int(app_drops), "kernel_dropped": kafter - kbefore})
            print("lookout  %8d/s  sent %9d lines  aggregated %9d  dropped: lookout %d, kernel %d"
                  % (rate, sent["lines"], got, app_drops, kafter - kbefore), flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        shutil.rmtree(data, ignore_errors=True)
    return steps


def run_etsy(flood_bin, rates, seconds):
    etsy = os.environ.get("LOOKOUT_ETSY_STATSD", os.path.join(ROOT, "target/etsy-statsd"))
    stats_js = os.path.join(etsy, "node_modules/statsd/stats.js")
    if not os.path.exists(stats_js) or not shutil.which("node"):
        print("Etsy statsd not installed (run scripts/test --deps-only); skipping the peer")
        return None
    port, mgmt = free_port(), free_port()
    conf = tempfile.NamedTemporaryFile("w", suffix=".js", delete=False)
    conf.write("{ port: %d, mgmt_port: %d, flushInterval: 10000, backends: [] }" % (port, mgmt))
    conf.close()
    proc = subprocess.Popen(["node", stats_js, conf.name], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    steps = []
    try:
        time.sleep(1.5)
        for rate in rates:
            kbefore = kernel_udp_drops()
            sent = flood(flood_bin, port, rate, seconds)
            time.sleep(1.0)
            kdrop = kernel_udp_drops() - kbefore
            steps.append({"rate": rate, "sent": sent, "kernel_dropped": kdrop})
            print("etsy     %8d/s  sent %9d lines  dropped: kernel %d" % (rate, sent["lines"], kdrop),
                  flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        os.unlink(conf.name)
    return steps


def best(steps, keys):
    # No drops of any kind, every line accounted for where the receiver counts lines, and the
    # generator really sent at the rate asked.
    ok = [s["rate"] for s in steps if all(s[k] == 0 for k in keys)
          and s.get("lines_aggregated", s["sent"]["lines"]) == s["sent"]["lines"]
          and s["sent"]["rate"] >= 0.97 * s["rate"]]
    return max(ok) if ok else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peers", action="store_true")
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rates", default="25000,50000,100000,150000,200000,300000,400000")
    args = ap.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "lookout"], cwd=ROOT, check=True)
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "lookout-ingest", "--example",
                    "statsd_flood"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    bin_path = os.path.join(target, "release/lookout")
    flood_bin = os.path.join(target, "release/examples/statsd_flood")
    res = {"machine": "%dcpu" % os.cpu_count(), "lines_per_datagram": LINES, "seconds": args.seconds,
           "lookout": run_lookout(bin_path, flood_bin, rates, args.seconds)}
    if args.peers:
        res["etsy"] = run_etsy(flood_bin, rates, args.seconds)
    print()
    print("| | highest rate with no drops (datagrams/s of %d lines, %d s each) |" % (LINES, args.seconds))
    print("|---|---|")
    print("| lookout | %d |" % best(res["lookout"], ["app_dropped_datagrams", "kernel_dropped"]))
    if res.get("etsy"):
        print("| Etsy statsd | %d |" % best(res["etsy"], ["kernel_dropped"]))
    out = os.path.join(ROOT, "bench/runs", time.strftime("%Y-%m-%d") + "-%dcpu-statsd.json" % os.cpu_count())
    with open(out, "w") as f:
        json.dump(res, f, indent=1)
    print("results in", out)


if __name__ == "__main__":
    sys.exit(main())
