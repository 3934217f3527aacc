//! YAML → [`Document`]s. Shape checks only; every error names the line where the problem
//! is (found by looking for the offending key in the text) and the rule id.

use std::path::Path;

use yaml_rust2::{Yaml, YamlLoader};

use crate::error::{ErrorKind, Result, SigmaError};
use crate::modifiers::Modifier;
use crate::rule::{
    CmpOp, Correlation, CorrelationType, Detection, Document, FieldSpec, Filter, Level, LogSource,
    Meta, RawValue, Rule, Search,
};

/// Largest rule file accepted.
pub const MAX_RULE_BYTES: usize = 1 << 20;
/// Deepest `[`/`{` nesting accepted before parsing (a YAML bomb guard).
pub const MAX_FLOW_DEPTH: usize = 64;
/// Deepest block nesting (indentation levels and compact `- ` entries) accepted before
/// parsing: a document nested deeper overflows the stack to build or to drop, and no rule
/// comes near it.
pub const MAX_BLOCK_DEPTH: usize = 128;
/// Most searches in one detection and values under one field.
pub const MAX_SEARCHES: usize = 1024;
pub const MAX_VALUES: usize = 20_000;

/// Parses every YAML document of one rule file. A file that is not YAML gives one error;
/// otherwise each document succeeds or fails on its own.
pub fn parse_documents(text: &str, file: Option<&Path>) -> Vec<Result<Document>> {
    let fail = |kind: ErrorKind, line: Option<usize>| {
        let e = SigmaError::new(kind).with_line(line);
        vec![Err(match file {
            Some(f) => e.with_file(f),
            None => e,
        })]
    };
    if text.len() > MAX_RULE_BYTES {
        return fail(
            ErrorKind::Limit(format!("rule file larger than {MAX_RULE_BYTES} bytes")),
            None,
        );
    }
    if let Some((why, line)) = nested_too_deep(text) {
        return fail(ErrorKind::Limit(why), Some(line));
    }
    let docs = match YamlLoader::load_from_str(text) {
        Ok(d) => d,
        Err(e) => {
            return fail(
                ErrorKind::Yaml(e.info().to_owned()),
                Some(e.marker().line()),
            );
        }
    };
    let starts = document_starts(text);
    docs.iter()
        .enumerate()
        .filter(|(_, d)| !matches!(d, Yaml::Null))
        .map(|(i, doc)| {
            let start = starts.get(i).copied().unwrap_or(1);
            let source = Source { text, start };
            parse_document(doc, &source).map_err(|e| {
                let id = doc["id"].as_str();
                let e = e.with_rule(id).with_line(Some(start));
                match file {
                    Some(f) => e.with_file(f),
                    None => e,
                }
            })
        })
        .collect()
}

/// Where a document's text is, to find lines of keys for messages.
struct Source<'a> {
    text: &'a str,
    start: usize,
}

impl Source<'_> {
    /// The 1-based line of the first occurrence of `needle` at or after the document start.
    fn line_of(&self, needle: &str) -> Option<usize> {
        let mut line = 1;
        for (i, l) in self.text.lines().enumerate() {
            line = i + 1;
            if line >= self.start && l.contains(needle) {
                return Some(line);
            }
        }
        let _ = line;
        None
    }

    fn err(&self, kind: ErrorKind, near: &str) -> SigmaError {
        SigmaError::new(kind).with_line(self.line_of(near))
    }
}

/// Why and where a YAML text nests deeper than [`MAX_FLOW_DEPTH`] or
/// [`MAX_BLOCK_DEPTH`]: checked before it is loaded, since a document nested deep enough
/// overflows the stack to build or to drop. For every YAML file Warden reads (rules,
/// mappings, test metadata).
pub fn nested_too_deep(text: &str) -> Option<(String, usize)> {
    if let Some(line) = too_deep(text) {
        return Some((format!("nesting deeper than {MAX_FLOW_DEPTH} levels"), line));
    }
    too_deep_blocks(text).map(|line| {
        (
            format!("nesting deeper than {MAX_BLOCK_DEPTH} levels"),
            line,
        )
    })
}

