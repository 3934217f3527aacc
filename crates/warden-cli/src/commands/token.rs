//! `warden token create|list|revoke|rotate`: API tokens in the store. A token is printed
//! once; the store keeps its hash. Every change is written to the tenant's audit log with
//! the actor `cli`.

use anyhow::{Result, anyhow, bail};
use warden_event::Timestamp;
use warden_server::auth::{
    Scope, create_token_expiring, hash_token, inherited_expiry, make_token_room, new_token,
    parse_duration, purge_ended_tokens, stored_time,
};
use warden_store::{NewToken, Store};

use crate::cli::TokenCommand;

/// How the audit log names a change made here.
const ACTOR: &str = "cli";

pub fn run(c: &TokenCommand) -> Result<()> {
    match c {
        TokenCommand::Create {
            store,
            scope,
            tenant,
            label,
            expires_in,
        } => create(store, scope, tenant, label, expires_in.as_deref()),
        TokenCommand::List {
            store,
            tenant,
            json,
        } => list(store, tenant.as_deref(), *json),
        TokenCommand::Revoke { store, id } => {
            let s = Store::open(store)?;
            let Some(t) = s.revoke_token(*id, None)? else {
                bail!("no token {id} in {}", store.display());
            };
            s.append_audit(&t.tenant, ACTOR, "token.revoke", &format!("token:{id}"), "")?;
            eprintln!(
                "token {id} (tenant {}) revoked at {}",
                t.tenant,
                t.revoked_at.as_deref().unwrap_or("?")
            );
            Ok(())
        }
        TokenCommand::Rotate {
            store,
            id,
            grace,
            expires_in,
        } => rotate(store, *id, grace.as_deref(), expires_in.as_deref()),
    }
}

fn create(
    store: &std::path::Path,
    scope: &str,
    tenant: &str,
    label: &str,
    expires_in: Option<&str>,
) -> Result<()> {
    let Some(scope) = Scope::parse(scope) else {
        bail!("--scope {scope}: expected read, write or admin");
    };
    let expires = end_of("--expires-in", expires_in)?;
    let s = Store::open(store)?;
    room(&s, tenant, true)?;
    let (token, id) =
        create_token_expiring(&s, scope, tenant, label, expires).map_err(|e| anyhow!(e))?;
    s.append_audit(
        tenant,
        ACTOR,
        "token.create",
        &format!("token:{id}"),
        scope.as_str(),
    )?;
    purge_ended_tokens(&s, tenant)?;
    crate::out!("{token}")?;
    let until = expires.map_or(String::new(), |t| format!(", until {}", stored_time(t)));
    eprintln!(
        "token {id} ({}, tenant {tenant}{until}) created; it is shown only now — the store keeps its hash",
        scope.as_str()
    );
    Ok(())
}

fn list(store: &std::path::Path, tenant: Option<&str>, json: bool) -> Result<()> {
    let s = Store::open(store)?;
    let tokens = s.tokens(tenant)?;
    if json {
        for t in &tokens {
            let mut v = serde_json::to_value(t)?;
            v["state"] = t.state().into();
            crate::out!("{v}")?;
        }
    } else {
        crate::out!(
            "{:>5}  {:<16} {:<6} {:<8} {:<21} label",
            "id",
            "tenant",
            "scope",
            "state",
            "expires"
        )?;
        for t in &tokens {
            crate::out!(
                "{:>5}  {:<16} {:<6} {:<8} {:<21} {}",
                t.id,
                t.tenant,
                t.scope,
                t.state(),
                t.expires_at.as_deref().unwrap_or("never"),
                t.label
            )?;
        }
    }
    Ok(())
}

fn rotate(
    store: &std::path::Path,
    id: i64,
    grace: Option<&str>,
    expires_in: Option<&str>,
) -> Result<()> {
    let grace = end_of("--grace", grace)?.map(stored_time);
    let expires = end_of("--expires-in", expires_in)?;
    let mut s = Store::open(store)?;
    let Some(old) = s.token(id, None)? else {
        bail!("no token {id} in {}", store.display());
    };
    if old.revoked_at.is_some() {
        bail!("token {id} is revoked; create a new one instead");
    }
    // As through the API: with a grace period the old token lives on, and an expired one
    // comes back to life, so the new one needs room.
    let replaces_live = old.state() == "active";
    room(&s, &old.tenant, grace.is_some() || !replaces_live)?;
    let expires = expires.or_else(|| inherited_expiry(&old)).map(stored_time);
    let token = new_token().map_err(|e| anyhow!(e))?;
    let new = NewToken {
        hash: &hash_token(&token),
        scope: &old.scope,
        tenant: &old.tenant,
        label: &old.label,
        expires_at: expires.as_deref(),
    };
    let Some(new_id) = s.rotate_token(id, &new, grace.as_deref())? else {
        bail!("token {id} is revoked; create a new one instead");
    };
    s.append_audit(
        &old.tenant,
        ACTOR,
        "token.rotate",
        &format!("token:{id}"),
        &format!("token:{new_id}"),
    )?;
    purge_ended_tokens(&s, &old.tenant)?;
    crate::out!("{token}")?;
    match grace {
        Some(g) => eprintln!("token {new_id} replaces token {id}, which works until {g}"),
        None => eprintln!("token {new_id} replaces token {id}, revoked now"),
    }
    Ok(())
}

/// [`make_token_room`], with what to do about a full tenant.
fn room(s: &Store, tenant: &str, counts: bool) -> Result<()> {
    make_token_room(s, tenant, counts).map_err(|e| match e {
        warden_server::auth::TokenRoomError::Full => {
            anyhow!("tenant {tenant}: {e} (`warden token list --tenant {tenant}`, then `warden token revoke ID`)")
        }
        other => anyhow!(other),
    })
}

/// A duration flag as the time it ends.
fn end_of(flag: &str, v: Option<&str>) -> Result<Option<Timestamp>> {
    v.map(|d| {
        let secs = parse_duration(d)
            .ok_or_else(|| anyhow!("{flag} {d}: expected a number and a unit (s, m, h, d, w)"))?;
        Ok(Timestamp(
            Timestamp::now().0.saturating_add(secs.saturating_mul(1000)),
        ))
    })
    .transpose()
}
