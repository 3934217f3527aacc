//! Alerts from any route into the store, then out: committed in one transaction, then —
//! under the store's lock, so the feed carries ids in the order they were stored, which
//! lets a stream resume without a gap — handed to the live stream, the outputs and the
//! webhooks. A replayed alert keeps its id and is not published again.

use std::sync::Arc;

use warden_event::Alert;
use warden_outputs::Delivery;

use crate::error::ApiError;
use crate::routes::stream::Published;
use crate::state::AppState;

/// Stores `alerts` and publishes the new ones; returns each alert's id and whether it is
/// new.
pub fn commit(st: &AppState, alerts: Vec<Alert>) -> Result<Vec<(i64, bool)>, ApiError> {
    if alerts.is_empty() {
        return Ok(Vec::new());
    }
    let mut store = st
        .store
        .lock()
        .map_err(|_| ApiError::internal("store lock"))?;
    let saved = store.save_alerts(None, &alerts)?;
    for (alert, (id, new)) in alerts.into_iter().zip(&saved) {
        if !*new {
            continue;
        }
        st.metrics.alert(alert.level);
        let alert = Arc::new(alert);
        let p = Arc::new(Published::of(*id, alert.clone()));
        st.outputs.dispatch(&Delivery::new(Some(*id), alert));
        st.webhooks.dispatch(&p);
        let _ = st.feed.send(p);
    }
    Ok(saved)
}
