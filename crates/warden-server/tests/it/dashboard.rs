//! The dashboard's files through the router: served without a token (they hold no data),
//! with a strict Content-Security-Policy on every one, pages of the application answered
//! with the entry page, and nothing outside the built-in set reachable.

use axum::http::StatusCode;
use warden_server::dashboard::{CONTENT_SECURITY_POLICY, embedded_files};
use warden_server::{AppState, ServiceConfig, app};

use crate::common;

fn router() -> axum::Router {
    let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    app(AppState::new(ServiceConfig::default(), store).unwrap_or_else(|e| panic!("{e}")))
}

#[tokio::test]
async fn the_dashboard_is_served_with_its_policy() {
    let r = router();
    let (s, h, _) = common::oneshot(&r, "GET", "/", None, "text/plain", Vec::new()).await;
    assert_eq!(s, StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(h["location"], "/ui/");

    let (s, h, body) = common::oneshot(&r, "GET", "/ui/", None, "text/plain", Vec::new()).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    assert_eq!(h["content-security-policy"], CONTENT_SECURITY_POLICY);
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let index = body.as_str().unwrap_or("").to_owned();
    assert!(index.contains("<html"), "{index}");

    // Every built-in file answers, with the policy.
    for (path, bytes) in embedded_files() {
        let (s, h, _) = common::oneshot(
            &r,
            "GET",
            &format!("/ui/{path}"),
            None,
            "text/plain",
            Vec::new(),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{path}");
        assert_eq!(
            h["content-security-policy"], CONTENT_SECURITY_POLICY,
            "{path}"
        );
        assert_eq!(
            h["content-length"],
            bytes.len().to_string().as_str(),
            "{path}"
        );
    }

    // A page of the application (no extension) is the entry page; a missing file is a 404.
    let (s, _, body) =
        common::oneshot(&r, "GET", "/ui/alerts/42", None, "text/plain", Vec::new()).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body.as_str(), Some(index.as_str()));
    for missing in [
        "/ui/no-such.js",
        "/ui/../Cargo.toml",
        "/ui/%2e%2e/Cargo.toml",
    ] {
        let (s, _, _) = common::oneshot(&r, "GET", missing, None, "text/plain", Vec::new()).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{missing}");
    }
}

#[test]
fn no_inline_code_in_the_pages() {
    // The policy forbids inline scripts and styles; a page that had them would break.
    for (path, bytes) in embedded_files().filter(|(p, _)| p.ends_with(".html")) {
        let text = String::from_utf8_lossy(bytes);
        for bad in [
            "<script>",
            "style=\"",
            " onclick=",
            " onload=",
            "javascript:",
        ] {
            assert!(!text.contains(bad), "{path} contains {bad}");
        }
        assert!(
            !text.contains("http://") && !text.contains("https://"),
            "{path} loads nothing from elsewhere"
        );
    }
}
