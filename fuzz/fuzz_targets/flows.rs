//! Network flows in every reader's format (NSL-KDD, UNSW-NB15, Zeek conn TSV or JSON): a
//! record or an error per line, never a panic, and the reader always ends.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_event::flow::FlowFormat;
use warden_ingest::flows::FlowReader;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let format = match pick % 3 {
        0 => FlowFormat::NslKdd,
        1 => FlowFormat::UnswNb15,
        _ => FlowFormat::ZeekConn,
    };
    let reader = FlowReader::new(format, std::io::Cursor::new(rest));
    let mut n = 0;
    for _ in reader {
        n += 1;
        assert!(n <= rest.len() + 2, "more records than lines");
    }
});
