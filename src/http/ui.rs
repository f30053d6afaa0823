//! The web UI's static files, embedded at build time by `build.rs` from `ui/dist/`: `/` and the
//! client-side routes (`/explore`, `/logs`, `/dashboards`, `/d/<id>`) answer `index.html`,
//! `/ui/<path>` answers the file. Every answer carries the security headers (a strict CSP:
//! scripts only from this origin, no inline script) and an ETag. These files hold no data, so
//! with a bearer token they load without one and the page asks for it; the data APIs and the
//! auth decision live in `mod.rs`, not here.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

include!(concat!(env!("OUT_DIR"), "/ui_assets.rs"));

/// Only this origin's scripts, styles, images and fetches; inline styles are allowed because
/// uPlot positions its cursor and legend with `style` attributes.
const CSP: &str = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'";
/// Assets change only with the binary, and the ETag revalidates them after a day.
const ASSET_CACHE: &str = "max-age=86400";

/// The embedded file at `path` (relative to `ui/dist/`).
fn asset(path: &str) -> Option<(&'static [u8], &'static str, &'static str)> {
    ASSETS
        .iter()
        .find(|(p, ..)| *p == path)
        .map(|(_, bytes, ctype, etag)| (*bytes, *ctype, *etag))
}

/// `/` and the client-side routes: the single page, never cached without revalidation so a
/// new binary's page is picked up at once.
pub async fn index(headers: HeaderMap) -> Response {
    serve("index.html", "no-cache", &headers)
}

/// `/d/<id>`: a dashboard's client-side route.
pub async fn dashboard_route(Path(_id): Path<String>, headers: HeaderMap) -> Response {
    serve("index.html", "no-cache", &headers)
}

/// `/ui/<path>`.
pub async fn file(Path(path): Path<String>, headers: HeaderMap) -> Response {
    let cache = if path == "index.html" {
        "no-cache"
    } else {
        ASSET_CACHE
    };
    serve(&path, cache, &headers)
}

fn serve(path: &str, cache: &'static str, headers: &HeaderMap) -> Response {
    let Some((bytes, ctype, etag)) = asset(path) else {
        let mut resp = (StatusCode::NOT_FOUND, "not found\n").into_response();
        secure(&mut resp);
        return resp;
    };
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        bytes.into_response()
    };
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::ETAG, HeaderValue::from_static(etag));
    secure(&mut resp);
    resp
}

/// The security headers every UI answer carries.
fn secure(resp: &mut Response) {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// Whether `path` is one of the UI's own (token-free) paths.
pub fn is_ui_path(path: &str) -> bool {
    matches!(path, "/" | "/explore" | "/logs" | "/dashboards")
        || path.starts_with("/ui/")
        || path.starts_with("/d/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(path: &str, ui: bool) {
        assert_eq!(is_ui_path(path), ui, "{path:?}");
    }

    #[test]
    fn only_the_static_paths_are_ui_paths() {
        check("/", true);
        check("/explore", true);
        check("/logs", true);
        check("/dashboards", true);
        check("/d/lookout", true);
        check("/ui/app.js", true);
        check("/render", false);
        check("/api/v1/dashboards", false);
        check("/events/get_data", false);
        check("/explore/x", false);
        check("/uix", false);
    }

    #[test]
    fn assets_have_types_and_quoted_etags() {
        for (path, _, ctype, etag) in ASSETS {
            assert!(!ctype.is_empty(), "{path}");
            assert!(
                etag.starts_with('"') && etag.ends_with('"') && etag.len() == 18,
                "{path}: {etag}"
            );
        }
    }

    #[test]
    fn unknown_files_are_404_with_security_headers() {
        let resp = serve("no/such/file.js", ASSET_CACHE, &HeaderMap::new());
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            resp.headers()[header::X_FRAME_OPTIONS],
            HeaderValue::from_static("DENY")
        );
        assert!(resp.headers().contains_key(header::CONTENT_SECURITY_POLICY));
    }
}
