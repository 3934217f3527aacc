//! Health and metrics: `/healthz` (the process answers) and `/readyz` (the store answers)
//! for anyone; the checks of `/readyz` (engines, models, rules and output queues) and
//! `/metrics` (Prometheus text) for operators only ([`crate::operator`]): they span every
//! tenant.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "The process answers", body = serde_json::Value)))]
pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

#[utoipa::path(get, path = "/readyz", tag = "operations", responses((status = 200, description = "Ready", body = serde_json::Value), (status = 503, description = "The store does not answer", body = serde_json::Value)))]
pub async fn readyz(
    State(st): State<AppState>,
    operator: Result<crate::operator::Operator, ApiError>,
) -> Response {
    let store = st.with_store(|s| Ok(s.schema_version()?)).await.is_ok();
    let tenants = st.tenants.len();
    let activity = st.models.activity.read().map(|a| a.len()).unwrap_or(0);
    let network = st
        .models
        .network
        .read()
        .map(|n| n.is_some())
        .unwrap_or(false);
    let queues: Vec<serde_json::Value> = st
        .outputs
        .queues()
        .into_iter()
        .map(|(name, waiting, capacity)| {
            json!({"output": name, "waiting": waiting, "capacity": capacity, "full": waiting >= capacity})
        })
        .collect();
    // Not ready: the store does not answer. A full output queue is reported (that output
    // is dropping alerts) but does not stop ingestion: alerts are in the store regardless.
    let status = if store {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let word = if store { "ready" } else { "not ready" };
    if operator.is_err() {
        return (status, Json(json!({"status": word}))).into_response();
    }
    (
        status,
        Json(json!({
            "status": word,
            "checks": {
                "store": store,
                "tenants_loaded": tenants,
                "models": {"activity": activity, "network": network},
                "rules": st.rules.as_ref().map(|r| r.set.detection_rules()),
                "output_queues": queues,
            },
        })),
    )
        .into_response()
}

#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format", content_type = "text/plain"), (status = 401, description = "Not an operator: send server.metrics_token as a bearer token, or call from loopback when none is set", body = crate::openapi::ErrorBody)), security((), ("bearer" = [])))]
pub async fn metrics(State(st): State<AppState>, _op: crate::operator::Operator) -> Response {
    let tenants = st.tenants.len();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        st.metrics.render(tenants)
            + &st.connections.render()
            + &st.tokens.render()
            + &st.outputs.render()
            + &st.webhooks.render()
            + &st.listeners.render(),
    )
        .into_response()
}

#[utoipa::path(get, path = "/v1/whoami", tag = "operations", responses((status = 200, description = "The caller's tenant, scope, and token id (a Warden token) or subject (a JWT)", body = serde_json::Value), crate::openapi::Unauthorized), security(("bearer" = [])))]
pub async fn whoami(who: crate::auth::Principal) -> Json<serde_json::Value> {
    let subject = match &who.credential {
        crate::auth::Credential::Jwt(sub) => Some(sub.as_str()),
        crate::auth::Credential::Token(_) => None,
    };
    Json(json!({
        "tenant": who.tenant,
        "scope": who.scope.as_str(),
        "token_id": who.token_id(),
        "subject": subject,
    }))
}
