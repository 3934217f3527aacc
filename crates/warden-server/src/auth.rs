//! Bearer tokens: `warden token create` (or `POST /v1/tokens`) makes a random token, prints
//! it once and stores only its SHA-256; a request's token is hashed and looked up (a cache
//! in front of the store, [`crate::token_cache`]), and the hash compared in constant time.
//! Each token carries a scope (read < write < admin), a tenant and optionally an expiry;
//! every route checks the scope it needs and every query is limited to the token's tenant.
//! Revoked and expired tokens are refused; failures are counted by reason. With `[jwt]`,
//! a bearer token shaped as a JWT is verified by [`crate::jwt`] instead.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use warden_event::Timestamp;
use warden_store::{NewToken, Store};

use crate::error::ApiError;
use crate::state::AppState;
use crate::token_cache::Refused;

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
    create_token_expiring(store, scope, tenant, label, None)
}

/// Most bytes of a token's label.
pub const MAX_LABEL: usize = 256;

/// Tokens that still work per tenant at most (a rotated one counts until its grace ends).
pub const MAX_TOKENS: usize = 1_000;
/// Ended (revoked or expired) tokens kept per tenant for the audit log's references; past
/// it, the ones that ended first are deleted when a token is created or rotated. Without a
/// bound of its own, ended tokens counted toward [`MAX_TOKENS`], so a tenant that rotates
/// its tokens regularly ran out of them for good.
pub const MAX_ENDED_TOKENS: usize = 10_000;

/// Why a tenant gets no new token.
#[derive(Debug, thiserror::Error)]
pub enum TokenRoomError {
    #[error(
        "the tenant holds {MAX_TOKENS} tokens that still work, the most it may; revoke some first"
    )]
    Full,
    #[error(transparent)]
    Store(#[from] warden_store::StoreError),
}

/// Before a token is added (created, or rotated so that two work for a while), through the
/// API or the CLI alike: refuses it when the tenant holds [`MAX_TOKENS`] that still work
/// (`counts`: the new token is one more).
pub fn make_token_room(store: &Store, tenant: &str, counts: bool) -> Result<(), TokenRoomError> {
    let now = stored_time(Timestamp::now());
    if counts && store.live_token_count(tenant, &now)? >= MAX_TOKENS {
        return Err(TokenRoomError::Full);
    }
    Ok(())
}

/// After a token is added: deletes the tenant's ended tokens past the [`MAX_ENDED_TOKENS`]
/// kept. (After, not before: a rotation's own expired token must not be purged under it.)
pub fn purge_ended_tokens(store: &Store, tenant: &str) -> Result<usize, warden_store::StoreError> {
    store.purge_ended_tokens(tenant, MAX_ENDED_TOKENS, &stored_time(Timestamp::now()))
}

/// Creates a token that stops working at `expires_at` (when given).
pub fn create_token_expiring(
    store: &Store,
    scope: Scope,
    tenant: &str,
    label: &str,
    expires_at: Option<Timestamp>,
) -> Result<(String, i64), String> {
    if !valid_tenant(tenant) {
        return Err(format!(
            "tenant `{tenant}`: use 1–64 letters, digits, `-`, `_` or `.`"
        ));
    }
    if label.chars().count() > MAX_LABEL {
        return Err(format!("label: at most {MAX_LABEL} characters"));
    }
    let token = new_token()?;
    let expires = expires_at.map(stored_time);
    let id = store
        .create_token(&NewToken {
            hash: &hash_token(&token),
            scope: scope.as_str(),
            tenant,
            label,
            expires_at: expires.as_deref(),
        })
        .map_err(|e| e.to_string())?;
    Ok((token, id))
}

/// A time as the store keeps token times: RFC 3339 UTC, whole seconds (text order is time
/// order).
pub fn stored_time(t: Timestamp) -> String {
    Timestamp(t.0.div_euclid(1000) * 1000).to_rfc3339()
}

/// The expiry a rotated token's successor gets when none is asked for: the old token's
/// lifetime, from now (none when the old one did not expire).
pub fn inherited_expiry(old: &warden_store::TokenRecord) -> Option<Timestamp> {
    let created = Timestamp::parse_rfc3339(&old.created_at)?;
    let expires = Timestamp::parse_rfc3339(old.expires_at.as_deref()?)?;
    let lifetime = (expires.0 - created.0).max(1_000);
    Some(Timestamp(Timestamp::now().0.saturating_add(lifetime)))
}

/// A duration written as a number and a unit (`90d`, `12h`, `30m`, `45s`), in seconds.
pub fn parse_duration(s: &str) -> Option<i64> {
    let s = s.trim();
    let unit = s.chars().last()?;
    let n: i64 = s[..s.len() - unit.len_utf8()].parse().ok()?;
    let per = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return None,
    };
    (n > 0).then(|| n.checked_mul(per)).flatten()
}

/// What the caller authenticated with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Credential {
    /// A Warden token (its id in the store).
    Token(i64),
    /// A JWT from the identity provider (its `sub`).
    Jwt(String),
}

/// The caller, once authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub credential: Credential,
    pub tenant: String,
    pub scope: Scope,
    /// When the token stops working (epoch milliseconds), if it expires.
    pub expires_at: Option<i64>,
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
        match &self.credential {
            Credential::Token(id) => format!("token:{id}"),
            Credential::Jwt(sub) => format!("jwt:{sub}"),
        }
    }

    /// The store id of the caller's Warden token (none for a JWT).
    pub fn token_id(&self) -> Option<i64> {
        match self.credential {
            Credential::Token(id) => Some(id),
            Credential::Jwt(_) => None,
        }
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 4096);
        let Some(token) = token else {
            state.tokens.refused(Refused::Missing);
            return Err(ApiError::Unauthorized);
        };
        if let Some(jwt) = &state.jwt
            && crate::jwt::looks_like_jwt(token)
        {
            return jwt.authenticate(token).await.map_err(|why| {
                state.tokens.refused(match why {
                    crate::jwt::JwtRefusal::Invalid => Refused::InvalidJwt,
                    crate::jwt::JwtRefusal::Expired => Refused::Expired,
                });
                ApiError::Unauthorized
            });
        }
        let found = state.tokens.authenticate(state, token).await;
        match found {
            Ok(p) => Ok(p),
            Err(Refused::Store(e)) => Err(e),
            Err(why) => {
                state.tokens.refused(why);
                Err(ApiError::Unauthorized)
            }
        }
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
        assert_eq!(parse_duration("90d"), Some(90 * 86_400));
        assert_eq!(parse_duration("2w"), Some(14 * 86_400));
        assert_eq!(parse_duration("45s"), Some(45));
        for bad in ["", "d", "0h", "-3d", "3y", "9999999999999999999d", "1é"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
        assert_eq!(stored_time(Timestamp(1_500)), "1970-01-01T00:00:01Z");
    }
}
