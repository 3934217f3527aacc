//! Unusual volume: data moved far above what this user usually moves — one transfer against
//! the user's transfers of the same kind (a download against their downloads), and the
//! session's running total against their past sessions' totals, so that data taken in
//! several moderate pieces adds up. A size that is usual for the resource itself (a data
//! set everyone downloads whole) counts for less; one far above the resource's usual too
//! counts for the stronger of the two views.

use super::{CheckContext, Finding, feat, unit};
use crate::config::VolumeConfig;
use warden_event::{ActivityType, AnomalyType, FeatureVector};
use warden_models::baseline::{TransferKind, log_volume};
use warden_models::stats::RunningStats;

pub fn unusual_volume(ctx: &CheckContext<'_>, f: &mut FeatureVector) -> Option<Finding> {
    let gb = ctx.activity.data_transferred_gb;
    let cfg = &ctx.config.volume;
    if gb <= 0.0 || ctx.profile.volume.n < cfg.min_history {
        return None;
    }
    // The models' feature keeps its meaning: the event against all of the user's transfers.
    let all_log_z = ctx
        .profile
        .log_volume
        .zscore(log_volume(gb), cfg.min_log_std);
    f[feat::VOLUME] = unit(all_log_z / cfg.log_z_certain);
    let event = event_finding(ctx, gb);
    let session = session_finding(ctx, gb);
    let (confidence, detail) = match (event, session) {
        (Some(e), Some(s)) if s.0 > e.0 => (s.0, format!("{}; {}", s.1, e.1)),
        (Some(e), Some(s)) => (e.0, format!("{}; {}", e.1, s.1)),
        (Some(one), None) | (None, Some(one)) => one,
        (None, None) => return None,
    };
    let factor = if ctx.activity.activity_type == ActivityType::Upload {
        cfg.upload_factor
    } else {
        1.0
    };
    Some(Finding::new(
        AnomalyType::UnusualVolume,
        confidence * factor,
        detail,
    ))
}

/// Confidence from a log-scale standard score: 0.3 at `log_z_start`, 1 at `log_z_certain`.
fn ramp(cfg: &VolumeConfig, log_z: f64) -> f64 {
    let r = (log_z - cfg.log_z_start) / (cfg.log_z_certain - cfg.log_z_start);
    0.3 + 0.7 * r.clamp(0.0, 1.0)
}

/// The typical size, in GB, of a log-scale distribution (its geometric mean).
fn typical_gb(stats: &RunningStats) -> f64 {
    stats.mean.exp_m1() / 1000.0
}

/// How much a size usual for its resource explains: the whole `resource_usual_factor` at
/// or below the resource's typical size, nothing at `resource_usual_z` standard deviations
/// above it, easing off with the square of the distance between (a size just above the
/// typical one is as usual as the typical one). A step at `resource_usual_z` damped a
/// transfer four times a resource's typical size (where users' sizes spread widely) as
/// much as one of exactly the typical size, which is what "a data set everyone downloads
/// whole" looks like.
fn resource_usual_damping(cfg: &VolumeConfig, rz: f64) -> f64 {
    if cfg.resource_usual_z <= 0.0 {
        return 1.0;
    }
    let nearness = (1.0 - (rz.max(0.0) / cfg.resource_usual_z).powi(2)).clamp(0.0, 1.0);
    1.0 - (1.0 - cfg.resource_usual_factor) * nearness
}

