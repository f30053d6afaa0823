//! The HTTP API: routes, shared state, and bearer-token auth. Handlers live by subject:
//! `render` (the render API), `find` (the metric tree), `tags` (the tag endpoints),
//! `ingest` (HTTP ingestion), `logs`
//! (log query, component tree, histogram, live tail), `admin`
//! (version, functions, health, self-metrics, delete, flush), `ui` (the embedded web UI),
//! `events` (Graphite's events API), `dashboards` (saved dashboards), `correlate` (metric →
//! log component); errors map to statuses in
//! `error`. Numbers are written as graphite-web writes them by `lookout_query::pyfmt`.

mod admin;
mod correlate;
mod dashboards;
mod error;
mod events;
mod find;
mod graph;
mod ingest;
mod logs;
mod params;
mod render;
mod server;
mod tags;
mod ui;

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

/// The stores behind the web UI's APIs, opened by `serve.rs`.
pub struct UiStores {
    pub events: Arc<crate::events::EventStore>,
    pub dashboards: Arc<crate::dashboards::DashboardStore>,
}

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
    /// Graphite events (annotations), for `/events/`.
    pub events: Arc<crate::events::EventStore>,
    /// Saved dashboards, for `/api/v1/dashboards`.
    pub dashboards: Arc<crate::dashboards::DashboardStore>,
    auth_token: Option<Arc<str>>,
    /// HTTP Basic users; when set, everything but /health needs them (or the token).
    basic_auth: Arc<[(String, String)]>,
}

impl AppState {
    pub fn new(
        store: Arc<lookout_tsdb::Tsdb>,
        logs: Arc<lookout_logs::LogStore>,
        log_appender: Arc<dyn lookout_core::LogAppender>,
        log_policy: Arc<lookout_ingest::LogPolicy>,
        registry: Arc<Registry>,
        config: &Config,
        ui: UiStores,
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
            basic_auth: Arc::from(config.basic_auth.clone()),
            events: ui.events,
            dashboards: ui.dashboards,
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
        .route("/events/", post(events::post))
        .route("/events", post(events::post))
        .route(
            "/events/get_data",
            get(events::get_data).post(events::get_data),
        )
        .route(
            "/api/v1/dashboards",
            get(dashboards::list).post(dashboards::create),
        )
        .route(
            "/api/v1/dashboards/{id}",
            get(dashboards::read)
                .put(dashboards::write)
                .delete(dashboards::delete),
        )
        .route("/api/v1/logs/component_for", get(correlate::component_for))
        .route("/", get(ui::index))
        .route("/explore", get(ui::index))
        .route("/logs", get(ui::index))
        .route("/dashboards", get(ui::index))
        .route("/d/{id}", get(ui::dashboard_route))
        .route("/ui/{*path}", get(ui::file))
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

/// With a token configured, every request but /health and the UI's static files must carry
/// `Authorization: Bearer <token>` (the static files hold no data, and the page they make asks
/// for the token, so it is never put in a URL). With Basic users configured, every request but
/// /health must carry one of them or the token: the browser's own prompt covers the static
/// files too. Comparisons take the same time whatever the mismatch position.
async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let basic_on = !state.basic_auth.is_empty();
    if !basic_on && (state.auth_token.is_none() || ui::is_ui_path(req.uri().path())) {
        return next.run(req).await;
    }
    let given = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let bearer_ok = match (&state.auth_token, given.strip_prefix("Bearer ")) {
        (Some(expected), Some(token)) => constant_time_eq(token.as_bytes(), expected.as_bytes()),
        _ => false,
    };
    let basic_ok = basic_on
        && given
            .strip_prefix("Basic ")
            .and_then(|b| decode_base64(b.trim()))
            .is_some_and(|creds| basic_matches(&state.basic_auth, &creds));
    if bearer_ok || basic_ok {
        return next.run(req).await;
    }
    if basic_on {
        let mut resp = (
            axum::http::StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({"error": "missing or invalid credentials"})),
        )
            .into_response();
        resp.headers_mut().insert(
            axum::http::header::WWW_AUTHENTICATE,
            axum::http::HeaderValue::from_static("Basic realm=\"lookout\", charset=\"UTF-8\""),
        );
        return resp;
    }
    ApiError::Unauthorized.into_response()
}

/// Whether `user:password` bytes name a configured user. Every user is compared, so the time
/// taken does not tell which users exist.
fn basic_matches(users: &[(String, String)], creds: &[u8]) -> bool {
    let Some(colon) = creds.iter().position(|b| *b == b':') else {
        return false;
    };
    let (user, password) = (&creds[..colon], &creds[colon + 1..]);
    users.iter().fold(false, |found, (u, p)| {
        let hit = constant_time_eq(user, u.as_bytes()) & constant_time_eq(password, p.as_bytes());
        found | hit
    })
}

/// Standard base64 (RFC 4648 §4, padding optional), as browsers send Basic credentials;
/// `None` on any other byte.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(text: &str, expected: Option<&[u8]>) {
        assert_eq!(decode_base64(text).as_deref(), expected, "{text:?}");
    }

    #[test]
    fn base64_decodes_as_browsers_encode() {
        check("YWxpY2U6czNjcmV0", Some(b"alice:s3cret"));
        check("YTpi", Some(b"a:b"));
        check("YTpiYw==", Some(b"a:bc"));
        check("YTpiYw", Some(b"a:bc"));
        check("", Some(b""));
        check("YT!i", None);
        check("YTpi Yw==", None);
    }

    #[test]
    fn basic_credentials_match_exactly() {
        let users = [
            ("alice".to_string(), "s3cret".to_string()),
            ("bob".to_string(), "a:b".to_string()),
        ];
        assert!(basic_matches(&users, b"alice:s3cret"));
        assert!(basic_matches(&users, b"bob:a:b"));
        assert!(!basic_matches(&users, b"alice:s3cre"));
        assert!(!basic_matches(&users, b"alice:a:b"));
        assert!(!basic_matches(&users, b"alice"));
        assert!(!basic_matches(&users, b":"));
    }
}
