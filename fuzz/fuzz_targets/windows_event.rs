//! A Windows event as JSON in any shape (EVTX as JSON, Winlogbeat, flat): its header read
//! and the document flattened for the rules, never a panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use warden_event::winlog::WinDoc;
use warden_sigma::{Mapping, RuleSet, RuleSetBuilder, Scratch};

const RULES: &str = r#"
title: Encoded PowerShell
id: 00000000-0000-0000-0000-000000000001
logsource: {product: windows, category: process_creation}
detection:
  sel: {CommandLine|contains|all: [' -enc', 'powershell'], Image|endswith: '.exe'}
  filter: {User|re: '^NT AUTHORITY'}
  condition: sel and not filter
level: high
---
title: Logon
id: 00000000-0000-0000-0000-000000000002
logsource: {product: windows, service: security}
detection:
  sel: {EventID: 4624, LogonType: [3, 10], IpAddress|cidr: '10.0.0.0/8'}
  condition: sel
level: medium
"#;

fn rules() -> &'static RuleSet {
    static SET: OnceLock<RuleSet> = OnceLock::new();
    SET.get_or_init(|| {
        let mut b = RuleSetBuilder::new(Mapping::builtin());
        b.add_text(RULES, None);
        b.build()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let w = WinDoc::new(&doc);
    let _ = (w.event_id(), w.computer(), w.channel(), w.provider(), w.record_id(), w.time());
    let _ = w.data("CommandLine");
    let set = rules();
    let ev = set.event(&doc);
    let mut scratch = Scratch::default();
    let mut out = Vec::new();
    set.matches(&ev, &mut scratch, &mut out);
});
