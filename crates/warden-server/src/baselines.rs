//! The service's baselines survive a restart: each tenant's engine starts from what was
//! saved for that tenant, and the users whose baselines changed are saved every
//! `server.baseline_save_secs` and when the service stops. A `kill -9` loses at most the
//! last interval's learning (never an alert: alerts are committed before each answer).
//! Each tenant's entity graph and command-line prevalence table, written whole, are saved
//! when they changed at most every `server.snapshot_save_secs`, and when the service stops.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use warden_engine::pipeline::{GraphDetector, PayloadDetector, Pipeline, UebaDetector};
use warden_engine::ueba::UebaEngine;
use warden_models::baseline::codec;
use warden_store::{Store, StoreError};

use crate::state::AppState;

/// Users whose baselines changed since the last save, per tenant.
#[derive(Debug, Default)]
pub struct Dirty(Mutex<HashMap<String, HashSet<String>>>);

impl Dirty {
    pub fn mark<'a>(&self, tenant: &str, users: impl Iterator<Item = &'a str>) {
        if let Ok(mut d) = self.0.lock() {
            let set = d.entry(tenant.to_owned()).or_default();
            for u in users {
                if !set.contains(u) {
                    set.insert(u.to_owned());
                }
            }
        }
    }

    fn take(&self) -> HashMap<String, HashSet<String>> {
        self.0
            .lock()
            .map(|mut d| std::mem::take(&mut *d))
            .unwrap_or_default()
    }
}

/// A tenant's engine from its saved baselines (or fresh), with the service's models.
pub fn load_engine(st: &AppState, tenant: &str) -> Result<UebaEngine, String> {
    let (users, population) = st
        .store()
        .load_tenant_baselines(tenant)
        .map_err(|e| e.to_string())?;
    // The tenant's quota of users bounds its baselines.
    let mut ueba = st.config.ueba.clone();
    ueba.limits.max_users = ueba
        .limits
        .max_users
        .min(st.config.server.max_users_per_tenant);
    st.models.new_engine_with(&ueba, users, population)
}

/// Saves the baselines that changed, the graphs that grew and the prevalence tables that
/// changed; returns how many baselines.
pub fn flush(st: &AppState) -> Result<usize, String> {
    flush_graphs(st)?;
    flush_prevalence(st)?;
    flush_baselines(st)
}

/// Saves the baselines that changed; returns how many.
pub fn flush_baselines(st: &AppState) -> Result<usize, String> {
    let dirty = st.dirty.take();
    if dirty.is_empty() {
        return Ok(0);
    }
    // Encoded under each pipeline's lock in turn, written under the store's: never both
    // at once.
    let mut encoded = Vec::new();
    for (tenant, users) in &dirty {
        let Some(pipeline) = st.tenants.get(tenant) else {
            continue;
        };
        let p = pipeline.lock().map_err(|_| "pipeline lock".to_owned())?;
        let Some(engine) = p.detector::<UebaDetector>().map(UebaDetector::engine) else {
            continue;
        };
        {
            let rows: Vec<(String, Vec<u8>, u32, String)> = users
                .iter()
                .filter_map(|u| {
                    let s = engine.user(u)?;
                    Some((
                        u.clone(),
                        codec::encode(s),
                        s.profile.events,
                        s.profile.last_seen.to_rfc3339(),
                    ))
                })
                .collect();
            encoded.push((tenant.clone(), rows, codec::encode(engine.population())));
        }
    }
    let mut store = st.store();
    let mut n = 0;
    for (tenant, rows, population) in encoded {
        n += store
            .save_tenant_baselines(&tenant, &rows, &population)
            .map_err(|e| e.to_string())?;
    }
    Ok(n)
}

/// Saves each tenant's graph that took events since its last save.
pub fn flush_graphs(st: &AppState) -> Result<usize, String> {
    save_each(
        st,
        |p| match p.detector_mut::<GraphDetector>() {
            Some(d) if d.unsaved() > 0 => {
                let edges = d.hunter().graph.edge_count() as u64;
                Ok(Some((d.snapshot().map_err(|e| e.to_string())?, edges)))
            }
            _ => Ok(None),
        },
        |store, tenant, (bytes, edges)| store.save_graph(tenant, &bytes, edges),
    )
}

