//! Detection configuration: every weight, threshold and list the UEBA detector uses, with
//! documented defaults. Loaded from the `[ueba]` section of `warden.toml`.

use serde::{Deserialize, Serialize};
use warden_event::{AnomalyType, LevelThresholds, ThreatLevel};
use warden_models::baseline::ProfileCaps;

/// A configuration value is out of range.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The whole UEBA configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct UebaConfig {
    pub warmup: WarmupConfig,
    pub caps: ProfileCaps,
    pub travel: TravelConfig,
    pub time: TimeConfig,
    pub volume: VolumeConfig,
    pub resources: ResourceConfig,
    pub device: DeviceConfig,
    pub location: LocationConfig,
    pub failures: FailureConfig,
    pub scoring: ScoringConfig,
    pub limits: LimitsConfig,
    pub ensemble: EnsembleConfig,
}

/// How the machine-learning models join the score (when models are given).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnsembleConfig {
    /// Share of the score given to the models' agreement (the checks keep the rest).
    pub weight: f64,
    /// Share of the isolation forest in the models' combined evidence.
    pub isolation_forest: f64,
    /// Share of the sequence autoencoder.
    pub sequence: f64,
    /// Share of the boosted trees.
    pub trees: f64,
    /// With calibrated models (`warden train calibrate`): the combined rarity among normal
    /// validation events at which the models' agreement is 0.5 (1 at its square).
    pub calibrated_half_p: f64,
    /// Ask the models only about events they could still lift to HIGH: those whose checks
    /// score at least [`lift_floor`](crate::ueba::ensemble::lift_floor) (28.6 with the
    /// defaults). Below it the models' share counts as no evidence and the event is LOW, as
    /// it would be unless the models called it rare; HIGH and CRITICAL are the same as when
    /// every event is asked about. `false`: every event is.
    pub only_when_decisive: bool,
    /// With `only_when_decisive`, every `sample_every`-th event is scored by the models
    /// whatever its checks found (its scores reported, blended only if it is decisive), so
    /// drift monitoring reads an unbiased sample; 0 = no sample.
    pub sample_every: u32,
    /// Let models that disagree take an event the checks score HIGH below HIGH (they may
    /// always lower CRITICAL to HIGH and MEDIUM to LOW, and raise anything). Off: a concrete
    /// finding of the checks is not overruled by models that never saw its kind of attack.
    pub may_demote_high: bool,
    /// A model call slower than this counts as a failure (milliseconds).
    pub timeout_ms: f64,
    /// Failures in a row that open a model's circuit.
    pub failures_to_open: u32,
    /// How long an open circuit skips its model before trying it again (seconds).
    pub cooldown_secs: u64,
}

impl Default for EnsembleConfig {
    fn default() -> Self {
        Self {
            weight: 0.3,
            isolation_forest: 0.35,
            sequence: 0.35,
            trees: 0.30,
            calibrated_half_p: 0.001,
            only_when_decisive: true,
            sample_every: 64,
            may_demote_high: false,
            timeout_ms: 50.0,
            failures_to_open: 3,
            cooldown_secs: 60,
        }
    }
}

/// Bounds on what input can make the engine hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Users with a baseline held in memory (about 1.2 KB each). Beyond this, events of new
    /// users are still scored (with no history, as while learning) but not remembered, and
    /// the summary counts them.
    pub max_users: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_users: 5_000_000,
        }
    }
}

/// Longest window any minutes setting may have (one week): windows are kept in seconds.
const MAX_WINDOW_MINUTES: u32 = 7 * 24 * 60;

/// Largest per-user set capacity.
const MAX_CAP: usize = 256;

/// When a user's baseline is mature enough to trust novelty checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WarmupConfig {
    /// Learned events before a baseline is mature.
    pub min_events: u32,
    /// Distinct active days before a baseline is mature.
    pub min_days: u16,
}

