//! `POST /v1/detect/realtime`: a batch of events — `{"events": [...]}` or JSON Lines
//! (`Content-Type: application/x-ndjson`) — in order: user activities scored by the
//! tenant's behavioural engine, and, when `[sigma]` rules are loaded, log events matched by
//! them ([`crate::rules`]).
//! A malformed event gets an error in its place and never stops its neighbours. Alerts are
//! in the store (committed) before the response is sent; replaying a batch returns the same
//! alert ids and stores nothing twice.

use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, header};
use serde_json::{Value, json};
use warden_engine::sigma::SigmaAlert;
use warden_event::UserActivity;
use warden_ingest::jsonl::parse_activity;

use crate::auth::{Principal, Scope};
use crate::error::ApiError;
use crate::routes::body_error;
use crate::routes::stream::Published;
use crate::state::AppState;

#[utoipa::path(post, path = "/v1/detect/realtime", tag = "detect", request_body(content = crate::openapi::DetectBody, description = "A batch of user activities; also accepted as JSON Lines with Content-Type application/x-ndjson"), responses((status = 200, description = "OK", body = serde_json::Value), (status = 400, description = "Invalid input, naming the field", body = crate::openapi::ErrorBody), (status = 401, description = "No or unknown token", body = crate::openapi::ErrorBody), (status = 403, description = "The token's scope is too small", body = crate::openapi::ErrorBody), (status = 413, description = "Body too large", body = crate::openapi::ErrorBody), (status = 429, description = "Rate limited; see Retry-After", body = crate::openapi::ErrorBody)), security(("bearer" = [])))]
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
    let _slot = st.batch_slots.acquire().await.map_err(ApiError::internal)?;
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

/// An activity as kept with an alert: its fields by their canonical names, the time in
/// RFC 3339.
fn event_view(a: &UserActivity) -> Value {
    let mut v = serde_json::to_value(a).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.insert("timestamp".into(), json!(a.timestamp.to_rfc3339()));
        o.retain(|_, x| !x.is_null());
    }
    v
}

