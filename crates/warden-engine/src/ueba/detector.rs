//! [`UebaEngine`]: owns every user's state and scores events one at a time, in time order.

use super::checks::{self, time::hour_usualness};
use super::ensemble::{Ensemble, Member, ModelCounters, ModelVerdict, SequenceTracker};
use super::session;
use super::{
    CheckContext, EngineSnapshot, Finding, MatchCache, Matchers, SourceTracker, SourceView,
    behavioral_deviation, explain, feat, scoring,
};
use crate::models::LoadedModel;
use crate::{ConfigError, UebaConfig};
use rustc_hash::FxHashMap;
use warden_event::{AnomalyType, FEATURE_NAMES, FeatureVector, ThreatScore, UserActivity};
use warden_models::baseline::{
    ActivityKeys, HashMemo, HeldTransfer, Population, SessionNote, SessionNotes, TransferKind,
    UserState,
};
use warden_models::stats::stable_hash;

/// Counters of what the engine did, for summaries and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineCounters {
    pub events: u64,
    /// Events learned into baselines.
    pub learned: u64,
    /// Events kept out of baselines because they alerted at or above the quarantine level.
    pub quarantined: u64,
    /// Events older than their user's latest learned event: scored, not learned (so that
    /// replaying input does not count it twice).
    pub out_of_order: u64,
    /// Events of new users beyond `limits.max_users`: scored without history, not kept.
    pub untracked: u64,
}

/// The behavioural detector.
pub struct UebaEngine {
    config: UebaConfig,
    matchers: Matchers,
    match_cache: MatchCache,
    /// The user agents' key hashes, remembered across events.
    key_memo: HashMemo,
    sources: SourceTracker,
    users: FxHashMap<String, UserState>,
    population: Population,
    counters: EngineCounters,
    findings: Vec<Finding>,
    ensemble: Ensemble,
    /// Per-user windows of recent events, kept when the sequence model (or a caller
    /// extracting training windows) needs them.
    sequences: Option<SequenceTracker>,
}

