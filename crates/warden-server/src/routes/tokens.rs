//! Tokens of the caller's tenant (admin scope): list, create (the token is returned once),
//! revoke (refused at once, open streams closed) and rotate (a new token with the same
//! scope; the old one revoked now or after a grace period). Every change is audited.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use warden_event::Timestamp;
use warden_store::{NewToken, TokenState};

use crate::auth::{self, Principal, Scope, stored_time};
use crate::error::ApiError;
use crate::routes::{IdPath, Object, body_error, json_error};
use crate::state::AppState;

/// The longest expiry or grace period accepted: ten years.
const MAX_LIFETIME_SECS: i64 = 10 * 366 * 86_400;
/// The lifetimes [`end_of`] accepts, for the OpenAPI document: a number without leading
/// zeros and a unit, the number from 1 to ten years in that unit (316224000 s, 5270400 m,
/// 87840 h, 3660 d, 522 w).
pub(crate) const LIFETIME_PATTERN: &str = "^(([1-9][0-9]{0,7}|[1-2][0-9]{8}|30[0-9]{7}|31[0-5][0-9]{6}|316[0-1][0-9]{5}|3162[0-1][0-9]{4}|31622[0-3][0-9]{3}|316224000)s|([1-9][0-9]{0,5}|[1-4][0-9]{6}|5[0-1][0-9]{5}|52[0-6][0-9]{4}|5270[0-3][0-9]{2}|5270400)m|([1-9][0-9]{0,3}|[1-7][0-9]{4}|8[0-6][0-9]{3}|87[0-7][0-9]{2}|878[0-3][0-9]|87840)h|([1-9][0-9]{0,2}|[1-2][0-9]{3}|3[0-5][0-9]{2}|36[0-5][0-9]|3660)d|([1-9][0-9]{0,1}|[1-4][0-9]{2}|5[0-1][0-9]|52[0-1]|522)w)$";

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenBody {
    // No doc comment here: the description comes with the inlined schema.
    #[schema(value_type = crate::openapi::TokenScope, inline)]
    pub scope: String,
    /// A note on who holds it (at most 256 characters).
    #[schema(max_length = 256)]
    pub label: Option<String>,
    /// How long it works: a number and a unit, `90d`, `12h`, `30m`, `45s`, `2w` (up to 10
    /// years); none: no expiry.
    #[schema(value_type = Option<crate::openapi::Lifetime>, inline)]
    pub expires_in: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    /// How long the old token keeps working (`1h`, …); none: it is revoked at once.
    #[schema(value_type = Option<crate::openapi::Lifetime>, inline)]
    pub grace: Option<String>,
    /// The new token's lifetime, as for creation; none: the old token's lifetime (or no
    /// expiry when it had none).
    #[schema(value_type = Option<crate::openapi::Lifetime>, inline)]
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

/// A token as listed, its state at `at`.
fn shown_at(t: &warden_store::TokenRecord, at: &str) -> Value {
    let mut v = json!(t);
    v["state"] = json!(t.state_at(at));
    v
}

fn shown(t: &warden_store::TokenRecord) -> Value {
    shown_at(t, &stored_time(Timestamp::now()))
}

/// Default page size of the token listing.
const PAGE: usize = 100;

#[derive(Debug, Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `live` (neither revoked nor expired) or `ended` (revoked or expired); all without.
    #[param(value_type = Option<crate::openapi::TokenListState>, inline)]
    pub state: Option<String>,
    /// `next_after` of the previous page: tokens with a greater id.
    #[param(minimum = 0)]
    pub after: Option<i64>,
    /// Tokens per page (1 to 1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

#[utoipa::path(get, path = "/v1/tokens", tag = "tokens", params(ListQuery), responses((status = 200, description = "A page of the tenant's tokens in id order (never the tokens themselves): scope, label, created, expires, revoked, replaced by, state; `next_after` when there are more", body = serde_json::Value), crate::openapi::Invalid, crate::openapi::Unauthorized, crate::openapi::Forbidden), security(("bearer" = [])))]
pub async fn list(
    State(st): State<AppState>,
    who: Principal,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Admin)?;
    let Query(q) = q.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let state = match q.state.as_deref() {
        None => None,
        Some("live") => Some(TokenState::Live),
        Some("ended") => Some(TokenState::Ended),
        Some(_) => return Err(ApiError::invalid("state", "expected live or ended")),
    };
    let after = q.after.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::invalid("after", "a token id, 0 or more"));
    }
    let limit = crate::routes::alerts::page_limit(q.limit, PAGE)?;
    let tenant = who.tenant.clone();
    let now = stored_time(Timestamp::now());
    let at = now.clone();
    // One more than the page says whether there is a next one.
    let mut tokens = st
        .with_store(move |store| Ok(store.tokens_page(&tenant, state, after, limit + 1, &at)?))
        .await?;
    let more = tokens.len() > limit;
    tokens.truncate(limit);
    let next = more.then(|| tokens.last().map(|t| t.id)).flatten();
    Ok(Json(json!({
        "tokens": tokens.iter().map(|t| shown_at(t, &now)).collect::<Vec<_>>(),
        "next_after": next,
    })))
}

