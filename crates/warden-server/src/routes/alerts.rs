//! Alerts of the caller's tenant: list with filters and a cursor, one alert with its
//! related alerts, triage changes (`PATCH`), bulk operations, and the audit log.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};
use warden_store::{AlertChange, AlertFilter, AlertSort, SortKey};

use crate::auth::{Principal, Scope};
use crate::error::ApiError;
use crate::routes::{IdPath, Object, anomaly_param, json_error, level_param, time_param};
use crate::state::AppState;

/// Default page size.
const PAGE: usize = 50;
/// Most ids in one bulk request.
pub(crate) const MAX_BULK: usize = 1000;
/// The triage states.
pub(crate) const STATUSES: [&str; 4] = ["new", "acknowledged", "resolved", "false_positive"];

#[derive(Debug, Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Minimum level.
    #[param(value_type = Option<crate::openapi::Level>, inline)]
    pub level: Option<String>,
    /// Exact levels, comma-separated (`HIGH,CRITICAL`).
    #[param(value_type = Option<crate::openapi::Levels>, inline)]
    pub levels: Option<String>,
    pub user: Option<String>,
    #[param(value_type = Option<crate::openapi::AnomalyTypeName>, inline)]
    pub anomaly_type: Option<String>,
    #[param(value_type = Option<crate::openapi::AlertStatus>, inline)]
    pub status: Option<String>,
    /// Alerts at or after this time (RFC 3339).
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// Alerts at or before this time (RFC 3339).
    #[param(format = DateTime)]
    pub to: Option<String>,
    /// `id` (default: the order stored), `score` or `time` (event time).
    #[param(value_type = Option<crate::openapi::AlertSortKey>, inline)]
    pub sort: Option<String>,
    /// `desc` (default) or `asc`.
    #[param(value_type = Option<crate::openapi::SortOrder>, inline)]
    pub order: Option<String>,
    /// `next_cursor` of the previous page (opaque), with the same sort.
    #[param(value_type = Option<crate::openapi::Cursor>, inline)]
    pub cursor: Option<String>,
    /// Alerts per page (1 to 1000, default 50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
    /// Also return `total`, the number of matching alerts.
    pub count: Option<bool>,
}

/// A cursor of this listing, or a 400 naming `cursor`.
/// A cursor of this listing. One written for another sort (a position this listing does
/// not have) is a 404, like any other position that does not exist; one that no sort
/// writes is a 400.
fn parse_cursor(sort: AlertSort, c: &str) -> Result<(i64, Option<SortKey>), ApiError> {
    if let Some(position) = sort.parse_cursor(c) {
        return Ok(position);
    }
    let of_another_sort = [AlertSort::Id, AlertSort::Score, AlertSort::Time]
        .into_iter()
        .any(|other| other.parse_cursor(c).is_some());
    if of_another_sort {
        Err(ApiError::NoSuchEntity(
            "cursor: a position of a listing in another order; start without one".into(),
        ))
    } else {
        Err(ApiError::invalid(
            "cursor",
            "not a cursor of this listing; start without one",
        ))
    }
}

/// A page size: `default` when not given, 1 to 1000 ([`warden_store::MAX_PAGE`]) when given.
pub(crate) fn page_limit(v: Option<usize>, default: usize) -> Result<usize, ApiError> {
    let limit = v.unwrap_or(default);
    if (1..=warden_store::MAX_PAGE).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::invalid(
            "limit",
            format!("between 1 and {}", warden_store::MAX_PAGE),
        ))
    }
}

pub(crate) fn check_status(s: &str) -> Result<(), ApiError> {
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
    if !super::within_chars(v, max) || v.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            field,
            format!("at most {max} characters, no control characters"),
        ));
    }
    Ok(())
}

#[utoipa::path(get, path = "/v1/alerts", tag = "alerts", params(ListQuery), responses((status = 200, description = "OK", body = serde_json::Value), crate::openapi::Invalid, crate::openapi::Unauthorized, crate::openapi::Forbidden, crate::openapi::NotFound), security(("bearer" = [])))]
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
    let limit = page_limit(q.limit, PAGE)?;
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
    let count = q.count.unwrap_or(false);
    let (page, total) = st
        .read(&who.tenant, move |store| {
            let total = count.then(|| store.alert_count(&filter)).transpose()?;
            Ok((store.alert_page(&filter)?, total))
        })
        .await?;
    let next = (page.len() == limit)
        .then(|| page.last().map(|a| sort.cursor_of(a)))
        .flatten();
    let mut body = json!({"alerts": page, "next_cursor": next});
    if let Some(t) = total {
        body["total"] = json!(t);
    }
    Ok(Json(body))
}

#[utoipa::path(get, path = "/v1/alerts/{id}", tag = "alerts", params(("id" = i64, Path, description = "Alert id")), responses((status = 200, description = "OK", body = serde_json::Value), crate::openapi::Invalid, crate::openapi::Unauthorized, crate::openapi::Forbidden, crate::openapi::NotFound), security(("bearer" = [])))]
pub async fn get_one(
    State(st): State<AppState>,
    who: Principal,
    IdPath(id): IdPath,
) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Read)?;
    let tenant = who.tenant.clone();
    let (alert, related) = st
        .read(&who.tenant, move |store| {
            alert_and_related(store, &tenant, id)
        })
        .await?;
    Ok(Json(json!({"alert": alert, "related": related})))
}

