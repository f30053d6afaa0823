//! Interop with a real rsyslog as a relay: Debian's `rsyslogd` runs as a child with its own
//! configuration in the test's temp dir, receiving with `imudp` on a free loopback port and
//! forwarding everything with `omfwd` over TCP to lookout's syslog port twice, once with LF
//! framing and the RFC 5424 template, once octet-counted with rsyslog's forward format (RFC
//! 3164 with an RFC 3339 timestamp). The real `logger` sends to rsyslog, and every message must
//! arrive in lookout once per framing with its component, severity and host intact. rsyslog
//! writes nothing outside the temp dir and is killed when the test ends, whatever happens. A
//! missing rsyslogd fails the test: `scripts/test` installs it.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::util::{now, wait_until_ok, Lookout};

const RSYSLOGD: &str = "/usr/sbin/rsyslogd";
/// The tag `logger` puts on the messages, which lookout makes the component.
const COMPONENT: &str = "webapp.backend.git";
/// Component of the readiness probes, apart from the messages the test counts.
const PROBE_COMPONENT: &str = "rsyslogt.probe";
/// rsyslog starts, binds and connects its two forwarders within a second or two; half a minute
/// absorbs a loaded machine.
const RSYSLOG_DEADLINE: Duration = Duration::from_secs(30);
/// How long one probe is given to come through before another is sent: datagrams sent before
/// rsyslog has bound its UDP port are lost, so a probe may never arrive.
const PROBE_PATIENCE: Duration = Duration::from_millis(500);

/// The rsyslogd child, killed and reaped on drop; its output is printed if the test fails.
struct Rsyslogd {
    child: Child,
    log: PathBuf,
}

impl Drop for Rsyslogd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "---- rsyslogd output ----\n{}\n---- end of rsyslogd output ----",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }
}

/// A loopback UDP port that was free a moment ago. rsyslog must bind it itself, so the socket
/// is closed again; the probes below notice if someone else took the port in between.
fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("binding a UDP socket")
        .port()
}

/// The configuration: UDP in, two TCP forwarders out (the first with omfwd's default LF
/// framing), each with its own in-memory queue that retries forever, so nothing is lost while a
/// connection is being (re)established. No `imuxsock`/`imklog`; the work directory is the
/// temp dir.
fn config(dir: &Path, udp_port: u16, syslog_tcp: SocketAddr) -> String {
    let forward = |framing: &str, template: &str| {
        format!(
            r#"action(type="omfwd" target="{ip}" port="{port}" protocol="tcp"
       {framing}template="{template}"
       queue.type="LinkedList" queue.size="10000"
       action.resumeRetryCount="-1" action.resumeInterval="1")
"#,
            ip = syslog_tcp.ip(),
            port = syslog_tcp.port(),
        )
    };
    format!(
        r#"global(workDirectory="{work}" net.enableDNS="off")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="{udp_port}")
{lf}{octets}"#,
        work = dir.display(),
        lf = forward("", "RSYSLOG_SyslogProtocol23Format"),
        octets = forward(r#"TCP_Framing="octet-counted" "#, "RSYSLOG_ForwardFormat"),
    )
}

fn start_rsyslogd(dir: &Path, udp_port: u16, syslog_tcp: SocketAddr) -> Rsyslogd {
    assert!(
        Path::new(RSYSLOGD).exists(),
        "{RSYSLOGD} not found: run scripts/test to install test dependencies (rsyslog)"
    );
    let conf = dir.join("rsyslog.conf");
    std::fs::write(&conf, config(dir, udp_port, syslog_tcp)).expect("writing rsyslog.conf");
    let log = dir.join("rsyslogd.log");
    let out = std::fs::File::create(&log).expect("creating rsyslogd.log");
    let child = Command::new(RSYSLOGD)
        .arg("-n")
        .arg("-f")
        .arg(&conf)
        .arg("-i")
        .arg(dir.join("rsyslogd.pid"))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("cloning log handle"))
        .stderr(out)
        .spawn()
        .unwrap_or_else(|e| {
            panic!("starting {RSYSLOGD}: {e}: run scripts/test to install test dependencies")
        });
    Rsyslogd { child, log }
}

