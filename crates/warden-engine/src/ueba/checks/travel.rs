//! Impossible travel (distance over elapsed time faster than a plane) and new locations
//! (new to the user; weighted by how rare the place is in the whole organisation).

use super::{CheckContext, Finding, feat, thousands, unit};
use warden_event::{AnomalyType, FeatureVector};
use warden_models::baseline::PopulationKind;
use warden_models::geo::haversine_km;

pub fn impossible_travel(ctx: &CheckContext<'_>, f: &mut FeatureVector) -> Option<Finding> {
    let here = ctx.activity.coordinates()?;
    if let Some((hlat, hlon)) = ctx.profile.home {
        let d = haversine_km(here, (f64::from(hlat), f64::from(hlon)));
        f[feat::DISTANCE] = unit(d / 5000.0);
    }
    let prev = ctx.profile.last_position.as_ref()?;
    if prev.location.is_some() && prev.location == ctx.activity.location {
        return None;
    }
    let cfg = &ctx.config.travel;
    let distance = haversine_km(here, (f64::from(prev.lat), f64::from(prev.lon)));
    if distance < cfg.min_distance_km {
        return None;
    }
    // Equal or out-of-order timestamps: treat the gap as one minute, the finest granularity
    // at which two logins can be told apart, rather than dividing by zero.
    let hours = ctx
        .activity
        .timestamp
        .hours_since(prev.at)
        .abs()
        .max(1.0 / 60.0);
    let speed = distance / hours;
    f[feat::TRAVEL_SPEED] = unit(speed / (cfg.max_speed_kmh * cfg.certain_speed_factor));
    if speed <= cfg.max_speed_kmh {
        return None;
    }
    let excess = (speed / cfg.max_speed_kmh - 1.0) / (cfg.certain_speed_factor - 1.0).max(1e-9);
    let confidence = 0.6 + 0.4 * excess.min(1.0);
    let from = prev.location.as_deref().unwrap_or("the previous location");
    let to = ctx.activity.location.as_deref().unwrap_or("here");
    let minutes = hours * 60.0;
    let elapsed = if minutes < 120.0 {
        format!("{} min", minutes.round())
    } else {
        format!("{:.1} h", hours)
    };
    Some(Finding::new(
        AnomalyType::ImpossibleTravel,
        confidence,
        format!(
            "{} from {to}, {} km from {from} {elapsed} earlier: {} km/h (limit {} km/h)",
            ctx.activity.activity_type.as_str(),
            thousands(distance),
            thousands(speed),
            thousands(cfg.max_speed_kmh)
        ),
    ))
}

pub fn new_location(ctx: &CheckContext<'_>, f: &mut FeatureVector) -> Option<Finding> {
    let key = ctx.keys.location?;
    let p = ctx.profile;
    if p.locations.is_empty() || p.locations.contains(key) {
        return None;
    }
    let cfg = &ctx.config.location;
    let new_country = ctx.keys.country.is_some_and(|c| !p.countries.contains(c));
    let share = ctx.population.share(PopulationKind::Location, key);
    let rarity = (1.0 - share / cfg.common_share).max(cfg.min_rarity);
    f[feat::LOCATION_NOVELTY] = if new_country { 1.0 } else { 0.5 };
    f[feat::LOCATION_RARITY] = unit(1.0 - share / cfg.common_share);
    let base = if new_country {
        cfg.new_country_confidence
    } else {
        cfg.new_city_confidence
    };
    let place = ctx.activity.location.as_deref().unwrap_or("?");
    let org = match ctx.population.users_with(PopulationKind::Location, key) {
        0 => "never seen in the organisation".to_owned(),
        1 => "seen for 1 other user".to_owned(),
        n => format!("seen for {n} other users"),
    };
    let what = if new_country {
        "new country and city"
    } else {
        "new city"
    };
    Some(Finding::new(
        AnomalyType::NewLocation,
        base * rarity,
        format!("{place}: {what} for this user ({org})"),
    ))
}
