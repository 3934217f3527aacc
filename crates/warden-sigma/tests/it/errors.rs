//! Rules that must be rejected: `check` returns an error, never a panic, and the error's text
//! names the problem.

use crate::dedent;

use warden_sigma::check;

const EVENT: &str =
    r#"{"Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "cmd.exe /c whoami"}"#;

/// Checks that every `(rule, words)` case is rejected with an error whose lower-cased text
/// contains at least one of the `|`-separated `words`; reports all failing cases at once. Rule
/// text may be indented as a whole: the common indentation is removed.
fn expect_errors<R: AsRef<str>>(family: &str, cases: &[(R, &str)]) {
    let mut failures = Vec::new();
    for (i, (rule, words)) in cases.iter().enumerate() {
        let rule_text: &str = rule.as_ref();
        let rule = dedent(rule_text);
        let shown: String = rule.chars().take(400).collect();
        match std::panic::catch_unwind(|| check(&rule, EVENT)) {
            Ok(Err(e)) => {
                let msg = e.to_string().to_lowercase();
                if !words.split('|').any(|word| msg.contains(word)) {
                    failures.push(format!(
                        "case {i}: the error `{e}` mentions none of `{words}`\n--- rule\n{shown}"
                    ));
                }
            }
            Ok(Ok(matched)) => failures.push(format!(
                "case {i}: expected an error, got matched = {matched}\n--- rule\n{shown}"
            )),
            Err(_) => failures.push(format!("case {i}: panicked\n--- rule\n{shown}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{family}: {} of {} cases failed\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// A rule with one selection holding `key: value` and the given condition.
fn rule(key: &str, value: &str, condition: &str) -> String {
    format!(
        "title: t\ndetection:\n    selection:\n        {key}: {value}\n    condition: {condition}\n"
    )
}

#[test]
fn malformed_documents_are_rejected() {
    expect_errors(
        "documents",
        &[
            (
                r"
                title: t
                detection:
                    selection:
                        Image: 'unterminated
                    condition: selection
                ",
                "yaml",
            ),
            (
                r"
                title: t
                detection: [selection
                ",
                "yaml",
            ),
            (
                r"
                title: t
                detection:
                    selection:
                        Image: a
                      condition: selection
                ",
                "yaml",
            ),
            ("", "detection|empty|yaml"),
            ("- just\n- a list\n", "detection|map"),
        ],
    );
}

#[test]
fn missing_or_malformed_detection_and_condition_are_rejected() {
    expect_errors(
        "detection and condition",
        &[
            (
                r"
                title: t
                logsource:
                    product: windows
                ",
                "detection",
            ),
            (
                r"
                title: t
                detection: selection
                ",
                "detection",
            ),
            (
                r"
                title: t
                detection:
                    selection:
                        Image|endswith: '\cmd.exe'
                ",
                "condition",
            ),
            (
                r"
                title: t
                detection:
                    selection:
                        Image|endswith: '\cmd.exe'
                    condition: ''
                ",
                "condition",
            ),
            (
                r"
                title: t
                detection:
                    selection:
                        Image|endswith: '\cmd.exe'
                    condition:
                        nested: map
                ",
                "condition",
            ),
        ],
    );
}

#[test]
fn invalid_conditions_are_rejected() {
    let with = |condition: &str| rule("Image|endswith", r"'\cmd.exe'", condition);
    expect_errors(
        "conditions",
        &[
            (with("selection and selectoin"), "selectoin|identifier"),
            (with("filter"), "filter|identifier"),
            (with("(selection"), "parenthes|bracket|condition|expected"),
            (with("selection)"), "parenthes|bracket|condition|expected"),
            (with("((selection)"), "parenthes|bracket|condition|expected"),
            (with("()"), "condition|expected|parenthes|bracket"),
            (with("selection and"), "condition|expected"),
            (with("and selection"), "condition|expected"),
            (with("selection or or selection"), "condition|expected"),
            (with("selection selection"), "condition|expected"),
            (with("not"), "condition|expected|identifier"),
            // Only `1 of` and `all of` exist.
            (with("any of selection*"), "condition|any"),
            (with("1 of"), "condition|expected|identifier"),
            (with("all of"), "condition|expected|identifier"),
        ],
    );
}

#[test]
fn invalid_modifiers_and_values_are_rejected() {
    let select = |key: &str, value: &str| rule(key, value, "selection");
    expect_errors(
        "modifiers and values",
        &[
            (select("Image|endwith", r"'\cmd.exe'"), "modifier"),
            (select("Image|contains|nope", "'x'"), "modifier"),
            (select("Image|", "'x'"), "modifier"),
            (
                select("CommandLine|re", "'(unclosed'"),
                "regex|regular expression",
            ),
            (
                select("CommandLine|re", "'[z-a]'"),
                "regex|regular expression",
            ),
            (
                select("CommandLine|re|i", "'a{2,1}'"),
                "regex|regular expression",
            ),
            (
                select("DestinationIp|cidr", "'10.0.0.0/33'"),
                "cidr|network",
            ),
            (
                select("DestinationIp|cidr", "'300.1.1.1/8'"),
                "cidr|network",
            ),
            (
                select("DestinationIp|cidr", "'not-a-network'"),
                "cidr|network",
            ),
            (select("DestinationIp|cidr", "'fe80::/129'"), "cidr|network"),
            (select("Count|gt", "'abc'"), "number|numeric"),
            (select("Count|lte", "ten"), "number|numeric"),
            (select("UtcTime|hour", "noon"), "number|numeric"),
            (select("Field|exists", "'maybe'"), "exists|bool"),
            // No placeholder is known to `check`, so a rule that expands one is rejected.
            (select("User|expand", "'%Administrators%'"), "placeholder"),
            (
                select("User|expand", "'%NoSuchPlaceholder%'"),
                "placeholder",
            ),
        ],
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let depth = 10_000;
    let parens = format!("{}selection{}", "(".repeat(depth), ")".repeat(depth));
    let unclosed = "(".repeat(depth);
    let value = format!("{}'x'{}", "[".repeat(depth), "]".repeat(depth));
    expect_errors(
        "deep nesting",
        &[
            (rule("Image", "'x'", &parens), "nest|deep|depth"),
            (
                rule("Image", "'x'", &unclosed),
                "nest|deep|depth|parenthes|condition",
            ),
            (
                rule("Image", &value, "selection"),
                "nest|deep|depth|recursion|yaml|value",
            ),
        ],
    );
}

#[test]
fn a_long_chain_of_not_does_not_crash() {
    let condition = format!("{}selection", "not ".repeat(10_000));
    let text = rule("CommandLine|contains", "'whoami'", &condition);
    // An even number of `not`s: either the selection's verdict or a nesting error.
    match std::panic::catch_unwind(|| check(&text, EVENT)) {
        Ok(Ok(matched)) => assert!(matched, "10,000 `not`s cancel out"),
        Ok(Err(e)) => assert!(!e.to_string().is_empty()),
        Err(_) => panic!("check panicked on a long `not` chain"),
    }
}

#[test]
fn an_event_that_is_not_json_is_an_error() {
    let text = rule("Image|endswith", r"'\cmd.exe'", "selection");
    for event in ["", "{", "not json", r#"{"Image": "a""#] {
        match std::panic::catch_unwind(|| check(&text, event)) {
            Ok(Err(e)) => {
                let msg = e.to_string().to_lowercase();
                assert!(
                    msg.contains("json") || msg.contains("event"),
                    "event {event:?}: {msg}"
                );
            }
            Ok(Ok(matched)) => panic!("event {event:?}: expected an error, got {matched}"),
            Err(_) => panic!("event {event:?}: check panicked"),
        }
    }
}
