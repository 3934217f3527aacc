//! [`Store`]: the queries Warden runs against its database.

use crate::{StoreError, migrations};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use std::path::Path;
use warden_event::{Alert, ThreatLevel, ThreatScore};
use warden_models::baseline::{Population, UserState, codec};

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

/// A model version in the registry.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StoredModel {
    pub name: String,
    pub version: i64,
    pub kind: String,
    pub format: String,
    pub body_hash: String,
    /// JSON summary (training rows, figures) given at registration.
    pub summary: serde_json::Value,
    pub created_at: String,
    pub active: bool,
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

/// Decodes stored baselines, naming the user whose blob does not decode.
fn decode_users(rows: Vec<(String, Vec<u8>)>) -> Result<Vec<(String, UserState)>, StoreError> {
    rows.into_iter()
        .map(|(user, blob)| {
            codec::decode(&blob, "baseline")
                .map(|state| (user.clone(), state))
                .map_err(|source| StoreError::Baseline { user, source })
        })
        .collect()
}

/// Decodes a stored population (a fresh one when none was saved).
fn decode_population(blob: Option<Vec<u8>>) -> Result<Population, StoreError> {
    match blob {
        Some(blob) => codec::decode(&blob, "population").map_err(|source| StoreError::Baseline {
            user: "(population)".into(),
            source,
        }),
        None => Ok(Population::default()),
    }
}

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
                .prepare_cached(
                    "INSERT OR IGNORE INTO alerts (tenant, run_id, event_id, user_id, ts, score, level,
                     level_rank, primary_anomalies, explanation, body, created_at, detector, channel,
                     event_key)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                )
                .map_err(q("saving alerts"))?;
            let mut existing = tx
                .prepare_cached(
                    "SELECT id FROM alerts WHERE tenant = ?1 AND user_id = ?2 AND ts = ?3 AND event_id = ?4",
                )
                .map_err(q("saving alerts"))?;
            // A graph finding is reported again under its key as its path grows: the row
            // takes the latest body (score, explanation, steps); triage columns stay.
            let mut grow = tx
                .prepare_cached(
                    "UPDATE alerts SET score = ?2, explanation = ?3, body = ?4, primary_anomalies = ?5
                     WHERE id = ?1 AND detector = 'graph' AND body <> ?4",
                )
                .map_err(q("saving alerts"))?;
            let created = now();
            for a in alerts {
                // Deduplicated on the identity (key and content digest), not the key alone.
                let identity = a.identity();
                let primary: Vec<&str> = a.primary_anomalies().iter().map(|t| t.as_str()).collect();
                let body = serde_json::to_string(a).map_err(StoreError::Encode)?;
                if a.detector.kind == warden_event::DetectorKind::Graph {
                    let id: Option<i64> = existing
                        .query_row(params![a.tenant, a.subject, a.timestamp, identity], |r| {
                            r.get(0)
                        })
                        .optional()
                        .map_err(q("saving alerts"))?;
                    if let Some(id) = id {
                        let changed = grow
                            .execute(params![
                                id,
                                (f64::from(a.score) * 10.0).round() / 10.0,
                                a.explanation,
                                body,
                                primary.join(","),
                            ])
                            .map_err(q("saving alerts"))?;
                        out.push((
                            id,
                            if changed > 0 {
                                Saved::Updated
                            } else {
                                Saved::Same
                            },
                        ));
                        continue;
                    }
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

    /// Replaces the stored baselines of the given users and the population, atomically.
    pub fn save_baselines<'a>(
        &mut self,
        users: impl IntoIterator<Item = (&'a String, &'a UserState)>,
        population: &Population,
    ) -> Result<usize, StoreError> {
        let tx = self.conn.transaction().map_err(q("saving baselines"))?;
        let mut n = 0;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO baselines (user_id, state, events, last_seen, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (user_id) DO UPDATE SET state = excluded.state, events = excluded.events,
                     last_seen = excluded.last_seen, updated_at = excluded.updated_at",
                )
                .map_err(q("saving baselines"))?;
            let updated = now();
            for (user, state) in users {
                stmt.execute(params![
                    user,
                    codec::encode(state),
                    i64::from(state.profile.events),
                    state.profile.last_seen.to_rfc3339(),
                    updated,
                ])
                .map_err(q("saving baselines"))?;
                n += 1;
            }
            tx.execute(
                "INSERT INTO population (id, state, updated_at) VALUES (1, ?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                params![codec::encode(population), updated],
            )
            .map_err(q("saving baselines"))?;
        }
        tx.commit().map_err(q("saving baselines"))?;
        Ok(n)
    }

    /// Loads every baseline and the population.
    pub fn load_baselines(&self) -> Result<(Vec<(String, UserState)>, Population), StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT user_id, state FROM baselines")
            .map_err(q("loading baselines"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .map_err(q("loading baselines"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(q("loading baselines"))?;
        let population = self
            .conn
            .query_row("SELECT state FROM population WHERE id = 1", [], |r| {
                r.get::<_, Vec<u8>>(0)
            })
            .optional()
            .map_err(q("loading the population"))?;
        Ok((decode_users(rows)?, decode_population(population)?))
    }

    /// Saves some of a tenant's baselines (those that changed) and its population, in one
    /// transaction: the service's counterpart of [`Store::save_baselines`].
    pub fn save_tenant_baselines(
        &mut self,
        tenant: &str,
        users: &[(String, Vec<u8>, u32, String)],
        population: &[u8],
    ) -> Result<usize, StoreError> {
        let tx = self.conn.transaction().map_err(q("saving baselines"))?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO tenant_baselines (tenant, user_id, state, events, last_seen, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (tenant, user_id) DO UPDATE SET state = excluded.state,
                     events = excluded.events, last_seen = excluded.last_seen,
                     updated_at = excluded.updated_at",
                )
                .map_err(q("saving baselines"))?;
            let updated = now();
            for (user, state, events, last_seen) in users {
                stmt.execute(params![
                    tenant,
                    user,
                    state,
                    i64::from(*events),
                    last_seen,
                    updated
                ])
                .map_err(q("saving baselines"))?;
            }
            tx.execute(
                "INSERT INTO tenant_population (tenant, state, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (tenant) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                params![tenant, population, updated],
            )
            .map_err(q("saving baselines"))?;
        }
        tx.commit().map_err(q("saving baselines"))?;
        Ok(users.len())
    }

    /// A tenant's baselines and population, as saved by [`Store::save_tenant_baselines`].
    pub fn load_tenant_baselines(
        &self,
        tenant: &str,
    ) -> Result<(Vec<(String, UserState)>, Population), StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT user_id, state FROM tenant_baselines WHERE tenant = ?1")
            .map_err(q("loading baselines"))?;
        let rows = stmt
            .query_map(params![tenant], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .map_err(q("loading baselines"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(q("loading baselines"))?;
        let population = self
            .conn
            .query_row(
                "SELECT state FROM tenant_population WHERE tenant = ?1",
                params![tenant],
                |r| r.get::<_, Vec<u8>>(0),
            )
            .optional()
            .map_err(q("loading the population"))?;
        Ok((decode_users(rows)?, decode_population(population)?))
    }

    /// One user's stored baseline.
    pub fn baseline(&self, user: &str) -> Result<Option<UserState>, StoreError> {
        let blob = self
            .conn
            .query_row(
                "SELECT state FROM baselines WHERE user_id = ?1",
                [user],
                |r| r.get::<_, Vec<u8>>(0),
            )
            .optional()
            .map_err(q("loading a baseline"))?;
        blob.map(|b| {
            codec::decode(&b, "baseline").map_err(|source| StoreError::Baseline {
                user: user.into(),
                source,
            })
        })
        .transpose()
    }

    pub fn baseline_count(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("SELECT COUNT(*) FROM baselines", [], |r| r.get(0))
            .map_err(q("counting baselines"))
    }
}

/// The model registry: named slots ("flows", …), numbered versions, one active version per
/// name, and the history of activations (what `rollback` goes back along).
impl Store {
    /// Adds a model file as the next version of `name`; returns the version number.
    pub fn register_model(
        &self,
        name: &str,
        kind: &str,
        format: &str,
        body: &[u8],
        summary: &serde_json::Value,
    ) -> Result<i64, StoreError> {
        if name.is_empty() || name.len() > 128 {
            return Err(StoreError::Registry(
                "a model name is 1 to 128 characters".into(),
            ));
        }
        let next: i64 = self
            .conn
            .query_row(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM models WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .map_err(q("numbering a model version"))?;
        let hash = format!("{:016x}", warden_models::stats::stable_hash_bytes(body));
        self.conn
            .execute(
                "INSERT INTO models (name, version, kind, format, body, body_hash, summary, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![name, next, kind, format, body, hash, summary.to_string(), now()],
            )
            .map_err(q("registering a model"))?;
        Ok(next)
    }

    /// The active version of `name`, if any.
    pub fn active_model_version(&self, name: &str) -> Result<Option<i64>, StoreError> {
        self.conn
            .query_row(
                "SELECT version FROM model_activations WHERE name = ?1 ORDER BY id DESC LIMIT 1",
                params![name],
                |r| r.get(0),
            )
            .optional()
            .map_err(q("reading the active model"))
    }

    /// Every registered version (of `name`, or of all names), newest first.
    pub fn list_models(&self, name: Option<&str>) -> Result<Vec<StoredModel>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT name, version, kind, format, body_hash, summary, created_at FROM models
                 WHERE ?1 IS NULL OR name = ?1 ORDER BY name, version DESC",
            )
            .map_err(q("listing models"))?;
        let rows = stmt
            .query_map(params![name], |r| {
                Ok(StoredModel {
                    name: r.get(0)?,
                    version: r.get(1)?,
                    kind: r.get(2)?,
                    format: r.get(3)?,
                    body_hash: r.get(4)?,
                    summary: serde_json::from_str(&r.get::<_, String>(5)?)
                        .unwrap_or(serde_json::Value::Null),
                    created_at: r.get(6)?,
                    active: false,
                })
            })
            .map_err(q("listing models"))?;
        let mut out = rows
            .collect::<Result<Vec<_>, _>>()
            .map_err(q("listing models"))?;
        for m in &mut out {
            m.active = self.active_model_version(&m.name)? == Some(m.version);
        }
        Ok(out)
    }

    /// Makes `version` of `name` the active one.
    pub fn activate_model(&self, name: &str, version: i64) -> Result<(), StoreError> {
        let exists: bool = self
            .conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM models WHERE name = ?1 AND version = ?2)",
                params![name, version],
                |r| r.get(0),
            )
            .map_err(q("finding a model"))?;
        if !exists {
            return Err(StoreError::Registry(format!(
                "no model `{name}` version {version} in the registry"
            )));
        }
        self.conn
            .execute(
                "INSERT INTO model_activations (name, version, activated_at) VALUES (?1, ?2, ?3)",
                params![name, version, now()],
            )
            .map_err(q("activating a model"))?;
        Ok(())
    }

    /// Goes back to the version that was active before the current one; returns it.
    pub fn rollback_model(&self, name: &str) -> Result<i64, StoreError> {
        let history: Vec<i64> = {
            let mut stmt = self
                .conn
                .prepare("SELECT version FROM model_activations WHERE name = ?1 ORDER BY id DESC")
                .map_err(q("reading activations"))?;
            let rows = stmt
                .query_map(params![name], |r| r.get(0))
                .map_err(q("reading activations"))?;
            rows.collect::<Result<_, _>>()
                .map_err(q("reading activations"))?
        };
        let Some(&current) = history.first() else {
            return Err(StoreError::Registry(format!(
                "model `{name}` was never activated"
            )));
        };
        let Some(&previous) = history.iter().find(|&&v| v != current) else {
            return Err(StoreError::Registry(format!(
                "model `{name}` has no earlier active version to go back to"
            )));
        };
        self.activate_model(name, previous)?;
        Ok(previous)
    }

    /// The model file of `version` of `name` (the active one when `version` is `None`).
    pub fn model_body(
        &self,
        name: &str,
        version: Option<i64>,
    ) -> Result<Option<(i64, Vec<u8>)>, StoreError> {
        let version = match version {
            Some(v) => v,
            None => match self.active_model_version(name)? {
                Some(v) => v,
                None => return Ok(None),
            },
        };
        self.conn
            .query_row(
                "SELECT body FROM models WHERE name = ?1 AND version = ?2",
                params![name, version],
                |r| r.get::<_, Vec<u8>>(0),
            )
            .optional()
            .map_err(q("reading a model"))
            .map(|b| b.map(|b| (version, b)))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use warden_event::{ActivityType, Timestamp, UserActivity};
    use warden_models::baseline::{ActivityKeys, ProfileCaps};

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

    #[test]
    fn registry_versions_activation_and_rollback() {
        let s = Store::open_in_memory().unwrap();
        let summary = serde_json::json!({"rows": 10});
        assert_eq!(
            s.register_model("flows", "iforest", "nsl-kdd", b"one", &summary)
                .unwrap(),
            1
        );
        assert_eq!(
            s.register_model("flows", "gbdt", "nsl-kdd", b"two", &summary)
                .unwrap(),
            2
        );
        assert_eq!(
            s.register_model("zeek", "iforest", "zeek-conn", b"z", &summary)
                .unwrap(),
            1
        );
        assert_eq!(s.model_body("flows", None).unwrap(), None);
        assert!(s.rollback_model("flows").is_err());
        s.activate_model("flows", 1).unwrap();
        s.activate_model("flows", 2).unwrap();
        assert_eq!(
            s.model_body("flows", None).unwrap(),
            Some((2, b"two".to_vec()))
        );
        let listed = s.list_models(Some("flows")).unwrap();
        assert_eq!(
            listed
                .iter()
                .map(|m| (m.version, m.active))
                .collect::<Vec<_>>(),
            [(2, true), (1, false)]
        );
        assert_eq!(listed[0].summary["rows"], 10);
        assert_eq!(s.rollback_model("flows").unwrap(), 1);
        assert_eq!(s.active_model_version("flows").unwrap(), Some(1));
        // Rolling back again returns to 2 (the one active before 1).
        assert_eq!(s.rollback_model("flows").unwrap(), 2);
        assert!(s.activate_model("flows", 9).is_err());
        assert!(s.register_model("", "k", "f", b"", &summary).is_err());
    }
}
