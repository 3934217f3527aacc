//! Zeek logs of any type (TSV with headers, JSON): every record read or an error naming
//! its line, never a panic, and the reader always ends.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let lines = data.split(|b| *b == b'\n').count() as u64;
    let input = std::io::Cursor::new(data.to_vec());
    let mut seen = 0u64;
    let records = warden_ingest::zeek::read("fuzz_dns.log", Box::new(input), "plain", &mut |r| {
        seen += 1;
        if let Ok((doc, _, line)) = r {
            assert!(line >= 1 && line <= lines);
            assert!(doc.get("_path").is_some());
        }
    });
    assert!(records <= seen && seen <= lines);
});