/// Saves each tenant's command-line prevalence that changed since its last save.
pub fn flush_prevalence(st: &AppState) -> Result<usize, String> {
    save_each(
        st,
        |p| {
            Ok(p.detector_mut::<PayloadDetector>()
                .and_then(PayloadDetector::prevalence_snapshot))
        },
        |store, tenant, bytes| store.save_prevalence(tenant, &bytes),
    )
}

/// For each tenant, what `take` finds to save in its pipeline, encoded under the
/// pipeline's lock and written by `save` under the store's, never both at once; returns
/// how many were saved.
fn save_each<T>(
    st: &AppState,
    take: impl Fn(&mut Pipeline) -> Result<Option<T>, String>,
    save: impl Fn(&mut Store, &str, T) -> Result<(), StoreError>,
) -> Result<usize, String> {
    let mut saved = 0;
    for (tenant, pipeline) in st.tenants.all() {
        let encoded = {
            let mut p = pipeline.lock().map_err(|_| "pipeline lock".to_owned())?;
            take(&mut p)?
        };
        if let Some(body) = encoded {
            save(&mut st.store(), &tenant, body).map_err(|e| e.to_string())?;
            saved += 1;
        }
    }
    Ok(saved)
}

/// Saves changed baselines every `server.baseline_save_secs`, and with them the graphs and
/// prevalence tables when `server.snapshot_save_secs` have passed since they were last
/// saved (inside the runtime).
pub fn start(st: &AppState) {
    let st = st.clone();
    let every = std::time::Duration::from_secs(st.config.server.baseline_save_secs);
    let mut cadence = Cadence::new(
        std::time::Duration::from_secs(st.config.server.snapshot_save_secs),
        std::time::Instant::now(),
    );
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            let state = st.clone();
            let snapshots = cadence.snapshots_due(std::time::Instant::now());
            let saved = tokio::task::spawn_blocking(move || {
                if snapshots {
                    flush(&state)
                } else {
                    flush_baselines(&state)
                }
            });
            match saved.await {
                Ok(Err(e)) => tracing::error!("saving baselines: {e}"),
                Err(e) => tracing::error!("saving baselines: {e}"),
                Ok(Ok(_)) => {}
            }
        }
    });
}

/// When the whole-table saves are next due: a graph or a prevalence table is megabytes,
/// written again whole at each save, so it is saved less often than the baselines, which
/// are written user by user.
#[derive(Debug)]
struct Cadence {
    every: std::time::Duration,
    last: std::time::Instant,
}

impl Cadence {
    fn new(every: std::time::Duration, started: std::time::Instant) -> Cadence {
        Cadence {
            every,
            last: started,
        }
    }

    /// Whether the snapshots are due at `now`; when they are, the next are due `every`
    /// later.
    fn snapshots_due(&mut self, now: std::time::Instant) -> bool {
        let due = now.saturating_duration_since(self.last) >= self.every;
        if due {
            self.last = now;
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn whole_tables_are_saved_at_their_own_pace() {
        let t0 = Instant::now();
        let mut c = Cadence::new(Duration::from_secs(300), t0);
        // Baselines every 30 s: the snapshots at the tenth tick, then ten ticks later.
        let due: Vec<u64> = (1..=25u64)
            .filter(|k| c.snapshots_due(t0 + Duration::from_secs(30 * k)))
            .map(|k| k * 30)
            .collect();
        assert_eq!(due, [300, 600]);
        // A late tick counts from when it ran.
        assert!(c.snapshots_due(t0 + Duration::from_secs(1000)));
        assert!(!c.snapshots_due(t0 + Duration::from_secs(1290)));
        assert!(c.snapshots_due(t0 + Duration::from_secs(1300)));
        // As often as the baselines when configured so.
        let mut same = Cadence::new(Duration::from_secs(30), t0);
        assert!((1..=5u64).all(|k| same.snapshots_due(t0 + Duration::from_secs(30 * k))));
    }
}
