//! Payload analysis over the API: `POST /v1/payload/analyze` (one text, static, answered at
//! once), `POST /v1/payload/jobs` (queued in the store, analysed by the workers, with a
//! sandboxed run when asked for) and `GET /v1/payload/jobs/{id}`. A verdict at or above
//! `[payload] alert_level` becomes an alert (stream channel `payload`, outputs, webhooks)
//! whoever submitted the text: nothing bypasses analysis.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use warden_payload::Shell;
use warden_store::NewJob;

use crate::auth::{Principal, Scope};
use crate::error::ApiError;
use crate::payload::{Submitter, raise};
use crate::routes::{IdPath, Object, json_error, time_param};
use crate::state::AppState;

/// The shells the API names (exactly these spellings).
pub(crate) const SHELLS: [&str; 4] = ["sh", "bash", "cmd", "powershell"];
/// Longest `user` and `host`, in characters.
pub(crate) const MAX_NAME: usize = 256;

/// A text to analyse.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    /// The command line or script (only its first MiB is analysed; the verdict says so).
    pub text: String,
    /// The shell it is for; guessed from its syntax when absent.
    #[schema(value_type = Option<crate::openapi::ShellName>, inline)]
    pub shell: Option<String>,
    /// Who ran it, for the alert (at most 256 characters).
    #[schema(max_length = 256)]
    pub user: Option<String>,
    /// Where it ran, for the alert (at most 256 characters).
    #[schema(max_length = 256)]
    pub host: Option<String>,
    /// When the command ran (RFC 3339): the same text at the same time is the same alert,
    /// stored once (a retried request raises nothing twice).
    #[schema(format = DateTime)]
    pub timestamp: Option<String>,
}

/// A job: a text to analyse, in the sandbox too when asked.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobSubmission {
    pub text: String,
    #[schema(value_type = Option<crate::openapi::ShellName>, inline)]
    pub shell: Option<String>,
    /// Run sh and bash scripts in the sandbox as well (when the server has it enabled;
    /// otherwise the verdict's notes say why it did not run).
    pub sandbox: Option<bool>,
    #[schema(max_length = 256)]
    pub user: Option<String>,
    #[schema(max_length = 256)]
    pub host: Option<String>,
    /// When the command ran (RFC 3339): the same text at the same time is the same alert,
    /// stored once (a retried request raises nothing twice).
    #[schema(format = DateTime)]
    pub timestamp: Option<String>,
}

fn shell(s: Option<&str>) -> Result<Option<Shell>, ApiError> {
    match s {
        None => Ok(None),
        Some(s) if SHELLS.contains(&s) => s
            .parse()
            .map(Some)
            .map_err(|e| ApiError::invalid("shell", e)),
        Some(_) => Err(ApiError::invalid(
            "shell",
            "one of sh, bash, cmd, powershell",
        )),
    }
}

fn name(field: &str, v: Option<String>) -> Result<Option<String>, ApiError> {
    match v {
        Some(s) if s.chars().count() > MAX_NAME => Err(ApiError::invalid(
            field,
            format!("at most {MAX_NAME} characters"),
        )),
        other => Ok(other.filter(|s| !s.trim().is_empty())),
    }
}

#[utoipa::path(post, path = "/v1/payload/analyze", tag = "payload", request_body = Submission, responses((status = 200, description = "The verdict: score, level, action, views, patterns with ATT&CK ids, decoded layers, notes, tokens, explanation; `alert_id` when it raised an alert", body = serde_json::Value), crate::openapi::Invalid, crate::openapi::Unauthorized, crate::openapi::Forbidden, crate::openapi::TooLarge, crate::openapi::RateLimited), security(("bearer" = [])))]
pub async fn analyze(
    State(st): State<AppState>,
    who: Principal,
    body: Result<Json<Object<Submission>>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Write)?;
    let Json(Object(s)) = body.map_err(|e| json_error(&e, st.config.server.batch_limit_bytes))?;
    let sh = shell(s.shell.as_deref())?;
    let from = Submitter {
        user: name("user", s.user)?,
        host: name("host", s.host)?,
        timestamp: time_param("timestamp", s.timestamp.as_deref())?,
    };
    let _turn = st.batch_slots.take(&who.tenant).await?;
    let state = st.clone();
    tokio::task::spawn_blocking(move || {
        let verdict = state.payload.judge(&s.text, sh, false);
        let alert = raise(&state, &who.tenant, &verdict, &s.text, &from, None)?;
        let mut body = serde_json::to_value(&verdict).map_err(ApiError::internal)?;
        if let Some(o) = body.as_object_mut() {
            o.insert("alert_id".into(), alert.map_or(Value::Null, Value::from));
        }
        state.metrics.payload_analyzed();
        Ok(Json(body))
    })
    .await
    .map_err(ApiError::internal)?
}