fn too_deep(text: &str) -> Option<usize> {
    let (mut depth, mut line, mut quote) = (0usize, 1usize, None::<u8>);
    for b in text.bytes() {
        match (quote, b) {
            (_, b'\n') => line += 1,
            (Some(q), b) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'\'' | b'"') => quote = Some(b),
            (None, b'[' | b'{') => {
                depth += 1;
                if depth > MAX_FLOW_DEPTH {
                    return Some(line);
                }
            }
            (None, b']' | b'}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// The line where block nesting first goes deeper than [`MAX_BLOCK_DEPTH`]: each line
/// indented past the lines it follows opens a level, and so does each compact sequence
/// entry after the first on one line (`- - - x`). An estimate from above (a block
/// scalar's indented text counts too), enough to refuse what no rule needs.
fn too_deep_blocks(text: &str) -> Option<usize> {
    let mut open: Vec<usize> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let body = line.trim_start_matches(' ');
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        let column = line.len() - body.len();
        while open.last().is_some_and(|&c| c >= column) {
            open.pop();
        }
        open.push(column);
        let mut rest = body;
        let mut at = column;
        while let Some(after) = rest.strip_prefix("- ").or_else(|| rest.strip_prefix("? ")) {
            let inner = after.trim_start_matches(' ');
            at += rest.len() - inner.len();
            if inner.starts_with(['-', '?']) {
                open.push(at);
            }
            rest = inner;
        }
        if open.len() > MAX_BLOCK_DEPTH {
            return Some(i + 1);
        }
    }
    None
}

fn document_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![1];
    for (i, l) in text.lines().enumerate() {
        if l.starts_with("---") && i > 0 {
            starts.push(i + 2);
        } else if l.starts_with("---") {
            starts[0] = 2;
        }
    }
    starts
}

fn parse_document(doc: &Yaml, src: &Source<'_>) -> Result<Document> {
    if !matches!(doc, Yaml::Hash(_)) {
        return Err(SigmaError::new(ErrorKind::Structure(
            "a document must be a mapping".into(),
        )));
    }
    if doc["action"].as_str().is_some() {
        return Err(src.err(
            ErrorKind::Unsupported("legacy Sigma 1 multi-document rule ('action: global')".into()),
            "action:",
        ));
    }
    let meta = parse_meta(doc, src)?;
    if !matches!(doc["correlation"], Yaml::BadValue) {
        return parse_correlation(doc, meta, src).map(|c| Document::Correlation(Box::new(c)));
    }
    if let Yaml::Hash(_) = doc["filter"] {
        let f = &doc["filter"];
        let rules = string_list(&f["rules"]).ok_or_else(|| {
            src.err(
                ErrorKind::Structure("filter needs 'rules' (a list of rule ids or names)".into()),
                "filter:",
            )
        })?;
        let detection = parse_detection(f, src)?;
        return Ok(Document::Filter(Box::new(Filter {
            meta,
            logsource: parse_logsource(&doc["logsource"]),
            rules,
            detection,
        })));
    }
    let det = &doc["detection"];
    if !matches!(det, Yaml::Hash(_)) {
        return Err(src.err(
            ErrorKind::Structure("missing 'detection' mapping".into()),
            "detection",
        ));
    }
    Ok(Document::Rule(Box::new(Rule {
        meta,
        logsource: parse_logsource(&doc["logsource"]),
        detection: parse_detection(det, src)?,
    })))
}

fn scalar_text(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

fn string_list(y: &Yaml) -> Option<Vec<String>> {
    match y {
        Yaml::Array(a) => a.iter().map(scalar_text).collect(),
        other => scalar_text(other).map(|s| vec![s]),
    }
}

fn parse_meta(doc: &Yaml, src: &Source<'_>) -> Result<Meta> {
    let title = scalar_text(&doc["title"])
        .ok_or_else(|| src.err(ErrorKind::Structure("missing 'title'".into()), "title"))?;
    let level = match &doc["level"] {
        Yaml::BadValue | Yaml::Null => Level::default(),
        y => scalar_text(y)
            .as_deref()
            .and_then(Level::parse)
            .ok_or_else(|| {
                src.err(
                    ErrorKind::Structure(
                        "level must be informational, low, medium, high or critical".into(),
                    ),
                    "level:",
                )
            })?,
    };
    Ok(Meta {
        id: scalar_text(&doc["id"]),
        name: scalar_text(&doc["name"]),
        title,
        level,
        status: scalar_text(&doc["status"]),
        description: scalar_text(&doc["description"]),
        author: scalar_text(&doc["author"]),
        tags: string_list(&doc["tags"]).unwrap_or_default(),
        falsepositives: string_list(&doc["falsepositives"]).unwrap_or_default(),
        file: None,
        line: src.start,
    })
}

fn parse_logsource(y: &Yaml) -> LogSource {
    let get = |k: &str| scalar_text(&y[k]).map(|s| s.trim().to_ascii_lowercase());
    LogSource {
        product: get("product"),
        category: get("category"),
        service: get("service"),
    }
}

fn raw_value(y: &Yaml) -> Option<RawValue> {
    Some(match y {
        Yaml::String(s) => RawValue::Str(s.clone()),
        Yaml::Integer(i) => RawValue::Int(*i),
        Yaml::Real(s) => RawValue::Float(s.clone()),
        Yaml::Boolean(b) => RawValue::Bool(*b),
        Yaml::Null => RawValue::Null,
        _ => return None,
    })
}

fn parse_detection(det: &Yaml, src: &Source<'_>) -> Result<Detection> {
    let Yaml::Hash(map) = det else {
        return Err(src.err(
            ErrorKind::Structure("'detection' must be a mapping".into()),
            "detection",
        ));
    };
    let mut searches = Vec::new();
    let mut conditions = Vec::new();
    for (k, v) in map {
        let Some(name) = scalar_text(k) else {
            return Err(src.err(
                ErrorKind::Structure("search identifiers must be strings".into()),
                "detection",
            ));
        };
        match name.as_str() {
            "condition" => {
                conditions = string_list(v).ok_or_else(|| {
                    src.err(
                        ErrorKind::Condition("must be a string or a list of strings".into()),
                        "condition",
                    )
                })?;
            }
            "timeframe" => {}
            "rules" => {}
            _ => {
                if searches.len() >= MAX_SEARCHES {
                    return Err(src.err(
                        ErrorKind::Limit(format!("more than {MAX_SEARCHES} search identifiers")),
                        &name,
                    ));
                }
                let search = parse_search(v, src, &name)?;
                searches.push((name, search));
            }
        }
    }
    if conditions.is_empty() {
        return Err(src.err(
            ErrorKind::Condition("missing 'condition'".into()),
            "detection",
        ));
    }
    Ok(Detection {
        searches,
        conditions,
    })
}

fn parse_search(v: &Yaml, src: &Source<'_>, name: &str) -> Result<Search> {
    let mut alternatives = Vec::new();
    match v {
        Yaml::Hash(_) => alternatives.push(parse_map(v, src, name)?),
        Yaml::Array(items) => {
            let mut keywords = Vec::new();
            for item in items {
                match item {
                    Yaml::Hash(_) => alternatives.push(parse_map(item, src, name)?),
                    other => keywords.push(raw_value(other).ok_or_else(|| {
                        src.err(
                            ErrorKind::Structure(format!(
                                "search '{name}': a list holds values or mappings, not nested lists"
                            )),
                            name,
                        )
                    })?),
                }
            }
            if !keywords.is_empty() {
                alternatives.push(vec![FieldSpec {
                    field: None,
                    modifiers: Vec::new(),
                    values: keywords,
                    key: name.to_owned(),
                }]);
            }
        }
        other => {
            let value = raw_value(other).ok_or_else(|| {
                src.err(
                    ErrorKind::Structure(format!("search '{name}' is empty")),
                    name,
                )
            })?;
            alternatives.push(vec![FieldSpec {
                field: None,
                modifiers: Vec::new(),
                values: vec![value],
                key: name.to_owned(),
            }]);
        }
    }
    if alternatives.is_empty() {
        return Err(src.err(
            ErrorKind::Structure(format!("search '{name}' is empty")),
            name,
        ));
    }
    Ok(Search { alternatives })
}

fn parse_map(v: &Yaml, src: &Source<'_>, search: &str) -> Result<Vec<FieldSpec>> {
    let Yaml::Hash(map) = v else {
        return Ok(Vec::new());
    };
    let mut specs = Vec::with_capacity(map.len());
    for (k, val) in map {
        let key = scalar_text(k).ok_or_else(|| {
            src.err(
                ErrorKind::Structure(format!("search '{search}': field names must be strings")),
                search,
            )
        })?;
        let mut parts = key.split('|');
        let field = parts.next().unwrap_or_default().trim().to_owned();
        let modifiers = Modifier::parse_chain(parts).map_err(|e| src.err(e, &key))?;
        let values = match val {
            Yaml::Array(items) => {
                if items.len() > MAX_VALUES {
                    return Err(src.err(
                        ErrorKind::Limit(format!("more than {MAX_VALUES} values")),
                        &key,
                    ));
                }
                items
                    .iter()
                    .map(raw_value)
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        src.err(
                            ErrorKind::Structure(format!(
                                "'{key}': values must be scalars, not lists or mappings"
                            )),
                            &key,
                        )
                    })?
            }
            other => vec![raw_value(other).ok_or_else(|| {
                src.err(
                    ErrorKind::Structure(format!(
                        "'{key}': a value must be a scalar or a list of scalars"
                    )),
                    &key,
                )
            })?],
        };
        if values.is_empty() {
            return Err(src.err(
                ErrorKind::Structure(format!("'{key}' has an empty list of values")),
                &key,
            ));
        }
        specs.push(FieldSpec {
            field: (!field.is_empty()).then_some(field),
            modifiers,
            values,
            key,
        });
    }
    Ok(specs)
}

