//! The configuration's defaults and validation: every bad value is refused with its key.
use super::*;

#[test]
fn defaults_are_valid() {
    UebaConfig::default().validate().unwrap();
}

#[test]
fn nan_overflow_and_unsafe_quarantine_are_rejected() {
    let mut c = UebaConfig::default();
    c.travel.max_speed_kmh = f64::NAN;
    assert!(
        c.validate()
            .unwrap_err()
            .to_string()
            .contains("travel.max_speed_kmh")
    );
    let mut c = UebaConfig::default();
    c.failures.window_minutes = u32::MAX;
    assert!(
        c.validate()
            .unwrap_err()
            .to_string()
            .contains("failures.window_minutes")
    );
    let mut c = UebaConfig::default();
    c.scoring.quarantine_level = ThreatLevel::Critical;
    assert!(
        c.validate()
            .unwrap_err()
            .to_string()
            .contains("quarantine_level")
    );
    let mut c = UebaConfig::default();
    c.failures.success_after_few = c.failures.burst_threshold;
    assert!(
        c.validate()
            .unwrap_err()
            .to_string()
            .contains("failures.success_after_few")
    );
    c.failures.success_after_few = 0;
    assert!(c.validate().is_ok());
    let mut c = UebaConfig::default();
    c.caps.resources = 100_000;
    assert!(
        c.validate()
            .unwrap_err()
            .to_string()
            .contains("caps.resources")
    );
}

#[test]
fn out_of_range_names_the_key() {
    let mut c = UebaConfig::default();
    c.scoring.weights.unusual_time = 1.5;
    let e = c.validate().unwrap_err().to_string();
    assert!(e.contains("scoring.weights.unusual_time"), "{e}");
    let mut c = UebaConfig::default();
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        c.time.odd_session_minutes = bad;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("time.odd_session_minutes"), "{e}");
    }
    c.time.odd_session_minutes = 30.0;
    assert!(c.validate().is_ok());
    c.volume.min_excess_gb = -0.5;
    let e = c.validate().unwrap_err().to_string();
    assert!(e.contains("volume.min_excess_gb"), "{e}");
}