/// One transfer against the user's transfers of its kind (all of them while the kind has
/// too little history), damped when the size is usual for the resource.
fn event_finding(ctx: &CheckContext<'_>, gb: f64) -> Option<(f64, String)> {
    let cfg = &ctx.config.volume;
    let all = &ctx.profile.volume;
    let kind = TransferKind::of(&ctx.activity.activity_type);
    let (stats, noun) = match kind {
        Some(k) if ctx.transfers.of_kind(k).n >= cfg.min_kind_history => {
            (ctx.transfers.of_kind(k), k.noun())
        }
        _ => (&ctx.profile.log_volume, "transfers"),
    };
    let log_z = stats.zscore(log_volume(gb), cfg.min_log_std);
    let z = all.zscore(gb, cfg.min_std_gb);
    if z < cfg.z_threshold
        || log_z < cfg.log_z_start
        || gb - all.mean < cfg.min_excess_gb
        || gb - typical_gb(stats) < cfg.min_excess_gb
    {
        return None;
    }
    let mut confidence = ramp(cfg, log_z);
    let verb = match ctx.activity.activity_type {
        ActivityType::Download => "downloaded",
        ActivityType::Upload => "uploaded",
        _ => "transferred",
    };
    let name = ctx.activity.resource_accessed.as_deref().map(str::trim);
    let mut detail = format!(
        "{verb} {} GB{}: {:.0}× this user's typical {noun} of {} GB ({log_z:.1} standard deviations on a log scale, {} events)",
        gb_fmt(gb),
        name.map(|r| format!(" via {r}")).unwrap_or_default(),
        gb / typical_gb(stats).max(1e-6),
        gb_fmt(typical_gb(stats)),
        stats.n
    );
    if let Some(res) = ctx
        .keys
        .resource
        .zip(kind)
        .and_then(|(r, k)| ctx.population.resource_volume(r, k))
        .filter(|s| s.n >= cfg.min_resource_history)
    {
        let rz = res.zscore(log_volume(gb), cfg.min_log_std);
        let resource = name.unwrap_or("the resource");
        if rz < cfg.resource_usual_z {
            confidence *= resource_usual_damping(cfg, rz);
            let above = if rz > 0.05 {
                format!(" ({rz:.1} standard deviations above)")
            } else {
                String::new()
            };
            detail.push_str(&format!(
                "; a usual size for {resource}, whose {} are typically {} GB{above}",
                kind.map_or("transfers", TransferKind::noun),
                gb_fmt(typical_gb(res))
            ));
        } else {
            // Unusual for the resource as well as for the user: the stronger of the two.
            confidence = confidence.max(ramp(cfg, rz));
            detail.push_str(&format!(
                "; also {rz:.1} standard deviations above {resource}'s typical {} of {} GB",
                kind.map_or("transfers", TransferKind::noun),
                gb_fmt(typical_gb(res))
            ));
        }
    }
    Some((confidence, detail))
}

/// The session's running total against the totals of the user's past sessions. Only the
/// transfers that make a good part of the total report it, so one big session does not
/// flag each of its small events.
fn session_finding(ctx: &CheckContext<'_>, gb: f64) -> Option<(f64, String)> {
    let cfg = &ctx.config.volume;
    let t = ctx.transfers;
    if t.sessions.n < cfg.min_sessions || t.session_transfers < 2 {
        return None;
    }
    let total = t.session_gb;
    let typical = typical_gb(&t.sessions);
    let log_z = t.sessions.zscore(log_volume(total), cfg.min_log_std);
    if log_z < cfg.log_z_start
        || gb < cfg.session_min_share * total
        || total - typical < cfg.min_excess_gb
    {
        return None;
    }
    Some((
        ramp(cfg, log_z),
        format!(
            "this session has moved {} GB in {} transfers, {:.0}× this user's typical session total of {} GB ({log_z:.1} standard deviations on a log scale, {} sessions)",
            gb_fmt(total),
            t.session_transfers,
            total / typical.max(1e-6),
            gb_fmt(typical),
            t.sessions.n
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearer_the_resources_typical_size_the_more_it_explains() {
        let cfg = VolumeConfig::default();
        let at = |rz| resource_usual_damping(&cfg, rz);
        assert_eq!(at(-1.0), cfg.resource_usual_factor);
        assert_eq!(at(0.0), cfg.resource_usual_factor);
        assert_eq!(at(cfg.resource_usual_z), 1.0);
        let mid = at(cfg.resource_usual_z / 2.0);
        assert!(cfg.resource_usual_factor < mid && mid < 1.0, "{mid}");
        assert!(at(0.5) < at(1.0));
        // A zero threshold turns the damping off rather than dividing by it.
        let off = VolumeConfig {
            resource_usual_z: 0.0,
            ..VolumeConfig::default()
        };
        assert_eq!(resource_usual_damping(&off, 0.0), 1.0);
    }
}
