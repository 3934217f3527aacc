//! The model layer of UEBA scoring: up to three models — an isolation forest and boosted
//! trees over the 16-feature vector, the sequence autoencoder over the user's last events —
//! each in a [`ModelSlot`] that can be swapped while the engine runs. When every model that
//! answers carries a calibration (`warden train calibrate`: how rare each raw score is among
//! normal events of users held out from training, and a weight chosen on those users), the
//! models' agreement is the weighted mean of their rarities in decades, 0.5 at
//! `calibrated_half_p` (one normal event in a thousand by default). Otherwise each score is mapped so
//! that its own threshold is 0.5 and the configured weights average them. The agreement,
//! `[0, 1]`, is what [`super::scoring::blend`] mixes into the score: models can raise an
//! event the checks under-rate, and lower one they over-rate.
//!
//! Every model call is guarded: a model that is missing, returns a non-finite score, panics,
//! or takes longer than the configured timeout is a failure; after `failures_to_open`
//! failures in a row its circuit opens and the model is skipped for `cooldown_secs`, then
//! tried again. Detection never stops for a model: it carries on with what is left, down to
//! the anomaly layer alone, and says so in the output and in the counters.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;
use warden_event::{FEATURE_NAMES, FeatureVector};
use warden_models::ml::artifact::Model;
use warden_models::ml::calibration::combine_p_values;
use warden_models::ml::flows::FlowFormat;
use warden_models::ml::sequence::{STEP_FEATURE_NAMES, STEP_FEATURES, SequenceRing, WINDOW};

use super::feat;
use crate::config::EnsembleConfig;
use crate::models::{LoadedModel, ModelSlot};

/// The three places a model can take in the ensemble.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Member {
    IsolationForest,
    Sequence,
    Trees,
}

impl Member {
    pub const ALL: [Member; 3] = [Member::IsolationForest, Member::Sequence, Member::Trees];

    pub fn name(self) -> &'static str {
        match self {
            Member::IsolationForest => "isolation_forest",
            Member::Sequence => "sequence",
            Member::Trees => "trees",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Member::IsolationForest => "isolation forest",
            Member::Sequence => "sequence autoencoder",
            Member::Trees => "boosted trees",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// The member a model file belongs to, after checking it was trained on user activity
    /// of the right shape.
    pub fn of(model: &LoadedModel) -> Result<Member, String> {
        let f = &model.file;
        let (member, format, width) = match &f.model {
            Model::IsolationForest { .. } => (
                Member::IsolationForest,
                FlowFormat::Activity,
                FEATURE_NAMES.len(),
            ),
            Model::Gbdt(_) | Model::GbdtMulticlass(_) => {
                (Member::Trees, FlowFormat::Activity, FEATURE_NAMES.len())
            }
            Model::SeqAutoencoder(_) | Model::WindowAutoencoder(_) => {
                (Member::Sequence, FlowFormat::ActivitySequence, WINDOW)
            }
        };
        if f.schema.format != format || f.schema.width() != width {
            return Err(format!(
                "{}: a {} model trained on {} data ({} features); user activity needs one trained with --format activity",
                model.label,
                f.model.kind(),
                f.schema.format.name(),
                f.schema.width()
            ));
        }
        Ok(member)
    }

    fn weight(self, cfg: &EnsembleConfig) -> f64 {
        match self {
            Member::IsolationForest => cfg.isolation_forest,
            Member::Sequence => cfg.sequence,
            Member::Trees => cfg.trees,
        }
    }
}

/// Counters of the model layer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ModelCounters {
    /// Model calls that produced a score.
    pub calls: u64,
    /// Calls that failed (error, non-finite score, panic, timeout).
    pub failures: u64,
    /// Times a circuit opened.
    pub trips: u64,
    /// Calls skipped because a circuit was open or a configured model was missing.
    pub skipped: u64,
    /// Events the checks scored below the point from which the models could lift them to
    /// HIGH (`ensemble.only_when_decisive`): the models' answer does not join their score,
    /// and they are asked only for the drift sample.
    pub not_decisive: u64,
}

/// Whether the models are asked about an event, and what their answer is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Consult {
    /// Their agreement joins the event's score.
    pub blend: bool,
    /// The event is part of the sample drift monitoring reads.
    pub sample: bool,
}

impl Consult {
    pub fn asks(self) -> bool {
        self.blend || self.sample
    }
}

