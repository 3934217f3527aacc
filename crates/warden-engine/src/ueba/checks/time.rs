//! Unusual time: activity at an hour this user is rarely active.
//!
//! Hours are judged both in the user's home time (travellers who keep home hours) and in the
//! local time where the event happened (travellers who adopt local hours); an hour is unusual
//! only if it is unusual both ways. A session that began within usual hours and ran late is
//! treated as someone working late, and weighs less than one that began at night.

use super::{CheckContext, Finding, feat, unit};
use warden_event::{AnomalyType, FeatureVector, UserActivity};
use warden_models::baseline::UserProfile;
use warden_models::geo::{haversine_km, solar_offset_hours};

/// How usual the event's hour is for this user.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HourUsualness {
    /// Share of the user's activity within ±1 h of this hour, the better of home and local.
    pub share: f64,
    /// Hours outside the user's usual day (0 inside it).
    pub hours_outside: u8,
    /// UTC offset used for local time here.
    pub local_offset: i32,
}

pub fn hour_usualness(p: &UserProfile, a: &UserActivity, active_share: f64) -> HourUsualness {
    let utc_h = a.timestamp.utc_hour_f() as i32;
    let home = p.home_offset();
    let local = a
        .coordinates()
        .map_or(home, |(_, lon)| solar_offset_hours(lon));
    let shifted = utc_h + (local - home);
    HourUsualness {
        share: p.hour_share(utc_h).max(p.hour_share(shifted)),
        hours_outside: p
            .hours_outside_usual(utc_h, active_share)
            .min(p.hours_outside_usual(shifted, active_share)),
        local_offset: local,
    }
}

fn offset_label(off: i32) -> String {
    if off == 0 {
        "UTC".into()
    } else {
        format!("UTC{off:+}")
    }
}

pub fn unusual_time(ctx: &CheckContext<'_>, f: &mut FeatureVector) -> Option<Finding> {
    let p = ctx.profile;
    if p.events == 0 {
        return None;
    }
    let cfg = &ctx.config.time;
    let u = hour_usualness(p, ctx.activity, cfg.active_hour_share);
    let rarity = 1.0 - u.share / cfg.min_hour_share;
    f[feat::HOUR] = unit(rarity);
    if u.share >= cfg.min_hour_share {
        return None;
    }
    let distance = (f64::from(u.hours_outside) / cfg.certain_hours_outside).clamp(0.25, 1.0);
    let mut confidence = rarity * distance;
    let clock = ctx.activity.timestamp.clock_at_offset(u.local_offset);
    let mut detail = format!(
        "{} at {clock} local time ({}), {} h outside this user's usual hours",
        ctx.activity.activity_type.as_str(),
        offset_label(u.local_offset),
        u.hours_outside,
    );
    if let Some((first, last)) = p.usual_span(cfg.active_hour_share) {
        let home = p.home_offset();
        let local = |h: u8| (i32::from(h) + home).rem_euclid(24);
        detail.push_str(&format!(
            " ({:02}:00–{:02}:59 {})",
            local(first),
            local(last),
            offset_label(home)
        ));
    }
    detail.push_str(&format!(
        "; {:.0}% of their activity falls within an hour of it",
        u.share * 100.0
    ));
    if let (Some(here), Some((hlat, hlon))) = (ctx.activity.coordinates(), p.home) {
        let away = haversine_km(here, (f64::from(hlat), f64::from(hlon)));
        if away >= cfg.travelling_km {
            confidence *= cfg.travelling_factor;
            detail.push_str(&format!(
                "; the user is travelling ({} km from their usual location), so hours are less telling",
                super::thousands(away)
            ));
        }
    }
    let r = ctx.recent;
    if r.session_started_usual && ctx.secs != r.session_start {
        confidence *= cfg.extended_session_factor;
        let start = warden_event::Timestamp(i64::from(r.session_start) * 1000);
        detail.push_str(&format!(
            "; continues a session that began at {} within usual hours (working late?)",
            start.clock_at_offset(u.local_offset)
        ));
    }
    Some(Finding::new(AnomalyType::UnusualTime, confidence, detail))
}
