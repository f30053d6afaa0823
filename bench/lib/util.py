"""Helpers shared by `bench/all` and `bench/soak`: building, starting lookout on free ports,
HTTP, percentiles, /proc figures and the run directory.

The peers are started and measured through the shared harness (../shared/bench); this module
only adds what that harness does not have: a lookout with every listener on a port of its own
choosing (read back from ready.json), and p50/p99 rather than a median of 10.
"""
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("SHARED", os.path.join(ROOT, "..", "shared", "bench"))
HARNESS = os.path.join(SHARED, "harness")
DATA = os.environ.get("BENCH_DATA", "/tmp/bench-data")
TARGET_DIR = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
LOOKOUT_BIN = os.environ.get("LOOKOUT_BIN") or os.path.join(TARGET_DIR, "release", "lookout")
FLOOD_BIN = os.path.join(os.path.dirname(LOOKOUT_BIN), "examples", "statsd_flood")


def log(msg):
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def use_harness():
    """Make the shared harness importable (common, targets, bench_logs)."""
    if not os.path.isdir(HARNESS):
        raise SystemExit("the shared harness is not at %s (set SHARED)" % SHARED)
    if HARNESS not in sys.path:
        sys.path.insert(0, HARNESS)
    os.environ.setdefault("BENCH_DATA", DATA)


def build(with_flood=True, src=ROOT):
    """Release build of the binary (and the StatsD load generator), bounded to 30 minutes. `src`
    may be another checkout, e.g. `git archive HEAD` unpacked while the working tree is mid-edit."""
    cmd = ["cargo", "build", "--release", "--quiet", "--bin", "lookout", "-p", "lookout"]
    if with_flood:
        cmd += ["-p", "lookout-ingest", "--example", "statsd_flood"]
    log("building: " + " ".join(cmd))
    subprocess.run(cmd, cwd=src, check=True, timeout=1800)


def build_tools():
    """The shared harness's C tools (generators, TCP sender) into $BENCH_DATA/bin."""
    os.makedirs(os.path.join(DATA, "bin"), exist_ok=True)
    for t in ("gen_graphite", "gen_logs", "send_tcp"):
        out = os.path.join(DATA, "bin", t)
        src = os.path.join(SHARED, "tools", t + ".c")
        if os.path.exists(out) and os.path.getmtime(out) >= os.path.getmtime(src):
            continue
        subprocess.run(["cc", "-O2", "-Wall", "-o", out, src, "-lm", "-lpthread"], check=True, timeout=120)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def pct(xs, p):
    """Nearest-rank percentile of a non-empty list."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(p / 100.0 * (len(xs) - 1)))))]


def latency(fn, runs, budget_s, min_runs=5, warmup=1):
    """Call fn() up to `runs` times (after warm-up), stopping early once `budget_s` is spent and
    at least `min_runs` are in, so a slow peer cannot blow the time bound. Milliseconds."""
    for _ in range(warmup):
        fn()
    ts = []
    t_start = time.perf_counter()
    while len(ts) < runs:
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
        if len(ts) >= min_runs and time.perf_counter() - t_start > budget_s:
            break
    return {"runs": len(ts), "p50_ms": round(pct(ts, 50) * 1000, 3), "p99_ms": round(pct(ts, 99) * 1000, 3),
            "max_ms": round(max(ts) * 1000, 3)}


def rss(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def open_fds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return 0


def du(path):
    """Allocated bytes under path (what `du` shows)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for fn in files:
            try:
                total += os.lstat(os.path.join(root, fn)).st_blocks * 512
            except OSError:
                pass
    return total


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def machine():
    return "%dcpu-%dg" % (os.cpu_count(), round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30))


def hardware():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return "%d CPUs (%s), %.0f GiB RAM, %s %s" % (os.cpu_count(), model, mem, platform.system(), platform.release())


def commit():
    r = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE, text=True)
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                           stdout=subprocess.PIPE, text=True).stdout.strip()
    return r.stdout.strip() + (" (with uncommitted changes)" if dirty else "")


def run_dir(kind):
    out = os.path.join(ROOT, "bench", "runs", "%s-%s-%s" % (time.strftime("%Y-%m-%d"), machine(), kind))
    os.makedirs(out, exist_ok=True)
    return out


