//! [`Store`]: the queries Warden runs against its database.

use crate::{StoreError, migrations};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use std::path::Path;
use warden_event::{Alert, ThreatLevel, ThreatScore};

/// What saving did to one alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// Stored for the first time.
    New,
    /// Stored before; this save replaced its body (a graph finding that grew).
    Updated,
    /// Stored before, unchanged (a replay).
    Same,
}

/// A handle on the database file.
pub struct Store {
    pub(crate) conn: Connection,
}

/// Totals recorded when a run finishes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunTotals {
    pub events: u64,
    pub parse_errors: u64,
    pub alerts: u64,
}

/// Filters for [`Store::list_alerts`].
#[derive(Debug, Clone, Default)]
pub struct AlertQuery {
    pub min_level: Option<ThreatLevel>,
    pub user: Option<String>,
    /// RFC 3339; alerts at or after this event time.
    pub since: Option<String>,
    pub limit: usize,
}

/// An alert read back from the store.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StoredAlert {
    pub id: i64,
    pub run_id: Option<i64>,
    pub event_id: String,
    pub user_id: String,
    pub timestamp: String,
    pub threat_score: f64,
    pub threat_level: String,
    pub primary_anomalies: Vec<String>,
    pub explanation: String,
}

/// A run read back from the store.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StoredRun {
    pub id: i64,
    pub command: String,
    pub inputs: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub events: i64,
    pub parse_errors: i64,
    pub alerts: i64,
}

/// What [`Store::save_alerts_routed`] did: each alert's id and state, and the webhooks
/// that got deliveries.
pub type Routed = (Vec<(i64, Saved)>, Vec<i64>);

/// How a commit reaches the disk (SQLite's `synchronous`, in WAL mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// Commits are durable across a crash of the process, not of the machine: a power loss
    /// can undo the last transactions. Fast; for runs that can be repeated (the CLI).
    #[default]
    Normal,
    /// Every commit is synced to the disk before it returns: an acknowledged write
    /// survives a power loss. The service's default.
    Full,
}

impl Durability {
    fn pragma(self) -> &'static str {
        match self {
            Durability::Normal => "NORMAL",
            Durability::Full => "FULL",
        }
    }
}

/// Creates the database file readable and writable by its owner only (it holds webhook
/// secrets and token hashes), unless it exists. SQLite gives its `-wal` and `-shm` files
/// the same permissions.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    match o.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub(crate) fn q(doing: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |source| StoreError::Query { doing, source }
}

pub(crate) fn level_rank(l: ThreatLevel) -> i64 {
    match l {
        ThreatLevel::Low => 0,
        ThreatLevel::Medium => 1,
        ThreatLevel::High => 2,
        ThreatLevel::Critical => 3,
    }
}

/// A new alert's row (ignored when its identity is stored already).
const INSERT_ALERT: &str = "INSERT OR IGNORE INTO alerts (tenant, run_id, event_id, user_id, ts,
     score, level, level_rank, primary_anomalies, explanation, body, created_at, detector,
     channel, event_key)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)";

/// An alert's id by its identity.
const FIND_ALERT: &str =
    "SELECT id FROM alerts WHERE tenant = ?1 AND user_id = ?2 AND ts = ?3 AND event_id = ?4";

/// A graph finding is reported again under its key as its path grows: the row takes the
/// latest body (score, explanation, steps); triage columns stay.
const GROW_FINDING: &str = "UPDATE alerts SET score = ?2, explanation = ?3, body = ?4,
     primary_anomalies = ?5 WHERE id = ?1 AND detector = 'graph' AND body <> ?4";

