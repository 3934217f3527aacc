//! Tokens in memory, so that most requests do not touch the store, without letting a
//! withdrawn credential live on:
//!
//! - a known token is re-read from the store after `server.token_cache_secs`, and its
//!   expiry is checked on every request;
//! - a refused hash (unknown, revoked, expired) is remembered for the same time, so a flood
//!   of bad tokens does not queue on the store's lock;
//! - a revocation through the API takes effect at once: the cache forgets the token and
//!   every open stream of it ends ([`CredentialWatch`]); one made by `warden token revoke`
//!   in another process is picked up by a sweep of the store every `token_cache_secs`;
//! - store reads run on the blocking pool, never on the async workers;
//! - refusals are counted by reason, and a refused revoked or expired token is written to
//!   its tenant's audit log (at most once a minute per token).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use subtle::ConstantTimeEq;
use tokio::sync::watch;
use warden_event::Timestamp;

use crate::auth::{Credential, Principal, Scope, hash_token, stored_time};
use crate::error::ApiError;
use crate::state::AppState;

/// Most tokens remembered, known or refused (each map).
const MAX_CACHED: usize = 10_000;
/// A refused known token is audited at most this often.
const AUDIT_EVERY: Duration = Duration::from_secs(60);

/// Why a request was not authenticated.
#[derive(Debug)]
pub enum Refused {
    Missing,
    Unknown,
    Revoked,
    Expired,
    /// A JWT that failed verification (signature, issuer, audience, claims).
    InvalidJwt,
    /// The store could not be read (answered 500, not 401).
    Store(ApiError),
}

impl Refused {
    fn index(&self) -> Option<usize> {
        match self {
            Refused::Missing => Some(0),
            Refused::Unknown => Some(1),
            Refused::Revoked => Some(2),
            Refused::Expired => Some(3),
            Refused::InvalidJwt => Some(4),
            Refused::Store(_) => None,
        }
    }
}

const REASONS: [&str; 5] = ["missing", "unknown", "revoked", "expired", "invalid_jwt"];

/// See the module docs.
#[derive(Debug)]
pub struct TokenCache {
    ttl: Duration,
    known: RwLock<HashMap<String, (Principal, Instant)>>,
    refused: Mutex<HashMap<String, (usize, Instant)>>,
    revoked: RwLock<HashSet<i64>>,
    /// Expiries learnt after a token was cached (a rotation's grace period), epoch ms.
    expiries: RwLock<HashMap<i64, i64>>,
    changes: watch::Sender<u64>,
    failures: [AtomicU64; 5],
    audited: Mutex<HashMap<i64, Instant>>,
}

impl TokenCache {
    pub fn new(ttl: Duration) -> Self {
        TokenCache {
            ttl,
            known: RwLock::default(),
            refused: Mutex::default(),
            revoked: RwLock::default(),
            expiries: RwLock::default(),
            changes: watch::channel(0).0,
            failures: Default::default(),
            audited: Mutex::default(),
        }
    }

    /// The caller behind `token`, or why not.
    pub async fn authenticate(&self, state: &AppState, token: &str) -> Result<Principal, Refused> {
        let hash = hash_token(token);
        let now_ms = Timestamp::now().0;
        if let Some(p) = self.cached(&hash)? {
            return match p.expires_at {
                Some(e) if e <= now_ms => Err(Refused::Expired),
                _ => Ok(p),
            };
        }
        let st = state.clone();
        let looked = tokio::task::spawn_blocking(move || lookup(&st, &hash, now_ms))
            .await
            .map_err(|e| Refused::Store(ApiError::internal(e)))?;
        let (hash, verdict) = looked.map_err(Refused::Store)?;
        match verdict {
            Ok(p) => {
                self.remember(hash, p.clone());
                Ok(p)
            }
            Err(why) => {
                if let Some(i) = why.index() {
                    let mut refused = lock(&self.refused);
                    if refused.len() >= MAX_CACHED {
                        refused.clear();
                    }
                    refused.insert(hash, (i, Instant::now()));
                }
                Err(why)
            }
        }
    }

    /// A fresh cache entry: the principal, or the remembered refusal.
    fn cached(&self, hash: &str) -> Result<Option<Principal>, Refused> {
        if let Ok(map) = self.known.read()
            && let Some((key, (p, at))) = map.get_key_value(hash)
            && at.elapsed() < self.ttl
            && bool::from(key.as_bytes().ct_eq(hash.as_bytes()))
        {
            return Ok(Some(p.clone()));
        }
        if let Some((i, at)) = lock(&self.refused).get(hash)
            && at.elapsed() < self.ttl
        {
            return Err(match i {
                2 => Refused::Revoked,
                3 => Refused::Expired,
                _ => Refused::Unknown,
            });
        }
        Ok(None)
    }