impl UebaEngine {
    pub fn new(config: UebaConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            matchers: Matchers::new(&config)?,
            match_cache: MatchCache::default(),
            key_memo: HashMemo::default(),
            sources: SourceTracker::default(),
            config,
            users: FxHashMap::default(),
            population: Population::default(),
            counters: EngineCounters::default(),
            findings: Vec::with_capacity(8),
            ensemble: Ensemble::default(),
            sequences: None,
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

    /// Continues from a checkpoint (a scale-out worker taking a partition over): the same
    /// events then score as they would have in the engine the snapshot was taken of.
    pub fn from_snapshot(config: UebaConfig, snap: EngineSnapshot) -> Result<Self, ConfigError> {
        let mut me = Self::new(config)?;
        me.users = snap.users.into_iter().collect();
        me.population = snap.population;
        me.sources = snap.sources;
        Ok(me)
    }

    /// Everything learned, for a checkpoint. `None` when a sequence model is installed: its
    /// per-user windows are not part of a snapshot, and a restored engine would score
    /// differently.
    pub fn snapshot(&self) -> Option<EngineSnapshot> {
        if self.sequences.is_some() {
            return None;
        }
        let mut users: Vec<(String, UserState)> = self
            .users
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        users.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Some(EngineSnapshot {
            users,
            population: self.population.clone(),
            sources: self.sources.clone(),
        })
    }

    pub fn config(&self) -> &UebaConfig {
        &self.config
    }

    pub fn counters(&self) -> EngineCounters {
        self.counters
    }

    /// Adds a model to the ensemble (its kind decides its place); it must have been trained
    /// on user activity.
    pub fn install_model(&mut self, model: LoadedModel) -> Result<Member, ConfigError> {
        let member = self.ensemble.install(model).map_err(ConfigError::Invalid)?;
        if member == Member::Sequence {
            self.enable_sequences();
        }
        Ok(member)
    }

    /// The model layer: its slots (to swap models while running) and counters.
    pub fn ensemble(&self) -> &Ensemble {
        &self.ensemble
    }

    pub fn model_counters(&self) -> ModelCounters {
        self.ensemble.counters()
    }

    /// Keeps every user's window of recent events (see [`Self::last_window`]).
    pub fn enable_sequences(&mut self) {
        if self.sequences.is_none() {
            self.sequences = Some(SequenceTracker::new(self.config.limits.max_users));
        }
    }

    /// The window of recent events of the last scored event's user, newest last, when
    /// sequences are kept.
    pub fn last_window(&mut self) -> Option<&[f32]> {
        self.sequences.as_mut().map(SequenceTracker::last_window)
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
    /// order per user; older ones are scored but not learned, and counted as out of order.
    pub fn score(&mut self, a: &UserActivity, with_features: bool) -> ThreatScore {
        self.counters.events += 1;
        let keys = ActivityKeys::of_memo(a, &mut self.key_memo);
        let secs = event_secs(a);
        let (sensitive_resource, automation_agent) =
            self.match_cache.flags(&self.matchers, a, &keys);
        let (source_window, source_recent) = self.track_source(a, &keys, secs);
        let env = Env {
            cfg: &self.config,
            keys: &keys,
            secs,
            sensitive_resource,
            automation_agent,
            source_window,
            source_recent,
        };
        let mut step = Step {
            population: &mut self.population,
            counters: &mut self.counters,
            findings: &mut self.findings,
            ensemble: &mut self.ensemble,
            sequences: self.sequences.as_mut(),
        };
        if let Some(state) = self.users.get_mut(a.user_id.as_str()) {
            return step.score_user(&env, state, a, with_features);
        }
        if self.users.len() >= self.config.limits.max_users {
            step.counters.untracked += 1;
            let mut scratch = UserState::default();
            return step.score_user(&env, &mut scratch, a, with_features);
        }
        let state = self.users.entry(a.user_id.clone()).or_default();
        step.score_user(&env, state, a, with_features)
    }

    /// Records a failure against its source network; returns what that source did lately.
    fn track_source(
        &mut self,
        a: &UserActivity,
        keys: &ActivityKeys,
        secs: u32,
    ) -> (SourceView, SourceView) {
        let Some(net) = keys.network else {
            return Default::default();
        };
        let f = &self.config.failures;
        if !a.success {
            self.sources.record_failure(
                net,
                stable_hash(&a.user_id),
                secs,
                f.success_after_minutes * 60,
            );
        }
        (
            self.sources.view(net, secs, f.window_minutes * 60),
            self.sources.view(net, secs, f.success_after_minutes * 60),
        )
    }
}

fn maturity(cfg: &UebaConfig, s: &UserState) -> f64 {
    let w = &cfg.warmup;
    let e = (f64::from(s.profile.events) / f64::from(w.min_events)).min(1.0);
    let d = (f64::from(s.profile.active_days) / f64::from(w.min_days)).min(1.0);
    e * d
}

/// Event time in whole seconds, clamped into the range the windows store.
fn event_secs(a: &UserActivity) -> u32 {
    (a.timestamp.millis() / 1000).clamp(0, i64::from(u32::MAX)) as u32
}

/// Whether `a` is a successful sign-in at least `time.relogin_pause_minutes` after the user
/// signed out of the session under way: the start of a new session, whatever the gap since
/// their last event. (Failed sign-ins after the sign-out may have opened a session already;
/// then the success continues it.)
fn signs_in_again(cfg: &UebaConfig, state: &UserState, a: &UserActivity, secs: u32) -> bool {
    let pause = cfg.time.relogin_pause_minutes * 60;
    pause > 0
        && a.success
        && a.activity_type.is_authentication()
        && state.signed_out_at.is_some_and(|out| {
            out >= state.recent.session_start && secs.saturating_sub(out) >= pause
        })
}

/// What the session's earlier notes add to an event: those carried into its own moderate
/// anomalies, and — at the user's first everyday work of the session (`work_begins`) — the
/// first accesses before it read again (with the strengthened notes to keep).
fn session_findings(
    state: &UserState,
    notes: &[SessionNote],
    work_begins: Option<u64>,
    population: &Population,
    cfg: &UebaConfig,
) -> (Vec<Finding>, Vec<SessionNote>) {
    let again = match work_begins {
        Some(work) if !state.session.is_empty() => {
            session::back_at_work(&state.session, work, &state.profile, population, cfg)
        }
        _ => session::Restatement::default(),
    };
    if again.findings.is_empty() {
        let carried = session::carried(
            &state.session,
            notes,
            &state.profile,
            population,
            work_begins.or(state.session_work),
            cfg,
        );
        return (carried, again.strengthened);
    }
    // The first accesses read again are in this event's findings already.
    let mut rest = SessionNotes::default();
    state
        .session
        .iter()
        .filter(|n| n.kind != AnomalyType::UnusualResources || !again.subjects.contains(&n.subject))
        .for_each(|n| rest.note(n.clone()));
    let work = work_begins.or(state.session_work);
    let mut carried = session::carried(&rest, notes, &state.profile, population, work, cfg);
    carried.extend(again.findings);
    (carried, again.strengthened)
}

/// The explanation's note of models that could not score the event.
fn unavailable_note(unavailable: &[String]) -> String {
    format!(
        " Scored without {} ({}).",
        if unavailable.len() == 1 {
            "a model"
        } else {
            "some models"
        },
        unavailable.join("; ")
    )
}

/// What a scoring step reads: the configuration and facts derived once per event.
struct Env<'a> {
    cfg: &'a UebaConfig,
    keys: &'a ActivityKeys,
    secs: u32,
    sensitive_resource: bool,
    automation_agent: bool,
    source_window: SourceView,
    source_recent: SourceView,
}

/// What a scoring step writes besides the user's own state.
struct Step<'a> {
    population: &'a mut Population,
    counters: &'a mut EngineCounters,
    findings: &'a mut Vec<Finding>,
    ensemble: &'a mut Ensemble,
    sequences: Option<&'a mut SequenceTracker>,
}

