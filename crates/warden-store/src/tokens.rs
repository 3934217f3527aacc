//! API tokens as stored: the SHA-256 of each token (never the token), its scope, tenant and
//! label, when it expires, when it was revoked and which token replaced it on rotation.
//! Revoked and expired tokens are kept so that the audit log's references stay resolvable
//! (the service keeps the latest 10,000 ended tokens of each tenant, see
//! [`Store::purge_ended_tokens`]).

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use crate::StoreError;
use crate::store::{Store, now, q};

/// An API token as stored (never the token itself).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenRecord {
    pub id: i64,
    #[serde(skip)]
    pub hash: String,
    pub scope: String,
    pub tenant: String,
    pub label: String,
    pub created_at: String,
    /// RFC 3339 (UTC); none: it does not expire.
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    /// The token that replaced this one when it was rotated.
    pub replaced_by: Option<i64>,
}

impl TokenRecord {
    /// `active`, `expired` or `revoked`, now.
    pub fn state(&self) -> &'static str {
        self.state_at(&now())
    }

    /// The state at `at` (RFC 3339 UTC with `Z`, as the store writes times: text order is
    /// time order).
    pub fn state_at(&self, at: &str) -> &'static str {
        if self.revoked_at.is_some() {
            "revoked"
        } else if self.expires_at.as_deref().is_some_and(|e| e <= at) {
            "expired"
        } else {
            "active"
        }
    }
}

/// Which tokens a listing wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    /// Neither revoked nor expired: they still work.
    Live,
    /// Revoked or expired, kept for the audit log's references.
    Ended,
}

/// A token to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewToken<'a> {
    pub hash: &'a str,
    pub scope: &'a str,
    pub tenant: &'a str,
    pub label: &'a str,
    pub expires_at: Option<&'a str>,
}

const COLUMNS: &str =
    "id, hash, scope, tenant, label, created_at, expires_at, revoked_at, replaced_by";

