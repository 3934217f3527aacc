//! Webhooks of the caller's tenant (admin scope): register (the secret is returned once),
//! list, delete, send a test delivery, and the dead letters with their replay.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{Principal, Scope};
use crate::error::ApiError;
use crate::routes::{IdPath, Object, json_error, level_param};
use crate::state::AppState;
use crate::webhooks::post_once;

/// Webhooks per tenant at most.
const MAX_HOOKS: usize = 50;
pub(crate) const EVENTS: [&str; 1] = ["alert.created"];

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    #[schema(value_type = crate::openapi::HookUrl, inline)]
    pub url: String,
    #[schema(value_type = Option<crate::openapi::HookSecret>, inline)]
    pub secret: Option<String>,
    /// The lowest level delivered (default MEDIUM).
    #[schema(value_type = Option<crate::openapi::Level>, inline)]
    pub min_level: Option<String>,
    #[schema(value_type = Option<crate::openapi::HookEvents>, inline)]
    pub events: Option<Vec<String>>,
}

async fn reload(st: &AppState) -> Result<(), ApiError> {
    let all = st.with_store(|store| Ok(store.webhooks(None)?)).await?;
    st.webhooks.reload(all);
    Ok(())
}

#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", request_body = NewWebhook, responses((status = 200, description = "OK", body = serde_json::Value), crate::openapi::Invalid, crate::openapi::Unauthorized, crate::openapi::Forbidden, crate::openapi::TooLarge, (status = 429, description = "The tenant has 50 webhooks, the most it may (`quota_exceeded`)", body = crate::openapi::ErrorBody)), security(("bearer" = [])))]
pub async fn create(
    State(st): State<AppState>,
    who: Principal,
    body: Result<Json<Object<NewWebhook>>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Admin)?;
    let Json(Object(w)) = body.map_err(|e| json_error(&e, st.config.server.body_limit_bytes))?;
    let url = w.url.trim();
    if !super::within_chars(url, 2048)
        || !(url.starts_with("http://") || url.starts_with("https://"))
        || url.chars().any(char::is_whitespace)
    {
        return Err(ApiError::invalid(
            "url",
            "an http:// or https:// URL of at most 2048 characters",
        ));
    }
    crate::destinations::resolve(url, &st.config.server, st.resolver.as_ref())
        .await
        .map_err(|reason| ApiError::invalid("url", reason.to_string()))?;
    let level = level_param("min_level", w.min_level.as_deref())?
        .unwrap_or(warden_event::ThreatLevel::Medium);
    let events = w.events.unwrap_or_else(|| vec!["alert.created".into()]);
    if events.is_empty() || events.iter().any(|e| !EVENTS.contains(&e.as_str())) {
        return Err(ApiError::invalid("events", "expected [\"alert.created\"]"));
    }
    let secret = match w.secret {
        Some(s) if s.chars().count() >= 16 && super::within_chars(&s, 256) => s,
        Some(_) => return Err(ApiError::invalid("secret", "16 to 256 characters")),
        None => crate::auth::new_token().map_err(ApiError::internal)?,
    };
    let (tenant, actor, url_, secret_, events_) = (
        who.tenant.clone(),
        who.actor(),
        url.to_owned(),
        secret.clone(),
        events.clone(),
    );
    let id = st
        .with_store(move |store| {
            if store.webhooks(Some(&tenant))?.len() >= MAX_HOOKS {
                return Err(ApiError::QuotaExceeded(format!(
                    "the tenant has {MAX_HOOKS} webhooks, the most it may; delete one first"
                )));
            }
            let id = store.create_webhook(&tenant, &url_, &secret_, level.as_str(), &events_)?;
            let target = format!("webhook:{id}");
            store.append_audit(&tenant, &actor, "webhook.create", &target, &url_)?;
            Ok(id)
        })
        .await?;
    reload(&st).await?;
    Ok(Json(
        json!({"id": id, "url": url, "min_level": level.as_str(), "events": events, "secret": secret}),
    ))
}

#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks", responses((status = 200, description = "OK", body = serde_json::Value), crate::openapi::Unauthorized, crate::openapi::Forbidden), security(("bearer" = [])))]
pub async fn list(State(st): State<AppState>, who: Principal) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Admin)?;
    let tenant = who.tenant.clone();
    let hooks = st
        .with_store(move |store| Ok(store.webhooks(Some(&tenant))?))
        .await?;
    Ok(Json(json!({"webhooks": hooks})))
}

