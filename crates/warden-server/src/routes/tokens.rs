//! Tokens of the caller's tenant (admin scope): list, create (the token is returned once),
//! revoke (refused at once, open streams closed) and rotate (a new token with the same
//! scope; the old one revoked now or after a grace period). Every change is audited.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use warden_event::Timestamp;
use warden_store::NewToken;

use crate::auth::{self, Principal, Scope, stored_time};
use crate::error::ApiError;
use crate::routes::{body_error, json_error};
use crate::state::AppState;

/// Tokens per tenant at most (revoked ones included: they are kept for the audit log).
const MAX_TOKENS: usize = 1_000;
/// The longest expiry or grace period accepted: ten years.
const MAX_LIFETIME_SECS: i64 = 10 * 366 * 86_400;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenBody {
    /// `read`, `write` or `admin`.
    pub scope: String,
    /// A note on who holds it (at most 256 bytes).
    #[schema(max_length = 256)]
    pub label: Option<String>,
    /// How long it works: a number and a unit, `90d`, `12h`, `30m`, `45s`, `2w`.
    pub expires_in: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    /// How long the old token keeps working (`1h`, …); none: it is revoked at once.
    pub grace: Option<String>,
    /// The new token's lifetime, as for creation; none: the old token's lifetime (or no
    /// expiry when it had none).
    pub expires_in: Option<String>,
}

/// `expires_in`-style durations, bounded, as the time they end.
fn end_of(field: &str, v: Option<&str>) -> Result<Option<Timestamp>, ApiError> {
    v.map(|d| {
        let secs = auth::parse_duration(d)
            .filter(|s| *s <= MAX_LIFETIME_SECS)
            .ok_or_else(|| {
                ApiError::invalid(field, "a number and a unit (s, m, h, d, w), up to 10 years")
            })?;
        Ok(Timestamp(Timestamp::now().0 + secs * 1000))
    })
    .transpose()
}

fn shown(t: &warden_store::TokenRecord) -> Value {
    let state = if t.revoked_at.is_some() {
        "revoked"
    } else if t
        .expires_at
        .as_deref()
        .and_then(Timestamp::parse_rfc3339)
        .is_some_and(|e| e.0 <= Timestamp::now().0)
    {
        "expired"
    } else {
        "active"
    };
    let mut v = json!(t);
    v["state"] = json!(state);
    v
}

#[utoipa::path(get, path = "/v1/tokens", tag = "tokens", responses((status = 200, description = "The tenant's tokens (never the tokens themselves): scope, label, created, expires, revoked, replaced by, state", body = serde_json::Value), (status = 401, description = "No or unknown token", body = crate::openapi::ErrorBody), (status = 403, description = "The token's scope is too small", body = crate::openapi::ErrorBody)), security(("bearer" = [])))]
pub async fn list(State(st): State<AppState>, who: Principal) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Admin)?;
    let tokens = st.store().tokens(Some(&who.tenant))?;
    Ok(Json(
        json!({"tokens": tokens.iter().map(shown).collect::<Vec<_>>()}),
    ))
}

#[utoipa::path(post, path = "/v1/tokens", tag = "tokens", request_body = NewTokenBody, responses((status = 201, description = "The new token, shown only now", body = serde_json::Value), (status = 400, description = "Invalid input, naming the field", body = crate::openapi::ErrorBody), (status = 401, description = "No or unknown token", body = crate::openapi::ErrorBody), (status = 403, description = "The token's scope is too small", body = crate::openapi::ErrorBody)), security(("bearer" = [])))]
pub async fn create(
    State(st): State<AppState>,
    who: Principal,
    body: Result<Json<NewTokenBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    who.require(Scope::Admin)?;
    let Json(b) = body.map_err(|e| json_error(&e, st.config.server.body_limit_bytes))?;
    let scope = Scope::parse(&b.scope)
        .ok_or_else(|| ApiError::invalid("scope", "expected read, write or admin"))?;
    let label = b.label.unwrap_or_default();
    if label.len() > auth::MAX_LABEL {
        return Err(ApiError::invalid("label", "at most 256 bytes"));
    }
    let expires = end_of("expires_in", b.expires_in.as_deref())?;
    let store = st.store();
    if store.tokens(Some(&who.tenant))?.len() >= MAX_TOKENS {
        return Err(ApiError::invalid(
            "scope",
            format!("at most {MAX_TOKENS} tokens per tenant"),
        ));
    }
    let (token, id) = auth::create_token_expiring(&store, scope, &who.tenant, &label, expires)
        .map_err(ApiError::internal)?;
    store.append_audit(
        &who.tenant,
        &who.actor(),
        "token.create",
        &format!("token:{id}"),
        scope.as_str(),
    )?;
    let expires_at = expires.map(stored_time);
    Ok((
        StatusCode::CREATED,
        Json(
            json!({"id": id, "token": token, "scope": scope.as_str(), "tenant": who.tenant, "label": label, "expires_at": expires_at}),
        ),
    ))
}

