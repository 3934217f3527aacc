//! IP geolocation cost per event on one core: an address looked up in a City database, and
//! an activity placed from it. Reads the database `WARDEN_TEST_GEOIP_DB` names (DB-IP City
//! Lite: `tests/data/geoip/fetch_dbip.sh DIR`), else the small test database.

use std::net::{IpAddr, Ipv4Addr};

use divan::counter::ItemsCount;
use warden_event::{ActivityType, Timestamp, UserActivity};
use warden_ingest::geoip::GeoIp;

fn main() {
    divan::main();
}

fn db() -> GeoIp {
    let path = std::env::var_os("WARDEN_TEST_GEOIP_DB").map_or_else(
        || {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../tests/data/geoip/city-asn-test.mmdb")
        },
        std::path::PathBuf::from,
    );
    GeoIp::open(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// 4,096 public addresses spread over the IPv4 space (a fixed sequence).
fn addresses() -> Vec<IpAddr> {
    let mut x: u32 = 0x9E37_79B9;
    let mut out = Vec::new();
    while out.len() < 4096 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let ip = IpAddr::V4(Ipv4Addr::from(x));
        if warden_ingest::geoip::is_global(ip) {
            out.push(ip);
        }
    }
    out
}

#[divan::bench]
fn locate(bencher: divan::Bencher) {
    let db = db();
    let ips = addresses();
    bencher
        .counter(ItemsCount::new(ips.len()))
        .bench_local(|| ips.iter().filter(|ip| db.locate(**ip).is_some()).count());
}

#[divan::bench]
fn place_activities(bencher: divan::Bencher) {
    let db = db();
    let logins: Vec<UserActivity> = addresses()
        .into_iter()
        .map(|ip| {
            let mut a = UserActivity::new("ana", ActivityType::Login, Timestamp(0));
            a.ip_address = Some(ip.to_string());
            a
        })
        .collect();
    bencher
        .counter(ItemsCount::new(logins.len()))
        .with_inputs(|| logins.clone())
        .bench_local_values(|mut batch| {
            let mut placed = 0;
            for a in &mut batch {
                placed += usize::from(db.enrich_activity(a));
            }
            placed
        });
}
