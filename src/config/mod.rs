//! Configuration: `RawConfig` (TOML, as typed) plus command-line flags, validated into `Config`.
//! Flags override the file; the file overrides the defaults. Every problem is reported with the
//! key it concerns, before anything is opened or bound.

mod raw;
mod units;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use lookout_core::selfmon::Registry;
use lookout_core::Aggregation;

use crate::cli::ServeArgs;
pub use raw::RawConfig;
pub use units::{parse_duration, parse_size};

/// Default listen addresses: loopback only, so a fresh install exposes nothing.
pub const DEFAULT_HTTP: &str = "127.0.0.1:8080";
/// carbon's LINE_RECEIVER_PORT.
pub const DEFAULT_GRAPHITE: &str = "127.0.0.1:2003";
/// carbon's PICKLE_RECEIVER_PORT.
pub const DEFAULT_PICKLE: &str = "127.0.0.1:2004";
/// Syslog: 514 needs root, 1514 is the usual unprivileged choice (Graylog, Loki's promtail).
pub const DEFAULT_SYSLOG: &str = "127.0.0.1:1514";
/// Graylog's GELF port.
pub const DEFAULT_GELF: &str = "127.0.0.1:12201";
/// Etsy statsd's port.
pub const DEFAULT_STATSD: &str = "127.0.0.1:8125";
/// The WAL sync interval: the longest unacknowledged points wait before they are on disk.
pub const DEFAULT_WAL_SYNC: Duration = Duration::from_secs(1);
/// How often self-metrics are written as `lookout.*` series: the finest default step.
pub const DEFAULT_SELFMON_INTERVAL: Duration = Duration::from_secs(10);

/// How long logs are kept by default, as Graylog's and Loki's common 30-day setting.
pub const DEFAULT_LOGS_RETENTION: Duration = Duration::from_secs(30 * 86400);

/// A storage-schema rule: series whose name matches `pattern` get `retentions`.
#[derive(Debug, Clone)]
pub struct RetentionRule {
    pub name: String,
    pub pattern: String,
    pub retentions: String,
}

/// A rollup rule: series whose name matches `pattern` roll up with `method`.
#[derive(Debug, Clone)]
pub struct AggregationRule {
    pub name: String,
    pub pattern: String,
    pub method: Aggregation,
    pub x_files_factor: Option<f64>,
}

/// The validated configuration of `lookout serve`.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub http: SocketAddr,
    /// `None` when disabled ("off").
    pub graphite: Option<SocketAddr>,
    pub pickle: Option<SocketAddr>,
    pub syslog: Option<SocketAddr>,
    pub gelf: Option<SocketAddr>,
    /// StatsD over UDP and TCP; `None` when disabled.
    pub statsd: Option<SocketAddr>,
    /// StatsD's aggregation settings (used only when `statsd` is set).
    pub statsd_config: lookout_ingest::StatsdConfig,
    pub wal_sync_interval: Duration,
    pub max_body: usize,
    pub max_connections: usize,
    pub idle_timeout: Duration,
    pub auth_token: Option<String>,
    /// HTTP Basic users as (user, password), from `http.basic_auth_file`; empty = off.
    pub basic_auth: Vec<(String, String)>,
    pub retention: Vec<RetentionRule>,
    pub aggregation: Vec<AggregationRule>,
    pub selfmon_interval: Duration,
    /// Logs older than this are dropped by whole blocks.
    pub logs_retention: Duration,
    /// Log bytes on disk past which the oldest blocks are dropped; 0 = no size limit.
    pub logs_max_bytes: u64,
    /// Log counts become `logs.<component>.<severity>` metrics.
    pub logs_metrics: bool,
    /// Log records dated further ahead than this are stored at their receive time.
    pub logs_max_future: Duration,
    /// Log records dated further back than this are stored at their receive time.
    pub logs_max_past: Duration,
    /// Component rules for log inputs, first match wins.
    pub log_component_rules: Vec<lookout_ingest::ComponentRule>,
}

