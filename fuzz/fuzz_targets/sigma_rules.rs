//! Sigma YAML (rules, correlations, several documents): loaded or skipped with a reason,
//! never a panic; what loads can match an event.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use warden_sigma::{Mapping, RuleSetBuilder, Scratch};

/// The built-in mapping, parsed once (each input gets a copy).
fn mapping() -> &'static Mapping {
    static M: OnceLock<Mapping> = OnceLock::new();
    M.get_or_init(Mapping::builtin)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut b = RuleSetBuilder::new(mapping().clone());
    b.add_text(text, None);
    let set = b.build();
    let doc = serde_json::json!({"Event": {"System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "Computer": "WS1"},
        "EventData": {"CommandLine": "powershell -enc AAAA", "Image": "C:\\Windows\\System32\\cmd.exe", "User": "CORP\\ana"}}});
    let ev = set.event(&doc);
    let mut scratch = Scratch::default();
    let mut out = Vec::new();
    set.matches(&ev, &mut scratch, &mut out);
});
