//! The models a running service uses (`[models]`): activity models for every tenant's
//! ensemble, and one flow model for `POST /v1/monitor/network`. Each comes from a file or
//! from the registry in the service's store (`registry:NAME`, its active version); registry
//! models are followed every `reload_secs` and a newly activated or rolled-back version is
//! swapped into every tenant's engine without a restart (a version that does not load, or
//! is of another kind, is reported and the one in use kept).
//!
//! Drift is watched on the models' own scores: the last [`DRIFT_WINDOW`] scores of each
//! model against the score distribution kept in its file at training (PSI; below 0.1
//! stable, up to 0.25 moderate, above significant).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, RwLock};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use warden_engine::UebaConfig;
use warden_engine::models::LoadedModel;
use warden_engine::ueba::UebaEngine;
use warden_engine::ueba::ensemble::Member;
use warden_models::ml::drift::{Histogram, psi, verdict};
use warden_store::Store;

use crate::config::ConfigError;

/// Scores kept per model for drift.
pub const DRIFT_WINDOW: usize = 5_000;
/// Fewer recent scores than this give no drift verdict.
const DRIFT_MIN: usize = 200;

/// `[models]` in the configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelsSection {
    /// Activity models for the ensemble (at most one forest, one sequence autoencoder, one
    /// trees model): file paths or `registry:NAME`.
    pub activity: Vec<String>,
    /// A flow model (NSL-KDD, UNSW-NB15 or Zeek conn) for `POST /v1/monitor/network`.
    pub network: Option<String>,
    /// Check the registry for newly activated versions this often (seconds; 0 = never).
    pub reload_secs: u64,
}

/// One model in use.
#[derive(Debug, Clone)]
pub struct ActiveModel {
    /// As configured (`path` or `registry:NAME`).
    pub source: String,
    /// Registry name and version, for registry models.
    pub registry: Option<(String, i64)>,
    pub label: String,
    pub bytes: Arc<Vec<u8>>,
    pub model: Arc<LoadedModel>,
    /// The ensemble member (activity models).
    pub member: Option<Member>,
    pub loaded_at: String,
}

/// A model source as shown to API callers: `registry:NAME` as it is, a path by its file
/// name.
fn shown_source(s: &str) -> String {
    if s.starts_with("registry:") || !s.contains(['/', '\\']) {
        return s.to_owned();
    }
    std::path::Path::new(s)
        .file_name()
        .map_or_else(|| s.to_owned(), |n| n.to_string_lossy().into_owned())
}

impl ActiveModel {
    fn load(source: &str, store: &Store) -> Result<ActiveModel, String> {
        let (registry, label, bytes) = match source.strip_prefix("registry:") {
            Some(name) => {
                let (version, body) = store
                    .model_body(name, None)
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| {
                        format!("registry model `{name}` has no active version in the store")
                    })?;
                (
                    Some((name.to_owned(), version)),
                    format!("{name} v{version}"),
                    body,
                )
            }
            None => {
                let bytes =
                    std::fs::read(source).map_err(|e| format!("cannot read {source}: {e}"))?;
                (None, source.to_owned(), bytes)
            }
        };
        let model =
            LoadedModel::from_bytes(label.clone(), &bytes).map_err(|e| format!("{label}: {e}"))?;
        Ok(ActiveModel {
            source: source.to_owned(),
            registry,
            label,
            bytes: Arc::new(bytes),
            model: Arc::new(model),
            member: None,
            loaded_at: warden_outputs::now_rfc3339(),
        })
    }

    /// A fresh copy for one engine (each engine owns its slot's model).
    fn fresh(&self) -> Result<LoadedModel, String> {
        LoadedModel::from_bytes(self.label.clone(), &self.bytes).map_err(|e| e.to_string())
    }

    fn describe(&self, drift: &ScoreWindow) -> Value {
        let f = &self.model.file;
        json!({
            "slot": self.member.map_or("network", Member::name),
            // A file model is named by its file name: the server's paths are not for callers.
            "label": shown_source(&self.label),
            "source": shown_source(&self.source),
            "registry": self.registry.as_ref().map(|(n, v)| json!({"name": n, "version": v})),
            "kind": f.model.kind(),
            "format": f.schema.format.name(),
            "features": f.schema.width(),
            "threshold": f.model.threshold(),
            "trained": {
                "input": f.training.input,
                "rows": f.training.rows,
                "created": warden_event::Timestamp(f.training.created_ms).to_rfc3339(),
                "fit_seconds": f.training.fit_seconds,
                "warden_version": f.training.warden_version,
            },
            "metrics": f.training.metrics,
            "loaded_at": self.loaded_at,
            "drift": drift.report(),
        })
    }
}