impl Config {
    /// Reads the config file (the one named, or ./lookout.toml if present) and applies flags.
    pub fn load(args: &ServeArgs) -> anyhow::Result<Config> {
        let raw = match &args.config {
            Some(path) => read_file(path)?,
            None if Path::new("lookout.toml").exists() => read_file(Path::new("lookout.toml"))?,
            None => RawConfig::default(),
        };
        Config::from_parts(raw, args)
    }

    /// Validates `raw` with `args` applied on top.
    pub fn from_parts(raw: RawConfig, args: &ServeArgs) -> anyhow::Result<Config> {
        let data_dir = args
            .data_dir
            .clone()
            .or(raw.data_dir)
            .unwrap_or_else(|| PathBuf::from("./lookout-data"));
        let http = addr(
            "listen.http / --http",
            args.http.as_deref().or(raw.listen.http.as_deref()),
            DEFAULT_HTTP,
        )?
        .context("the HTTP listener cannot be disabled")?;
        let graphite = addr(
            "listen.graphite / --graphite",
            args.graphite.as_deref().or(raw.listen.graphite.as_deref()),
            DEFAULT_GRAPHITE,
        )?;
        let pickle = addr(
            "listen.pickle / --pickle",
            args.pickle.as_deref().or(raw.listen.pickle.as_deref()),
            DEFAULT_PICKLE,
        )?;
        let syslog = addr(
            "listen.syslog / --syslog",
            args.syslog.as_deref().or(raw.listen.syslog.as_deref()),
            DEFAULT_SYSLOG,
        )?;
        let gelf = addr(
            "listen.gelf / --gelf",
            args.gelf.as_deref().or(raw.listen.gelf.as_deref()),
            DEFAULT_GELF,
        )?;
        let mut statsd = addr(
            "listen.statsd / --statsd",
            args.statsd.as_deref().or(raw.listen.statsd.as_deref()),
            DEFAULT_STATSD,
        )?;
        if raw.statsd.enabled == Some(false) && args.statsd.is_none() {
            statsd = None;
        }
        let statsd_config = statsd_config(&raw.statsd, args.statsd_flush.as_deref())?;
        let wal_sync_interval = match args
            .wal_sync_interval
            .as_deref()
            .or(raw.wal.sync_interval.as_deref())
        {
            Some(t) => parse_duration(t)
                .map_err(anyhow::Error::msg)
                .context("wal.sync_interval")?,
            None => DEFAULT_WAL_SYNC,
        };
        if wal_sync_interval.is_zero() || wal_sync_interval > Duration::from_secs(60) {
            bail!("wal.sync_interval must be between 1ms and 60s (it bounds how much unacknowledged data a crash can lose)");
        }
        let max_body = match args.max_body.as_deref().or(raw.http.max_body.as_deref()) {
            Some(t) => parse_size(t)
                .map_err(anyhow::Error::msg)
                .context("http.max_body")? as usize,
            None => lookout_core::limits::DEFAULT_MAX_HTTP_BODY_BYTES,
        };
        let max_connections = args
            .max_connections
            .or(raw.ingest.max_connections)
            .unwrap_or(lookout_core::limits::DEFAULT_MAX_CONNECTIONS);
        if max_connections == 0 {
            bail!("ingest.max_connections must be at least 1");
        }
        let idle_timeout = match args
            .idle_timeout
            .as_deref()
            .or(raw.ingest.idle_timeout.as_deref())
        {
            Some(t) => parse_duration(t)
                .map_err(anyhow::Error::msg)
                .context("ingest.idle_timeout")?,
            None => Duration::from_secs(lookout_core::limits::DEFAULT_IDLE_TIMEOUT_SECS),
        };
        let auth_token = match args
            .auth_token_file
            .as_ref()
            .or(raw.http.auth_token_file.as_ref())
        {
            Some(path) => {
                let t = std::fs::read_to_string(path)
                    .with_context(|| format!("reading http.auth_token_file {}", path.display()))?;
                let t = t.trim().to_string();
                if t.is_empty() {
                    bail!("http.auth_token_file {} is empty", path.display());
                }
                Some(t)
            }
            None => None,
        };
        let basic_auth = match &raw.http.basic_auth_file {
            Some(path) => read_basic_auth(path)?,
            None => Vec::new(),
        };
        let mut retention = Vec::new();
        for (i, rule) in args.retention.iter().enumerate() {
            let (pattern, retentions) = rule
                .rsplit_once('=')
                .with_context(|| format!("--retention {rule:?}: want REGEX=RETENTIONS"))?;
            retention.push(RetentionRule {
                name: format!("flag{i}"),
                pattern: pattern.to_string(),
                retentions: retentions.to_string(),
            });
        }
        for (i, r) in raw.retention.into_iter().enumerate() {
            retention.push(RetentionRule {
                name: r.name.unwrap_or_else(|| format!("retention{i}")),
                pattern: r.pattern,
                retentions: r.retentions,
            });
        }
        let mut aggregation = Vec::new();
        for (i, a) in raw.aggregation.into_iter().enumerate() {
            let method = Aggregation::parse(&a.method).with_context(|| {
                format!(
                    "[[aggregation]] {:?}: method must be average, sum, min, max or last",
                    a.method
                )
            })?;
            if let Some(x) = a.x_files_factor {
                if !(0.0..=1.0).contains(&x) {
                    bail!("[[aggregation]] x_files_factor {x} must be between 0 and 1");
                }
            }
            aggregation.push(AggregationRule {
                name: a.name.unwrap_or_else(|| format!("aggregation{i}")),
                pattern: a.pattern,
                method,
                x_files_factor: a.x_files_factor,
            });
        }
        // StatsD's series carry their type through built-in rules after the user's, so a
        // user rule still wins; they are anchored to StatsD's namespaces.
        if statsd.is_some() {
            for r in lookout_ingest::statsd_aggregation_rules(&statsd_config) {
                aggregation.push(AggregationRule {
                    name: r.name.to_string(),
                    pattern: r.pattern,
                    method: r.method,
                    x_files_factor: Some(r.x_files_factor),
                });
            }
        }
        let selfmon_interval = match raw.selfmon.interval.as_deref() {
            Some(t) => parse_duration(t)
                .map_err(anyhow::Error::msg)
                .context("selfmon.interval")?,
            None => DEFAULT_SELFMON_INTERVAL,
        };
        if selfmon_interval < Duration::from_secs(1) {
            bail!("selfmon.interval must be at least 1s");
        }
        let logs_retention = match args
            .logs_retention
            .as_deref()
            .or(raw.logs.retention.as_deref())
        {
            Some(t) => parse_duration(t)
                .map_err(anyhow::Error::msg)
                .context("logs.retention")?,
            None => DEFAULT_LOGS_RETENTION,
        };
        if logs_retention < Duration::from_secs(3600) {
            bail!("logs.retention must be at least 1h (log blocks cover an hour each)");
        }
        let logs_max_bytes = match args
            .logs_max_size
            .as_deref()
            .or(raw.logs.max_size.as_deref())
        {
            Some(t) => parse_size(t)
                .map_err(anyhow::Error::msg)
                .context("logs.max_size")?,
            None => 0,
        };
        let duration = |key: &str, value: Option<&str>, default: Duration| match value {
            Some(t) => parse_duration(t)
                .map_err(anyhow::Error::msg)
                .with_context(|| key.to_string()),
            None => Ok(default),
        };
        let logs_max_future = duration(
            "logs.max_future",
            raw.logs.max_future.as_deref(),
            Duration::from_secs(lookout_ingest::DEFAULT_MAX_FUTURE_SECS as u64),
        )?;
        let logs_max_past = duration(
            "logs.max_past",
            raw.logs.max_past.as_deref(),
            logs_retention,
        )?;
        let mut log_component_rules = Vec::new();
        for (i, r) in raw.logs.component.into_iter().enumerate() {
            let name = r.name.unwrap_or_else(|| format!("component{i}"));
            let input = match r.input.as_deref() {
                None => None,
                Some(t) => Some(lookout_ingest::LogInput::parse(t).with_context(|| {
                    format!(
                        "[[logs.component]] {name:?}: input {t:?} must be syslog, gelf or ndjson"
                    )
                })?),
            };
            let source_text = r.source.as_deref().unwrap_or("component");
            let source = lookout_ingest::RuleSource::parse(source_text).with_context(|| {
                format!("[[logs.component]] {name:?}: source {source_text:?} must be component, host, message or field.<key>")
            })?;
            let regex = regex::Regex::new(&r.regex)
                .with_context(|| format!("[[logs.component]] {name:?}: regex {:?}", r.regex))?;
            if r.component.trim().is_empty() {
                bail!("[[logs.component]] {name:?}: component must not be empty");
            }
            log_component_rules.push(lookout_ingest::ComponentRule {
                name,
                input,
                source,
                regex,
                component: r.component,
            });
        }
        let config = Config {
            data_dir,
            http,
            graphite,
            pickle,
            syslog,
            gelf,
            statsd,
            statsd_config,
            wal_sync_interval,
            max_body,
            max_connections,
            idle_timeout,
            auth_token,
            basic_auth,
            retention,
            aggregation,
            selfmon_interval,
            logs_retention,
            logs_max_bytes,
            logs_metrics: args.logs_metrics.or(raw.logs.metrics).unwrap_or(true),
            logs_max_future,
            logs_max_past,
            log_component_rules,
        };
        // Validate the storage rules now, so a bad regex or retention fails before anything opens.
        config.tsdb_config()?;
        Ok(config)
    }

