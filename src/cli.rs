//! Command-line arguments and their dispatch. Nothing else lives here: `serve` wires the server,
//! `client` talks to a running one.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Metrics and logs for small teams: Graphite-compatible ingestion and render API on an
/// embedded, compressed time-series store, in one binary.
#[derive(Parser, Debug)]
#[command(name = "lookout", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server: Graphite plaintext (TCP+UDP), pickle and syslog (TCP+UDP) listeners, the
    /// HTTP API (render, find, metric and log ingest, log query and tail, self-metrics), and the
    /// embedded metric and log stores.
    ///
    /// With no flags and no config file it stores data under ./lookout-data and listens on
    /// 127.0.0.1 only. Flags override the config file.
    Serve(ServeArgs),
    /// Evaluate a Graphite target on a running server and print the result as a table (or JSON).
    Query(QueryArgs),
    /// Print the stored logs of a component subtree from a running server, oldest first.
    Logs(LogsArgs),
    /// Follow the new logs of a component subtree on a running server until interrupted.
    Tail(TailArgs),
    /// Import data from another system into the data directory (the server must be stopped).
    #[command(subcommand)]
    Import(ImportCommand),
}

/// What `lookout import` reads.
#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// Read every *.wsp file under DIR (Graphite's whisper files; the series name is the
    /// relative path with / as .) with its own retentions and aggregation method. Resumable:
    /// finished files are listed in <data>/import-whisper.progress and skipped by a rerun.
    /// Exits 1 if any file could not be imported; the others are imported anyway.
    Whisper(WhisperImportArgs),
}

/// Flags of `lookout import whisper`.
#[derive(Args, Debug)]
pub struct WhisperImportArgs {
    /// Directory holding the whisper tree (carbon's storage/whisper).
    pub dir: PathBuf,
    /// Config file (TOML), as for serve. Default: ./lookout.toml if it exists.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory to import into [default: ./lookout-data] (key: data_dir).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Only read and check the files; print each series, its retentions and point count.
    #[arg(long)]
    pub dry_run: bool,
}

/// Flags of `lookout serve`. Every one has a `lookout.toml` key (see README, "Configuration").
#[derive(Args, Debug, Default, Clone)]
pub struct ServeArgs {
    /// Config file (TOML). Default: ./lookout.toml if it exists.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where data lives [default: ./lookout-data] (key: data_dir).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// HTTP API address [default: 127.0.0.1:8080] (key: listen.http). Port 0 picks a free port.
    #[arg(long, value_name = "ADDR")]
    pub http: Option<String>,
    /// Graphite plaintext address, TCP and UDP [default: 127.0.0.1:2003] (key: listen.graphite).
    /// "off" disables it.
    #[arg(long, value_name = "ADDR")]
    pub graphite: Option<String>,
    /// Carbon pickle address, TCP [default: 127.0.0.1:2004] (key: listen.pickle). "off" disables it.
    #[arg(long, value_name = "ADDR")]
    pub pickle: Option<String>,
    /// Syslog address, UDP and TCP (RFC 5424 or 3164; octet-counting or LF framing)
    /// [default: 127.0.0.1:1514] (key: listen.syslog). "off" disables it.
    #[arg(long, value_name = "ADDR")]
    pub syslog: Option<String>,
    /// GELF address, UDP (chunked; gzip, zlib or plain) and TCP (NUL-framed)
    /// [default: 127.0.0.1:12201] (key: listen.gelf). "off" disables it. GELF over HTTP is
    /// `POST /gelf` on the HTTP listener.
    #[arg(long, value_name = "ADDR")]
    pub gelf: Option<String>,
    /// StatsD address, UDP and TCP (Etsy's protocol plus DogStatsD tags)
    /// [default: 127.0.0.1:8125] (key: listen.statsd). "off" disables it.
    #[arg(long, value_name = "ADDR")]
    pub statsd: Option<String>,
    /// How often StatsD aggregates are written, and the divisor of their rates
    /// [default: 10s] (key: statsd.flush_interval).
    #[arg(long, value_name = "DURATION")]
    pub statsd_flush: Option<String>,
    /// Longest time points received without acknowledgement (plaintext, UDP, pickle) wait before
    /// they are fsynced [default: 1s] (key: wal.sync_interval).
    #[arg(long, value_name = "DURATION")]
    pub wal_sync_interval: Option<String>,
    /// A storage-schema rule `REGEX=RETENTIONS`, tried before those of the config file, e.g.
    /// '^stats\.=10s:1d,1m:30d' (key: [[retention]]). Repeatable; first match wins.
    #[arg(long = "retention", value_name = "REGEX=RETENTIONS")]
    pub retention: Vec<String>,
    /// Largest HTTP request body [default: 32MiB] (key: http.max_body).
    #[arg(long, value_name = "SIZE")]
    pub max_body: Option<String>,
    /// Most open TCP connections per listener [default: 1024] (key: ingest.max_connections).
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// Close TCP connections silent for this long [default: 10m] (key: ingest.idle_timeout).
    #[arg(long, value_name = "DURATION")]
    pub idle_timeout: Option<String>,
    /// Require `Authorization: Bearer <token>` on every HTTP request but /health; the token is
    /// read from this file (key: http.auth_token_file).
    #[arg(long, value_name = "FILE")]
    pub auth_token_file: Option<PathBuf>,
    /// Keep logs this long; older blocks are dropped whole [default: 30d] (key: logs.retention).
    #[arg(long, value_name = "DURATION")]
    pub logs_retention: Option<String>,
    /// Drop the oldest log blocks when logs take more than this on disk [default: unlimited]
    /// (key: logs.max_size).
    #[arg(long, value_name = "SIZE")]
    pub logs_max_size: Option<String>,
    /// Count logs per component and severity as `logs.<component>.<severity>` metrics
    /// [default: true] (key: logs.metrics).
    #[arg(long, value_name = "BOOL")]
    pub logs_metrics: Option<bool>,
}

