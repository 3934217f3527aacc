//! Rule → expression tree. Searches become AND/OR trees of leaves; the condition is
//! resolved against the search names; value lists, modifiers and field mappings are applied
//! here, once, at load. Identical leaves are shared across all rules of a set.

use rustc_hash::FxHashMap;

use crate::condition::{self, Cond, Quantifier};
use crate::error::ErrorKind;
use crate::event::{FieldId, FieldNames};
use crate::matcher::{NumOp, RefMode, StrMatch, Test};
use crate::modifiers::wildcard::Pattern;
use crate::modifiers::{Modifier, encoding, placeholder, windash};
use crate::rule::{Detection, FieldSpec, RawValue, Search};

/// Most values one field spec may expand to (windash × base64offset × placeholders …).
pub const MAX_EXPANDED_VALUES: usize = 10_000;

/// A boolean expression over leaves.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    AtLeast(usize, Vec<Expr>),
    Leaf(u32),
    Const(bool),
}

/// What a leaf looks at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    Fields(Box<[FieldId]>),
    /// Keyword search: every value of the event.
    Keywords,
}

/// One test on one field (or on all values, for keywords).
#[derive(Debug, Clone)]
pub struct Leaf {
    pub target: Target,
    pub test: Test,
    /// The field as the rule wrote it (for match details).
    pub rule_field: Box<str>,
}

/// Shared state while compiling a set of rules.
#[derive(Debug, Default)]
pub struct Arena {
    pub names: FieldNames,
    pub leaves: Vec<Leaf>,
    keys: FxHashMap<String, u32>,
}

impl Arena {
    fn leaf(&mut self, key: String, leaf: Leaf) -> Expr {
        if let Some(&id) = self.keys.get(&key) {
            return Expr::Leaf(id);
        }
        let id = u32::try_from(self.leaves.len()).unwrap_or(u32::MAX);
        self.leaves.push(leaf);
        self.keys.insert(key, id);
        Expr::Leaf(id)
    }
}

/// Per-rule compile settings: how rule fields map to event fields, placeholder values.
pub struct Context<'a> {
    pub field_map: &'a dyn Fn(&str) -> Vec<String>,
    pub placeholders: &'a placeholder::Placeholders,
}

/// Compiles a detection (searches + condition) into one expression.
pub fn compile_detection(
    det: &Detection,
    arena: &mut Arena,
    ctx: &Context<'_>,
) -> Result<Expr, ErrorKind> {
    let mut cache: FxHashMap<&str, Expr> = FxHashMap::default();
    let mut out = Vec::new();
    for text in &det.conditions {
        let cond = condition::parse(text)?;
        out.push(resolve(&cond, det, arena, ctx, &mut cache)?);
    }
    Ok(simplify(if out.len() == 1 {
        out.swap_remove(0)
    } else {
        Expr::Or(out)
    }))
}

