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
use warden_engine::models::FlowAssessment;
use warden_engine::pipeline::{FlowDetector, Pipeline};
use warden_event::{Alert, FlowEvent, Input, Record, Timestamp};
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

#[utoipa::path(post, path = "/v1/monitor/network", tag = "detect", params(MonitorQuery), request_body(content = crate::openapi::FlowsBody, description = "Flows in the network model's format: NSL-KDD or UNSW-NB15 CSV (UNSW with its header line), Zeek conn.log TSV (with its #fields line) or JSON Lines", content_type = "text/plain"), responses((status = 200, description = "Scores of the anomalous flows (all with ?all=true), errors by line", body = serde_json::Value), crate::openapi::Invalid, crate::openapi::Unauthorized, crate::openapi::Forbidden, crate::openapi::TooLarge, crate::openapi::RateLimited, (status = 503, description = "No network model is configured", body = crate::openapi::ErrorBody)), security(("bearer" = [])))]
pub async fn monitor(
    State(st): State<AppState>,
    who: Principal,
    q: Result<Query<MonitorQuery>, axum::extract::rejection::QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Write)?;
    let Query(q) = q.map_err(|e| ApiError::invalid("query", e.body_text()))?;
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
    let _turn = st.batch_slots.take(&who.tenant).await?;
    let state = st.clone();
    tokio::task::spawn_blocking(move || {
        score_flows(&state, &who, &model, &body, q.all.unwrap_or(false))
    })
    .await
    .map_err(ApiError::internal)?
}

/// The body's flows as typed records (bad lines as errors by line), checked against the
/// columns the model was trained on.
fn read_flows(
    st: &AppState,
    m: &crate::models::ActiveModel,
    body: &[u8],
) -> Result<(Vec<Input>, Vec<Value>), ApiError> {
    let schema = &m.model.file.schema;
    let max = st.config.server.max_batch_events;
    let lines: Vec<&[u8]> = body.split(|b| *b == b'\n').collect();
    let mut reader = FlowReader::new(schema.format, body);
    let (mut inputs, mut errors) = (Vec::new(), Vec::new());
    while let Some(r) = reader.next() {
        if inputs.len() + errors.len() >= max {
            return Err(ApiError::invalid(
                "body",
                format!("more than {max} flows; at most {max} per request"),
            ));
        }
        let record = match r {
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
        let line = reader.line();
        let raw = usize::try_from(line)
            .ok()
            .and_then(|l| lines.get(l.saturating_sub(1)))
            .map(|l| String::from_utf8_lossy(l).trim_end().to_owned())
            .unwrap_or_default();
        inputs.push(Input::flow(FlowEvent {
            record,
            format: schema.format,
            source: "request".into(),
            line,
            raw,
        }));
    }
    Ok((inputs, errors))
}

fn score_flows(
    st: &AppState,
    who: &Principal,
    m: &crate::models::ActiveModel,
    body: &[u8],
    all: bool,
) -> Result<Json<Value>, ApiError> {
    let (inputs, errors) = read_flows(st, m, body)?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid("body", "no flows"));
    }
    // A body of headers or comments only scores nothing: an empty answer, not an error.
    // Flow scoring keeps no state: a pipeline of the network model alone, for this request.
    let mut pipeline = Pipeline::new(&who.tenant, crate::tenants::options(st));
    pipeline.add(Box::new(FlowDetector::new(
        m.model.clone(),
        st.config.ueba.scoring.levels,
    )));
    let outcome = pipeline.process(&inputs, Timestamp::now());
    let line_of = |i: usize| match inputs.get(i).map(|x| &x.record) {
        Some(Record::Flow(f)) => f.line,
        _ => 0,
    };
    let assessed: Vec<(u64, &FlowAssessment)> = outcome
        .records
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.flow().map(|a| (line_of(i), a)))
        .collect();
    let anomalous = assessed.iter().filter(|(_, a)| a.anomalous).count();
    let results: Vec<Value> = assessed
        .iter()
        .filter(|(_, a)| a.anomalous || all)
        .map(|(line, a)| json!({"line": line, "assessment": a}))
        .collect();
    st.models
        .observe_network(assessed.iter().map(|(_, a)| a.score));
    st.metrics
        .flows(assessed.len() as u64, anomalous as u64, errors.len() as u64);
    // Anomalous flows are alerts like any other: stored, streamed on `network`, delivered.
    let (at, alerts): (Vec<u64>, Vec<Alert>) = outcome
        .alerts
        .into_iter()
        .map(|(i, a)| (line_of(i), a))
        .unzip();
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
        "format": m.model.file.schema.format.name(),
        "scored": assessed.len(),
        "anomalous": anomalous,
        "rejected": errors.len(),
        "alerts": alert_list,
        "results": results,
        "errors": errors,
    })))
}

#[utoipa::path(get, path = "/v1/models", tag = "operations", responses((status = 200, description = "The models in use (version, training figures, drift) and the ensemble's calls", body = serde_json::Value), crate::openapi::Unauthorized, crate::openapi::Forbidden), security(("bearer" = [])))]
pub async fn models(State(st): State<AppState>, who: Principal) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Read)?;
    // The pipeline's lock is held while a batch is scored: wait for it off the async
    // workers, in the tenant's read turn.
    let tenant = who.tenant.clone();
    let counters = st
        .in_read_turn(&who.tenant, move |st| {
            let p = st.tenants.get(&tenant)?;
            let p = p.lock().ok()?;
            let d = p.detector::<warden_engine::pipeline::UebaDetector>()?;
            Some(d.engine().ensemble().counters())
        })
        .await?;
    let e = &st.config.ueba.ensemble;
    Ok(Json(json!({
        "models": st.models.describe(),
        "ensemble": {
            "weight": e.weight,
            "shares": {"isolation_forest": e.isolation_forest, "sequence": e.sequence, "trees": e.trees},
            "timeout_ms": e.timeout_ms,
            "cooldown_secs": e.cooldown_secs,
            "only_when_decisive": e.only_when_decisive,
            "sample_every": e.sample_every,
            "may_demote_high": e.may_demote_high,
            "calls": counters.map(|c| c.calls),
            "failures": counters.map(|c| c.failures),
            "trips": counters.map(|c| c.trips),
            "skipped": counters.map(|c| c.skipped),
            "not_decisive": counters.map(|c| c.not_decisive),
        },
        "reload_secs": st.config.models.reload_secs,
    })))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RulesQuery {
    /// Only rules whose title, id or tags contain this (any case; at most 200 characters).
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// At most this many rules (≤ 1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
    /// Rules skipped (default 0).
    #[param(minimum = 0, maximum = 18446744073709551615_u64)]
    pub offset: Option<usize>,
}

#[utoipa::path(get, path = "/v1/rules", tag = "operations", params(RulesQuery), responses((status = 200, description = "Rules loaded (a page), counts by level, rules skipped with the reason", body = serde_json::Value), crate::openapi::Invalid, crate::openapi::Unauthorized, crate::openapi::Forbidden, (status = 503, description = "No rules are configured", body = crate::openapi::ErrorBody)), security(("bearer" = [])))]
pub async fn rules(
    State(st): State<AppState>,
    who: Principal,
    q: Result<Query<RulesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Read)?;
    let Query(q) = q.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit", "between 1 and 1000"));
    }
    if q.q.as_ref().is_some_and(|s| !super::within_chars(s, 200)) {
        return Err(ApiError::invalid("q", "at most 200 characters"));
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
