//! The dashboards API: `GET /api/v1/dashboards` (the list), `GET|PUT|DELETE
//! /api/v1/dashboards/<id>` (one document), `POST /api/v1/dashboards` (a new one, id made from
//! its title). Import and export are GET and PUT of these documents. Ids and documents are
//! checked here before `crate::dashboards` touches a file; the format is in
//! `docs/format/dashboard.md`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::error::ApiError;
use super::AppState;
use crate::dashboards::{check_document, check_id, MAX_DOCUMENT_BYTES};

/// `GET /api/v1/dashboards`: `[{"id", "title", "updated"}]` by id.
pub async fn list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let store = state.dashboards.clone();
    let list = tokio::task::spawn_blocking(move || store.list())
        .await?
        .map_err(ApiError::Internal)?;
    Ok(Json(list).into_response())
}

/// `GET /api/v1/dashboards/<id>`: the document.
pub async fn read(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    check_id(&id).map_err(ApiError::BadRequest)?;
    let store = state.dashboards.clone();
    let doc = tokio::task::spawn_blocking(move || store.read(&id))
        .await?
        .map_err(ApiError::Internal)?;
    Ok(match doc {
        Some(doc) => Json(doc).into_response(),
        None => not_found(),
    })
}

/// `PUT /api/v1/dashboards/<id>`: saves the body; 200 `{"id", "updated"}` once on disk.
pub async fn write(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_id(&id).map_err(ApiError::BadRequest)?;
    let doc = match document(&body) {
        Ok(doc) => doc,
        Err(resp) => return Ok(*resp),
    };
    let store = state.dashboards.clone();
    let now = lookout_ingest::now_unix();
    let reply_id = id.clone();
    let updated = tokio::task::spawn_blocking(move || store.write(&id, doc, now))
        .await?
        .map_err(ApiError::Internal)?;
    Ok(Json(json!({ "id": reply_id, "updated": updated })).into_response())
}

/// `POST /api/v1/dashboards`: saves the body under a new id; 201 `{"id", "updated"}`.
pub async fn create(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let doc = match document(&body) {
        Ok(doc) => doc,
        Err(resp) => return Ok(*resp),
    };
    let store = state.dashboards.clone();
    let now = lookout_ingest::now_unix();
    let id = tokio::task::spawn_blocking(move || store.create(doc, now))
        .await?
        .map_err(ApiError::Internal)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": id, "updated": now })),
    )
        .into_response())
}

/// `DELETE /api/v1/dashboards/<id>`: 204, or 404 when nothing was saved under it.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    check_id(&id).map_err(ApiError::BadRequest)?;
    let store = state.dashboards.clone();
    let deleted = tokio::task::spawn_blocking(move || store.delete(&id))
        .await?
        .map_err(ApiError::Internal)?;
    Ok(if deleted {
        StatusCode::NO_CONTENT.into_response()
    } else {
        not_found()
    })
}

/// The request body as a checked document, or the response refusing it.
/// The response is boxed: it is large next to a `Value`, and this path is the rare one.
fn document(body: &[u8]) -> Result<Value, Box<Response>> {
    if body.len() > MAX_DOCUMENT_BYTES {
        return Err(Box::new((
            StatusCode::PAYLOAD_TOO_LARGE,
            Json(json!({ "error": format!("a dashboard is at most {MAX_DOCUMENT_BYTES} bytes") })),
        )
            .into_response()));
    }
    let doc: Value = serde_json::from_slice(body).map_err(|e| {
        Box::new(ApiError::BadRequest(format!("a dashboard must be JSON: {e}")).into_response())
    })?;
    check_document(&doc).map_err(|m| Box::new(ApiError::BadRequest(m).into_response()))?;
    Ok(doc)
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "error": "no such dashboard" })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(body: &[u8], status: Option<StatusCode>) {
        match (document(body), status) {
            (Ok(_), None) => {}
            (Err(resp), Some(want)) => assert_eq!(resp.status(), want),
            (got, want) => panic!("{:?}: got ok={}, want {want:?}", body, got.is_ok()),
        }
    }

    #[test]
    fn bodies_are_checked_before_saving() {
        check(br#"{"title":"t","panels":[]}"#, None);
        check(br#"{"title":"t"}"#, Some(StatusCode::BAD_REQUEST));
        check(b"not json", Some(StatusCode::BAD_REQUEST));
        let big = format!(
            r#"{{"title":"{}","panels":[]}}"#,
            "x".repeat(MAX_DOCUMENT_BYTES)
        );
        check(big.as_bytes(), Some(StatusCode::PAYLOAD_TOO_LARGE));
    }
}