/// Parses a duration such as `90s`, `5m`, `1h`, `7d` into milliseconds.
pub fn parse_timespan(s: &str) -> Option<i64> {
    let s = s.trim();
    let unit = s.chars().last()?;
    let n: i64 = s[..s.len() - unit.len_utf8()].trim().parse().ok()?;
    let ms = match unit {
        's' => 1_000,
        'm' => 60_000,
        'h' => 3_600_000,
        'd' => 86_400_000,
        'w' => 7 * 86_400_000,
        _ => return None,
    };
    n.checked_mul(ms).filter(|&v| v > 0)
}

fn parse_correlation(doc: &Yaml, meta: Meta, src: &Source<'_>) -> Result<Correlation> {
    let c = &doc["correlation"];
    let bad = |msg: &str, near: &str| src.err(ErrorKind::Correlation(msg.to_owned()), near);
    let kind = c["type"]
        .as_str()
        .and_then(CorrelationType::parse)
        .ok_or_else(|| {
            bad(
                "type must be event_count, value_count, temporal, temporal_ordered, value_sum, value_avg or value_percentile",
                "type",
            )
        })?;
    let rules =
        string_list(&c["rules"]).ok_or_else(|| bad("'rules' is required", "correlation"))?;
    if rules.is_empty() {
        return Err(bad("'rules' is empty", "rules"));
    }
    let group_by = match &c["group-by"] {
        Yaml::BadValue | Yaml::Null => Vec::new(),
        y => {
            string_list(y).ok_or_else(|| bad("'group-by' must be a list of fields", "group-by"))?
        }
    };
    let timespan_ms = scalar_text(&c["timespan"])
        .as_deref()
        .and_then(parse_timespan)
        .ok_or_else(|| bad("'timespan' must look like 30s, 5m, 1h or 1d", "timespan"))?;
    let (condition, field) = correlation_condition(&c["condition"], src)?;
    if condition.is_empty()
        && !matches!(
            kind,
            CorrelationType::Temporal | CorrelationType::TemporalOrdered
        )
    {
        return Err(bad(
            "'condition' with gt/gte/lt/lte/eq/neq is required",
            "correlation",
        ));
    }
    if kind.needs_field() && field.is_none() {
        return Err(bad(
            &format!("{} needs 'field' in its condition", kind.as_str()),
            "condition",
        ));
    }
    let aliases = correlation_aliases(&c["aliases"], src)?;
    let generate = matches!(c["generate"], Yaml::Boolean(true))
        || matches!(doc["generate"], Yaml::Boolean(true));
    Ok(Correlation {
        meta,
        kind,
        rules,
        group_by,
        timespan_ms,
        condition,
        field,
        aliases,
        generate,
    })
}

