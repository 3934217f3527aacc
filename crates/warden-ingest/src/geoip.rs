//! IP geolocation from a MaxMind DB file the user supplies (`[ingest.geoip] database`):
//! MaxMind GeoIP2/GeoLite2 City or Country, DB-IP's free City Lite, and ASN databases — read
//! with the `maxminddb` crate, the whole file in memory, no network.
//!
//! An activity with an IP address and no place gets one: its coordinates, and its
//! `location` as the schema writes it ("City, CC"), so the behavioural checks that need a
//! place (impossible travel, new location) work on sources that only log an address
//! (sshd, VPNs, CEF). What the event says is never overwritten, and coordinates are only
//! added when the place the event names (if any) is in the country the address is in. A
//! log document with `source.ip`, `destination.ip` or `client.ip` gets the ECS
//! `*.geo` and `*.as` fields beside it. Addresses that are not globally routable (private,
//! loopback, link-local, shared, documentation) are never looked up.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use maxminddb::{Reader, geoip2, path};
use serde_json::{Map, Value, json};
use warden_event::UserActivity;

/// Largest database file read (the City databases are 60–130 MB).
const MAX_DATABASE_BYTES: u64 = 1 << 30;

/// A database that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("IP geolocation database {path}: {reason}")]
pub struct GeoIpError {
    pub path: PathBuf,
    pub reason: String,
}

/// Where an address is, as far as the database knows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Place {
    /// ISO 3166 code, such as `AU`.
    pub country: Option<String>,
    pub country_name: Option<String>,
    pub city: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// Autonomous system, in databases that have it.
    pub asn: Option<u32>,
    pub as_org: Option<String>,
}

impl Place {
    /// "City, CC" (or the country code alone), as activities write places.
    pub fn label(&self) -> Option<String> {
        match (&self.city, &self.country) {
            (Some(city), Some(cc)) => Some(format!("{city}, {cc}")),
            (None, Some(cc)) => Some(cc.clone()),
            _ => None,
        }
    }

    fn is_empty(&self) -> bool {
        self.country.is_none() && self.latitude.is_none() && self.asn.is_none()
    }
}

/// An opened database.
pub struct GeoIp {
    reader: Reader<Vec<u8>>,
    path: PathBuf,
}

impl std::fmt::Debug for GeoIp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoIp")
            .field("path", &self.path)
            .field("type", &self.reader.metadata().database_type)
            .finish()
    }
}

impl GeoIp {
    /// Reads the database at `path` into memory.
    pub fn open(path: &Path) -> Result<Self, GeoIpError> {
        let bad = |reason: String| GeoIpError {
            path: path.to_owned(),
            reason,
        };
        let size = std::fs::metadata(path)
            .map_err(|e| bad(e.to_string()))?
            .len();
        if size > MAX_DATABASE_BYTES {
            return Err(bad(format!("{size} bytes; at most 1 GiB is read")));
        }
        let reader =
            Reader::open_readfile(path).map_err(|e| bad(format!("not a MaxMind DB file: {e}")))?;
        Ok(GeoIp {
            reader,
            path: path.to_owned(),
        })
    }