fn record(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRecord> {
    Ok(TokenRecord {
        id: r.get(0)?,
        hash: r.get(1)?,
        scope: r.get(2)?,
        tenant: r.get(3)?,
        label: r.get(4)?,
        created_at: r.get(5)?,
        expires_at: r.get(6)?,
        revoked_at: r.get(7)?,
        replaced_by: r.get(8)?,
    })
}

impl Store {
    /// Stores a token's hash with its scope, tenant and expiry; returns its id.
    pub fn create_token(&self, t: &NewToken<'_>) -> Result<i64, StoreError> {
        self.conn
            .execute(
                "INSERT INTO tokens (hash, scope, tenant, label, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![t.hash, t.scope, t.tenant, t.label, now(), t.expires_at],
            )
            .map_err(q("creating a token"))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The token with this hash, if any (revoked and expired ones too).
    pub fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM tokens WHERE hash = ?1"),
                params![hash],
                record,
            )
            .optional()
            .map_err(q("reading a token"))
    }

    /// One token by id, within `tenant` when given.
    pub fn token(&self, id: i64, tenant: Option<&str>) -> Result<Option<TokenRecord>, StoreError> {
        self.conn
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM tokens WHERE id = ?1 AND (?2 IS NULL OR tenant = ?2)"
                ),
                params![id, tenant],
                record,
            )
            .optional()
            .map_err(q("reading a token"))
    }

    /// Every token (of `tenant` when given), oldest first.
    pub fn tokens(&self, tenant: Option<&str>) -> Result<Vec<TokenRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM tokens WHERE ?1 IS NULL OR tenant = ?1 ORDER BY id"
            ))
            .map_err(q("listing tokens"))?;
        let rows = stmt
            .query_map(params![tenant], record)
            .map_err(q("listing tokens"))?;
        rows.collect::<Result<_, _>>().map_err(q("listing tokens"))
    }

    /// A page of `tenant`'s tokens in id order: those after `after` (an id), in `state`
    /// when given (at `at`: RFC 3339 UTC with `Z`), at most `limit`.
    pub fn tokens_page(
        &self,
        tenant: &str,
        state: Option<TokenState>,
        after: i64,
        limit: usize,
        at: &str,
    ) -> Result<Vec<TokenRecord>, StoreError> {
        let live = "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?3)";
        let which = match state {
            None => "1".to_owned(),
            Some(TokenState::Live) => live.to_owned(),
            Some(TokenState::Ended) => format!("NOT ({live})"),
        };
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM tokens WHERE tenant = ?1 AND id > ?2 AND ({which})
                 ORDER BY id LIMIT ?4"
            ))
            .map_err(q("listing tokens"))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map(params![tenant, after, at, limit], record)
            .map_err(q("listing tokens"))?;
        rows.collect::<Result<_, _>>().map_err(q("listing tokens"))
    }

    /// Revokes a token (within `tenant` when given); the record as it is now, or `None`
    /// when there is no such token. Revoking twice keeps the first time.
    pub fn revoke_token(
        &self,
        id: i64,
        tenant: Option<&str>,
    ) -> Result<Option<TokenRecord>, StoreError> {
        self.conn
            .execute(
                "UPDATE tokens SET revoked_at = ?3
                 WHERE id = ?1 AND (?2 IS NULL OR tenant = ?2) AND revoked_at IS NULL",
                params![id, tenant, now()],
            )
            .map_err(q("revoking a token"))?;
        self.token(id, tenant)
    }

    /// Replaces a token by `new` (same scope and tenant, chosen by the caller) in one
    /// transaction: the old one is revoked now, or expires at `old_until` when that is
    /// sooner than its own expiry (a grace period for deployments to switch). Returns the
    /// new token's id, or `None` when the old one does not exist or is revoked.
    pub fn rotate_token(
        &mut self,
        id: i64,
        new: &NewToken<'_>,
        old_until: Option<&str>,
    ) -> Result<Option<i64>, StoreError> {
        let tx = self.conn.transaction().map_err(q("rotating a token"))?;
        let live: Option<i64> = tx
            .query_row(
                "SELECT id FROM tokens WHERE id = ?1 AND tenant = ?2 AND revoked_at IS NULL",
                params![id, new.tenant],
                |r| r.get(0),
            )
            .optional()
            .map_err(q("rotating a token"))?;
        if live.is_none() {
            return Ok(None);
        }
        tx.execute(
            "INSERT INTO tokens (hash, scope, tenant, label, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                new.hash,
                new.scope,
                new.tenant,
                new.label,
                now(),
                new.expires_at
            ],
        )
        .map_err(q("rotating a token"))?;
        let new_id = tx.last_insert_rowid();
        match old_until {
            // Times are stored as RFC 3339 UTC with `Z`: text order is time order.
            Some(until) => tx.execute(
                "UPDATE tokens SET replaced_by = ?2,
                 expires_at = CASE WHEN expires_at IS NULL OR expires_at > ?3 THEN ?3 ELSE expires_at END
                 WHERE id = ?1",
                params![id, new_id, until],
            ),
            None => tx.execute(
                "UPDATE tokens SET replaced_by = ?2, revoked_at = ?3 WHERE id = ?1",
                params![id, new_id, now()],
            ),
        }
        .map_err(q("rotating a token"))?;
        tx.commit().map_err(q("rotating a token"))?;
        Ok(Some(new_id))
    }

    /// How many of `tenant`'s tokens still work at `at` (RFC 3339 UTC): neither revoked nor
    /// expired; one rotated with a grace period counts until the grace ends.
    pub fn live_token_count(&self, tenant: &str, at: &str) -> Result<usize, StoreError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM tokens WHERE tenant = ?1 AND revoked_at IS NULL
                 AND (expires_at IS NULL OR expires_at > ?2)",
                params![tenant, at],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| usize::try_from(n).unwrap_or(0))
            .map_err(q("counting tokens"))
    }

    /// Deletes `tenant`'s ended tokens (revoked, or expired at `at`) but the `keep` that
    /// ended last; returns how many were deleted. Tokens that still work are never touched.
    pub fn purge_ended_tokens(
        &self,
        tenant: &str,
        keep: usize,
        at: &str,
    ) -> Result<usize, StoreError> {
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        // When a token ended: its revocation, or its expiry if that came first.
        self.conn
            .execute(
                "DELETE FROM tokens WHERE id IN (
                   SELECT id FROM tokens
                   WHERE tenant = ?1
                     AND (revoked_at IS NOT NULL OR (expires_at IS NOT NULL AND expires_at <= ?2))
                   ORDER BY CASE
                       WHEN revoked_at IS NULL THEN expires_at
                       WHEN expires_at IS NOT NULL AND expires_at < revoked_at THEN expires_at
                       ELSE revoked_at
                     END DESC, id DESC
                   LIMIT -1 OFFSET ?3)",
                params![tenant, at, keep],
            )
            .map_err(q("purging ended tokens"))
    }

    /// Ids of tokens revoked at or after `since` (RFC 3339 UTC), for services that cache
    /// tokens to drop them.
    pub fn tokens_revoked_since(&self, since: &str) -> Result<Vec<i64>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM tokens WHERE revoked_at IS NOT NULL AND revoked_at >= ?1")
            .map_err(q("listing revoked tokens"))?;
        let rows = stmt
            .query_map(params![since], |r| r.get(0))
            .map_err(q("listing revoked tokens"))?;
        rows.collect::<Result<_, _>>()
            .map_err(q("listing revoked tokens"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new<'a>(hash: &'a str, tenant: &'a str) -> NewToken<'a> {
        NewToken {
            hash,
            scope: "read",
            tenant,
            label: "ci",
            expires_at: None,
        }
    }

    #[test]
    fn tokens_are_found_by_hash_only() {
        let s = Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
        let id = s.create_token(&new("abc", "acme")).unwrap_or_default();
        let t = s.token_by_hash("abc").ok().flatten();
        assert_eq!(
            t.map(|t| (t.id, t.scope, t.tenant)),
            Some((id, "read".into(), "acme".into()))
        );
        assert!(s.token_by_hash("abd").ok().flatten().is_none());
        assert!(
            s.create_token(&new("abc", "x")).is_err(),
            "hashes are unique"
        );
    }

    #[test]
    fn revocation_is_scoped_by_tenant_and_kept() {
        let s = Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
        let id = s.create_token(&new("h1", "acme")).unwrap_or_default();
        assert!(
            s.revoke_token(id, Some("globex")).ok().flatten().is_none(),
            "another tenant's token is not found"
        );
        let first = s.revoke_token(id, Some("acme")).ok().flatten();
        let at = first.and_then(|t| t.revoked_at);
        assert!(at.is_some());
        let again = s.revoke_token(id, None).ok().flatten();
        assert_eq!(
            again.and_then(|t| t.revoked_at),
            at,
            "the first time is kept"
        );
        assert_eq!(
            s.tokens_revoked_since("2000-01-01T00:00:00Z")
                .unwrap_or_default(),
            vec![id]
        );
        assert!(
            s.tokens_revoked_since("2999-01-01T00:00:00Z")
                .unwrap_or_default()
                .is_empty()
        );
        assert_eq!(s.tokens(Some("acme")).map(|t| t.len()).unwrap_or(0), 1);
        let mut t = s
            .token(id, None)
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("token"));
        assert_eq!(t.state(), "revoked");
        t.revoked_at = None;
        t.expires_at = Some("2030-01-01T00:00:00Z".into());
        assert_eq!(t.state_at("2029-12-31T23:59:59Z"), "active");
        assert_eq!(t.state_at("2030-01-01T00:00:00Z"), "expired");
        assert_eq!(s.tokens(Some("globex")).map(|t| t.len()).unwrap_or(9), 0);
    }

    #[test]
    fn ended_tokens_do_not_count_and_the_latest_ended_are_kept() {
        let s = Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
        let make = |hash: &str, tenant: &str, expires_at: Option<&str>| {
            s.create_token(&NewToken {
                expires_at,
                ..new(hash, tenant)
            })
            .unwrap_or_else(|e| panic!("{e}"))
        };
        let active = make("a1", "acme", None);
        let later = make("a2", "acme", Some("2999-01-01T00:00:00Z"));
        make("e1", "acme", Some("2020-01-01T00:00:00Z"));
        make("e2", "acme", Some("2021-01-01T00:00:00Z"));
        // Revoked after it had expired: it ended when it expired.
        let r1 = make("r1", "acme", Some("2022-01-01T00:00:00Z"));
        let r2 = make("r2", "acme", None);
        let other = make("o1", "globex", Some("2019-01-01T00:00:00Z"));
        for id in [r1, r2] {
            assert!(s.revoke_token(id, None).ok().flatten().is_some());
        }
        let at = now();
        assert_eq!(s.live_token_count("acme", &at).ok(), Some(2));
        assert_eq!(s.live_token_count("globex", &at).ok(), Some(0));
        let ids = |tenant| {
            s.tokens(Some(tenant))
                .unwrap_or_default()
                .iter()
                .map(|t| t.id)
                .collect::<Vec<_>>()
        };
        // The two that ended last (r2 now, r1 in 2022) stay; e1 and e2 go.
        assert_eq!(s.purge_ended_tokens("acme", 2, &at).ok(), Some(2));
        assert_eq!(ids("acme"), vec![active, later, r1, r2]);
        assert_eq!(s.purge_ended_tokens("acme", 2, &at).ok(), Some(0));
        assert_eq!(s.purge_ended_tokens("acme", 0, &at).ok(), Some(2));
        assert_eq!(ids("acme"), vec![active, later], "tokens that work stay");
        assert_eq!(ids("globex"), vec![other], "another tenant's are its own");
        // A token whose expiry has not come is not ended, whatever `at` says of others.
        assert_eq!(
            s.purge_ended_tokens("acme", 0, "2998-12-31T00:00:00Z").ok(),
            Some(0)
        );
    }

    #[test]
    fn rotation_replaces_with_or_without_a_grace_period() {
        let mut s = Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
        let old = s.create_token(&new("h1", "acme")).unwrap_or_default();
        let grace = "2030-01-01T00:00:00Z";
        let next = s
            .rotate_token(old, &new("h2", "acme"), Some(grace))
            .ok()
            .flatten()
            .unwrap_or_default();
        let o = s.token(old, None).ok().flatten();
        assert_eq!(
            o.map(|t| (t.replaced_by, t.expires_at, t.revoked_at)),
            Some((Some(next), Some(grace.to_owned()), None))
        );
        let last = s
            .rotate_token(next, &new("h3", "acme"), None)
            .ok()
            .flatten();
        assert!(last.is_some());
        assert!(
            s.token(next, None)
                .ok()
                .flatten()
                .is_some_and(|t| t.revoked_at.is_some())
        );
        assert_eq!(
            s.rotate_token(next, &new("h4", "acme"), None)
                .ok()
                .flatten(),
            None,
            "a revoked token cannot be rotated"
        );
        assert_eq!(
            s.rotate_token(old, &new("h5", "globex"), None)
                .ok()
                .flatten(),
            None,
            "nor one of another tenant"
        );
    }

    #[test]
    fn tokens_are_listed_a_page_at_a_time_by_state() {
        let s = Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
        let mut ids = Vec::new();
        for k in 0..7 {
            let hash = format!("h{k}");
            let expires = (k == 5).then_some("2020-01-01T00:00:00Z");
            let t = NewToken {
                expires_at: expires,
                ..new(&hash, "acme")
            };
            ids.push(s.create_token(&t).unwrap_or_default());
        }
        s.create_token(&new("other", "globex")).unwrap_or_default();
        s.revoke_token(ids[2], Some("acme")).unwrap_or_default();
        let at = "2026-01-01T00:00:00Z";
        let page = |state, after, limit| -> Vec<i64> {
            s.tokens_page("acme", state, after, limit, at)
                .unwrap_or_default()
                .iter()
                .map(|t| t.id)
                .collect()
        };
        // Every token of the tenant, in pages, none of another tenant's.
        assert_eq!(page(None, 0, 4), ids[..4]);
        assert_eq!(page(None, ids[3], 4), ids[4..]);
        assert!(page(None, ids[6], 4).is_empty());
        // Those that still work, and those that ended (revoked, or expired at `at`).
        let live: Vec<i64> = [0, 1, 3, 4, 6].iter().map(|&k| ids[k]).collect();
        assert_eq!(page(Some(TokenState::Live), 0, 10), live);
        assert_eq!(page(Some(TokenState::Ended), 0, 10), [ids[2], ids[5]]);
        assert_eq!(page(Some(TokenState::Live), ids[1], 2), [ids[3], ids[4]]);
    }
}
