#!/usr/bin/env python3
"""Regenerates golden.json: render results computed by graphite-web 1.1.8's own code.

Runs with Debian's python3 and graphite-web installed (bash shared/conformance/setup.sh).
The data set below is deterministic; graphite-web's evaluator is used unchanged except that its
fetch is served from this data set with whisper's range rule (first slot one step after `from`,
`until` inclusive), which is what lookout's MetricReader contract promises. Each case records
graphite-web's JSON render (maxDataPoints consolidation included), so the Rust test compares
names, timestamps and values against graphite-web itself.

    /usr/bin/python3 crates/query/tests/data/make_golden.py > crates/query/tests/data/golden.json

With `--conformance DIR` it instead uses the data set and targets of the shared conformance
check (DIR/graphite_diff.py, DIR/targets.txt) for a local run of the golden test against it:

    /usr/bin/python3 make_golden.py --conformance /work/shared/conformance > /tmp/conf.json
    LOOKOUT_QUERY_GOLDEN=/tmp/conf.json cargo test -p lookout-query --test golden
"""
import fnmatch
import json
import math
import os
import random
import sys
import tempfile

SETTINGS = """
SECRET_KEY = 'golden-not-secret'
TIME_ZONE = 'UTC'
DEFAULT_XFILES_FACTOR = 0
LOG_DIR = '{d}'
INDEX_FILE = '{d}/index'
STORAGE_DIR = '{d}'
DATABASES = {{'default': {{'NAME': '{d}/g.db', 'ENGINE': 'django.db.backends.sqlite3'}}}}
FUNCTION_PLUGINS = []
"""

BASE = 1699999200  # 2023-11-14 22:00:00 UTC, an hour boundary
FROM = BASE + 2700
UNTIL = BASE + 3600
NOW = BASE + 3600


def dataset():
    rng = random.Random(7)
    data = {}  # name -> (step, start, values)

    def put(name, values, step=10):
        data[name] = (step, BASE, values)

    n = 360
    for dc in (1, 2):
        for h in (1, 2, 3):
            ph = rng.uniform(0, 6.28)
            vals = [round(30 + 20 * math.sin(i / 40.0 + ph) + rng.uniform(-3, 3), 3) for i in range(n)]
            if dc == 1 and h == 3:
                for i in range(200, 240):
                    vals[i] = None
            put("dc%d.host%02d.cpu.user" % (dc, h), vals)
            vals = [round(5 + 3 * math.cos(i / 30.0 + ph) + rng.uniform(-1, 1), 3) for i in range(n)]
            if dc == 2 and h == 2:
                vals = [None if i % 7 == 0 else v for i, v in enumerate(vals)]
            put("dc%d.host%02d.cpu.system" % (dc, h), vals)
    for dc, h in ((1, 1), (2, 2)):
        c = rng.randint(0, 10 ** 6)
        vals = []
        for i in range(n):
            c += rng.randint(0, 5000)
            if dc == 2 and i == 250:
                c = rng.randint(0, 100)
            vals.append(float(c))
        if dc == 1:
            for i in range(300, 310):
                vals[i] = None
        put("dc%d.host%02d.net.bytes_rx" % (dc, h), vals)
    for app, scale in (("api", 50), ("web", 20)):
        c, vals = 0, []
        for i in range(n):
            c += rng.randint(0, scale)
            vals.append(float(c))
        put("app.requests.%s.count" % app, vals)
    for app in ("api", "web"):
        for q, mult in (("p50", 1), ("p99", 2.5)):
            b = {"api": 40, "web": 60}[app] * mult
            put("app.latency.%s.%s" % (app, q),
                [round(b * (1 + 0.3 * math.sin(i / 50.0)) + rng.uniform(0, b * 0.2), 3) for i in range(n)])
    vals = [float(rng.randint(0, 20)) if rng.random() > 0.05 else None for i in range(n)]
    for i in range(n - 30, n):
        vals[i] = None
    put("app.queue.depth", vals)
    put("sparse.metric1", [round(rng.uniform(0, 100), 3) if rng.random() < 0.3 else None for i in range(n)])
    put("sparse.metric2", [round(rng.uniform(0, 100), 3) if i in (190, 250, 251, 330) else None for i in range(n)])
    put("neg.values.a", [round(50 * math.sin(i / 20.0), 3) for i in range(n)])
    put("const.zero", [0.0] * n)
    put("slow.minutely.a", [round(rng.uniform(0, 10), 3) for i in range(60)], step=60)
    put("slow.minutely.b", [round(rng.uniform(0, 10), 3) if i % 5 else None for i in range(60)], step=60)
    put("disk.used;dc=sf;host=web01", [round(rng.uniform(50, 60), 3) for i in range(n)])
    put("disk.used;dc=ny;host=web02", [round(rng.uniform(70, 80), 3) for i in range(n)])
    return data