    fn remember(&self, hash: String, p: Principal) {
        if let Ok(mut map) = self.known.write() {
            if map.len() >= MAX_CACHED {
                let ttl = self.ttl;
                map.retain(|_, (_, at)| at.elapsed() < ttl);
            }
            if map.len() < MAX_CACHED {
                map.insert(hash, (p, Instant::now()));
            }
        }
    }

    /// Counts a refusal.
    pub fn refused(&self, why: Refused) {
        if let Some(i) = why.index() {
            self.failures[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Forgets a token at once and ends its streams.
    pub fn revoke(&self, token_id: i64) {
        if let Ok(mut map) = self.known.write() {
            map.retain(|_, (p, _)| p.token_id() != Some(token_id));
        }
        let new = self
            .revoked
            .write()
            .map(|mut r| r.insert(token_id))
            .unwrap_or(true);
        if new {
            self.changes.send_modify(|g| *g += 1);
        }
    }

    /// Forgets a token so that its next use reads it again, and tells its streams of its
    /// new expiry (epoch ms), if it has one now.
    pub fn forget(&self, token_id: i64, expires_at: Option<i64>) {
        if let Ok(mut map) = self.known.write() {
            map.retain(|_, (p, _)| p.token_id() != Some(token_id));
        }
        if let Some(at) = expires_at
            && let Ok(mut e) = self.expiries.write()
        {
            if e.get(&token_id) == Some(&at) {
                return;
            }
            e.insert(token_id, at);
            drop(e);
            self.changes.send_modify(|g| *g += 1);
        }
    }

    fn expiry_of(&self, token_id: i64, cached: Option<i64>) -> Option<i64> {
        let learnt = self
            .expiries
            .read()
            .ok()
            .and_then(|e| e.get(&token_id).copied());
        match (cached, learnt) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn is_revoked(&self, token_id: i64) -> bool {
        self.revoked
            .read()
            .map(|r| r.contains(&token_id))
            .unwrap_or(false)
    }

    /// A watch on `p`'s token for a stream: it ends when the token is revoked or expires.
    pub fn watch(self: &Arc<Self>, p: &Principal) -> CredentialWatch {
        CredentialWatch {
            cache: self.clone(),
            rx: self.changes.subscribe(),
            token_id: p.token_id(),
            expires_at: p.expires_at,
        }
    }

    /// Whether a refusal of this known token should be audited now (once a minute).
    fn audit_due(&self, token_id: i64) -> bool {
        let mut audited = lock(&self.audited);
        if audited.len() >= MAX_CACHED {
            audited.clear();
        }
        match audited.get(&token_id) {
            Some(at) if at.elapsed() < AUDIT_EVERY => false,
            _ => {
                audited.insert(token_id, Instant::now());
                true
            }
        }
    }

    /// The Prometheus text of the refusals.
    pub fn render(&self) -> String {
        let mut out = String::from(
            "# HELP warden_auth_failures_total Requests refused for their credentials, by reason.\n# TYPE warden_auth_failures_total counter\n",
        );
        for (reason, n) in REASONS.iter().zip(&self.failures) {
            out.push_str(&format!(
                "warden_auth_failures_total{{reason=\"{reason}\"}} {}\n",
                n.load(Ordering::Relaxed)
            ));
        }
        out
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Caches: a panic elsewhere leaves them usable (each update is one step).
    m.lock().unwrap_or_else(|p| p.into_inner())
}

type Lookup = (String, Result<Principal, Refused>);

/// Reads the token from the store (a blocking call) and judges it; audits a refused
/// known token.
fn lookup(st: &AppState, hash: &str, now_ms: i64) -> Result<Lookup, ApiError> {
    let store = st.store();
    let record = store.token_by_hash(hash)?;
    let Some(r) = record.filter(|r| bool::from(r.hash.as_bytes().ct_eq(hash.as_bytes()))) else {
        return Ok((hash.to_owned(), Err(Refused::Unknown)));
    };
    let expires_at = r
        .expires_at
        .as_deref()
        .and_then(Timestamp::parse_rfc3339)
        .map(|t| t.0);
    let why = if r.revoked_at.is_some() {
        Some(Refused::Revoked)
    } else if expires_at.is_some_and(|e| e <= now_ms) {
        Some(Refused::Expired)
    } else {
        None
    };
    if let Some(why) = why {
        if st.tokens.audit_due(r.id) {
            let reason = if matches!(why, Refused::Revoked) {
                "revoked"
            } else {
                "expired"
            };
            let target = format!("token:{}", r.id);
            store.append_audit(&r.tenant, &target, "auth.refused", &target, reason)?;
        }
        return Ok((r.hash, Err(why)));
    }
    let Some(scope) = Scope::parse(&r.scope) else {
        return Ok((r.hash, Err(Refused::Unknown)));
    };
    let p = Principal {
        credential: Credential::Token(r.id),
        tenant: r.tenant,
        scope,
        expires_at,
    };
    Ok((r.hash, Ok(p)))
}

/// Ends a stream when its token is revoked or expires.
pub struct CredentialWatch {
    cache: Arc<TokenCache>,
    rx: watch::Receiver<u64>,
    /// None for a JWT: it cannot be revoked, and ends at its expiry.
    token_id: Option<i64>,
    expires_at: Option<i64>,
}

impl CredentialWatch {
    /// Resolves with the reason once the token may no longer be used.
    pub async fn ended(&mut self) -> &'static str {
        loop {
            if self.token_id.is_some_and(|id| self.cache.is_revoked(id)) {
                return "token revoked";
            }
            let expiry = match self.token_id {
                Some(id) => self.cache.expiry_of(id, self.expires_at),
                None => self.expires_at,
            };
            let until_expiry = async {
                match expiry {
                    Some(ms) => {
                        let left = ms.saturating_sub(Timestamp::now().0).max(0);
                        tokio::time::sleep(Duration::from_millis(left.unsigned_abs())).await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                changed = self.rx.changed() => {
                    if changed.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
                () = until_expiry => return "token expired",
            }
        }
    }
}

/// Every `token_cache_secs`, finds tokens revoked in the store by another process
/// (`warden token revoke`) and revokes them here too, and re-reads the tokens of open
/// streams for a new expiry (`warden token rotate --grace`).
pub fn start_sweeper(st: &AppState) {
    let st = st.clone();
    let every = st.tokens.ttl;
    tokio::spawn(async move {
        let mut since = Timestamp::now();
        let mut closing = st.closing.subscribe();
        loop {
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                _ = closing.wait_for(|c| *c) => return,
            }
            // A second's overlap: revocation times are whole seconds.
            let from = stored_time(Timestamp(since.0 - 1_000));
            let next = Timestamp::now();
            let (s, streaming) = (st.clone(), st.stream_slots.tokens());
            let found = tokio::task::spawn_blocking(move || {
                let store = s.store();
                let revoked = store.tokens_revoked_since(&from)?;
                let mut expiries = Vec::new();
                for id in streaming {
                    if let Some(t) = store.token(id, None)? {
                        let at = t.expires_at.as_deref().and_then(Timestamp::parse_rfc3339);
                        expiries.push((id, at.map(|t| t.0)));
                    }
                }
                Ok::<_, warden_store::StoreError>((revoked, expiries))
            })
            .await;
            match found {
                Ok(Ok((revoked, expiries))) => {
                    for id in revoked {
                        st.tokens.revoke(id);
                    }
                    for (id, at) in expiries {
                        if at.is_some() {
                            st.tokens.forget(id, at);
                        }
                    }
                    since = next;
                }
                Ok(Err(e)) => tracing::warn!("checking for revoked tokens: {e}"),
                Err(e) => tracing::warn!("checking for revoked tokens: {e}"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(id: i64) -> Principal {
        Principal {
            credential: Credential::Token(id),
            tenant: "acme".into(),
            scope: Scope::Read,
            expires_at: None,
        }
    }

    #[tokio::test]
    async fn a_revocation_forgets_the_token_and_ends_its_watches_only() {
        let cache = Arc::new(TokenCache::new(Duration::from_secs(60)));
        cache.remember("h1".into(), principal(1));
        cache.remember("h2".into(), principal(2));
        let mut one = cache.watch(&principal(1));
        let mut two = cache.watch(&principal(2));
        cache.revoke(1);
        assert!(matches!(cache.cached("h1"), Ok(None)));
        assert!(matches!(cache.cached("h2"), Ok(Some(_))));
        let ended = tokio::time::timeout(Duration::from_secs(1), one.ended()).await;
        assert_eq!(ended.ok(), Some("token revoked"));
        let other = tokio::time::timeout(Duration::from_millis(100), two.ended()).await;
        assert!(other.is_err(), "another token's stream goes on");
    }

    #[tokio::test]
    async fn an_expiring_token_ends_its_watch_when_it_expires() {
        let cache = Arc::new(TokenCache::new(Duration::from_secs(60)));
        let mut p = principal(3);
        p.expires_at = Some(Timestamp::now().0 + 50);
        let ended = tokio::time::timeout(Duration::from_secs(2), cache.watch(&p).ended()).await;
        assert_eq!(ended.ok(), Some("token expired"));
    }

    #[test]
    fn entries_go_stale_and_refusals_are_counted() {
        let cache = TokenCache::new(Duration::ZERO);
        cache.remember("h".into(), principal(1));
        assert!(matches!(cache.cached("h"), Ok(None)), "stale at once");
        cache.refused(Refused::Unknown);
        cache.refused(Refused::Revoked);
        cache.refused(Refused::Store(ApiError::internal("x")));
        let text = cache.render();
        assert!(text.contains("warden_auth_failures_total{reason=\"unknown\"} 1"));
        assert!(text.contains("warden_auth_failures_total{reason=\"revoked\"} 1"));
    }
}
