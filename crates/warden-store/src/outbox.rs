//! The webhook outbox: each delivery an alert causes is written in the transaction that
//! stores the alert, and leaves the outbox only when it was delivered or became a dead
//! letter. A crash or a kill between the commit and the delivery loses nothing: the next
//! start finds the deliveries waiting. Deliveries of one webhook are read in the order they
//! were written.

use std::collections::{BTreeSet, HashMap};

use rusqlite::{Transaction, params};
use serde::Serialize;

use crate::StoreError;
use crate::store::{Store, now, q};

/// A delivery an alert causes: to which webhook, as which event, with which body.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub tenant: String,
    pub webhook_id: i64,
    pub event: String,
    pub body: String,
}

/// A delivery waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pending {
    pub id: i64,
    pub tenant: String,
    pub webhook_id: i64,
    pub alert_id: i64,
    pub event: String,
    pub body: String,
    pub attempts: i64,
}

/// Deliveries being added in one transaction, with each tenant's waiting count.
pub(crate) struct Enqueue {
    limit: usize,
    waiting: HashMap<String, usize>,
    hooks: BTreeSet<i64>,
}

impl Enqueue {
    pub(crate) fn new(limit: usize) -> Self {
        Enqueue {
            limit,
            waiting: HashMap::new(),
            hooks: BTreeSet::new(),
        }
    }

    /// Puts `o` in the outbox, or among the dead letters when its tenant's outbox is full.
    pub(crate) fn add(
        &mut self,
        tx: &Transaction<'_>,
        alert_id: i64,
        o: &Outgoing,
    ) -> Result<(), StoreError> {
        let waiting = match self.waiting.get(&o.tenant) {
            Some(n) => *n,
            None => {
                let n: i64 = tx
                    .query_row(
                        "SELECT COUNT(*) FROM outbox WHERE tenant = ?1",
                        params![o.tenant],
                        |r| r.get(0),
                    )
                    .map_err(q("queueing a delivery"))?;
                usize::try_from(n).unwrap_or(usize::MAX)
            }
        };
        if waiting >= self.limit {
            tx.execute(
                "INSERT INTO dead_letters (tenant, webhook_id, body, error, attempts, created_at)
                 VALUES (?1, ?2, ?3, 'outbox full: the webhook is not keeping up', 0, ?4)",
                params![o.tenant, o.webhook_id, o.body, now()],
            )
            .map_err(q("queueing a delivery"))?;
            return Ok(());
        }
        tx.execute(
            "INSERT INTO outbox (tenant, webhook_id, alert_id, event, body, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![o.tenant, o.webhook_id, alert_id, o.event, o.body, now()],
        )
        .map_err(q("queueing a delivery"))?;
        self.waiting.insert(o.tenant.clone(), waiting + 1);
        self.hooks.insert(o.webhook_id);
        Ok(())
    }

    /// The webhooks that got deliveries.
    pub(crate) fn hooks(self) -> Vec<i64> {
        self.hooks.into_iter().collect()
    }
}

fn pending_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Pending> {
    Ok(Pending {
        id: r.get(0)?,
        tenant: r.get(1)?,
        webhook_id: r.get(2)?,
        alert_id: r.get(3)?,
        event: r.get(4)?,
        body: r.get(5)?,
        attempts: r.get(6)?,
    })
}

