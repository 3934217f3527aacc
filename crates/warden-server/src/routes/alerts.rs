//! Alerts of the caller's tenant: list with filters and a cursor, one alert with its
//! related alerts, triage changes (`PATCH`), bulk operations, and the audit log.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};
use warden_store::{AlertChange, AlertFilter, AlertRecord, AlertSort, SortKey};

use crate::auth::{Principal, Scope};
use crate::error::ApiError;
use crate::routes::{anomaly_param, json_error, level_param, time_param};
use crate::state::AppState;

/// Default page size.
const PAGE: usize = 50;
/// Most ids in one bulk request.
const MAX_BULK: usize = 1000;
/// The triage states.
const STATUSES: [&str; 4] = ["new", "acknowledged", "resolved", "false_positive"];

#[derive(Debug, Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Minimum level.
    pub level: Option<String>,
    /// Exact levels, comma-separated (`HIGH,CRITICAL`).
    pub levels: Option<String>,
    pub user: Option<String>,
    pub anomaly_type: Option<String>,
    pub status: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// `id` (default: the order stored), `score` or `time` (event time).
    pub sort: Option<String>,
    /// `desc` (default) or `asc`.
    pub order: Option<String>,
    /// `next_cursor` of the previous page (opaque).
    pub cursor: Option<String>,
    pub limit: Option<usize>,
    /// Also return `total`, the number of matching alerts.
    pub count: Option<bool>,
}

/// A cursor: the last alert's id, and with a score or time sort its sort value
/// (`<value>~<id>`).
fn parse_cursor(sort: AlertSort, c: &str) -> Result<(i64, Option<SortKey>), ApiError> {
    let bad = || ApiError::invalid("cursor", "not a cursor of this listing; start without one");
    match sort {
        AlertSort::Id => c.parse().map(|id| (id, None)).map_err(|_| bad()),
        AlertSort::Score => {
            let (v, id) = c.rsplit_once('~').ok_or_else(bad)?;
            let v: f64 = v.parse().map_err(|_| bad())?;
            Ok((id.parse().map_err(|_| bad())?, Some(SortKey::Score(v))))
        }
        AlertSort::Time => {
            let (v, id) = c.rsplit_once('~').ok_or_else(bad)?;
            if v.len() > 40 {
                return Err(bad());
            }
            Ok((
                id.parse().map_err(|_| bad())?,
                Some(SortKey::Time(v.to_owned())),
            ))
        }
    }
}

fn cursor_of(sort: AlertSort, a: &AlertRecord) -> String {
    match sort.key_of(a) {
        Some(SortKey::Score(v)) => format!("{v}~{}", a.id),
        Some(SortKey::Time(t)) => format!("{t}~{}", a.id),
        None => a.id.to_string(),
    }
}

fn check_status(s: &str) -> Result<(), ApiError> {
    if STATUSES.contains(&s) {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "status",
            format!("`{s}`: expected one of {}", STATUSES.join(", ")),
        ))
    }
}

fn check_text(field: &str, v: &str, max: usize) -> Result<(), ApiError> {
    if v.len() > max || v.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            field,
            format!("at most {max} bytes, no control characters"),
        ));
    }
    Ok(())
}