fn resolve<'d>(
    cond: &Cond,
    det: &'d Detection,
    arena: &mut Arena,
    ctx: &Context<'_>,
    cache: &mut FxHashMap<&'d str, Expr>,
) -> Result<Expr, ErrorKind> {
    let search = |name: &'d str,
                  arena: &mut Arena,
                  cache: &mut FxHashMap<&'d str, Expr>|
     -> Result<Expr, ErrorKind> {
        if let Some(e) = cache.get(name) {
            return Ok(e.clone());
        }
        let s = det.search(name).ok_or_else(|| {
            ErrorKind::Condition(format!("'{name}' is not a search identifier of this rule"))
        })?;
        let e = compile_search(s, arena, ctx)?;
        cache.insert(name, e.clone());
        Ok(e)
    };
    Ok(match cond {
        Cond::And(items) => Expr::And(
            items
                .iter()
                .map(|c| resolve(c, det, arena, ctx, cache))
                .collect::<Result<_, _>>()?,
        ),
        Cond::Or(items) => Expr::Or(
            items
                .iter()
                .map(|c| resolve(c, det, arena, ctx, cache))
                .collect::<Result<_, _>>()?,
        ),
        Cond::Not(inner) => Expr::Not(Box::new(resolve(inner, det, arena, ctx, cache)?)),
        Cond::Search(name) => {
            let name = det
                .searches
                .iter()
                .find(|(n, _)| n == name)
                .map(|(n, _)| n.as_str())
                .ok_or_else(|| {
                    ErrorKind::Condition(format!(
                        "'{name}' is not a search identifier of this rule"
                    ))
                })?;
            search(name, arena, cache)?
        }
        Cond::Of {
            quantifier,
            pattern,
        } => {
            let names: Vec<&'d str> = det
                .searches
                .iter()
                .map(|(n, _)| n.as_str())
                .filter(|n| match pattern {
                    None => !n.starts_with('_'),
                    Some(p) => condition::name_matches(p, n),
                })
                .collect();
            if names.is_empty() {
                return Err(ErrorKind::Condition(format!(
                    "no search identifier matches '{}'",
                    pattern.as_deref().unwrap_or("them")
                )));
            }
            let items = names
                .into_iter()
                .map(|n| search(n, arena, cache))
                .collect::<Result<Vec<_>, _>>()?;
            match quantifier {
                Quantifier::All => Expr::And(items),
                Quantifier::AtLeast(1) => Expr::Or(items),
                Quantifier::AtLeast(n) => Expr::AtLeast(*n, items),
            }
        }
    })
}

fn compile_search(s: &Search, arena: &mut Arena, ctx: &Context<'_>) -> Result<Expr, ErrorKind> {
    let mut alts = Vec::with_capacity(s.alternatives.len());
    for alt in &s.alternatives {
        let specs = alt
            .iter()
            .map(|spec| compile_spec(spec, arena, ctx))
            .collect::<Result<Vec<_>, _>>()?;
        alts.push(Expr::And(specs));
    }
    Ok(Expr::Or(alts))
}

/// The kind of comparison a modifier chain asks for.
enum Kind {
    Str,
    Regex { i: bool, m: bool, s: bool },
    Cidr,
    FieldRef,
    Exists,
    Num(NumOp),
    Time(crate::modifiers::time::TimePart, NumOp),
}

fn kind_of(mods: &[Modifier]) -> Result<Kind, ErrorKind> {
    use Modifier as M;
    let num = mods.iter().find_map(|m| match m {
        M::Lt => Some(NumOp::Lt),
        M::Lte => Some(NumOp::Lte),
        M::Gt => Some(NumOp::Gt),
        M::Gte => Some(NumOp::Gte),
        _ => None,
    });
    let time = mods.iter().find_map(|m| match m {
        M::Time(p) => Some(*p),
        _ => None,
    });
    let has = |x: M| mods.contains(&x);
    let kinds = [
        has(M::Re),
        has(M::Cidr),
        has(M::FieldRef),
        has(M::Exists),
        num.is_some() || time.is_some(),
    ];
    if kinds.iter().filter(|&&k| k).count() > 1 {
        return Err(ErrorKind::Modifier(
            "re, cidr, fieldref, exists and numeric/time comparisons cannot be combined".into(),
        ));
    }
    Ok(if has(M::Re) {
        Kind::Regex {
            i: has(M::ReInsensitive),
            m: has(M::ReMultiline),
            s: has(M::ReDotAll),
        }
    } else if has(M::Cidr) {
        Kind::Cidr
    } else if has(M::FieldRef) {
        Kind::FieldRef
    } else if has(M::Exists) {
        Kind::Exists
    } else if let Some(part) = time {
        Kind::Time(part, num.unwrap_or(NumOp::Eq))
    } else if let Some(op) = num {
        Kind::Num(op)
    } else {
        Kind::Str
    })
}

