//! Failed-login bursts and credential stuffing: many failed attempts in a short window, and
//! above all a success right after them.

use super::{CheckContext, Finding, feat, unit};
use warden_event::{AnomalyType, FeatureVector};

pub fn failed_login_burst(ctx: &CheckContext<'_>, f: &mut FeatureVector) -> Option<Finding> {
    let cfg = &ctx.config.failures;
    let a = ctx.activity;
    let r = ctx.recent;
    let window = cfg.window_minutes * 60;
    let threshold = f64::from(cfg.burst_threshold);
    let certain = f64::from(cfg.certain_count);
    if !a.success {
        let n = r.failures.count_since(ctx.secs, window) as f64;
        f[feat::FAILURES] = unit(n / certain);
        if n < threshold {
            return None;
        }
        let confidence = 0.5 + 0.5 * ((n - threshold) / (certain - threshold)).min(1.0);
        let source = a
            .ip_address
            .as_deref()
            .map(|ip| format!(" (latest from {ip})"))
            .unwrap_or_default();
        return Some(Finding::new(
            AnomalyType::FailedLoginBurst,
            confidence,
            format!(
                "{n} failed attempts in the last {} min{source}",
                cfg.window_minutes
            ),
        ));
    }
    if !a.activity_type.is_authentication() {
        return None;
    }
    let n = r
        .failures
        .count_since(ctx.secs, cfg.success_after_minutes * 60) as f64;
    f[feat::FAILURES] = unit(n / certain);
    if n < threshold {
        return None;
    }
    let same_source =
        r.last_failure_network.is_some() && r.last_failure_network == ctx.keys.network;
    let p = ctx.profile;
    let usual_device = ctx.keys.device.is_some_and(|k| p.devices.contains(k));
    let usual_network = ctx.keys.network.is_some_and(|k| p.networks.contains(k));
    let (confidence, from) = if same_source {
        (1.0, " from the same network")
    } else if usual_device && usual_network {
        // Most likely the user themselves, logging in after someone else's attempts: still
        // worth a look (the account is under attack), not an account takeover.
        (
            0.3,
            " from this user's usual device and network (probably the user; the account is under attack)",
        )
    } else {
        (0.7, " from another network")
    };
    Some(Finding::new(
        AnomalyType::FailedLoginBurst,
        confidence,
        format!(
            "successful {} after {n} failed attempts in the last {} min{from}: likely credential stuffing or password guessing that worked",
            a.activity_type.as_str(),
            cfg.success_after_minutes
        ),
    ))
}