#[utoipa::path(get, path = "/v1/alerts", tag = "alerts", params(ListQuery), responses((status = 200, description = "OK", body = serde_json::Value), (status = 400, description = "Invalid input, naming the field", body = crate::openapi::ErrorBody), (status = 401, description = "No or unknown token", body = crate::openapi::ErrorBody), (status = 403, description = "The token's scope is too small", body = crate::openapi::ErrorBody)), security(("bearer" = [])))]
pub async fn list(
    State(st): State<AppState>,
    who: Principal,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Read)?;
    let Query(q) = q.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let min_level = level_param("level", q.level.as_deref())?;
    if let Some(s) = &q.status {
        check_status(s)?;
    }
    anomaly_param("anomaly_type", q.anomaly_type.as_deref())?;
    let limit = q.limit.unwrap_or(PAGE);
    if !(1..=warden_store::MAX_PAGE).contains(&limit) {
        return Err(ApiError::invalid("limit", "between 1 and 1000"));
    }
    let sort = match q.sort.as_deref().unwrap_or("id") {
        "id" => AlertSort::Id,
        "score" => AlertSort::Score,
        "time" => AlertSort::Time,
        _ => return Err(ApiError::invalid("sort", "expected id, score or time")),
    };
    let ascending = match q.order.as_deref().unwrap_or("desc") {
        "desc" => false,
        "asc" => true,
        _ => return Err(ApiError::invalid("order", "expected asc or desc")),
    };
    let (before_id, after_key) = match q.cursor.as_deref() {
        Some(c) => {
            let (id, key) = parse_cursor(sort, c)?;
            (Some(id), key)
        }
        None => (None, None),
    };
    let filter = AlertFilter {
        tenant: who.tenant.clone(),
        min_level,
        levels: crate::routes::levels_param("levels", q.levels.as_deref())?,
        user: q.user,
        anomaly: q.anomaly_type,
        status: q.status,
        from: time_param("from", q.from.as_deref())?,
        to: time_param("to", q.to.as_deref())?,
        before_id,
        after_key,
        sort,
        ascending,
        limit,
        channels: None,
    };
    let (page, total) = {
        let store = st.store();
        let total = q
            .count
            .unwrap_or(false)
            .then(|| store.alert_count(&filter))
            .transpose()?;
        (store.alert_page(&filter)?, total)
    };
    let next = (page.len() == limit)
        .then(|| page.last().map(|a| cursor_of(sort, a)))
        .flatten();
    let mut body = json!({"alerts": page, "next_cursor": next});
    if let Some(t) = total {
        body["total"] = json!(t);
    }
    Ok(Json(body))
}

#[utoipa::path(get, path = "/v1/alerts/{id}", tag = "alerts", params(("id" = i64, Path, description = "Alert id")), responses((status = 200, description = "OK", body = serde_json::Value), (status = 400, description = "Invalid input, naming the field", body = crate::openapi::ErrorBody), (status = 401, description = "No or unknown token", body = crate::openapi::ErrorBody), (status = 403, description = "The token's scope is too small", body = crate::openapi::ErrorBody), (status = 404, description = "Not found (or another tenant's)", body = crate::openapi::ErrorBody)), security(("bearer" = [])))]
pub async fn get_one(
    State(st): State<AppState>,
    who: Principal,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Read)?;
    let store = st.store();
    let alert = store.alert(&who.tenant, id)?.ok_or(ApiError::NotFound)?;
    // The same user's other alerts within an hour either side.
    let t = warden_event::Timestamp::parse_rfc3339(&alert.timestamp);
    let around = |delta_ms: i64| t.map(|t| warden_event::Timestamp(t.0 + delta_ms).to_rfc3339());
    let related = store.alert_page(&AlertFilter {
        tenant: who.tenant.clone(),
        user: Some(alert.user_id.clone()),
        from: around(-3_600_000),
        to: around(3_600_000),
        limit: 50,
        ..AlertFilter::default()
    })?;
    let related: Vec<_> = related.into_iter().filter(|a| a.id != id).collect();
    Ok(Json(json!({"alert": alert, "related": related})))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    pub status: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub assignee: Option<Option<String>>,
    pub classification: Option<String>,
}

/// `"assignee": null` clears it; a missing key leaves it.
fn nullable<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Ok(Some(Option::deserialize(d)?))
}

pub(crate) fn change_of(p: Patch) -> Result<AlertChange, ApiError> {
    if let Some(s) = &p.status {
        check_status(s)?;
    }
    if let Some(Some(a)) = &p.assignee {
        check_text("assignee", a, 200)?;
    }
    if let Some(c) = &p.classification {
        check_text("classification", c, 200)?;
    }
    let change = AlertChange {
        status: p.status,
        assignee: p.assignee,
        classification: p.classification,
    };
    if change == AlertChange::default() {
        return Err(ApiError::invalid(
            "body",
            "nothing to change: give status, assignee or classification",
        ));
    }
    Ok(change)
}

