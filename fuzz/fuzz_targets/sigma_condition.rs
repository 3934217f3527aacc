//! A Sigma condition expression: parsed or refused, never a panic or a stack overflow
//! (nesting and length are bounded).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = warden_sigma::condition::parse(s);
    }
});
