//! Optional bearer-token auth: with `--auth-token-file`, every HTTP request but `/health` needs
//! `Authorization: Bearer <token>`; without it, nothing is read or written.

use crate::util::{aligned_ago, Lookout};

const TOKEN: &str = "s3cret-token-for-tests";

fn start_with_token() -> (Lookout, tempfile::NamedTempFile) {
    let file = tempfile::NamedTempFile::new().expect("token file");
    std::fs::write(file.path(), format!("{TOKEN}\n")).expect("writing the token");
    let path = file.path().to_str().expect("utf-8 temp path").to_string();
    let lookout = Lookout::start_with(&["--retention", ".*=10s:1d", "--auth-token-file", &path]);
    (lookout, file)
}

#[test]
fn requests_without_the_token_are_refused_and_change_nothing() {
    let (l, _token) = start_with_token();
    let bearer = format!("Bearer {TOKEN}");
    let ok = [("Authorization", bearer.as_str())];
    let wrong = [("Authorization", "Bearer s3cret-token-for-tesTS")];

    assert_eq!(
        l.get("/health").status,
        200,
        "/health stays open for load balancers"
    );

    for (method, path) in [
        ("GET", "/render?target=a.b&format=json"),
        ("GET", "/metrics/find?query=*"),
        ("GET", "/metrics"),
        ("GET", "/version"),
        ("DELETE", "/metrics?query=a.*"),
    ] {
        let r = l.request(method, path, &[], b"");
        assert_eq!(r.status, 401, "{method} {path} without a token");
        assert!(
            r.headers
                .iter()
                .any(|(k, v)| k == "www-authenticate" && v == "Bearer"),
            "{method} {path}: {:?}",
            r.headers
        );
        let body: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON error body");
        assert!(
            body["error"].as_str().unwrap_or("").contains("token"),
            "{body}"
        );
        assert_eq!(
            l.request(method, path, &wrong, b"").status,
            401,
            "{method} {path} wrong token"
        );
    }

    let ts = aligned_ago(60);
    let line = format!("auth.test.metric 5 {ts}\n");
    let refused = l.request("POST", "/api/v1/metrics", &[], line.as_bytes());
    assert_eq!(refused.status, 401);
    let accepted = l.request("POST", "/api/v1/metrics", &ok, line.as_bytes());
    assert_eq!(accepted.status, 200, "{}", accepted.text());

    let render = l.request(
        "GET",
        &format!(
            "/render?target=auth.test.*&from={}&until={}&format=json",
            ts - 10,
            ts + 10
        ),
        &ok,
        b"",
    );
    assert_eq!(render.status, 200, "{}", render.text());
    let v: serde_json::Value = serde_json::from_slice(&render.body).expect("render JSON");
    let points = v[0]["datapoints"].as_array().expect("one series").clone();
    assert!(points.iter().any(|p| p[0] == 5.0 && p[1] == ts), "{v}");
    assert_eq!(
        v.as_array().map(Vec::len),
        Some(1),
        "only the authorised write was stored: {v}"
    );
}