#[utoipa::path(patch, path = "/v1/alerts/{id}", tag = "alerts", params(("id" = i64, Path, description = "Alert id")), request_body = Patch, responses((status = 200, description = "OK", body = serde_json::Value), (status = 400, description = "Invalid input, naming the field", body = crate::openapi::ErrorBody), (status = 401, description = "No or unknown token", body = crate::openapi::ErrorBody), (status = 403, description = "The token's scope is too small", body = crate::openapi::ErrorBody), (status = 404, description = "Not found (or another tenant's)", body = crate::openapi::ErrorBody)), security(("bearer" = [])))]
pub async fn patch(
    State(st): State<AppState>,
    who: Principal,
    Path(id): Path<i64>,
    body: Result<Json<Patch>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Write)?;
    let Json(p) = body.map_err(|e| json_error(&e, st.config.server.body_limit_bytes))?;
    let change = change_of(p)?;
    let mut store = st.store();
    if store
        .update_alerts(&who.tenant, &[id], &change, &who.actor())?
        .is_empty()
    {
        return Err(ApiError::NotFound);
    }
    let alert = store.alert(&who.tenant, id)?.ok_or(ApiError::NotFound)?;
    Ok(Json(json!({"alert": alert})))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Bulk {
    pub action: String,
    pub ids: Vec<i64>,
    pub status: Option<String>,
    pub assignee: Option<String>,
    pub classification: Option<String>,
}

#[utoipa::path(post, path = "/v1/alerts/bulk", tag = "alerts", request_body = Bulk, responses((status = 200, description = "OK", body = serde_json::Value), (status = 400, description = "Invalid input, naming the field", body = crate::openapi::ErrorBody), (status = 401, description = "No or unknown token", body = crate::openapi::ErrorBody), (status = 403, description = "The token's scope is too small", body = crate::openapi::ErrorBody)), security(("bearer" = [])))]
pub async fn bulk(
    State(st): State<AppState>,
    who: Principal,
    body: Result<Json<Bulk>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Write)?;
    let Json(b) = body.map_err(|e| json_error(&e, st.config.server.body_limit_bytes))?;
    if b.ids.is_empty() || b.ids.len() > MAX_BULK {
        return Err(ApiError::invalid(
            "ids",
            format!("give 1 to {MAX_BULK} ids"),
        ));
    }
    let missing = |f: &str| ApiError::invalid(f, format!("required by action `{}`", b.action));
    let patch = match b.action.as_str() {
        "update_status" => Patch {
            status: Some(b.status.clone().ok_or_else(|| missing("status"))?),
            assignee: None,
            classification: None,
        },
        "assign" => Patch {
            status: None,
            assignee: Some(Some(b.assignee.clone().ok_or_else(|| missing("assignee"))?)),
            classification: None,
        },
        "classify" => Patch {
            status: None,
            assignee: None,
            classification: Some(
                b.classification
                    .clone()
                    .ok_or_else(|| missing("classification"))?,
            ),
        },
        other => {
            return Err(ApiError::invalid(
                "action",
                format!("`{other}`: expected update_status, assign or classify"),
            ));
        }
    };
    let change = change_of(patch)?;
    let mut store = st.store();
    let updated = store.update_alerts(&who.tenant, &b.ids, &change, &who.actor())?;
    let skipped: Vec<i64> = b
        .ids
        .iter()
        .filter(|i| !updated.contains(i))
        .copied()
        .collect();
    Ok(Json(json!({"updated": updated, "not_found": skipped})))
}

#[derive(Debug, Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only entries about this target (`alert:55`).
    pub target: Option<String>,
    pub cursor: Option<i64>,
    pub limit: Option<usize>,
}

#[utoipa::path(get, path = "/v1/audit", tag = "audit", params(AuditQuery), responses((status = 200, description = "OK", body = serde_json::Value), (status = 400, description = "Invalid input, naming the field", body = crate::openapi::ErrorBody), (status = 401, description = "No or unknown token", body = crate::openapi::ErrorBody), (status = 403, description = "The token's scope is too small", body = crate::openapi::ErrorBody)), security(("bearer" = [])))]
pub async fn audit(
    State(st): State<AppState>,
    who: Principal,
    q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Admin)?;
    let Query(q) = q.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let limit = q.limit.unwrap_or(PAGE).clamp(1, 1000);
    let store = st.store();
    if q.target.as_ref().is_some_and(|t| t.len() > 200) {
        return Err(ApiError::invalid("target", "at most 200 bytes"));
    }
    let page = store.audit_page(&who.tenant, q.target.as_deref(), q.cursor, limit)?;
    let next = (page.len() == limit)
        .then(|| page.last().map(|a| a.id))
        .flatten();
    Ok(Json(json!({"entries": page, "next_cursor": next})))
}
