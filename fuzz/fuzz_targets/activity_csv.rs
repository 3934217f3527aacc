//! A CSV file of user activities: every record read or an error naming its line, never a
//! panic, and the reader always ends.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use warden_ingest::FieldAliases;
use warden_ingest::csv_reader::CsvReader;

/// The default aliases, built once.
fn aliases() -> &'static FieldAliases {
    static A: OnceLock<FieldAliases> = OnceLock::new();
    A.get_or_init(FieldAliases::default)
}

fuzz_target!(|data: &[u8]| {
    let aliases = aliases();
    let input = std::io::Cursor::new(data.to_vec());
    let mut reader = CsvReader::new("fuzz.csv".into(), Box::new(input), "", 1 << 16);
    // Each call consumes input: at most one record per byte (and a few for the end).
    for _ in 0..data.len() + 4 {
        if reader.next_record(aliases).is_none() {
            return;
        }
    }
    panic!("the CSV reader did not end");
});
