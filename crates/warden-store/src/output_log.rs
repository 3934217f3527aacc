//! The alerts table as the outputs' log: alert ids grow in the order alerts are stored, so
//! each configured output (syslog, Splunk HEC, Elasticsearch, a file) needs only a cursor —
//! the last alert id it has finished with — to be fed, after a restart or after falling
//! behind, every alert it has not had, in order.

use rusqlite::{OptionalExtension, params};
use warden_event::Alert;

use crate::StoreError;
use crate::store::{Store, now, q};

impl Store {
    /// The last alert id an output has finished with (none for an output never run).
    pub fn output_cursor(&self, name: &str) -> Result<Option<i64>, StoreError> {
        self.conn
            .query_row(
                "SELECT delivered_to FROM output_cursors WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()
            .map_err(q("reading an output's cursor"))
    }

    /// Moves an output's cursor (never back).
    pub fn set_output_cursor(&self, name: &str, delivered_to: i64) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO output_cursors (name, delivered_to, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (name) DO UPDATE SET
                   delivered_to = max(delivered_to, excluded.delivered_to),
                   updated_at = excluded.updated_at",
                params![name, delivered_to, now()],
            )
            .map_err(q("moving an output's cursor"))?;
        Ok(())
    }

    /// The newest alert's id (0 when there is none).
    pub fn last_alert_id(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("SELECT COALESCE(MAX(id), 0) FROM alerts", [], |r| r.get(0))
            .map_err(q("reading the last alert id"))
    }

    /// Up to `limit` alerts of every tenant after `after_id`, oldest first, with their
    /// ids; `None` for a body that no longer reads as an alert (a damaged row), so that
    /// the outputs pass it rather than stop at it.
    pub fn alerts_for_outputs(
        &self,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<(i64, Option<Alert>)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, body FROM alerts WHERE id > ?1 ORDER BY id LIMIT ?2")
            .map_err(q("reading alerts for the outputs"))?;
        let rows = stmt
            .query_map(params![after_id, limit.clamp(1, 10_000) as i64], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(q("reading alerts for the outputs"))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, body) = row.map_err(q("reading alerts for the outputs"))?;
            out.push((id, serde_json::from_str::<Alert>(&body).ok()));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_only_move_forward_and_alerts_come_in_id_order() {
        let s = Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.output_cursor("siem").ok().flatten(), None);
        assert_eq!(s.last_alert_id().ok(), Some(0));
        s.set_output_cursor("siem", 5)
            .unwrap_or_else(|e| panic!("{e}"));
        s.set_output_cursor("siem", 3)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.output_cursor("siem").ok().flatten(), Some(5));
        assert!(
            s.alerts_for_outputs(0, 10)
                .map(|a| a.is_empty())
                .unwrap_or(false)
        );
    }
}
