//! Alerts from any route into the store, then out: committed in one transaction with
//! their webhook deliveries (the outbox, [`crate::webhooks`]), then — under the store's
//! lock, so the feed carries ids in the order they were stored, which lets a stream resume
//! without a gap — handed to the live stream and the live outputs ([`crate::output_feed`]:
//! a lagging output reads them from the store), and the webhooks' workers woken. A replayed alert keeps its id and is not published again; a graph finding
//! whose stored body grew is sent to the live stream again as `alert.updated`.

use std::sync::Arc;

use warden_event::Alert;
use warden_store::Saved;

use crate::error::ApiError;
use crate::routes::stream::Published;
use crate::state::AppState;

/// Stores `alerts` and publishes the new ones; returns each alert's id and whether it is
/// new.
pub fn commit(st: &AppState, alerts: Vec<Alert>) -> Result<Vec<(i64, bool)>, ApiError> {
    if alerts.is_empty() {
        return Ok(Vec::new());
    }
    let mut store = st.store();
    let route = |id: i64, a: &Alert| st.webhooks.route(id, a);
    let (saved, hooks) =
        store.save_alerts_routed(None, &alerts, &route, st.config.server.webhook_outbox_limit)?;
    st.webhooks.wake(&hooks);
    for (alert, &(id, state)) in alerts.into_iter().zip(&saved) {
        match state {
            Saved::New => {}
            // A graph finding that grew: the clients that have it see its new version;
            // outputs and webhooks had it once, at its level.
            Saved::Updated => {
                let _ = st
                    .feed
                    .send(Arc::new(Published::updated(id, Arc::new(alert))));
                continue;
            }
            Saved::Same => continue,
        }
        st.metrics.alert(alert.level);
        let alert = Arc::new(alert);
        let p = Arc::new(Published::of(id, alert.clone()));
        st.output_feed.dispatch(id, &alert);
        let _ = st.feed.send(p);
    }
    Ok(saved
        .into_iter()
        .map(|(id, state)| (id, state == Saved::New))
        .collect())
}