/// [`auth::make_token_room`], the refusal as the API says it.
fn make_room(store: &warden_store::Store, tenant: &str, counts: bool) -> Result<(), ApiError> {
    auth::make_token_room(store, tenant, counts).map_err(|e| match e {
        auth::TokenRoomError::Full => ApiError::QuotaExceeded(e.to_string()),
        auth::TokenRoomError::Store(e) => e.into(),
    })
}

#[utoipa::path(post, path = "/v1/tokens", tag = "tokens", request_body = NewTokenBody, responses((status = 201, description = "The new token, shown only now", body = serde_json::Value), crate::openapi::Invalid, crate::openapi::Unauthorized, crate::openapi::Forbidden, crate::openapi::TooLarge, (status = 429, description = "The tenant holds 1000 tokens that still work, the most it may (`quota_exceeded`)", body = crate::openapi::ErrorBody)), security(("bearer" = [])))]
pub async fn create(
    State(st): State<AppState>,
    who: Principal,
    body: Result<Json<Object<NewTokenBody>>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    who.require(Scope::Admin)?;
    let Json(Object(b)) = body.map_err(|e| json_error(&e, st.config.server.body_limit_bytes))?;
    let scope = Scope::parse(&b.scope)
        .ok_or_else(|| ApiError::invalid("scope", "expected read, write or admin"))?;
    let label = b.label.unwrap_or_default();
    if !super::within_chars(&label, auth::MAX_LABEL) {
        return Err(ApiError::invalid("label", "at most 256 characters"));
    }
    let expires = end_of("expires_in", b.expires_in.as_deref())?;
    let (tenant, actor, name) = (who.tenant.clone(), who.actor(), label.clone());
    let (token, id) = st
        .with_store(move |store| {
            make_room(store, &tenant, true)?;
            let (token, id) = auth::create_token_expiring(store, scope, &tenant, &name, expires)
                .map_err(ApiError::internal)?;
            let target = format!("token:{id}");
            store.append_audit(&tenant, &actor, "token.create", &target, scope.as_str())?;
            auth::purge_ended_tokens(store, &tenant)?;
            Ok((token, id))
        })
        .await?;
    let expires_at = expires.map(stored_time);
    Ok((
        StatusCode::CREATED,
        Json(
            json!({"id": id, "token": token, "scope": scope.as_str(), "tenant": who.tenant, "label": label, "expires_at": expires_at}),
        ),
    ))
}

#[utoipa::path(delete, path = "/v1/tokens/{id}", tag = "tokens", params(("id" = i64, Path, description = "Token id")), responses((status = 200, description = "Revoked: refused from now on, its open streams closed", body = serde_json::Value), crate::openapi::Invalid, crate::openapi::Unauthorized, crate::openapi::Forbidden, crate::openapi::NotFound), security(("bearer" = [])))]
pub async fn revoke(
    State(st): State<AppState>,
    who: Principal,
    IdPath(id): IdPath,
) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Admin)?;
    let (tenant, actor) = (who.tenant.clone(), who.actor());
    let record = st
        .with_store(move |store| {
            let record = store
                .revoke_token(id, Some(&tenant))?
                .ok_or(ApiError::NotFound)?;
            store.append_audit(&tenant, &actor, "token.revoke", &format!("token:{id}"), "")?;
            Ok(record)
        })
        .await?;
    st.tokens.revoke(id);
    Ok(Json(shown(&record)))
}