/// Flags of `lookout query`.
#[derive(Args, Debug)]
pub struct QueryArgs {
    /// A Graphite target, e.g. 'sumSeries(web*.cpu.user)'.
    pub target: String,
    /// Start of the range, in any /render form (-1h, -2d, 20261122, unix seconds, RFC 3339).
    #[arg(long, default_value = "-1h", allow_hyphen_values = true)]
    pub from: String,
    /// End of the range.
    #[arg(long, default_value = "now", allow_hyphen_values = true)]
    pub until: String,
    /// Output: a readable table, or the render API's JSON.
    #[arg(long, value_enum, default_value_t = QueryFormat::Table)]
    pub format: QueryFormat,
    /// Base URL of the server.
    #[arg(long, default_value = "http://127.0.0.1:8080", env = "LOOKOUT_SERVER")]
    pub server: String,
    /// Bearer token, if the server requires one.
    #[arg(long, env = "LOOKOUT_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

/// Output format of `lookout query`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryFormat {
    /// One row per timestamp, one column per series.
    Table,
    /// The render API's JSON, as received.
    Json,
}

/// Flags of `lookout logs`.
#[derive(Args, Debug)]
pub struct LogsArgs {
    /// Component pattern (Graphite glob); it matches a component and everything below it,
    /// e.g. 'webapp.backend' or 'webapp.*.git'.
    pub pattern: String,
    /// Start of the range (-15min, -2h, unix seconds, RFC 3339).
    #[arg(long, default_value = "-15min", allow_hyphen_values = true)]
    pub from: String,
    /// End of the range.
    #[arg(long, default_value = "now", allow_hyphen_values = true)]
    pub until: String,
    /// Only this severity or worse (err, warning, info, 0-7...).
    #[arg(long, value_name = "L")]
    pub level: Option<String>,
    /// Only messages containing this text (case-sensitive).
    #[arg(long, value_name = "TEXT")]
    pub grep: Option<String>,
    /// Only messages matching this regular expression.
    #[arg(long, value_name = "RE")]
    pub regex: Option<String>,
    /// Only logs from hosts matching this glob.
    #[arg(long, value_name = "H")]
    pub host: Option<String>,
    /// Print at most this many logs.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub limit: usize,
    /// Print the log objects as JSON, one per line, instead of readable lines.
    #[arg(long)]
    pub json: bool,
    /// Base URL of the server.
    #[arg(long, default_value = "http://127.0.0.1:8080", env = "LOOKOUT_SERVER")]
    pub server: String,
    /// Bearer token, if the server requires one.
    #[arg(long, env = "LOOKOUT_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

/// Flags of `lookout tail`.
#[derive(Args, Debug)]
pub struct TailArgs {
    /// Component pattern (Graphite glob); it matches a component and everything below it.
    pub pattern: String,
    /// Only this severity or worse (err, warning, info, 0-7...).
    #[arg(long, value_name = "L")]
    pub level: Option<String>,
    /// Only messages containing this text (case-sensitive).
    #[arg(long, value_name = "TEXT")]
    pub grep: Option<String>,
    /// Print the log objects as JSON, one per line, instead of readable lines.
    #[arg(long)]
    pub json: bool,
    /// Base URL of the server.
    #[arg(long, default_value = "http://127.0.0.1:8080", env = "LOOKOUT_SERVER")]
    pub server: String,
    /// Bearer token, if the server requires one.
    #[arg(long, env = "LOOKOUT_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => crate::serve::run(args),
        Command::Query(args) => crate::client::query(&args),
        Command::Logs(args) => crate::client_logs::logs(&args),
        Command::Tail(args) => crate::client_logs::tail(&args),
        Command::Import(ImportCommand::Whisper(args)) => crate::import::run(args),
    }
}
