//! Webhook delivery: each stored alert goes, as JSON, to the tenant's webhooks whose level
//! and event filters it passes, signed with the webhook's secret — `X-Warden-Signature:
//! sha256=<hex HMAC-SHA256 of the body>` — and retried with exponential backoff. A delivery
//! that still fails after every retry becomes a dead letter in the store (the body kept),
//! listed and replayed through the API.
//!
//! **Durable.** Deliveries are written to the store's outbox in the transaction that stores
//! their alert ([`crate::publish`]) and leave it only once delivered or dead-lettered, so a
//! crash or a `kill -9` after the commit loses none: at the next start every webhook with
//! deliveries waiting is resumed. Delivery is at least once; receivers deduplicate on the
//! alert id (`X-Warden-Alert-Id`, and `alert_id` in the body).
//!
//! **Isolated.** Each webhook has its own worker, delivering its deliveries in order, one at
//! a time: a slow or dead receiver (a tar pit that never answers) holds up only its own
//! webhook, never another webhook or tenant. After `server.webhook_circuit_failures` failed
//! attempts in a row its circuit opens: no attempt for `server.webhook_circuit_secs`, the
//! deliveries wait in the outbox, then one attempt tells whether it is back. A tenant with
//! `server.webhook_outbox_limit` deliveries waiting gets dead letters instead — counted and
//! listed, never a silent drop.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use warden_event::{Alert, ThreatLevel};
use warden_store::{Outgoing, Pending, WebhookRecord};

use crate::state::AppState;

/// Deliveries read from the outbox per step.
const BATCH: usize = 100;
/// How often an idle worker looks at the outbox without being woken.
const IDLE_POLL: Duration = Duration::from_secs(30);

/// The signature header value for `body` (the same as the webhook output's).
pub use warden_outputs::webhook::signature;

/// Counters of webhook delivery.
#[derive(Debug, Default)]
pub struct WebhookMetrics {
    pub delivered: AtomicU64,
    pub failed_attempts: AtomicU64,
    pub dead_letters: AtomicU64,
    pub circuits_open: AtomicI64,
}

/// The delivery side: the webhooks known (cached from the store) and their workers.
pub struct Webhooks {
    hooks: RwLock<Vec<WebhookRecord>>,
    workers: Mutex<HashMap<i64, Arc<Notify>>>,
    /// Set once the service runs (workers may start).
    running: RwLock<Option<AppState>>,
    pub metrics: WebhookMetrics,
}

impl Webhooks {
    pub fn new(hooks: Vec<WebhookRecord>) -> Self {
        Webhooks {
            hooks: RwLock::new(hooks),
            workers: Mutex::default(),
            running: RwLock::new(None),
            metrics: WebhookMetrics::default(),
        }
    }

    /// Replaces the cached webhooks (after one is created or deleted).
    pub fn reload(&self, hooks: Vec<WebhookRecord>) {
        if let Ok(mut h) = self.hooks.write() {
            *h = hooks;
        }
    }

    fn hook(&self, id: i64) -> Option<WebhookRecord> {
        self.hooks.read().ok()?.iter().find(|h| h.id == id).cloned()
    }

    /// The deliveries a new alert causes (for the outbox, with the alert).
    pub fn route(&self, alert_id: i64, a: &Alert) -> Vec<Outgoing> {
        let Ok(hooks) = self.hooks.read() else {
            return Vec::new();
        };
        hooks
            .iter()
            .filter(|w| wants(w, a))
            .map(|w| Outgoing {
                tenant: w.tenant.clone(),
                webhook_id: w.id,
                event: "alert.created".into(),
                body: alert_body(alert_id, a),
            })
            .collect()
    }

    /// Tells these webhooks' workers that deliveries wait (starting those not running).
    pub fn wake(&self, hook_ids: &[i64]) {
        let Some(st) = self.running.read().ok().and_then(|r| r.clone()) else {
            // Not serving (a router under test): the deliveries wait in the outbox.
            return;
        };
        let mut workers = self.workers.lock().unwrap_or_else(|p| p.into_inner());
        for &id in hook_ids {
            match workers.get(&id) {
                Some(n) => n.notify_one(),
                None => {
                    let n = Arc::new(Notify::new());
                    workers.insert(id, n.clone());
                    tokio::spawn(worker(st.clone(), id, n));
                }
            }
        }
    }