/// A log event larger than this is not kept with its alert (the rule's fields are).
const MAX_CONTEXT_BYTES: usize = 16 * 1024;
/// Most alerts one log event raises (its strongest rules); the response still lists every
/// detection.
const MAX_RULE_ALERTS: usize = 10;
/// Longest user id accepted.
const MAX_USER_ID: usize = 256;

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
    // With rules loaded, an event that is not a user activity is a log event for them.
    let rules = st.rules.as_deref();
    let docs: Vec<Option<Value>> = raw
        .iter()
        .map(|r| {
            rules?;
            serde_json::from_slice::<Value>(r)
                .ok()
                .filter(|v| v.is_object() && !crate::rules::is_activity(v))
        })
        .collect();
    let parsed: Vec<Option<Result<UserActivity, String>>> = raw
        .iter()
        .zip(&docs)
        .map(|(r, d)| {
            d.is_none().then(|| {
                let a = parse_activity(r, &st.aliases).map_err(|e| e.to_string())?;
                if a.user_id.len() > MAX_USER_ID {
                    return Err(format!("user_id: at most {MAX_USER_ID} bytes"));
                }
                Ok(a)
            })
        })
        .collect();
    crate::baselines::ensure_engine(st, &who.tenant)?;
    let started = Instant::now();
    let scores = {
        let mut engines = st
            .engines
            .lock()
            .map_err(|_| ApiError::internal("engine lock"))?;
        let engine = engines
            .get_mut(&who.tenant)
            .ok_or_else(|| ApiError::internal("the tenant's engine is gone"))?;
        parsed
            .iter()
            .map(|p| {
                p.as_ref().map(|p| {
                    p.as_ref()
                        .map(|a| engine.score(a, false))
                        .map_err(Clone::clone)
                })
            })
            .collect::<Vec<_>>()
    };
    let detections: Vec<Vec<SigmaAlert>> = match rules {
        Some(r) if docs.iter().any(Option::is_some) => {
            let present: Vec<&Value> = docs.iter().flatten().collect();
            let mut found = r
                .detect(&who.tenant, &present, st.config.server.max_tenants)
                .into_iter();
            docs.iter()
                .map(|d| d.as_ref().and_then(|_| found.next()).unwrap_or_default())
                .collect()
        }
        _ => docs.iter().map(|_| Vec::new()).collect(),
    };
    st.metrics.scoring(started.elapsed().as_secs_f64());
    st.dirty.mark(
        &who.tenant,
        parsed
            .iter()
            .filter_map(|p| p.as_ref().and_then(|p| p.as_ref().ok()))
            .map(|a| a.user_id.as_str()),
    );
    st.models.observe(
        &scores
            .iter()
            .filter_map(|s| s.as_ref().and_then(|s| s.as_ref().ok()))
            .collect::<Vec<_>>(),
    );
    let alert_level = st.config.server.alert_level;
    let now = crate::outputs::now_rfc3339();
    // (index, alert, what surrounded it).
    let mut alerts: Vec<(usize, warden_event::ThreatScore, Option<Value>)> = Vec::new();
    let mut recent = st.recent.batch(&who.tenant);
    for (i, (s, (found, doc))) in scores.iter().zip(detections.iter().zip(&docs)).enumerate() {
        match (s, doc) {
            (Some(Ok(s)), _) => {
                let alert = s.threat_level >= alert_level;
                let Some(Some(Ok(activity))) = parsed.get(i) else {
                    continue;
                };
                // The user's events before this one, kept as the alert's context.
                let before = recent
                    .as_mut()
                    .map(|r| r.push(activity, raw[i].len(), alert))
                    .unwrap_or_default();
                if alert {
                    let context = json!({
                        "event": event_view(activity),
                        "context_events": before.iter().map(event_view).collect::<Vec<_>>(),
                    });
                    alerts.push((i, s.clone(), Some(context)));
                }
            }
            (None, Some(doc)) => {
                let event = (doc.to_string().len() <= MAX_CONTEXT_BYTES).then_some(doc);
                // The strongest rules first, at most MAX_RULE_ALERTS per event: a crafted
                // event matching many rules must not become as many alerts.
                let mut found: Vec<&SigmaAlert> = found.iter().collect();
                found.sort_by_key(|a| std::cmp::Reverse(a.level_rank));
                for a in found.into_iter().take(MAX_RULE_ALERTS) {
                    let s = crate::rules::to_score(a, doc, &st.config.ueba.scoring.actions, &now);
                    if s.threat_level >= alert_level {
                        // The detection itself, structured, beside the event it matched.
                        let context = json!({"rule": a, "event": event});
                        alerts.push((i, s, Some(context)));
                    }
                }
            }
            _ => {}
        }
    }
    drop(recent);
    let to_save: Vec<warden_event::ThreatScore> =
        alerts.iter().map(|(_, s, _)| s.clone()).collect();
    let context: Vec<Option<Value>> = alerts.iter().map(|(_, _, c)| c.clone()).collect();
    let saved = {
        let mut store = st
            .store
            .lock()
            .map_err(|_| ApiError::internal("store lock"))?;
        let saved = store.save_alerts_with_context(&who.tenant, None, &to_save, &context)?;
        // Published under the store lock, after the commit: the feed carries ids in the
        // order they were stored, which is what lets a stream resume without a gap.
        for ((_, s, _), (id, new)) in alerts.iter().zip(&saved) {
            if *new {
                let p = std::sync::Arc::new(Published::of(&who.tenant, *id, s));
                st.outputs.dispatch(&p);
                st.webhooks.dispatch(&p);
                let _ = st.feed.send(p);
            }
        }
        saved
    };
    let rejected = scores
        .iter()
        .filter(|s| s.as_ref().is_some_and(Result::is_err))
        .count();
    st.metrics
        .events_in
        .fetch_add(scores.len() as u64, std::sync::atomic::Ordering::Relaxed);
    st.metrics
        .parse_errors
        .fetch_add(rejected as u64, std::sync::atomic::Ordering::Relaxed);
    for ((_, s, _), (_, new)) in alerts.iter().zip(&saved) {
        if *new {
            st.metrics.alert(s.threat_level);
        }
    }
    let results: Vec<Value> = scores
        .into_iter()
        .zip(detections)
        .enumerate()
        .map(|(i, (s, found))| match s {
            Some(Ok(s)) => json!({"index": i, "score": s}),
            Some(Err(e)) => json!({"index": i, "error": {"code": "invalid", "message": e}}),
            None => json!({"index": i, "detections": found}),
        })
        .collect();
    let alert_list: Vec<Value> = alerts
        .iter()
        .zip(&saved)
        .map(|((i, s, _), (id, new))| {
            json!({"index": i, "id": id, "level": s.threat_level, "new": new})
        })
        .collect();
    Ok(Json(json!({
        "accepted": results.len() - rejected,
        "rejected": rejected,
        "alerts": alert_list,
        "results": results,
    })))
}
