//! Rule matching, family by family: each test is a table of `(rule, event, expected)` cases,
//! positive and negative, evaluated with [`warden_sigma::check`].

use crate::dedent;

use warden_sigma::check;

mod conditions;
mod modifiers;
mod sigmahq_shaped;
mod values;

/// Evaluates every case of a table and fails listing each case (index, rule, event, outcome)
/// that does not give the expected verdict; an error or a panic counts as a failure. Rule text
/// may be indented as a whole: the common indentation is removed and a `title` line is added.
fn run_table<R: AsRef<str>, E: AsRef<str>>(family: &str, cases: &[(R, E, bool)]) {
    let mut failures = Vec::new();
    for (i, (rule, event, expected)) in cases.iter().enumerate() {
        let rule_text: &str = rule.as_ref();
        let rule = format!("title: {family} case {i}\n{}", dedent(rule_text));
        let event: &str = event.as_ref();
        let got = match std::panic::catch_unwind(|| check(&rule, event)) {
            Ok(Ok(matched)) if matched == *expected => continue,
            Ok(Ok(matched)) => format!("matched = {matched}"),
            Ok(Err(e)) => format!("error: {e}"),
            Err(_) => "a panic".to_owned(),
        };
        failures.push(format!(
            "case {i}: expected matched = {expected}, got {got}\n--- rule\n{rule}--- event\n{event}\n"
        ));
    }
    assert!(
        failures.is_empty(),
        "{family}: {} of {} cases failed\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// A rule whose only selection is the single line `key: value` (`value` in YAML syntax).
fn sel(key: &str, value: &str) -> String {
    format!("detection:\n    selection:\n        {key}: {value}\n    condition: selection\n")
}

/// An event with a single `CommandLine` field (`value` must not need JSON escaping).
fn command_line(value: &str) -> String {
    format!(r#"{{"CommandLine": "{value}"}}"#)
}

/// Standard base64 with padding, written out here so that expected encodings do not come from
/// the engine's own dependencies.
fn b64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn utf16le(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn utf16be(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

#[test]
fn test_encoders_agree_with_published_values() {
    assert_eq!(b64(b""), "");
    assert_eq!(b64(b"p"), "cA==");
    assert_eq!(b64(b"ping"), "cGluZw==");
    assert_eq!(b64(b"spinstall0.aspx"), "c3BpbnN0YWxsMC5hc3B4");
    assert_eq!(utf16le("cmd"), [0x63, 0, 0x6d, 0, 0x64, 0]);
    assert_eq!(utf16be("cmd"), [0, 0x63, 0, 0x6d, 0, 0x64]);
    // The three alignments of UTF-16LE `IEX ([` listed in SigmaHQ's encoded-IEX rule.
    assert!(b64(&utf16le("IEX ([Net")).contains("SQBFAFgAIAAoAFsA"));
    assert!(b64(&utf16le(" IEX ([Net")).contains("JAEUAWAAgACgAWw"));
    assert!(b64(&utf16le("  IEX ([Net")).contains("kARQBYACAAKABbA"));
}