/// The lowest checks' score the models can lift to `high` when they hold `share` of the
/// score: at full agreement an event scores `checks·(1 − share) + 100·share`. Half a point
/// lower, so the score's rounding to a tenth never makes a HIGH the models were not asked
/// about.
pub fn lift_floor(high: f32, share: f64) -> f64 {
    if share >= 1.0 {
        return 0.0;
    }
    (f64::from(high) - 100.0 * share) / (1.0 - share) - 0.5
}

/// A member's circuit breaker.
#[derive(Debug, Clone, Copy, Default)]
struct Breaker {
    consecutive: u32,
    open_until: Option<Instant>,
}

/// What the models said about one event.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModelVerdict {
    /// Raw score per member (forest, sequence, trees), when it ran.
    pub scores: [Option<f64>; 3],
    /// Weighted mean of the calibrated scores of the models that answered, `[0, 1]`; 0.5 is
    /// "at the models' thresholds". `None` when none answered.
    pub agreement: Option<f64>,
    /// Members configured but not heard from, with why.
    pub unavailable: Vec<String>,
    /// The models' scores, and for those above their thresholds what drove them.
    pub detail: String,
}

/// The per-user windows of recent events the sequence model reads.
#[derive(Debug, Default)]
pub struct SequenceTracker {
    users: FxHashMap<String, SeqEntry>,
    max_users: usize,
    /// The last pushed user's events, and their window once it was asked for: most events
    /// never need it (the models are asked about few), so it is built on demand.
    last: SequenceRing,
    window: Vec<f32>,
    window_built: bool,
}

#[derive(Debug, Default, Clone)]
struct SeqEntry {
    ring: SequenceRing,
    last_secs: Option<u32>,
}

/// Seconds over which `burst` falls from 1 (back to back) to 0 (a day apart or more).
const BURST_HORIZON_SECS: f64 = 86_400.0;

impl SequenceTracker {
    pub fn new(max_users: usize) -> Self {
        Self {
            users: FxHashMap::default(),
            max_users,
            last: SequenceRing::default(),
            window: Vec::with_capacity(WINDOW),
            window_built: false,
        }
    }

    /// The per-event features of the sequence model, from the check features.
    pub fn step_features(
        f: &FeatureVector,
        success: bool,
        gap_secs: Option<u32>,
    ) -> [f32; STEP_FEATURES] {
        let burst = gap_secs.map_or(0.0, |g| {
            1.0 - ((1.0 + f64::from(g)).ln() / (1.0 + BURST_HORIZON_SECS).ln()).min(1.0)
        });
        [
            f[feat::HOUR],
            f[feat::LOCATION_NOVELTY],
            f[feat::TRAVEL_SPEED],
            f[feat::VOLUME],
            f[feat::DEVICE],
            f[feat::RESOURCE_NOVELTY],
            if success { 0.0 } else { 1.0 },
            burst as f32,
        ]
    }

    /// Appends the event to its user's window (see [`last_window`](Self::last_window)). A
    /// user beyond the limit gets a window of this event alone.
    pub fn push(&mut self, user: &str, secs: u32, success: bool, f: &FeatureVector) {
        // The user's name is copied only the first time (most events are of known users).
        if self.users.len() < self.max_users && !self.users.contains_key(user) {
            self.users.insert(user.to_owned(), SeqEntry::default());
        }
        let mut scratch = SeqEntry::default();
        let entry = self.users.get_mut(user).unwrap_or(&mut scratch);
        let gap = entry.last_secs.map(|l| secs.saturating_sub(l));
        entry.ring.push(&Self::step_features(f, success, gap));
        entry.last_secs = Some(entry.last_secs.map_or(secs, |l| l.max(secs)));
        self.last = entry.ring.clone();
        self.window_built = false;
    }

    /// The window of the last [`push`](Self::push)'s user, newest event last.
    pub fn last_window(&mut self) -> &[f32] {
        if !self.window_built {
            self.last.window_into(&mut self.window);
            self.window_built = true;
        }
        &self.window
    }

    pub fn users(&self) -> usize {
        self.users.len()
    }
}

/// The model layer.
#[derive(Debug, Default)]
pub struct Ensemble {
    slots: [Arc<ModelSlot>; 3],
    configured: [bool; 3],
    breakers: [Breaker; 3],
    counters: ModelCounters,
    /// Events seen, for the drift sample.
    seen: u64,
}

