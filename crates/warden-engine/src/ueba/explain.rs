//! Explanations a person can act on: the level, the facts behind each anomaly, and how much
//! history the judgement rests on.

use super::scoring::Scored;
use crate::UebaConfig;
use warden_models::baseline::UserProfile;

/// Writes the explanation of a scored event.
pub fn explanation(
    scored: &Scored,
    profile: &UserProfile,
    maturity: f64,
    cfg: &UebaConfig,
) -> String {
    let history = history(profile);
    let mut out = String::with_capacity(256);
    if scored.anomalies.is_empty() && profile.events == 0 {
        out.push_str("No anomalies found; no history for this user yet.");
    } else if scored.anomalies.is_empty() {
        out.push_str(&format!(
            "No anomalies: consistent with this user's baseline ({history})."
        ));
    } else {
        out.push_str(&format!("{} ({:.1}): ", scored.level, scored.score));
        let parts: Vec<String> = scored
            .anomalies
            .iter()
            .map(|a| {
                format!(
                    "{} (+{:.1}) — {}",
                    a.kind.as_str().replace('_', " "),
                    a.contribution,
                    a.detail
                )
            })
            .collect();
        out.push_str(&parts.join("; "));
        out.push_str(&format!(". Baseline: {history}."));
    }
    if maturity < 1.0 {
        let mut missing = Vec::with_capacity(2);
        if profile.events < cfg.warmup.min_events {
            missing.push(format!(
                "{} of {} events",
                profile.events, cfg.warmup.min_events
            ));
        }
        if profile.active_days < cfg.warmup.min_days {
            missing.push(format!(
                "{} of {} active days",
                profile.active_days, cfg.warmup.min_days
            ));
        }
        out.push_str(&format!(
            " Baseline still learning ({}): checks that need history are damped.",
            missing.join(", ")
        ));
    }
    out
}

fn history(p: &UserProfile) -> String {
    if p.events == 0 {
        return "no history for this user yet".to_owned();
    }
    format!("{} events over {} active days", p.events, p.active_days)
}
