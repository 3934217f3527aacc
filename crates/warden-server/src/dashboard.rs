//! The analyst's dashboard: static files built into the binary (`assets/dashboard/`, see
//! `build.rs`) served under `/ui/`, so the service needs no web server, CDN or network.
//!
//! The pages themselves are public (they hold no data); everything they show comes from the
//! `/v1` API with the analyst's token, which the page keeps in session storage and sends
//! as a bearer header — never in a URL. Every response carries a strict
//! Content-Security-Policy: scripts, styles and connections to this origin only, no inline
//! code, no frames, and Trusted Types with no policy (no HTML can be injected from script).

use std::path::{Component, Path};

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::error::ApiError;
use crate::state::AppState;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/dashboard_assets.rs"));
}

/// The policy sent with every dashboard file.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
     manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; \
     require-trusted-types-for 'script'; trusted-types 'none'";

/// Largest file read from a development folder (`server.dashboard_dir`).
const MAX_DEV_FILE: u64 = 8 * 1024 * 1024;

/// The files built into this binary, by path under `/ui/`.
pub fn embedded_files() -> impl Iterator<Item = (&'static str, &'static [u8])> {
    embedded::ASSETS.iter().copied()
}

/// `GET /` → the dashboard.
pub async fn root() -> Redirect {
    Redirect::temporary("/ui/")
}

/// `GET /ui/` → `index.html`.
pub async fn index(State(st): State<AppState>) -> Response {
    file(&st, "index.html").await
}

/// `GET /ui/{*path}` → one file; an unknown path without an extension is a page of the
/// single-page application and gets `index.html`.
pub async fn asset(State(st): State<AppState>, UrlPath(path): UrlPath<String>) -> Response {
    file(&st, &path).await
}

async fn file(st: &AppState, path: &str) -> Response {
    let found = match &st.config.server.dashboard_dir {
        Some(dir) => from_folder(dir, path).await,
        None => embedded_files()
            .find(|(p, _)| *p == path)
            .map(|(_, b)| b.to_vec()),
    };
    let (path, body) = match found {
        Some(b) => (path, b),
        None if !has_extension(path) => match &st.config.server.dashboard_dir {
            Some(dir) => match from_folder(dir, "index.html").await {
                Some(b) => ("index.html", b),
                None => return ApiError::NotFound.into_response(),
            },
            None => match embedded_files().find(|(p, _)| *p == "index.html") {
                Some((_, b)) => ("index.html", b.to_vec()),
                None => return ApiError::NotFound.into_response(),
            },
        },
        None => return ApiError::NotFound.into_response(),
    };
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime(path)));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // The files change with the binary; revalidate rather than serve a stale page.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

fn has_extension(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|last| last.contains('.'))
}

/// A file under `dir`, refusing anything that would leave it (`..`, absolute paths).
async fn from_folder(dir: &Path, path: &str) -> Option<Vec<u8>> {
    let rel = Path::new(path);
    if path.is_empty()
        || !rel
            .components()
            .all(|c| matches!(c, Component::Normal(s) if !s.to_string_lossy().starts_with('.')))
    {
        return None;
    }
    // Where the file really is, links followed: still inside the folder (a link in it
    // to elsewhere is not served).
    let root = tokio::fs::canonicalize(dir).await.ok()?;
    let full = tokio::fs::canonicalize(dir.join(rel)).await.ok()?;
    if !full.starts_with(&root) {
        return None;
    }
    let meta = tokio::fs::metadata(&full).await.ok()?;
    if !meta.is_file() || meta.len() > MAX_DEV_FILE {
        return None;
    }
    // Read at most the limit, whatever the file has grown to since.
    let file = tokio::fs::File::open(full).await.ok()?;
    let mut body = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(
        &mut tokio::io::AsyncReadExt::take(file, MAX_DEV_FILE + 1),
        &mut body,
    )
    .await
    .ok()?;
    (body.len() as u64 <= MAX_DEV_FILE).then_some(body)
}

fn mime(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dashboard_is_built_in_with_its_entry_page() {
        assert!(embedded_files().any(|(p, b)| p == "index.html" && !b.is_empty()));
        assert!(
            embedded_files().all(|(p, _)| mime(p) != "application/octet-stream"),
            "every built-in file has a known type"
        );
    }

    #[test]
    fn extensions_and_types() {
        assert!(has_extension("js/app.js"));
        assert!(!has_extension("alerts/42"));
        assert_eq!(mime("a/b.css"), "text/css; charset=utf-8");
    }

    #[tokio::test]
    async fn a_development_folder_is_never_left() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), "<p>hi</p>").unwrap();
        std::fs::write(dir.path().join(".secret"), "x").unwrap();
        assert_eq!(
            from_folder(dir.path(), "index.html").await.as_deref(),
            Some(&b"<p>hi</p>"[..])
        );
        for bad in ["../index.html", "/etc/passwd", ".secret", "", "a/../../x"] {
            assert!(from_folder(dir.path(), bad).await.is_none(), "{bad}");
        }
        // A link inside the folder to a file outside it is not served; one to a file
        // inside it is.
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("key.pem"), "secret").unwrap();
        std::os::unix::fs::symlink(outside.path().join("key.pem"), dir.path().join("k.css"))
            .unwrap();
        std::os::unix::fs::symlink(dir.path().join("index.html"), dir.path().join("i.html"))
            .unwrap();
        assert!(from_folder(dir.path(), "k.css").await.is_none());
        assert!(from_folder(dir.path(), "i.html").await.is_some());
    }
}
