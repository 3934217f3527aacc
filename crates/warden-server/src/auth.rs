//! Bearer tokens: `warden token create` makes a random token, prints it once and stores
//! only its SHA-256; a request's token is hashed and looked up (a cache in front of the
//! store), and the hash compared in constant time. Each token carries a scope (read < write
//! < admin) and a tenant; every route checks the scope it needs and every query is limited
//! to the token's tenant.

use std::collections::HashMap;
use std::sync::RwLock;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use warden_store::Store;

use crate::error::ApiError;
use crate::state::AppState;

/// What a token may do; each level includes the ones below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    Read,
    Write,
    Admin,
}

impl Scope {
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "read" => Some(Scope::Read),
            "write" => Some(Scope::Write),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Admin => "admin",
        }
    }
}

/// Tenant names: short, and safe to show in logs and paths.
pub fn valid_tenant(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 64
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

/// SHA-256 of a token, hex.
pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new random token (`wdn_` + 64 hex characters, 256 bits from the OS).
pub fn new_token() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness from the system: {e}"))?;
    Ok(format!(
        "wdn_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}

/// Creates a token in the store; returns the token (shown once) and its id.
pub fn create_token(
    store: &Store,
    scope: Scope,
    tenant: &str,
    label: &str,
) -> Result<(String, i64), String> {
    if !valid_tenant(tenant) {
        return Err(format!(
            "tenant `{tenant}`: use 1–64 letters, digits, `-`, `_` or `.`"
        ));
    }
    let token = new_token()?;
    let id = store
        .create_token(&hash_token(&token), scope.as_str(), tenant, label)
        .map_err(|e| e.to_string())?;
    Ok((token, id))
}

/// The caller, once authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub token_id: i64,
    pub tenant: String,
    pub scope: Scope,
}

impl Principal {
    pub fn require(&self, need: Scope) -> Result<(), ApiError> {
        if self.scope >= need {
            Ok(())
        } else {
            Err(ApiError::Forbidden {
                have: self.scope.as_str(),
                need: need.as_str(),
            })
        }
    }

    /// How the audit log names this caller.
    pub fn actor(&self) -> String {
        format!("token:{}", self.token_id)
    }
}

/// Known tokens by hash, so that most requests do not touch the store.
#[derive(Debug, Default)]
pub struct TokenCache {
    by_hash: RwLock<HashMap<String, (String, Principal)>>,
}

/// Most tokens cached.
const MAX_CACHED: usize = 10_000;

impl TokenCache {
    fn lookup(&self, state: &AppState, hash: &str) -> Result<Option<Principal>, ApiError> {
        if let Ok(map) = self.by_hash.read()
            && let Some((stored, p)) = map.get(hash)
        {
            return Ok(bool::from(stored.as_bytes().ct_eq(hash.as_bytes())).then(|| p.clone()));
        }
        let record = {
            let store = state
                .store
                .lock()
                .map_err(|_| ApiError::internal("store lock"))?;
            store.token_by_hash(hash)?
        };
        let Some(r) = record else { return Ok(None) };
        if !bool::from(r.hash.as_bytes().ct_eq(hash.as_bytes())) {
            return Ok(None);
        }
        let Some(scope) = Scope::parse(&r.scope) else {
            return Ok(None);
        };
        let p = Principal {
            token_id: r.id,
            tenant: r.tenant,
            scope,
        };
        if let Ok(mut map) = self.by_hash.write()
            && map.len() < MAX_CACHED
        {
            map.insert(r.hash.clone(), (r.hash, p.clone()));
        }
        Ok(Some(p))
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::Unauthorized)?;
        let token = value
            .strip_prefix("Bearer ")
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 256)
            .ok_or(ApiError::Unauthorized)?;
        state
            .tokens
            .lookup(state, &hash_token(token))?
            .ok_or(ApiError::Unauthorized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (
            new_token().unwrap_or_default(),
            new_token().unwrap_or_default(),
        );
        assert_ne!(a, b);
        assert_eq!(a.len(), 68);
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(Scope::Admin > Scope::Write && Scope::Write > Scope::Read);
        assert!(valid_tenant("acme-1") && !valid_tenant("a b") && !valid_tenant(""));
    }
}
