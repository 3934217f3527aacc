//! New device: a device fingerprint never seen for this user, more suspicious when its user
//! agent is new as well, or belongs to a script or HTTP library.

use super::{CheckContext, Finding, feat};
use warden_event::{AnomalyType, FeatureVector};

pub fn new_device(ctx: &CheckContext<'_>, f: &mut FeatureVector) -> Option<Finding> {
    let p = ctx.profile;
    let a = ctx.activity;
    let cfg = &ctx.config.device;
    let ua = a.user_agent.as_deref().unwrap_or("");
    let automated = ctx.automation_agent;
    let new_agent = ctx
        .keys
        .user_agent
        .is_some_and(|k| !p.user_agents.is_empty() && !p.user_agents.contains(k));
    f[feat::AGENT] = if automated {
        1.0
    } else if new_agent {
        0.5
    } else {
        0.0
    };
    let key = ctx.keys.device?;
    if p.devices.is_empty() || p.devices.contains(key) {
        return None;
    }
    f[feat::DEVICE] = 1.0;
    let unnamed = a
        .device_name
        .as_deref()
        .is_none_or(|n| n.trim().is_empty() || n.eq_ignore_ascii_case("unknown"));
    let mut confidence = cfg.base_confidence;
    let name = a.device_name.as_deref().unwrap_or("unnamed");
    let mut detail = match a.device_fingerprint.as_deref() {
        Some(fp) => format!(
            "device \"{name}\" (fingerprint {}…) never seen for this user ({} known)",
            fp.chars().take(8).collect::<String>(),
            p.devices.len()
        ),
        None => format!(
            "device \"{name}\" never seen for this user ({} known)",
            p.devices.len()
        ),
    };
    if new_agent {
        confidence += cfg.new_agent_bonus;
        detail.push_str("; its user agent is new too");
    }
    if automated || unnamed {
        confidence += cfg.automation_bonus;
        if automated {
            detail.push_str(&format!(
                "; user agent \"{ua}\" is a script or HTTP library"
            ));
        } else {
            detail.push_str("; the device has no name");
        }
    }
    Some(Finding::new(AnomalyType::NewDevice, confidence, detail))
}
