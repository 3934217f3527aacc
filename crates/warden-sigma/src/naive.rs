//! A deliberately simple reference evaluator, straight from the parsed rule: no
//! compilation, no shared leaves, no index, no prefilter, every string test as an anchored
//! regular expression, fields found by walking the JSON. The differential tests check the
//! optimised engine against it; it is not meant to be fast.

use std::net::IpAddr;

use serde_json::Value as Json;

use crate::condition::{self, Cond, Quantifier};
use crate::modifiers::wildcard::Pattern;
use crate::modifiers::{Modifier, encoding, windash};
use crate::rule::{FieldSpec, RawValue, Rule};

/// Evaluates `rule`'s detection against `event` (logsource ignored); `None` when the rule
/// uses something the reference does not model.
pub fn matches(rule: &Rule, event: &Json) -> Option<bool> {
    let mut any = false;
    for c in &rule.detection.conditions {
        any |= eval_cond(&condition::parse(c).ok()?, rule, event)?;
    }
    Some(any)
}

fn eval_cond(c: &Cond, rule: &Rule, ev: &Json) -> Option<bool> {
    Some(match c {
        Cond::And(items) => {
            let mut r = true;
            for i in items {
                r &= eval_cond(i, rule, ev)?;
            }
            r
        }
        Cond::Or(items) => {
            let mut r = false;
            for i in items {
                r |= eval_cond(i, rule, ev)?;
            }
            r
        }
        Cond::Not(i) => !eval_cond(i, rule, ev)?,
        Cond::Search(name) => eval_search(name, rule, ev)?,
        Cond::Of {
            quantifier,
            pattern,
        } => {
            let names: Vec<&String> = rule
                .detection
                .searches
                .iter()
                .map(|(n, _)| n)
                .filter(|n| match pattern {
                    None => !n.starts_with('_'),
                    Some(p) => condition::name_matches(p, n),
                })
                .collect();
            if names.is_empty() {
                return None;
            }
            let mut hits = 0;
            for n in &names {
                hits += usize::from(eval_search(n, rule, ev)?);
            }
            match quantifier {
                Quantifier::All => hits == names.len(),
                Quantifier::AtLeast(k) => hits >= *k,
            }
        }
    })
}

fn eval_search(name: &str, rule: &Rule, ev: &Json) -> Option<bool> {
    let s = rule.detection.search(name)?;
    let mut any = false;
    for alt in &s.alternatives {
        let mut all = true;
        for spec in alt {
            all &= eval_spec(spec, ev)?;
        }
        any |= all;
    }
    Some(any)
}

/// Every scalar under `key` anywhere in the document (or every scalar for `None`).
fn lookup(ev: &Json, key: Option<&str>, out: &mut Vec<Json>) {
    match ev {
        Json::Object(m) => {
            for (k, v) in m {
                match (key, v) {
                    (Some(want), v) if k == want && !v.is_object() => match v {
                        Json::Array(a) => out.extend(
                            a.iter()
                                .filter(|x| !x.is_object() && !x.is_array())
                                .cloned(),
                        ),
                        v => out.push(v.clone()),
                    },
                    (_, v) => lookup(v, key, out),
                }
            }
        }
        Json::Array(a) => a.iter().for_each(|v| lookup(v, key, out)),
        v if key.is_none() => out.push(v.clone()),
        _ => {}
    }
}

fn text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn eval_spec(spec: &FieldSpec, ev: &Json) -> Option<bool> {
    let mods = &spec.modifiers;
    let has = |m: Modifier| mods.contains(&m);
    let mut values = Vec::new();
    lookup(ev, spec.field.as_deref(), &mut values);
    let present = spec.field.as_deref().is_some_and(|f| key_present(ev, f));
    if has(Modifier::Exists) {
        let want = matches!(spec.values.first(), Some(RawValue::Bool(true)));
        return Some(present == want);
    }
    let mut results = Vec::new();
    for v in &spec.values {
        let r = match v {
            RawValue::Null => values.iter().all(Json::is_null),
            v if has(Modifier::Gt)
                || has(Modifier::Gte)
                || has(Modifier::Lt)
                || has(Modifier::Lte) =>
            {
                compare_numbers(mods, v, &values)?
            }
            v if has(Modifier::Cidr) => {
                let net: ipnet::IpNet = v.as_text()?.parse().ok()?;
                values
                    .iter()
                    .filter_map(text)
                    .filter_map(|t| t.parse::<IpAddr>().ok())
                    .any(|ip| net.contains(&ip))
            }
            v if has(Modifier::Re) => {
                let re = regex::RegexBuilder::new(&v.as_text()?)
                    .case_insensitive(has(Modifier::ReInsensitive))
                    .multi_line(has(Modifier::ReMultiline))
                    .dot_matches_new_line(has(Modifier::ReDotAll))
                    .build()
                    .ok()?;
                values.iter().filter_map(text).any(|t| re.is_match(&t))
            }
            v => string_matches(spec, v, &values)?,
        };
        results.push(r);
    }
    let combined = if has(Modifier::All) {
        results.iter().all(|&r| r)
    } else {
        results.iter().any(|&r| r)
    };
    Some(if has(Modifier::Neq) {
        !combined
    } else {
        combined
    })
}

