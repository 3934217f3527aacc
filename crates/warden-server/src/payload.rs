//! Payload analysis in the service (`[payload]`, `[sandbox]`): the analysers every request,
//! job and pipeline shares (with the learned model from a file or the registry, swapped when
//! a new version is activated, and the `[sigma]` process-creation rules), the sandbox when
//! it is enabled and usable here, and the job workers.
//!
//! The rules run on a submitted text as written and on its decoded form. On a process event
//! in the pipeline they run on the decoded form only: the pipeline's rule stage has already
//! matched the event as it was logged and alerted on it, so that match is not counted a
//! second time in the payload verdict (nor judged on a made-up event in place of the real
//! one), as in `warden hunt --payload` and `warden worker`.
//!
//! Jobs (`POST /v1/payload/jobs`) are written to the store before they are acknowledged;
//! `workers` tasks claim them in order, run the analysis on the blocking pool (a sandboxed
//! run also takes one of `[sandbox] concurrency` slots), store the verdict, and raise an
//! alert for a verdict at or above `alert_level`. Jobs a stopped process left running are
//! queued again at start; finished jobs are deleted after `keep_days`.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use warden_event::{LevelThresholds, ThreatLevel, Timestamp};
use warden_payload::alert::{Origin, to_alert};
use warden_payload::model::PayloadModel;
use warden_payload::verdict::{ActionThresholds, ViewWeights};
use warden_payload::{Analyzer, Shell, Verdict, VerdictConfig};
use warden_sandbox::Sandbox;
use warden_store::{PayloadJob, Store};

use crate::config::ConfigError;
use crate::state::AppState;

/// `[payload]` in the configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PayloadSection {
    /// The learned model: a file written by `warden train payload`, or `registry:NAME`
    /// (its active version, followed every `[models] reload_secs`).
    pub model: Option<String>,
    pub weights: ViewWeights,
    pub actions: ActionThresholds,
    pub levels: LevelThresholds,
    /// The verdict is at least the model's score (other views raise it, never lower it).
    pub model_floor: bool,
    /// A pattern at weight ≥ 0.7 (after training) holds the verdict at weight × this × 100
    /// (0.75: HIGH, never BLOCK on a pattern alone; 0: off).
    pub signature_floor: f32,
    /// A pattern written at weight ≥ 0.9 holds the verdict at its written weight's floor
    /// even where training tempered it (documentation that shows a credential dumper).
    pub written_floor: bool,
    /// Jobs a tenant may have queued or running at once.
    pub max_queued_jobs: usize,
    /// Finished jobs a tenant keeps at most (the oldest deleted first, before
    /// `keep_days`, when a new one is queued).
    pub max_kept_jobs: usize,
    /// Jobs analysed at once.
    pub workers: usize,
    /// Days a finished job (and its verdict) is kept.
    pub keep_days: u64,
    /// The lowest level of verdict that becomes an alert.
    pub alert_level: ThreatLevel,
    /// Score the command line of every process-creation event posted to
    /// `/v1/detect/realtime` (Sysmon 1, Security 4688, ECS process starts).
    pub pipeline: bool,
    /// Distinct hosts after which a process command line is common here: it then alerts
    /// on its signatures and rules, not on the learned model's view (0: never common).
    pub common_at_hosts: usize,
}

impl Default for PayloadSection {
    fn default() -> Self {
        PayloadSection {
            model: None,
            weights: ViewWeights::default(),
            actions: ActionThresholds::default(),
            levels: LevelThresholds::default(),
            model_floor: true,
            signature_floor: VerdictConfig::default().signature_floor,
            written_floor: VerdictConfig::default().written_floor,
            max_queued_jobs: 64,
            max_kept_jobs: 10_000,
            workers: 2,
            keep_days: 30,
            alert_level: ThreatLevel::High,
            pipeline: true,
            common_at_hosts: warden_engine::pipeline::DEFAULT_COMMON_AT,
        }
    }
}

impl PayloadSection {
    pub fn verdict(&self) -> VerdictConfig {
        VerdictConfig {
            weights: self.weights,
            actions: self.actions,
            levels: self.levels,
            model_floor: self.model_floor,
            signature_floor: self.signature_floor,
            written_floor: self.written_floor,
        }
    }

