//! The anomaly checks, one module per family. Each reads a [`CheckContext`], writes its
//! features, and returns the findings it is sure enough of.

mod device;
mod failures;
mod resources;
pub mod time;
mod travel;
mod volume;

use super::{CheckContext, Finding, feat, unit};
pub(crate) use resources::{anchor_rule, confidence_at_work, work_detail};
use warden_event::FeatureVector;

/// Runs every check on one event.
pub fn run_all(ctx: &CheckContext<'_>, features: &mut FeatureVector, out: &mut Vec<Finding>) {
    out.extend(travel::impossible_travel(ctx, features));
    out.extend(travel::new_location(ctx, features));
    out.extend(time::unusual_time(ctx, features));
    out.extend(volume::unusual_volume(ctx, features));
    out.extend(resources::unusual_resource(ctx, features));
    out.extend(device::new_device(ctx, features));
    out.extend(failures::failed_login_burst(ctx, features));
    context_features(ctx, features);
}

/// Features that feed the composite deviation without being anomalies of their own.
fn context_features(ctx: &CheckContext<'_>, f: &mut FeatureVector) {
    let p = ctx.profile;
    if p.events == 0 {
        return;
    }
    let wd = ctx.activity.timestamp.weekday_at_offset(p.home_offset());
    f[feat::WEEKDAY] = unit(1.0 - p.weekday_share(wd) * 14.0);
    // Events in the last 10 minutes; a full ring of 16 means a burst.
    f[feat::RATE] = unit(ctx.recent.events.count_since(ctx.secs, 600) as f64 / 16.0);
    if let Some(k) = ctx.keys.network {
        f[feat::NETWORK] = if p.networks.contains(k) { 0.0 } else { 1.0 };
    }
    if p.duration.n >= 10 {
        let z = p.duration.zscore(ctx.activity.duration_seconds, 1.0);
        f[feat::DURATION] = unit(z / 10.0);
    }
}

/// Formats a number with thousands separators ("5,012").
pub(crate) fn thousands(x: f64) -> String {
    let n = x.round() as i64;
    let s = n.abs().to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_separators() {
        assert_eq!(super::thousands(5012.4), "5,012");
        assert_eq!(super::thousands(999.0), "999");
        assert_eq!(super::thousands(1_234_567.0), "1,234,567");
        assert_eq!(super::thousands(-1200.0), "-1,200");
    }
}
