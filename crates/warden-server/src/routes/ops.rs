//! Health and metrics, without authentication: `/healthz` (the process answers),
//! `/readyz` (the store answers; engines loaded), `/metrics` (Prometheus text).

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::state::AppState;

pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

pub async fn readyz(State(st): State<AppState>) -> Response {
    let store = st
        .store
        .lock()
        .ok()
        .and_then(|s| s.schema_version().ok())
        .is_some();
    let tenants = st.engines.lock().map(|e| e.len()).unwrap_or(0);
    let status = if store {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({
            "status": if store { "ready" } else { "not ready" },
            "checks": {"store": store, "tenants_loaded": tenants},
        })),
    )
        .into_response()
}

pub async fn metrics(State(st): State<AppState>) -> Response {
    let tenants = st.engines.lock().map(|e| e.len()).unwrap_or(0);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        st.metrics.render(tenants) + &st.outputs.render() + &st.webhooks.render(),
    )
        .into_response()
}
