//! What clients put in query strings: listing cursors, times, levels and anomaly types —
//! read or refused, never a panic; a cursor that reads is one the service could have
//! written.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_store::{AlertSort, SortKey};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    for sort in [AlertSort::Id, AlertSort::Score, AlertSort::Time] {
        if let Some((_, key)) = sort.parse_cursor(s) {
            match key {
                Some(SortKey::Score(v)) => assert!(v.is_finite()),
                Some(SortKey::Time(t)) => assert!(t.len() <= 40),
                None => assert!(sort == AlertSort::Id),
            }
        }
    }
    if let Some(t) = warden_event::Timestamp::parse_rfc3339(s) {
        let again = warden_event::Timestamp::parse_rfc3339(&t.to_rfc3339());
        assert_eq!(again, Some(t), "{s:?}");
    }
    let _ = s.to_ascii_uppercase().parse::<warden_event::ThreatLevel>();
    let _ = warden_event::AnomalyType::parse(s);
});