CASES = [
    # plain paths and globs
    "dc1.host01.cpu.user",
    "dc1.host0?.cpu.user",
    "dc*.host01.cpu.{user,system}",
    "dc1.host0[1-2].cpu.*",
    "no.such.metric",
    # combine
    "sumSeries(dc1.host*.cpu.user)",
    "sum(dc*.host01.cpu.user, app.queue.depth)",
    "averageSeries(dc*.host01.cpu.*)",
    "avg(dc1.host*.cpu.user)",
    "minSeries(app.latency.*.p50)",
    "maxSeries(app.latency.*.p99)",
    "diffSeries(app.latency.api.p99,app.latency.api.p50)",
    "multiplySeries(app.latency.api.p50,const.zero)",
    "multiplySeries(app.latency.api.p50)",
    "stddevSeries(dc1.host*.cpu.user)",
    "rangeOfSeries(dc1.host*.cpu.user)",
    "divideSeries(app.latency.api.p99,app.latency.api.p50)",
    "divideSeries(app.latency.api.p99,const.zero)",
    "divideSeries(app.latency.*.p99,no.such.metric)",
    "divideSeriesLists(app.latency.*.p99,app.latency.*.p50)",
    "asPercent(dc1.host01.cpu.user,sumSeries(dc1.host*.cpu.user))",
    "asPercent(dc1.host*.cpu.user)",
    "asPercent(dc1.host*.cpu.user,100)",
    "asPercent(app.latency.*.p50,app.latency.*.p99)",
    "asPercent(dc*.host0*.cpu.*,None,0)",
    "aggregate(dc1.host*.cpu.user,'median')",
    "aggregate(dc1.host*.cpu.user,'sum',0.9)",
    "countSeries(dc*.host*.cpu.*)",
    "countSeries(no.such.metric)",
    "group(app.latency.api.p50,dc1.host01.cpu.user)",
    "percentileOfSeries(dc*.host*.cpu.user,75)",
    "percentileOfSeries(dc*.host*.cpu.user,50,true)",
    "sumSeries(slow.minutely.a,dc1.host01.cpu.user)",
    "averageSeries(slow.minutely.*)",
    "divideSeries(dc1.host01.cpu.user,slow.minutely.a)",
    "sumSeriesWithWildcards(dc*.host*.cpu.user,1)",
    "averageSeriesWithWildcards(dc*.host*.cpu.*,0,1)",
    "sumSeriesLists(app.latency.*.p50,app.latency.*.p99)",
    "groupByNode(dc*.host*.cpu.user,0,'sumSeries')",
    "groupByNode(dc*.host*.cpu.user,1)",
    "groupByNode(dc*.host*.cpu.user,0,'max')",
    "groupByNodes(dc*.host*.cpu.*,'averageSeries',0,3)",
    "groupByNodes(dc*.host*.cpu.*,'sum',3)",
    "weightedAverage(app.latency.*.p50,app.requests.*.count,2)",
    "powSeries(app.latency.api.p50,const.zero)",
    # transform
    "scale(app.latency.api.p50,2.5)",
    "scale(dc1.host01.cpu.user,-1)",
    "scaleToSeconds(app.requests.api.count,60)",
    "offset(neg.values.a,100)",
    "absolute(neg.values.a)",
    "invert(app.latency.web.p50)",
    "invert(const.zero)",
    "squareRoot(neg.values.a)",
    "pow(app.latency.api.p50,2)",
    "log(app.latency.api.p99)",
    "log(neg.values.a,2)",
    "round(app.latency.api.p50)",
    "round(app.latency.api.p50,1)",
    "offsetToZero(neg.values.a)",
    "minMax(app.latency.api.p50)",
    "derivative(dc1.host01.net.bytes_rx)",
    "nonNegativeDerivative(dc2.host02.net.bytes_rx)",
    "perSecond(app.requests.*.count)",
    "perSecond(dc2.host02.net.bytes_rx)",
    "integral(sparse.metric1)",
    "delay(app.latency.api.p50,3)",
    "keepLastValue(sparse.metric1)",
    "keepLastValue(sparse.metric1,2)",
    "interpolate(sparse.metric1)",
    "transformNull(sparse.metric2,-1)",
    "transformNull(sparse.metric2,0,sparse.metric1)",
    "isNonNull(sparse.metric1)",
    "changed(app.queue.depth)",
    "integralByInterval(app.latency.api.p50,'10min')",
    # calculate
    "movingAverage(app.latency.api.p50,10)",
    "movingAverage(app.latency.api.p50,'5min')",
    "movingAverage(sparse.metric1,5,0.5)",
    "movingSum(app.requests.api.count,'1min')",
    "movingMin(dc1.host03.cpu.user,6)",
    "movingMax(dc1.host03.cpu.user,'2min')",
    "movingMedian(app.latency.web.p99,5)",
    "movingWindow(app.latency.web.p99,'3min','range')",
    "movingAverage(slow.minutely.a,3)",
    "exponentialMovingAverage(app.latency.api.p50,10)",
    "exponentialMovingAverage(app.latency.api.p50,'1min')",
    "stdev(app.latency.api.p50,10)",
    "stdev(dc1.host03.cpu.user,5,0.5)",
    "nPercentile(app.latency.api.p99,95)",
    "aggregateLine(app.latency.api.p50)",
    "aggregateLine(app.latency.api.p50,'max',true)",
    "linearRegression(app.requests.api.count)",
    # filters and sorting
    "highestAverage(dc*.host*.cpu.user,3)",
    "highestCurrent(dc*.host*.cpu.system,2)",
    "highestMax(dc*.host*.cpu.user,2)",
    "lowestAverage(dc*.host*.cpu.user,2)",
    "lowestCurrent(dc*.host*.cpu.user,2)",
    "highest(dc*.host*.cpu.user,2,'min')",
    "lowest(dc*.host*.cpu.user,2,'sum')",
    "limit(dc*.host*.cpu.user,4)",
    "limit(dc*.host*.cpu.user,-1)",
    "exclude(dc1.host*.cpu.user,'host0[12]')",
    "grep(dc*.host*.cpu.user,'dc2')",
    "currentAbove(dc*.host*.cpu.user,30)",
    "currentBelow(dc*.host*.cpu.user,30)",
    "averageAbove(dc*.host*.cpu.user,30)",
    "averageBelow(dc*.host*.cpu.user,30)",
    "maximumAbove(dc*.host*.cpu.user,50)",
    "minimumBelow(dc*.host*.cpu.user,10)",
    "filterSeries(dc*.host*.cpu.user,'max','>',52)",
    "mostDeviant(dc*.host*.cpu.user,3)",
    "removeAboveValue(neg.values.a,20)",
    "removeBelowValue(neg.values.a,-20)",
    "removeAbovePercentile(app.latency.api.p50,80)",
    "removeBelowPercentile(app.latency.api.p50,20)",
    "removeEmptySeries(sparse.*)",
    "removeEmptySeries(sparse.*,0.2)",
    "unique(dc1.host01.cpu.user,dc1.host0*.cpu.user)",
    "sortByMaxima(app.latency.*.p99)",
    "sortByMinima(dc*.host*.cpu.user)",
    "sortByTotal(dc*.host*.cpu.user)",
    "sortByName(app.latency.*.*,false,true)",
    "sortBy(dc*.host*.cpu.user,'last',true)",
    "averageOutsidePercentile(dc*.host*.cpu.user,70)",
    "fallbackSeries(no.such.metric,constantLine(1))",
    # naming
    "alias(dc1.host01.cpu.user,'user one')",
    "aliasByNode(dc*.host01.cpu.user,0,1)",
    "aliasByNode(movingAverage(dc*.host01.cpu.user,5),1,-1)",
    "aliasByMetric(app.latency.*.p99)",
    "aliasByMetric(scale(app.latency.api.p99,2))",
    'aliasSub(dc1.host0*.cpu.user,"host0(\\d)","server\\1")',
    'aliasSub(sumSeries(dc1.host*.cpu.user), "(^.*$)", "\\1 A")',
    'aliasSub(constantLine(100), "(^.*$)", "\\1 A")',
    "substr(dc1.host01.cpu.user,1,3)",
    "legendValue(app.latency.api.p50,'avg','last')",
    "sumSeries(alias(dc1.host01.cpu.user,'x'),dc1.host02.cpu.user)",
    "dc1.host01.cpu.user|scale(2)|alias('piped')",
    "dc*.host01.cpu.user|aliasByNode(0)|movingAverage('1min')",
    # special and time
    "constantLine(42)",
    "constantLine(1.5)",
    "threshold(10,'limit')",
    "consolidateBy(app.latency.api.p99,'max')",
    "cumulative(app.requests.api.count)",
    "summarize(app.requests.api.count,'10min','sum')",
    "summarize(app.latency.api.p50,'7min','avg')",
    "summarize(dc1.host01.cpu.user,'5min','max',true)",
    "summarize(sparse.metric2,'1min')",
    "summarize(app.queue.depth,'5min','last')",
    "smartSummarize(app.requests.api.count,'10min','sum')",
    "hitcount(app.requests.web.count,'7min')",
    "hitcount(app.requests.web.count,'10min',true)",
    "timeShift(app.latency.api.p50,'10min')",
    "timeShift(app.latency.api.p50,'-5min')",
    "timeShift(app.latency.api.p50,'+5min',false)",
    "timeStack(app.latency.api.p50,'10min',0,3)",
    "identity('the.time')",
    "time('t',300)",
    "stacked(dc1.host0*.cpu.user)",
    "secondYAxis(dc1.host01.cpu.user)",
    "drawAsInfinite(dc1.host01.cpu.user)",
    "color(dc1.host01.cpu.user,'red')",
    "setXFilesFactor(dc1.host03.cpu.user,0.5)",
    "applyByNode(dc1.host*.cpu.user,1,'sumSeries(%.cpu.*)','%.total')",
    "aggregateWithWildcards(dc*.host*.cpu.user,'max',0)",
    "multiplySeriesWithWildcards(app.latency.*.*,2)",
    "diffSeriesLists(app.latency.*.p99,app.latency.*.p50)",
    "multiplySeriesLists(app.latency.*.p99,app.latency.*.p50)",
    "aggregateSeriesLists(app.latency.*.p99,app.latency.*.p50,'average')",
    "pct(dc1.host*.cpu.user)",
    "add(app.latency.api.p50,5)",
    "exp(scale(const.zero,1))",
    "sigmoid(scale(neg.values.a,0.1))",
    "logit(scale(app.latency.api.p50,0.001))",
    "sinFunction('wave',2,120)",
    "timeSlice(app.latency.api.p50,'%d','%d')" % (BASE + 3000, BASE + 3300),
    "smartSummarize(app.requests.api.count,'10min','sum','hours')",
    "smartSummarize(app.latency.api.p50,'7min','average')",
    "dashed(dc1.host01.cpu.user)",
    "lineWidth(dc1.host01.cpu.user,3)",
    "alpha(dc1.host01.cpu.user,0.5)",
    "areaBetween(app.latency.api.*)",
    "aliasQuery(dc1.host01.cpu.user,'cpu.user','cpu.system','sys %d')",
    "xFilesFactor(sparse.metric1,0.2)",
    "minimumAbove(dc*.host*.cpu.user,10)",
    "maximumBelow(dc*.host*.cpu.user,55)",
    "interpolate(dc1.host03.cpu.user,3)",
    "movingAverage(app.latency.api.p50,'5min',xFilesFactor=0.9)",
    "summarize(app.requests.api.count,'10min',func='max',alignToFrom=true)",
    "keepLastValue(app.queue.depth,limit=3)",
    "highestMax(app.latency.*.p99|scale(2),1)",
    "app.latency.api.p50|movingAverage(5)|scale(2)",
    "movingAverage(app.latency.api.p50|scale(2),5)",
    "timeShift(app.latency.api.p50|scale(3),'1min')",
    "integral(perSecond(app.requests.api.count))",
    "nonNegativeDerivative(dc1.host01.net.bytes_rx)",
    "transformNull(removeAboveValue(neg.values.a,0),inf)",
    "constantLine(-5)",
    "sortByName(dc*.host*.cpu.user,true)",
    "groupByNode(app.*.*.*,1,'count')",
    "groupByNodes(app.latency.*.*,'diff',2)",
    "averageSeries(dc1.host01.cpu.user,slow.minutely.b)",
    "stddevSeries(slow.minutely.*,dc2.host01.cpu.user)",
    "aliasByNode(seriesByTag('name=disk.used'),'dc',1)",
    "holtWintersForecast(app.latency.api.p50,'20min','5min')",
    "holtWintersForecast(dc1.host03.cpu.user)",
    "holtWintersConfidenceBands(app.latency.*.p50,2,'20min','5min')",
    "holtWintersConfidenceArea(app.latency.api.p50,3,'20min','5min')",
    "holtWintersAberration(app.latency.*.p99,1,'20min','5min')",
    "cactiStyle(app.latency.*.p50)",
    "cactiStyle(dc1.host*.cpu.user,'si','b')",
    "cactiStyle(scale(app.requests.api.count,1000),'binary')",
    "legendValue(scale(app.requests.api.count,1000),'avg','max','si')",
    "legendValue(app.latency.api.p50,'last','bogus')",
    "reduceSeries(mapSeries(app.latency.*.*,2),'divideSeries',3,'p99','p50')",
    "reduceSeries(mapSeries(dc*.host*.cpu.*,1),'asPercent',3,'user','system')",
    "reduce(map(app.latency.*.*,2),'sumSeries',3,'p50','p99')",
    # nested
    "movingAverage(aliasByNode(dc*.host01.cpu.user,0),'2min')",
    "sumSeries(perSecond(app.requests.*.count))",
    "highestAverage(movingAverage(dc*.host*.cpu.user,5),2)",
    "asPercent(perSecond(app.requests.api.count),sumSeries(perSecond(app.requests.*.count)))",
    "timeShift(movingAverage(app.latency.api.p50,'1min'),'5min')",
    # tags
    "seriesByTag('name=disk.used')",
    "seriesByTag('name=disk.used','dc=~s.*')",
    "sumSeries(seriesByTag('name=disk.used'))",
    "aliasByTags(seriesByTag('name=disk.used'),'host','dc')",
    "groupByTags(seriesByTag('name=disk.used'),'sum','name')",
]

