//! Reads that can be long — listings and counts over a whole tenant, trends, incidents
//! built from up to 200,000 alerts, exports, a stream's backlog — run on the blocking pool
//! over read-only connections of their own ([`Store::reader`]): they neither stall the
//! async workers nor hold the writer's connection that ingest and triage need. At most
//! `server.max_concurrent_reads` run at once, and at most `server.max_reads_per_tenant`
//! of one tenant ([`crate::turns`]); the others wait their turn, so one tenant's heavy queries cannot take
//! every connection from the rest. An in-memory store (tests) has no file to share: its
//! reads go to the one connection.

use std::sync::Mutex;

use warden_store::Store;

use crate::error::ApiError;
use crate::state::AppState;
use crate::turns::TenantTurns;

/// See the module docs.
pub struct Reads {
    /// The database file readers open; none for an in-memory store.
    path: Option<String>,
    idle: Mutex<Vec<Store>>,
    total: usize,
    turns: TenantTurns,
}

impl std::fmt::Debug for Reads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reads")
            .field("path", &self.path)
            .field("turns", &self.turns)
            .finish_non_exhaustive()
    }
}

impl Reads {
    pub fn new(path: Option<String>, total: usize, per_tenant: usize) -> Self {
        Reads {
            path,
            idle: Mutex::default(),
            total: total.max(1),
            turns: TenantTurns::new(total, per_tenant),
        }
    }

    /// Reads of this tenant running now.
    pub fn busy(&self, tenant: &str) -> usize {
        self.turns.held(tenant)
    }

    /// An idle reader, or a new one; none when the store has no file.
    fn take(&self) -> Result<Option<Store>, ApiError> {
        let Some(path) = &self.path else {
            return Ok(None);
        };
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match idle {
            Some(r) => Ok(Some(r)),
            None => Ok(Some(Store::open_reader(path)?)),
        }
    }

    fn give_back(&self, reader: Store) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.total {
            idle.push(reader);
        }
    }
}

impl AppState {
    /// Runs `f` on the blocking pool in `tenant`'s read turn: for work that waits on the
    /// tenant's pipeline (its lock is held while a batch is scored or the graph walked),
    /// so that no async worker waits for that lock and one tenant's waiting calls hold at
    /// most its share of the pool.
    pub async fn in_read_turn<T: Send + 'static>(
        &self,
        tenant: &str,
        f: impl FnOnce(&AppState) -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let turn = self.reads.turns.take(tenant).await?;
        let st = self.clone();
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            f(&st)
        })
        .await
        .map_err(ApiError::internal)
    }

    /// Runs the read `f` for `tenant` on a reader of its own, in the tenant's turn (see
    /// the module docs).
    pub async fn read<T: Send + 'static>(
        &self,
        tenant: &str,
        f: impl FnOnce(&Store) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let turn = self.reads.turns.take(tenant).await?;
        let st = self.clone();
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            match st.reads.take()? {
                Some(r) => {
                    let out = f(&r);
                    st.reads.give_back(r);
                    out
                }
                None => f(&st.store()),
            }
        })
        .await
        .map_err(ApiError::internal)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn reads_run_on_a_reader_of_the_store_file() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = Store::open(&dir.path().join("w.db")).unwrap_or_else(|e| panic!("{e}"));
        let st =
            AppState::new(crate::ServiceConfig::default(), store).unwrap_or_else(|e| panic!("{e}"));
        st.store()
            .append_audit("acme", "token:1", "x", "t", "")
            .unwrap_or_else(|e| panic!("{e}"));
        // The writer's connection is held while the read runs: it reads anyway.
        let held = st.store.clone();
        let guard = tokio::task::spawn_blocking(move || {
            let _g = held.lock();
            std::thread::sleep(Duration::from_millis(300));
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = std::time::Instant::now();
        let n = st
            .read("acme", |s| Ok(s.audit_page("acme", None, None, 10)?.len()))
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(n, 1);
        assert!(
            started.elapsed() < Duration::from_millis(200),
            "it waited for the writer"
        );
        let _ = guard.await;
        let write = st
            .read("acme", |s| Ok(s.append_audit("acme", "a", "b", "c", "")?))
            .await;
        assert!(write.is_err(), "readers cannot write");
    }
}