    pub fn check(&self) -> Result<(), (String, String)> {
        let bad = |k: &str, r: String| Err((format!("payload.{k}"), r));
        if !(0.0..=1.0).contains(&self.signature_floor) {
            return bad("signature_floor", "must be between 0 and 1".into());
        }
        if let Err(e) = self.verdict().validate() {
            return bad("weights", e);
        }
        if !(1..=100_000).contains(&self.max_queued_jobs) {
            return bad("max_queued_jobs", "must be between 1 and 100000".into());
        }
        if !(1..=1_000_000).contains(&self.max_kept_jobs) {
            return bad("max_kept_jobs", "must be between 1 and 1000000".into());
        }
        let most = warden_engine::pipeline::prevalence::MAX_COMMON_AT;
        if self.common_at_hosts == 1 || self.common_at_hosts > most {
            // One host would make every line common at its first start.
            return bad(
                "common_at_hosts",
                format!("must be 0 (never common) or between 2 and {most}"),
            );
        }
        if !(1..=64).contains(&self.workers) {
            return bad("workers", "must be between 1 and 64".into());
        }
        if !(1..=3650).contains(&self.keep_days) {
            return bad("keep_days", "must be between 1 and 3650".into());
        }
        Ok(())
    }
}

/// The analysers in use, swapped together.
#[derive(Clone)]
struct Analyzers {
    /// For texts submitted for analysis: the rules on the text as written and decoded.
    submitted: Arc<Analyzer>,
    /// For the pipeline's process events: the rules on the decoded form only.
    events: Arc<Analyzer>,
}

impl Analyzers {
    fn build(
        model: Option<Arc<PayloadModel>>,
        config: VerdictConfig,
        rules: Option<&Arc<warden_sigma::RuleSet>>,
    ) -> Analyzers {
        use warden_engine::payload::{RulesOn, analyzer};
        let submitted = Arc::new(analyzer(model.clone(), config, rules, RulesOn::Submitted));
        let events = match rules {
            // Without rules the two are the same analyser.
            None => submitted.clone(),
            Some(_) => Arc::new(analyzer(model, config, rules, RulesOn::Events)),
        };
        Analyzers { submitted, events }
    }

    /// The same analysers with another model.
    fn with_model(&self, model: Option<Arc<PayloadModel>>) -> Analyzers {
        let submitted = Arc::new(self.submitted.with_model(model.clone()));
        let events = if Arc::ptr_eq(&self.submitted, &self.events) {
            submitted.clone()
        } else {
            Arc::new(self.events.with_model(model))
        };
        Analyzers { submitted, events }
    }
}

/// What requests, jobs and pipelines share.
pub struct PayloadService {
    analyzers: RwLock<Analyzers>,
    /// The registry model in use (name, version).
    registry: Mutex<Option<(String, i64)>>,
    source: Option<String>,
    sandbox: Option<Sandbox>,
    /// Why a sandboxed run cannot be made here.
    sandbox_off: Option<String>,
    runs: tokio::sync::Semaphore,
    /// Wakes the workers when a job is queued.
    pub wake: tokio::sync::Notify,
}

impl PayloadService {
    pub fn load(
        cfg: &crate::ServiceConfig,
        store: &Store,
        rules: Option<&crate::rules::ServiceRules>,
    ) -> Result<PayloadService, ConfigError> {
        let (model, registry) = match cfg.payload.model.as_deref() {
            None => (None, None),
            Some(source) => {
                let (m, r) = load_model(source, store).map_err(|reason| ConfigError::Invalid {
                    key: "payload.model".into(),
                    reason,
                })?;
                (Some(Arc::new(m)), r)
            }
        };
        let analyzers = Analyzers::build(model, cfg.payload.verdict(), rules.map(|r| &r.set));
        let (sandbox, sandbox_off) = if !cfg.sandbox.enabled {
            (
                None,
                Some("the sandbox is disabled ([sandbox] enabled = false)".to_string()),
            )
        } else {
            match Sandbox::probe(cfg.sandbox.clone()) {
                Ok(s) => (Some(s), None),
                Err(e) => {
                    tracing::warn!("payload sandbox unavailable: {e}");
                    (None, Some(e.to_string()))
                }
            }
        };
        Ok(PayloadService {
            analyzers: RwLock::new(analyzers),
            registry: Mutex::new(registry),
            source: cfg.payload.model.clone(),
            runs: tokio::sync::Semaphore::new(cfg.sandbox.concurrency.max(1)),
            sandbox,
            sandbox_off,
            wake: tokio::sync::Notify::new(),
        })
    }

