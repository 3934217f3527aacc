//! Forwarding instead of detecting. With `warden serve --forward-to`, the service is the
//! authenticated front door of a scaled-out deployment: its ingest (HTTP batches, syslog
//! listeners) validates and classifies each event as always, then hands the tenant's
//! records to a distributed log (Kafka, NATS JetStream) where `warden worker`s detect on
//! them, and answers once the log has stored the batch. The log's client lives with the
//! caller (the CLI, behind its build features); the service knows only [`Forwarder`].

use std::sync::atomic::Ordering;

use warden_event::Input;

use crate::error::ApiError;
use crate::state::AppState;

/// A log the service forwards records to.
pub trait Forwarder: Send + Sync {
    /// Where records go, in words (`kafka topic activity`), for logs and answers.
    fn target(&self) -> String;

    /// Sends one tenant's records, each keyed by its entity, and returns once the log has
    /// stored every one of them; an error (nothing is known to be stored) otherwise.
    fn forward(&self, tenant: &str, records: &[Input]) -> Result<(), String>;
}

/// Forwards a tenant's records (placed from their address first, as scoring would) and
/// counts them; a log that does not take them is a 503 the client retries on.
pub fn forward(
    st: &AppState,
    to: &dyn Forwarder,
    tenant: &str,
    mut records: Vec<Input>,
) -> Result<usize, ApiError> {
    if let Some(geo) = &st.geoip {
        crate::scoring::locate(geo, &mut records);
    }
    let n = records.len();
    if n == 0 {
        return Ok(0);
    }
    match to.forward(tenant, &records) {
        Ok(()) => {
            st.metrics.forwarded.fetch_add(n as u64, Ordering::Relaxed);
            Ok(n)
        }
        Err(e) => {
            st.metrics
                .forward_failed
                .fetch_add(n as u64, Ordering::Relaxed);
            tracing::error!(
                "tenant {tenant}: {n} records not forwarded to {}: {e}",
                to.target()
            );
            Err(ApiError::Unavailable(
                "the log did not store the batch; send it again",
            ))
        }
    }
}