impl Store {
    /// Opens (creating if needed) the database at `path`, in WAL mode, migrated to the latest
    /// schema.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_durable(path, Durability::Normal)
    }

    /// Opens (creating it, readable by its owner only) with the durability asked for.
    pub fn open_durable(path: &Path, durability: Durability) -> Result<Self, StoreError> {
        let open_err = |source| StoreError::Open {
            path: path.display().to_string(),
            source,
        };
        create_private(path).map_err(|source| StoreError::Create {
            path: path.display().to_string(),
            source,
        })?;
        let conn = Connection::open(path).map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", durability.pragma())
            .map_err(open_err)?;
        Self::setup(conn).map_err(|e| match e {
            StoreError::Query { source, .. } => StoreError::Open {
                path: path.display().to_string(),
                source,
            },
            other => other,
        })
    }

    /// The durability in force (`NORMAL` or `FULL`).
    pub fn durability(&self) -> Result<Durability, StoreError> {
        let level: i64 = self
            .conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .map_err(q("reading the durability"))?;
        Ok(if level >= 2 {
            Durability::Full
        } else {
            Durability::Normal
        })
    }

    /// The database file (none for an in-memory database).
    pub fn file_path(&self) -> Option<String> {
        self.conn
            .path()
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
    }

    /// Another connection to the same database file, for reads only (`query_only`): long
    /// reads run on it without holding the writer's connection, and WAL lets it read while
    /// the writer commits. `None` for an in-memory database (it has no file to share).
    pub fn reader(&self) -> Result<Option<Store>, StoreError> {
        self.file_path().map(|p| Self::open_reader(&p)).transpose()
    }

    /// A read-only connection to the database file at `path`, which a [`Store::open`] has
    /// created and migrated.
    pub fn open_reader(path: &str) -> Result<Store, StoreError> {
        let open_err = |source| StoreError::Open {
            path: path.to_owned(),
            source,
        };
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
            | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX
            | rusqlite::OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(open_err)?;
        conn.pragma_update(None, "query_only", "ON")
            .map_err(open_err)?;
        Ok(Store { conn })
    }

    /// A private in-memory database (tests, dry runs).
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let conn = Connection::open_in_memory().map_err(|source| StoreError::Open {
            path: ":memory:".into(),
            source,
        })?;
        Self::setup(conn)
    }

    fn setup(mut conn: Connection) -> Result<Self, StoreError> {
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(q("configuring"))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(q("configuring"))?;
        migrations::migrate(&mut conn)?;
        Ok(Self { conn })
    }

    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(q("reading the schema version"))
    }

    /// The journal mode in force (`wal` for files).
    pub fn journal_mode(&self) -> Result<String, StoreError> {
        self.conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .map_err(q("reading the journal mode"))
    }

    pub fn begin_run(&self, command: &str, inputs: &[String]) -> Result<i64, StoreError> {
        self.conn
            .execute(
                "INSERT INTO runs (command, inputs, started_at) VALUES (?1, ?2, ?3)",
                params![command, inputs.join(" "), now()],
            )
            .map_err(q("recording a run"))?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn finish_run(&self, id: i64, t: RunTotals) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE runs SET finished_at = ?2, events = ?3, parse_errors = ?4, alerts = ?5 WHERE id = ?1",
                params![id, now(), t.events as i64, t.parse_errors as i64, t.alerts as i64],
            )
            .map_err(q("finishing a run"))?;
        Ok(())
    }

    /// Saves alerts in one transaction (durable when this returns), each under its own
    /// tenant. Returns each alert's id and whether it is new: an alert already stored
    /// (same tenant, subject, time and key) keeps its id, so replaying a batch or resuming
    /// a run never duplicates.
    pub fn save_alerts(
        &mut self,
        run_id: Option<i64>,
        alerts: &[Alert],
    ) -> Result<Vec<(i64, bool)>, StoreError> {
        Ok(self
            .save_alerts_detailed(run_id, alerts)?
            .into_iter()
            .map(|(id, s)| (id, s == Saved::New))
            .collect())
    }

    /// [`Store::save_alerts`], telling an alert stored before and unchanged from one whose
    /// stored body this call replaced (a graph finding whose path grew).
    pub fn save_alerts_detailed(
        &mut self,
        run_id: Option<i64>,
        alerts: &[Alert],
    ) -> Result<Vec<(i64, Saved)>, StoreError> {
        self.save_alerts_routed(run_id, alerts, &|_, _| Vec::new(), usize::MAX)
            .map(|(saved, _)| saved)
    }

    /// [`Store::save_alerts_detailed`], and in the same transaction the deliveries that
    /// `route` asks for each new alert (given its id) put in the outbox — so an alert is
    /// never stored without its deliveries, whatever happens after the commit. A tenant
    /// with `outbox_limit` deliveries waiting gets dead letters instead (`outbox full`),
    /// never a silent drop. Returns each alert's id and state, and the webhooks that got
    /// deliveries.
    pub fn save_alerts_routed(
        &mut self,
        run_id: Option<i64>,
        alerts: &[Alert],
        route: &dyn Fn(i64, &Alert) -> Vec<crate::Outgoing>,
        outbox_limit: usize,
    ) -> Result<Routed, StoreError> {
        let tx = self.conn.transaction().map_err(q("saving alerts"))?;
        let mut out = Vec::with_capacity(alerts.len());
        let mut queue = crate::outbox::Enqueue::new(outbox_limit);
        {
            let mut insert = tx
                .prepare_cached(INSERT_ALERT)
                .map_err(q("saving alerts"))?;
            let mut existing = tx.prepare_cached(FIND_ALERT).map_err(q("saving alerts"))?;
            let mut grow = tx
                .prepare_cached(GROW_FINDING)
                .map_err(q("saving alerts"))?;
            let created = now();
            for a in alerts {
                // Deduplicated on the identity (key and content digest), not the key alone.
                let identity = a.identity();
                let primary: Vec<&str> = a.primary_anomalies().iter().map(|t| t.as_str()).collect();
                let body = serde_json::to_string(a).map_err(StoreError::Encode)?;
                if a.detector.kind == warden_event::DetectorKind::Graph
                    && let Some(saved) =
                        grow_finding(&mut existing, &mut grow, a, &identity, &body, &primary)?
                {
                    out.push(saved);
                    continue;
                }
                let new = insert
                    .execute(params![
                        a.tenant,
                        run_id,
                        identity,
                        a.subject,
                        a.timestamp,
                        // One decimal, as scored: a sort cursor carries this exact value.
                        (f64::from(a.score) * 10.0).round() / 10.0,
                        a.level.as_str(),
                        level_rank(a.level),
                        primary.join(","),
                        a.explanation,
                        body,
                        created,
                        a.detector.kind.as_str(),
                        a.channel(),
                        a.key,
                    ])
                    .map_err(q("saving alerts"))?
                    > 0;
                let id = existing
                    .query_row(params![a.tenant, a.subject, a.timestamp, identity], |r| {
                        r.get(0)
                    })
                    .map_err(q("saving alerts"))?;
                if new {
                    for o in route(id, a) {
                        queue.add(&tx, id, &o)?;
                    }
                }
                out.push((id, if new { Saved::New } else { Saved::Same }));
            }
        }
        tx.commit().map_err(q("saving alerts"))?;
        Ok((out, queue.hooks()))
    }

    /// Behavioural scores saved as alerts of `tenant` ([`Alert::from_threat_score`]).
    pub fn save_scores(
        &mut self,
        tenant: &str,
        run_id: Option<i64>,
        scores: &[ThreatScore],
    ) -> Result<Vec<(i64, bool)>, StoreError> {
        let alerts: Vec<Alert> = scores
            .iter()
            .map(|s| Alert::from_threat_score(tenant, s))
            .collect();
        self.save_alerts(run_id, &alerts)
    }

    pub fn list_alerts(&self, f: &AlertQuery) -> Result<Vec<StoredAlert>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, run_id, COALESCE(event_key, event_id), user_id, ts, score, level, primary_anomalies, explanation
                 FROM alerts
                 WHERE level_rank >= ?1 AND (?2 IS NULL OR user_id = ?2) AND (?3 IS NULL OR ts >= ?3)
                 ORDER BY ts DESC, id DESC LIMIT ?4",
            )
            .map_err(q("listing alerts"))?;
        let rows = stmt
            .query_map(
                params![
                    f.min_level.map_or(0, level_rank),
                    f.user,
                    f.since,
                    if f.limit == 0 {
                        i64::MAX
                    } else {
                        f.limit as i64
                    }
                ],
                |r| {
                    let primary: String = r.get(7)?;
                    Ok(StoredAlert {
                        id: r.get(0)?,
                        run_id: r.get(1)?,
                        event_id: r.get(2)?,
                        user_id: r.get(3)?,
                        timestamp: r.get(4)?,
                        threat_score: r.get(5)?,
                        threat_level: r.get(6)?,
                        primary_anomalies: primary
                            .split(',')
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned)
                            .collect(),
                        explanation: r.get(8)?,
                    })
                },
            )
            .map_err(q("listing alerts"))?;
        rows.collect::<Result<_, _>>().map_err(q("listing alerts"))
    }

    pub fn list_runs(&self, limit: usize) -> Result<Vec<StoredRun>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, command, inputs, started_at, finished_at, events, parse_errors, alerts
                 FROM runs ORDER BY id DESC LIMIT ?1",
            )
            .map_err(q("listing runs"))?;
        let rows = stmt
            .query_map(params![limit as i64], |r| {
                Ok(StoredRun {
                    id: r.get(0)?,
                    command: r.get(1)?,
                    inputs: r.get(2)?,
                    started_at: r.get(3)?,
                    finished_at: r.get(4)?,
                    events: r.get(5)?,
                    parse_errors: r.get(6)?,
                    alerts: r.get(7)?,
                })
            })
            .map_err(q("listing runs"))?;
        rows.collect::<Result<_, _>>().map_err(q("listing runs"))
    }
}

