//! Text logs (syslog, CEF, LEEF and the authentication messages in them): every line read
//! or an error naming it, never a panic, the reader always ends, and every authentication
//! attempt becomes activities with its line's number.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_ingest::text::{SyslogOptions, TextActivities, TextLogReader};

fuzz_target!(|data: &[u8]| {
    let lines = data.split(|b| *b == b'\n').count();
    let open = || {
        let input = std::io::Cursor::new(data.to_vec());
        TextLogReader::new("fuzz.log".into(), Box::new(input), "", 1 << 16, SyslogOptions::default())
    };
    let mut read = 0;
    for r in open() {
        read += 1;
        assert!(read <= lines, "more records than lines");
        if let Ok(r) = r {
            assert!(r.line >= 1 && r.line as usize <= lines);
        }
    }
    for r in TextActivities::new(open()).flatten() {
        assert!(r.line >= 1 && r.line as usize <= lines);
        assert!(!r.activity.user_id.is_empty());
    }
});
