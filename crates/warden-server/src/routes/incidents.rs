//! Incidents: a tenant's alerts grouped per user, a new incident starting when an alert
//! comes more than `window` seconds after that user's previous one. An incident's id is the
//! id of its first alert, so it is stable while alerts are added; its status follows its
//! alerts (new while any is new), and changing it changes every alert in it (in steps of a
//! bulk change's size, so a large incident never holds the store for long), with one
//! audit entry for the incident (target `incident:<id>`, the number of alerts changed).
//! An incident's answer lists every alert id and holds the first 1,000 alerts in full.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use warden_store::{AlertChange, AlertRecord};

use crate::auth::{Principal, Scope};
use crate::error::ApiError;
use crate::routes::alerts::{Patch, check_status, page_limit};
use crate::routes::{IdPath, Object, json_error, time_param};
use crate::state::AppState;

use crate::routes::alerts::MAX_BULK;

/// Alerts read to build incidents at most (narrow with `from`/`to` beyond that).
const MAX_ALERTS: usize = 200_000;
/// Alerts an incident's answer holds in full (the first ones; every id is listed).
const MAX_SHOWN: usize = 1_000;
const DEFAULT_WINDOW: i64 = 3600;
/// Default number of incidents listed.
const PAGE: usize = 100;

/// One incident.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Incident {
    pub id: i64,
    pub user_id: String,
    pub first_seen: String,
    pub last_seen: String,
    pub alerts: usize,
    pub max_level: String,
    pub max_score: f64,
    pub anomaly_types: Vec<String>,
    pub status: String,
    pub alert_ids: Vec<i64>,
}

fn rank(level: &str) -> u8 {
    match level {
        "CRITICAL" => 3,
        "HIGH" => 2,
        "MEDIUM" => 1,
        _ => 0,
    }
}

/// new while any alert is new; acknowledged while any is acknowledged; false_positive when
/// all are; resolved otherwise.
fn status_of(statuses: &[&str]) -> String {
    if statuses.contains(&"new") {
        "new"
    } else if statuses.contains(&"acknowledged") {
        "acknowledged"
    } else if statuses.iter().all(|s| *s == "false_positive") {
        "false_positive"
    } else {
        "resolved"
    }
    .to_owned()
}

