//! Each tenant's detection pipeline ([`warden_engine::pipeline::Pipeline`]: the behavioural
//! engine with the service's models, and the Sigma rules when `[sigma]` names some), each
//! behind its own lock: one tenant's large batch never holds up another's. A tenant's
//! pipeline is built the first time it is needed after a start, from its saved baselines.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use warden_engine::pipeline::{
    ContextLimits, GraphDetector, GraphLimits, Pipeline, PipelineOptions, RulesDetector,
    UebaDetector,
};
use warden_engine::ueba::UebaEngine;

use crate::error::ApiError;
use crate::state::AppState;

/// One tenant's pipeline, shared.
pub type TenantPipeline = Arc<Mutex<Pipeline>>;

/// Users whose recent events are kept, per tenant, as the context of their alerts.
pub const CONTEXT_USERS: usize = 20_000;

/// Every tenant's pipeline.
#[derive(Debug, Default)]
pub struct Tenants(RwLock<HashMap<String, TenantPipeline>>);

impl Tenants {
    pub fn get(&self, tenant: &str) -> Option<TenantPipeline> {
        self.0.read().ok()?.get(tenant).cloned()
    }

    /// Tenants with a pipeline in memory.
    pub fn len(&self) -> usize {
        self.0.read().map(|m| m.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every pipeline, to visit one at a time (never two locks at once).
    pub fn all(&self) -> Vec<(String, TenantPipeline)> {
        self.0
            .read()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }

    /// Drops the tenant's pipeline if it is still `which`: the next request rebuilds it
    /// from the store.
    pub fn evict(&self, tenant: &str, which: &TenantPipeline) {
        if let Ok(mut m) = self.0.write()
            && m.get(tenant).is_some_and(|p| Arc::ptr_eq(p, which))
        {
            m.remove(tenant);
        }
    }

    /// Keeps `p` as the tenant's pipeline unless another request made one meanwhile;
    /// returns the one in use.
    fn insert(&self, tenant: &str, p: Pipeline, max: usize) -> Result<TenantPipeline, ApiError> {
        let mut m = self
            .0
            .write()
            .map_err(|_| ApiError::internal("tenants lock"))?;
        if let Some(existing) = m.get(tenant) {
            return Ok(existing.clone());
        }
        if m.len() >= max {
            return Err(ApiError::internal("the tenant limit is reached"));
        }
        let p = Arc::new(Mutex::new(p));
        m.insert(tenant.to_owned(), p.clone());
        Ok(p)
    }
}

/// The pipeline's settings in the service.
pub fn options(st: &AppState) -> PipelineOptions {
    PipelineOptions {
        alert_level: st.config.server.alert_level,
        actions: st.config.ueba.scoring.actions.clone(),
        ..PipelineOptions::default()
    }
}

/// What was saved of a tenant's pipeline besides its baselines.
#[derive(Debug, Default, Clone, Copy)]
pub struct SavedState<'a> {
    /// The entity graph.
    pub graph: Option<&'a [u8]>,
    /// The command-line prevalence table.
    pub prevalence: Option<&'a [u8]>,
}

/// A pipeline around an engine, with the service's rules, the tenant's graph and its
/// command-line prevalence (from their saved forms when there are some).
pub fn build(st: &AppState, tenant: &str, engine: UebaEngine, saved: SavedState<'_>) -> Pipeline {
    let mut p = Pipeline::new(tenant, options(st));
    p.add(Box::new(UebaDetector::new(
        engine,
        ContextLimits {
            max_users: CONTEXT_USERS,
            ..ContextLimits::default()
        },
    )));
    if let Some(rules) = &st.rules {
        p.add(Box::new(RulesDetector::with_max_groups(
            rules.set.clone(),
            st.config.server.max_correlation_groups,
        )));
    }
    // Command lines of process creations, decoded and scored (after the rules: their
    // alerts for the same event carry the verdict).
    if st.config.payload.pipeline {
        let mut d = warden_engine::pipeline::PayloadDetector::new(st.payload.clone())
            .with_min_level(st.config.payload.alert_level)
            .with_common_at(st.config.payload.common_at_hosts);
        if let Some(Err(e)) = saved.prevalence.map(|b| d.restore_prevalence(b)) {
            tracing::error!(
                "tenant {tenant}: the saved command-line prevalence cannot be read ({e}); \
                 counting afresh"
            );
        }
        p.add(Box::new(d));
    }
    // Zeek `conn` and `dns` records over a sliding window: scans, beacons, tunnels.
    if st.config.network.pipeline {
        p.add(Box::new(warden_engine::pipeline::NetworkDetector::new(
            st.config.network.clone(),
        )));
    }
    // Every tenant's Windows logons, privileges and processes also build its entity graph.
    let g = &st.config.graph;
    if !g.enabled {
        return p;
    }
    let limits = GraphLimits {
        max_edges: g.max_edges,
        learn_days: g.learn_days,
    };
    let detector = match saved
        .graph
        .map(|g| GraphDetector::restore(tenant, limits, g))
    {
        Some(Ok(d)) => d,
        Some(Err(e)) => {
            tracing::error!(
                "tenant {tenant}: the saved graph cannot be read ({e}); starting afresh"
            );
            GraphDetector::new(tenant, limits)
        }
        None => GraphDetector::new(tenant, limits),
    };
    p.add(Box::new(detector));
    p
}

/// The tenant's pipeline, built from its saved baselines the first time it is needed. The
/// store is read before the tenants' lock is taken (never inside it).
pub fn pipeline(st: &AppState, tenant: &str) -> Result<TenantPipeline, ApiError> {
    if let Some(p) = st.tenants.get(tenant) {
        return Ok(p);
    }
    let engine = crate::baselines::load_engine(st, tenant).map_err(ApiError::internal)?;
    let (graph, prevalence) = {
        let store = st.store();
        (
            store.load_graph(tenant).map_err(ApiError::internal)?,
            store.load_prevalence(tenant).map_err(ApiError::internal)?,
        )
    };
    let saved = SavedState {
        graph: graph.as_deref(),
        prevalence: prevalence.as_deref(),
    };
    let p = build(st, tenant, engine, saved);
    st.tenants.insert(tenant, p, st.config.server.max_tenants)
}

/// Runs `f` on the tenant's pipeline, under its lock. A pipeline whose lock was poisoned
/// (a panic while it was being changed) may hold half an update: it is dropped and rebuilt
/// from the store instead of failing every request until a restart.
pub fn with_pipeline<T>(
    st: &AppState,
    tenant: &str,
    f: impl FnOnce(&mut Pipeline) -> T,
) -> Result<T, ApiError> {
    let shared = pipeline(st, tenant)?;
    let poisoned = match shared.lock() {
        Ok(mut p) => return Ok(f(&mut p)),
        Err(_) => true,
    };
    if poisoned {
        tracing::error!("tenant {tenant}: its pipeline was left inconsistent; rebuilding it");
        st.tenants.evict(tenant, &shared);
    }
    let fresh = pipeline(st, tenant)?;
    let mut p = fresh
        .lock()
        .map_err(|_| ApiError::internal("pipeline lock"))?;
    Ok(f(&mut p))
}

/// Runs `f` on the tenant's behavioural engine.
pub fn with_engine<T>(
    st: &AppState,
    tenant: &str,
    f: impl FnOnce(&UebaEngine) -> T,
) -> Result<T, ApiError> {
    with_pipeline(st, tenant, |p| {
        p.detector::<UebaDetector>()
            .map(|d| f(d.engine()))
            .ok_or_else(|| ApiError::internal("no behavioural detector"))
    })?
}

/// Runs `f` on the tenant's entity graph and what its finders learned.
pub fn with_graph<T>(
    st: &AppState,
    tenant: &str,
    f: impl FnOnce(&warden_graph::Hunter) -> T,
) -> Result<T, ApiError> {
    with_pipeline(st, tenant, |p| {
        p.detector::<GraphDetector>()
            .map(|d| f(d.hunter()))
            .ok_or(ApiError::Unavailable(
                "the entity graph is off ([graph] enabled = false in the configuration)",
            ))
    })?
}