#[utoipa::path(post, path = "/v1/payload/jobs", tag = "payload", request_body = JobSubmission, responses((status = 202, description = "Queued: `id`, `status`", body = serde_json::Value), crate::openapi::Invalid, crate::openapi::Unauthorized, crate::openapi::Forbidden, crate::openapi::TooLarge, (status = 429, description = "Rate limited (`rate_limited`), or the tenant has `payload.max_queued_jobs` jobs waiting (`quota_exceeded`)", body = crate::openapi::ErrorBody)), security(("bearer" = [])))]
pub async fn submit(
    State(st): State<AppState>,
    who: Principal,
    body: Result<Json<Object<JobSubmission>>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    who.require(Scope::Write)?;
    let Json(Object(s)) = body.map_err(|e| json_error(&e, st.config.server.batch_limit_bytes))?;
    shell(s.shell.as_deref())?;
    let user = name("user", s.user)?;
    let host = name("host", s.host)?;
    let occurred = time_param("timestamp", s.timestamp.as_deref())?;
    let (max, kept) = (
        st.config.payload.max_queued_jobs,
        st.config.payload.max_kept_jobs,
    );
    let tenant = who.tenant.clone();
    let actor = who.actor();
    let sandbox = s.sandbox.unwrap_or(false);
    // Kept as submitted, up to what the analysis reads.
    let text = warden_payload::cut(&s.text, warden_payload::MAX_TEXT_BYTES).to_string();
    let id = st
        .with_store(move |store| {
            Ok(store.queue_payload_job(
                &NewJob {
                    tenant: &tenant,
                    text: &text,
                    shell: s.shell.as_deref(),
                    sandbox,
                    submitted_by: &actor,
                    user: user.as_deref(),
                    host: host.as_deref(),
                    occurred_at: occurred.as_deref(),
                },
                max,
                kept,
            )?)
        })
        .await?
        .ok_or_else(|| {
            ApiError::QuotaExceeded(format!(
                "the tenant has {max} payload jobs waiting, the most it may; try again when some are done"
            ))
        })?;
    st.payload.wake.notify_one();
    let mut answer = json!({"id": id, "status": "queued", "sandbox": sandbox});
    if sandbox && let Err(why) = st.payload.sandbox_available() {
        answer["note"] = json!(format!("analysed statically: {why}"));
    }
    Ok((StatusCode::ACCEPTED, Json(answer)))
}

#[utoipa::path(get, path = "/v1/payload/jobs/{id}", tag = "payload", params(("id" = i64, Path, description = "Job id")), responses((status = 200, description = "The job: `status` (queued, running, done, failed), times, and `verdict` once done", body = serde_json::Value), crate::openapi::Invalid, crate::openapi::Unauthorized, crate::openapi::Forbidden, crate::openapi::NotFound), security(("bearer" = [])))]
pub async fn job(
    State(st): State<AppState>,
    who: Principal,
    IdPath(id): IdPath,
) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Read)?;
    let tenant = who.tenant.clone();
    let job = st
        .with_store(move |store| Ok(store.payload_job(&tenant, id)?))
        .await?
        .ok_or(ApiError::NotFound)?;
    let mut body = serde_json::to_value(&job).map_err(ApiError::internal)?;
    if let Some(v) = &job.verdict {
        body["verdict"] = serde_json::from_str(v).map_err(ApiError::internal)?;
    }
    Ok(Json(body))
}
