//! The optimised engine (compiled expressions, shared leaves, index, literal prefilter,
//! leaf cache) against the naive reference evaluator, on generated rules and events.

use proptest::prelude::*;
use serde_json::{Map, Value};
use warden_sigma::rule::Document;
use warden_sigma::{Scratch, naive, parse, single_rule_set};

const FIELDS: [&str; 3] = ["Alpha", "Beta", "Gamma"];

fn text() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[abAB/ -]{0,5}").unwrap_or_else(|e| panic!("{e}"))
}

fn pattern() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[abAB -]{0,3}[*?]?[ab]{0,2}").unwrap_or_else(|e| panic!("{e}"))
}

fn field_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => text().prop_map(Value::String),
        1 => Just(Value::Null),
        1 => (0i64..20).prop_map(Value::from),
        1 => proptest::collection::vec(text().prop_map(Value::String), 0..3).prop_map(Value::Array),
    ]
}

fn event() -> impl Strategy<Value = Value> {
    proptest::collection::vec(proptest::option::of(field_value()), 3).prop_map(|vals| {
        let mut m = Map::new();
        for (f, v) in FIELDS.iter().zip(vals) {
            if let Some(v) = v {
                m.insert((*f).to_owned(), v);
            }
        }
        Value::Object(m)
    })
}

/// One `field|mods: values` line of a selection.
fn item() -> impl Strategy<Value = String> {
    let mods = prop_oneof![
        Just(""),
        Just("|contains"),
        Just("|startswith"),
        Just("|endswith"),
        Just("|contains|all"),
        Just("|cased"),
        Just("|contains|cased"),
        Just("|windash|contains"),
        Just("|base64offset|contains"),
        Just("|neq"),
        Just("|re"),
        Just("|gt"),
    ];
    (
        0..FIELDS.len(),
        mods,
        proptest::collection::vec(pattern(), 1..4),
        any::<bool>(),
    )
        .prop_map(|(f, m, vals, null)| {
            let field = FIELDS[f];
            if null && m.is_empty() {
                return format!("{field}: null");
            }
            let vals: Vec<String> = match m {
                "|re" => vals
                    .iter()
                    .map(|v| format!("'{}'", v.replace('?', ".").replace('*', ".*")))
                    .collect(),
                "|gt" => vals.iter().map(|v| v.len().to_string()).collect(),
                "|base64offset|contains" => vals
                    .iter()
                    .map(|v| format!("'{}'", v.replace(['*', '?'], "")))
                    .collect(),
                _ => vals.iter().map(|v| format!("'{v}'")).collect(),
            };
            format!("{field}{m}: [{}]", vals.join(", "))
        })
}

fn selection() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::collection::vec(item(), 1..3).prop_map(|items| {
            items.iter().map(|i| format!("        {i}\n")).collect::<String>()
        }),
        1 => proptest::collection::vec(pattern(), 1..3).prop_map(|kw| {
            kw.iter().map(|k| format!("        - '{k}'\n")).collect::<String>()
        }),
    ]
}

fn condition() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("sel1".to_owned()),
        Just("sel2".to_owned()),
        Just("filter".to_owned()),
        Just("1 of sel*".to_owned()),
        Just("all of sel*".to_owned()),
        Just("1 of them".to_owned()),
    ];
    leaf.prop_recursive(3, 8, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} and {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
            inner.prop_map(|a| format!("not {a}")),
        ]
    })
}

fn rule() -> impl Strategy<Value = String> {
    (selection(), selection(), selection(), condition()).prop_map(|(s1, s2, f, c)| {
        format!(
            "title: generated\nlogsource:\n    product: windows\ndetection:\n    sel1:\n{s1}    sel2:\n{s2}    filter:\n{f}    condition: {c}\n"
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn optimised_engine_agrees_with_the_reference(rule in rule(), events in proptest::collection::vec(event(), 1..6)) {
        let Ok(set) = single_rule_set(&rule) else {
            // Both sides must refuse the same rules: the reference cannot evaluate it either.
            return Ok(());
        };
        let parsed = parse::parse_documents(&rule, None);
        let Some(Ok(Document::Rule(r))) = parsed.into_iter().next() else {
            return Err(TestCaseError::fail("compiled but does not parse"));
        };
        let mut scratch = Scratch::default();
        let mut out = Vec::new();
        for ev in &events {
            let Some(expected) = naive::matches(&r, ev) else { continue };
            let flat = set.event(ev);
            set.matches(&flat, &mut scratch, &mut out);
            prop_assert_eq!(!out.is_empty(), expected, "rule:\n{}\nevent: {}", rule, ev);
        }
    }
}