    pub fn render(&self) -> String {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let m = &self.metrics;
        format!(
            "# HELP warden_webhook_deliveries_total Webhook deliveries that succeeded.\n# TYPE warden_webhook_deliveries_total counter\nwarden_webhook_deliveries_total {}\n\
             # HELP warden_webhook_failures_total Webhook delivery attempts that failed.\n# TYPE warden_webhook_failures_total counter\nwarden_webhook_failures_total {}\n\
             # HELP warden_webhook_dead_letters_total Deliveries given up on (see /v1/webhooks/dead-letters).\n# TYPE warden_webhook_dead_letters_total counter\nwarden_webhook_dead_letters_total {}\n\
             # HELP warden_webhook_circuits_open Webhooks whose circuit is open (attempts paused).\n# TYPE warden_webhook_circuits_open gauge\nwarden_webhook_circuits_open {}\n",
            g(&m.delivered),
            g(&m.failed_attempts),
            g(&m.dead_letters),
            m.circuits_open.load(Ordering::Relaxed).max(0),
        )
    }
}

fn wants(w: &WebhookRecord, a: &Alert) -> bool {
    w.tenant == a.tenant
        && w.events.iter().any(|e| e == "alert.created")
        && w.min_level
            .parse::<ThreatLevel>()
            .is_ok_and(|l| a.level >= l)
}

/// The JSON body of an alert delivery: the alert as stored.
pub fn alert_body(alert_id: i64, a: &Alert) -> String {
    serde_json::json!({
        "event": "alert.created",
        "tenant": a.tenant,
        "alert_id": alert_id,
        "alert": a,
    })
    .to_string()
}

/// One attempt: POST `body` to the webhook, resolved and checked now and connected to the
/// addresses checked; the status of a 2xx answer, or what went wrong (generic).
pub async fn post_once(
    st: &AppState,
    hook: &WebhookRecord,
    event: &str,
    alert_id: Option<i64>,
    body: String,
) -> Result<u16, crate::delivery::Failed> {
    let cfg = &st.config.server;
    let dest = crate::destinations::resolve(&hook.url, cfg, st.resolver.as_ref()).await?;
    let sig = signature(&hook.secret, body.as_bytes());
    let id = alert_id.map(|i| i.to_string()).unwrap_or_default();
    let mut headers = vec![
        ("content-type", "application/json"),
        ("x-warden-signature", sig.as_str()),
        ("x-warden-event", event),
    ];
    if alert_id.is_some() {
        headers.push(("x-warden-alert-id", id.as_str()));
    }
    crate::delivery::post(
        &dest,
        &headers,
        body.into(),
        Duration::from_secs(cfg.webhook_timeout_secs),
    )
    .await
}

/// Starts delivery: workers for the webhooks with deliveries waiting (inside the runtime).
pub fn start(st: &AppState) {
    if let Ok(mut r) = st.webhooks.running.write() {
        *r = Some(st.clone());
    }
    let st = st.clone();
    tokio::spawn(async move {
        let s = st.clone();
        match tokio::task::spawn_blocking(move || s.store().outbox_webhooks()).await {
            Ok(Ok(ids)) => st.webhooks.wake(&ids),
            Ok(Err(e)) => tracing::error!("reading the webhook outbox: {e}"),
            Err(e) => tracing::error!("reading the webhook outbox: {e}"),
        }
    });
}

/// Consecutive failures and whether attempts are paused.
#[derive(Debug, Default)]
struct Breaker {
    failures: u32,
    open_until: Option<Instant>,
}

impl Breaker {
    /// How long to wait before the next attempt (the circuit is open).
    fn wait(&self) -> Option<Duration> {
        self.open_until
            .and_then(|t| t.checked_duration_since(Instant::now()))
    }

    fn success(&mut self, m: &WebhookMetrics) {
        if self.open_until.take().is_some() {
            m.circuits_open.fetch_sub(1, Ordering::Relaxed);
        }
        self.failures = 0;
    }

    fn failure(&mut self, threshold: u32, cool: Duration, m: &WebhookMetrics) {
        self.failures += 1;
        if self.failures >= threshold {
            if self.open_until.is_none() {
                m.circuits_open.fetch_add(1, Ordering::Relaxed);
            }
            // Open (again, after a failed trial): one attempt after the cool-down.
            self.open_until = Some(Instant::now() + cool);
        }
    }
}