    /// The metrics engine's configuration: user rules first, then the engine's defaults.
    pub fn tsdb_config(&self) -> anyhow::Result<lookout_tsdb::Config> {
        let mut cfg = lookout_tsdb::Config::default();
        let mut schemas = Vec::new();
        for r in &self.retention {
            let pattern = regex::Regex::new(&r.pattern)
                .with_context(|| format!("retention rule {:?}: pattern {:?}", r.name, r.pattern))?;
            let retentions = lookout_tsdb::Retention::parse_list(&r.retentions)
                .map_err(|e| anyhow::anyhow!("retention rule {:?}: {e}", r.name))?;
            schemas.push(lookout_tsdb::SchemaRule {
                name: r.name.clone(),
                pattern,
                retentions,
            });
        }
        schemas.append(&mut cfg.schemas);
        cfg.schemas = schemas;
        let mut aggregations = Vec::new();
        for a in &self.aggregation {
            let pattern = regex::Regex::new(&a.pattern).with_context(|| {
                format!("aggregation rule {:?}: pattern {:?}", a.name, a.pattern)
            })?;
            aggregations.push(lookout_tsdb::AggregationRule {
                name: a.name.clone(),
                pattern,
                method: a.method,
                x_files_factor: a.x_files_factor.unwrap_or(0.5),
            });
        }
        aggregations.append(&mut cfg.aggregations);
        cfg.aggregations = aggregations;
        Ok(cfg)
    }
}

