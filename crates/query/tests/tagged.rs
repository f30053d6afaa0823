//! Tagged series through the render functions on the in-memory store: `seriesByTag` with every
//! operator, `groupByTags`, `aliasByTags`, and the bad input of issue #5 (bad tag expressions,
//! bad `grep` regexes, division by zero and by an empty list), checked against graphite-web
//! 1.1's names and values.

use lookout_core::testkit::MemStore;
use lookout_query::{evaluate, ErrorKind, RenderContext, Series};

const STEP: i64 = 10;
const T0: i64 = 1_700_000_000 - 1_700_000_000 % 3600;

fn store() -> MemStore {
    let s = MemStore::new(STEP);
    let series: [(&str, [Option<f64>; 3]); 7] = [
        (
            "disk.used;dc=sf;host=web01",
            [Some(1.0), Some(2.0), Some(3.0)],
        ),
        ("disk.used;dc=sf;host=web02", [Some(10.0), None, Some(30.0)]),
        (
            "disk.used;dc=ny;host=web03",
            [Some(100.0), Some(200.0), Some(300.0)],
        ),
        (
            "disk.used;dc=ny;host=db01;rack=a1",
            [Some(5.0), Some(5.0), Some(5.0)],
        ),
        (
            "cpu.load;dc=sf;host=web01",
            [Some(0.5), Some(1.5), Some(2.5)],
        ),
        ("zero.divisor", [Some(0.0), Some(2.0), Some(0.0)]),
        ("ten.values", [Some(10.0), Some(100.0), Some(1000.0)]),
    ];
    for (name, values) in series {
        s.insert(name, T0, &values);
    }
    s
}

fn render(target: &str) -> lookout_query::Result<Vec<Series>> {
    let store = store();
    let ctx = RenderContext {
        reader: &store,
        from: T0 - STEP,
        until: T0 + 2 * STEP,
        now: T0 + 3600,
    };
    evaluate(&ctx, target)
}

/// Renders `target` and compares each series' name and values.
#[track_caller]
fn check(target: &str, expected: &[(&str, [Option<f64>; 3])]) {
    let got = render(target).unwrap_or_else(|e| panic!("{target}: {e}"));
    let got: Vec<(&str, &[Option<f64>])> = got
        .iter()
        .map(|s| (s.name.as_str(), s.values.as_slice()))
        .collect();
    let want: Vec<(&str, &[Option<f64>])> = expected.iter().map(|(n, v)| (*n, &v[..])).collect();
    assert_eq!(got, want, "{target}");
}

#[track_caller]
fn check_err(target: &str, fragment: &str) {
    let e = render(target).expect_err(target);
    assert_eq!(e.kind, ErrorKind::InvalidArgument, "{target}: {e}");
    assert!(e.message.contains(fragment), "{target}: {e}");
}

#[test]
fn series_by_tag_supports_every_graphite_operator() {
    let web01 = (
        "disk.used;dc=sf;host=web01",
        [Some(1.0), Some(2.0), Some(3.0)],
    );
    let web02 = ("disk.used;dc=sf;host=web02", [Some(10.0), None, Some(30.0)]);
    let web03 = (
        "disk.used;dc=ny;host=web03",
        [Some(100.0), Some(200.0), Some(300.0)],
    );
    let db01 = ("disk.used;dc=ny;host=db01;rack=a1", [Some(5.0); 3]);
    check(
        "seriesByTag('name=disk.used','host=~web.*','dc!=sf')",
        &[web03],
    );
    check("seriesByTag('name=disk.used','dc=sf')", &[web01, web02]);
    check(
        "seriesByTag('name=disk.used','host!=~web0[12]')",
        &[db01, web03],
    );
    check("seriesByTag(\"rack!=\")", &[db01]);
    check(
        "seriesByTag('name=disk.used','rack=')",
        &[web03, web01, web02],
    );
    check("seriesByTag('host=~eb')", &[]);
    check(
        "seriesByTag('name=~zero')",
        &[("zero.divisor", [Some(0.0), Some(2.0), Some(0.0)])],
    );
}

