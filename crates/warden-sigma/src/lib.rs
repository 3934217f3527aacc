//! `warden-sigma`: a native [Sigma](https://sigmahq.io) rule engine.
//!
//! Rules are parsed ([`parse`]) into [`rule::Document`]s, compiled once ([`RuleSetBuilder`])
//! into a [`RuleSet`] — conditions resolved, modifiers applied, identical tests shared, rules
//! indexed by channel and EventID, required literals gathered into one Aho-Corasick
//! prefilter — and evaluated against flattened JSON events ([`event::Event`]). Correlation
//! rules run over the matches ([`correlation::CorrelationEngine`]).
//!
//! ```
//! let rule = r#"
//! title: Encoded PowerShell
//! logsource: {product: windows, category: process_creation}
//! detection:
//!   sel:
//!     Image|endswith: '\powershell.exe'
//!     CommandLine|contains|windash: ' -enc '
//!   condition: sel
//! "#;
//! let event = r#"{"Image": "C:\\Windows\\powershell.exe", "CommandLine": "powershell /enc AAAA"}"#;
//! assert_eq!(warden_sigma::check(rule, event).ok(), Some(true));
//! ```

pub mod compile;
pub mod condition;
pub mod correlation;
pub mod derive;
pub mod error;
pub mod event;
pub mod logsource;
pub mod matcher;
pub mod modifiers;
#[doc(hidden)]
pub mod naive;
pub mod parse;
pub mod rule;
pub mod ruleset;

pub use error::{ErrorKind, SigmaError};
pub use logsource::Mapping;
pub use rule::Level;
pub use ruleset::{RuleInfo, RuleSet, RuleSetBuilder, Scratch, Skipped};

/// Compiles the first rule of `rule_yaml` (detection and condition; the logsource is
/// ignored) and evaluates it against one JSON event. The test idiom of this crate.
pub fn check(rule_yaml: &str, event_json: &str) -> Result<bool, SigmaError> {
    let set = single_rule_set(rule_yaml)?;
    let doc: serde_json::Value = serde_json::from_str(event_json)
        .map_err(|e| SigmaError::new(ErrorKind::Structure(format!("event is not JSON: {e}"))))?;
    let ev = set.event(&doc);
    let mut scratch = Scratch::default();
    let mut out = Vec::new();
    set.matches(&ev, &mut scratch, &mut out);
    Ok(!out.is_empty())
}

/// A set holding only the first rule of `rule_yaml`, logsource ignored.
#[doc(hidden)]
pub fn single_rule_set(rule_yaml: &str) -> Result<RuleSet, SigmaError> {
    let mut b = RuleSetBuilder::new(Mapping::default());
    let mut found = false;
    for doc in parse::parse_documents(rule_yaml, None) {
        match doc? {
            rule::Document::Rule(mut r) => {
                r.logsource = rule::LogSource::default();
                b.add_document(rule::Document::Rule(r));
                found = true;
                break;
            }
            _ => continue,
        }
    }
    if !found {
        return Err(SigmaError::new(ErrorKind::Structure(
            "no detection rule in the text".into(),
        )));
    }
    let set = b.build();
    match set.skipped().first() {
        Some(s) => Err(s.error.clone()),
        None => Ok(set),
    }
}
