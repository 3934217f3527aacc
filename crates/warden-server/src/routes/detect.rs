//! `POST /v1/detect/realtime`: a batch of events — `{"events": [...]}` or JSON Lines
//! (`Content-Type: application/x-ndjson`) — classified (user activities and log events:
//! the entity graph reads Windows events, and `[sigma]` rules when loaded), run through
//! the tenant's detection pipeline, the
//! alerts stored and published — or, with `warden serve --forward-to`, handed to a log for
//! `warden worker`s ([`crate::forward`]). A malformed event gets an error in its place and
//! never stops its neighbours. Alerts are in the store (committed) before the response is sent;
//! replaying a batch returns the same alert ids and stores nothing twice.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, header};
use serde_json::{Value, json};
use warden_engine::pipeline::RecordOutcome;
use warden_event::Input;
use warden_ingest::classify::{ClassifyOptions, classify};

use crate::auth::{Principal, Scope};
use crate::error::ApiError;
use crate::routes::body_error;
use crate::state::AppState;

#[utoipa::path(post, path = "/v1/detect/realtime", tag = "detect", request_body(content = crate::openapi::DetectBody, description = "A batch of user activities; also accepted as JSON Lines with Content-Type application/x-ndjson"), responses((status = 200, description = "OK", body = serde_json::Value), crate::openapi::Invalid, crate::openapi::Unauthorized, crate::openapi::Forbidden, crate::openapi::TooLarge, crate::openapi::RateLimited), security(("bearer" = [])))]
pub async fn realtime(
    State(st): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Write)?;
    let body = body.map_err(|e| body_error(&e, st.config.server.batch_limit_bytes))?;
    let ndjson = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-ndjson"));
    let _turn = st.batch_slots.take(&who.tenant).await?;
    let state = st.clone();
    tokio::task::spawn_blocking(move || score_batch(&state, &who, &body, ndjson))
        .await
        .map_err(ApiError::internal)?
}

/// The events of a body, raw, in order.
fn split_events(body: &[u8], ndjson: bool) -> Result<Vec<Vec<u8>>, ApiError> {
    if ndjson {
        return Ok(body
            .split(|b| *b == b'\n')
            .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
            .map(<[u8]>::to_vec)
            .collect());
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid("body", format!("not JSON: {e}")))?;
    let events = v
        .get("events")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::invalid("events", "expected {\"events\": [...]}"))?;
    events
        .iter()
        .map(|e| serde_json::to_vec(e).map_err(ApiError::internal))
        .collect()
}

fn score_batch(
    st: &AppState,
    who: &Principal,
    body: &[u8],
    ndjson: bool,
) -> Result<Json<Value>, ApiError> {
    let raw = split_events(body, ndjson)?;
    let max = st.config.server.max_batch_events;
    if raw.len() > max {
        return Err(ApiError::invalid(
            "events",
            format!("{} events; at most {max} per batch", raw.len()),
        ));
    }
    if raw.is_empty() {
        return Err(ApiError::invalid("events", "no events"));
    }
    // 1. Classify: every event becomes a typed record or an error in its place.
    let (inputs, at, mut errors) = classify_batch(st, &raw);
    if let Some(log) = &st.forward {
        return forwarded(st, who, log.as_ref(), inputs, &errors);
    }
    // 2. The tenant's pipeline (its quota of users first), then the store.
    let scored = crate::scoring::score(st, &who.tenant, inputs, at)?;
    for &i in &scored.over_quota {
        errors[i] = Some((
            "quota_exceeded",
            format!(
                "the tenant's quota of {} users is reached: events of new users are not scored",
                st.config.server.max_users_per_tenant
            ),
        ));
    }
    if !scored.over_quota.is_empty()
        && scored.records.is_empty()
        && errors
            .iter()
            .all(|e| matches!(e, Some(("quota_exceeded", _))))
    {
        return Err(ApiError::QuotaExceeded(format!(
            "the tenant's quota of {} users is reached",
            st.config.server.max_users_per_tenant
        )));
    }
    let rejected = errors.iter().filter(|e| e.is_some()).count();
    st.metrics
        .tenant_events(&who.tenant, raw.len() as u64, rejected as u64);
    // 3. The answer: every event's result in order, and the alerts.
    let results = batch_results(&errors, scored.records.into_iter().map(|(_, o)| o));
    let alert_list: Vec<Value> = scored
        .alerts
        .iter()
        .map(|(i, level, id, new)| json!({"index": i, "id": id, "level": level, "new": new}))
        .collect();
    Ok(Json(json!({
        "accepted": raw.len() - rejected,
        "rejected": rejected,
        "alerts": alert_list,
        "results": results,
    })))
}

