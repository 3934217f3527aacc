//! Payload analysis of any text under every shell: decoding, tokenizing, signatures and the
//! verdict never panic, the layers stay within their limits, the score is a score and the
//! verdict as JSON stays within what it may show.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use warden_payload::{Analyzer, Shell, VerdictConfig};

static ANALYZER: LazyLock<Analyzer> = LazyLock::new(|| Analyzer::new(None, VerdictConfig::default()));

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let shell = [None, Some(Shell::Sh), Some(Shell::Bash), Some(Shell::Cmd), Some(Shell::Powershell)]
        [usize::from(first) % 5];
    let v = ANALYZER.analyze(&text, shell);
    assert!(v.layers.len() <= warden_payload::deobf::MAX_LAYERS + 1);
    assert!((0.0..=100.0).contains(&v.score), "{}", v.score);
    // What a verdict shows is bounded whatever the text decodes to (`shown.rs`).
    let shown = serde_json::to_vec(&v).map_or(0, |j| j.len());
    assert!(shown < 3 << 20, "{shown} bytes of verdict");
});
