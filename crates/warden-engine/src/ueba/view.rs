//! A user's baseline as JSON for people and APIs (`warden baseline show`,
//! `POST /v1/analyze/behavior`): what was learned, not the raw state.

use serde_json::{Value, json};
use warden_models::baseline::UserState;

/// The baseline of `user`.
pub fn profile_view(user: &str, state: &UserState) -> Value {
    let p = &state.profile;
    let span = p
        .usual_span(0.02)
        .map(|(a, b)| format!("{a:02}:00-{b:02}:59 UTC"));
    json!({
        "user_id": user,
        "events": p.events,
        "active_days": p.active_days,
        "first_seen": p.first_seen.to_rfc3339(),
        "last_seen": p.last_seen.to_rfc3339(),
        "usual_hours": span,
        "hours_utc": p.hours,
        "weekdays": p.weekdays,
        "home": p.home,
        "home_utc_offset_hours": p.home_offset(),
        "known_locations": p.locations.len(),
        "known_countries": p.countries.len(),
        "known_devices": p.devices.len(),
        "known_user_agents": p.user_agents.len(),
        "known_resources": p.resources.len(),
        "known_networks": p.networks.len(),
        "volume_gb": { "mean": p.volume.mean, "std": p.volume.std(), "n": p.volume.n },
        "last_position": p.last_position.as_ref().map(|l| json!({
            "at": l.at.to_rfc3339(), "location": l.location, "lat": l.lat, "lon": l.lon })),
        "memory_bytes": state.memory_bytes(),
    })
}
