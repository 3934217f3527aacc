//! [`UebaEngine`]: owns every user's state and scores events one at a time, in time order.

use super::checks::{self, time::hour_usualness};
use super::{
    CheckContext, Finding, MatchCache, Matchers, SourceTracker, SourceView, behavioral_deviation,
    explain, scoring,
};
use crate::{ConfigError, UebaConfig};
use rustc_hash::FxHashMap;
use warden_event::{AnomalyType, FEATURE_NAMES, FeatureVector, ThreatScore, UserActivity};
use warden_models::baseline::{ActivityKeys, Population, UserState};
use warden_models::stats::stable_hash;

/// Counters of what the engine did, for summaries and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineCounters {
    pub events: u64,
    /// Events learned into baselines.
    pub learned: u64,
    /// Events kept out of baselines because they alerted at or above the quarantine level.
    pub quarantined: u64,
    /// Events older than their user's latest learned event.
    pub out_of_order: u64,
}

/// The behavioural detector.
pub struct UebaEngine {
    config: UebaConfig,
    matchers: Matchers,
    match_cache: MatchCache,
    sources: SourceTracker,
    users: FxHashMap<String, UserState>,
    population: Population,
    counters: EngineCounters,
    findings: Vec<Finding>,
}

impl UebaEngine {
    pub fn new(config: UebaConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            matchers: Matchers::new(&config)?,
            match_cache: MatchCache::default(),
            sources: SourceTracker::default(),
            config,
            users: FxHashMap::default(),
            population: Population::default(),
            counters: EngineCounters::default(),
            findings: Vec::with_capacity(8),
        })
    }

    /// Continues from persisted state (`warden detect --store`).
    pub fn with_state(
        config: UebaConfig,
        users: impl IntoIterator<Item = (String, UserState)>,
        population: Population,
    ) -> Result<Self, ConfigError> {
        let mut me = Self::new(config)?;
        me.users = users.into_iter().collect();
        me.population = population;
        me.population.users = me.users.values().filter(|s| s.profile.events > 0).count() as u32;
        Ok(me)
    }

    pub fn config(&self) -> &UebaConfig {
        &self.config
    }

    pub fn counters(&self) -> EngineCounters {
        self.counters
    }

    pub fn users(&self) -> impl Iterator<Item = (&String, &UserState)> {
        self.users.iter()
    }

    pub fn user(&self, id: &str) -> Option<&UserState> {
        self.users.get(id)
    }

    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    pub fn population(&self) -> &Population {
        &self.population
    }

    /// Approximate memory held by all user states, in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.users
            .iter()
            .map(|(k, v)| k.capacity() + v.memory_bytes())
            .sum()
    }

    /// Scores one event, then learns it unless it alerted. Events should arrive in time
    /// order per user; older ones are scored but counted as out of order.
    pub fn score(&mut self, a: &UserActivity, with_features: bool) -> ThreatScore {
        self.counters.events += 1;
        if !self.users.contains_key(a.user_id.as_str()) {
            self.users.insert(a.user_id.clone(), UserState::default());
        }
        let Self {
            config,
            matchers,
            match_cache,
            sources,
            users,
            population,
            counters,
            findings,
        } = self;
        let keys = ActivityKeys::of(a);
        let (sensitive_resource, automation_agent) = match_cache.flags(matchers, a, &keys);
        let secs = event_secs(a);
        let fail = &config.failures;
        let (source_window, source_recent) = match keys.network {
            Some(net) => {
                if !a.success {
                    let account = stable_hash(&a.user_id);
                    sources.record_failure(net, account, secs, fail.success_after_minutes * 60);
                }
                (
                    sources.view(net, secs, fail.window_minutes * 60),
                    sources.view(net, secs, fail.success_after_minutes * 60),
                )
            }
            None => Default::default(),
        };
        match users.get_mut(a.user_id.as_str()) {
            Some(state) => score_user(
                &Env {
                    cfg: config,
                    keys: &keys,
                    sensitive_resource,
                    automation_agent,
                    source_window,
                    source_recent,
                },
                population,
                counters,
                findings,
                state,
                a,
                with_features,
            ),
            None => unreachable!("inserted above"),
        }
    }
}

fn maturity(cfg: &UebaConfig, s: &UserState) -> f64 {
    let w = &cfg.warmup;
    let e = (f64::from(s.profile.events) / f64::from(w.min_events)).min(1.0);
    let d = (f64::from(s.profile.active_days) / f64::from(w.min_days)).min(1.0);
    e * d
}

