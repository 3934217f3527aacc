//! Analytics of the caller's tenant: trends by hour/day/week, the dashboard's figures, one
//! user's behaviour (baseline, recent alerts, risk by day), and the alert export (CSV or
//! JSON, streamed page by page so any size is served in bounded memory).

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use warden_store::{AlertFilter, AlertRecord, Granularity};

use crate::auth::{Principal, Scope};
use crate::error::ApiError;
use crate::routes::{Object, json_error, level_param, time_param};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TrendQuery {
    #[param(value_type = Option<crate::openapi::Granularity>, inline)]
    pub granularity: Option<String>,
    /// Alerts at or after this time (RFC 3339).
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// Alerts at or before this time (RFC 3339).
    #[param(format = DateTime)]
    pub to: Option<String>,
}

/// Buckets a trend answers with at most, the latest (a year of days; ten weeks of hours).
const MAX_TREND_BUCKETS: usize = 2_000;

#[utoipa::path(get, path = "/v1/analytics/trends", tag = "analytics", params(TrendQuery), responses((status = 200, description = "OK", body = serde_json::Value), crate::openapi::Invalid, crate::openapi::Unauthorized, crate::openapi::Forbidden), security(("bearer" = [])))]
pub async fn trends(
    State(st): State<AppState>,
    who: Principal,
    q: Result<Query<TrendQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Read)?;
    let Query(q) = q.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let g = q.granularity.as_deref().unwrap_or("day");
    let granularity = Granularity::parse(g)
        .ok_or_else(|| ApiError::invalid("granularity", "expected hour, day or week"))?;
    let from = time_param("from", q.from.as_deref())?;
    let to = time_param("to", q.to.as_deref())?;
    let tenant = who.tenant.clone();
    let (buckets, more) = st
        .read(&who.tenant, move |store| {
            let (from, to) = (from.as_deref(), to.as_deref());
            Ok(store.alert_trend(&tenant, granularity, from, to, MAX_TREND_BUCKETS)?)
        })
        .await?;
    Ok(Json(
        json!({"granularity": g, "buckets": buckets, "truncated": more}),
    ))
}

#[utoipa::path(get, path = "/v1/analytics/dashboard", tag = "analytics", responses((status = 200, description = "OK", body = serde_json::Value), crate::openapi::Unauthorized, crate::openapi::Forbidden), security(("bearer" = [])))]
pub async fn dashboard(
    State(st): State<AppState>,
    who: Principal,
    operator: Result<crate::operator::Operator, ApiError>,
) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Read)?;
    let since = warden_event::Timestamp(now_ms() - 86_400_000).to_rfc3339();
    let (tenant, from) = (who.tenant.clone(), since.clone());
    let counts = st
        .read(&who.tenant, move |store| {
            Ok(store.dashboard_counts(&tenant, &from, 10)?)
        })
        .await?;
    // The tenant's own volumes; how many tenants the service holds is for operators only.
    let [events_in, parse_errors] = st.metrics.tenant_figures(&who.tenant);
    let tenants_loaded = operator.is_ok().then(|| st.tenants.len());
    Ok(Json(json!({
        "alerts": counts,
        "last_24h_since": since,
        "system": {
            "events_in": events_in,
            "parse_errors": parse_errors,
            "uptime_seconds": st.started.elapsed().as_secs(),
            "tenants_loaded": tenants_loaded,
        },
    })))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BehaviorRequest {
    /// 1 to 256 characters.
    #[schema(min_length = 1, max_length = 256)]
    pub user_id: String,
}