/// The most recent scores of one model, against its training distribution.
#[derive(Debug, Default)]
pub struct ScoreWindow {
    reference: Option<Histogram>,
    recent: VecDeque<f64>,
}

impl ScoreWindow {
    fn for_model(m: &ActiveModel) -> ScoreWindow {
        ScoreWindow {
            reference: m.model.file.reference.as_ref().map(|r| r.score.clone()),
            recent: VecDeque::new(),
        }
    }

    pub fn push(&mut self, score: f64) {
        if self.recent.len() == DRIFT_WINDOW {
            self.recent.pop_front();
        }
        self.recent.push_back(score);
    }

    fn report(&self) -> Value {
        let Some(reference) = &self.reference else {
            return json!({"status": "unknown", "reason": "the model file keeps no training distribution", "scores": self.recent.len()});
        };
        if self.recent.len() < DRIFT_MIN {
            return json!({"status": "unknown", "reason": format!("{} of {DRIFT_MIN} scores needed", self.recent.len()), "scores": self.recent.len()});
        }
        let recent: Vec<f64> = self.recent.iter().copied().collect();
        let p = psi(&reference.proportions, &reference.proportions_of(&recent));
        json!({"status": verdict(p), "psi": (p * 1000.0).round() / 1000.0, "scores": recent.len()})
    }
}

/// The service's models and what they have scored lately.
#[derive(Debug, Default)]
pub struct ServiceModels {
    pub activity: RwLock<Vec<ActiveModel>>,
    pub network: RwLock<Option<ActiveModel>>,
    /// Per ensemble member (forest, sequence, trees), then the network model.
    drift: Mutex<[ScoreWindow; 4]>,
}

impl ServiceModels {
    /// Loads what `[models]` names; an error names the key.
    pub fn load(cfg: &ModelsSection, store: &Store) -> Result<ServiceModels, ConfigError> {
        let bad = |key: &str, reason: String| ConfigError::Invalid {
            key: key.into(),
            reason,
        };
        let mut activity: Vec<ActiveModel> = Vec::new();
        for source in &cfg.activity {
            let mut m = ActiveModel::load(source, store).map_err(|e| bad("models.activity", e))?;
            let member = Member::of(&m.model).map_err(|e| bad("models.activity", e))?;
            if activity.iter().any(|a| a.member == Some(member)) {
                return Err(bad(
                    "models.activity",
                    format!(
                        "{source}: a second {} model; give at most one of each kind",
                        member.name()
                    ),
                ));
            }
            m.member = Some(member);
            activity.push(m);
        }
        let network = cfg
            .network
            .as_deref()
            .map(|source| {
                let m = ActiveModel::load(source, store).map_err(|e| bad("models.network", e))?;
                if m.model.file.schema.format.is_activity() {
                    return Err(bad(
                        "models.network",
                        format!("{source} is an activity model; give it in models.activity"),
                    ));
                }
                Ok(m)
            })
            .transpose()?;
        let mut drift: [ScoreWindow; 4] = Default::default();
        for m in &activity {
            if let Some(member) = m.member {
                drift[member as usize] = ScoreWindow::for_model(m);
            }
        }
        if let Some(m) = &network {
            drift[3] = ScoreWindow::for_model(m);
        }
        Ok(ServiceModels {
            activity: RwLock::new(activity),
            network: RwLock::new(network),
            drift: Mutex::new(drift),
        })
    }

    /// A tenant's engine with the activity models installed.
    pub fn new_engine(&self, cfg: &UebaConfig) -> Result<UebaEngine, String> {
        self.new_engine_with(cfg, Vec::new(), Default::default())
    }

    /// A tenant's engine continuing from saved baselines, with the activity models.
    pub fn new_engine_with(
        &self,
        cfg: &UebaConfig,
        users: Vec<(String, warden_models::baseline::UserState)>,
        population: warden_models::baseline::Population,
    ) -> Result<UebaEngine, String> {
        let mut engine =
            UebaEngine::with_state(cfg.clone(), users, population).map_err(|e| e.to_string())?;
        let models = self.activity.read().map_err(|_| "models lock")?;
        for m in models.iter() {
            engine
                .install_model(m.fresh()?)
                .map_err(|e| e.to_string())?;
        }
        Ok(engine)
    }

