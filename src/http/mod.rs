//! The HTTP API: routes, shared state, and bearer-token auth. Handlers live by subject:
//! `render` (the render API), `find` (the metric tree), `tags` (the tag endpoints),
//! `ingest` (HTTP ingestion), `logs`
//! (log query, component tree, histogram, live tail), `admin`
//! (version, functions, health, self-metrics, delete, flush); errors map to statuses in
//! `error`. Numbers are written as graphite-web writes them by `lookout_query::pyfmt`.

mod admin;
mod error;
mod find;
mod graph;
mod ingest;
mod logs;
mod params;
mod render;
mod server;
mod tags;

pub use server::serve;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use lookout_core::selfmon::Registry;

use crate::config::Config;
pub use error::ApiError;
pub use render::format_utc;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<lookout_tsdb::Tsdb>,
    pub registry: Arc<Registry>,
    pub http_ingest: Arc<lookout_ingest::HttpIngestCounters>,
    /// The log store, for queries, the component tree, histograms and tails.
    pub logs: Arc<lookout_logs::LogStore>,
    /// Where ingested logs go: the store behind the log-derived counters.
    pub log_appender: Arc<dyn lookout_core::LogAppender>,
    /// Component rules and timestamp bounds for logs posted over HTTP.
    pub log_policy: Arc<lookout_ingest::LogPolicy>,
    /// Free slots for live tails.
    pub tails: Arc<tokio::sync::Semaphore>,
    auth_token: Option<Arc<str>>,
}

impl AppState {
    pub fn new(
        store: Arc<lookout_tsdb::Tsdb>,
        logs: Arc<lookout_logs::LogStore>,
        log_appender: Arc<dyn lookout_core::LogAppender>,
        log_policy: Arc<lookout_ingest::LogPolicy>,
        registry: Arc<Registry>,
        config: &Config,
    ) -> AppState {
        AppState {
            logs,
            log_appender,
            log_policy,
            tails: logs::tail_slots(),
            http_ingest: Arc::new(lookout_ingest::HttpIngestCounters::new(&registry)),
            store,
            registry,
            auth_token: config.auth_token.as_deref().map(Arc::from),
        }
    }
}

/// Every route. `max_body` bounds request bodies (413 past it).
pub fn router(state: AppState, max_body: usize) -> Router {
    let api = Router::new()
        .route("/render", get(render::render).post(render::render))
        .route("/metrics/find", get(find::find).post(find::find))
        .route("/metrics/expand", get(find::expand).post(find::expand))
        .route("/metrics/index.json", get(find::index_json))
        .route(
            "/metrics",
            get(admin::prometheus).delete(admin::delete_series),
        )
        .route("/tags", get(tags::list))
        .route("/tags/", get(tags::list))
        .route(
            "/tags/findSeries",
            get(tags::find_series).post(tags::find_series),
        )
        .route(
            "/tags/autoComplete/tags",
            get(tags::auto_complete_tags).post(tags::auto_complete_tags),
        )
        .route(
            "/tags/autoComplete/values",
            get(tags::auto_complete_values).post(tags::auto_complete_values),
        )
        .route("/tags/{tag}", get(tags::details))
        .route("/functions", get(admin::functions))
        .route("/version", get(admin::version))
        .route("/api/v1/metrics", post(ingest::post_metrics))
        .route("/api/v1/admin/flush", post(admin::flush))
        .route("/api/v1/logs", get(logs::query).post(ingest::post_logs))
        .route("/api/v1/logs/components", get(logs::components))
        .route("/api/v1/logs/histogram", get(logs::histogram))
        .route("/api/v1/logs/tail", get(logs::tail))
        .route("/gelf", post(ingest::post_gelf))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_token,
        ));
    Router::new()
        .route("/health", get(admin::health))
        .merge(api)
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}

/// With a token configured, every request but /health must carry `Authorization: Bearer
/// <token>`. The comparison takes the same time whatever the mismatch position.
async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(expected) = &state.auth_token {
        let given = req
            .headers()
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !constant_time_eq(given.as_bytes(), expected.as_bytes()) {
            return ApiError::Unauthorized.into_response();
        }
    }
    next.run(req).await
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