    fn analyzers(&self) -> Analyzers {
        self.analyzers
            .read()
            .map(|a| a.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// The analyser for submitted texts (a model swap replaces it; requests holding the old
    /// one finish with it).
    pub fn analyzer(&self) -> Arc<Analyzer> {
        self.analyzers().submitted
    }

    /// The analyser for the pipeline's process events.
    pub fn event_analyzer(&self) -> Arc<Analyzer> {
        self.analyzers().events
    }

    pub fn sandbox_available(&self) -> Result<(), String> {
        match &self.sandbox_off {
            Some(why) => Err(why.clone()),
            None => Ok(()),
        }
    }

    pub fn follows_registry(&self) -> bool {
        self.source
            .as_deref()
            .is_some_and(|s| s.starts_with("registry:"))
    }

    /// Puts a newly activated registry version in use; a line for the log when something
    /// changed (or failed: the model in use is kept).
    pub fn reload(&self, store: &Store) -> Option<String> {
        let source = self.source.as_deref()?;
        let name = source.strip_prefix("registry:")?;
        let current = self.registry.lock().ok()?.clone();
        let active = store.active_model_version(name).ok()??;
        if current.as_ref().is_some_and(|(_, v)| *v == active) {
            return None;
        }
        match load_model(source, store) {
            Ok((m, r)) => {
                let next = self.analyzers().with_model(Some(Arc::new(m)));
                if let Ok(mut a) = self.analyzers.write() {
                    *a = next;
                }
                if let Ok(mut reg) = self.registry.lock() {
                    *reg = r;
                }
                Some(format!("payload model {name} v{active} put in use"))
            }
            Err(e) => Some(format!(
                "payload model {name} v{active} not put in use: {e}"
            )),
        }
    }

    /// The verdict on a text; with a sandboxed run when asked for and possible (the
    /// verdict's notes say why not otherwise). Blocking.
    pub fn judge(&self, text: &str, shell: Option<Shell>, sandbox: bool) -> Verdict {
        let analyzer = self.analyzer();
        if !sandbox {
            return analyzer.analyze(text, shell);
        }
        let Some(sb) = &self.sandbox else {
            let mut v = analyzer.analyze(text, shell);
            let why = self.sandbox_off.clone().unwrap_or_default();
            v.notes.push(format!("not run in the sandbox: {why}"));
            return v;
        };
        let shell = shell.unwrap_or_else(|| Shell::guess(text));
        let script = warden_payload::cut(text, warden_payload::MAX_TEXT_BYTES);
        match sb.run(script, shell) {
            Ok(run) => analyzer.analyze_with_run(text, Some(shell), run),
            Err(e) => {
                let mut v = analyzer.analyze(text, Some(shell));
                v.notes.push(format!("not run in the sandbox: {e}"));
                v
            }
        }
    }
}

impl warden_engine::pipeline::AnalyzerSource for PayloadService {
    fn analyzer(&self) -> Arc<Analyzer> {
        self.event_analyzer()
    }
}

/// A payload model from a file or `registry:NAME`, with its registry version.
fn load_model(
    source: &str,
    store: &Store,
) -> Result<(PayloadModel, Option<(String, i64)>), String> {
    if let Some(name) = source.strip_prefix("registry:") {
        let (version, body) = store
            .model_body(name, None)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no active version of the registered model `{name}`"))?;
        let m = PayloadModel::from_bytes(&body).map_err(|e| format!("{source} v{version}: {e}"))?;
        return Ok((m, Some((name.to_string(), version))));
    }
    let bytes = std::fs::read(source).map_err(|e| format!("{source}: {e}"))?;
    let m = PayloadModel::from_bytes(&bytes).map_err(|e| format!("{source}: {e}"))?;
    Ok((m, None))
}

/// Where a submitted text came from (`user`, `host` of the request).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Submitter {
    pub user: Option<String>,
    pub host: Option<String>,
    /// When the command ran (RFC 3339 UTC); the time of analysis otherwise. The same text
    /// with the same time is the same alert, stored once.
    pub timestamp: Option<String>,
}

/// The alert for a verdict when it reaches `[payload] alert_level`: stored and published
/// (stream channel `payload`, outputs, webhooks); its id.
pub fn raise(
    st: &AppState,
    tenant: &str,
    verdict: &Verdict,
    text: &str,
    from: &Submitter,
    job: Option<i64>,
) -> Result<Option<i64>, crate::error::ApiError> {
    if verdict.level < st.config.payload.alert_level {
        return Ok(None);
    }
    let origin = Origin {
        tenant,
        timestamp: from
            .timestamp
            .clone()
            .unwrap_or_else(|| Timestamp::now().to_rfc3339()),
        user: from.user.as_deref(),
        host: from.host.as_deref(),
        job,
        event: None,
    };
    let alert = to_alert(verdict, text, &origin);
    let saved = crate::publish::commit(st, vec![alert])?;
    Ok(saved.first().map(|(id, _)| *id))
}

/// Starts the job workers and the pruning of old jobs (inside the runtime).
pub fn start(st: &AppState) {
    if let Ok(n) = st.store().requeue_payload_jobs()
        && n > 0
    {
        tracing::info!("{n} payload job(s) left running by the last process queued again");
    }
    for _ in 0..st.config.payload.workers {
        let st = st.clone();
        tokio::spawn(async move { work(st).await });
    }
    let st = st.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            let days = st.config.payload.keep_days;
            let before = Timestamp(Timestamp::now().0 - (days as i64) * 86_400_000).to_rfc3339();
            let state = st.clone();
            let _ = tokio::task::spawn_blocking(move || state.store().prune_payload_jobs(&before))
                .await;
        }
    });
}

