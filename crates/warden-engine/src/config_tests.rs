//! The configuration's defaults and validation: every bad value is refused with its key.

use super::*;

#[test]
fn defaults_are_valid() {
    UebaConfig::default().validate().unwrap();
}

/// Validation refuses `c`, naming `key`.
fn refused(c: &UebaConfig, key: &str) {
    let e = c.validate().unwrap_err().to_string();
    assert!(e.contains(key), "{key}: {e}");
}

#[test]
fn nan_overflow_and_unsafe_quarantine_are_rejected() {
    let mut c = UebaConfig::default();
    c.travel.max_speed_kmh = f64::NAN;
    refused(&c, "travel.max_speed_kmh");
    let mut c = UebaConfig::default();
    c.failures.window_minutes = u32::MAX;
    refused(&c, "failures.window_minutes");
    let mut c = UebaConfig::default();
    c.scoring.quarantine_level = ThreatLevel::Critical;
    refused(&c, "quarantine_level");
    let mut c = UebaConfig::default();
    c.failures.success_after_few = c.failures.burst_threshold;
    refused(&c, "failures.success_after_few");
    c.failures.success_after_few = 0;
    assert!(c.validate().is_ok());
    let mut c = UebaConfig::default();
    c.caps.resources = 100_000;
    refused(&c, "caps.resources");
}

#[test]
fn out_of_range_names_the_key() {
    let mut c = UebaConfig::default();
    c.scoring.weights.unusual_time = 1.5;
    refused(&c, "scoring.weights.unusual_time");
    let mut c = UebaConfig::default();
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        c.time.odd_session_minutes = bad;
        refused(&c, "time.odd_session_minutes");
    }
    c.time.odd_session_minutes = 30.0;
    assert!(c.validate().is_ok());
    c.volume.min_excess_gb = -0.5;
    refused(&c, "volume.min_excess_gb");
}