/// A graph finding already stored under its identity takes the latest body (its path grew):
/// its id and whether it changed; `None` when it is not stored yet.
fn grow_finding(
    existing: &mut rusqlite::CachedStatement<'_>,
    grow: &mut rusqlite::CachedStatement<'_>,
    a: &Alert,
    identity: &str,
    body: &str,
    primary: &[&str],
) -> Result<Option<(i64, Saved)>, StoreError> {
    let id: Option<i64> = existing
        .query_row(params![a.tenant, a.subject, a.timestamp, identity], |r| {
            r.get(0)
        })
        .optional()
        .map_err(q("saving alerts"))?;
    let Some(id) = id else {
        return Ok(None);
    };
    let changed = grow
        .execute(params![
            id,
            (f64::from(a.score) * 10.0).round() / 10.0,
            a.explanation,
            body,
            primary.join(","),
        ])
        .map_err(q("saving alerts"))?;
    let saved = if changed > 0 {
        Saved::Updated
    } else {
        Saved::Same
    };
    Ok(Some((id, saved)))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use warden_event::{ActivityType, Timestamp, UserActivity};
    use warden_models::baseline::{ActivityKeys, Population, ProfileCaps, UserState};

    pub(crate) fn alert(id: &str, user: &str, ts: &str, score: f32) -> ThreatScore {
        ThreatScore {
            event_id: Some(id.into()),
            user_id: user.into(),
            timestamp: ts.into(),
            threat_score: score,
            threat_level: ThreatLevel::from_score(score, &Default::default()),
            primary_anomalies: vec![warden_event::AnomalyType::ImpossibleTravel],
            confidence: 0.9,
            isolation_forest_score: None,
            lstm_autoencoder_score: None,
            xgboost_ensemble_score: None,
            models_unavailable: Vec::new(),
            models_sampled: false,
            impossible_travel_detected: true,
            unusual_time_detected: false,
            unusual_volume_detected: false,
            unusual_resources_detected: false,
            behavioral_deviation_score: 0.3,
            recommended_actions: vec![],
            explanation: "because".into(),
            learning: false,
            anomalies: vec![],
            cited_events: Vec::new(),
            features: None,
        }
    }

    fn new_count(saved: Result<Vec<(i64, bool)>, StoreError>) -> usize {
        saved.unwrap().iter().filter(|(_, new)| *new).count()
    }

    #[test]
    fn file_store_uses_wal_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        {
            let mut s = Store::open(&path).unwrap();
            assert_eq!(s.journal_mode().unwrap(), "wal");
            let run = s.begin_run("detect", &["a.jsonl".into()]).unwrap();
            assert_eq!(
                new_count(s.save_scores(
                    crate::DEFAULT_TENANT,
                    Some(run),
                    &[alert("e1", "u1", "2026-04-02T01:00:00Z", 60.0)]
                )),
                1
            );
            s.finish_run(
                run,
                RunTotals {
                    events: 10,
                    parse_errors: 1,
                    alerts: 1,
                },
            )
            .unwrap();
        }
        let s = Store::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), migrations::LATEST);
        let runs = s.list_runs(10).unwrap();
        assert_eq!(runs[0].events, 10);
        assert!(runs[0].finished_at.is_some());
        assert_eq!(s.list_alerts(&AlertQuery::default()).unwrap().len(), 1);
    }

    #[test]
    fn a_new_store_file_is_private_and_durability_is_chosen() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.db");
        let s = Store::open_durable(&p, Durability::Full).unwrap();
        assert_eq!(s.durability().unwrap(), Durability::Full);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        }
        drop(s);
        assert_eq!(
            Store::open(&p).unwrap().durability().unwrap(),
            Durability::Normal
        );
    }

    #[test]
    fn a_reader_sees_commits_refuses_writes_and_does_not_block_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("w.db")).unwrap();
        assert!(Store::open_in_memory().unwrap().reader().unwrap().is_none());
        let r = s.reader().unwrap().unwrap();
        s.append_audit("acme", "token:1", "x.one", "t", "").unwrap();
        assert_eq!(r.audit_page("acme", None, None, 10).unwrap().len(), 1);
        assert!(r.append_audit("acme", "token:1", "x.two", "t", "").is_err());
        // A read under way (an open read transaction) does not stop a commit, and sees
        // the state it started with until it ends.
        r.conn.execute_batch("BEGIN").unwrap();
        assert_eq!(r.audit_page("acme", None, None, 10).unwrap().len(), 1);
        s.append_audit("acme", "token:1", "x.three", "t", "")
            .unwrap();
        assert_eq!(r.audit_page("acme", None, None, 10).unwrap().len(), 1);
        r.conn.execute_batch("COMMIT").unwrap();
        assert_eq!(r.audit_page("acme", None, None, 10).unwrap().len(), 2);
    }

    #[test]
    fn alerts_deduplicate_and_filter() {
        let mut s = Store::open_in_memory().unwrap();
        let batch = [
            alert("e1", "u1", "2026-04-02T01:00:00Z", 60.0),
            alert("e2", "u2", "2026-04-03T01:00:00Z", 30.0),
            alert("e3", "u1", "2026-04-04T01:00:00Z", 90.0),
        ];
        assert_eq!(new_count(s.save_scores("default", None, &batch)), 3);
        assert_eq!(
            new_count(s.save_scores("default", None, &batch)),
            0,
            "replays never duplicate"
        );
        let all = s.list_alerts(&AlertQuery::default()).unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].event_id, "e3", "newest first");
        let high = s
            .list_alerts(&AlertQuery {
                min_level: Some(ThreatLevel::High),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(high.len(), 2);
        let u1 = s
            .list_alerts(&AlertQuery {
                user: Some("u1".into()),
                since: Some("2026-04-03".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(u1.len(), 1);
        assert_eq!(u1[0].primary_anomalies, vec!["impossible_travel"]);
        let limited = s
            .list_alerts(&AlertQuery {
                limit: 1,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(limited.len(), 1);
    }

    #[test]
    fn an_alert_under_the_same_ids_but_another_content_is_not_a_duplicate() {
        let mut s = Store::open_in_memory().unwrap();
        let decoy = warden_event::Alert::from_threat_score(
            "acme",
            &alert("e1", "u1", "2026-04-02T01:00:00Z", 40.0),
        );
        let (mut sent_first, mut real) = (decoy.clone(), decoy);
        sent_first.digest = Some("aaaa".into());
        real.digest = Some("bbbb".into());
        real.score = 95.0;
        let first = s.save_alerts_detailed(None, &[sent_first.clone()]).unwrap();
        let second = s.save_alerts_detailed(None, &[real.clone()]).unwrap();
        assert_eq!(
            second[0].1,
            Saved::New,
            "the real alert is stored and notified"
        );
        assert_ne!(first[0].0, second[0].0);
        let replay = s.save_alerts_detailed(None, &[real]).unwrap();
        assert_eq!(
            replay[0],
            (second[0].0, Saved::Same),
            "a replay is still one alert"
        );
        let all = s.list_alerts(&AlertQuery::default()).unwrap();
        assert!(
            all.iter().all(|a| a.event_id == "e1"),
            "the key is shown, not the identity"
        );
    }

    #[test]
    fn baselines_round_trip() {
        let mut s = Store::open_in_memory().unwrap();
        let mut state = UserState::default();
        let mut pop = Population::default();
        let mut a = UserActivity::new("u1", ActivityType::Login, Timestamp(1_775_000_000_000));
        a.resource_accessed = Some("git".into());
        state
            .profile
            .learn(&a, &ActivityKeys::of(&a), &ProfileCaps::default(), &mut pop);
        pop.users = 1;
        let users = vec![("u1".to_string(), state.clone())];
        assert_eq!(
            s.save_baselines(users.iter().map(|(k, v)| (k, v)), &pop)
                .unwrap(),
            1
        );
        assert_eq!(
            s.save_baselines(users.iter().map(|(k, v)| (k, v)), &pop)
                .unwrap(),
            1
        );
        assert_eq!(s.baseline_count().unwrap(), 1);
        let (loaded, lpop) = s.load_baselines().unwrap();
        assert_eq!(loaded, users);
        assert_eq!(lpop, pop);
        assert_eq!(s.baseline("u1").unwrap(), Some(state));
        assert_eq!(s.baseline("nobody").unwrap(), None);
    }

    #[test]
    fn refuses_newer_schema_and_corrupt_baselines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        {
            let c = Connection::open(&path).unwrap();
            c.pragma_update(None, "user_version", 99).unwrap();
        }
        let err = Store::open(&path).err().unwrap().to_string();
        assert!(err.contains("newer than this Warden"), "{err}");

        let s = Store::open_in_memory().unwrap();
        s.conn
            .execute(
                "INSERT INTO baselines VALUES ('u', x'00010203', 1, '', '')",
                [],
            )
            .unwrap();
        let err = s.load_baselines().err().unwrap().to_string();
        assert!(err.contains("user `u`"), "{err}");
    }

    #[test]
    fn reopening_a_current_database_is_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        drop(Store::open(&path).unwrap());
        let s = Store::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), migrations::LATEST);
    }

    #[test]
    fn a_version_1_database_gains_the_registry_and_keeps_its_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        {
            // Build a version-1 database by hand: the first step only.
            let c = rusqlite::Connection::open(&path).unwrap();
            c.execute_batch("CREATE TABLE runs (id INTEGER PRIMARY KEY, command TEXT NOT NULL, inputs TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT, events INTEGER NOT NULL DEFAULT 0, parse_errors INTEGER NOT NULL DEFAULT 0, alerts INTEGER NOT NULL DEFAULT 0);
                CREATE TABLE baselines (user_id TEXT PRIMARY KEY, state BLOB NOT NULL, events INTEGER NOT NULL, last_seen TEXT NOT NULL, updated_at TEXT NOT NULL);
                CREATE TABLE population (id INTEGER PRIMARY KEY CHECK (id = 1), state BLOB NOT NULL, updated_at TEXT NOT NULL);
                CREATE TABLE alerts (id INTEGER PRIMARY KEY, run_id INTEGER, event_id TEXT NOT NULL, user_id TEXT NOT NULL, ts TEXT NOT NULL, score REAL NOT NULL, level TEXT NOT NULL, level_rank INTEGER NOT NULL, primary_anomalies TEXT NOT NULL, explanation TEXT NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL, UNIQUE (user_id, ts, event_id));
                INSERT INTO runs (command, inputs, started_at) VALUES ('detect', '[]', 'x');
                PRAGMA user_version = 1;").unwrap();
        }
        let s = Store::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), migrations::LATEST);
        assert_eq!(s.list_runs(10).unwrap().len(), 1);
        assert!(s.list_models(None).unwrap().is_empty());
    }
}
