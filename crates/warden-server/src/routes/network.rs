//! `POST /v1/monitor/network`: network flows in the network model's own format (NSL-KDD or
//! UNSW-NB15 CSV, Zeek `conn.log` TSV or JSON Lines) scored and explained, in order; a bad
//! line gets an error naming its line and never stops the others. An anomalous flow at the
//! service's alert level is an alert: stored, streamed on the `network` channel and
//! delivered to the outputs. `GET /v1/models`: the
//! models in use, their training figures, drift and calls.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};
use warden_engine::alerts::{FlowSource, from_flow};
use warden_event::Alert;
use warden_ingest::flows::FlowReader;

use crate::auth::{Principal, Scope};
use crate::error::ApiError;
use crate::routes::body_error;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MonitorQuery {
    /// Return every flow's score, not only the anomalous ones.
    pub all: Option<bool>,
}

#[utoipa::path(post, path = "/v1/monitor/network", tag = "detect", params(MonitorQuery), request_body(content = String, description = "Flows in the network model's format: NSL-KDD or UNSW-NB15 CSV (UNSW with its header line), Zeek conn.log TSV (with its #fields line) or JSON Lines", content_type = "text/plain"), responses((status = 200, description = "Scores of the anomalous flows (all with ?all=true), errors by line", body = serde_json::Value), (status = 400, description = "Invalid input, naming the field", body = crate::openapi::ErrorBody), (status = 401, description = "No or unknown token", body = crate::openapi::ErrorBody), (status = 403, description = "The token's scope is too small", body = crate::openapi::ErrorBody), (status = 413, description = "Body too large", body = crate::openapi::ErrorBody), (status = 429, description = "Rate limited; see Retry-After", body = crate::openapi::ErrorBody), (status = 503, description = "No network model is configured", body = crate::openapi::ErrorBody)), security(("bearer" = [])))]
pub async fn monitor(
    State(st): State<AppState>,
    who: Principal,
    Query(q): Query<MonitorQuery>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Write)?;
    let body = body.map_err(|e| body_error(&e, st.config.server.batch_limit_bytes))?;
    let model = st
        .models
        .network
        .read()
        .map_err(|_| ApiError::internal("models lock"))?
        .clone()
        .ok_or(ApiError::Unavailable(
            "no network model is configured ([models] network in the configuration)",
        ))?;
    let _slot = st.batch_slots.acquire().await.map_err(ApiError::internal)?;
    let state = st.clone();
    tokio::task::spawn_blocking(move || {
        score_flows(&state, &who, &model, &body, q.all.unwrap_or(false))
    })
    .await
    .map_err(ApiError::internal)?
}