#[utoipa::path(post, path = "/v1/tokens/{id}/rotate", tag = "tokens", params(("id" = i64, Path, description = "Token id")), request_body(content = Option<RotateBody>, description = "Optional: no body rotates at once, the new token with the old one's lifetime"), responses((status = 201, description = "The new token, shown only now", body = serde_json::Value), crate::openapi::Invalid, crate::openapi::Unauthorized, crate::openapi::Forbidden, crate::openapi::TooLarge, (status = 404, description = "Not found, revoked, or another tenant's", body = crate::openapi::ErrorBody), (status = 429, description = "With a grace period, or of an expired token (it comes back to life): the tenant holds 1000 tokens that still work, the most it may (`quota_exceeded`)", body = crate::openapi::ErrorBody)), security(("bearer" = [])))]
pub async fn rotate(
    State(st): State<AppState>,
    who: Principal,
    IdPath(id): IdPath,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    who.require(Scope::Admin)?;
    let body = body.map_err(|e| body_error(&e, st.config.server.body_limit_bytes))?;
    // The body is optional: none (or `null`) rotates at once, keeping the old lifetime.
    let b: RotateBody = if body.iter().all(u8::is_ascii_whitespace) {
        RotateBody::default()
    } else {
        serde_json::from_slice::<Option<Object<RotateBody>>>(&body)
            .map_err(|e| ApiError::invalid("body", e.to_string()))?
            .map(|Object(b)| b)
            .unwrap_or_default()
    };
    let grace = end_of("grace", b.grace.as_deref())?.map(stored_time);
    let expires = end_of("expires_in", b.expires_in.as_deref())?;
    let token = auth::new_token().map_err(ApiError::internal)?;
    let (tenant, actor, hash, until) = (
        who.tenant.clone(),
        who.actor(),
        auth::hash_token(&token),
        grace.clone(),
    );
    let (new_id, old, expires) = st
        .with_store(move |store| {
            let old = store.token(id, Some(&tenant))?.ok_or(ApiError::NotFound)?;
            if old.revoked_at.is_some() {
                return Err(ApiError::NotFound);
            }
            // With a grace period a rotation adds a token (the old one lives on): it counts.
            // Without one it replaces a working token at once and needs no room; an expired
            // one it brings back, so that counts too.
            let now = stored_time(Timestamp::now());
            let replaces_live = old.state_at(&now) == "active";
            make_room(store, &tenant, until.is_some() || !replaces_live)?;
            let expires = expires.or_else(|| auth::inherited_expiry(&old));
            let expires_at = expires.map(stored_time);
            let new = NewToken {
                hash: &hash,
                scope: &old.scope,
                tenant: &tenant,
                label: &old.label,
                expires_at: expires_at.as_deref(),
            };
            let new_id = store
                .rotate_token(id, &new, until.as_deref())?
                .ok_or(ApiError::NotFound)?;
            let (from, to) = (format!("token:{id}"), format!("token:{new_id}"));
            store.append_audit(&tenant, &actor, "token.rotate", &from, &to)?;
            auth::purge_ended_tokens(store, &tenant)?;
            Ok((new_id, old, expires))
        })
        .await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lifetime_pattern_ends_where_the_server_does() {
        // Each unit's largest number in the pattern is accepted; one more is refused.
        for (unit, per) in [
            ("s", 1),
            ("m", 60),
            ("h", 3_600),
            ("d", 86_400),
            ("w", 604_800),
        ] {
            let max = MAX_LIFETIME_SECS / per;
            assert!(
                LIFETIME_PATTERN.contains(&format!("|{max}){unit}")),
                "{unit}: {max}"
            );
            assert!(
                end_of("x", Some(&format!("{max}{unit}"))).is_ok(),
                "{max}{unit}"
            );
            assert!(end_of("x", Some(&format!("{}{unit}", max + 1))).is_err());
            assert!(end_of("x", Some(&format!("1{unit}"))).is_ok());
        }
        assert!(end_of("x", Some("0s")).is_err());
    }
}