/// What a scoring step reads: the configuration and facts derived once per event.
struct Env<'a> {
    cfg: &'a UebaConfig,
    keys: &'a ActivityKeys,
    sensitive_resource: bool,
    automation_agent: bool,
    source_window: SourceView,
    source_recent: SourceView,
}

/// Event time in whole seconds, clamped into the range the windows store.
fn event_secs(a: &UserActivity) -> u32 {
    (a.timestamp.millis() / 1000).clamp(0, i64::from(u32::MAX)) as u32
}

fn score_user(
    env: &Env<'_>,
    population: &mut Population,
    counters: &mut EngineCounters,
    findings: &mut Vec<Finding>,
    state: &mut UserState,
    a: &UserActivity,
    with_features: bool,
) -> ThreatScore {
    let cfg = env.cfg;
    {
        let keys = env.keys;
        let secs = event_secs(a);
        if state.profile.events > 0 && a.timestamp < state.profile.last_seen {
            counters.out_of_order += 1;
        }
        let new_session = state.recent.touch(secs, cfg.time.session_gap_minutes * 60);
        if new_session {
            let u = hour_usualness(&state.profile, a, cfg.time.active_hour_share);
            state.recent.session_started_usual =
                state.profile.events > 0 && u.share >= cfg.time.min_hour_share;
        }
        if !a.success {
            state.recent.failures.push(secs);
        }
        let maturity = maturity(cfg, state);
        let mut features: FeatureVector = [0.0; 16];
        findings.clear();
        let ctx = CheckContext {
            activity: a,
            keys,
            profile: &state.profile,
            recent: &state.recent,
            population,
            config: cfg,
            sensitive_resource: env.sensitive_resource,
            automation_agent: env.automation_agent,
            source_window: env.source_window,
            source_recent: env.source_recent,
            secs,
            maturity,
        };
        checks::run_all(&ctx, &mut features, findings);
        let deviation = behavioral_deviation(&features);
        if f64::from(deviation) >= cfg.scoring.deviation_threshold {
            findings.push(Finding::new(
                AnomalyType::BehavioralDeviation,
                f64::from(deviation),
                deviation_detail(&features, deviation),
            ));
        }
        let scored = scoring::combine(std::mem::take(findings), maturity, cfg);
        let explanation = explain::explanation(&scored, &state.profile, maturity, cfg);

        if !a.success {
            state.recent.last_failure_network = keys.network;
        }
        if a.success && scored.level < cfg.scoring.quarantine_level {
            if state.profile.events == 0 {
                population.users += 1;
            }
            state.profile.learn(a, keys, &cfg.caps, population);
            counters.learned += 1;
        } else if a.success {
            counters.quarantined += 1;
        }

        let has = |t: AnomalyType| scored.anomalies.iter().any(|x| x.kind == t);
        ThreatScore {
            event_id: a.event_id.clone(),
            user_id: a.user_id.clone(),
            timestamp: a.timestamp.to_rfc3339(),
            threat_score: scored.score,
            threat_level: scored.level,
            primary_anomalies: scored.primary.clone(),
            confidence: scored.confidence,
            isolation_forest_score: None,
            lstm_autoencoder_score: None,
            xgboost_ensemble_score: None,
            impossible_travel_detected: has(AnomalyType::ImpossibleTravel),
            unusual_time_detected: has(AnomalyType::UnusualTime),
            unusual_volume_detected: has(AnomalyType::UnusualVolume),
            unusual_resources_detected: has(AnomalyType::UnusualResources),
            behavioral_deviation_score: (deviation * 100.0).round() / 100.0,
            recommended_actions: cfg.scoring.actions.for_level(scored.level).to_vec(),
            explanation,
            learning: maturity < 1.0,
            anomalies: scored.anomalies,
            features: with_features.then_some(features),
        }
    }
}

fn deviation_detail(f: &FeatureVector, deviation: f32) -> String {
    let mut idx: Vec<usize> = (0..f.len()).filter(|i| f[*i] >= 0.5).collect();
    idx.sort_by(|a, b| f[*b].total_cmp(&f[*a]));
    let parts: Vec<String> = idx
        .iter()
        .take(5)
        .map(|i| format!("{} {:.2}", FEATURE_NAMES[*i], f[*i]))
        .collect();
    format!(
        "several behaviours deviate at once (composite {deviation:.2}): {}",
        parts.join(", ")
    )
}