impl Config {
    /// What every log input applies between parsing and storing.
    pub fn log_policy(&self, registry: &Registry) -> lookout_ingest::LogPolicy {
        lookout_ingest::LogPolicy::new(
            self.log_component_rules.clone(),
            self.logs_max_future.as_secs() as i64,
            Some(self.logs_max_past.as_secs() as i64),
            registry,
        )
    }

    /// The log engine's configuration.
    pub fn logs_config(&self) -> lookout_logs::Config {
        lookout_logs::Config {
            retention_secs: self.logs_retention.as_secs() as i64,
            max_bytes: self.logs_max_bytes,
            ..lookout_logs::Config::default()
        }
    }
}

/// Validates `[statsd]`, with `--statsd-flush` over `flush_interval`. Etsy's
/// `deleteIdleStats` sets the default of the four `delete_*` keys.
fn statsd_config(
    raw: &raw::RawStatsd,
    flush_flag: Option<&str>,
) -> anyhow::Result<lookout_ingest::StatsdConfig> {
    let mut c = lookout_ingest::StatsdConfig::default();
    if let Some(t) = flush_flag.or(raw.flush_interval.as_deref()) {
        c.flush_interval = parse_duration(t)
            .map_err(anyhow::Error::msg)
            .context("statsd.flush_interval / --statsd-flush")?;
    }
    if c.flush_interval < Duration::from_secs(1) {
        bail!("statsd.flush_interval must be at least 1s (points are stored in whole seconds)");
    }
    if let Some(p) = &raw.percentiles {
        if let Some(bad) = p.iter().find(|p| !(p.abs() > 0.0 && p.abs() <= 100.0)) {
            bail!("statsd.percentiles: {bad} is not in (0, 100] or [-100, 0)");
        }
        c.percentiles = p.clone();
    }
    let idle = raw.delete_idle_stats.unwrap_or(false);
    c.delete_counters = raw.delete_counters.unwrap_or(idle);
    c.delete_timers = raw.delete_timers.unwrap_or(idle);
    c.delete_sets = raw.delete_sets.unwrap_or(idle);
    c.delete_gauges = raw.delete_gauges.unwrap_or(idle);
    c.legacy_namespace = raw.legacy_namespace.unwrap_or(true);
    let prefixes = [
        (&raw.global_prefix, &mut c.global_prefix, "global_prefix"),
        (&raw.prefix_counter, &mut c.prefix_counter, "prefix_counter"),
        (&raw.prefix_timer, &mut c.prefix_timer, "prefix_timer"),
        (&raw.prefix_gauge, &mut c.prefix_gauge, "prefix_gauge"),
        (&raw.prefix_set, &mut c.prefix_set, "prefix_set"),
    ];
    for (given, slot, key) in prefixes {
        if let Some(p) = given {
            if !p.is_empty() {
                lookout_core::validate_metric_path(p)
                    .map_err(|e| anyhow::anyhow!("statsd.{key} {p:?}: {e}"))?;
            }
            *slot = p.clone();
        }
    }
    if let Some(n) = raw.max_series {
        if n == 0 {
            bail!("statsd.max_series must be at least 1");
        }
        c.max_series = n;
    }
    Ok(c)
}

