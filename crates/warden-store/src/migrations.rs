//! Schema migrations. Each step runs once, in a transaction, and bumps `user_version`.
//! Never edit a released step: add a new one.

use crate::StoreError;
use rusqlite::Connection;

/// `(version, SQL)` in order.
const STEPS: &[(i64, &str)] = &[
    (
        1,
        "CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        command TEXT NOT NULL,
        inputs TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        events INTEGER NOT NULL DEFAULT 0,
        parse_errors INTEGER NOT NULL DEFAULT 0,
        alerts INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE baselines (
        user_id TEXT PRIMARY KEY,
        state BLOB NOT NULL,
        events INTEGER NOT NULL,
        last_seen TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE population (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        state BLOB NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        run_id INTEGER REFERENCES runs(id),
        event_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        ts TEXT NOT NULL,
        score REAL NOT NULL,
        level TEXT NOT NULL,
        level_rank INTEGER NOT NULL,
        primary_anomalies TEXT NOT NULL,
        explanation TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (user_id, ts, event_id)
    );
    CREATE INDEX alerts_by_time ON alerts (ts);
    CREATE INDEX alerts_by_user ON alerts (user_id, ts);",
    ),
    (
        2,
        "CREATE TABLE models (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        kind TEXT NOT NULL,
        format TEXT NOT NULL,
        body BLOB NOT NULL,
        body_hash TEXT NOT NULL,
        summary TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (name, version)
    );
    CREATE TABLE model_activations (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        activated_at TEXT NOT NULL
    );
    CREATE INDEX model_activations_by_name ON model_activations (name, id);",
    ),
    (
        // The service: every alert belongs to a tenant (existing ones to `default`) and has a
        // triage state; API tokens (hashes only); the append-only audit log. SQLite cannot
        // change a UNIQUE constraint in place, so the alerts table is rebuilt.
        3,
        "CREATE TABLE alerts_v3 (
        id INTEGER PRIMARY KEY,
        tenant TEXT NOT NULL DEFAULT 'default',
        run_id INTEGER REFERENCES runs(id),
        event_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        ts TEXT NOT NULL,
        score REAL NOT NULL,
        level TEXT NOT NULL,
        level_rank INTEGER NOT NULL,
        primary_anomalies TEXT NOT NULL,
        explanation TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'new',
        assignee TEXT,
        classification TEXT,
        updated_at TEXT,
        UNIQUE (tenant, user_id, ts, event_id)
    );
    INSERT INTO alerts_v3 (id, run_id, event_id, user_id, ts, score, level, level_rank,
        primary_anomalies, explanation, body, created_at)
        SELECT id, run_id, event_id, user_id, ts, score, level, level_rank,
        primary_anomalies, explanation, body, created_at FROM alerts;
    DROP TABLE alerts;
    ALTER TABLE alerts_v3 RENAME TO alerts;
    CREATE INDEX alerts_by_time ON alerts (ts);
    CREATE INDEX alerts_by_user ON alerts (user_id, ts);
    CREATE INDEX alerts_by_tenant ON alerts (tenant, id);
    CREATE TABLE tokens (
        id INTEGER PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        scope TEXT NOT NULL,
        tenant TEXT NOT NULL,
        label TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        tenant TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        detail TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX audit_by_tenant ON audit (tenant, id);
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
    ),
    (
        // Webhooks of the service and the deliveries that failed for good.
        4,
        "CREATE TABLE webhooks (
        id INTEGER PRIMARY KEY,
        tenant TEXT NOT NULL,
        url TEXT NOT NULL,
        secret TEXT NOT NULL,
        min_level TEXT NOT NULL,
        events TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX webhooks_by_tenant ON webhooks (tenant, id);
    CREATE TABLE dead_letters (
        id INTEGER PRIMARY KEY,
        tenant TEXT NOT NULL,
        webhook_id INTEGER NOT NULL,
        body TEXT NOT NULL,
        error TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        replayed_at TEXT
    );
    CREATE INDEX dead_letters_by_tenant ON dead_letters (tenant, id);",
    ),
    (
        5,
        // The alert list sorted by score or event time, and the audit trail of one target,
        // without scanning a large tenant.
        // Scores are kept with the one decimal they were scored with, so that a cursor
        // over them compares exactly.
        "UPDATE alerts SET score = ROUND(score, 1);
    CREATE INDEX alerts_by_tenant_score ON alerts (tenant, score, id);
    CREATE INDEX alerts_by_tenant_time ON alerts (tenant, ts, id);
    CREATE INDEX audit_by_target ON audit (tenant, target, id);",
    ),
    (
        6,
        // The service's baselines, per tenant (the CLI's stay in `baselines`/`population`).
        "CREATE TABLE tenant_baselines (
        tenant TEXT NOT NULL,
        user_id TEXT NOT NULL,
        state BLOB NOT NULL,
        events INTEGER NOT NULL,
        last_seen TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (tenant, user_id)
    );
    CREATE TABLE tenant_population (
        tenant TEXT PRIMARY KEY,
        state BLOB NOT NULL,
        updated_at TEXT NOT NULL
    );",
    ),
    (
        7,
        // One alert type for every detector: which detector raised an alert and the
        // stream channel it is published on; bodies written from now on are `Alert`s
        // (older bodies, ThreatScores, are upgraded when read).
        "ALTER TABLE alerts ADD COLUMN detector TEXT NOT NULL DEFAULT 'ueba';
    ALTER TABLE alerts ADD COLUMN channel TEXT NOT NULL DEFAULT 'behavior';
    UPDATE alerts SET detector = 'sigma', channel = 'threat' WHERE primary_anomalies = 'rule_match';",
    ),
    (
        8,
        // Each tenant's entity graph, saved whole (the graph's own file format).
        "CREATE TABLE tenant_graphs (
        tenant TEXT PRIMARY KEY,
        body BLOB NOT NULL,
        edges INTEGER NOT NULL,
        saved_at TEXT NOT NULL
    );",
    ),
    (
        9,
        // Tokens that expire and can be revoked (kept, for the audit log's references).
        "ALTER TABLE tokens ADD COLUMN expires_at TEXT;
    ALTER TABLE tokens ADD COLUMN revoked_at TEXT;
    ALTER TABLE tokens ADD COLUMN replaced_by INTEGER;",
    ),
    (
        10,
        // Alerts deduplicate on their identity (the key and a digest of the event's
        // content, in `event_id`); the key as detectors name it moves to `event_key`.
        // Rows written before keep their key in `event_id` (NULL `event_key`).
        "ALTER TABLE alerts ADD COLUMN event_key TEXT;",
    ),
    (
        11,
        // Webhook deliveries waiting, written with their alert in one transaction and
        // removed once delivered (or moved to the dead letters).
        "CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        tenant TEXT NOT NULL,
        webhook_id INTEGER NOT NULL,
        alert_id INTEGER NOT NULL,
        event TEXT NOT NULL,
        body TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at TEXT NOT NULL
    );
    CREATE INDEX outbox_by_webhook ON outbox (webhook_id, id);
    CREATE INDEX outbox_by_tenant ON outbox (tenant);",
    ),
    (
        12,
        // How far each configured output (syslog, HEC, Elasticsearch, file) has delivered:
        // the alerts table is the outputs' log, read from here after a restart.
        "CREATE TABLE output_cursors (
        name TEXT PRIMARY KEY,
        delivered_to INTEGER NOT NULL,
        updated_at TEXT NOT NULL
    );",
    ),
    (
        13,
        // Payload analysis jobs of the service: queued, run (statically, or in the
        // sandbox), their verdicts kept.
        "CREATE TABLE payload_jobs (
        id INTEGER PRIMARY KEY,
        tenant TEXT NOT NULL,
        status TEXT NOT NULL,
        shell TEXT,
        sandbox INTEGER NOT NULL,
        text TEXT NOT NULL,
        verdict TEXT,
        error TEXT,
        submitted_by TEXT NOT NULL,
        user_name TEXT,
        host TEXT,
        occurred_at TEXT,
        created_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT
    );
    CREATE INDEX payload_jobs_by_status ON payload_jobs (status, id);
    CREATE INDEX payload_jobs_by_tenant ON payload_jobs (tenant, id);",
    ),
    (
        14,
        // Each tenant's command-line prevalence table (the engine's own format: keyed
        // digests, no command line or host name), saved whole.
        "CREATE TABLE tenant_prevalence (
        tenant TEXT PRIMARY KEY,
        body BLOB NOT NULL,
        saved_at TEXT NOT NULL
    );",
    ),
];

/// The schema version this build writes.
pub const LATEST: i64 = 14;

/// Brings the database to [`LATEST`]; refuses databases from a newer Warden.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let current: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|source| StoreError::Query {
            doing: "reading the schema version",
            source,
        })?;
    if current > LATEST {
        return Err(StoreError::TooNew {
            found: current,
            supported: LATEST,
        });
    }
    for (version, sql) in STEPS.iter().filter(|(v, _)| *v > current) {
        let step = |conn: &mut Connection| -> rusqlite::Result<()> {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", version)?;
            tx.commit()
        };
        step(conn).map_err(|source| StoreError::Migration {
            version: *version,
            source,
        })?;
    }
    Ok(())
}
