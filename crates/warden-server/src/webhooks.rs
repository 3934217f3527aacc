//! Webhook delivery: each stored alert goes, as JSON, to the tenant's webhooks whose level
//! and event filters it passes, signed with the webhook's secret — `X-Warden-Signature:
//! sha256=<hex HMAC-SHA256 of the body>` — and retried with exponential backoff. A delivery
//! that still fails after every retry becomes a dead letter in the store (the body kept),
//! listed and replayed through the API.
//!
//! Delivery runs on its own task behind a bounded queue: handing an alert over never
//! waits, a full queue drops (and counts) for the webhooks only, and a slow receiver holds
//! up only the webhooks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::mpsc;
use warden_event::ThreatLevel;
use warden_store::WebhookRecord;

use crate::routes::stream::Published;
use crate::state::AppState;

/// Alerts waiting for delivery at most.
const QUEUE: usize = 10_000;

/// The signature header value for `body` (the same as the webhook output's).
pub use warden_outputs::webhook::signature;

/// Counters of webhook delivery.
#[derive(Debug, Default)]
pub struct WebhookMetrics {
    pub delivered: AtomicU64,
    pub failed_attempts: AtomicU64,
    pub dead_letters: AtomicU64,
    pub dropped: AtomicU64,
}

/// The delivery side: the webhooks known (cached from the store) and the queue.
pub struct Webhooks {
    hooks: RwLock<Vec<WebhookRecord>>,
    tx: RwLock<Option<mpsc::Sender<Arc<Published>>>>,
    pub metrics: WebhookMetrics,
}

impl Webhooks {
    pub fn new(hooks: Vec<WebhookRecord>) -> Self {
        Webhooks {
            hooks: RwLock::new(hooks),
            tx: RwLock::new(None),
            metrics: WebhookMetrics::default(),
        }
    }

    /// Replaces the cached webhooks (after one is created or deleted).
    pub fn reload(&self, hooks: Vec<WebhookRecord>) {
        if let Ok(mut h) = self.hooks.write() {
            *h = hooks;
        }
    }

    /// Hands a stored alert to delivery; never waits.
    pub fn dispatch(&self, alert: &Arc<Published>) {
        let wanted = self
            .hooks
            .read()
            .map(|h| h.iter().any(|w| wants(w, alert)))
            .unwrap_or(false);
        if !wanted {
            return;
        }
        let sent = self
            .tx
            .read()
            .ok()
            .and_then(|tx| tx.as_ref().map(|t| t.try_send(alert.clone()).is_ok()));
        if sent != Some(true) {
            self.metrics.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn render(&self) -> String {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let m = &self.metrics;
        format!(
            "# HELP warden_webhook_deliveries_total Webhook deliveries that succeeded.\n# TYPE warden_webhook_deliveries_total counter\nwarden_webhook_deliveries_total {}\n\
             # HELP warden_webhook_failures_total Webhook delivery attempts that failed.\n# TYPE warden_webhook_failures_total counter\nwarden_webhook_failures_total {}\n\
             # HELP warden_webhook_dead_letters_total Deliveries given up on (see /v1/webhooks/dead-letters).\n# TYPE warden_webhook_dead_letters_total counter\nwarden_webhook_dead_letters_total {}\n\
             # HELP warden_webhook_dropped_total Alerts not queued for webhooks because the queue was full.\n# TYPE warden_webhook_dropped_total counter\nwarden_webhook_dropped_total {}\n",
            g(&m.delivered),
            g(&m.failed_attempts),
            g(&m.dead_letters),
            g(&m.dropped)
        )
    }
}

fn wants(w: &WebhookRecord, a: &Published) -> bool {
    w.tenant == a.tenant
        && w.events.iter().any(|e| e == "alert.created")
        && w.min_level
            .parse::<ThreatLevel>()
            .is_ok_and(|l| a.level >= l)
}

/// The JSON body of an alert delivery: the alert as stored.
pub fn alert_body(a: &Published) -> String {
    serde_json::json!({
        "event": "alert.created",
        "tenant": a.tenant,
        "alert_id": a.id,
        "alert": a.alert,
    })
    .to_string()
}

/// One attempt: POST `body` to the webhook; `Ok` on a 2xx answer.
pub async fn post_once(
    hook: &WebhookRecord,
    event: &str,
    body: String,
    cfg: &crate::config::ServerConfig,
) -> Result<u16, String> {
    let timeout = Duration::from_secs(cfg.webhook_timeout_secs);
    let policy = cfg.clone();
    let (url, sig, event) = (
        hook.url.clone(),
        signature(&hook.secret, body.as_bytes()),
        event.to_owned(),
    );
    tokio::task::spawn_blocking(move || {
        // Again at each delivery: the name may point elsewhere since it was registered.
        crate::destinations::check(&url, &policy)?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            // A redirect could lead past the destination check.
            .max_redirects(0)
            .build()
            .into();
        let resp = agent
            .post(&url)
            .header("Content-Type", "application/json")
            .header("X-Warden-Signature", &sig)
            .header("X-Warden-Event", &event)
            .send(body.as_bytes())
            .map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            Ok(status)
        } else {
            Err(format!("the receiver answered {status}"))
        }
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Starts the delivery task (inside the runtime).
pub fn start(st: &AppState) {
    let (tx, mut rx) = mpsc::channel::<Arc<Published>>(QUEUE);
    if let Ok(mut slot) = st.webhooks.tx.write() {
        *slot = Some(tx);
    }
    let st = st.clone();
    tokio::spawn(async move {
        let cfg = &st.config.server;
        while let Some(alert) = rx.recv().await {
            let hooks: Vec<WebhookRecord> = st
                .webhooks
                .hooks
                .read()
                .map(|h| h.iter().filter(|w| wants(w, &alert)).cloned().collect())
                .unwrap_or_default();
            let body = alert_body(&alert);
            for hook in hooks {
                let mut delay = Duration::from_millis(cfg.webhook_backoff_ms);
                let mut attempt = 0u32;
                loop {
                    attempt += 1;
                    match post_once(&hook, "alert.created", body.clone(), cfg).await {
                        Ok(_) => {
                            st.webhooks
                                .metrics
                                .delivered
                                .fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        Err(e) => {
                            st.webhooks
                                .metrics
                                .failed_attempts
                                .fetch_add(1, Ordering::Relaxed);
                            if attempt <= cfg.webhook_retries {
                                tokio::time::sleep(delay).await;
                                delay = (delay * 2).min(Duration::from_secs(30));
                                continue;
                            }
                            let stored = Some(st.store()).map(|s| {
                                s.add_dead_letter(&hook.tenant, hook.id, &body, &e, attempt)
                            });
                            if matches!(stored, Some(Ok(_))) {
                                st.webhooks
                                    .metrics
                                    .dead_letters
                                    .fetch_add(1, Ordering::Relaxed);
                            } else {
                                tracing::error!(
                                    "webhook {}: alert {} lost: not delivered ({e}) and not recorded",
                                    hook.id,
                                    alert.id
                                );
                            }
                            break;
                        }
                    }
                }
            }
        }
    });
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
}