    /// Records the models' scores of a batch, for drift: those of the events in the models'
    /// sample only, since the others are asked about for what their checks found.
    pub fn observe(&self, scores: &[&warden_event::ThreatScore]) {
        let Ok(mut d) = self.drift.lock() else {
            return;
        };
        for s in scores.iter().filter(|s| s.models_sampled) {
            for (i, v) in [
                s.isolation_forest_score,
                s.lstm_autoencoder_score,
                s.xgboost_ensemble_score,
            ]
            .into_iter()
            .enumerate()
            {
                if let Some(v) = v {
                    d[i].push(f64::from(v));
                }
            }
        }
    }

    /// Records a network model score.
    pub fn observe_network(&self, scores: impl Iterator<Item = f64>) {
        if let Ok(mut d) = self.drift.lock() {
            for s in scores {
                d[3].push(s);
            }
        }
    }

    /// `GET /v1/models`: every model in use, its training figures and drift.
    pub fn describe(&self) -> Vec<Value> {
        // Lock order everywhere: the model lists, released, then the drift windows.
        let activity: Vec<ActiveModel> =
            self.activity.read().map(|a| a.clone()).unwrap_or_default();
        let network: Option<ActiveModel> = self.network.read().ok().and_then(|n| n.clone());
        let Ok(d) = self.drift.lock() else {
            return Vec::new();
        };
        let mut out: Vec<Value> = activity
            .iter()
            .map(|m| m.describe(&d[m.member.map_or(0, |x| x as usize)]))
            .collect();
        if let Some(m) = &network {
            out.push(m.describe(&d[3]));
        }
        out
    }

    /// Checks the registry and puts newly activated versions in use; returns what
    /// changed, as lines for the log. In phases, never holding two of the service's locks:
    /// the store (versions, bodies), then nothing (decoding, one copy per engine), then the
    /// model lists, then the engines (swaps), then the drift windows.
    pub fn reload(&self, st: &crate::AppState) -> Vec<String> {
        let mut log = Vec::new();
        let current: Vec<ActiveModel> = self.activity.read().map(|a| a.clone()).unwrap_or_default();
        let network: Option<ActiveModel> = self.network.read().ok().and_then(|n| n.clone());
        let (fresh_activity, fresh_network) = fresh_versions(st, &current, network.as_ref());
        let mut swaps = prepare_swaps(&current, fresh_activity, st.tenants.len(), &mut log);
        // The lists first: an engine created from now on installs the new model.
        if let Ok(mut activity) = self.activity.write() {
            for (i, n, _) in &swaps {
                if let Some(slot) = activity.get_mut(*i) {
                    log.push(format!("model {} replaces {}", n.label, slot.label));
                    *slot = n.clone();
                }
            }
        }
        swap_engines(st, &mut swaps, &mut log);
        let network_swap = fresh_network.and_then(|n| self.take_network(n, &mut log));
        if let Ok(mut d) = self.drift.lock() {
            for (_, n, _) in &swaps {
                if let Some(member) = n.member {
                    d[member as usize] = ScoreWindow::for_model(n);
                }
            }
            if let Some(n) = &network_swap {
                d[3] = ScoreWindow::for_model(n);
            }
        }
        log
    }

    /// A new active version of the network model put in the list (a flow model only);
    /// returns it when it was.
    fn take_network(&self, fresh: Fresh, log: &mut Vec<String>) -> Option<ActiveModel> {
        match fresh {
            Ok(n) if !n.model.file.schema.format.is_activity() => {
                if let Ok(mut slot) = self.network.write() {
                    if let Some(old) = slot.as_ref() {
                        log.push(format!(
                            "model {} replaces {} for network flows",
                            n.label, old.label
                        ));
                    }
                    *slot = Some(n.clone());
                }
                Some(n)
            }
            Ok(n) => {
                log.push(format!(
                    "model {}: an activity model; the network model is kept",
                    n.label
                ));
                None
            }
            Err(e) => {
                log.push(format!(
                    "network model: the new active version is not used ({e})"
                ));
                None
            }
        }
    }

