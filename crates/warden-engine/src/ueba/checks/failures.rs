//! Failed-login bursts and credential stuffing: many failed attempts on one account in a
//! short window, failures from one network across many accounts (password spraying,
//! credential stuffing), and above all a success right after either.

use super::{CheckContext, Finding, feat, unit};
use warden_event::{AnomalyType, FeatureVector};

pub fn failed_login_burst(ctx: &CheckContext<'_>, f: &mut FeatureVector) -> Option<Finding> {
    if ctx.activity.success {
        success_after_failures(ctx, f)
    } else {
        failure_burst(ctx, f)
    }
}

fn ramp(n: f64, start: f64, full: f64) -> f64 {
    0.5 + 0.5 * ((n - start) / (full - start).max(1.0)).clamp(0.0, 1.0)
}

fn failure_burst(ctx: &CheckContext<'_>, f: &mut FeatureVector) -> Option<Finding> {
    let cfg = &ctx.config.failures;
    let a = ctx.activity;
    let n = ctx
        .recent
        .failures
        .count_since(ctx.secs, cfg.window_minutes * 60) as f64;
    let threshold = f64::from(cfg.burst_threshold);
    let certain = f64::from(cfg.certain_count);
    let accounts = ctx.source_window.accounts as f64;
    let spray_threshold = f64::from(cfg.source_accounts_threshold);
    f[feat::FAILURES] = unit((n / certain).max(accounts / (3.0 * spray_threshold)));
    let mut confidence: f64 = 0.0;
    let mut facts = Vec::with_capacity(2);
    if n >= threshold {
        confidence = ramp(n, threshold, certain);
        let source = a
            .ip_address
            .as_deref()
            .map(|ip| format!(" (latest from {ip})"))
            .unwrap_or_default();
        facts.push(format!(
            "{n} failed attempts on this account in the last {} min{source}",
            cfg.window_minutes
        ));
    }
    if accounts >= spray_threshold {
        confidence = confidence.max(ramp(accounts, spray_threshold, 3.0 * spray_threshold));
        let network = a
            .ip_address
            .as_deref()
            .map(|ip| format!("the network of {ip}"))
            .unwrap_or_else(|| "this network".to_owned());
        facts.push(format!(
            "{} failed attempts against {accounts} accounts from {network} in the last {} min: password spraying or credential stuffing",
            ctx.source_window.attempts, cfg.window_minutes
        ));
    }
    (!facts.is_empty())
        .then(|| Finding::new(AnomalyType::FailedLoginBurst, confidence, facts.join("; ")))
}

fn success_after_failures(ctx: &CheckContext<'_>, f: &mut FeatureVector) -> Option<Finding> {
    let cfg = &ctx.config.failures;
    let a = ctx.activity;
    if !a.activity_type.is_authentication() {
        return None;
    }
    let r = ctx.recent;
    let window = cfg.success_after_minutes * 60;
    let n = r.failures.count_since(ctx.secs, window) as f64;
    let threshold = f64::from(cfg.burst_threshold);
    f[feat::FAILURES] = unit(n / f64::from(cfg.certain_count));
    if n >= threshold {
        let same_source =
            r.last_failure_network.is_some() && r.last_failure_network == ctx.keys.network;
        let p = ctx.profile;
        let usual_device = ctx.keys.device.is_some_and(|k| p.devices.contains(k));
        let usual_network = ctx.keys.network.is_some_and(|k| p.networks.contains(k));
        let (confidence, from) = if same_source {
            (1.0, " from the same network")
        } else if usual_device && usual_network {
            // Most likely the user themselves, logging in after someone else's attempts:
            // still worth a look (the account is under attack), not an account takeover.
            (
                0.3,
                " from this user's usual device and network (probably the user; the account is under attack)",
            )
        } else {
            (0.7, " from another network")
        };
        return Some(Finding::new(
            AnomalyType::FailedLoginBurst,
            confidence,
            format!(
                "successful {} after {n} failed attempts in the last {} min{from}: likely credential stuffing or password guessing that worked",
                a.activity_type.as_str(),
                cfg.success_after_minutes
            ),
        ));
    }
    if let Some(finding) = success_after_a_few(ctx, n) {
        return Some(finding);
    }
    let accounts = ctx.source_recent.accounts;
    if accounts as u32 >= cfg.source_accounts_threshold {
        return Some(Finding::new(
            AnomalyType::FailedLoginBurst,
            0.8,
            format!(
                "successful {} from a network that failed against {accounts} accounts in the last {} min: a sprayed or stuffed password that worked",
                a.activity_type.as_str(),
                cfg.success_after_minutes
            ),
        ));
    }
    None
}

/// A success after fewer failures than a burst (`success_after_few` or more), from the
/// network the latest failure came from, which this user has never used: a short guessing
/// or stuffing run that worked. A user mistyping a password fails from their own network;
/// a stuffing tool that has the right password after three tries does not need twenty.
fn success_after_a_few(ctx: &CheckContext<'_>, n: f64) -> Option<Finding> {
    let cfg = &ctx.config.failures;
    let few = f64::from(cfg.success_after_few);
    if cfg.success_after_few == 0 || n < few {
        return None;
    }
    let r = ctx.recent;
    let network = ctx.keys.network?;
    if r.last_failure_network != Some(network) || ctx.profile.networks.contains(network) {
        return None;
    }
    let burst = f64::from(cfg.burst_threshold);
    let confidence = 0.5 + 0.2 * ((n - few) / (burst - few).max(1.0)).clamp(0.0, 1.0);
    Some(Finding::new(
        AnomalyType::FailedLoginBurst,
        confidence,
        format!(
            "successful {} after {n} failed attempts in the last {} min, from the same network as the failures, one this user never used: a short guessing or stuffing run that worked",
            ctx.activity.activity_type.as_str(),
            cfg.success_after_minutes
        ),
    ))
}
