//! [`UserProfile`]: the learned behaviour of one user, in fixed memory.

use super::{ActivityKeys, Population, PopulationKind};
use crate::geo::solar_offset_hours;
use crate::stats::{BoundedCounter, Observed, RunningStats};
use serde::{Deserialize, Serialize};
use warden_event::{Timestamp, UserActivity};

/// How many distinct values of each attribute a profile remembers (the rarest is forgotten
/// first). These bound the memory of a baseline whatever the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProfileCaps {
    pub locations: usize,
    pub countries: usize,
    pub devices: usize,
    pub user_agents: usize,
    pub resources: usize,
    pub networks: usize,
}

impl Default for ProfileCaps {
    fn default() -> Self {
        Self {
            locations: 12,
            countries: 6,
            devices: 8,
            user_agents: 8,
            resources: 24,
            networks: 8,
        }
    }
}

/// Where and when the user last was, for travel checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Position {
    pub at: Timestamp,
    pub lat: f32,
    pub lon: f32,
    /// The location's name ("London, GB"), for explanations.
    pub location: Option<String>,
}

/// The learned behaviour of one user.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserProfile {
    /// Events learned.
    pub events: u32,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// Distinct days with learned activity.
    pub active_days: u16,
    last_day: i32,
    /// Learned events per UTC hour.
    pub hours: [u32; 24],
    /// Learned events per weekday (Monday = 0) at the user's home offset.
    pub weekdays: [u32; 7],
    pub locations: BoundedCounter,
    pub countries: BoundedCounter,
    pub devices: BoundedCounter,
    pub user_agents: BoundedCounter,
    pub resources: BoundedCounter,
    pub networks: BoundedCounter,
    /// Gigabytes per event.
    pub volume: RunningStats,
    /// `ln(1 + megabytes)` per event: volumes are roughly log-normal, so deviations are
    /// judged on this scale (see [`log_volume`]).
    pub log_volume: RunningStats,
    /// Seconds per event.
    pub duration: RunningStats,
    /// Coordinates of the most frequent location.
    pub home: Option<(f32, f32)>,
    home_count: u32,
    pub last_position: Option<Position>,
}

impl UserProfile {
    /// Learns one activity. The caller decides whether an event may be learned (it must not
    /// have alerted); `population` is kept in step with the sets that feed it. Returns what
    /// the resource set did with the event's resource.
    pub fn learn(
        &mut self,
        a: &UserActivity,
        keys: &ActivityKeys,
        caps: &ProfileCaps,
        population: &mut Population,
    ) -> Option<Observed> {
        let resource = self.learn_all_but_volume(a, keys, caps, population);
        self.learn_volume(a.data_transferred_gb);
        resource
    }

    /// Learns a transfer's size (held back by the caller until now).
    pub fn learn_volume(&mut self, gb: f64) {
        self.volume.push(gb);
        self.log_volume.push(log_volume(gb));
    }

    /// [`UserProfile::learn`] without the transfer's size, which the caller holds back.
    pub fn learn_all_but_volume(
        &mut self,
        a: &UserActivity,
        keys: &ActivityKeys,
        caps: &ProfileCaps,
        population: &mut Population,
    ) -> Option<Observed> {
        let ts = a.timestamp;
        if self.events == 0 {
            self.first_seen = ts;
        }
        self.events = self.events.saturating_add(1);
        self.last_seen = self.last_seen.max(ts);
        let day = ts.day_index() as i32;
        if self.active_days == 0 || day != self.last_day {
            self.active_days = self.active_days.saturating_add(1);
            self.last_day = day;
        }
        let hour = ts.utc_hour_f() as usize % 24;
        self.hours[hour] = self.hours[hour].saturating_add(1);
        let wd = ts.weekday_at_offset(self.home_offset()) as usize;
        self.weekdays[wd] = self.weekdays[wd].saturating_add(1);

        if let Some(k) = keys.location {
            let seen = self.locations.observe(k, caps.locations);
            population.follow(PopulationKind::Location, k, seen);
            if let Some((lat, lon)) = a.coordinates() {
                let count = self.locations.get(k).unwrap_or(0);
                if count >= self.home_count {
                    self.home = Some((lat as f32, lon as f32));
                    self.home_count = count;
                }
            }
        }
        if let Some(k) = keys.country {
            let seen = self.countries.observe(k, caps.countries);
            population.follow(PopulationKind::Country, k, seen);
        }
        let resource = keys.resource.map(|k| {
            let seen = self.resources.observe(k, caps.resources);
            population.follow(PopulationKind::Resource, k, seen);
            seen
        });
        observe(&mut self.devices, keys.device, caps.devices);
        observe(&mut self.user_agents, keys.user_agent, caps.user_agents);
        observe(&mut self.networks, keys.network, caps.networks);
        self.duration.push(a.duration_seconds);
        if let Some((lat, lon)) = a.coordinates() {
            self.last_position = Some(Position {
                at: ts,
                lat: lat as f32,
                lon: lon as f32,
                location: a.location.as_deref().map(bounded_name),
            });
        }
        resource
    }

    /// UTC offset (hours) of the user's home, from the longitude of their usual location.
    pub fn home_offset(&self) -> i32 {
        self.home
            .map(|(_, lon)| solar_offset_hours(f64::from(lon)))
            .unwrap_or(0)
    }

    /// Share of learned events within ±1 hour of UTC hour `h` (circular), in `[0, 1]`.
    pub fn hour_share(&self, h: i32) -> f64 {
        let total: u32 = self.hours.iter().sum();
        if total == 0 {
            return 0.0;
        }
        let window: u32 = (-1..=1)
            .map(|d| self.hours[(h + d).rem_euclid(24) as usize])
            .sum();
        f64::from(window) / f64::from(total)
    }

