//! Turns on a shared resource with a fair share per tenant: at most `total` holders at
//! once, and at most `per_tenant` of one tenant, so a tenant that sends many large
//! batches or heavy queries at once waits behind itself while the others still get a
//! turn. Waiting happens on the async side (no thread is held), in arrival order. A
//! bound on waiters ([`TenantTurns::waiting_at_most`]) refuses a tenant's request at once
//! when that many of its requests already wait (each waiting batch holds its body).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

/// Most tenants whose queues are remembered; past it, idle queues are dropped.
const MAX_TENANT_QUEUES: usize = 100_000;

/// See the module docs.
#[derive(Debug)]
pub struct TenantTurns {
    all: Arc<Semaphore>,
    per_tenant: Mutex<HashMap<String, Arc<Queue>>>,
    per_tenant_max: usize,
    /// Requests of one tenant that may wait for a turn at once (no bound when `None`).
    max_waiting: Option<usize>,
}

/// One tenant's turns and how many of its requests wait for one.
#[derive(Debug)]
struct Queue {
    turns: Arc<Semaphore>,
    waiting: AtomicUsize,
}

/// Counts a request as waiting while it lives.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A turn; dropping it lets the next one go.
#[derive(Debug)]
pub struct Turn {
    _tenant: OwnedSemaphorePermit,
    _all: OwnedSemaphorePermit,
}

impl TenantTurns {
    pub fn new(total: usize, per_tenant: usize) -> Self {
        TenantTurns {
            all: Arc::new(Semaphore::new(total.max(1))),
            per_tenant: Mutex::default(),
            per_tenant_max: per_tenant.clamp(1, total.max(1)),
            max_waiting: None,
        }
    }

    /// The same, refusing a tenant's request (429, retry in a second) when `n` of its
    /// requests already wait for a turn.
    pub fn waiting_at_most(mut self, n: usize) -> Self {
        self.max_waiting = Some(n.max(1));
        self
    }

    /// Waits for the tenant's turn, then for a free place.
    pub async fn take(&self, tenant: &str) -> Result<Turn, ApiError> {
        let queue = {
            let mut map = self.per_tenant.lock().unwrap_or_else(|p| p.into_inner());
            if map.len() >= MAX_TENANT_QUEUES && !map.contains_key(tenant) {
                // A queue whose turns are all free (a held turn keeps its semaphore) and
                // that nobody waits on is idle.
                map.retain(|_, q| {
                    Arc::strong_count(&q.turns) > 1 || q.waiting.load(Ordering::Relaxed) > 0
                });
            }
            map.entry(tenant.to_owned())
                .or_insert_with(|| {
                    Arc::new(Queue {
                        turns: Arc::new(Semaphore::new(self.per_tenant_max)),
                        waiting: AtomicUsize::new(0),
                    })
                })
                .clone()
        };
        let before = queue.waiting.fetch_add(1, Ordering::Relaxed);
        let waiting = Waiting(&queue.waiting);
        if self.max_waiting.is_some_and(|max| before >= max) {
            return Err(ApiError::RateLimited { retry_after: 1 });
        }
        let tenant = queue
            .turns
            .clone()
            .acquire_owned()
            .await
            .map_err(ApiError::internal)?;
        drop(waiting);
        let all = self
            .all
            .clone()
            .acquire_owned()
            .await
            .map_err(ApiError::internal)?;
        Ok(Turn {
            _tenant: tenant,
            _all: all,
        })
    }

    /// Turns of this tenant held now.
    pub fn held(&self, tenant: &str) -> usize {
        let map = self.per_tenant.lock().unwrap_or_else(|p| p.into_inner());
        map.get(tenant)
            .map_or(0, |q| self.per_tenant_max - q.turns.available_permits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn one_tenant_waits_behind_itself_while_another_goes_on() {
        let turns = TenantTurns::new(3, 2);
        let a1 = turns.take("a").await;
        let a2 = turns.take("a").await;
        assert!(a1.is_ok() && a2.is_ok());
        assert_eq!(turns.held("a"), 2);
        let wait = Duration::from_millis(50);
        assert!(
            tokio::time::timeout(wait, turns.take("a")).await.is_err(),
            "a third turn of `a` waits"
        );
        let b = tokio::time::timeout(wait, turns.take("b")).await;
        assert!(matches!(b, Ok(Ok(_))), "another tenant goes on meanwhile");
        assert!(
            tokio::time::timeout(wait, turns.take("c")).await.is_err(),
            "and the total is kept"
        );
        drop(a1);
        let next = tokio::time::timeout(wait, turns.take("a")).await;
        assert!(
            matches!(next, Ok(Ok(_))),
            "`a` goes on once one of its turns ends"
        );
    }

    #[tokio::test]
    async fn past_its_waiting_bound_a_tenants_request_is_refused_at_once() {
        let turns = Arc::new(TenantTurns::new(4, 1).waiting_at_most(2));
        let held = turns.take("a").await;
        assert!(held.is_ok());
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let t = turns.clone();
                tokio::spawn(async move { t.take("a").await.map(drop) })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(matches!(
            turns.take("a").await,
            Err(ApiError::RateLimited { retry_after: 1 })
        ));
        assert!(
            turns.take("b").await.is_ok(),
            "another tenant's bound is its own"
        );
        drop(held);
        for w in waiters {
            assert!(matches!(w.await, Ok(Ok(()))), "the waiters get their turns");
        }
        assert!(turns.take("a").await.is_ok(), "and the bound is free again");
    }
}