class Http:
    """Keep-alive HTTP/1.1 client to 127.0.0.1:port."""

    def __init__(self, port, timeout=300):
        self.port, self.timeout, self.conn = port, timeout, None

    def request(self, method, path, params=None, body=None, headers=None):
        if params:
            path += "?" + urllib.parse.urlencode(params, doseq=True)
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                r = self.conn.getresponse()
                data = r.read()
                return r.status, data
            except (http.client.HTTPException, OSError):
                self.close()
                if attempt:
                    raise
        raise RuntimeError("unreachable")

    def get(self, path, params=None):
        return self.request("GET", path, params)

    def json(self, path, params=None):
        st, body = self.get(path, params)
        if st != 200:
            raise RuntimeError("GET %s %s: %d %s" % (path, params, st, body[:200]))
        return json.loads(body)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Lookout:
    """One lookout server on a data dir, every listener on a free port (read from ready.json).

    The same data dir can be started again (restart figures); `kill9()` leaves the WAL as a
    crash would."""

    def __init__(self, data_dir, extra=()):
        self.data_dir, self.extra = data_dir, list(extra)
        self.proc = None
        self.ports = {}

    def wipe(self):
        if not os.path.realpath(self.data_dir).startswith("/tmp/"):
            raise RuntimeError("refusing to wipe %s" % self.data_dir)
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def start(self, timeout=300):
        """Exec the server; returns seconds from exec to ready.json."""
        os.makedirs(os.path.dirname(self.data_dir), exist_ok=True)
        ready = os.path.join(self.data_dir, "ready.json")
        if os.path.exists(ready):
            os.unlink(ready)
        args = [LOOKOUT_BIN, "serve", "--data-dir", self.data_dir, "--http", "127.0.0.1:0"]
        for name in ("graphite", "pickle", "syslog", "gelf", "statsd"):
            args += ["--" + name, "127.0.0.1:0"]
        args += self.extra
        logf = open(self.data_dir + ".log", "ab")
        t0 = self.t_exec = time.perf_counter()
        self.proc = subprocess.Popen(args, stdout=logf, stderr=logf, stdin=subprocess.DEVNULL)
        logf.close()
        deadline = time.time() + timeout
        while not os.path.exists(ready):
            if self.proc.poll() is not None:
                raise RuntimeError("lookout exited with %s; see %s.log" % (self.proc.returncode, self.data_dir))
            if time.time() > deadline:
                raise TimeoutError("lookout wrote no ready.json within %ds" % timeout)
            time.sleep(0.002)
        t_ready = time.perf_counter() - t0
        with open(ready) as f:
            bound = json.load(f)
        self.ports = {k: int(v.rsplit(":", 1)[1]) for k, v in bound.items()}
        self.http = Http(self.ports["http"])
        return t_ready

    @property
    def pid(self):
        return self.proc.pid

    def stop(self, timeout=120):
        """SIGTERM (the clean stop flushes the heads into blocks), SIGKILL after `timeout`."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.http.close()

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.http.close()

    def prom(self):
        """The Prometheus self-metrics as {series: value}."""
        st, body = self.http.get("/metrics")
        return parse_prom(body.decode("utf-8", "replace"))


def parse_prom(text):
    """Prometheus text as {series with its labels: value}."""
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        key, _, val = line.rpartition(" ")
        try:
            out[key] = float(val)
        except ValueError:
            pass
    return out


def prom_sum(m, name, **labels):
    total = 0.0
    for k, v in m.items():
        if k.split("{")[0] == name and all('%s="%s"' % kv in k for kv in labels.items()):
            total += v
    return total


def wait_until(fn, timeout, interval=0.1):
    """Poll fn() until it returns a true value or `timeout` passes; returns the value or None."""
    deadline = time.time() + timeout
    while True:
        try:
            v = fn()
        except (OSError, RuntimeError, ValueError, KeyError):
            v = None
        if v:
            return v
        if time.time() > deadline:
            return None
        time.sleep(interval)


def wait_stable(fn, timeout, still_for=3.0, interval=0.5):
    """Poll a counter until it stops moving for `still_for` seconds (or `timeout`); returns
    (last value, time it last changed)."""
    deadline = time.time() + timeout
    last, changed = fn(), time.time()
    while time.time() < deadline:
        time.sleep(interval)
        cur = fn()
        if cur != last:
            last, changed = cur, time.time()
        elif time.time() - changed >= still_for:
            break
    return last, changed


def udp_send(port, payloads, rate, sndbuf=4 << 20):
    """Send each payload as one datagram to 127.0.0.1:port, paced at `rate` datagrams/s in 1 ms
    slices (a flood would measure the sender, not the receiver). Returns (t0, t1, sent, errors)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    addr = ("127.0.0.1", port)
    errors = 0
    t0 = time.time()
    for i, p in enumerate(payloads):
        try:
            s.sendto(p, addr)
        except OSError:
            errors += 1
        if i % 64 == 63:
            ahead = t0 + (i + 1) / rate - time.time()
            if ahead > 0.001:
                time.sleep(ahead)
    t1 = time.time()
    s.close()
    return t0, t1, len(payloads) - errors, errors


def kernel_udp_drops():
    """Datagrams the kernel dropped on full receive buffers, machine-wide (/proc/net/snmp)."""
    with open("/proc/net/snmp") as f:
        rows = [l.split() for l in f if l.startswith("Udp:")]
    return dict(zip(rows[0][1:], (int(v) for v in rows[1][1:]))).get("RcvbufErrors", 0)