    /// Whether any registry model is configured (and worth polling for).
    pub fn follows_registry(&self) -> bool {
        let a = self
            .activity
            .read()
            .map(|a| a.iter().any(|m| m.registry.is_some()))
            .unwrap_or(false);
        let n = self
            .network
            .read()
            .map(|n| n.as_ref().is_some_and(|m| m.registry.is_some()))
            .unwrap_or(false);
        a || n
    }
}

/// Starts the task that follows the registry (inside the runtime), when `[models]` has
/// registry models and `reload_secs` > 0.
pub fn follow_registry(st: &crate::AppState) {
    let secs = st.config.models.reload_secs;
    if secs == 0 || !(st.models.follows_registry() || st.payload.follows_registry()) {
        return;
    }
    let st = st.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(secs));
        tick.tick().await;
        loop {
            tick.tick().await;
            let state = st.clone();
            let log = tokio::task::spawn_blocking(move || {
                let mut log = state.models.reload(&state);
                log.extend(state.payload.reload(&state.store()));
                log
            })
            .await
            .unwrap_or_default();
            for line in log {
                tracing::info!("{line}");
            }
        }
    });
}

/// A model slot to swap: its index in the activity list, the new model and one copy of
/// it per engine.
type Swap = (usize, ActiveModel, Vec<LoadedModel>);

/// A new active version read from the registry, or why it could not be.
type Fresh = Result<ActiveModel, String>;

/// Phase 1, the store: which registry models have a new active version, and their
/// bodies (activity models by their index in `current`).
fn fresh_versions(
    st: &crate::AppState,
    current: &[ActiveModel],
    network: Option<&ActiveModel>,
) -> (Vec<(usize, Fresh)>, Option<Fresh>) {
    let store = st.store();
    let changed = |m: &ActiveModel| {
        m.registry.as_ref().is_some_and(|(name, version)| {
            matches!(store.active_model_version(name), Ok(Some(v)) if v != *version)
        })
    };
    let activity = current
        .iter()
        .enumerate()
        .filter(|(_, m)| changed(m))
        .map(|(i, m)| (i, ActiveModel::load(&m.source, &store)))
        .collect();
    let network = network
        .filter(|m| changed(m))
        .map(|m| ActiveModel::load(&m.source, &store));
    (activity, network)
}

/// Phase 2, no lock: each new version checked to be the same kind of model as the one it
/// replaces, and copied once per engine; one that is not is logged and left out.
fn prepare_swaps(
    current: &[ActiveModel],
    fresh: Vec<(usize, Fresh)>,
    tenants: usize,
    log: &mut Vec<String>,
) -> Vec<Swap> {
    let mut swaps = Vec::new();
    for (i, next) in fresh {
        let old = &current[i];
        let next = next.and_then(|mut n| {
            let member = Member::of(&n.model)?;
            if Some(member) != old.member {
                return Err(format!(
                    "{} is a {} model, not a {} one",
                    n.label,
                    member.name(),
                    old.member.map_or("?", Member::name)
                ));
            }
            n.member = Some(member);
            let copies = (0..tenants)
                .map(|_| n.fresh())
                .collect::<Result<Vec<_>, _>>()?;
            Ok((n, copies))
        });
        match next {
            Ok((n, copies)) => swaps.push((i, n, copies)),
            Err(e) => log.push(format!(
                "model {}: the new active version is not used ({e}); keeping {}",
                old.registry.as_ref().map_or("?", |(n, _)| n.as_str()),
                old.label
            )),
        }
    }
    swaps
}

/// Phase 4: the new models swapped into the engines that exist (a copy made on the spot
/// for an engine created since the copies were).
fn swap_engines(st: &crate::AppState, swaps: &mut [Swap], log: &mut Vec<String>) {
    let pipelines = st.tenants.all();
    for (_, n, copies) in swaps {
        let Some(member) = n.member else { continue };
        let mut copies = std::mem::take(copies).into_iter();
        let mut swapped = 0;
        for (_, pipeline) in &pipelines {
            let Ok(p) = pipeline.lock() else { continue };
            let Some(d) = p.detector::<warden_engine::pipeline::UebaDetector>() else {
                continue;
            };
            let Some(c) = copies.next().or_else(|| n.fresh().ok()) else {
                break;
            };
            d.engine().ensemble().slot(member).swap(c);
            swapped += 1;
        }
        log.push(format!(
            "model {} put in use in {swapped} engine(s)",
            n.label
        ));
    }
}