/// Why an event of a batch was not scored: a code and a message.
type EventError = Option<(&'static str, String)>;

/// Every event of a batch as a typed record (Log events are always read: the tenant's entity
/// graph reads Windows events, and the Sigma rules too when they are loaded): the records,
/// each record's position in the batch, and each event's error, if any, in its place.
fn classify_batch(st: &AppState, raw: &[Vec<u8>]) -> (Vec<Input>, Vec<usize>, Vec<EventError>) {
    let opts = ClassifyOptions {
        logs: true,
        max_future_secs: st.config.server.max_future_secs,
        ..ClassifyOptions::default()
    };
    let mut inputs: Vec<Input> = Vec::with_capacity(raw.len());
    let mut at: Vec<usize> = Vec::with_capacity(raw.len());
    let mut errors = Vec::with_capacity(raw.len());
    for (i, r) in raw.iter().enumerate() {
        match classify(r, &st.aliases, &opts) {
            Ok(input) => {
                inputs.push(input);
                at.push(i);
                errors.push(None);
            }
            Err(e) => errors.push(Some(("invalid", e.to_string()))),
        }
    }
    (inputs, at, errors)
}

/// Each event's result, in order: its error, its score, its detections or nothing; the
/// scored records' outcomes fill the places without an error.
fn batch_results(
    errors: &[EventError],
    mut outcomes: impl Iterator<Item = RecordOutcome>,
) -> Vec<Value> {
    errors
        .iter()
        .enumerate()
        .map(|(i, e)| match e {
            Some((code, e)) => json!({"index": i, "error": {"code": code, "message": e}}),
            None => {
                let o = outcomes.next().unwrap_or_default();
                match (o.score(), o.detections()) {
                    (Some(s), _) => json!({"index": i, "score": s}),
                    (None, Some(d)) => {
                        // The answer bounds what it echoes of the event, as alerts do.
                        let mut d = json!(d);
                        warden_event::bound::cut_value(&mut d);
                        json!({"index": i, "detections": d})
                    }
                    (None, None) => json!({"index": i}),
                }
            }
        })
        .collect()
}

/// The answer of a forwarded batch: every event forwarded or its error, in order; the
/// alerts come from the workers, later.
fn forwarded(
    st: &AppState,
    who: &Principal,
    log: &dyn crate::forward::Forwarder,
    inputs: Vec<Input>,
    errors: &[Option<(&str, String)>],
) -> Result<Json<Value>, ApiError> {
    let rejected = errors.iter().filter(|e| e.is_some()).count();
    st.metrics
        .tenant_events(&who.tenant, errors.len() as u64, rejected as u64);
    let n = crate::forward::forward(st, log, &who.tenant, inputs)?;
    let results: Vec<Value> = errors
        .iter()
        .enumerate()
        .map(|(i, e)| match e {
            Some((code, e)) => json!({"index": i, "error": {"code": code, "message": e}}),
            None => json!({"index": i, "forwarded": true}),
        })
        .collect();
    Ok(Json(json!({
        "accepted": n,
        "rejected": rejected,
        "forwarded_to": log.target(),
        "alerts": [],
        "results": results,
    })))
}