    /// The database's type, such as `DBIP-City-Lite` or `GeoLite2-ASN`.
    pub fn kind(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// The place of a globally routable address, if the database has one.
    pub fn locate(&self, ip: IpAddr) -> Option<Place> {
        if !is_global(ip) {
            return None;
        }
        let found = self.reader.lookup(ip).ok()?;
        if !found.has_data() {
            return None;
        }
        let mut place = Place::default();
        // A damaged record is no place, never an error the event carries.
        if let Ok(Some(city)) = found.decode::<geoip2::City>() {
            place.country = city.country.iso_code.map(str::to_owned);
            place.country_name = city.country.names.english.map(str::to_owned);
            place.city = city.city.names.english.map(clean_city);
            place.latitude = city.location.latitude.filter(|v| v.is_finite());
            place.longitude = city.location.longitude.filter(|v| v.is_finite());
        }
        // Writers store the number as whichever unsigned width fits it.
        place.asn = found
            .decode_path::<Value>(&path!["autonomous_system_number"])
            .ok()
            .flatten()
            .and_then(|v| v.as_u64())
            .and_then(|n| u32::try_from(n).ok());
        place.as_org = found
            .decode_path::<String>(&path!["autonomous_system_organization"])
            .ok()
            .flatten();
        (!place.is_empty()).then_some(place)
    }

    /// Fills what `a` lacks from its address; whether anything was added.
    pub fn enrich_activity(&self, a: &mut UserActivity) -> bool {
        if a.location.is_some() && a.latitude.is_some() && a.longitude.is_some() {
            return false;
        }
        let Some(place) = a
            .ip_address
            .as_deref()
            .and_then(|ip| ip.trim().parse::<IpAddr>().ok())
            .and_then(|ip| self.locate(ip))
        else {
            return false;
        };
        let mut added = false;
        // Coordinates only for the place the event names, when it names one.
        let same_country = match (&a.location, &place.country) {
            (None, _) => true,
            (Some(named), Some(cc)) => {
                country_of(named).is_some_and(|c| c.eq_ignore_ascii_case(cc))
            }
            (Some(_), None) => false,
        };
        if a.latitude.is_none()
            && a.longitude.is_none()
            && same_country
            && let (Some(lat), Some(lon)) = (place.latitude, place.longitude)
        {
            a.latitude = Some(lat);
            a.longitude = Some(lon);
            added = true;
        }
        if a.location.is_none()
            && let Some(label) = place.label()
        {
            a.location = Some(label);
            added = true;
        }
        added
    }

    /// Adds ECS `geo` and `as` beside each address a document names (`source.ip`,
    /// `destination.ip`, `client.ip`, `server.ip`) that has none; how many were added.
    pub fn enrich_doc(&self, doc: &mut Value) -> usize {
        let Some(d) = doc.as_object_mut() else {
            return 0;
        };
        let mut added = 0;
        for side in ["source", "destination", "client", "server"] {
            let Some(m) = d.get_mut(side).and_then(Value::as_object_mut) else {
                continue;
            };
            if m.contains_key("geo") {
                continue;
            }
            let Some(place) = m
                .get("ip")
                .and_then(Value::as_str)
                .and_then(|ip| ip.parse::<IpAddr>().ok())
                .and_then(|ip| self.locate(ip))
            else {
                continue;
            };
            add_ecs(m, &place);
            added += 1;
        }
        added
    }
}

/// `geo` and `as` in ECS form.
fn add_ecs(m: &mut Map<String, Value>, place: &Place) {
    let mut geo = Map::new();
    if let Some(cc) = &place.country {
        geo.insert("country_iso_code".into(), json!(cc));
    }
    if let Some(name) = &place.country_name {
        geo.insert("country_name".into(), json!(name));
    }
    if let Some(city) = &place.city {
        geo.insert("city_name".into(), json!(city));
    }
    if let (Some(lat), Some(lon)) = (place.latitude, place.longitude) {
        geo.insert("location".into(), json!({ "lat": lat, "lon": lon }));
    }
    if !geo.is_empty() {
        m.insert("geo".into(), Value::Object(geo));
    }
    if let Some(n) = place.asn {
        let mut asn = json!({ "number": n });
        if let Some(org) = &place.as_org {
            asn["organization"] = json!({ "name": org });
        }
        m.insert("as".into(), asn);
    }
}

/// DB-IP writes some cities with their district, as in "Toronto (Old Toronto)".
fn clean_city(name: &str) -> String {
    match name.find(" (") {
        Some(i) if name.ends_with(')') && i > 0 => name[..i].to_owned(),
        _ => name.to_owned(),
    }
}

/// The country code of "City, CC" (or of a bare "CC").
fn country_of(location: &str) -> Option<&str> {
    let cc = location.rsplit(',').next()?.trim();
    (cc.len() == 2 && cc.bytes().all(|b| b.is_ascii_alphabetic())).then_some(cc)
}

/// Whether an address is routed on the internet (the database knows nothing of the rest).
pub fn is_global(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                // Shared address space (carrier-grade NAT), and 240/4.
                || (o[0] == 100 && (o[1] & 0xC0) == 64)
                || o[0] >= 240
                || o[0] == 0)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_global(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // Unique local fc00::/7, link-local fe80::/10, documentation 2001:db8::/32.
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_routable_addresses_are_looked_up() {
        for ip in [
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.4",
            "127.0.0.1",
            "169.254.1.1",
            "100.64.0.1",
            "192.0.2.7",
            "203.0.113.9",
            "::1",
            "fd00::1",
            "fe80::1",
            "2001:db8::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(
                !is_global(ip.parse().unwrap_or_else(|e| panic!("{e}"))),
                "{ip}"
            );
        }
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(
                is_global(ip.parse().unwrap_or_else(|e| panic!("{e}"))),
                "{ip}"
            );
        }
    }

    #[test]
    fn places_are_written_as_activities_write_them() {
        let p = Place {
            country: Some("AU".into()),
            city: Some(clean_city("Sydney (Haymarket)")),
            ..Place::default()
        };
        assert_eq!(p.label().as_deref(), Some("Sydney, AU"));
        assert_eq!(country_of("Lagos, NG"), Some("NG"));
        assert_eq!(country_of("NG"), Some("NG"));
        assert_eq!(country_of("Head office"), None);
    }

    #[test]
    fn a_file_that_is_no_database_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let f = dir.path().join("city.mmdb");
        std::fs::write(&f, b"not a database").unwrap_or_else(|e| panic!("{e}"));
        let e = GeoIp::open(&f)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("city.mmdb") && e.contains("not a MaxMind DB file"),
            "{e}"
        );
        let e = GeoIp::open(&dir.path().join("missing.mmdb"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("missing.mmdb"), "{e}");
    }

    fn test_db() -> GeoIp {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/geoip/city-asn-test.mmdb");
        GeoIp::open(&path).unwrap_or_else(|e| panic!("{e}"))
    }

    fn login(ip: &str) -> UserActivity {
        let mut a = UserActivity::new(
            "ana",
            warden_event::ActivityType::Login,
            warden_event::Timestamp(0),
        );
        a.ip_address = Some(ip.into());
        a
    }

    #[test]
    fn a_place_and_its_autonomous_system_are_found() {
        let db = test_db();
        assert_eq!(db.kind(), "Warden-Test-City-ASN");
        let ip: IpAddr = "81.2.69.160".parse().unwrap_or_else(|e| panic!("{e}"));
        let p = db
            .locate(ip)
            .unwrap_or_else(|| panic!("London is in the database"));
        assert_eq!(p.label().as_deref(), Some("London, GB"));
        assert_eq!(
            (p.asn, p.as_org.as_deref()),
            (Some(20712), Some("Andrews & Arnold Ltd"))
        );
        assert!((p.latitude.unwrap_or(0.0) - 51.5142).abs() < 1e-3);
        // Lagos has no autonomous system in this database; 9.9.9.9 is not in it.
        let lagos = db.locate("41.58.3.4".parse().unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(lagos.and_then(|p| p.asn), None);
        assert_eq!(
            db.locate("9.9.9.9".parse().unwrap_or_else(|e| panic!("{e}"))),
            None
        );
    }

    #[test]
    fn an_activity_gets_what_it_lacks_and_keeps_what_it_says() {
        let db = test_db();
        let mut a = login("1.1.1.1");
        assert!(db.enrich_activity(&mut a));
        assert_eq!(a.location.as_deref(), Some("Sydney, AU"));
        assert!((a.latitude.unwrap_or(0.0) + 33.8688).abs() < 1e-3);
        // A named place is kept; coordinates only when the address is in its country.
        let mut named = login("1.1.1.1");
        named.location = Some("Melbourne, AU".into());
        assert!(db.enrich_activity(&mut named));
        assert_eq!(named.location.as_deref(), Some("Melbourne, AU"));
        assert!(named.latitude.is_some());
        let mut elsewhere = login("1.1.1.1");
        elsewhere.location = Some("Paris, FR".into());
        assert!(!db.enrich_activity(&mut elsewhere));
        assert_eq!((elsewhere.latitude, elsewhere.longitude), (None, None));
        // A country without a city is written as its code; private addresses are skipped.
        let mut us = login("8.8.8.8");
        assert!(db.enrich_activity(&mut us));
        assert_eq!(us.location.as_deref(), Some("US"));
        let mut private = login("10.0.0.5");
        assert!(!db.enrich_activity(&mut private));
        let mut junk = login("not an address");
        assert!(!db.enrich_activity(&mut junk));
    }

    #[test]
    fn documents_get_ecs_geo_and_as_beside_their_addresses() {
        let db = test_db();
        let mut doc = json!({
            "source": {"ip": "81.2.69.160"},
            "destination": {"ip": "10.0.0.9"},
            "client": {"ip": "1.1.1.1", "geo": {"city_name": "kept"}},
        });
        assert_eq!(db.enrich_doc(&mut doc), 1);
        assert_eq!(doc["source"]["geo"]["city_name"], "London");
        assert_eq!(doc["source"]["geo"]["country_iso_code"], "GB");
        assert_eq!(doc["source"]["as"]["number"], 20712);
        assert_eq!(
            doc["source"]["as"]["organization"]["name"],
            "Andrews & Arnold Ltd"
        );
        assert!(doc["destination"].get("geo").is_none());
        assert_eq!(doc["client"]["geo"]["city_name"], "kept");
    }
}