impl Ensemble {
    /// Puts a model in its member's slot (checked: it must be a user-activity model).
    pub fn install(&mut self, model: LoadedModel) -> Result<Member, String> {
        let member = Member::of(&model)?;
        self.slots[member.index()].swap(model);
        self.configured[member.index()] = true;
        self.breakers[member.index()] = Breaker::default();
        Ok(member)
    }

    /// The slot of a member, to swap its model from another thread while scoring goes on.
    pub fn slot(&self, member: Member) -> Arc<ModelSlot> {
        self.slots[member.index()].clone()
    }

    /// Whether any member is configured.
    pub fn is_active(&self) -> bool {
        self.configured.iter().any(|c| *c)
    }

    pub fn has(&self, member: Member) -> bool {
        self.configured[member.index()]
    }

    pub fn counters(&self) -> ModelCounters {
        self.counters
    }

    /// Whether to ask the models about an event the checks scored `checks`, when they
    /// would hold `share` of its score (`high`: the HIGH threshold).
    pub fn consult(&mut self, cfg: &EnsembleConfig, checks: f32, share: f64, high: f32) -> Consult {
        self.seen += 1;
        if !cfg.only_when_decisive {
            return Consult {
                blend: true,
                sample: true,
            };
        }
        let blend = share > 0.0 && f64::from(checks) >= lift_floor(high, share);
        let every = u64::from(cfg.sample_every);
        let sample = every > 0 && (self.seen - 1).is_multiple_of(every);
        if !blend {
            self.counters.not_decisive += 1;
        }
        Consult { blend, sample }
    }

    /// Runs the configured models on one event.
    pub fn evaluate(
        &mut self,
        cfg: &EnsembleConfig,
        features: &FeatureVector,
        window: &[f32],
    ) -> ModelVerdict {
        let mut v = ModelVerdict::default();
        let (mut weighted, mut total_weight) = (0.0f64, 0.0f64);
        // Calibrated members' p-values and validated weights.
        let mut rarity: Vec<(f64, f64)> = Vec::with_capacity(3);
        let mut all_calibrated = true;
        let mut details = Vec::new();
        for member in Member::ALL {
            let i = member.index();
            if !self.configured[i] {
                continue;
            }
            let row: &[f32] = match member {
                Member::Sequence => window,
                _ => features,
            };
            match self.call(cfg, member, row) {
                Ok((model, score)) => {
                    v.scores[i] = Some(score);
                    let w = member.weight(cfg);
                    let c = calibrate(score, model.file.model.threshold());
                    total_weight += w;
                    weighted += w * c;
                    let rare = model
                        .file
                        .calibration
                        .as_ref()
                        .map(|cal| (cal.p_value(score), cal.weight));
                    rarity.extend(rare);
                    all_calibrated &= rare.is_some();
                    let rare_p = rare.map(|r| r.0).filter(|p| *p <= cfg.calibrated_half_p);
                    let shown = Shown {
                        score,
                        threshold_share: c,
                        rare_p,
                        calibrated_on: model.file.calibration.as_ref().map(|cal| cal.events),
                    };
                    details.push(member_detail(member, &model, row, shown));
                }
                Err(why) => v.unavailable.push(format!("{}: {why}", member.name())),
            }
        }
        v.agreement = if all_calibrated && !rarity.is_empty() {
            combine_p_values(&rarity).map(|p| evidence(p, cfg.calibrated_half_p))
        } else {
            (total_weight > 0.0).then(|| (weighted / total_weight).clamp(0.0, 1.0))
        };
        if !details.is_empty() {
            v.detail = format!("models: {}", details.join("; "));
        }
        v
    }