/// One worker: claims jobs until there are none, then waits to be woken (or a second).
async fn work(st: AppState) {
    let mut closing = st.closing.subscribe();
    loop {
        if *closing.borrow() {
            return;
        }
        let state = st.clone();
        let job = tokio::task::spawn_blocking(move || state.store().claim_payload_job())
            .await
            .ok()
            .and_then(|r| {
                r.map_err(|e| tracing::error!("claiming a payload job: {e}"))
                    .ok()
            })
            .flatten();
        let Some(job) = job else {
            tokio::select! {
                _ = st.payload.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = closing.changed() => return,
            }
            continue;
        };
        let permit = if job.sandbox {
            st.payload.runs.acquire().await.ok()
        } else {
            None
        };
        let state = st.clone();
        let id = job.id;
        let done = tokio::task::spawn_blocking(move || run_job(&state, job)).await;
        drop(permit);
        if let Err(e) = done.map_err(|e| e.to_string()).and_then(|r| r) {
            tracing::error!("payload job {id}: {e}");
            let state = st.clone();
            let _ = tokio::task::spawn_blocking(move || {
                state
                    .store()
                    .finish_payload_job(id, Err("the analysis failed (see the server's log)"))
            })
            .await;
        }
    }
}

fn run_job(st: &AppState, job: PayloadJob) -> Result<(), String> {
    let shell = job.shell.as_deref().and_then(|s| s.parse::<Shell>().ok());
    let verdict = st.payload.judge(&job.text, shell, job.sandbox);
    let from = Submitter {
        user: job.user.clone(),
        host: job.host.clone(),
        timestamp: job.occurred_at.clone(),
    };
    let alert = raise(st, &job.tenant, &verdict, &job.text, &from, Some(job.id))
        .map_err(|e| format!("raising its alert: {e:?}"))?;
    let mut body = serde_json::to_value(&verdict).map_err(|e| e.to_string())?;
    if let (Some(id), Some(o)) = (alert, body.as_object_mut()) {
        o.insert("alert_id".into(), id.into());
    }
    st.store()
        .finish_payload_job(job.id, Ok(&body.to_string()))
        .map_err(|e| e.to_string())?;
    st.metrics.payload_job_done();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_setting_is_named_by_its_own_key() {
        assert!(PayloadSection::default().check().is_ok());
        let floor = PayloadSection {
            signature_floor: 1.5,
            ..PayloadSection::default()
        };
        assert_eq!(
            floor.check().map_err(|(k, _)| k),
            Err("payload.signature_floor".to_string())
        );
        let mut weights = PayloadSection::default();
        weights.weights.model = -1.0;
        assert_eq!(
            weights.check().map_err(|(k, _)| k),
            Err("payload.weights".to_string())
        );
    }
}
