//! Geodesy for travel checks: great-circle distance and longitude-derived UTC offsets.

const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Great-circle distance in km between two `(latitude, longitude)` points in degrees
/// (haversine formula; correct across the antimeridian and at the poles).
pub fn haversine_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lon1) = (a.0.to_radians(), a.1.to_radians());
    let (lat2, lon2) = (b.0.to_radians(), b.1.to_radians());
    let dlat = lat2 - lat1;
    let dlon = lon2 - lon1;
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

/// The offset from UTC, in whole hours, of mean solar time at a longitude. A time-zone
/// database would be more exact, but this needs no data and is within an hour or two almost
/// everywhere, which is all an "unusual hour" check needs.
pub fn solar_offset_hours(longitude: f64) -> i32 {
    let off = (longitude / 15.0).round() as i32;
    off.clamp(-12, 14)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_distances() {
        let london = (51.5074, -0.1278);
        let new_york = (40.7128, -74.0060);
        assert!((haversine_km(london, new_york) - 5570.0).abs() < 20.0);
        assert_eq!(haversine_km(london, london), 0.0);
    }

    #[test]
    fn dateline_is_short_not_long() {
        // Two points 1° apart across the antimeridian are ~111 km apart, not ~40,000.
        let d = haversine_km((0.0, 179.5), (0.0, -179.5));
        assert!((d - 111.2).abs() < 1.0, "{d}");
        // Fiji to Samoa, across the dateline.
        let d = haversine_km((-18.1416, 178.4419), (-13.8333, -171.7667));
        assert!((d - 1150.0).abs() < 50.0, "{d}");
    }

    #[test]
    fn offsets_from_longitude() {
        assert_eq!(solar_offset_hours(0.0), 0);
        assert_eq!(solar_offset_hours(103.8), 7);
        assert_eq!(solar_offset_hours(-74.0), -5);
        assert_eq!(solar_offset_hours(180.0), 12);
    }

    proptest! {
        #[test]
        fn symmetric_bounded_and_finite(a in (-90.0f64..90.0, -180.0f64..180.0), b in (-90.0f64..90.0, -180.0f64..180.0)) {
            let d1 = haversine_km(a, b);
            let d2 = haversine_km(b, a);
            prop_assert!(d1.is_finite() && (0.0..=20_016.0).contains(&d1));
            prop_assert!((d1 - d2).abs() < 1e-6);
        }
    }
}
