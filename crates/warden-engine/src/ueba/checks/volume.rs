//! Unusual volume: data moved far above this user's own mean (in standard deviations).

use super::{CheckContext, Finding, feat, unit};
use warden_event::{ActivityType, AnomalyType, FeatureVector};
use warden_models::baseline::log_volume;

pub fn unusual_volume(ctx: &CheckContext<'_>, f: &mut FeatureVector) -> Option<Finding> {
    let gb = ctx.activity.data_transferred_gb;
    let stats = &ctx.profile.volume;
    let cfg = &ctx.config.volume;
    if gb <= 0.0 || stats.n < cfg.min_history {
        return None;
    }
    let z = stats.zscore(gb, cfg.min_std_gb);
    let log_z = ctx
        .profile
        .log_volume
        .zscore(log_volume(gb), cfg.min_log_std);
    f[feat::VOLUME] = unit(log_z / cfg.log_z_certain);
    if z < cfg.z_threshold || log_z < cfg.log_z_start || gb - stats.mean < cfg.min_excess_gb {
        return None;
    }
    let ramp = ((log_z - cfg.log_z_start) / (cfg.log_z_certain - cfg.log_z_start)).clamp(0.0, 1.0);
    let mut confidence = 0.3 + 0.7 * ramp;
    let kind = &ctx.activity.activity_type;
    let verb = match kind {
        ActivityType::Download => "downloaded",
        ActivityType::Upload => "uploaded",
        _ => "transferred",
    };
    if *kind == ActivityType::Upload {
        confidence *= cfg.upload_factor;
    }
    let resource = ctx
        .activity
        .resource_accessed
        .as_deref()
        .map(|r| format!(" via {r}"))
        .unwrap_or_default();
    Some(Finding::new(
        AnomalyType::UnusualVolume,
        confidence,
        format!(
            "{verb} {} GB{resource}: {z:.1} standard deviations above this user's mean of {} GB (σ {} GB, {} events; {log_z:.1} on a log scale)",
            gb_fmt(gb),
            gb_fmt(stats.mean),
            gb_fmt(stats.std()),
            stats.n
        ),
    ))
}

fn gb_fmt(x: f64) -> String {
    if x >= 10.0 {
        format!("{x:.1}")
    } else if x >= 0.1 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}
