//! Scoring typed records for a tenant, whatever carried them (an HTTP batch, a syslog
//! listener): placed from their addresses (`[ingest.geoip]`), the tenant's quota of users
//! first, then its detection pipeline, what the
//! service follows beside the alerts (changed baselines, the models' scores), and the
//! alerts stored and published ([`crate::publish`]) before the caller answers.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::Instant;

use warden_engine::pipeline::{Outcome, Pipeline, RecordOutcome, UebaDetector};
use warden_event::{Input, Record, ThreatLevel, Timestamp};

use crate::error::ApiError;
use crate::state::AppState;

/// What scoring a batch gave.
#[derive(Debug, Default)]
pub struct Scored {
    /// Positions (the caller's) of activities not scored: their users are new to the
    /// tenant beyond its quota.
    pub over_quota: Vec<usize>,
    /// The outcome of every scored input, in order, with its position.
    pub records: Vec<(usize, RecordOutcome)>,
    /// Each alert: the position of the input that raised it, its level, its id in the
    /// store, and whether it is new (a replay finds it stored).
    pub alerts: Vec<(usize, ThreatLevel, i64, bool)>,
}

/// Scores `inputs` (at the caller's positions `at`) with the tenant's pipeline and stores
/// their alerts. On a failed commit the pipeline is dropped, so the tenant's state is
/// rebuilt from the store and a retry is scored as the first try was.
pub fn score(
    st: &AppState,
    tenant: &str,
    mut inputs: Vec<Input>,
    mut at: Vec<usize>,
) -> Result<Scored, ApiError> {
    if let Some(geo) = &st.geoip {
        locate(geo, &mut inputs);
    }
    let started = Instant::now();
    let quota = st.config.server.max_users_per_tenant;
    let (outcome, used, over_quota) = crate::tenants::with_pipeline(st, tenant, |p| {
        let over = users_over_quota(p, &inputs, quota);
        let over_at: Vec<usize> = over.iter().map(|&k| at[k]).collect();
        if !over.is_empty() {
            let over: HashSet<usize> = over.into_iter().collect();
            let keep: Vec<bool> = (0..inputs.len()).map(|k| !over.contains(&k)).collect();
            let mut k = 0;
            inputs.retain(|_| {
                k += 1;
                keep[k - 1]
            });
            let mut k = 0;
            at.retain(|_| {
                k += 1;
                keep[k - 1]
            });
        }
        (
            p.process(&inputs, Timestamp::now()),
            st.tenants.get(tenant),
            over_at,
        )
    })?;
    if !over_quota.is_empty() {
        st.metrics
            .quota_refused
            .fetch_add(over_quota.len() as u64, Ordering::Relaxed);
    }
    st.metrics.scoring(started.elapsed().as_secs_f64());
    observe(st, tenant, &inputs, &outcome);
    let Outcome { records, alerts } = outcome;
    let (positions, alerts): (Vec<usize>, Vec<_>) =
        alerts.into_iter().map(|(i, a)| (at[i], a)).unzip();
    let levels: Vec<ThreatLevel> = alerts.iter().map(|a| a.level).collect();
    let saved = match crate::publish::commit(st, alerts) {
        Ok(saved) => saved,
        Err(e) => {
            if let Some(p) = used {
                st.tenants.evict(tenant, &p);
            }
            return Err(e);
        }
    };
    Ok(Scored {
        over_quota,
        records: at.into_iter().zip(records).collect(),
        alerts: positions
            .into_iter()
            .zip(levels)
            .zip(saved)
            .map(|((i, level), (id, new))| (i, level, id, new))
            .collect(),
    })
}

/// Places activities and log documents that carry only an address (`[ingest.geoip]`):
/// the impossible-travel and new-location checks then have a place to judge.
pub(crate) fn locate(geo: &warden_ingest::geoip::GeoIp, inputs: &mut [Input]) {
    for input in inputs {
        match &mut input.record {
            Record::Activity(a) => {
                geo.enrich_activity(a);
            }
            Record::Log(e) => {
                geo.enrich_doc(&mut e.doc);
            }
            Record::Flow(_) => {}
        }
    }
}

/// Positions of the activities in `inputs` whose users are new to the tenant beyond its
/// quota (the tenant's known users count, and the new ones earlier in the batch).
fn users_over_quota(p: &Pipeline, inputs: &[Input], quota: usize) -> Vec<usize> {
    let Some(engine) = p.detector::<UebaDetector>().map(UebaDetector::engine) else {
        return Vec::new();
    };
    let mut users = engine.user_count();
    let mut new = HashSet::new();
    let mut over = Vec::new();
    for (k, input) in inputs.iter().enumerate() {
        let Record::Activity(a) = &input.record else {
            continue;
        };
        if engine.user(&a.user_id).is_some() || new.contains(a.user_id.as_str()) {
            continue;
        }
        if users >= quota {
            over.push(k);
        } else {
            new.insert(a.user_id.as_str());
            users += 1;
        }
    }
    over
}

/// What the service follows beside the alerts: the users whose baselines changed (saved
/// later) and the models' scores (drift).
fn observe(st: &AppState, tenant: &str, inputs: &[Input], outcome: &Outcome) {
    st.dirty.mark(
        tenant,
        inputs.iter().filter_map(|i| match &i.record {
            Record::Activity(a) => Some(a.user_id.as_str()),
            Record::Log(_) | Record::Flow(_) => None,
        }),
    );
    let scores: Vec<_> = outcome.records.iter().filter_map(|r| r.score()).collect();
    st.models.observe(&scores);
}
