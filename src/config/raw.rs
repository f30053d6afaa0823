//! `RawConfig`: the TOML file as the user typed it, every key optional, unknown keys refused
//! so a typo is an error instead of a silently ignored setting.

use std::path::PathBuf;

use serde::Deserialize;

/// The config file, before validation.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub data_dir: Option<PathBuf>,
    #[serde(default)]
    pub listen: RawListen,
    #[serde(default)]
    pub http: RawHttp,
    #[serde(default)]
    pub ingest: RawIngest,
    #[serde(default)]
    pub wal: RawWal,
    /// Storage schemas, carbon's storage-schemas.conf as TOML: first match wins.
    #[serde(default)]
    pub retention: Vec<RawRetention>,
    /// Rollup methods, carbon's storage-aggregation.conf as TOML: first match wins.
    #[serde(default)]
    pub aggregation: Vec<RawAggregation>,
    #[serde(default)]
    pub selfmon: RawSelfmon,
    #[serde(default)]
    pub logs: RawLogs,
    #[serde(default)]
    pub statsd: RawStatsd,
}

/// `[statsd]`: Etsy statsd's settings under snake_case names.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStatsd {
    /// `false` turns the StatsD listener off, like `listen.statsd = "off"`.
    pub enabled: Option<bool>,
    pub flush_interval: Option<String>,
    pub percentiles: Option<Vec<f64>>,
    /// Etsy's `deleteIdleStats`: the default of the four `delete_*` below.
    pub delete_idle_stats: Option<bool>,
    pub delete_counters: Option<bool>,
    pub delete_timers: Option<bool>,
    pub delete_sets: Option<bool>,
    pub delete_gauges: Option<bool>,
    pub legacy_namespace: Option<bool>,
    pub global_prefix: Option<String>,
    pub prefix_counter: Option<String>,
    pub prefix_timer: Option<String>,
    pub prefix_gauge: Option<String>,
    pub prefix_set: Option<String>,
    pub max_series: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLogs {
    /// Age past which log blocks are dropped, e.g. "30d".
    pub retention: Option<String>,
    /// Total size past which the oldest log blocks are dropped, e.g. "50GB".
    pub max_size: Option<String>,
    /// Whether log counts become `logs.<component>.<severity>` metrics (default true).
    pub metrics: Option<bool>,
    /// Records dated further ahead than this take their receive time, e.g. "1h".
    pub max_future: Option<String>,
    /// Records dated further back than this take their receive time (default: the retention).
    pub max_past: Option<String>,
    /// Component rules, first match wins.
    #[serde(default)]
    pub component: Vec<RawComponentRule>,
}

/// One `[[logs.component]]` rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawComponentRule {
    pub name: Option<String>,
    /// `syslog`, `gelf` or `ndjson`; every input when absent.
    pub input: Option<String>,
    /// `component` (default), `host`, `message` or `field.<key>`.
    pub source: Option<String>,
    pub regex: String,
    /// The component to set; `$1` and `${name}` are the regex's groups.
    pub component: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawListen {
    pub http: Option<String>,
    pub graphite: Option<String>,
    pub pickle: Option<String>,
    pub syslog: Option<String>,
    pub gelf: Option<String>,
    pub statsd: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    pub max_body: Option<String>,
    pub auth_token_file: Option<PathBuf>,
    /// A file of `user:password` lines for HTTP Basic auth (every path but /health).
    pub basic_auth_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIngest {
    pub max_connections: Option<usize>,
    pub idle_timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWal {
    pub sync_interval: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetention {
    pub name: Option<String>,
    pub pattern: String,
    pub retentions: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAggregation {
    pub name: Option<String>,
    pub pattern: String,
    pub method: String,
    pub x_files_factor: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSelfmon {
    /// How often lookout writes its own counters as `lookout.*` series.
    pub interval: Option<String>,
}