/// A correlation's comparisons, AND-ed.
type Comparisons = Vec<(CmpOp, f64)>;
/// A correlation's aliases: alias → (rule name → field).
type Aliases = Vec<(String, Vec<(String, String)>)>;

/// A correlation's condition: its comparisons (`gt: 10`, …) and the `field` it counts or
/// sums, if it names one.
fn correlation_condition(cond: &Yaml, src: &Source<'_>) -> Result<(Comparisons, Option<String>)> {
    let bad = |msg: &str, near: &str| src.err(ErrorKind::Correlation(msg.to_owned()), near);
    let mut condition = Vec::new();
    let mut field = None;
    let Yaml::Hash(cond) = cond else {
        return Ok((condition, field));
    };
    for (k, v) in cond {
        let key = k.as_str().unwrap_or_default();
        if key == "field" {
            field = match v {
                Yaml::Array(a) if a.len() == 1 => scalar_text(&a[0]),
                other => scalar_text(other),
            };
            continue;
        }
        let op = CmpOp::parse(key)
            .ok_or_else(|| bad(&format!("unknown condition operator '{key}'"), "condition"))?;
        let n = scalar_text(v)
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|n| n.is_finite())
            .ok_or_else(|| bad(&format!("'{key}' needs a number"), key))?;
        condition.push((op, n));
    }
    Ok((condition, field))
}