    /// One guarded model call.
    fn call(
        &mut self,
        cfg: &EnsembleConfig,
        member: Member,
        row: &[f32],
    ) -> Result<(Arc<LoadedModel>, f64), &'static str> {
        let i = member.index();
        let now = Instant::now();
        if let Some(until) = self.breakers[i].open_until {
            if now < until {
                self.counters.skipped += 1;
                return Err("circuit open");
            }
            // Half-open: one trial call decides.
            self.breakers[i].open_until = None;
        }
        let Some(model) = self.slots[i].get() else {
            self.counters.skipped += 1;
            return Err("model missing");
        };
        let result = if row.len() != model.file.schema.width() {
            Err("wrong input width")
        } else {
            match catch_unwind(AssertUnwindSafe(|| model.file.model.score_one(row))) {
                Ok(s) if !s.is_finite() => Err("non-finite score"),
                Ok(s) if now.elapsed() > Duration::from_secs_f64(cfg.timeout_ms / 1000.0) => {
                    let _ = s;
                    Err("timed out")
                }
                Ok(s) => Ok(s),
                Err(_) => Err("model failed"),
            }
        };
        match result {
            Ok(s) => {
                self.counters.calls += 1;
                self.breakers[i].consecutive = 0;
                Ok((model, s))
            }
            Err(why) => {
                self.counters.failures += 1;
                let b = &mut self.breakers[i];
                b.consecutive += 1;
                if b.consecutive >= cfg.failures_to_open {
                    b.consecutive = 0;
                    b.open_until = Some(Instant::now() + Duration::from_secs(cfg.cooldown_secs));
                    self.counters.trips += 1;
                }
                Err(why)
            }
        }
    }
}

/// Maps a model score to `[0, 1]` with the model's threshold at 0.5, linearly on each side,
/// so that models with different score scales can be averaged.
pub fn calibrate(score: f64, threshold: f64) -> f64 {
    let t = threshold.clamp(1e-9, 1.0 - 1e-9);
    let s = score.clamp(0.0, 1.0);
    if s <= t {
        0.5 * s / t
    } else {
        0.5 + 0.5 * (s - t) / (1.0 - t)
    }
}

/// The models' agreement from their combined p-value: decades of rarity, `−log10(p)`,
/// scaled so that `half_p` (`ensemble.calibrated_half_p`, one normal event in a thousand by
/// default) is 0.5 and its square 1.
pub fn evidence(p: f64, half_p: f64) -> f64 {
    if p.is_nan() {
        return 0.0;
    }
    let half = -half_p.clamp(1e-300, 0.5).log10();
    (-p.max(1e-300).log10() / (2.0 * half)).clamp(0.0, 1.0)
}

/// What a member's detail shows of its score.
struct Shown {
    score: f64,
    /// The score mapped so that the model's own threshold is 0.5.
    threshold_share: f64,
    /// Its p-value, when calibrated and at least as rare as `calibrated_half_p`.
    rare_p: Option<f64>,
    /// Normal events its calibration was built from, when calibrated.
    calibrated_on: Option<usize>,
}

/// One member's part of the detail: its score and, when it is rare among normal events
/// (calibrated) or above the model's threshold (not calibrated), what drove it.
fn member_detail(member: Member, model: &LoadedModel, row: &[f32], s: Shown) -> String {
    let events = s.calibrated_on.unwrap_or(0);
    match s.rare_p {
        // At the floor: above every normal event the calibration saw.
        Some(p) if p * (events as f64 + 1.0) <= 1.0 + 1e-9 => format!(
            "{} {:.2} (above all {} normal events of held-out users: {})",
            member.label(),
            s.score,
            events,
            drivers(member, model, row)
        ),
        Some(p) => format!(
            "{} {:.2} (as high as 1 normal event in {:.0}: {})",
            member.label(),
            s.score,
            1.0 / p,
            drivers(member, model, row)
        ),
        None if s.calibrated_on.is_none() && s.threshold_share > 0.5 => format!(
            "{} {:.2} (above its threshold: {})",
            member.label(),
            s.score,
            drivers(member, model, row)
        ),
        None => format!("{} {:.2}", member.label(), s.score),
    }
}

/// The two features that pushed a model's score most, named.
fn drivers(member: Member, model: &LoadedModel, row: &[f32]) -> String {
    let attr = model.file.model.explain(row);
    let mut named: Vec<(&str, f64)> = match member {
        Member::Sequence => {
            let last = WINDOW - STEP_FEATURES;
            STEP_FEATURE_NAMES
                .iter()
                .zip(attr.get(last..).unwrap_or(&[]))
                .map(|(n, a)| (*n, *a))
                .collect()
        }
        _ => FEATURE_NAMES
            .iter()
            .zip(&attr)
            .map(|(n, a)| (*n, *a))
            .collect(),
    };
    named.retain(|(_, a)| *a > 0.0);
    named.sort_by(|a, b| b.1.total_cmp(&a.1));
    let top: Vec<&str> = named.iter().take(2).map(|(n, _)| *n).collect();
    if top.is_empty() {
        "no single feature stands out".into()
    } else {
        top.join(", ")
    }
}