impl Default for WarmupConfig {
    fn default() -> Self {
        Self {
            min_events: 30,
            min_days: 7,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TravelConfig {
    /// Speeds above this are impossible for a traveller (km/h).
    pub max_speed_kmh: f64,
    /// Moves shorter than this are ignored: IP geolocation and GPS are this imprecise (km).
    pub min_distance_km: f64,
    /// Speed, as a multiple of `max_speed_kmh`, at which confidence reaches 1.
    pub certain_speed_factor: f64,
}

impl Default for TravelConfig {
    fn default() -> Self {
        Self {
            max_speed_kmh: 1000.0,
            min_distance_km: 500.0,
            certain_speed_factor: 3.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimeConfig {
    /// An hour is unusual when the user's activity within ±1 hour of it is below this share.
    pub min_hour_share: f64,
    /// An hour counts as part of the user's usual day at this share of activity.
    pub active_hour_share: f64,
    /// Hours outside the usual day at which confidence is full.
    pub certain_hours_outside: f64,
    /// Events further apart than this start a new session (minutes).
    pub session_gap_minutes: u32,
    /// A sign-in at least this long after the user signed out, with nothing in between,
    /// starts a new session however short the gap (minutes): they ended their work and
    /// came back, so a sign-in in their night after a day's work is not "working late".
    /// Shorter pauses (a re-authentication, a change of device) continue the session.
    /// 0 turns it off.
    pub relogin_pause_minutes: u32,
    /// Confidence factor when the session began at a usual hour (someone working late).
    pub extended_session_factor: f64,
    /// A session opened by a sign-in at an unusual hour grows more certain the longer it
    /// runs: after `t` minutes its odd-hour events have confidence `1 − (1 − c)^(1 + t /
    /// this)`. A stray event at night (a phone syncing) is one moment; a sign-in followed
    /// by ten minutes of work is someone working at an hour this user never works.
    /// Activity resumed after a pause without a sign-in (working late, with a break) does
    /// not grow. 0 turns it off.
    pub odd_session_minutes: f64,
    /// Confidence factor while the user is travelling (at least `travelling_km` from their
    /// usual location): jet lag and flights make hours unreliable. Arrivals too fast to be
    /// real are impossible travel, a separate and stronger finding.
    pub travelling_factor: f64,
    /// Distance from home (km) beyond which the user counts as travelling.
    pub travelling_km: f64,
}

impl Default for TimeConfig {
    fn default() -> Self {
        Self {
            min_hour_share: 0.10,
            active_hour_share: 0.02,
            certain_hours_outside: 4.0,
            session_gap_minutes: 120,
            relogin_pause_minutes: 60,
            extended_session_factor: 0.5,
            odd_session_minutes: 5.0,
            travelling_factor: 0.5,
            travelling_km: 1000.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VolumeConfig {
    /// Standard deviations above the user's mean (in GB) at which volume is unusual.
    pub z_threshold: f64,
    /// Standard deviations on the log scale (`ln(1 + MB)`) where confidence starts (0.3).
    /// Volumes are heavy-tailed, so how unusual a volume is is judged on the log scale.
    pub log_z_start: f64,
    /// Standard deviations on the log scale at which confidence is full.
    pub log_z_certain: f64,
    /// Floor of the log-scale standard deviation.
    pub min_log_std: f64,
    /// Floor of the standard deviation (GB), so steady users are not flagged for crumbs.
    pub min_std_gb: f64,
    /// Volumes must also exceed the mean by this much (GB).
    pub min_excess_gb: f64,
    /// Confidence factor for uploads (data coming in is a smaller risk than data going out).
    pub upload_factor: f64,
    /// Learned events needed before volume is judged.
    pub min_history: u32,
    /// Learned transfers of one kind (downloads, uploads, file reads, other) before a
    /// transfer is judged against its kind alone rather than all of the user's transfers.
    pub min_kind_history: u32,
    /// Learned sessions before a session's total is judged.
    pub min_sessions: u32,
    /// Share of the session's total an event must carry to report the session's volume.
    pub session_min_share: f64,
    /// Learned transfers of a resource (all users) before its usual size is consulted.
    pub min_resource_history: u32,
    /// A transfer within this many log-scale standard deviations of the resource's usual
    /// size is usual for the resource…
    pub resource_usual_z: f64,
    /// …and its confidence is multiplied by this at or below the resource's mean, by a
    /// factor easing to 1 (with the square of the distance) at `resource_usual_z` above it.
    pub resource_usual_factor: f64,
}

impl Default for VolumeConfig {
    fn default() -> Self {
        Self {
            z_threshold: 3.0,
            log_z_start: 2.5,
            log_z_certain: 5.5,
            min_log_std: 0.25,
            min_std_gb: 0.01,
            min_excess_gb: 0.1,
            upload_factor: 0.6,
            min_history: 30,
            min_kind_history: 15,
            min_sessions: 10,
            session_min_share: 0.15,
            min_resource_history: 30,
            resource_usual_z: 1.5,
            resource_usual_factor: 0.7,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResourceConfig {
    /// Resources whose name contains one of these (case-insensitive) are sensitive.
    pub sensitive: Vec<String>,
    /// Confidence factor for a new resource that is not sensitive.
    pub non_sensitive_factor: f64,
    /// Share of the organisation's users at which a resource counts as common.
    pub common_share: f64,
    /// Lowest rarity factor (for resources common in the organisation).
    pub min_rarity: f64,
    /// Peer groups: a resource the user has used this many times (learned) defines one —
    /// its other users are the user's peers…
    pub peer_min_uses: u32,
    /// …when it has at least this many other users…
    pub peer_min_peers: u32,
    /// …and is held by at most this share of all users (what everyone uses defines no role).
    pub peer_max_share: f64,
    /// Confidence factor for a new resource that is not sensitive, when the user's peers
    /// were consulted (a resource their peers do not use says more than a name).
    pub peer_non_sensitive_factor: f64,
    /// Confidence factor for a first access to a resource that the users of the session's
    /// own work — one of the user's everyday resources, used earlier in the same session —
    /// do not use, read from that group alone: an engineer at work on the build servers who
    /// opens payroll reaches into another team's systems even if a fifth of the company
    /// uses payroll. Kept low enough that one such access, with the composite deviation it
    /// brings, stays below HIGH and is learned (an access at the quarantine level is not, so
    /// it would alert again at every use); a second one in the session compounds.
    pub in_session_factor: f64,
}

impl Default for ResourceConfig {
    fn default() -> Self {
        let sensitive = [
            "payroll",
            "bank",
            "secret",
            "vault",
            "backup",
            "credential",
            "password",
            "finance",
            "hr-record",
            "customer",
            "dump",
            "export",
            "ad-console",
            "domain-admin",
            "admin",
            "prod",
            "siem",
            "legal",
            "keys",
            "pki",
        ];
        Self {
            sensitive: sensitive.iter().map(|s| (*s).to_owned()).collect(),
            non_sensitive_factor: 0.3,
            common_share: 0.25,
            min_rarity: 0.3,
            peer_min_uses: 3,
            peer_min_peers: 5,
            peer_max_share: 0.5,
            peer_non_sensitive_factor: 0.6,
            in_session_factor: 0.65,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeviceConfig {
    /// Confidence of a device never seen for the user.
    pub base_confidence: f64,
    /// Added when its user agent is new too.
    pub new_agent_bonus: f64,
    /// Added when the agent is a script or HTTP library, or the device is unnamed.
    pub automation_bonus: f64,
    /// User-agent fragments of scripts and HTTP libraries (case-insensitive).
    pub automation_agents: Vec<String>,
}

impl Default for DeviceConfig {
    fn default() -> Self {
        let agents = [
            "python-requests",
            "python-urllib",
            "curl/",
            "wget/",
            "okhttp",
            "go-http-client",
            "java/",
            "libwww",
            "powershell",
            "scrapy",
            "httpclient",
            "axios",
            "node-fetch",
            "aiohttp",
            "postman",
        ];
        Self {
            base_confidence: 0.6,
            new_agent_bonus: 0.2,
            automation_bonus: 0.3,
            automation_agents: agents.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LocationConfig {
    /// Confidence of a new city in a country the user has been in.
    pub new_city_confidence: f64,
    /// Confidence of a new country.
    pub new_country_confidence: f64,
    /// Share of the organisation's users at which a location counts as common.
    pub common_share: f64,
    /// Lowest rarity factor (for places common in the organisation, such as other offices).
    pub min_rarity: f64,
}

impl Default for LocationConfig {
    fn default() -> Self {
        Self {
            new_city_confidence: 0.5,
            new_country_confidence: 0.8,
            common_share: 0.1,
            min_rarity: 0.4,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FailureConfig {
    /// Window in which failed attempts are counted (minutes).
    pub window_minutes: u32,
    /// Failed attempts in the window that make a burst.
    pub burst_threshold: u32,
    /// Failed attempts at which confidence is full.
    pub certain_count: u32,
    /// A success this soon after a burst is suspicious (minutes).
    pub success_after_minutes: u32,
    /// Fewer failures than a burst that still make a success suspicious when they and the
    /// success come from a network the user never used (0: off).
    pub success_after_few: u32,
    /// Distinct accounts failing from one network within the window that make a spray
    /// (password spraying, credential stuffing across accounts).
    pub source_accounts_threshold: u32,
}

impl Default for FailureConfig {
    fn default() -> Self {
        Self {
            window_minutes: 10,
            burst_threshold: 5,
            certain_count: 20,
            success_after_minutes: 30,
            success_after_few: 3,
            source_accounts_threshold: 5,
        }
    }
}

/// How anomalies become a 0–100 score. Each anomaly adds risk `weight × confidence`; risks
/// combine as independent evidence, `score = 100 × (1 − Π(1 − weight·confidence))`, so one
/// strong anomaly reaches its weight and several together approach 100.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScoringConfig {
    pub weights: Weights,
    pub levels: LevelThresholds,
    /// Composite deviation at which `behavioral_deviation` is reported as an anomaly.
    pub deviation_threshold: f64,
    /// Events at or above this level are not learned into the baseline.
    pub quarantine_level: ThreatLevel,
    pub actions: Actions,
    /// Session compounding: an anomaly with at least this risk (weight × confidence) is
    /// noted for the rest of its session, and an event with one of its own…
    pub session_min_risk: f64,
    /// …takes each different earlier note of the session at this share of its confidence.
    pub session_carry: f64,
    /// Two first accesses in one session to resources that no user holds both of — reaching
    /// into unrelated teams' tools, where a change of role picks up one team's kit — carry
    /// at this share instead; pairs held together by some of their users fall in between.
    pub session_carry_unrelated: f64,
}

impl Default for ScoringConfig {
    fn default() -> Self {
        Self {
            weights: Weights::default(),
            levels: LevelThresholds::default(),
            deviation_threshold: 0.6,
            quarantine_level: ThreatLevel::High,
            actions: Actions::default(),
            session_min_risk: 0.15,
            session_carry: 0.5,
            session_carry_unrelated: 0.9,
        }
    }
}

/// Weight of each anomaly type: the score it gives alone at full confidence, over 100.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Weights {
    pub impossible_travel: f64,
    pub unusual_time: f64,
    pub unusual_volume: f64,
    pub unusual_resources: f64,
    pub new_device: f64,
    pub new_location: f64,
    pub failed_login_burst: f64,
    pub behavioral_deviation: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Self {
            impossible_travel: 0.75,
            unusual_time: 0.6,
            unusual_volume: 0.65,
            unusual_resources: 0.6,
            new_device: 0.35,
            new_location: 0.4,
            failed_login_burst: 0.75,
            behavioral_deviation: 0.2,
        }
    }
}

impl Weights {
    pub fn of(&self, t: AnomalyType) -> f64 {
        match t {
            AnomalyType::ImpossibleTravel => self.impossible_travel,
            AnomalyType::UnusualTime => self.unusual_time,
            AnomalyType::UnusualVolume => self.unusual_volume,
            AnomalyType::UnusualResources => self.unusual_resources,
            AnomalyType::NewDevice => self.new_device,
            AnomalyType::NewLocation => self.new_location,
            AnomalyType::FailedLoginBurst => self.failed_login_burst,
            AnomalyType::BehavioralDeviation => self.behavioral_deviation,
            // The models are blended into the score, not weighted: see `ensemble.weight`.
            AnomalyType::ModelAnomaly => 0.0,
            // Rule matches are scored by the rule's level and flows by their model, not by
            // the behavioural checks; graph findings by their finder.
            AnomalyType::RuleMatch
            | AnomalyType::NetworkAnomaly
            | AnomalyType::GraphPattern
            | AnomalyType::MaliciousCommand => 0.0,
        }
    }
}

/// Recommended actions per level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Actions {
    pub low: Vec<String>,
    pub medium: Vec<String>,
    pub high: Vec<String>,
    pub critical: Vec<String>,
}

impl Default for Actions {
    fn default() -> Self {
        let v = |xs: &[&str]| xs.iter().map(|s| (*s).to_owned()).collect();
        Self {
            low: v(&["standard monitoring"]),
            medium: v(&[
                "verify the activity if it touched sensitive resources",
                "log for review",
            ]),
            high: v(&[
                "require MFA on the next action",
                "verify the user's identity",
                "monitor the account closely",
            ]),
            critical: v(&[
                "block the session",
                "revoke all active sessions",
                "force a password reset",
                "alert the security team",
            ]),
        }
    }
}

impl Actions {
    pub fn for_level(&self, level: ThreatLevel) -> &[String] {
        match level {
            ThreatLevel::Low => &self.low,
            ThreatLevel::Medium => &self.medium,
            ThreatLevel::High => &self.high,
            ThreatLevel::Critical => &self.critical,
        }
    }
}

impl UebaConfig {
    /// Checks ranges; the message names the offending key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.scoring
            .levels
            .validate()
            .map_err(ConfigError::Invalid)?;
        let w = &self.scoring.weights;
        for t in AnomalyType::ALL {
            let v = w.of(t);
            if !(0.0..=1.0).contains(&v) {
                return bad(&format!("scoring.weights.{t}"), "must be within [0, 1]");
            }
        }
        self.validate_ensemble()?;
        self.validate_ranges()?;
        self.validate_windows_and_caps()?;
        self.validate_relations()
    }

    /// The model ensemble's weights, calibration, sampling and circuit breaker.
    fn validate_ensemble(&self) -> Result<(), ConfigError> {
        let e = &self.ensemble;
        for (k, v) in [
            ("ensemble.weight", e.weight),
            ("ensemble.isolation_forest", e.isolation_forest),
            ("ensemble.sequence", e.sequence),
            ("ensemble.trees", e.trees),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return bad(k, "must be within [0, 1]");
            }
        }
        if !(e.calibrated_half_p > 0.0 && e.calibrated_half_p < 0.5) {
            return bad("ensemble.calibrated_half_p", "must be within (0, 0.5)");
        }
        if e.sample_every > 1_000_000 {
            return bad("ensemble.sample_every", "must be at most 1000000");
        }
        if !(e.timeout_ms > 0.0 && e.timeout_ms <= 60_000.0) {
            return bad("ensemble.timeout_ms", "must be within (0, 60000]");
        }
        if e.failures_to_open == 0 || e.cooldown_secs > 86_400 {
            return bad(
                "ensemble",
                "failures_to_open must be at least 1 and cooldown_secs at most 86400",
            );
        }
        Ok(())
    }

    /// Shares and factors within [0, 1], then [`Self::validate_magnitudes`].
    fn validate_ranges(&self) -> Result<(), ConfigError> {
        let unit = [
            ("time.min_hour_share", self.time.min_hour_share),
            ("time.active_hour_share", self.time.active_hour_share),
            (
                "time.extended_session_factor",
                self.time.extended_session_factor,
            ),
            ("time.travelling_factor", self.time.travelling_factor),
            ("volume.upload_factor", self.volume.upload_factor),
            ("volume.session_min_share", self.volume.session_min_share),
            (
                "volume.resource_usual_factor",
                self.volume.resource_usual_factor,
            ),
            (
                "resources.non_sensitive_factor",
                self.resources.non_sensitive_factor,
            ),
            ("resources.min_rarity", self.resources.min_rarity),
            ("resources.peer_max_share", self.resources.peer_max_share),
            (
                "resources.peer_non_sensitive_factor",
                self.resources.peer_non_sensitive_factor,
            ),
            (
                "resources.in_session_factor",
                self.resources.in_session_factor,
            ),
            ("location.min_rarity", self.location.min_rarity),
            (
                "scoring.deviation_threshold",
                self.scoring.deviation_threshold,
            ),
            ("scoring.session_min_risk", self.scoring.session_min_risk),
            ("scoring.session_carry", self.scoring.session_carry),
            (
                "scoring.session_carry_unrelated",
                self.scoring.session_carry_unrelated,
            ),
        ];
        for (k, v) in unit {
            if !(0.0..=1.0).contains(&v) {
                return bad(k, "must be within [0, 1]");
            }
        }
        self.validate_magnitudes()
    }

    /// Distances, sizes and thresholds positive (or not negative), confidences within [0, 1].
    fn validate_magnitudes(&self) -> Result<(), ConfigError> {
        // Written as `!(x > 0)` so that NaN is rejected too.
        let positive = [
            ("travel.max_speed_kmh", self.travel.max_speed_kmh),
            (
                "time.certain_hours_outside",
                self.time.certain_hours_outside,
            ),
            ("time.travelling_km", self.time.travelling_km),
            ("volume.min_std_gb", self.volume.min_std_gb),
            ("volume.min_log_std", self.volume.min_log_std),
            ("volume.z_threshold", self.volume.z_threshold),
            ("volume.resource_usual_z", self.volume.resource_usual_z),
            ("resources.common_share", self.resources.common_share),
            ("location.common_share", self.location.common_share),
        ];
        for (k, v) in positive {
            if !(v > 0.0 && v.is_finite()) {
                return bad(k, "must be a positive number");
            }
        }
        let non_negative = [
            ("travel.min_distance_km", self.travel.min_distance_km),
            ("volume.min_excess_gb", self.volume.min_excess_gb),
            ("time.odd_session_minutes", self.time.odd_session_minutes),
        ];
        for (k, v) in non_negative {
            if !(v >= 0.0 && v.is_finite()) {
                return bad(k, "must be 0 or a positive number");
            }
        }
        if !(self.travel.certain_speed_factor > 1.0 && self.travel.certain_speed_factor.is_finite())
        {
            return bad("travel.certain_speed_factor", "must be above 1");
        }
        for (k, v) in [
            ("resources.common_share", self.resources.common_share),
            ("location.common_share", self.location.common_share),
            (
                "location.new_city_confidence",
                self.location.new_city_confidence,
            ),
            (
                "location.new_country_confidence",
                self.location.new_country_confidence,
            ),
            ("device.base_confidence", self.device.base_confidence),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return bad(k, "must be within [0, 1]");
            }
        }
        Ok(())
    }

    /// Time windows in minutes and the per-user set capacities.
    fn validate_windows_and_caps(&self) -> Result<(), ConfigError> {
        let f = &self.failures;
        for (k, v) in [
            ("time.session_gap_minutes", self.time.session_gap_minutes),
            ("failures.window_minutes", f.window_minutes),
            ("failures.success_after_minutes", f.success_after_minutes),
        ] {
            if v == 0 || v > MAX_WINDOW_MINUTES {
                return bad(
                    k,
                    &format!("must be between 1 and {MAX_WINDOW_MINUTES} minutes"),
                );
            }
        }
        if self.time.relogin_pause_minutes > MAX_WINDOW_MINUTES {
            return bad(
                "time.relogin_pause_minutes",
                &format!("must be at most {MAX_WINDOW_MINUTES} minutes (0: off)"),
            );
        }
        let c = &self.caps;
        for (k, v) in [
            ("caps.locations", c.locations),
            ("caps.countries", c.countries),
            ("caps.devices", c.devices),
            ("caps.user_agents", c.user_agents),
            ("caps.resources", c.resources),
            ("caps.networks", c.networks),
        ] {
            if v == 0 || v > MAX_CAP {
                return bad(k, &format!("must be between 1 and {MAX_CAP}"));
            }
        }
        Ok(())
    }

    /// Settings that only make sense together, and levels and counts with a floor.
    fn validate_relations(&self) -> Result<(), ConfigError> {
        if self.scoring.quarantine_level > ThreatLevel::High
            || self.scoring.quarantine_level < ThreatLevel::Medium
        {
            return bad(
                "scoring.quarantine_level",
                "must be MEDIUM or HIGH: events at HIGH or above are never learned into baselines",
            );
        }
        if self.limits.max_users == 0 {
            return bad("limits.max_users", "must be at least 1");
        }
        if self.volume.log_z_certain <= self.volume.log_z_start {
            return bad("volume.log_z_certain", "must be above volume.log_z_start");
        }
        if self.failures.burst_threshold == 0
            || self.failures.certain_count <= self.failures.burst_threshold
        {
            return bad("failures", "need 0 < burst_threshold < certain_count");
        }
        if self.failures.success_after_few >= self.failures.burst_threshold {
            return bad(
                "failures.success_after_few",
                "must be below burst_threshold (0 turns it off)",
            );
        }
        if self.failures.source_accounts_threshold < 2 {
            return bad("failures.source_accounts_threshold", "must be at least 2");
        }
        if self.warmup.min_events == 0 || self.warmup.min_days == 0 {
            return bad("warmup", "min_events and min_days must be at least 1");
        }
        Ok(())
    }
}

/// A validation error naming the `ueba.` key.
fn bad(key: &str, why: &str) -> Result<(), ConfigError> {
    Err(ConfigError::Invalid(format!("ueba.{key}: {why}")))
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
