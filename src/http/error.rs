//! HTTP errors, mapped to statuses in one place: a bad request (target, time, pattern) is 400
//! with a JSON body naming the problem; a store failure is 500 and its cause is logged.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tracing::error;

/// Everything a handler can fail with.
#[derive(Debug)]
pub enum ApiError {
    /// The request is wrong; the message says how (and where, for targets).
    BadRequest(String),
    /// Missing or wrong bearer token.
    Unauthorized,
    /// The store refuses writes for now (disk full, shutting down).
    Unavailable(String),
    /// The store or the server failed.
    Internal(anyhow::Error),
}

impl From<lookout_core::Error> for ApiError {
    fn from(e: lookout_core::Error) -> Self {
        match e {
            lookout_core::Error::InvalidPattern { .. }
            | lookout_core::Error::InvalidName { .. }
            | lookout_core::Error::InvalidQuery(_) => ApiError::BadRequest(e.to_string()),
            lookout_core::Error::Unavailable(m) => ApiError::Unavailable(m),
            other => ApiError::Internal(other.into()),
        }
    }
}

impl From<lookout_query::QueryError> for ApiError {
    fn from(e: lookout_query::QueryError) -> Self {
        if e.is_store_failure() {
            ApiError::Internal(anyhow::Error::new(e))
        } else {
            ApiError::BadRequest(e.to_string())
        }
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        ApiError::Internal(anyhow::anyhow!("request task failed: {e}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "missing or invalid bearer token".to_string(),
            ),
            ApiError::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, m),
            ApiError::Internal(e) => {
                error!("request failed: {e:#}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("internal error: {e}"),
                )
            }
        };
        let body = serde_json::json!({ "error": message }).to_string();
        let mut resp = (status, body).into_response();
        resp.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        resp
    }
}