#[utoipa::path(post, path = "/v1/analyze/behavior", tag = "analytics", request_body = BehaviorRequest, responses((status = 200, description = "OK", body = serde_json::Value), crate::openapi::Invalid, crate::openapi::Unauthorized, crate::openapi::Forbidden, crate::openapi::TooLarge, (status = 404, description = "The tenant knows no such user", body = crate::openapi::ErrorBody)), security(("bearer" = [])))]
pub async fn behavior(
    State(st): State<AppState>,
    who: Principal,
    body: Result<Json<Object<BehaviorRequest>>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Read)?;
    let Json(Object(b)) = body.map_err(|e| json_error(&e, st.config.server.body_limit_bytes))?;
    if b.user_id.is_empty() || !super::within_chars(&b.user_id, 256) {
        return Err(ApiError::invalid("user_id", "1 to 256 characters"));
    }
    // The pipeline's lock is held while a batch is scored: wait for it off the async
    // workers, in the tenant's read turn.
    let (tenant, user) = (who.tenant.clone(), b.user_id.clone());
    let baseline = st
        .in_read_turn(&who.tenant, move |st| {
            crate::tenants::with_engine(st, &tenant, |e| {
                e.user(&user)
                    .map(|s| warden_engine::ueba::view::profile_view(&user, s))
            })
        })
        .await??;
    let filter = AlertFilter {
        tenant: who.tenant.clone(),
        user: Some(b.user_id.clone()),
        limit: 200,
        ..AlertFilter::default()
    };
    let recent = st
        .read(&who.tenant, move |store| Ok(store.alert_page(&filter)?))
        .await?;
    // Risk by day: the day's alerts and highest score, oldest first.
    let mut days: BTreeMap<String, (u64, f64)> = BTreeMap::new();
    for a in &recent {
        let d = days
            .entry(a.timestamp.chars().take(10).collect())
            .or_default();
        d.0 += 1;
        d.1 = d.1.max(a.threat_score);
    }
    let trend: Vec<Value> = days
        .into_iter()
        .map(|(day, (n, max))| json!({"day": day, "alerts": n, "max_score": max}))
        .collect();
    if baseline.is_none() && recent.is_empty() {
        return Err(ApiError::NotFound);
    }
    let recent: Vec<&AlertRecord> = recent.iter().take(20).collect();
    Ok(Json(json!({
        "user_id": b.user_id,
        "baseline": baseline,
        "recent_alerts": recent,
        "risk_trend": trend,
    })))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `json` (default) or `csv`.
    #[param(value_type = Option<crate::openapi::AlertExportFormat>, inline)]
    pub format: Option<String>,
    /// Minimum level.
    #[param(value_type = Option<crate::openapi::Level>, inline)]
    pub level: Option<String>,
    /// Exact levels, comma-separated (`HIGH,CRITICAL`).
    #[param(value_type = Option<crate::openapi::Levels>, inline)]
    pub levels: Option<String>,
    #[param(value_type = Option<crate::openapi::AnomalyTypeName>, inline)]
    pub anomaly_type: Option<String>,
    pub user: Option<String>,
    #[param(value_type = Option<crate::openapi::AlertStatus>, inline)]
    pub status: Option<String>,
    /// Alerts at or after this time (RFC 3339).
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// Alerts at or before this time (RFC 3339).
    #[param(format = DateTime)]
    pub to: Option<String>,
}

/// Alerts read per step of an export.
const EXPORT_PAGE: usize = 1000;
const CSV_HEADER: &str = "id,timestamp,user_id,threat_level,threat_score,primary_anomalies,status,assignee,classification,explanation\n";

fn csv_rows(page: &[AlertRecord]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    for a in page {
        let _ = w.write_record(warden_outputs::spreadsheet::record([
            a.id.to_string().as_str(),
            &a.timestamp,
            &a.user_id,
            &a.threat_level,
            &format!("{:.1}", a.threat_score),
            &a.primary_anomalies.join(";"),
            &a.status,
            a.assignee.as_deref().unwrap_or(""),
            a.classification.as_deref().unwrap_or(""),
            &a.explanation,
        ]));
    }
    w.into_inner().unwrap_or_default()
}