fn score_flows(
    st: &AppState,
    who: &Principal,
    m: &crate::models::ActiveModel,
    body: &[u8],
    all: bool,
) -> Result<Json<Value>, ApiError> {
    let schema = &m.model.file.schema;
    let names = schema.feature_names();
    let max = st.config.server.max_batch_events;
    let mut reader = FlowReader::new(schema.format, body);
    let mut row = Vec::with_capacity(schema.width());
    let (mut results, mut errors, mut scores) = (Vec::new(), Vec::new(), Vec::new());
    let (mut scored, mut anomalous) = (0usize, 0usize);
    let mut alerts: Vec<(u64, Alert)> = Vec::new();
    let now = warden_outputs::now_rfc3339();
    let lines: Vec<&[u8]> = body.split(|b| *b == b'\n').collect();
    while let Some(r) = reader.next() {
        if scored + errors.len() >= max {
            return Err(ApiError::invalid(
                "body",
                format!("more than {max} flows; at most {max} per request"),
            ));
        }
        let rec = match r {
            Ok(rec) => rec,
            Err(e) => {
                errors.push(
                    json!({"line": e.line, "error": {"code": "invalid", "message": e.reason}}),
                );
                continue;
            }
        };
        if reader.columns() != &schema.columns {
            return Err(ApiError::invalid(
                "body",
                format!(
                    "the columns differ from the ones {} was trained on ({} flows)",
                    m.label,
                    schema.format.name()
                ),
            ));
        }
        let a = m.model.assess(&rec, &names, &mut row);
        scored += 1;
        scores.push(a.score);
        let line = reader.line();
        if a.anomalous {
            anomalous += 1;
            let raw = usize::try_from(line)
                .ok()
                .and_then(|l| lines.get(l.saturating_sub(1)))
                .map(|l| String::from_utf8_lossy(l).trim_end().to_owned())
                .unwrap_or_default();
            let source = FlowSource {
                model: &m.label,
                format: schema.format.name(),
                source: "request",
                line,
                raw: &raw,
                src_ip: rec.origin.src_ip.as_deref(),
                dst_ip: rec.origin.dst_ip.as_deref(),
                timestamp: rec
                    .origin
                    .timestamp_ms
                    .map(|t| warden_event::Timestamp(t).to_rfc3339()),
            };
            let cfg = &st.config.ueba.scoring;
            let alert = from_flow(&who.tenant, &a, &source, &cfg.levels, &cfg.actions, &now);
            if alert.level >= st.config.server.alert_level {
                alerts.push((line, alert));
            }
        }
        if a.anomalous || all {
            results.push(json!({"line": line, "assessment": a}));
        }
    }
    if scored + errors.len() == 0 {
        return Err(ApiError::invalid("body", "no flows"));
    }
    st.models.observe_network(scores.into_iter());
    st.metrics
        .flows(scored as u64, anomalous as u64, errors.len() as u64);
    // Anomalous flows are alerts like any other: stored, streamed on `network`, delivered.
    let (at, alerts): (Vec<u64>, Vec<Alert>) = alerts.into_iter().unzip();
    let levels: Vec<_> = alerts.iter().map(|a| a.level).collect();
    let saved = crate::publish::commit(st, alerts)?;
    let alert_list: Vec<Value> = at
        .iter()
        .zip(levels)
        .zip(&saved)
        .map(|((line, level), (id, new))| json!({"line": line, "id": id, "level": level, "new": new}))
        .collect();
    Ok(Json(json!({
        "model": m.label,
        "format": schema.format.name(),
        "scored": scored,
        "anomalous": anomalous,
        "rejected": errors.len(),
        "alerts": alert_list,
        "results": results,
        "errors": errors,
    })))
}

#[utoipa::path(get, path = "/v1/models", tag = "operations", responses((status = 200, description = "The models in use (version, training figures, drift) and the ensemble's calls", body = serde_json::Value), (status = 401, description = "No or unknown token", body = crate::openapi::ErrorBody)), security(("bearer" = [])))]
pub async fn models(State(st): State<AppState>, who: Principal) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Read)?;
    let counters = st.tenants.get(&who.tenant).and_then(|p| {
        let p = p.lock().ok()?;
        let d = p.detector::<warden_engine::pipeline::UebaDetector>()?;
        Some(d.engine().ensemble().counters())
    });
    let e = &st.config.ueba.ensemble;
    Ok(Json(json!({
        "models": st.models.describe(),
        "ensemble": {
            "weight": e.weight,
            "shares": {"isolation_forest": e.isolation_forest, "sequence": e.sequence, "trees": e.trees},
            "timeout_ms": e.timeout_ms,
            "cooldown_secs": e.cooldown_secs,
            "calls": counters.map(|c| c.calls),
            "failures": counters.map(|c| c.failures),
            "trips": counters.map(|c| c.trips),
            "skipped": counters.map(|c| c.skipped),
        },
        "reload_secs": st.config.models.reload_secs,
    })))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RulesQuery {
    /// Only rules whose title, id or tags contain this (any case).
    pub q: Option<String>,
    /// At most this many rules (≤ 1000, default 100).
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

#[utoipa::path(get, path = "/v1/rules", tag = "operations", params(RulesQuery), responses((status = 200, description = "Rules loaded (a page), counts by level, rules skipped with the reason", body = serde_json::Value), (status = 400, description = "Invalid input, naming the field", body = crate::openapi::ErrorBody), (status = 401, description = "No or unknown token", body = crate::openapi::ErrorBody), (status = 503, description = "No rules are configured", body = crate::openapi::ErrorBody)), security(("bearer" = [])))]
pub async fn rules(
    State(st): State<AppState>,
    who: Principal,
    Query(q): Query<RulesQuery>,
) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Read)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit", "between 1 and 1000"));
    }
    if q.q.as_ref().is_some_and(|s| s.len() > 200) {
        return Err(ApiError::invalid("q", "at most 200 bytes"));
    }
    let rules = st.rules.as_ref().ok_or(ApiError::Unavailable(
        "no Sigma rules are configured ([sigma] rules in the configuration)",
    ))?;
    Ok(Json(rules.describe(
        q.q.as_deref(),
        limit,
        q.offset.unwrap_or(0),
    )))
}
