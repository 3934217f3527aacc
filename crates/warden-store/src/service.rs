//! What the detection service keeps beside alerts: tenant-scoped alert queries with cursor
//! pagination, the triage workflow (status, assignee, classification) with every change in
//! the append-only audit log in the same transaction, and API tokens (hashes only).
//!
//! Every query here takes the tenant and filters on it: no call can read or change another
//! tenant's rows.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use warden_event::ThreatLevel;

use crate::StoreError;
use crate::store::{Store, level_rank, now, q};

/// Largest page of alerts or audit entries.
pub const MAX_PAGE: usize = 1000;

/// Filters for [`Store::alert_page`]; all optional but the tenant.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub tenant: String,
    pub min_level: Option<ThreatLevel>,
    pub user: Option<String>,
    /// An anomaly type among the alert's primary anomalies.
    pub anomaly: Option<String>,
    pub status: Option<String>,
    /// RFC 3339 event-time bounds, inclusive.
    pub from: Option<String>,
    pub to: Option<String>,
    /// Cursor: the last alert of the previous page (its id; with a score or time sort,
    /// also its sort value in `after_key`).
    pub before_id: Option<i64>,
    /// The previous page's last sort value (score or event time), for [`AlertSort`]s
    /// other than by id.
    pub after_key: Option<SortKey>,
    /// Exact levels (a set); `None`: any (`min_level` still applies).
    pub levels: Option<Vec<ThreatLevel>>,
    pub sort: AlertSort,
    /// Stream channels (`behavior`, `network`, …); `None`: every channel. Only the
    /// stream's backlog ([`Store::alerts_after`]) reads it.
    pub channels: Option<Vec<String>>,
    /// Oldest / lowest first; the default is newest / highest first.
    pub ascending: bool,
    /// Page size (1..=[`MAX_PAGE`]).
    pub limit: usize,
}

/// The order of an alert page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AlertSort {
    /// By id: the order alerts were stored.
    #[default]
    Id,
    Score,
    /// By event time.
    Time,
}

/// A sort value carried by a cursor.
#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    Score(f64),
    Time(String),
}

impl AlertSort {
    fn column(self) -> &'static str {
        match self {
            AlertSort::Id => "id",
            AlertSort::Score => "score",
            AlertSort::Time => "ts",
        }
    }

    /// The cursor value of an alert under this sort.
    pub fn key_of(self, a: &AlertRecord) -> Option<SortKey> {
        match self {
            AlertSort::Id => None,
            AlertSort::Score => Some(SortKey::Score(a.threat_score)),
            AlertSort::Time => Some(SortKey::Time(a.timestamp.clone())),
        }
    }

    /// The cursor after `a` in a listing under this sort: its id, and with a score or time
    /// sort its sort value (`<value>~<id>`).
    pub fn cursor_of(self, a: &AlertRecord) -> String {
        match self.key_of(a) {
            Some(SortKey::Score(v)) => format!("{v}~{}", a.id),
            Some(SortKey::Time(t)) => format!("{t}~{}", a.id),
            None => a.id.to_string(),
        }
    }

    /// Reads a cursor of a listing under this sort: `None` for anything
    /// [`AlertSort::cursor_of`] does not write (a cursor comes from clients: a score must
    /// be a finite number, a time at most 40 bytes, an id a whole number).
    pub fn parse_cursor(self, c: &str) -> Option<(i64, Option<SortKey>)> {
        match self {
            AlertSort::Id => c.parse().ok().map(|id| (id, None)),
            AlertSort::Score => {
                let (v, id) = c.rsplit_once('~')?;
                let v: f64 = v.parse().ok().filter(|v: &f64| v.is_finite())?;
                Some((id.parse().ok()?, Some(SortKey::Score(v))))
            }
            AlertSort::Time => {
                let (v, id) = c.rsplit_once('~')?;
                if v.len() > 40 {
                    return None;
                }
                Some((id.parse().ok()?, Some(SortKey::Time(v.to_owned()))))
            }
        }
    }
}

/// The filter part shared by a page and a count (`?1`…`?7`, `?10`).
const ALERT_WHERE: &str = "tenant = ?1 AND level_rank >= ?2 AND (?3 IS NULL OR user_id = ?3)
       AND (?4 IS NULL OR instr(',' || primary_anomalies || ',', ',' || ?4 || ',') > 0)
       AND (?5 IS NULL OR status = ?5) AND (?6 IS NULL OR ts >= ?6)
       AND (?7 IS NULL OR ts <= ?7) AND (?10 IS NULL OR ((?10 >> level_rank) & 1) = 1)";