/// One webhook's deliveries, in order, until the webhook is deleted or the service stops.
async fn worker(st: AppState, hook_id: i64, wake: Arc<Notify>) {
    let mut closing = st.closing.subscribe();
    let mut breaker = Breaker::default();
    loop {
        if *closing.borrow() {
            break;
        }
        let Some(hook) = st.webhooks.hook(hook_id) else {
            break;
        };
        let s = st.clone();
        let next = tokio::task::spawn_blocking(move || s.store().outbox_next(hook_id, BATCH)).await;
        let batch = match next {
            Ok(Ok(b)) => b,
            other => {
                tracing::error!("webhook {hook_id}: reading the outbox: {other:?}");
                Vec::new()
            }
        };
        if batch.is_empty() {
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(IDLE_POLL) => {}
                _ = closing.wait_for(|c| *c) => break,
            }
            continue;
        }
        for row in batch {
            if !deliver_row(&st, &hook, &row, &mut breaker, &mut closing).await {
                break;
            }
        }
    }
    if breaker.open_until.is_some() {
        st.webhooks
            .metrics
            .circuits_open
            .fetch_sub(1, Ordering::Relaxed);
    }
    if let Ok(mut w) = st.webhooks.workers.lock() {
        w.remove(&hook_id);
    }
}

/// Delivers one row, retrying with backoff; `false` when the service is stopping.
async fn deliver_row(
    st: &AppState,
    hook: &WebhookRecord,
    row: &Pending,
    breaker: &mut Breaker,
    closing: &mut tokio::sync::watch::Receiver<bool>,
) -> bool {
    let cfg = &st.config.server;
    let m = &st.webhooks.metrics;
    let mut attempts = u32::try_from(row.attempts).unwrap_or(u32::MAX);
    let mut delay = Duration::from_millis(cfg.webhook_backoff_ms);
    loop {
        if let Some(wait) = breaker.wait() {
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = closing.wait_for(|c| *c) => return false,
            }
        }
        let outcome = post_once(st, hook, &row.event, Some(row.alert_id), row.body.clone()).await;
        let (s, id) = (st.clone(), row.id);
        match outcome {
            Ok(_) => {
                breaker.success(m);
                m.delivered.fetch_add(1, Ordering::Relaxed);
                store_step(s, move |s| s.outbox_delivered(id)).await;
                return true;
            }
            Err(e) => {
                m.failed_attempts.fetch_add(1, Ordering::Relaxed);
                breaker.failure(
                    cfg.webhook_circuit_failures,
                    Duration::from_secs(cfg.webhook_circuit_secs),
                    m,
                );
                attempts = attempts.saturating_add(1);
                let error = e.to_string();
                if attempts > cfg.webhook_retries {
                    m.dead_letters.fetch_add(1, Ordering::Relaxed);
                    store_step(s, move |s| s.outbox_give_up(id, &error)).await;
                    return true;
                }
                store_step(s, move |s| s.outbox_failed(id, &error)).await;
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    _ = closing.wait_for(|c| *c) => return false,
                }
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// A write to the outbox on the blocking pool; a failure is logged (the row stays, and is
/// delivered again: at least once).
async fn store_step(
    st: AppState,
    f: impl FnOnce(&mut warden_store::Store) -> Result<(), warden_store::StoreError> + Send + 'static,
) {
    let done = tokio::task::spawn_blocking(move || f(&mut st.store())).await;
    if !matches!(done, Ok(Ok(()))) {
        tracing::error!("webhook outbox update failed: {done:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn the_circuit_opens_after_repeated_failures_and_closes_on_success() {
        let m = WebhookMetrics::default();
        let mut b = Breaker::default();
        let cool = Duration::from_secs(60);
        b.failure(3, cool, &m);
        b.failure(3, cool, &m);
        assert!(b.wait().is_none(), "still closed");
        b.failure(3, cool, &m);
        assert!(b.wait().is_some_and(|w| w > Duration::from_secs(50)));
        assert_eq!(m.circuits_open.load(Ordering::Relaxed), 1);
        b.failure(3, cool, &m);
        assert_eq!(m.circuits_open.load(Ordering::Relaxed), 1, "counted once");
        b.success(&m);
        assert!(b.wait().is_none());
        assert_eq!(m.circuits_open.load(Ordering::Relaxed), 0);
    }
}
