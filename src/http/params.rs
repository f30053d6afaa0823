//! Request parameters as graphite-web reads them: the query string and a form-encoded body
//! merged, keys repeatable (`target=a&target=b`), so Grafana's POSTs and hand-written GETs
//! are the same request.

use axum::http::{header, HeaderMap};

/// Ordered, repeatable key/value pairs.
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Query string first, then the body if it is form-encoded (or untyped and non-empty).
    pub fn from_request(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Params {
        let mut pairs: Vec<(String, String)> = Vec::new();
        if let Some(q) = query {
            pairs.extend(form_urlencoded::parse(q.as_bytes()).into_owned());
        }
        let ctype = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !body.is_empty()
            && (ctype.is_empty() || ctype.starts_with("application/x-www-form-urlencoded"))
        {
            pairs.extend(form_urlencoded::parse(body).into_owned());
        }
        Params(pairs)
    }

    /// The last value of `key` (a later value overrides, as in a Django QueryDict merge).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in order.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Every pair, in order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// A flag such as `noNullPoints`: present and not `0`/`false`.
    pub fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some(v) if !matches!(v, "0" | "false" | "False"))
    }
}