#[test]
fn group_by_tags_names_groups_as_graphite_does() {
    check(
        "seriesByTag('name=disk.used','dc=sf')|groupByTags('sum','dc')",
        &[("disk.used;dc=sf", [Some(11.0), Some(2.0), Some(33.0)])],
    );
    check(
        "groupByTags(seriesByTag('name=disk.used'),'max','dc')",
        &[
            ("disk.used;dc=ny", [Some(100.0), Some(200.0), Some(300.0)]),
            ("disk.used;dc=sf", [Some(10.0), Some(2.0), Some(30.0)]),
        ],
    );
    // Several names and no `name` tag: the group is named after the callback.
    check(
        "groupByTags(seriesByTag('dc=sf','host=web01'),'sum','host')",
        &[("sum;host=web01", [Some(1.5), Some(3.5), Some(5.5)])],
    );
    // Grouping by `name` keeps each name; a missing tag groups as the empty value. (graphite-web
    // 1.1.8 answers HTTP 500 here: it re-parses `cpu.load;rack=` and refuses the empty value;
    // lookout returns the group rather than fail the whole request.)
    check(
        "groupByTags(seriesByTag('dc=sf'),'averageSeries','name','rack')",
        &[
            ("cpu.load;rack=", [Some(0.5), Some(1.5), Some(2.5)]),
            ("disk.used;rack=", [Some(5.5), Some(2.0), Some(16.5)]),
        ],
    );
    check_err("groupByTags(seriesByTag('dc=sf'),'nosuch','dc')", "nosuch");
}

#[test]
fn alias_by_tags_joins_tags_and_name() {
    check(
        "seriesByTag('dc=sf','host=web01')|aliasByTags('host','name')",
        &[
            ("web01.cpu.load", [Some(0.5), Some(1.5), Some(2.5)]),
            ("web01.disk.used", [Some(1.0), Some(2.0), Some(3.0)]),
        ],
    );
    check(
        "aliasByTags(seriesByTag('rack=a1'),'rack','nosuch','dc')",
        &[("a1..ny", [Some(5.0); 3])],
    );
}

#[test]
fn logarithm_is_log_under_its_python_name() {
    // Python's math.log(1000, 10) is 2.9999999999999996 too: ln(x) / ln(base).
    let want = [(
        "log(ten.values, 10)",
        [Some(1.0), Some(2.0), Some(2.9999999999999996)],
    )];
    check("log(ten.values)", &want);
    check("logarithm(ten.values)", &want);
    check(
        "logarithm(zero.divisor,2)",
        &[("log(zero.divisor, 2)", [None, Some(1.0), None])],
    );
}

#[test]
fn division_by_zero_or_by_nothing_gives_nulls() {
    check(
        "divideSeries(ten.values,zero.divisor)",
        &[(
            "divideSeries(ten.values,zero.divisor)",
            [None, Some(50.0), None],
        )],
    );
    check(
        "divideSeries(ten.values,no.such.series)",
        &[("divideSeries(ten.values,MISSING)", [None, None, None])],
    );
    check("divideSeries(no.such.series,ten.values)", &[]);
    check(
        "divideSeriesLists(ten.values,zero.divisor)",
        &[(
            "divideSeries(ten.values,zero.divisor)",
            [None, Some(50.0), None],
        )],
    );
    check(
        "asPercent(ten.values,zero.divisor)",
        &[(
            "asPercent(ten.values,zero.divisor)",
            [None, Some(5000.0), None],
        )],
    );
}

#[test]
fn bad_tag_expressions_and_regexes_are_clear_errors() {
    check_err("seriesByTag('host~web')", "no operator");
    check_err("seriesByTag('host!web')", "unknown operator");
    check_err("seriesByTag('host=~(')", "invalid regular expression");
    check_err("seriesByTag('host!=web01')", "non-empty value");
    check_err("seriesByTag()", "tagExpressions");
    check_err(
        "grep(seriesByTag('dc=sf'),'(')",
        "invalid regular expression",
    );
    check_err("exclude(ten.values,'[')", "invalid regular expression");
    let e = render("sumSeries(seriesByTag('host~web'))").expect_err("bad tag");
    assert_eq!(e.position, Some(10), "{e}");
    assert!(e.message.starts_with("seriesByTag():"), "{e}");
}