impl Store {
    /// The next deliveries of a webhook, oldest first.
    pub fn outbox_next(&self, webhook_id: i64, limit: usize) -> Result<Vec<Pending>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, tenant, webhook_id, alert_id, event, body, attempts FROM outbox
                 WHERE webhook_id = ?1 ORDER BY id LIMIT ?2",
            )
            .map_err(q("reading the outbox"))?;
        let rows = stmt
            .query_map(
                params![webhook_id, limit.clamp(1, 1000) as i64],
                pending_row,
            )
            .map_err(q("reading the outbox"))?;
        rows.collect::<Result<_, _>>()
            .map_err(q("reading the outbox"))
    }

    /// The webhooks with deliveries waiting (what a start resumes).
    pub fn outbox_webhooks(&self) -> Result<Vec<i64>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT DISTINCT webhook_id FROM outbox ORDER BY webhook_id")
            .map_err(q("reading the outbox"))?;
        let rows = stmt
            .query_map([], |r| r.get(0))
            .map_err(q("reading the outbox"))?;
        rows.collect::<Result<_, _>>()
            .map_err(q("reading the outbox"))
    }

    /// Deliveries waiting, per tenant when given.
    pub fn outbox_len(&self, tenant: Option<&str>) -> Result<i64, StoreError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM outbox WHERE ?1 IS NULL OR tenant = ?1",
                params![tenant],
                |r| r.get(0),
            )
            .map_err(q("reading the outbox"))
    }

    /// A delivery succeeded: it leaves the outbox.
    pub fn outbox_delivered(&self, id: i64) -> Result<(), StoreError> {
        self.conn
            .execute("DELETE FROM outbox WHERE id = ?1", params![id])
            .map_err(q("updating the outbox"))?;
        Ok(())
    }

    /// An attempt failed: counted, with its error.
    pub fn outbox_failed(&self, id: i64, error: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
                params![id, error],
            )
            .map_err(q("updating the outbox"))?;
        Ok(())
    }

    /// A delivery given up on after one more failed attempt: moved to the dead letters in
    /// one transaction.
    pub fn outbox_give_up(&mut self, id: i64, error: &str) -> Result<(), StoreError> {
        let tx = self.conn.transaction().map_err(q("updating the outbox"))?;
        tx.execute(
            "INSERT INTO dead_letters (tenant, webhook_id, body, error, attempts, created_at)
             SELECT tenant, webhook_id, body, ?2, attempts + 1, ?3 FROM outbox WHERE id = ?1",
            params![id, error, now()],
        )
        .map_err(q("updating the outbox"))?;
        tx.execute("DELETE FROM outbox WHERE id = ?1", params![id])
            .map_err(q("updating the outbox"))?;
        tx.commit().map_err(q("updating the outbox"))
    }

    /// Drops a deleted webhook's waiting deliveries; how many there were.
    pub fn outbox_forget(&self, webhook_id: i64) -> Result<usize, StoreError> {
        self.conn
            .execute(
                "DELETE FROM outbox WHERE webhook_id = ?1",
                params![webhook_id],
            )
            .map_err(q("updating the outbox"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_event::Alert;

    fn alert(tenant: &str, id: &str) -> Alert {
        let s = crate::store::tests::alert(id, "u", "2026-04-02T01:00:00Z", 80.0);
        Alert::from_threat_score(tenant, &s)
    }

    fn route(hook: i64) -> impl Fn(i64, &Alert) -> Vec<Outgoing> {
        move |id, a| {
            vec![Outgoing {
                tenant: a.tenant.clone(),
                webhook_id: hook,
                event: "alert.created".into(),
                body: format!("{{\"alert_id\":{id}}}"),
            }]
        }
    }

    #[test]
    fn deliveries_are_written_with_their_alerts_once_and_in_order() {
        let mut s = Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
        let batch = [alert("acme", "e1"), alert("acme", "e2")];
        let (saved, hooks) = s
            .save_alerts_routed(None, &batch, &route(7), 100)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(hooks, [7]);
        // A replay stores nothing and queues nothing.
        let (_, again) = s
            .save_alerts_routed(None, &batch, &route(7), 100)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(again.is_empty());
        let waiting = s.outbox_next(7, 10).unwrap_or_default();
        let ids: Vec<i64> = waiting.iter().map(|p| p.alert_id).collect();
        assert_eq!(ids, [saved[0].0, saved[1].0]);
        assert_eq!(s.outbox_webhooks().unwrap_or_default(), [7]);
        s.outbox_failed(waiting[0].id, "503")
            .unwrap_or_else(|e| panic!("{e}"));
        s.outbox_delivered(waiting[1].id)
            .unwrap_or_else(|e| panic!("{e}"));
        let left = s.outbox_next(7, 10).unwrap_or_default();
        assert_eq!((left.len(), left[0].attempts), (1, 1));
        s.outbox_give_up(left[0].id, "503 six times")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.outbox_len(None).unwrap_or(-1), 0);
        let dead = s.dead_letters("acme", 10).unwrap_or_default();
        assert_eq!(
            (dead.len(), dead[0].error.as_str(), dead[0].attempts),
            (1, "503 six times", 2)
        );
    }

    #[test]
    fn a_full_outbox_turns_deliveries_into_dead_letters() {
        let mut s = Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
        let batch = [
            alert("acme", "e1"),
            alert("acme", "e2"),
            alert("acme", "e3"),
        ];
        s.save_alerts_routed(None, &batch, &route(1), 2)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.outbox_len(Some("acme")).unwrap_or(-1), 2);
        let dead = s.dead_letters("acme", 10).unwrap_or_default();
        assert_eq!(dead.len(), 1);
        assert!(
            dead[0].error.starts_with("outbox full"),
            "{}",
            dead[0].error
        );
        assert_eq!(s.outbox_forget(1).unwrap_or(0), 2);
    }
}