/// A scored event before it becomes a [`ThreatScore`].
struct Outcome {
    scored: scoring::Scored,
    features: FeatureVector,
    deviation: f32,
    maturity: f64,
    explanation: String,
    models: Option<ModelVerdict>,
    /// Part of the models' drift sample.
    sample: bool,
    /// The event's own moderate anomalies, for the rest of its session.
    notes: Vec<SessionNote>,
    /// The session's earlier notes read again now that the user is at their own work.
    restated: Vec<SessionNote>,
}

impl Step<'_> {
    fn score_user(
        &mut self,
        env: &Env<'_>,
        state: &mut UserState,
        a: &UserActivity,
        with_features: bool,
    ) -> ThreatScore {
        let cfg = env.cfg;
        let gap = cfg.time.session_gap_minutes * 60;
        // Only the user's latest event says whether they are signed out: an older one
        // arriving late neither signs them out nor back in.
        let latest = state.recent.events.is_empty() || env.secs >= state.recent.last_event;
        let again = latest && signs_in_again(cfg, state, a, env.secs);
        let within_gap = !state.recent.events.is_empty()
            && env.secs.saturating_sub(state.recent.last_event) <= gap;
        let new_session = state.recent.touch(env.secs, gap, again);
        if new_session {
            // Said only where the sign-out is what split the session (not after a weekend).
            state.session_after_sign_out = state.signed_out_at.filter(|_| again && within_gap);
        }
        // A sign-out ends the user's work unless something they do follows it (failed
        // events are not something they did).
        if a.success && latest {
            state.signed_out_at =
                (a.activity_type == warden_event::ActivityType::Logout).then_some(env.secs);
        }
        if new_session {
            self.open_session(cfg, state, a);
        }
        if !a.success {
            state.recent.failures.push(env.secs);
        }
        if a.success {
            state.transfers.add_to_session(a.data_transferred_gb);
        }
        // The user's first everyday work of the session, read before the event is scored:
        // first accesses before it are read again (`session::back_at_work`).
        let work_begins = if a.success && state.session_work.is_none() {
            self.own_work(env, state)
        } else {
            None
        };
        let outcome = self.evaluate(env, state, a, work_begins);
        if outcome.scored.level >= cfg.scoring.quarantine_level {
            state.transfers.session_flagged = true;
        } else {
            for note in outcome.restated.iter().chain(&outcome.notes) {
                state.session.note(note.clone());
            }
        }
        if !a.success {
            state.recent.last_failure_network = env.keys.network;
        } else if state.session_work.is_none() {
            state.session_work = work_begins;
        }
        // An unusual transfer's size is learned when its session ends: the first part of a
        // large transfer must not make the next parts look usual.
        let hold_volume = outcome
            .scored
            .anomalies
            .iter()
            .any(|x| x.kind == AnomalyType::UnusualVolume);
        let learned = self.learn(env, state, a, outcome.scored.level, hold_volume);
        // An event at an hour unusual for the user, in a session that did not begin within
        // their usual hours, keeps its hour out of the profile until the session ends.
        if learned && outcome.features[feat::HOUR] > 0.0 && !state.recent.session_started_usual {
            let hour = a.timestamp.utc_hour_f() as usize;
            state.held_hours.hold(&mut state.profile.hours, hour);
        }
        to_threat_score(cfg, a, outcome, with_features)
    }

    /// The previous session ends — its odd hours and unusual transfers count now, unless it
    /// alerted — and `a` begins the next.
    fn open_session(&mut self, cfg: &UebaConfig, state: &mut UserState, a: &UserActivity) {
        let learn = !state.transfers.session_flagged;
        state.release_held(self.population, learn);
        state.transfers.close_session();
        state.session.clear();
        let u = hour_usualness(&state.profile, a, cfg.time.active_hour_share);
        state.recent.session_started_usual =
            state.profile.events > 0 && u.share >= cfg.time.min_hour_share;
        state.session_authenticated = a.success && a.activity_type.is_authentication();
        state.session_work = None;
    }

    /// The event's resource when it is one of the user's everyday resources that defines a
    /// peer group (the same rule as the peers' anchors): the user is at their own work.
    fn own_work(&self, env: &Env<'_>, state: &UserState) -> Option<u64> {
        let key = env.keys.resource?;
        let uses = state.profile.resources.get(key).unwrap_or(0);
        let rule = checks::anchor_rule(&env.cfg.resources);
        // The uses first: most events of a session are not of an everyday resource.
        (uses >= rule.min_uses
            && rule.defines(
                uses,
                self.population.peers.holders(key),
                self.population.users,
            ))
        .then_some(key)
    }

    /// Runs the checks and scores their findings against the baseline as it is now.
    fn evaluate(
        &mut self,
        env: &Env<'_>,
        state: &UserState,
        a: &UserActivity,
        work_begins: Option<u64>,
    ) -> Outcome {
        let cfg = env.cfg;
        let maturity = maturity(cfg, state);
        let mut features: FeatureVector = [0.0; 16];
        self.findings.clear();
        let ctx = CheckContext {
            activity: a,
            keys: env.keys,
            profile: &state.profile,
            recent: &state.recent,
            session: &state.session,
            session_authenticated: state.session_authenticated,
            session_after_sign_out: state.session_after_sign_out,
            session_work: state.session_work,
            transfers: &state.transfers,
            population: self.population,
            config: cfg,
            sensitive_resource: env.sensitive_resource,
            automation_agent: env.automation_agent,
            source_window: env.source_window,
            source_recent: env.source_recent,
            secs: env.secs,
            maturity,
        };
        checks::run_all(&ctx, &mut features, self.findings);
        let notes = session::notes_of(
            self.findings,
            env.keys,
            env.secs,
            a.event_id.as_deref(),
            maturity,
            cfg,
        );
        let (carried, restated) =
            session_findings(state, &notes, work_begins, self.population, cfg);
        self.findings.extend(carried);
        let deviation = behavioral_deviation(&features);
        if f64::from(deviation) >= cfg.scoring.deviation_threshold {
            self.findings.push(Finding::new(
                AnomalyType::BehavioralDeviation,
                f64::from(deviation),
                deviation_detail(&features, deviation),
            ));
        }
        if let Some(seq) = self.sequences.as_deref_mut() {
            seq.push(&a.user_id, env.secs, a.success, &features);
        }
        let scored = scoring::combine(std::mem::take(self.findings), maturity, cfg);
        let (scored, models, sample) = self.with_models(cfg, scored, &features, maturity);
        let mut explanation = explain::explanation(&scored, &state.profile, maturity, cfg);
        if let Some(m) = models.as_ref().filter(|m| !m.unavailable.is_empty()) {
            explanation.push_str(&unavailable_note(&m.unavailable));
        }
        Outcome {
            scored,
            features,
            deviation,
            maturity,
            explanation,
            models,
            sample,
            notes,
            restated,
        }
    }

    /// The checks' score with the models' share blended in, when the ensemble is active and
    /// asked (its verdict, if it was) and whether the event is part of the models' drift
    /// sample. The models read the same baseline-relative features: trusted as much as it.
    fn with_models(
        &mut self,
        cfg: &UebaConfig,
        mut scored: scoring::Scored,
        features: &FeatureVector,
        maturity: f64,
    ) -> (scoring::Scored, Option<ModelVerdict>, bool) {
        let share = cfg.ensemble.weight * maturity;
        let consult = self.ensemble.is_active().then(|| {
            let high = cfg.scoring.levels.high;
            self.ensemble
                .consult(&cfg.ensemble, scored.score, share, high)
        });
        let models = consult.filter(|c| c.asks()).map(|_| {
            let window: &[f32] = match self.sequences.as_deref_mut() {
                Some(seq) => seq.last_window(),
                None => &[],
            };
            self.ensemble.evaluate(&cfg.ensemble, features, window)
        });
        match (consult, &models) {
            (Some(c), Some(m)) if c.blend => {
                if let Some(agreement) = m.agreement {
                    scored = scoring::blend(scored, agreement, share, m.detail.clone(), cfg);
                }
            }
            // Not decisive: the models' share counts as no evidence.
            (Some(_), _) => scored = scoring::blend(scored, 0.0, share, String::new(), cfg),
            (None, _) => {}
        }
        let sample = consult.is_some_and(|c| c.sample);
        (scored, models, sample)
    }

    /// Learns the event unless it failed, alerted at the quarantine level, or is older than
    /// what the baseline already holds; says whether it did.
    fn learn(
        &mut self,
        env: &Env<'_>,
        state: &mut UserState,
        a: &UserActivity,
        level: warden_event::ThreatLevel,
        hold_volume: bool,
    ) -> bool {
        if !a.success {
            return false;
        }
        if state.profile.events > 0 && a.timestamp < state.profile.last_seen {
            self.counters.out_of_order += 1;
            return false;
        }
        if level >= env.cfg.scoring.quarantine_level {
            self.counters.quarantined += 1;
            return false;
        }
        if state.profile.events == 0 {
            self.population.users += 1;
        }
        let seen = state
            .profile
            .learn_all_but_volume(a, env.keys, &env.cfg.caps, self.population);
        let resource = env
            .keys
            .resource
            .zip(a.resource_accessed.as_deref())
            .zip(seen)
            .map(|((key, name), seen)| (key, name, seen));
        state.index_peers(self.population, resource);
        // The size: now, or when the session ends (at most `MAX_HELD_TRANSFERS` wait).
        let transfer = HeldTransfer {
            gb: a.data_transferred_gb,
            kind: TransferKind::of(&a.activity_type),
            resource: env.keys.resource,
        };
        if !(hold_volume && state.held_transfers.hold(transfer)) {
            state.learn_transfer_size(self.population, transfer);
        }
        self.counters.learned += 1;
        true
    }
}