# (target, maxDataPoints)
MDP_CASES = [
    ("dc1.host01.cpu.user", 50),
    ("dc1.host03.cpu.user", 7),
    ("consolidateBy(app.latency.api.p99,'max')", 20),
    ("consolidateBy(app.requests.api.count,'sum')", 1),
    ("consolidateBy(sparse.metric1,'last')", 33),
    ("consolidateBy(sparse.metric1,'avg_zero')", 12),
    ("setXFilesFactor(sparse.metric1,0.5)", 30),
    ("cumulative(app.requests.admin.count)", 50),
    ("dc1.host01.cpu.user;;slow.minutely.a", 25),
    ("constantLine(100)", 300),
]


def setup():
    d = tempfile.mkdtemp(prefix="golden-")
    with open(os.path.join(d, "golden_settings.py"), "w") as f:
        f.write(SETTINGS.format(d=d))
    sys.path.insert(0, d)
    os.environ["GRAPHITE_SETTINGS_MODULE"] = "golden_settings"
    os.environ["DJANGO_SETTINGS_MODULE"] = "graphite.settings"
    import django
    django.setup()


def main():
    global FROM, UNTIL
    setup()
    from datetime import datetime
    import pytz
    from graphite.render import evaluator, datalib, views
    from graphite.finders import match_entries

    data = dataset()

    def fake_fetch(requestContext, pathExpr, timer=None):
        start = int(requestContext["startTime"].timestamp())
        end = int(requestContext["endTime"].timestamp())
        if pathExpr.startswith("seriesByTag("):
            specs = [s.strip()[1:-1] for s in pathExpr[len("seriesByTag("):-1].split(",")]
            names = []
            for name in data:
                tags = datalib.STORE.tagdb.parse(name).tags
                ok = True
                for spec in specs:
                    if "=~" in spec:
                        k, v = spec.split("=~", 1)
                        import re
                        ok = ok and re.match(v, tags.get(k, "")) is not None
                    else:
                        k, v = spec.split("=", 1)
                        ok = ok and tags.get(k, "") == v
                if ok:
                    names.append(name)
        else:
            parts = pathExpr.split(".")
            names = []
            for name in data:
                if ";" in name:
                    continue
                nparts = name.split(".")
                if len(nparts) != len(parts):
                    continue
                if all(match_entries([n], p) for n, p in zip(nparts, parts)):
                    names.append(name)
        out = []
        for name in sorted(names):
            step, dstart, vals = data[name]
            s = start - start % step + step
            e = end - end % step + step
            values = []
            for t in range(s, e, step):
                i = (t - dstart) // step
                values.append(vals[i] if 0 <= i < len(vals) else None)
            ts = datalib.TimeSeries(name, s, e, step, values,
                                    xFilesFactor=requestContext.get("xFilesFactor"))
            ts.pathExpression = pathExpr
            out.append(ts)
        return out

    evaluator.fetchData = fake_fetch
    evaluator.prefetchData = lambda ctx, exprs: None

    def render(targets, mdp=None):
        tz = pytz.utc
        ctx = {
            "startTime": datetime.fromtimestamp(FROM, tz),
            "endTime": datetime.fromtimestamp(UNTIL, tz),
            "now": datetime.fromtimestamp(NOW, tz),
            "localOnly": False, "template": {}, "tzinfo": tz, "forwardHeaders": {},
            "sourceIdHeaders": {}, "data": [], "prefetched": {}, "xFilesFactor": 0.0,
            "maxDataPoints": mdp, "targets": targets,
        }
        series = evaluator.evaluateTarget(ctx, targets)
        opts = {"maxDataPoints": mdp} if mdp is not None else {}
        body = views.renderViewJson(opts, series).content.decode()
        return json.loads(body.replace("1e9999", "\"inf\""))

    def compact(s):
        """Datapoints sit on a regular grid, so start and step stand for the timestamps."""
        ts = [t for _, t in s["datapoints"]]
        step = ts[1] - ts[0] if len(ts) > 1 else 0
        assert all(t == ts[0] + i * step for i, t in enumerate(ts)), s["target"]
        return {"name": s["target"], "tags": s["tags"], "start": ts[0] if ts else 0, "step": step,
                "values": [v for v, _ in s["datapoints"]]}

    cases = []
    if len(sys.argv) == 3 and sys.argv[1] == "--conformance":
        sys.path.insert(0, sys.argv[2])
        import graphite_diff
        base = BASE - 6 * 3600
        raw = graphite_diff.make_dataset(base)
        data.clear()
        for name, pts in raw.items():
            vals = [None] * graphite_diff.NPTS
            for t, v in pts:
                vals[(t - base) // 10] = float(v)
            data[name] = (10, base, vals)
        for t in graphite_diff.parse_targets(os.path.join(sys.argv[2], "targets.txt"), base):
            if t["kind"] != "render":
                continue
            p = t["params"]
            FROM, UNTIL = int(p["from"]), int(p["until"])
            mdp = int(p["maxDataPoints"]) if "maxDataPoints" in p else None
            out = render(p["target"], mdp)
            cases.append({"target": ";;".join(p["target"]), "from": FROM, "until": UNTIL,
                          "maxDataPoints": mdp, "series": [compact(s) for s in out]})
        CASES.clear()
        MDP_CASES.clear()
    for t in CASES:
        try:
            out = render([t])
        except Exception as e:  # noqa: BLE001
            print("skipping %s: %r" % (t, e), file=sys.stderr)
            continue
        cases.append({"target": t, "series": [compact(s) for s in out]})
    for t, mdp in MDP_CASES:
        out = render(t.split(";;"), mdp)
        cases.append({"target": t, "maxDataPoints": mdp, "series": [compact(s) for s in out]})
    FROM, UNTIL = BASE + 2700, BASE + 3600
    if len(sys.argv) == 3:
        FROM, UNTIL = BASE - 6 * 3600, BASE
    doc = {
        "generator": "crates/query/tests/data/make_golden.py (graphite-web 1.1.8 functions.py)",
        "from": FROM, "until": UNTIL, "now": NOW,
        "data": {name: {"step": st, "start": s0, "values": v} for name, (st, s0, v) in data.items()},
        "cases": cases,
    }
    json.dump(doc, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
