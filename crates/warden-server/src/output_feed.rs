//! `[[outputs]]` fed from the store, so that what they had not sent survives a crash and a
//! full queue loses nothing. The alerts table is their log (ids grow in the order alerts
//! are committed), and each output keeps a cursor in the store: the last alert id it has
//! finished with ([`warden_store::Store::output_cursor`]).
//!
//! An output is either **live** — each commit hands it the new alerts at once, under the
//! store's lock, so in id order — or **catching up**: its pump reads the alerts after the
//! last one it was handed from the store (a read-only connection) and waits for room in
//! its queue. An output catches up after a start (from its cursor) and after its queue was
//! full; once the pump finds nothing newer it turns the output live again under the store's
//! lock, so no commit falls between. The pump also saves the cursor every half second and
//! at shutdown. Delivery is at least once: alerts handed over but not finished when the
//! process died are sent again after the restart (the receiver sees the same alert id).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use warden_event::Alert;
use warden_outputs::{Delivery, Outputs};
use warden_store::Store;

use crate::state::AppState;

/// Alerts read from the store at a time while an output catches up.
const PAGE: usize = 500;
/// How often cursors are saved and lagging outputs looked at.
const TICK: Duration = Duration::from_millis(500);
/// The read queue the pumps wait in (not a tenant name: those cannot hold parentheses).
const READS: &str = "(outputs)";

/// One output's place in the log.
#[derive(Debug)]
struct Lane {
    name: String,
    live: AtomicBool,
    /// The highest alert id handed to the output's queue (or passed over as not wanted).
    handed_to: AtomicI64,
    /// The cursor as saved in the store.
    saved: AtomicI64,
}

/// See the module docs.
#[derive(Debug, Default)]
pub struct OutputFeed {
    outputs: Arc<Outputs>,
    lanes: Vec<Lane>,
}

impl OutputFeed {
    /// Places each output at its cursor; an output never run before starts at the newest
    /// alert (it is not sent the store's history). Without readable cursors the outputs
    /// start live, as they were before the store fed them (said in the log).
    pub fn new(outputs: Arc<Outputs>, store: &Store) -> Self {
        match Self::placed(&outputs, store) {
            Ok(lanes) => OutputFeed { outputs, lanes },
            Err(e) => {
                tracing::error!("reading the outputs' cursors: {e}; they start from now");
                let lanes = (0..outputs.len())
                    .map(|i| Lane {
                        name: outputs.name(i).unwrap_or_default().to_owned(),
                        live: AtomicBool::new(true),
                        handed_to: AtomicI64::new(0),
                        saved: AtomicI64::new(0),
                    })
                    .collect();
                OutputFeed { outputs, lanes }
            }
        }
    }

    fn placed(outputs: &Outputs, store: &Store) -> Result<Vec<Lane>, warden_store::StoreError> {
        let last = store.last_alert_id()?;
        let mut lanes = Vec::with_capacity(outputs.len());
        for i in 0..outputs.len() {
            let name = outputs.name(i).unwrap_or_default().to_owned();
            let cursor = match store.output_cursor(&name)? {
                Some(c) => c,
                None => {
                    store.set_output_cursor(&name, last)?;
                    last
                }
            };
            lanes.push(Lane {
                name,
                live: AtomicBool::new(cursor >= last),
                handed_to: AtomicI64::new(cursor),
                saved: AtomicI64::new(cursor),
            });
        }
        Ok(lanes)
    }

    /// Hands a just-committed alert to the live outputs; call it under the store's lock,
    /// in id order. An output whose queue is full stops being live: its pump takes over.
    pub fn dispatch(&self, id: i64, alert: &Arc<Alert>) {
        let d = Delivery::new(Some(id), alert.clone());
        for (i, lane) in self.lanes.iter().enumerate() {
            if !lane.live.load(Ordering::Acquire) {
                continue;
            }
            if !self.outputs.wants(i, alert.level) || self.outputs.try_send_to(i, &d) {
                lane.handed_to.store(id, Ordering::Release);
            } else {
                lane.live.store(false, Ordering::Release);
                tracing::warn!(output = lane.name, "queue full: catching up from the store");
            }
        }
    }

    /// Starts one pump per output; call inside the runtime.
    pub fn start(self: &Arc<Self>, st: &AppState) {
        for i in 0..self.lanes.len() {
            tokio::spawn(pump(st.clone(), self.clone(), i));
        }
    }

    /// Saves output `i`'s cursor if it moved.
    async fn save(&self, st: &AppState, i: usize) {
        let lane = &self.lanes[i];
        let done = self.outputs.done_to(i);
        if done <= lane.saved.load(Ordering::Acquire) {
            return;
        }
        let name = lane.name.clone();
        match st
            .with_store(move |s| Ok(s.set_output_cursor(&name, done)?))
            .await
        {
            Ok(()) => lane.saved.store(done, Ordering::Release),
            Err(e) => tracing::warn!(output = lane.name, "saving the output's cursor: {e:?}"),
        }
    }

    /// Feeds output `i` from the store until it is live again (or the output stopped).
    async fn catch_up(self: &Arc<Self>, st: &AppState, i: usize) {
        let lane = &self.lanes[i];
        while !lane.live.load(Ordering::Acquire) {
            let from = lane.handed_to.load(Ordering::Acquire);
            let page = st
                .read(READS, move |s| Ok(s.alerts_for_outputs(from, PAGE)?))
                .await;
            let page = match page {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(output = lane.name, "reading alerts to send: {e:?}");
                    return;
                }
            };
            if page.is_empty() && self.go_live(st, i, from).await {
                return;
            }
            for (id, alert) in page {
                match alert {
                    Some(a) if self.outputs.wants(i, a.level) => {
                        if !self
                            .outputs
                            .send_to(i, Delivery::new(Some(id), Arc::new(a)))
                            .await
                        {
                            return;
                        }
                    }
                    Some(_) => {}
                    None => tracing::warn!(output = lane.name, "alert {id} is unreadable; passed"),
                }
                lane.handed_to.store(id, Ordering::Release);
            }
        }
    }

    /// Turns output `i` live if no alert after `from` was committed: under the store's
    /// lock, so that the next commit already finds it live.
    async fn go_live(self: &Arc<Self>, st: &AppState, i: usize, from: i64) -> bool {
        let me = self.clone();
        st.with_store(move |s| {
            let newest = s.last_alert_id()?;
            let lane = &me.lanes[i];
            if newest <= from {
                lane.live.store(true, Ordering::Release);
            }
            Ok(newest <= from)
        })
        .await
        .unwrap_or(false)
    }
}

async fn pump(st: AppState, feed: Arc<OutputFeed>, i: usize) {
    let mut closing = st.closing.subscribe();
    loop {
        feed.catch_up(&st, i).await;
        tokio::select! {
            () = tokio::time::sleep(TICK) => {}
            _ = closing.wait_for(|c| *c) => break,
        }
        feed.save(&st, i).await;
    }
    // What was finished by now does not need sending again after a restart.
    feed.save(&st, i).await;
}
