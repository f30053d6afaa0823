//! Interop with a real collectd: Debian's `collectd` (package `collectd-core`) runs as a child
//! with its own configuration in a temp dir (1 s interval, `load`, `memory`, `cpu` and
//! `uptime`, which work in a container) and `write_graphite` pointed at lookout's plaintext TCP
//! port. The test waits for collectd's host node under `collectd.` and then for a leaf with
//! data. collectd is killed when the test ends, whatever happens. A missing collectd fails the
//! test: `scripts/test` installs it.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::util::{now, wait_until, Lookout};

const COLLECTD: &str = "/usr/sbin/collectd";
/// Hostname collectd reports; a dot in it would be escaped to `_` by write_graphite.
const HOST: &str = "itesthost";
/// collectd sends every second once its plugins have run once; the first values of a rate
/// (cpu) need two reads. A minute absorbs a slow start on a loaded machine.
const COLLECTD_DEADLINE: Duration = Duration::from_secs(60);

/// The collectd child, killed and reaped on drop.
struct Collectd {
    child: Child,
    log: std::path::PathBuf,
}

impl Drop for Collectd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "---- collectd output ----\n{}\n---- end of collectd output ----",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }
}

fn start_collectd(dir: &Path, graphite: std::net::SocketAddr) -> Collectd {
    assert!(
        Path::new(COLLECTD).exists(),
        "{COLLECTD} not found: run scripts/test to install test dependencies (collectd-core)"
    );
    let conf = dir.join("collectd.conf");
    let text = format!(
        r#"Hostname "{HOST}"
FQDNLookup false
Interval 1
BaseDir "{base}"
PIDFile "{base}/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File STDERR
</Plugin>
LoadPlugin load
LoadPlugin memory
LoadPlugin cpu
LoadPlugin uptime
LoadPlugin write_graphite
<Plugin write_graphite>
  <Node "lookout">
    Host "{ip}"
    Port "{port}"
    Protocol "tcp"
    Prefix "collectd."
    StoreRates true
    AlwaysAppendDS false
    EscapeCharacter "_"
  </Node>
</Plugin>
"#,
        base = dir.display(),
        ip = graphite.ip(),
        port = graphite.port(),
    );
    std::fs::write(&conf, text).expect("writing collectd.conf");
    let log = dir.join("collectd.log");
    let out = std::fs::File::create(&log).expect("creating collectd.log");
    let child = Command::new(COLLECTD)
        .arg("-f")
        .arg("-C")
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("cloning log handle"))
        .stderr(out)
        .spawn()
        .unwrap_or_else(|e| {
            panic!("starting {COLLECTD}: {e}: run scripts/test to install test dependencies")
        });
    Collectd { child, log }
}

fn find_ids(l: &Lookout, query: &str) -> Vec<(String, bool)> {
    let r = l.get_query("/metrics/find", &[("query", query)]);
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|n| Some((n["id"].as_str()?.to_string(), n["leaf"] == 1)))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn collectd_write_graphite_metrics_arrive() {
    let l = Lookout::start();
    let dir = l.scratch_dir().join("collectd");
    std::fs::create_dir(&dir).expect("creating collectd dir");
    let mut collectd = start_collectd(&dir, l.addrs.graphite_tcp);
    let host = format!("collectd.{HOST}");
    wait_until(
        COLLECTD_DEADLINE,
        "collectd's host node under collectd.*",
        || {
            if let Ok(Some(status)) = collectd.child.try_wait() {
                panic!("collectd exited early with {status}");
            }
            find_ids(&l, "collectd.*")
                .iter()
                .any(|(id, leaf)| *id == host && !leaf)
        },
    );
    // load.load.shortterm (or load.shortterm, depending on collectd's naming) has data.
    let mut leaf_with_data = None;
    wait_until(COLLECTD_DEADLINE, "a collectd leaf with data", || {
        for pattern in [
            format!("{host}.load.*"),
            format!("{host}.load.*.*"),
            format!("{host}.memory.*"),
        ] {
            for (id, is_leaf) in find_ids(&l, &pattern) {
                if !is_leaf {
                    continue;
                }
                let t = now();
                let points = l.render_points(&id, t - 300, t + 60);
                if points.iter().any(|(_, p)| !p.is_empty()) {
                    leaf_with_data = Some((id, points));
                    return true;
                }
            }
        }
        false
    });
    let (id, points) = leaf_with_data.expect("set by the wait");
    let values: Vec<f64> = points
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(_, v)| *v))
        .collect();
    assert!(
        values.iter().all(|v| v.is_finite() && *v >= 0.0),
        "{id}: {values:?}"
    );
    // The memory plugin reports used bytes: far above zero on any running machine.
    let mem = format!("{host}.memory.memory-used");
    wait_until(COLLECTD_DEADLINE, "memory-used from collectd", || {
        let t = now();
        l.render_points(&mem, t - 300, t + 60)
            .iter()
            .any(|(_, p)| p.iter().any(|(_, v)| *v > 1e6))
    });
    drop(collectd);
}
