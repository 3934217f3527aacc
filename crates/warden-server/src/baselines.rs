//! The service's baselines survive a restart: each tenant's engine starts from what was
//! saved for that tenant, and the users whose baselines changed are saved every
//! `server.baseline_save_secs` and when the service stops. A `kill -9` loses at most the
//! last interval's learning (never an alert: alerts are committed before each answer).
//! Each tenant's entity graph and command-line prevalence are saved the same way.

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

/// Saves changed baselines every `server.baseline_save_secs` (inside the runtime).
pub fn start(st: &AppState) {
    let st = st.clone();
    let every = std::time::Duration::from_secs(st.config.server.baseline_save_secs);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            let state = st.clone();
            match tokio::task::spawn_blocking(move || flush(&state)).await {
                Ok(Err(e)) => tracing::error!("saving baselines: {e}"),
                Err(e) => tracing::error!("saving baselines: {e}"),
                Ok(Ok(_)) => {}
            }
        }
    });
}