/// Groups alerts sorted by user then time.
pub fn group(alerts: &[AlertRecord], window_secs: i64) -> Vec<Incident> {
    let mut out: Vec<Incident> = Vec::new();
    let mut members: Vec<&AlertRecord> = Vec::new();
    let flush = |members: &mut Vec<&AlertRecord>, out: &mut Vec<Incident>| {
        let (Some(first), Some(last)) = (members.first(), members.last()) else {
            return;
        };
        let top = members
            .iter()
            .max_by_key(|a| rank(&a.threat_level))
            .map_or("LOW", |a| a.threat_level.as_str());
        let types: BTreeSet<&str> = members
            .iter()
            .flat_map(|a| a.primary_anomalies.iter().map(String::as_str))
            .collect();
        let statuses: Vec<&str> = members.iter().map(|a| a.status.as_str()).collect();
        out.push(Incident {
            id: members.iter().map(|a| a.id).min().unwrap_or(first.id),
            user_id: first.user_id.clone(),
            first_seen: first.timestamp.clone(),
            last_seen: last.timestamp.clone(),
            alerts: members.len(),
            max_level: top.to_owned(),
            max_score: members.iter().map(|a| a.threat_score).fold(0.0, f64::max),
            anomaly_types: types.into_iter().map(str::to_owned).collect(),
            status: status_of(&statuses),
            alert_ids: members.iter().map(|a| a.id).collect(),
        });
        members.clear();
    };
    let millis =
        |a: &AlertRecord| warden_event::Timestamp::parse_rfc3339(&a.timestamp).map_or(0, |t| t.0);
    for a in alerts {
        let same = members
            .last()
            .is_some_and(|p| p.user_id == a.user_id && millis(a) - millis(p) <= window_secs * 1000);
        if !same {
            flush(&mut members, &mut out);
        }
        members.push(a);
    }
    flush(&mut members, &mut out);
    out
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct IncidentQuery {
    /// Seconds between a user's alerts that still belong to one incident (60–604800,
    /// default 3600). An incident's id depends on it: give the same window as the listing.
    #[param(minimum = 60, maximum = 604800)]
    pub window: Option<i64>,
    /// Only incidents in this state (a listing).
    #[param(value_type = Option<crate::openapi::AlertStatus>, inline)]
    pub status: Option<String>,
    /// Alerts at or after this time (RFC 3339).
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// Alerts at or before this time (RFC 3339).
    #[param(format = DateTime)]
    pub to: Option<String>,
    /// Incidents listed at most (1 to 1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

/// The incidents under the query's window and times; every parameter checked, for a
/// listing and for one incident alike.
async fn load(
    st: &AppState,
    who: &Principal,
    q: &IncidentQuery,
) -> Result<Vec<Incident>, ApiError> {
    let window = q.window.unwrap_or(DEFAULT_WINDOW);
    if !(60..=604_800).contains(&window) {
        return Err(ApiError::invalid("window", "between 60 and 604800 seconds"));
    }
    if let Some(s) = &q.status {
        check_status(s)?;
    }
    page_limit(q.limit, PAGE)?;
    let from = time_param("from", q.from.as_deref())?;
    let to = time_param("to", q.to.as_deref())?;
    let tenant = who.tenant.clone();
    st.read(&who.tenant, move |store| {
        let alerts = store.alerts_by_user(&tenant, from.as_deref(), to.as_deref(), MAX_ALERTS)?;
        Ok(group(&alerts, window))
    })
    .await
}

#[utoipa::path(get, path = "/v1/incidents", tag = "incidents", params(IncidentQuery), responses((status = 200, description = "Incidents, most recent first", body = serde_json::Value), crate::openapi::Invalid, crate::openapi::Unauthorized, crate::openapi::Forbidden), security(("bearer" = [])))]
pub async fn list(
    State(st): State<AppState>,
    who: Principal,
    q: Result<Query<IncidentQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Read)?;
    let Query(q) = q.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let mut incidents = load(&st, &who, &q).await?;
    if let Some(s) = &q.status {
        incidents.retain(|i| &i.status == s);
    }
    incidents.sort_by(|a, b| b.last_seen.cmp(&a.last_seen).then(b.id.cmp(&a.id)));
    let total = incidents.len();
    incidents.truncate(page_limit(q.limit, PAGE)?);
    Ok(Json(json!({"incidents": incidents, "total": total})))
}

#[utoipa::path(get, path = "/v1/incidents/{id}", tag = "incidents", params(("id" = i64, Path, description = "Incident id (its first alert's)"), IncidentQuery), responses((status = 200, description = "The incident and its alerts", body = serde_json::Value), crate::openapi::Invalid, crate::openapi::Unauthorized, crate::openapi::Forbidden, crate::openapi::NotFound), security(("bearer" = [])))]
pub async fn get_one(
    State(st): State<AppState>,
    who: Principal,
    IdPath(id): IdPath,
    q: Result<Query<IncidentQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Read)?;
    let Query(q) = q.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let incident = load(&st, &who, &q)
        .await?
        .into_iter()
        .find(|i| i.id == id)
        .ok_or(ApiError::NotFound)?;
    // The alerts themselves up to a page (every id is in the incident): an incident of
    // many thousands would otherwise be read whole into one answer.
    let shown: Vec<i64> = incident.alert_ids.iter().take(MAX_SHOWN).copied().collect();
    let tenant = who.tenant.clone();
    let alerts: Vec<AlertRecord> = st
        .read(&who.tenant, move |store| {
            Ok(shown
                .iter()
                .filter_map(|a| store.alert(&tenant, *a).ok().flatten())
                .collect())
        })
        .await?;
    let more = incident.alert_ids.len().saturating_sub(MAX_SHOWN);
    Ok(Json(
        json!({"incident": incident, "alerts": alerts, "alerts_not_shown": more}),
    ))
}