/// Runs the real `logger`, sending one RFC 5424 message to rsyslog's UDP port.
///
/// `-i` (send the PID as PROCID) matters: rsyslog turns an RFC 5424 APP-NAME into the legacy
/// TAG `app[pid]` when there is a PROCID but into a bare `app` without one, and a bare word with
/// no colon is indistinguishable from message text in RFC 3164, so without `-i` the
/// forward-format copy would arrive with component `unknown`.
fn logger(port: u16, tag: &str, text: &str) {
    let port = port.to_string();
    let args = [
        "-n",
        "127.0.0.1",
        "-P",
        &port,
        "-d",
        "-i",
        "-t",
        tag,
        "-p",
        "user.err",
        text,
    ];
    let out = Command::new("logger")
        .args(args)
        .output()
        .expect("running logger (package bsdutils); run scripts/test to install test dependencies");
    assert!(
        out.status.success(),
        "logger {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Logs of `component` whose message contains `text`, from the last ten minutes.
fn logs_with(l: &Lookout, component: &str, text: &str) -> Vec<serde_json::Value> {
    l.logs(&[
        ("component", component),
        ("contains", text),
        ("from", "-10min"),
        ("until", "+1min"),
    ])["logs"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The host name `logger` puts in its messages: the machine's, up to the first dot.
fn local_host() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("reading the hostname");
    raw.trim().split('.').next().unwrap_or("").to_string()
}

#[test]
fn rsyslog_forwards_over_tcp_with_both_framings() {
    let l = Lookout::start();
    let dir = l.scratch_dir().join("rsyslog");
    std::fs::create_dir(&dir).expect("creating rsyslog dir");
    let udp_port = free_udp_port();
    let mut rsyslogd = start_rsyslogd(&dir, udp_port, l.addrs.syslog_tcp);
    // Unique per run, so a message can only be counted if this run sent it.
    let run = format!(
        "{}-{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_nanos()
    );

    // Ready means the whole chain works: rsyslog's UDP listener is bound and a forwarder has
    // delivered. Datagrams sent earlier are lost, so probes are repeated until one arrives.
    let probe_text = format!("probe {run}");
    let start = Instant::now();
    let mut probes = 0;
    loop {
        if let Some(status) = rsyslogd.child.try_wait().expect("polling rsyslogd") {
            panic!("rsyslogd exited with {status} before it was ready");
        }
        logger(udp_port, PROBE_COMPONENT, &probe_text);
        probes += 1;
        if wait_until_ok(PROBE_PATIENCE, || {
            !logs_with(&l, PROBE_COMPONENT, &probe_text).is_empty()
        }) {
            break;
        }
        assert!(
            start.elapsed() < RSYSLOG_DEADLINE,
            "none of {probes} probes came through rsyslog within {RSYSLOG_DEADLINE:?}"
        );
    }

    let texts: Vec<String> = (0..3)
        .map(|i| format!("git tree render slow {i} run {run}"))
        .collect();
    for text in &texts {
        logger(udp_port, COMPONENT, text);
    }
    let host = local_host();
    for text in &texts {
        let got = l.wait_for_logs(
            &[
                ("component", COMPONENT),
                ("contains", text),
                ("from", "-10min"),
                ("until", "+1min"),
            ],
            2,
        );
        assert_eq!(got.len(), 2, "once per framing: {got:?}");
        // Each copy shows its path: the RFC 5424 one keeps logger's structured data and PROCID,
        // the forward-format one has the PID from `TAG[pid]`. Both carry logger's own
        // timestamp, which rsyslog passes on rather than replacing with its receive time.
        let rfc5424 = got
            .iter()
            .find(|x| x["fields"].get("timeQuality.tzKnown").is_some())
            .unwrap_or_else(|| panic!("no copy with RFC 5424 structured data: {got:?}"));
        let forward = got
            .iter()
            .find(|x| x["fields"].get("pid").is_some())
            .unwrap_or_else(|| panic!("no forward-format copy with a pid: {got:?}"));
        assert_eq!(
            rfc5424["fields"]["procid"], forward["fields"]["pid"],
            "{got:?}"
        );
        assert_eq!(rfc5424["ts_ns"], forward["ts_ns"], "{got:?}");
        for x in &got {
            assert_eq!(x["message"], text.as_str(), "{x}");
            assert_eq!(x["component"], COMPONENT, "{x}");
            assert_eq!(x["level"], "err", "{x}");
            assert_eq!(x["facility"], 1, "user: {x}");
            assert_eq!(x["host"], host.as_str(), "{x}");
            let ts = x["ts_ns"].as_i64().unwrap_or(0) / 1_000_000_000;
            assert!((ts - now()).abs() < 600, "timestamp near now: {x}");
        }
    }
}