fn number(v: &RawValue, what: &str) -> Result<f64, ErrorKind> {
    let n = match v {
        RawValue::Int(i) => Some(*i as f64),
        RawValue::Float(s) | RawValue::Str(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    n.filter(|n| n.is_finite())
        .ok_or_else(|| ErrorKind::Modifier(format!("'{what}' needs a number, got {v:?}")))
}

fn compile_spec(spec: &FieldSpec, arena: &mut Arena, ctx: &Context<'_>) -> Result<Expr, ErrorKind> {
    let mods = &spec.modifiers;
    let kind = kind_of(mods)?;
    let target = match &spec.field {
        None => Target::Keywords,
        Some(f) => Target::Fields(map_field(f, arena, ctx)),
    };
    let rule_field: Box<str> = spec.field.as_deref().unwrap_or("keywords").into();
    let mk = |arena: &mut Arena, key: String, test: Test| {
        arena.leaf(
            format!("{target:?}|{key}"),
            Leaf {
                target: target.clone(),
                test,
                rule_field: rule_field.clone(),
            },
        )
    };
    let keywords = matches!(target, Target::Keywords);
    let mut per_value: Vec<Expr> = Vec::with_capacity(spec.values.len());
    for value in &spec.values {
        let e = match value_tests(&kind, value, mods, keywords, arena, ctx)? {
            Tests::One(key, test) => mk(arena, key, test),
            Tests::Any(tests) => Expr::Or(
                tests
                    .into_iter()
                    .map(|(key, test)| mk(arena, key, test))
                    .collect(),
            ),
        };
        per_value.push(e);
    }
    let combined = if mods.contains(&Modifier::All) {
        Expr::And(per_value)
    } else {
        Expr::Or(per_value)
    };
    Ok(if mods.contains(&Modifier::Neq) {
        Expr::Not(Box::new(combined))
    } else {
        combined
    })
}

/// What one value of a field asks, each test with the key its leaf is shared under: one
/// test, or (a string) any of the patterns it expands to.
enum Tests {
    One(String, Test),
    Any(Vec<(String, Test)>),
}

/// The tests of one value under the field's modifiers (`keywords`: the value is a
/// keyword, searched in the whole event, not a field's).
fn value_tests(
    kind: &Kind,
    value: &RawValue,
    mods: &[Modifier],
    keywords: bool,
    arena: &mut Arena,
    ctx: &Context<'_>,
) -> Result<Tests, ErrorKind> {
    let cased = mods.contains(&Modifier::Cased);
    let one = |key: String, test: Test| Ok(Tests::One(key, test));
    match (kind, value) {
        (Kind::Exists, v) => {
            let b = match v {
                RawValue::Bool(b) => *b,
                RawValue::Str(s) if s.eq_ignore_ascii_case("true") => true,
                RawValue::Str(s) if s.eq_ignore_ascii_case("false") => false,
                _ => return Err(ErrorKind::Modifier("'exists' needs true or false".into())),
            };
            if keywords {
                return Err(ErrorKind::Modifier("'exists' needs a field".into()));
            }
            one(format!("exists:{b}"), Test::Exists(b))
        }
        (_, RawValue::Null) => one("null".into(), Test::Null),
        (Kind::Num(op), v) => {
            let n = number(v, "gt/gte/lt/lte")?;
            one(format!("num:{op:?}:{n}"), Test::Num { op: *op, value: n })
        }
        (Kind::Time(part, op), v) => {
            let n = number(v, part.name())?;
            let test = Test::Time {
                part: *part,
                op: *op,
                value: n,
            };
            one(format!("time:{part:?}:{op:?}:{n}"), test)
        }
        (Kind::Cidr, v) => {
            let text = v.as_text().unwrap_or_default();
            let t = text.trim();
            let net = t
                .parse::<ipnet::IpNet>()
                .or_else(|_| t.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| ErrorKind::Modifier(format!("'{t}' is not a CIDR network")))?;
            one(format!("cidr:{net}"), Test::Cidr(net))
        }
        (Kind::Regex { i, m, s }, v) => {
            let text = v.as_text().unwrap_or_default();
            let re = regex_test(&text, *i, *m, *s)?;
            one(format!("re:{i}{m}{s}:{text}"), re)
        }
        (Kind::FieldRef, v) => {
            if keywords {
                return Err(ErrorKind::Modifier("'fieldref' needs a field".into()));
            }
            let (key, test) = field_ref_test(v, mods, arena, ctx);
            one(key, test)
        }
        (Kind::Str, v) => {
            let patterns = string_patterns(v, mods, ctx, keywords)?;
            let mut alts = Vec::with_capacity(patterns.len());
            for p in patterns {
                let p = if cased { p } else { p.lowercase() };
                let test = if p.0.is_empty() {
                    Test::Empty
                } else {
                    let m = StrMatch::from_pattern(&p)
                        .map_err(|e| ErrorKind::Regex(first_line(&e.to_string())))?;
                    Test::Str { m, cased }
                };
                alts.push((format!("str:{cased}:{:?}", p.0), test));
            }
            Ok(Tests::Any(alts))
        }
    }
}

/// A `re` value compiled with its flags (`i`, `m`, `s`), its size bounded: a rule's pattern
/// must not take the engine's memory.
fn regex_test(text: &str, i: bool, m: bool, s: bool) -> Result<Test, ErrorKind> {
    let re = regex::RegexBuilder::new(text)
        .case_insensitive(i)
        .multi_line(m)
        .dot_matches_new_line(s)
        .size_limit(1 << 22)
        .dfa_size_limit(1 << 22)
        .build()
        .map_err(|e| ErrorKind::Regex(first_line(&e.to_string())))?;
    Ok(Test::Regex(Box::new(re)))
}

/// `fieldref`: the value names another field, compared whole or (with `contains`,
/// `startswith`, `endswith`) in part.
fn field_ref_test(
    v: &RawValue,
    mods: &[Modifier],
    arena: &mut Arena,
    ctx: &Context<'_>,
) -> (String, Test) {
    let cased = mods.contains(&Modifier::Cased);
    let other = v.as_text().unwrap_or_default();
    let mode = if mods.contains(&Modifier::Contains) {
        RefMode::Contains
    } else if mods.contains(&Modifier::StartsWith) {
        RefMode::Prefix
    } else if mods.contains(&Modifier::EndsWith) {
        RefMode::Suffix
    } else {
        RefMode::Equal
    };
    let ids = map_field(other.trim(), arena, ctx);
    let key = format!("ref:{mode:?}:{cased}:{ids:?}");
    let test = Test::FieldRef {
        other: ids,
        mode,
        cased,
    };
    (key, test)
}

fn first_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn map_field(field: &str, arena: &mut Arena, ctx: &Context<'_>) -> Box<[FieldId]> {
    let mut names = (ctx.field_map)(field);
    if names.is_empty() {
        names.push(field.to_owned());
    }
    names.dedup();
    names.iter().map(|n| arena.names.intern(n)).collect()
}

/// A value between modifiers: a pattern, or bytes an encoding produced.
enum Val {
    Pat(Pattern),
    Bytes(Vec<u8>),
}

/// Applies the string modifiers of `mods`, in order, to one rule value.
fn string_patterns(
    v: &RawValue,
    mods: &[Modifier],
    ctx: &Context<'_>,
    keyword: bool,
) -> Result<Vec<Pattern>, ErrorKind> {
    use Modifier as M;
    let text = v.as_text().unwrap_or_default();
    let texts = if mods.contains(&M::Expand) {
        placeholder::expand(&text, ctx.placeholders)?
    } else {
        vec![text]
    };
    let mut vals: Vec<Val> = match v {
        RawValue::Str(_) => texts.iter().map(|t| Val::Pat(Pattern::parse(t))).collect(),
        _ => texts
            .iter()
            .map(|t| Val::Pat(Pattern::literal(t)))
            .collect(),
    };
    let mut last = M::Contains;
    for &m in mods {
        let mut next = Vec::with_capacity(vals.len());
        for val in vals {
            match m {
                M::Contains | M::StartsWith | M::EndsWith => {
                    let p = to_pattern(val, last)?;
                    next.push(Val::Pat(p.wrap(m != M::StartsWith, m != M::EndsWith)));
                }
                M::Windash => {
                    let p = to_pattern(val, last)?;
                    next.extend(windash_pattern(&p)?.into_iter().map(Val::Pat));
                }
                M::Base64 | M::Base64Offset | M::Utf16Le | M::Utf16Be | M::Utf16 => {
                    encode(m, val, &mut next)?;
                }
                _ => next.push(val),
            }
        }
        if next.len() > MAX_EXPANDED_VALUES {
            return Err(ErrorKind::Limit(format!(
                "a value expands to more than {MAX_EXPANDED_VALUES} alternatives"
            )));
        }
        vals = next;
        last = m;
    }
    let anchored = mods
        .iter()
        .any(|m| matches!(m, M::Contains | M::StartsWith | M::EndsWith));
    vals.into_iter()
        .map(|v| {
            let p = to_pattern(v, last)?;
            // Keywords are found anywhere in a value unless the rule anchors them.
            Ok(if keyword && !anchored {
                p.wrap(true, true)
            } else {
                p
            })
        })
        .collect()
}

/// A value as a pattern; bytes an encoding produced (by `m`) must be text.
fn to_pattern(val: Val, m: Modifier) -> Result<Pattern, ErrorKind> {
    match val {
        Val::Pat(p) => Ok(p),
        Val::Bytes(b) => String::from_utf8(b)
            .map(|s| Pattern::literal(&s))
            .map_err(|_| {
                ErrorKind::Modifier(format!(
                    "'{}' gives bytes that are not text; follow it with base64 or base64offset",
                    m.name()
                ))
            }),
    }
}

/// An encoding modifier (`base64`, `base64offset`, `utf16le`, `utf16be`, `utf16`) applied
/// to one value; its results are added to `next`.
fn encode(m: Modifier, val: Val, next: &mut Vec<Val>) -> Result<(), ErrorKind> {
    use Modifier as M;
    let input: Vec<u8> = match val {
        Val::Bytes(b) => b,
        Val::Pat(p) => p
            .as_literal()
            .ok_or_else(|| {
                ErrorKind::Modifier(format!(
                    "'{}' cannot encode a value with wildcards",
                    m.name()
                ))
            })?
            .into_bytes(),
    };
    let utf16_input = || {
        String::from_utf8(input.clone())
            .map_err(|_| ErrorKind::Modifier(format!("'{}' needs text, not bytes", m.name())))
    };
    match m {
        M::Utf16Le => next.push(Val::Bytes(encoding::utf16le(&utf16_input()?))),
        M::Utf16Be => next.push(Val::Bytes(encoding::utf16be(&utf16_input()?))),
        M::Utf16 => next.push(Val::Bytes(encoding::utf16_bom(&utf16_input()?))),
        M::Base64 => next.push(Val::Bytes(encoding::base64(&input))),
        _ => next.extend(encoding::base64_offsets(&input).into_iter().map(Val::Bytes)),
    }
    Ok(())
}

fn windash_pattern(p: &Pattern) -> Result<Vec<Pattern>, ErrorKind> {
    use crate::modifiers::wildcard::Part;
    let mut out = vec![Pattern::default()];
    for part in &p.0 {
        match part {
            Part::Lit(s) => {
                let vs = windash::variants(s).ok_or_else(|| {
                    ErrorKind::Limit("windash: too many flag dashes in one value".into())
                })?;
                if out.len() * vs.len() > windash::MAX_VARIANTS {
                    return Err(ErrorKind::Limit(
                        "windash: too many flag dashes in one value".into(),
                    ));
                }
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
    Ok(out)
}

/// Flattens nested AND/OR, folds constants and single-child nodes.
/// Replaces the leaves `unknown` says cannot be decided by the constant that never makes
/// the whole expression true: false under an even number of `not`s (`positive`), true
/// under an odd number. The result is true only when the expression is true whatever the
/// unknown leaves would have been (Kleene's logic, per leaf).
pub fn assume_unknown(e: Expr, unknown: &dyn Fn(u32) -> bool) -> Expr {
    substitute(
        e,
        &|leaf, positive| unknown(leaf).then_some(!positive),
        true,
    )
}

/// Replaces each leaf `absent` gives a value for by that value: what the test says of an
/// event without the field (false for most tests, true for `null`), so that what cannot
/// match folds away.
pub fn assume_absent(e: Expr, absent: &dyn Fn(u32) -> Option<bool>) -> Expr {
    substitute(e, &|leaf, _| absent(leaf), true)
}

/// Replaces leaves by constants: `value(leaf, positive)` (`positive`: under an even
/// number of `not`s), where it gives one.
fn substitute(e: Expr, value: &dyn Fn(u32, bool) -> Option<bool>, positive: bool) -> Expr {
    let each = |items: Vec<Expr>| -> Vec<Expr> {
        items
            .into_iter()
            .map(|x| substitute(x, value, positive))
            .collect()
    };
    match e {
        Expr::Leaf(i) => value(i, positive).map_or(Expr::Leaf(i), Expr::Const),
        Expr::And(items) => Expr::And(each(items)),
        Expr::Or(items) => Expr::Or(each(items)),
        Expr::AtLeast(n, items) => Expr::AtLeast(n, each(items)),
        Expr::Not(inner) => Expr::Not(Box::new(substitute(*inner, value, !positive))),
        other => other,
    }
}

pub fn simplify(e: Expr) -> Expr {
    match e {
        Expr::And(items) => {
            let mut out = Vec::with_capacity(items.len());
            for i in items {
                match simplify(i) {
                    Expr::Const(true) => {}
                    Expr::Const(false) => return Expr::Const(false),
                    Expr::And(inner) => out.extend(inner),
                    other => out.push(other),
                }
            }
            match out.len() {
                0 => Expr::Const(true),
                1 => out.swap_remove(0),
                _ => Expr::And(out),
            }
        }
        Expr::Or(items) => {
            let mut out = Vec::with_capacity(items.len());
            for i in items {
                match simplify(i) {
                    Expr::Const(false) => {}
                    Expr::Const(true) => return Expr::Const(true),
                    Expr::Or(inner) => out.extend(inner),
                    other => out.push(other),
                }
            }
            out.dedup();
            match out.len() {
                0 => Expr::Const(false),
                1 => out.swap_remove(0),
                _ => Expr::Or(out),
            }
        }
        Expr::Not(inner) => match simplify(*inner) {
            Expr::Const(b) => Expr::Const(!b),
            Expr::Not(x) => *x,
            other => Expr::Not(Box::new(other)),
        },
        Expr::AtLeast(n, items) => {
            let mut need = n;
            let mut rest = Vec::with_capacity(items.len());
            for i in items.into_iter().map(simplify) {
                match i {
                    Expr::Const(true) => need = need.saturating_sub(1),
                    Expr::Const(false) => {}
                    other => rest.push(other),
                }
            }
            if need == 0 {
                Expr::Const(true)
            } else if need > rest.len() {
                Expr::Const(false)
            } else if need == 1 {
                simplify(Expr::Or(rest))
            } else if need == rest.len() {
                simplify(Expr::And(rest))
            } else {
                Expr::AtLeast(need, rest)
            }
        }
        leaf => leaf,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simplify_flattens_and_folds() {
        let e = Expr::And(vec![
            Expr::Const(true),
            Expr::And(vec![Expr::Leaf(1), Expr::Leaf(2)]),
            Expr::Or(vec![Expr::Leaf(3)]),
            Expr::Not(Box::new(Expr::Not(Box::new(Expr::Leaf(4))))),
        ]);
        assert_eq!(
            simplify(e),
            Expr::And(vec![
                Expr::Leaf(1),
                Expr::Leaf(2),
                Expr::Leaf(3),
                Expr::Leaf(4)
            ])
        );
        assert_eq!(
            simplify(Expr::Or(vec![Expr::Const(false), Expr::Const(false)])),
            Expr::Const(false)
        );
    }
}