#[utoipa::path(patch, path = "/v1/incidents/{id}", tag = "incidents", params(("id" = i64, Path, description = "Incident id (its first alert's)"), IncidentQuery), request_body = crate::openapi::Patch, responses((status = 200, description = "The incident after the change", body = serde_json::Value), crate::openapi::Invalid, crate::openapi::Unauthorized, crate::openapi::Forbidden, crate::openapi::NotFound, crate::openapi::TooLarge), security(("bearer" = [])))]
pub async fn patch(
    State(st): State<AppState>,
    who: Principal,
    IdPath(id): IdPath,
    q: Result<Query<IncidentQuery>, axum::extract::rejection::QueryRejection>,
    body: Result<Json<Object<Patch>>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Write)?;
    let Query(q) = q.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let Json(Object(p)) = body.map_err(|e| json_error(&e, st.config.server.body_limit_bytes))?;
    let change: AlertChange = crate::routes::alerts::change_of(p)?;
    let incident = load(&st, &who, &q)
        .await?
        .into_iter()
        .find(|i| i.id == id)
        .ok_or(ApiError::NotFound)?;
    // In steps of at most MAX_BULK alerts, each its own transaction, so a large incident
    // never holds the store (and every tenant's commits) for long; one audit entry for the
    // incident, however many alerts it holds.
    let (mut changed, mut failed) = (0, None);
    for ids in incident.alert_ids.chunks(MAX_BULK) {
        let (tenant, actor, ids, change) = (
            who.tenant.clone(),
            who.actor(),
            ids.to_vec(),
            change.clone(),
        );
        let step = st
            .with_store(move |store| {
                let audit = warden_store::AuditAs::Caller;
                Ok(store.update_alerts_as(&tenant, &ids, &change, &actor, audit)?)
            })
            .await;
        match step {
            Ok(done) => changed += done.len(),
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    // What was changed is audited, even when a later step failed.
    if changed > 0 {
        let (tenant, actor) = (who.tenant.clone(), who.actor());
        let target = format!("incident:{}", incident.id);
        let stopped = if failed.is_some() {
            "; stopped by an error"
        } else {
            ""
        };
        let detail = format!("{} ({changed} alerts{stopped})", change.describe());
        st.with_store(move |store| {
            Ok(store.append_audit(&tenant, &actor, "alert.update", &target, &detail)?)
        })
        .await?;
    }
    if let Some(e) = failed {
        return Err(e);
    }
    let after = load(&st, &who, &q).await?.into_iter().find(|i| i.id == id);
    Ok(Json(json!({"incident": after})))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(id: i64, user: &str, ts: &str, level: &str, status: &str) -> AlertRecord {
        AlertRecord {
            id,
            event_id: format!("e{id}"),
            user_id: user.into(),
            timestamp: ts.into(),
            threat_score: 10.0 * id as f64,
            threat_level: level.into(),
            primary_anomalies: vec![format!("t{id}")],
            explanation: String::new(),
            status: status.into(),
            assignee: None,
            classification: None,
            created_at: String::new(),
            updated_at: None,
            alert: Value::Null,
            detector: "ueba".into(),
            channel: "behavior".into(),
        }
    }

    #[test]
    fn alerts_group_per_user_and_window() {
        let alerts = vec![
            alert(3, "ann", "2026-04-01T10:00:00Z", "MEDIUM", "new"),
            alert(1, "ann", "2026-04-01T10:30:00Z", "CRITICAL", "resolved"),
            alert(7, "ann", "2026-04-01T13:00:00Z", "HIGH", "resolved"),
            alert(2, "bob", "2026-04-01T10:10:00Z", "HIGH", "false_positive"),
        ];
        let inc = group(&alerts, 3600);
        assert_eq!(inc.len(), 3);
        assert_eq!(
            (inc[0].id, inc[0].alerts, inc[0].max_level.as_str()),
            (1, 2, "CRITICAL")
        );
        assert_eq!(inc[0].status, "new");
        assert_eq!(inc[0].anomaly_types, ["t1", "t3"]);
        assert_eq!((inc[1].id, inc[1].status.as_str()), (7, "resolved"));
        assert_eq!(
            (inc[2].user_id.as_str(), inc[2].status.as_str()),
            ("bob", "false_positive")
        );
        // A wider window joins ann's alerts into one.
        assert_eq!(group(&alerts, 4 * 3600).len(), 2);
    }
}