fn level_mask(levels: Option<&[ThreatLevel]>) -> Option<i64> {
    levels.map(|ls| ls.iter().fold(0i64, |m, l| m | (1 << level_rank(*l))))
}

/// One stored alert with its triage state.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AlertRecord {
    pub id: i64,
    pub event_id: String,
    pub user_id: String,
    pub timestamp: String,
    pub threat_score: f64,
    pub threat_level: String,
    pub primary_anomalies: Vec<String>,
    pub explanation: String,
    pub status: String,
    pub assignee: Option<String>,
    pub classification: Option<String>,
    pub created_at: String,
    pub updated_at: Option<String>,
    /// The whole alert ([`warden_event::Alert`]) as JSON; `null` where a listing leaves
    /// bodies out.
    pub alert: serde_json::Value,
    /// The detector family that raised it (`ueba`, `sigma`, `flow`, …).
    pub detector: String,
    /// The stream channel it is published on (`behavior`, `threat`, `network`, …).
    pub channel: String,
}

/// A triage change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertChange {
    pub status: Option<String>,
    /// `Some(None)` clears the assignee.
    pub assignee: Option<Option<String>>,
    pub classification: Option<String>,
}

impl AlertChange {
    /// The change in words, as the audit log writes it.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = &self.status {
            parts.push(format!("status={s}"));
        }
        if let Some(a) = &self.assignee {
            parts.push(format!("assignee={}", a.as_deref().unwrap_or("")));
        }
        if let Some(c) = &self.classification {
            parts.push(format!("classification={c}"));
        }
        parts.join(" ")
    }
}

/// One audit log entry.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AuditEntry {
    pub id: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub at: String,
}

/// How a change of alerts is written to the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAs<'a> {
    /// An entry per alert changed (target `alert:<id>`).
    EachAlert,
    /// One entry for the whole change, with this target and the number of alerts.
    One(&'a str),
    /// No entry: the caller writes one for a change it makes in several calls (so that
    /// no call holds the store for long).
    Caller,
}

const ALERT_COLUMNS: &str =
    "id, COALESCE(event_key, event_id), user_id, ts, score, level, primary_anomalies, explanation,
    status, assignee, classification, created_at, updated_at, body, detector, channel, tenant";

fn alert_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AlertRecord> {
    let primary: String = r.get(6)?;
    let body: String = r.get(13)?;
    Ok(AlertRecord {
        id: r.get(0)?,
        event_id: r.get(1)?,
        user_id: r.get(2)?,
        timestamp: r.get(3)?,
        // Stored from an f32: back to the one decimal it was scored with.
        threat_score: (r.get::<_, f64>(4)? * 10.0).round() / 10.0,
        threat_level: r.get(5)?,
        primary_anomalies: primary
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        explanation: r.get(7)?,
        status: r.get(8)?,
        assignee: r.get(9)?,
        classification: r.get(10)?,
        created_at: r.get(11)?,
        updated_at: r.get(12)?,
        alert: crate::legacy::alert_body(
            &body,
            r.get::<_, String>(16)?.as_str(),
            r.get::<_, String>(14)?.as_str(),
        ),
        detector: r.get(14)?,
        channel: r.get(15)?,
    })
}