    /// Hours (circular) from UTC hour `h` to the nearest hour holding at least `min_share`
    /// of activity; 0 inside the usual hours, up to 12.
    pub fn hours_outside_usual(&self, h: i32, min_share: f64) -> u8 {
        let total: u32 = self.hours.iter().sum();
        if total == 0 {
            return 0;
        }
        let active = |x: i32| {
            f64::from(self.hours[x.rem_euclid(24) as usize]) >= min_share * f64::from(total)
        };
        (0..=12u8)
            .find(|d| active(h + i32::from(*d)) || active(h - i32::from(*d)))
            .unwrap_or(12)
    }

    /// The usual span of UTC hours `(first, last)`: the complement of the longest run of
    /// hours holding less than `min_share` of activity.
    pub fn usual_span(&self, min_share: f64) -> Option<(u8, u8)> {
        let total: u32 = self.hours.iter().sum();
        if total == 0 {
            return None;
        }
        let quiet = |h: usize| f64::from(self.hours[h % 24]) < min_share * f64::from(total);
        let (mut best_start, mut best_len) = (0usize, 0usize);
        for start in 0..24 {
            let len = (0..24).take_while(|d| quiet(start + d)).count();
            if len > best_len {
                best_start = start;
                best_len = len;
            }
        }
        if best_len == 0 || best_len == 24 {
            return None;
        }
        let first = (best_start + best_len) % 24;
        let last = (best_start + 23) % 24;
        Some((first as u8, last as u8))
    }

    /// Share of learned events on weekday `wd` (Monday = 0).
    pub fn weekday_share(&self, wd: u8) -> f64 {
        let total: u32 = self.weekdays.iter().sum();
        if total == 0 {
            return 0.0;
        }
        f64::from(self.weekdays[wd as usize % 7]) / f64::from(total)
    }

    /// Heap bytes held by the profile.
    pub fn heap_bytes(&self) -> usize {
        self.locations.heap_bytes()
            + self.countries.heap_bytes()
            + self.devices.heap_bytes()
            + self.user_agents.heap_bytes()
            + self.resources.heap_bytes()
            + self.networks.heap_bytes()
            + self
                .last_position
                .as_ref()
                .and_then(|p| p.location.as_ref())
                .map_or(0, String::capacity)
    }
}

/// Longest location name kept in a baseline (for explanations), in bytes.
const MAX_NAME_BYTES: usize = 96;

/// A location name cut to [`MAX_NAME_BYTES`] at a character boundary, so that a hostile
/// input cannot make a baseline grow.
fn bounded_name(s: &str) -> String {
    super::cut(s, MAX_NAME_BYTES).to_owned()
}

/// The scale on which volume deviations are judged: `ln(1 + MB)`.
pub fn log_volume(gb: f64) -> f64 {
    (gb.max(0.0) * 1000.0).ln_1p()
}

fn observe(counter: &mut BoundedCounter, key: Option<u64>, cap: usize) {
    if let Some(k) = key {
        counter.observe(k, cap);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_event::ActivityType;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn learns_hours_places_and_home() {
        let mut p = UserProfile::default();
        let mut pop = Population::default();
        let caps = ProfileCaps::default();
        for day in 1..=9 {
            for hour in 9..=17 {
                let mut a = UserActivity::new(
                    "u",
                    ActivityType::Login,
                    at(&format!("2026-03-0{day}T{hour:02}:00:00Z")),
                );
                a.location = Some("London, GB".into());
                a.latitude = Some(51.5);
                a.longitude = Some(-0.1);
                a.resource_accessed = Some("git".into());
                p.learn(&a, &ActivityKeys::of(&a), &caps, &mut pop);
            }
        }
        assert_eq!(p.events, 81);
        assert_eq!(p.active_days, 9);
        assert_eq!(p.home_offset(), 0);
        assert!(p.hour_share(12) > 0.3);
        assert_eq!(p.hour_share(3), 0.0);
        assert_eq!(p.hours_outside_usual(3, 0.02), 6);
        assert_eq!(p.hours_outside_usual(12, 0.02), 0);
        assert_eq!(p.usual_span(0.02), Some((9, 17)));
        assert_eq!(
            pop.users_with(PopulationKind::Resource, crate::stats::stable_hash("git")),
            1
        );
        assert_eq!(
            p.last_position.as_ref().unwrap().location.as_deref(),
            Some("London, GB")
        );
    }

    #[test]
    fn location_names_are_bounded() {
        let mut p = UserProfile::default();
        let mut a = UserActivity::new("u", ActivityType::Login, at("2026-03-01T09:00:00Z"));
        a.location = Some("é".repeat(500));
        a.latitude = Some(1.0);
        a.longitude = Some(1.0);
        p.learn(
            &a,
            &ActivityKeys::of(&a),
            &ProfileCaps::default(),
            &mut Population::default(),
        );
        let kept = p.last_position.unwrap().location.unwrap();
        assert!(kept.len() <= MAX_NAME_BYTES && kept.chars().all(|c| c == 'é'));
    }

    #[test]
    fn usual_span_wraps_midnight_for_night_shifts() {
        let mut p = UserProfile::default();
        for h in [22, 23, 0, 1, 2, 3, 4, 5] {
            p.hours[h] = 10;
        }
        assert_eq!(p.usual_span(0.02), Some((22, 5)));
        assert_eq!(p.hours_outside_usual(12, 0.02), 7);
    }
}