/// `gt`, `gte`, `lt`, `lte`: any numeric value (or numeric text) on the right side of `v`.
fn compare_numbers(mods: &[Modifier], v: &RawValue, values: &[Json]) -> Option<bool> {
    let has = |m: Modifier| mods.contains(&m);
    let want: f64 = v.as_text()?.parse().ok()?;
    Some(
        values
            .iter()
            .filter_map(|x| match x {
                Json::Number(n) => n.as_f64(),
                Json::String(s) => s.trim().parse().ok(),
                _ => None,
            })
            .any(|n| {
                if has(Modifier::Gt) {
                    n > want
                } else if has(Modifier::Gte) {
                    n >= want
                } else if has(Modifier::Lt) {
                    n < want
                } else {
                    n <= want
                }
            }),
    )
}

/// A string value with its modifiers, each pattern tried as an anchored regular expression.
fn string_matches(spec: &FieldSpec, v: &RawValue, values: &[Json]) -> Option<bool> {
    let mods = &spec.modifiers;
    if mods
        .iter()
        .any(|m| matches!(m, Modifier::FieldRef | Modifier::Expand | Modifier::Time(_)))
    {
        return None;
    }
    let raw = v.as_text()?;
    let mut pats = vec![match v {
        RawValue::Str(_) => Pattern::parse(&raw),
        _ => Pattern::literal(&raw),
    }];
    for m in mods {
        pats = pats.into_iter().flat_map(|p| transformed(m, p)).collect();
    }
    // Keywords are found anywhere in a value unless the rule anchors them.
    if spec.field.is_none()
        && !mods.iter().any(|m| {
            matches!(
                m,
                Modifier::Contains | Modifier::StartsWith | Modifier::EndsWith
            )
        })
    {
        pats = pats.into_iter().map(|p| p.wrap(true, true)).collect();
    }
    let cased = mods.contains(&Modifier::Cased);
    let mut hit = false;
    for p in pats {
        if p.0.is_empty() {
            hit |= values
                .iter()
                .any(|x| x.is_null() || text(x).is_some_and(|t| t.is_empty()));
            continue;
        }
        let re = regex::RegexBuilder::new(&p.to_regex())
            .case_insensitive(!cased)
            .build()
            .ok()?;
        hit |= values.iter().filter_map(text).any(|t| {
            if cased {
                re.is_match(&t)
            } else {
                re.is_match(&t.to_lowercase())
            }
        });
    }
    Some(hit)
}

/// The patterns one modifier makes of `p`.
fn transformed(m: &Modifier, p: Pattern) -> Vec<Pattern> {
    match m {
        Modifier::Contains => vec![p.wrap(true, true)],
        Modifier::StartsWith => vec![p.wrap(false, true)],
        Modifier::EndsWith => vec![p.wrap(true, false)],
        Modifier::Windash => match p.as_literal() {
            Some(l) => windash::variants(&l)
                .unwrap_or_default()
                .iter()
                .map(|s| Pattern::literal(s))
                .collect(),
            None => windash_parts(&p),
        },
        Modifier::Base64 => p
            .as_literal()
            .map(|l| {
                vec![Pattern::literal(&String::from_utf8_lossy(
                    &encoding::base64(l.as_bytes()),
                ))]
            })
            .unwrap_or_default(),
        Modifier::Base64Offset => p
            .as_literal()
            .map(|l| {
                encoding::base64_offsets(l.as_bytes())
                    .iter()
                    .map(|b| Pattern::literal(&String::from_utf8_lossy(b)))
                    .collect()
            })
            .unwrap_or_default(),
        _ => vec![p],
    }
}

fn key_present(ev: &Json, key: &str) -> bool {
    match ev {
        Json::Object(m) => m
            .iter()
            .any(|(k, v)| (k == key && !v.is_object()) || key_present(v, key)),
        Json::Array(a) => a.iter().any(|v| key_present(v, key)),
        _ => false,
    }
}

/// Windash on a pattern with wildcards: every literal part takes each of its dash
/// variants (the product of them), wildcards stay as they are.
fn windash_parts(p: &Pattern) -> Vec<Pattern> {
    use crate::modifiers::wildcard::Part;
    let mut out = vec![Pattern::default()];
    for part in &p.0 {
        match part {
            Part::Lit(s) => {
                let vs = windash::variants(s).unwrap_or_default();
                out = out
                    .iter()
                    .flat_map(|o| {
                        vs.iter().map(move |v| {
                            let mut o = o.clone();
                            o.push(Part::Lit(v.clone()));
                            o
                        })
                    })
                    .collect();
            }
            other => out.iter_mut().for_each(|o| o.push(other.clone())),
        }
    }
    out
}