#[utoipa::path(delete, path = "/v1/tokens/{id}", tag = "tokens", params(("id" = i64, Path, description = "Token id")), responses((status = 200, description = "Revoked: refused from now on, its open streams closed", body = serde_json::Value), (status = 400, description = "Invalid input, naming the field", body = crate::openapi::ErrorBody), (status = 401, description = "No or unknown token", body = crate::openapi::ErrorBody), (status = 403, description = "The token's scope is too small", body = crate::openapi::ErrorBody), (status = 404, description = "Not found (or another tenant's)", body = crate::openapi::ErrorBody)), security(("bearer" = [])))]
pub async fn revoke(
    State(st): State<AppState>,
    who: Principal,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Admin)?;
    let record = {
        let store = st.store();
        let record = store
            .revoke_token(id, Some(&who.tenant))?
            .ok_or(ApiError::NotFound)?;
        store.append_audit(
            &who.tenant,
            &who.actor(),
            "token.revoke",
            &format!("token:{id}"),
            "",
        )?;
        record
    };
    st.tokens.revoke(id);
    Ok(Json(shown(&record)))
}

#[utoipa::path(post, path = "/v1/tokens/{id}/rotate", tag = "tokens", params(("id" = i64, Path, description = "Token id")), request_body = RotateBody, responses((status = 201, description = "The new token, shown only now", body = serde_json::Value), (status = 400, description = "Invalid input, naming the field", body = crate::openapi::ErrorBody), (status = 401, description = "No or unknown token", body = crate::openapi::ErrorBody), (status = 403, description = "The token's scope is too small", body = crate::openapi::ErrorBody), (status = 404, description = "Not found, revoked, or another tenant's", body = crate::openapi::ErrorBody)), security(("bearer" = [])))]
pub async fn rotate(
    State(st): State<AppState>,
    who: Principal,
    Path(id): Path<i64>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    who.require(Scope::Admin)?;
    let body = body.map_err(|e| body_error(&e, st.config.server.body_limit_bytes))?;
    // The body is optional: none rotates at once with no expiry.
    let b: RotateBody = if body.iter().all(u8::is_ascii_whitespace) {
        RotateBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::invalid("body", e.to_string()))?
    };
    let grace = end_of("grace", b.grace.as_deref())?.map(stored_time);
    let expires = end_of("expires_in", b.expires_in.as_deref())?;
    let token = auth::new_token().map_err(ApiError::internal)?;
    let (new_id, old, expires) = {
        let mut store = st.store();
        let old = store
            .token(id, Some(&who.tenant))?
            .ok_or(ApiError::NotFound)?;
        let expires = expires.or_else(|| auth::inherited_expiry(&old));
        let expires_at = expires.map(stored_time);
        let new = NewToken {
            hash: &auth::hash_token(&token),
            scope: &old.scope,
            tenant: &who.tenant,
            label: &old.label,
            expires_at: expires_at.as_deref(),
        };
        let new_id = store
            .rotate_token(id, &new, grace.as_deref())?
            .ok_or(ApiError::NotFound)?;
        store.append_audit(
            &who.tenant,
            &who.actor(),
            "token.rotate",
            &format!("token:{id}"),
            &format!("token:{new_id}"),
        )?;
        (new_id, old, expires)
    };
    match grace.as_deref().and_then(Timestamp::parse_rfc3339) {
        // The old token's new expiry applies from its next use, and to its streams now.
        Some(until) => st.tokens.forget(id, Some(until.0)),
        None => st.tokens.revoke(id),
    }
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": new_id, "token": token, "scope": old.scope, "tenant": who.tenant,
            "label": old.label, "expires_at": expires.map(stored_time),
            "replaces": id, "old_expires_at": grace,
        })),
    ))
}