fn to_threat_score(
    cfg: &UebaConfig,
    a: &UserActivity,
    o: Outcome,
    with_features: bool,
) -> ThreatScore {
    let has = |t: AnomalyType| o.scored.anomalies.iter().any(|x| x.kind == t);
    ThreatScore {
        event_id: a.event_id.clone(),
        user_id: a.user_id.clone(),
        timestamp: a.timestamp.to_rfc3339(),
        threat_score: o.scored.score,
        threat_level: o.scored.level,
        primary_anomalies: o.scored.primary.clone(),
        confidence: o.scored.confidence,
        isolation_forest_score: model_score(&o.models, Member::IsolationForest),
        lstm_autoencoder_score: model_score(&o.models, Member::Sequence),
        xgboost_ensemble_score: model_score(&o.models, Member::Trees),
        models_unavailable: o.models.map(|m| m.unavailable).unwrap_or_default(),
        models_sampled: o.sample,
        impossible_travel_detected: has(AnomalyType::ImpossibleTravel),
        unusual_time_detected: has(AnomalyType::UnusualTime),
        unusual_volume_detected: has(AnomalyType::UnusualVolume),
        unusual_resources_detected: has(AnomalyType::UnusualResources),
        behavioral_deviation_score: (o.deviation * 100.0).round() / 100.0,
        recommended_actions: cfg.scoring.actions.for_level(o.scored.level).to_vec(),
        explanation: o.explanation,
        learning: o.maturity < 1.0,
        anomalies: o.scored.anomalies,
        cited_events: o.scored.cited,
        features: with_features.then_some(o.features),
    }
}

fn model_score(m: &Option<ModelVerdict>, member: Member) -> Option<f32> {
    let s = m.as_ref()?.scores[member as usize]?;
    Some(((s * 1000.0).round() / 1000.0) as f32)
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
