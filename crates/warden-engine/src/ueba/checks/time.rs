//! Unusual time: activity at an hour this user is rarely active.
//!
//! Hours are judged both in the user's home time (travellers who keep home hours) and in the
//! local time where the event happened (travellers who adopt local hours); an hour is unusual
//! only if it is unusual both ways. A session that began within usual hours and ran late is
//! treated as someone working late, and weighs less than one that began at night; a sign-in
//! after the user signed out for the day (`time.relogin_pause_minutes`) opens a session of
//! its own, so it is judged by the hour it began at, not taken for work running late.

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

/// A pause as `45 min` or `2 h 05 min`.
fn duration(secs: u32) -> String {
    let minutes = secs / 60;
    if minutes < 120 {
        format!("{minutes} min")
    } else {
        format!("{} h {:02} min", minutes / 60, minutes % 60)
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
    let mut cites = None;
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
    // Before the travelling factor: a traveller's long session abroad stays discounted.
    if !ctx.recent.session_started_usual {
        if let Some(out) = ctx.session_after_sign_out {
            let pause = ctx.recent.session_start.saturating_sub(out);
            detail.push_str(&format!(
                "; the user signed out at {} and signed in again {} later, at an hour outside their day: not work running late",
                warden_event::Timestamp(i64::from(out) * 1000).clock_at_offset(u.local_offset),
                duration(pause)
            ));
        }
        grow_with_session(ctx, &mut confidence, &mut detail, &mut cites);
    }
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
    let mut f = Finding::new(AnomalyType::UnusualTime, confidence, detail);
    f.cites = cites;
    Some(f)
}

/// A session opened by a sign-in at an unusual hour and still going: the longer it runs,
/// the less it looks like a stray event and the more like deliberate work at an hour this
/// user never works (`time.odd_session_minutes`), as unusual as the hour it began at. Cites
/// the session's first earlier odd-hour event. A session that began with anything but a
/// successful login or VPN connection is activity resumed after a pause — someone working
/// late who stepped away — and does not grow: "a sign-in in the middle of the user's night
/// is not the same as working late".
fn grow_with_session(
    ctx: &CheckContext<'_>,
    confidence: &mut f64,
    detail: &mut String,
    cites: &mut Option<String>,
) {
    let tau = ctx.config.time.odd_session_minutes;
    let start = ctx.recent.session_start;
    if tau <= 0.0 || ctx.secs <= start || !ctx.session_authenticated {
        return;
    }
    // How unusual the hour was when the session began, against the baseline before it (its
    // odd hours are held back): a session that drifted late from near the usual day is
    // someone working late, not one that began far outside it.
    let p = ctx.profile;
    let cfg = &ctx.config.time;
    let began_h = (start / 3600 % 24) as i32;
    let began_share = p.hour_share(began_h);
    if began_share >= cfg.min_hour_share {
        return;
    }
    let began_outside = p.hours_outside_usual(began_h, cfg.active_hour_share);
    let at_start = (1.0 - began_share / cfg.min_hour_share)
        * (f64::from(began_outside) / cfg.certain_hours_outside).clamp(0.25, 1.0);
    let minutes = f64::from(ctx.secs - start) / 60.0;
    let grown = 1.0 - (1.0 - at_start).powf(1.0 + minutes / tau);
    if grown <= *confidence {
        return;
    }
    *confidence = grown;
    let earlier = ctx
        .session
        .iter()
        .find(|n| n.kind == AnomalyType::UnusualTime);
    let began = warden_event::Timestamp(i64::from(start) * 1000);
    detail.push_str(&format!(
        "; the session began at {} UTC, outside usual hours, and has run {:.0} min",
        began.clock_at_offset(0),
        minutes
    ));
    if let Some(n) = earlier {
        if let Some(id) = &n.event_id {
            detail.push_str(&format!(" (earlier in it: event {id})"));
        }
        cites.clone_from(&n.event_id);
    }
}
