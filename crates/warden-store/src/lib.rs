//! The embedded store: one local SQLite database file (WAL mode) holding behavioural
//! baselines, alerts and runs, with versioned migrations.
//!
//! - [`migrations`]: the schema, one numbered step at a time (`PRAGMA user_version`).
//! - [`Store`]: open, record runs, save and query alerts (deduplicated, so re-running or
//!   resuming after a crash never duplicates an alert).
//! - `baselines`: save and load behavioural baselines; `registry`: the model registry.
//!
//! ```
//! let store = warden_store::Store::open_in_memory().unwrap();
//! assert_eq!(store.schema_version().unwrap(), warden_store::migrations::LATEST);
//! ```

mod analytics;
mod baselines;
mod graphs;
mod legacy;
pub mod migrations;
mod outbox;
mod output_log;
mod payload_jobs;
mod prevalence;
mod registry;
mod service;
mod store;
mod tokens;
mod webhooks;

pub use analytics::{DashboardCounts, Granularity, TrendBucket};
pub use outbox::{Outgoing, Pending};
pub use payload_jobs::{JobStatus, NewJob, PayloadJob};
pub use registry::StoredModel;
pub use service::{
    AlertChange, AlertFilter, AlertRecord, AlertSort, AuditAs, AuditEntry, MAX_PAGE, SortKey,
};
pub use store::{AlertQuery, Durability, Routed, RunTotals, Saved, Store, StoredAlert, StoredRun};
pub use tokens::{NewToken, TokenRecord, TokenState};
pub use webhooks::{DeadLetter, WebhookRecord};

/// The tenant of everything written outside the service (`warden detect --store`).
pub const DEFAULT_TENANT: &str = warden_event::DEFAULT_TENANT;

/// Store failures, with what was being done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("cannot open store {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot create store {path}: {source}")]
    Create {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "store schema version {found} is newer than this Warden supports ({supported}); upgrade Warden"
    )]
    TooNew { found: i64, supported: i64 },
    #[error("store migration to version {version} failed: {source}")]
    Migration {
        version: i64,
        #[source]
        source: rusqlite::Error,
    },
    #[error("store query failed while {doing}: {source}")]
    Query {
        doing: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{0}")]
    Registry(String),
    #[error("cannot encode an alert for the store: {0}")]
    Encode(#[source] serde_json::Error),
    #[error("baseline of user `{user}` in the store is unreadable: {source}")]
    Baseline {
        user: String,
        #[source]
        source: warden_models::ModelError,
    },
}