/// The export's filter, a page at a time.
fn export_filter(who: &Principal, q: ExportQuery) -> Result<AlertFilter, ApiError> {
    let min_level = level_param("level", q.level.as_deref())?;
    let levels = crate::routes::levels_param("levels", q.levels.as_deref())?;
    if let Some(s) = &q.status {
        crate::routes::alerts::check_status(s)?;
    }
    crate::routes::anomaly_param("anomaly_type", q.anomaly_type.as_deref())?;
    Ok(AlertFilter {
        tenant: who.tenant.clone(),
        min_level,
        levels,
        user: q.user,
        anomaly: q.anomaly_type,
        status: q.status,
        from: time_param("from", q.from.as_deref())?,
        to: time_param("to", q.to.as_deref())?,
        limit: EXPORT_PAGE,
        ..AlertFilter::default()
    })
}

/// One page of the export as bytes — the CSV header or the array's opening before the first
/// (`written` is `None`), the array's close after the `last` — and the alerts written so far.
fn export_chunk(
    page: &[AlertRecord],
    written: Option<usize>,
    last: bool,
    csv: bool,
) -> (Vec<u8>, usize) {
    let mut chunk = Vec::new();
    let mut n = match written {
        Some(n) => n,
        None => {
            chunk.extend_from_slice(if csv { CSV_HEADER.as_bytes() } else { b"[" });
            0
        }
    };
    if csv {
        chunk.extend(csv_rows(page));
        n += page.len();
    } else {
        for a in page {
            if n > 0 {
                chunk.push(b',');
            }
            chunk.extend(serde_json::to_vec(a).unwrap_or_default());
            chunk.push(b'\n');
            n += 1;
        }
        if last {
            chunk.extend_from_slice(b"]\n");
        }
    }
    (chunk, n)
}

#[utoipa::path(get, path = "/v1/alerts/export", tag = "alerts", params(ExportQuery), responses((status = 200, description = "Every matching alert, streamed: a JSON array (the default) or CSV (`format=csv`)", content((serde_json::Value = "application/json"), (String = "text/csv"))), crate::openapi::Invalid, crate::openapi::Unauthorized, crate::openapi::Forbidden, crate::openapi::RateLimited), security(("bearer" = [])))]
pub async fn export(
    State(st): State<AppState>,
    who: Principal,
    q: Result<Query<ExportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    who.require(Scope::Read)?;
    let Query(q) = q.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let csv = match q.format.as_deref().unwrap_or("json") {
        "csv" => true,
        "json" => false,
        _ => return Err(ApiError::invalid("format", "expected csv or json")),
    };
    let filter = export_filter(&who, q)?;
    // State: the filter with its cursor, alerts written so far (None before the first
    // chunk), and whether the last page was sent.
    let stream = futures_util::stream::unfold(
        (filter, None::<usize>, false),
        move |(mut f, written, done)| {
            let st = st.clone();
            async move {
                if done {
                    return None;
                }
                let g = f.clone();
                let page = st
                    .read(&f.tenant, move |store| Ok(store.alert_page(&g)?))
                    .await;
                let page = match page {
                    Ok(page) => page,
                    // The answer is already under way: end it broken (no final chunk), so
                    // the client sees an incomplete export rather than a short one.
                    Err(e) => {
                        tracing::error!("export cut short: {e:?}");
                        let e = std::io::Error::other("the export could not be completed");
                        return Some((Err(e), (f, written, true)));
                    }
                };
                let last = page.len() < EXPORT_PAGE;
                f.before_id = page.last().map(|a| a.id).or(f.before_id);
                let (chunk, n) = export_chunk(&page, written, last, csv);
                Some((Ok::<_, std::io::Error>(chunk), (f, Some(n), last)))
            }
        },
    );
    let (ctype, name) = if csv {
        ("text/csv; charset=utf-8", "alerts.csv")
    } else {
        ("application/json", "alerts.json")
    };
    Ok((
        [
            (header::CONTENT_TYPE, ctype.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}