/// A correlation's aliases: each alias name with, per rule, the field it stands for.
fn correlation_aliases(aliases: &Yaml, src: &Source<'_>) -> Result<Aliases> {
    let mut out = Vec::new();
    let Yaml::Hash(map) = aliases else {
        return Ok(out);
    };
    for (alias, per_rule) in map {
        let Yaml::Hash(per_rule) = per_rule else {
            return Err(src.err(
                ErrorKind::Correlation("each alias maps rule names to fields".to_owned()),
                "aliases",
            ));
        };
        let mapping = per_rule
            .iter()
            .filter_map(|(r, f)| Some((scalar_text(r)?, scalar_text(f)?)))
            .collect();
        out.push((scalar_text(alias).unwrap_or_default(), mapping));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_nesting_past_the_limit_is_refused_before_it_is_built() {
        let limit = |r: &[Result<Document>]| {
            r.iter().any(|d| {
                d.as_ref()
                    .is_err_and(|e| e.to_string().contains("nesting deeper"))
            })
        };
        let compact = format!(
            "title: x\ndetection:\n  s:\n    a:\n      {}x\n  condition: s\n",
            "- ".repeat(300_000)
        );
        assert!(limit(&parse_documents(&compact, None)));
        let mut indented = String::from("title: x\ndetection:\n");
        for level in 1..400 {
            indented.push_str(&format!("{}k{level}:\n", " ".repeat(level)));
        }
        assert!(limit(&parse_documents(&indented, None)));
        // Nesting a rule could have is read as before.
        let fine = format!(
            "title: x\nlogsource:\n  product: windows\ndetection:\n  s:\n    a:\n      {}x\n  condition: s\n",
            "- ".repeat(3)
        );
        assert!(!limit(&parse_documents(&fine, None)));
    }

    #[test]
    fn timespans() {
        assert_eq!(parse_timespan("90s"), Some(90_000));
        assert_eq!(parse_timespan("5m"), Some(300_000));
        assert_eq!(parse_timespan("1d"), Some(86_400_000));
        assert_eq!(parse_timespan("0m"), None);
        assert_eq!(parse_timespan("5x"), None);
        assert_eq!(parse_timespan(""), None);
    }

    #[test]
    fn errors_name_the_line() {
        let text = "title: t\nid: abc\nlogsource:\n  product: windows\ndetection:\n  sel:\n    Image|bogus: x\n  condition: sel\n";
        let docs = parse_documents(text, None);
        let err = docs[0].as_ref().err().cloned();
        let err = err.map(|e| (e.location.line, e.location.rule_id, e.kind));
        assert_eq!(
            err,
            Some((
                Some(7),
                Some("abc".to_owned()),
                ErrorKind::UnknownModifier("bogus".into())
            ))
        );
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let text = format!(
            "title: x\ndetection: {}{}",
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        let docs = parse_documents(&text, None);
        assert!(matches!(
            docs[0].as_ref().map_err(|e| &e.kind),
            Err(ErrorKind::Limit(_))
        ));
    }

    #[test]
    fn multi_document_files() {
        let text = "title: a\nname: a\ndetection:\n  s: x\n  condition: s\n---\ntitle: c\ncorrelation:\n  type: event_count\n  rules: [a]\n  group-by: [User]\n  timespan: 5m\n  condition:\n    gte: 3\n";
        let docs = parse_documents(text, None);
        assert_eq!(docs.len(), 2);
        assert!(matches!(docs[0], Ok(Document::Rule(_))));
        assert!(matches!(docs[1], Ok(Document::Correlation(_))));
    }
}
