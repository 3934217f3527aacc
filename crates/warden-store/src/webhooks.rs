//! Webhooks of the service, per tenant, and their dead letters: deliveries that failed
//! after every retry, kept with the body that was to be sent so they can be replayed.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use crate::StoreError;
use crate::store::{Store, now, q};

/// A registered webhook. The secret signs deliveries; it is never listed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WebhookRecord {
    pub id: i64,
    pub tenant: String,
    pub url: String,
    #[serde(skip)]
    pub secret: String,
    pub min_level: String,
    /// Event kinds it receives (`alert.created`, `test`).
    pub events: Vec<String>,
    pub created_at: String,
}

/// A delivery given up on.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DeadLetter {
    pub id: i64,
    pub webhook_id: i64,
    pub body: String,
    pub error: String,
    pub attempts: i64,
    pub created_at: String,
    pub replayed_at: Option<String>,
}

fn webhook_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<WebhookRecord> {
    let events: String = r.get(5)?;
    Ok(WebhookRecord {
        id: r.get(0)?,
        tenant: r.get(1)?,
        url: r.get(2)?,
        secret: r.get(3)?,
        min_level: r.get(4)?,
        events: events
            .split(',')
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
            .collect(),
        created_at: r.get(6)?,
    })
}

fn dead_letter_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeadLetter> {
    Ok(DeadLetter {
        id: r.get(0)?,
        webhook_id: r.get(1)?,
        body: r.get(2)?,
        error: r.get(3)?,
        attempts: r.get(4)?,
        created_at: r.get(5)?,
        replayed_at: r.get(6)?,
    })
}

const WEBHOOK_COLUMNS: &str = "id, tenant, url, secret, min_level, events, created_at";

impl Store {
    pub fn create_webhook(
        &self,
        tenant: &str,
        url: &str,
        secret: &str,
        min_level: &str,
        events: &[String],
    ) -> Result<i64, StoreError> {
        self.conn
            .execute(
                "INSERT INTO webhooks (tenant, url, secret, min_level, events, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![tenant, url, secret, min_level, events.join(","), now()],
            )
            .map_err(q("creating a webhook"))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// A tenant's webhooks (all tenants' with `None`: the delivery worker's view).
    pub fn webhooks(&self, tenant: Option<&str>) -> Result<Vec<WebhookRecord>, StoreError> {
        let sql = format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE (?1 IS NULL OR tenant = ?1) ORDER BY id"
        );
        let mut stmt = self
            .conn
            .prepare_cached(&sql)
            .map_err(q("listing webhooks"))?;
        let rows = stmt
            .query_map(params![tenant], webhook_row)
            .map_err(q("listing webhooks"))?;
        rows.collect::<Result<_, _>>()
            .map_err(q("listing webhooks"))
    }

    pub fn webhook(&self, tenant: &str, id: i64) -> Result<Option<WebhookRecord>, StoreError> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE tenant = ?1 AND id = ?2");
        self.conn
            .query_row(&sql, params![tenant, id], webhook_row)
            .optional()
            .map_err(q("reading a webhook"))
    }

    /// Deletes one of a tenant's webhooks; whether it existed.
    pub fn delete_webhook(&self, tenant: &str, id: i64) -> Result<bool, StoreError> {
        let n = self
            .conn
            .execute(
                "DELETE FROM webhooks WHERE tenant = ?1 AND id = ?2",
                params![tenant, id],
            )
            .map_err(q("deleting a webhook"))?;
        Ok(n > 0)
    }

    pub fn add_dead_letter(
        &self,
        tenant: &str,
        webhook_id: i64,
        body: &str,
        error: &str,
        attempts: u32,
    ) -> Result<i64, StoreError> {
        self.conn
            .execute(
                "INSERT INTO dead_letters (tenant, webhook_id, body, error, attempts, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![tenant, webhook_id, body, error, attempts, now()],
            )
            .map_err(q("recording a dead letter"))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// A tenant's dead letters, newest first (at most `limit`).
    pub fn dead_letters(&self, tenant: &str, limit: usize) -> Result<Vec<DeadLetter>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, webhook_id, body, error, attempts, created_at, replayed_at
                 FROM dead_letters WHERE tenant = ?1 ORDER BY id DESC LIMIT ?2",
            )
            .map_err(q("listing dead letters"))?;
        let rows = stmt
            .query_map(
                params![tenant, limit.clamp(1, 1000) as i64],
                dead_letter_row,
            )
            .map_err(q("listing dead letters"))?;
        rows.collect::<Result<_, _>>()
            .map_err(q("listing dead letters"))
    }

    /// One dead letter of a tenant.
    pub fn dead_letter(&self, tenant: &str, id: i64) -> Result<Option<DeadLetter>, StoreError> {
        self.conn
            .query_row(
                "SELECT id, webhook_id, body, error, attempts, created_at, replayed_at
                 FROM dead_letters WHERE tenant = ?1 AND id = ?2",
                params![tenant, id],
                dead_letter_row,
            )
            .optional()
            .map_err(q("reading a dead letter"))
    }

    pub fn mark_replayed(&self, tenant: &str, id: i64) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE dead_letters SET replayed_at = ?3 WHERE tenant = ?1 AND id = ?2",
                params![tenant, id, now()],
            )
            .map_err(q("marking a dead letter replayed"))?;
        Ok(())
    }
}