#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = i64, Path, description = "Webhook id")), responses((status = 200, description = "OK", body = serde_json::Value), crate::openapi::Invalid, crate::openapi::Unauthorized, crate::openapi::Forbidden, crate::openapi::NotFound), security(("bearer" = [])))]
pub async fn delete(
    State(st): State<AppState>,
    who: Principal,
    IdPath(id): IdPath,
) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Admin)?;
    let (tenant, actor) = (who.tenant.clone(), who.actor());
    st.with_store(move |store| {
        if !store.delete_webhook(&tenant, id)? {
            return Err(ApiError::NotFound);
        }
        // Its deliveries waiting go with it (the audit entry says how many).
        let dropped = store.outbox_forget(id)?;
        let detail = format!("{dropped} deliveries waiting dropped");
        store.append_audit(
            &tenant,
            &actor,
            "webhook.delete",
            &format!("webhook:{id}"),
            &detail,
        )?;
        Ok(())
    })
    .await?;
    reload(&st).await?;
    Ok(Json(json!({"deleted": id})))
}

#[utoipa::path(post, path = "/v1/webhooks/{id}/test", tag = "webhooks", params(("id" = i64, Path, description = "Webhook id")), responses((status = 200, description = "OK", body = serde_json::Value), crate::openapi::Invalid, crate::openapi::Unauthorized, crate::openapi::Forbidden, crate::openapi::NotFound), security(("bearer" = [])))]
pub async fn test(
    State(st): State<AppState>,
    who: Principal,
    IdPath(id): IdPath,
) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Admin)?;
    let tenant = who.tenant.clone();
    let hook = st
        .with_store(move |store| store.webhook(&tenant, id)?.ok_or(ApiError::NotFound))
        .await?;
    let body = json!({"event": "test", "tenant": who.tenant, "webhook_id": id}).to_string();
    Ok(Json(
        match post_once(&st, &hook, "test", None, body).await {
            Ok(status) => json!({"delivered": true, "status": status}),
            Err(e) => json!({"delivered": false, "error": e.to_string()}),
        },
    ))
}

#[utoipa::path(get, path = "/v1/webhooks/dead-letters", tag = "webhooks", responses((status = 200, description = "OK", body = serde_json::Value), crate::openapi::Unauthorized, crate::openapi::Forbidden), security(("bearer" = [])))]
pub async fn dead_letters(
    State(st): State<AppState>,
    who: Principal,
) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Admin)?;
    let tenant = who.tenant.clone();
    let letters = st
        .with_store(move |store| Ok(store.dead_letters(&tenant, 100)?))
        .await?;
    Ok(Json(json!({"dead_letters": letters})))
}

#[utoipa::path(post, path = "/v1/webhooks/dead-letters/{id}/replay", tag = "webhooks", params(("id" = i64, Path, description = "Dead letter id")), responses((status = 200, description = "OK", body = serde_json::Value), crate::openapi::Invalid, crate::openapi::Unauthorized, crate::openapi::Forbidden, crate::openapi::NotFound), security(("bearer" = [])))]
pub async fn replay(
    State(st): State<AppState>,
    who: Principal,
    IdPath(id): IdPath,
) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Admin)?;
    let tenant = who.tenant.clone();
    let (letter, hook) = st
        .with_store(move |store| {
            let letter = store.dead_letter(&tenant, id)?.ok_or(ApiError::NotFound)?;
            let hook = store
                .webhook(&tenant, letter.webhook_id)?
                .ok_or_else(|| ApiError::invalid("id", "its webhook was deleted"))?;
            Ok((letter, hook))
        })
        .await?;
    let alert_id = serde_json::from_str::<Value>(&letter.body)
        .ok()
        .and_then(|b| b["alert_id"].as_i64());
    match post_once(&st, &hook, "alert.created", alert_id, letter.body.clone()).await {
        Ok(status) => {
            let (tenant, actor) = (who.tenant.clone(), who.actor());
            st.with_store(move |store| {
                store.mark_replayed(&tenant, id)?;
                let target = format!("dead_letter:{id}");
                store.append_audit(&tenant, &actor, "dead_letter.replay", &target, "delivered")?;
                Ok(())
            })
            .await?;
            Ok(Json(json!({"delivered": true, "status": status})))
        }
        Err(e) => Ok(Json(json!({"delivered": false, "error": e.to_string()}))),
    }
}