fn read_file(path: &Path) -> anyhow::Result<RawConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing config {}", path.display()))
}

/// Reads `http.basic_auth_file`: `user:password` per line (the password may contain `:`);
/// blank lines and `#` comments are skipped. An empty list is refused, since it would lock
/// everyone out.
fn read_basic_auth(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading http.basic_auth_file {}", path.display()))?;
    parse_basic_auth(&text).with_context(|| format!("http.basic_auth_file {}", path.display()))
}

fn parse_basic_auth(text: &str) -> anyhow::Result<Vec<(String, String)>> {
    let mut users = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once(':') {
            Some((user, password)) if !user.is_empty() && !password.is_empty() => {
                users.push((user.to_string(), password.to_string()));
            }
            _ => bail!("line {}: expected user:password", i + 1),
        }
    }
    if users.is_empty() {
        bail!("no user:password line");
    }
    Ok(users)
}

/// An address flag: `host:port`, or "off"/"" to disable the listener.
fn addr(key: &str, value: Option<&str>, default: &str) -> anyhow::Result<Option<SocketAddr>> {
    let v = value.unwrap_or(default).trim();
    if v.is_empty() || v.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    // Accept ":2003" as carbon users write it, meaning all interfaces is NOT assumed: loopback.
    let v = if let Some(port) = v.strip_prefix(':') {
        format!("127.0.0.1:{port}")
    } else {
        v.to_string()
    };
    v.parse::<SocketAddr>().map(Some).with_context(|| {
        format!("{key}: {v:?} is not an address like 127.0.0.1:2003 or [::1]:2003")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> ServeArgs {
        ServeArgs::default()
    }

    #[track_caller]
    fn check_basic(text: &str, expected: Result<&[(&str, &str)], &str>) {
        match (parse_basic_auth(text), expected) {
            (Ok(got), Ok(want)) => {
                let want: Vec<(String, String)> = want
                    .iter()
                    .map(|(u, p)| (u.to_string(), p.to_string()))
                    .collect();
                assert_eq!(got, want, "{text:?}");
            }
            (Err(e), Err(part)) => assert!(format!("{e:#}").contains(part), "{text:?}: {e:#}"),
            (got, want) => panic!("{text:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn basic_auth_files_are_user_password_lines() {
        check_basic("alice:s3cret\n", Ok(&[("alice", "s3cret")]));
        check_basic(
            "# team\n\nalice:a:b\n  bob:pw  \n",
            Ok(&[("alice", "a:b"), ("bob", "pw")]),
        );
        check_basic("alice\n", Err("line 1"));
        check_basic("ok:pw\n:nouser\n", Err("line 2"));
        check_basic("alice:\n", Err("line 1"));
        check_basic("# nothing\n", Err("no user"));
    }

    #[test]
    fn defaults_listen_on_loopback() {
        let c = Config::from_parts(RawConfig::default(), &args()).unwrap();
        assert_eq!(c.http.to_string(), DEFAULT_HTTP);
        assert_eq!(c.graphite.unwrap().to_string(), DEFAULT_GRAPHITE);
        assert_eq!(c.pickle.unwrap().to_string(), DEFAULT_PICKLE);
        assert_eq!(c.data_dir, PathBuf::from("./lookout-data"));
        assert_eq!(c.wal_sync_interval, Duration::from_secs(1));
    }

    #[test]
    fn flags_override_file_and_off_disables() {
        let raw: RawConfig = toml::from_str(
            "data_dir = '/tmp/x'\n[listen]\nhttp = '127.0.0.1:9000'\npickle = 'off'\n[wal]\nsync_interval = '250ms'\n",
        )
        .unwrap();
        let mut a = args();
        a.http = Some("127.0.0.1:0".into());
        let c = Config::from_parts(raw, &a).unwrap();
        assert_eq!(c.http.port(), 0);
        assert!(c.pickle.is_none());
        assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(c.wal_sync_interval, Duration::from_millis(250));
    }

    #[test]
    fn bad_values_name_their_key() {
        let raw: RawConfig = toml::from_str("[wal]\nsync_interval = 'soon'\n").unwrap();
        let e = format!("{:#}", Config::from_parts(raw, &args()).unwrap_err());
        assert!(e.contains("wal.sync_interval"), "{e}");
        assert!(
            toml::from_str::<RawConfig>("[listen]\nhtp = '1'\n").is_err(),
            "unknown keys refused"
        );
        let mut a = args();
        a.retention = vec!["(=10s:1d".into()];
        assert!(
            Config::from_parts(RawConfig::default(), &a).is_err(),
            "bad regex refused"
        );
        let mut a = args();
        a.retention = vec![".*=10s:banana".into()];
        assert!(
            Config::from_parts(RawConfig::default(), &a).is_err(),
            "bad retention refused"
        );
    }

    #[test]
    fn log_retention_and_size_are_validated() {
        let c = Config::from_parts(RawConfig::default(), &args()).unwrap();
        assert_eq!(c.logs_retention, DEFAULT_LOGS_RETENTION);
        assert_eq!(c.logs_max_bytes, 0, "no size limit by default");
        let raw: RawConfig =
            toml::from_str("[logs]\nretention = '7d'\nmax_size = '50GB'\n").unwrap();
        let c = Config::from_parts(raw, &args()).unwrap();
        assert_eq!(c.logs_config().retention_secs, 7 * 86400);
        assert_eq!(c.logs_config().max_bytes, 50_000_000_000);
        let mut a = args();
        a.logs_retention = Some("30m".into());
        let e = format!(
            "{:#}",
            Config::from_parts(RawConfig::default(), &a).unwrap_err()
        );
        assert!(e.contains("logs.retention"), "{e}");
    }

    #[test]
    fn retention_flags_come_first() {
        let raw: RawConfig =
            toml::from_str("[[retention]]\npattern = '^a'\nretentions = '1m:1d'\n").unwrap();
        let mut a = args();
        a.retention = vec![".*=10s:1d".into()];
        let c = Config::from_parts(raw, &a).unwrap();
        let t = c.tsdb_config().unwrap();
        assert_eq!(t.schemas[0].pattern.as_str(), ".*");
        assert_eq!(t.schemas[1].pattern.as_str(), "^a");
    }

    #[test]
    fn statsd_settings_and_typed_rules_follow_the_users() {
        let method = |c: &Config, name: &str| {
            let rules = c.tsdb_config().unwrap().aggregations;
            rules
                .iter()
                .find(|r| r.pattern.is_match(name))
                .unwrap()
                .method
        };
        let c = Config::from_parts(RawConfig::default(), &args()).unwrap();
        assert_eq!(c.statsd.unwrap().to_string(), DEFAULT_STATSD);
        assert_eq!(c.statsd_config, lookout_ingest::StatsdConfig::default());
        assert_eq!(method(&c, "stats.timers.api.upper_90"), Aggregation::Max);
        assert_eq!(method(&c, "stats.gauges.queue;env=prod"), Aggregation::Last);
        assert_eq!(method(&c, "stats.api.hits"), Aggregation::Average);

        let raw: RawConfig = toml::from_str(
            "[[aggregation]]\npattern = '^stats\\.gauges\\.'\nmethod = 'max'\n\
             [statsd]\ndelete_idle_stats = true\ndelete_gauges = false\npercentiles = [90, 99.9]\n\
             legacy_namespace = false\nglobal_prefix = 'app'\n",
        )
        .unwrap();
        let mut a = args();
        a.statsd_flush = Some("2s".into());
        let c = Config::from_parts(raw, &a).unwrap();
        let s = &c.statsd_config;
        assert_eq!(s.flush_interval, Duration::from_secs(2));
        assert!(s.delete_counters && s.delete_timers && s.delete_sets && !s.delete_gauges);
        assert_eq!(s.percentiles, [90.0, 99.9]);
        assert_eq!(method(&c, "app.counters.api.count"), Aggregation::Sum);
        // The user's rule wins over the built-in one.
        let c = Config::from_parts(
            toml::from_str("[[aggregation]]\npattern = '^stats\\.gauges\\.'\nmethod = 'max'\n")
                .unwrap(),
            &args(),
        )
        .unwrap();
        assert_eq!(method(&c, "stats.gauges.q"), Aggregation::Max);

        let off: RawConfig = toml::from_str("[statsd]\nenabled = false\n").unwrap();
        let c = Config::from_parts(off, &args()).unwrap();
        assert!(c.statsd.is_none());
        assert_eq!(method(&c, "stats.gauges.q"), Aggregation::Average);
        for bad in [
            "percentiles = [0]",
            "percentiles = [101]",
            "flush_interval = '10ms'",
        ] {
            let raw: RawConfig = toml::from_str(&format!("[statsd]\n{bad}\n")).unwrap();
            let e = format!("{:#}", Config::from_parts(raw, &args()).unwrap_err());
            assert!(e.contains("statsd."), "{bad}: {e}");
        }
    }
}