impl Store {
    /// A page of a tenant's alerts, newest first (by id), matching the filter.
    pub fn alert_page(&self, f: &AlertFilter) -> Result<Vec<AlertRecord>, StoreError> {
        let (cmp, dir) = if f.ascending {
            (">", "ASC")
        } else {
            ("<", "DESC")
        };
        let col = f.sort.column();
        // Keyset pagination: strictly after the previous page's last (value, id).
        let cursor = match f.sort {
            AlertSort::Id => format!("(?8 IS NULL OR id {cmp} ?8)"),
            _ => format!("(?8 IS NULL OR {col} {cmp} ?11 OR ({col} = ?11 AND id {cmp} ?8))"),
        };
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE {ALERT_WHERE} AND {cursor}
             ORDER BY {col} {dir}, id {dir} LIMIT ?9"
        );
        let key: Option<rusqlite::types::Value> = match &f.after_key {
            Some(SortKey::Score(v)) => Some((*v).into()),
            Some(SortKey::Time(t)) => Some(t.clone().into()),
            None => None,
        };
        let mut stmt = self
            .conn
            .prepare_cached(&sql)
            .map_err(q("listing alerts"))?;
        let mut params: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(11);
        let min_rank = f.min_level.map_or(0, level_rank);
        let limit = f.limit.clamp(1, MAX_PAGE) as i64;
        let mask = level_mask(f.levels.as_deref());
        params.extend([
            &f.tenant as &dyn rusqlite::ToSql,
            &min_rank,
            &f.user,
            &f.anomaly,
            &f.status,
            &f.from,
            &f.to,
            &f.before_id,
            &limit,
            &mask,
        ]);
        if f.sort != AlertSort::Id {
            params.push(&key);
        }
        let rows = stmt
            .query_map(params.as_slice(), alert_row)
            .map_err(q("listing alerts"))?;
        rows.collect::<Result<_, _>>().map_err(q("listing alerts"))
    }

    /// How many alerts match the filter (its cursor, sort and limit aside).
    pub fn alert_count(&self, f: &AlertFilter) -> Result<i64, StoreError> {
        let sql = format!(
            "SELECT COUNT(*) FROM alerts WHERE {ALERT_WHERE} AND ?8 IS NULL AND ?9 IS NULL"
        );
        let mut stmt = self
            .conn
            .prepare_cached(&sql)
            .map_err(q("counting alerts"))?;
        stmt.query_row(
            params![
                f.tenant,
                f.min_level.map_or(0, level_rank),
                f.user,
                f.anomaly,
                f.status,
                f.from,
                f.to,
                None::<i64>,
                None::<i64>,
                level_mask(f.levels.as_deref()),
            ],
            |r| r.get(0),
        )
        .map_err(q("counting alerts"))
    }

    /// A tenant's alerts with ids above `after_id`, oldest first (a stream's backlog), that
    /// match the filter's level, user and anomaly type.
    pub fn alerts_after(
        &self,
        f: &AlertFilter,
        after_id: i64,
    ) -> Result<Vec<AlertRecord>, StoreError> {
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts
             WHERE tenant = ?1 AND id > ?2 AND level_rank >= ?3 AND (?4 IS NULL OR user_id = ?4)
               AND (?5 IS NULL OR instr(',' || primary_anomalies || ',', ',' || ?5 || ',') > 0)
               AND (?7 IS NULL OR instr(?7, ',' || channel || ',') > 0)
             ORDER BY id ASC LIMIT ?6"
        );
        let mut stmt = self
            .conn
            .prepare_cached(&sql)
            .map_err(q("reading new alerts"))?;
        let rows = stmt
            .query_map(
                params![
                    f.tenant,
                    after_id,
                    f.min_level.map_or(0, level_rank),
                    f.user,
                    f.anomaly,
                    f.limit.clamp(1, MAX_PAGE) as i64,
                    f.channels.as_ref().map(|c| format!(",{},", c.join(","))),
                ],
                alert_row,
            )
            .map_err(q("reading new alerts"))?;
        rows.collect::<Result<_, _>>()
            .map_err(q("reading new alerts"))
    }

    /// A tenant's alerts ordered by user then event time (for grouping into incidents), at
    /// most `cap`, with event times within `[from, to]` when given — without their
    /// explanation and body (empty and `null` here).
    pub fn alerts_by_user(
        &self,
        tenant: &str,
        from: Option<&str>,
        to: Option<&str>,
        cap: usize,
    ) -> Result<Vec<AlertRecord>, StoreError> {
        // Without the explanation and the body (kilobytes each): grouping needs neither, and
        // a large tenant has many alerts.
        let sql = "SELECT id, COALESCE(event_key, event_id), user_id, ts, score, level, primary_anomalies, '', status,
             assignee, classification, created_at, updated_at, 'null', detector, channel, tenant FROM alerts
             WHERE tenant = ?1 AND (?2 IS NULL OR ts >= ?2) AND (?3 IS NULL OR ts <= ?3)
             ORDER BY user_id, ts, id LIMIT ?4";
        let mut stmt = self
            .conn
            .prepare_cached(sql)
            .map_err(q("grouping alerts"))?;
        let rows = stmt
            .query_map(params![tenant, from, to, cap as i64], alert_row)
            .map_err(q("grouping alerts"))?;
        rows.collect::<Result<_, _>>().map_err(q("grouping alerts"))
    }

    /// One of a tenant's alerts.
    pub fn alert(&self, tenant: &str, id: i64) -> Result<Option<AlertRecord>, StoreError> {
        let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE tenant = ?1 AND id = ?2");
        self.conn
            .query_row(&sql, params![tenant, id], alert_row)
            .optional()
            .map_err(q("reading an alert"))
    }

    /// Applies a triage change to some of a tenant's alerts, recording one audit entry per
    /// alert changed, all in one transaction. Returns the ids changed (ids of other tenants
    /// or unknown ids are skipped).
    pub fn update_alerts(
        &mut self,
        tenant: &str,
        ids: &[i64],
        change: &AlertChange,
        actor: &str,
    ) -> Result<Vec<i64>, StoreError> {
        self.update_alerts_as(tenant, ids, change, actor, AuditAs::EachAlert)
    }

    /// [`Store::update_alerts`], audited as asked: an entry per alert changed, or one
    /// entry for the whole change (an incident of many alerts).
    pub fn update_alerts_as(
        &mut self,
        tenant: &str,
        ids: &[i64],
        change: &AlertChange,
        actor: &str,
        audit_as: AuditAs<'_>,
    ) -> Result<Vec<i64>, StoreError> {
        let tx = self.conn.transaction().map_err(q("updating alerts"))?;
        let mut changed = Vec::new();
        {
            let mut update = tx
                .prepare_cached(
                    "UPDATE alerts SET status = COALESCE(?3, status),
                        assignee = CASE WHEN ?4 THEN ?5 ELSE assignee END,
                        classification = COALESCE(?6, classification), updated_at = ?7
                     WHERE tenant = ?1 AND id = ?2",
                )
                .map_err(q("updating alerts"))?;
            let mut audit = tx
                .prepare_cached(
                    "INSERT INTO audit (tenant, actor, action, target, detail, at)
                     VALUES (?1, ?2, 'alert.update', ?3, ?4, ?5)",
                )
                .map_err(q("updating alerts"))?;
            let at = now();
            let detail = change.describe();
            for id in ids {
                let n = update
                    .execute(params![
                        tenant,
                        id,
                        change.status,
                        change.assignee.is_some(),
                        change.assignee.clone().flatten(),
                        change.classification,
                        at,
                    ])
                    .map_err(q("updating alerts"))?;
                if n > 0 {
                    if audit_as == AuditAs::EachAlert {
                        audit
                            .execute(params![tenant, actor, format!("alert:{id}"), detail, at])
                            .map_err(q("updating alerts"))?;
                    }
                    changed.push(*id);
                }
            }
            if let AuditAs::One(target) = audit_as
                && !changed.is_empty()
            {
                let detail = format!("{detail} ({} alerts)", changed.len());
                audit
                    .execute(params![tenant, actor, target, detail, at])
                    .map_err(q("updating alerts"))?;
            }
        }
        tx.commit().map_err(q("updating alerts"))?;
        Ok(changed)
    }

    /// Appends an entry to a tenant's audit log.
    pub fn append_audit(
        &self,
        tenant: &str,
        actor: &str,
        action: &str,
        target: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO audit (tenant, actor, action, target, detail, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![tenant, actor, action, target, detail, now()],
            )
            .map_err(q("writing the audit log"))?;
        Ok(())
    }

    /// A page of a tenant's audit log, newest first; `before_id` is the cursor.
    pub fn audit_page(
        &self,
        tenant: &str,
        target: Option<&str>,
        before_id: Option<i64>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, actor, action, target, detail, at FROM audit
                 WHERE tenant = ?1 AND (?2 IS NULL OR id < ?2) AND (?4 IS NULL OR target = ?4)
                 ORDER BY id DESC LIMIT ?3",
            )
            .map_err(q("reading the audit log"))?;
        let rows = stmt
            .query_map(
                params![tenant, before_id, limit.clamp(1, MAX_PAGE) as i64, target],
                |r| {
                    Ok(AuditEntry {
                        id: r.get(0)?,
                        actor: r.get(1)?,
                        action: r.get(2)?,
                        target: r.get(3)?,
                        detail: r.get(4)?,
                        at: r.get(5)?,
                    })
                },
            )
            .map_err(q("reading the audit log"))?;
        rows.collect::<Result<_, _>>()
            .map_err(q("reading the audit log"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_event::{ThreatScore, UserActivity};

    fn alert(user: &str, event: &str, level: ThreatLevel) -> ThreatScore {
        let mut e = warden_engine_free_score(user, event);
        e.threat_level = level;
        e
    }

    /// A ThreatScore without the engine (the store must not depend on it).
    fn warden_engine_free_score(user: &str, event: &str) -> ThreatScore {
        let a = UserActivity::new(
            user,
            warden_event::ActivityType::Login,
            warden_event::Timestamp(1_775_000_000_000),
        );
        ThreatScore {
            event_id: Some(event.to_owned()),
            user_id: a.user_id.clone(),
            timestamp: a.timestamp.to_rfc3339(),
            threat_score: 60.0,
            threat_level: ThreatLevel::High,
            primary_anomalies: vec![warden_event::AnomalyType::NewDevice],
            confidence: 1.0,
            isolation_forest_score: None,
            lstm_autoencoder_score: None,
            xgboost_ensemble_score: None,
            models_unavailable: Vec::new(),
            models_sampled: false,
            impossible_travel_detected: false,
            unusual_time_detected: false,
            unusual_volume_detected: false,
            unusual_resources_detected: false,
            behavioral_deviation_score: 0.0,
            recommended_actions: Vec::new(),
            explanation: "x".into(),
            learning: false,
            anomalies: Vec::new(),
            cited_events: Vec::new(),
            features: None,
        }
    }

    fn filter(tenant: &str) -> AlertFilter {
        AlertFilter {
            tenant: tenant.into(),
            limit: 100,
            ..AlertFilter::default()
        }
    }

    #[test]
    fn tenants_never_see_each_others_alerts_and_ids_are_idempotent() {
        let mut s = Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
        let a = [alert("u1", "e1", ThreatLevel::High)];
        let first = s.save_scores("acme", None, &a).unwrap_or_default();
        let again = s.save_scores("acme", None, &a).unwrap_or_default();
        assert_eq!(first.len(), 1);
        assert!(first[0].1 && !again[0].1);
        assert_eq!(first[0].0, again[0].0, "same id on replay");
        // The same alert in another tenant is another row.
        let other = s.save_scores("globex", None, &a).unwrap_or_default();
        assert_ne!(other[0].0, first[0].0);
        assert_eq!(s.alert_page(&filter("acme")).unwrap_or_default().len(), 1);
        assert!(s.alert("globex", first[0].0).unwrap_or_default().is_none());
        // An update across tenants changes nothing.
        let change = AlertChange {
            status: Some("resolved".into()),
            ..AlertChange::default()
        };
        let changed = s
            .update_alerts("globex", &[first[0].0], &change, "t1")
            .unwrap_or_default();
        assert!(changed.is_empty());
        assert_eq!(
            s.alert("acme", first[0].0).ok().flatten().map(|a| a.status),
            Some("new".into())
        );
    }

    #[test]
    fn filters_cursor_and_the_audit_trail() {
        let mut s = Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
        let alerts: Vec<ThreatScore> = (0..25)
            .map(|i| {
                alert(
                    &format!("u{}", i % 3),
                    &format!("e{i}"),
                    if i % 5 == 0 {
                        ThreatLevel::Critical
                    } else {
                        ThreatLevel::Medium
                    },
                )
            })
            .collect();
        s.save_scores("acme", None, &alerts)
            .unwrap_or_else(|e| panic!("{e}"));
        // Pages of 10 cover all 25 once, newest first.
        let mut seen = Vec::new();
        let mut f = AlertFilter {
            limit: 10,
            ..filter("acme")
        };
        loop {
            let page = s.alert_page(&f).unwrap_or_default();
            if page.is_empty() {
                break;
            }
            f.before_id = page.last().map(|a| a.id);
            seen.extend(page.iter().map(|a| a.id));
        }
        assert_eq!(seen.len(), 25);
        assert!(seen.windows(2).all(|w| w[0] > w[1]));
        let critical = AlertFilter {
            min_level: Some(ThreatLevel::Critical),
            ..filter("acme")
        };
        assert_eq!(s.alert_page(&critical).unwrap_or_default().len(), 5);
        let by_user = AlertFilter {
            user: Some("u1".into()),
            anomaly: Some("new_device".into()),
            ..filter("acme")
        };
        assert_eq!(s.alert_page(&by_user).unwrap_or_default().len(), 8);
        let change = AlertChange {
            status: Some("acknowledged".into()),
            assignee: Some(Some("ana".into())),
            classification: None,
        };
        let ids: Vec<i64> = seen.iter().take(3).copied().collect();
        let changed = s
            .update_alerts("acme", &ids, &change, "token:1")
            .unwrap_or_default();
        assert_eq!(changed, ids);
        let acked = AlertFilter {
            status: Some("acknowledged".into()),
            ..filter("acme")
        };
        assert_eq!(s.alert_page(&acked).unwrap_or_default().len(), 3);
        let audit = s.audit_page("acme", None, None, 10).unwrap_or_default();
        assert_eq!(audit.len(), 3);
        assert!(audit[0].detail.contains("status=acknowledged assignee=ana"));
        assert!(
            s.audit_page("globex", None, None, 10)
                .unwrap_or_default()
                .is_empty()
        );
        // Append-only: the database refuses to rewrite or delete history.
        assert!(s.conn.execute("UPDATE audit SET actor = 'x'", []).is_err());
        assert!(s.conn.execute("DELETE FROM audit", []).is_err());
    }
}