/// An alert and the same user's other alerts within an hour either side.
fn alert_and_related(
    store: &warden_store::Store,
    tenant: &str,
    id: i64,
) -> Result<(warden_store::AlertRecord, Vec<warden_store::AlertRecord>), ApiError> {
    let alert = store.alert(tenant, id)?.ok_or(ApiError::NotFound)?;
    // The same user's other alerts within an hour either side.
    let t = warden_event::Timestamp::parse_rfc3339(&alert.timestamp);
    let around = |delta_ms: i64| t.map(|t| warden_event::Timestamp(t.0 + delta_ms).to_rfc3339());
    let related = store.alert_page(&AlertFilter {
        tenant: tenant.to_owned(),
        user: Some(alert.user_id.clone()),
        from: around(-3_600_000),
        to: around(3_600_000),
        limit: 50,
        ..AlertFilter::default()
    })?;
    let related = related.into_iter().filter(|a| a.id != id).collect();
    Ok((alert, related))
}

/// A triage change (its schema: [`crate::openapi::Patch`]).
#[derive(Debug, Deserialize)]
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

#[utoipa::path(patch, path = "/v1/alerts/{id}", tag = "alerts", params(("id" = i64, Path, description = "Alert id")), request_body = crate::openapi::Patch, responses((status = 200, description = "OK", body = serde_json::Value), crate::openapi::Invalid, crate::openapi::Unauthorized, crate::openapi::Forbidden, crate::openapi::NotFound, crate::openapi::TooLarge), security(("bearer" = [])))]
pub async fn patch(
    State(st): State<AppState>,
    who: Principal,
    IdPath(id): IdPath,
    body: Result<Json<Object<Patch>>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Write)?;
    let Json(Object(p)) = body.map_err(|e| json_error(&e, st.config.server.body_limit_bytes))?;
    let change = change_of(p)?;
    let alert = st
        .with_store(move |store| {
            if store
                .update_alerts(&who.tenant, &[id], &change, &who.actor())?
                .is_empty()
            {
                return Err(ApiError::NotFound);
            }
            store.alert(&who.tenant, id)?.ok_or(ApiError::NotFound)
        })
        .await?;
    Ok(Json(json!({"alert": alert})))
}

/// A bulk triage change (its schema: [`crate::openapi::Bulk`]).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bulk {
    pub action: String,
    #[serde(deserialize_with = "whole_numbers")]
    pub ids: Vec<i64>,
    pub status: Option<String>,
    pub assignee: Option<String>,
    pub classification: Option<String>,
}

/// The largest alert id a request may name (as the contract declares).
pub const MAX_ALERT_ID: i64 = 1_000_000_000_000;

/// Ids as JSON numbers from 1 to [`MAX_ALERT_ID`]: `945`, or `945.0` (a JSON Schema integer
/// may be written with a zero fraction; in this range a float holds it exactly).
fn whole_numbers<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
    Vec::<serde_json::Number>::deserialize(d)?
        .iter()
        .map(|n| {
            n.as_i64()
                .or_else(|| {
                    n.as_f64()
                        .filter(|f| f.fract() == 0.0 && f.abs() <= MAX_ALERT_ID as f64)
                        .map(|f| f as i64)
                })
                .filter(|id| (1..=MAX_ALERT_ID).contains(id))
                .ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "`{n}`: expected an alert id (1 to {MAX_ALERT_ID})"
                    ))
                })
        })
        .collect()
}

#[utoipa::path(post, path = "/v1/alerts/bulk", tag = "alerts", request_body = crate::openapi::Bulk, responses((status = 200, description = "`updated` and `not_found` ids", body = serde_json::Value), crate::openapi::Invalid, crate::openapi::Unauthorized, crate::openapi::Forbidden, crate::openapi::TooLarge), security(("bearer" = [])))]
pub async fn bulk(
    State(st): State<AppState>,
    who: Principal,
    body: Result<Json<Object<Bulk>>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Write)?;
    let Json(Object(b)) = body.map_err(|e| json_error(&e, st.config.server.body_limit_bytes))?;
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
    let ids = b.ids.clone();
    let updated = st
        .with_store(move |store| {
            Ok(store.update_alerts(&who.tenant, &ids, &change, &who.actor())?)
        })
        .await?;
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
    /// Only entries about this target (`alert:55`; at most 200 characters).
    #[param(max_length = 200)]
    pub target: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<i64>,
    /// Entries per page (1 to 1000, default 50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

#[utoipa::path(get, path = "/v1/audit", tag = "audit", params(AuditQuery), responses((status = 200, description = "OK", body = serde_json::Value), crate::openapi::Invalid, crate::openapi::Unauthorized, crate::openapi::Forbidden), security(("bearer" = [])))]
pub async fn audit(
    State(st): State<AppState>,
    who: Principal,
    q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Admin)?;
    let Query(q) = q.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let limit = page_limit(q.limit, PAGE)?;
    if q.target
        .as_ref()
        .is_some_and(|t| !super::within_chars(t, 200))
    {
        return Err(ApiError::invalid("target", "at most 200 characters"));
    }
    let tenant = who.tenant.clone();
    let page = st
        .read(&who.tenant, move |store| {
            Ok(store.audit_page(&tenant, q.target.as_deref(), q.cursor, limit)?)
        })
        .await?;
    let next = (page.len() == limit)
        .then(|| page.last().map(|a| a.id))
        .flatten();
    Ok(Json(json!({"entries": page, "next_cursor": next})))
}
