//! Loading a rule set: files, folders and text (with their limits), filters applied,
//! one compiled variant per log-source variant, correlations resolved.

use super::index::required_event_ids;
use super::*;

/// Loads documents and compiles them into a [`RuleSet`].
#[derive(Debug)]
pub struct RuleSetBuilder {
    mapping: Mapping,
    docs: Vec<Document>,
    skipped: Vec<Skipped>,
    files: usize,
}

pub(super) fn skipped_from(e: SigmaError, file: Option<&Path>) -> Skipped {
    Skipped {
        file: file
            .map(Path::to_path_buf)
            .or_else(|| e.location.file.clone()),
        id: e.location.rule_id.clone(),
        title: None,
        error: e,
    }
}

impl RuleSetBuilder {
    pub fn new(mapping: Mapping) -> Self {
        RuleSetBuilder {
            mapping,
            docs: Vec::new(),
            skipped: Vec::new(),
            files: 0,
        }
    }

    /// Adds the documents of one rule text.
    pub fn add_text(&mut self, text: &str, file: Option<&Path>) -> &mut Self {
        self.files += 1;
        if let Err(kind) = refuse_aliases(text) {
            let mut e = SigmaError::new(kind);
            if let Some(f) = file {
                e = e.with_file(f);
            }
            self.skipped.push(skipped_from(e, file));
            return self;
        }
        self.take_documents(parse::parse_documents(text, file), file);
        self
    }

    pub(super) fn take_documents(
        &mut self,
        docs: Vec<Result<Document, SigmaError>>,
        file: Option<&Path>,
    ) {
        for doc in docs {
            match doc {
                Ok(mut d) => {
                    let meta = match &mut d {
                        Document::Rule(r) => &mut r.meta,
                        Document::Correlation(c) => &mut c.meta,
                        Document::Filter(f) => &mut f.meta,
                    };
                    meta.file = file.map(Path::to_path_buf);
                    self.docs.push(d);
                }
                Err(e) => self.skipped.push(skipped_from(e, file)),
            }
        }
    }

    /// Adds an already parsed document.
    pub fn add_document(&mut self, doc: Document) -> &mut Self {
        self.docs.push(doc);
        self
    }

    /// Adds a rule file, or every `.yml`/`.yaml` file under a folder.
    pub fn add_path(&mut self, path: &Path) -> &mut Self {
        let mut files = Vec::new();
        collect_yaml(path, &mut files, 0);
        files.sort();
        if files.is_empty() && !path.exists() {
            let e = SigmaError::new(ErrorKind::Io("no such file or folder".into())).with_file(path);
            self.skipped.push(skipped_from(e, Some(path)));
        }
        // Reading and parsing are independent per file: done in parallel, merged in order.
        let parsed: Vec<(PathBuf, ParsedFile)> = files
            .into_par_iter()
            .take(MAX_RULE_FILES)
            .map(|f| {
                let r = read_limited(&f).and_then(|text| {
                    refuse_aliases(&text)?;
                    Ok(parse::parse_documents(&text, Some(&f)))
                });
                (f, r)
            })
            .collect();
        for (f, r) in parsed {
            self.files += 1;
            match r {
                Ok(docs) => self.take_documents(docs, Some(&f)),
                Err(kind) => {
                    let e = SigmaError::new(kind).with_file(&f);
                    self.skipped.push(skipped_from(e, Some(&f)));
                }
            }
        }
        self
    }

    /// Compiles everything added.
    pub fn build(self) -> RuleSet {
        let RuleSetBuilder {
            mapping,
            docs,
            mut skipped,
            files,
        } = self;
        let mut rules_in = Vec::new();
        let mut correlations_in = Vec::new();
        let mut filters: Vec<Filter> = Vec::new();
        for d in docs {
            match d {
                Document::Rule(r) => rules_in.push(*r),
                Document::Correlation(c) => correlations_in.push(*c),
                Document::Filter(f) => filters.push(*f),
            }
        }
        let mut set = RuleSet {
            rules: Vec::new(),
            variants: Vec::new(),
            arena: Arena::default(),
            index: FxHashMap::default(),
            no_channel: FxHashMap::default(),
            cells: FxHashMap::default(),
            no_channel_cells: FxHashMap::default(),
            prefilter: None,
            needle_count: 0,
            correlations: Vec::new(),
            consumers: FxHashMap::default(),
            capture: FxHashMap::default(),
            skipped: Vec::new(),
            files,
        };
        for rule in rules_in {
            let my_filters: Vec<&Filter> = filters
                .iter()
                .filter(|f| {
                    f.rules.iter().any(|r| {
                        Some(r) == rule.meta.id.as_ref() || Some(r) == rule.meta.name.as_ref()
                    })
                })
                .collect();
            if let Err(e) = set.add_rule(rule.clone(), &mapping, &my_filters) {
                let e = e.with_rule(rule.meta.id.as_deref());
                let e = match &rule.meta.file {
                    Some(f) => e.with_file(f).with_line(Some(rule.meta.line)),
                    None => e.with_line(Some(rule.meta.line)),
                };
                skipped.push(Skipped {
                    file: rule.meta.file.clone(),
                    id: rule.meta.id.clone(),
                    title: Some(rule.meta.title.clone()),
                    error: e,
                });
            }
        }
        set.add_correlations(correlations_in, &mut skipped);
        set.build_prefilter();
        set.skipped = skipped;
        set
    }
}

pub(super) fn refuse_aliases(text: &str) -> Result<(), ErrorKind> {
    use yaml_rust2::parser::{Event as YEvent, MarkedEventReceiver, Parser};
    use yaml_rust2::scanner::Marker;
    if !text.contains('&') {
        return Ok(());
    }
    struct Count(usize);
    impl MarkedEventReceiver for Count {
        fn on_event(&mut self, ev: YEvent, _: Marker) {
            if matches!(ev, YEvent::Alias(_)) {
                self.0 += 1;
            }
        }
    }
    let mut c = Count(0);
    let mut p = Parser::new_from_str(text);
    // Syntax errors are reported by the real parse.
    let _ = p.load(&mut c, true);
    if c.0 > 0 {
        return Err(ErrorKind::Limit(
            "YAML aliases are not accepted in rule files".into(),
        ));
    }
    Ok(())
}

pub(super) fn read_limited(path: &Path) -> Result<String, ErrorKind> {
    let meta = std::fs::metadata(path).map_err(|e| ErrorKind::Io(e.to_string()))?;
    if meta.len() > parse::MAX_RULE_BYTES as u64 {
        return Err(ErrorKind::Limit(format!(
            "rule file larger than {} bytes",
            parse::MAX_RULE_BYTES
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| ErrorKind::Io(e.to_string()))?;
    String::from_utf8(bytes).map_err(|_| ErrorKind::Io("not UTF-8 text".into()))
}

pub(super) fn collect_yaml(path: &Path, out: &mut Vec<PathBuf>, depth: usize) {
    if depth > 32 {
        return;
    }
    if path.is_dir() {
        // Below the root a link to a folder is not followed: two links to `.` would make
        // the walk visit 2^32 folders.
        if depth > 0 && is_link(path) {
            return;
        }
        let Ok(rd) = std::fs::read_dir(path) else {
            return;
        };
        for entry in rd.flatten() {
            collect_yaml(&entry.path(), out, depth + 1);
        }
    } else if path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"))
        || (depth == 0 && path.is_file())
    {
        out.push(path.to_path_buf());
    }
}

/// Whether `path` is a symbolic link (not followed).
fn is_link(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// The event field that stands for a rule field a variant's log does not have.
const UNAVAILABLE: &str = "\u{1}unavailable";

/// A variant's strict reading where it differs from the lenient one, with why (see
/// [`RuleSet::lenient_and_strict`]).
type Strict = Option<(Expr, Box<str>)>;

impl RuleSet {
    /// Loads the given rule files/folders with the built-in mapping.
    pub fn load(paths: &[PathBuf]) -> RuleSet {
        let mut b = RuleSetBuilder::new(Mapping::builtin());
        for p in paths {
            b.add_path(p);
        }
        b.build()
    }

    pub(super) fn add_rule(
        &mut self,
        rule: Rule,
        mapping: &Mapping,
        filters: &[&Filter],
    ) -> Result<(), SigmaError> {
        let (variants, mut notes) = mapping.variants(&rule.logsource);
        let rule_idx = u32::try_from(self.rules.len()).unwrap_or(u32::MAX);
        let mut compiled = Vec::new();
        for v in &variants {
            if let Some((expr, strict)) =
                self.compile_variant(&rule, v, mapping, filters, &mut notes)?
            {
                compiled.push((expr, strict, v.clone()));
            }
        }
        self.rules.push(RuleInfo {
            meta: rule.meta,
            logsource: rule.logsource,
            hidden: false,
            correlation: false,
            notes,
        });
        let eid_fields: Vec<FieldId> = ["EventID"]
            .iter()
            .filter_map(|n| self.arena.names.get(n))
            .collect();
        for (expr, strict, v) in compiled {
            self.index_variant(rule_idx, expr, strict, &v, &eid_fields);
        }
        Ok(())
    }

    /// One log variant of a rule compiled: its detection, less its filters, with the
    /// variant's own conditions, simplified. `None` (and a note) when it needs fields that
    /// log does not have and so can never match there.
    fn compile_variant(
        &mut self,
        rule: &Rule,
        v: &Variant,
        mapping: &Mapping,
        filters: &[&Filter],
        notes: &mut Vec<String>,
    ) -> Result<Option<(Expr, Strict)>, SigmaError> {
        let renames = &v.fields;
        let aliases = &mapping.field_aliases;
        // Fields this variant's log does not have: their tests are unknown, not false.
        let missing: std::cell::RefCell<Vec<String>> = Default::default();
        let field_map = |f: &str| -> Vec<String> {
            if v.unavailable.iter().any(|u| u == f) {
                let mut m = missing.borrow_mut();
                if !m.iter().any(|x| x == f) {
                    m.push(f.to_owned());
                }
                return vec![UNAVAILABLE.to_owned()];
            }
            let base = renames
                .iter()
                .find(|(from, _)| from == f)
                .map_or(f, |(_, to)| to.as_str());
            let mut out = vec![base.to_owned()];
            if let Some(extra) = aliases.get(base) {
                out.extend(extra.iter().cloned());
            }
            out
        };
        let ctx = Context {
            field_map: &field_map,
            placeholders: &mapping.placeholders,
        };
        let mut expr = compile::compile_detection(&rule.detection, &mut self.arena, &ctx)
            .map_err(SigmaError::new)?;
        for f in filters {
            let fe =
                compile::compile_detection(&f.detection, &mut self.arena, &ctx).map_err(|k| {
                    SigmaError::new(ErrorKind::Structure(format!(
                        "filter '{}' does not compile: {k}",
                        f.meta.title
                    )))
                })?;
            expr = Expr::And(vec![expr, Expr::Not(Box::new(fe))]);
        }
        let extra = self.variant_conditions(v, &ctx)?;
        if !extra.is_empty() {
            let mut all = extra;
            all.push(expr);
            expr = Expr::And(all);
        }
        let missing = missing.into_inner();
        if missing.is_empty() {
            return Ok(Some((compile::simplify(expr), None)));
        }
        let (expr, strict) = self.lenient_and_strict(expr, &missing, v);
        if expr == Expr::Const(false) {
            notes.push(format!(
                "not matched on {}: it needs {}, which that log does not have",
                v.describe(),
                missing.join(", ")
            ));
            return Ok(None);
        }
        Ok(Some((expr, strict)))
    }

    /// A variant that tests fields its log lacks. As compiled, a test on such a field is
    /// false, as on any event without the field (the specification's reading, and the
    /// peers'): a rule that needs one cannot match. A filter on one cannot exclude either —
    /// so such a match is unverified: the strict reading (the test unknown: false where it
    /// would help a match, true where it would keep one out) says whether the match holds
    /// whatever the missing field would have said. Returns the lenient expression and, where
    /// it differs, the strict one with why.
    fn lenient_and_strict(&self, expr: Expr, missing: &[String], v: &Variant) -> (Expr, Strict) {
        let absent = self.arena.names.get(UNAVAILABLE);
        let leaves = &self.arena.leaves;
        let is_absent = |leaf: u32| match leaves.get(leaf as usize).map(|l| &l.target) {
            Some(compile::Target::Fields(ids)) => {
                !ids.is_empty() && ids.iter().all(|id| Some(*id) == absent)
            }
            _ => false,
        };
        // What each such test says of an event without the field.
        let nothing = Json::Null;
        let empty = Event::new(&nothing, &self.arena.names);
        let absent_value = |leaf: u32| {
            is_absent(leaf).then(|| {
                leaves
                    .get(leaf as usize)
                    .is_some_and(|l| super::eval_leaf(l, &empty))
            })
        };
        let strict = compile::simplify(compile::assume_unknown(expr.clone(), &is_absent));
        let lenient = compile::simplify(compile::assume_absent(expr, &absent_value));
        let why: Box<str> = format!("{} not in {}", missing.join(", "), v.describe()).into();
        let strict = (strict != lenient).then_some((strict, why));
        (lenient, strict)
    }

    /// A compiled variant added to the index, under each (channel, event id) it can match.
    fn index_variant(
        &mut self,
        rule_idx: u32,
        expr: Expr,
        strict: Strict,
        v: &Variant,
        eid_fields: &[FieldId],
    ) {
        let var_idx = u32::try_from(self.variants.len()).unwrap_or(u32::MAX);
        let mut eids: Vec<Option<i64>> = if v.event_ids.is_empty() {
            match required_event_ids(&expr, &self.arena.leaves, eid_fields) {
                Some(ids) if !ids.is_empty() => ids.into_iter().map(Some).collect(),
                _ => vec![None],
            }
        } else {
            v.event_ids.iter().copied().map(Some).collect()
        };
        eids.dedup();
        let channels: Vec<Option<Box<str>>> = if v.channels.is_empty() {
            vec![None]
        } else {
            v.channels
                .iter()
                .map(|c| Some(c.to_lowercase().into_boxed_str()))
                .collect()
        };
        for ch in &channels {
            for eid in &eids {
                self.index
                    .entry((ch.clone(), *eid))
                    .or_default()
                    .push(var_idx);
            }
        }
        for eid in &eids {
            let list = self.no_channel.entry(*eid).or_default();
            if list.last() != Some(&var_idx) {
                list.push(var_idx);
            }
        }
        self.variants.push(CompiledVariant {
            rule: rule_idx,
            expr,
            strict,
            product: v.product.as_deref().map(super::Product::from_rule),
            requirement: None,
        });
    }

    pub(super) fn variant_conditions(
        &mut self,
        v: &Variant,
        ctx: &Context<'_>,
    ) -> Result<Vec<Expr>, SigmaError> {
        let mut out = Vec::new();
        for (field, values) in &v.conditions {
            let spec = crate::rule::FieldSpec {
                field: Some(field.clone()),
                modifiers: Vec::new(),
                values: values.iter().map(|s| RawValue::Str(s.clone())).collect(),
                key: field.clone(),
            };
            let det = crate::rule::Detection {
                searches: vec![(
                    "logsource".into(),
                    crate::rule::Search {
                        alternatives: vec![vec![spec]],
                    },
                )],
                conditions: vec!["logsource".into()],
            };
            out.push(
                compile::compile_detection(&det, &mut self.arena, ctx).map_err(SigmaError::new)?,
            );
        }
        Ok(out)
    }

    pub(super) fn add_correlations(&mut self, corrs: Vec<Correlation>, skipped: &mut Vec<Skipped>) {
        // Correlations may reference correlations: resolve in rounds.
        let mut pending = corrs;
        loop {
            let before = pending.len();
            let mut next = Vec::new();
            for c in pending {
                match self.resolve_sources(&c) {
                    Some(sources) => self.add_correlation(c, sources),
                    None => next.push(c),
                }
            }
            pending = next;
            if pending.is_empty() || pending.len() == before {
                break;
            }
        }
        for c in pending {
            let missing: Vec<&str> = c
                .rules
                .iter()
                .filter(|r| self.find_rule(r).is_none())
                .map(String::as_str)
                .collect();
            let e = SigmaError::new(ErrorKind::Correlation(format!(
                "references rules that are not loaded: {}",
                missing.join(", ")
            )))
            .with_rule(c.meta.id.as_deref())
            .with_line(Some(c.meta.line));
            let e = match &c.meta.file {
                Some(f) => e.with_file(f),
                None => e,
            };
            skipped.push(Skipped {
                file: c.meta.file.clone(),
                id: c.meta.id.clone(),
                title: Some(c.meta.title.clone()),
                error: e,
            });
        }
    }

    pub(super) fn find_rule(&self, r: &str) -> Option<u32> {
        self.rules
            .iter()
            .position(|i| i.meta.id.as_deref() == Some(r) || i.meta.name.as_deref() == Some(r))
            .and_then(|p| u32::try_from(p).ok())
    }

    pub(super) fn resolve_sources(&self, c: &Correlation) -> Option<Vec<u32>> {
        c.rules.iter().map(|r| self.find_rule(r)).collect()
    }

    pub(super) fn add_correlation(&mut self, c: Correlation, sources: Vec<u32>) {
        let idx = u32::try_from(self.rules.len()).unwrap_or(u32::MAX);
        let corr_idx = u32::try_from(self.correlations.len()).unwrap_or(u32::MAX);
        let mut fields = Vec::new();
        for (pos, &src) in sources.iter().enumerate() {
            let src_name = self.rules[src as usize]
                .meta
                .name
                .clone()
                .unwrap_or_else(|| c.rules[pos].clone());
            let mut f: Vec<String> = c
                .group_by
                .iter()
                .map(|g| {
                    c.aliases
                        .iter()
                        .find(|(alias, _)| alias == g)
                        .and_then(|(_, per_rule)| {
                            per_rule
                                .iter()
                                .find(|(r, _)| *r == src_name || *r == c.rules[pos])
                                .map(|(_, field)| field.clone())
                        })
                        .unwrap_or_else(|| g.clone())
                })
                .collect();
            if let Some(field) = &c.field {
                f.push(field.clone());
            }
            let caps = f
                .iter()
                .map(|name| {
                    let id = self.arena.names.intern(name);
                    (name.clone(), vec![id].into_boxed_slice())
                })
                .collect::<Vec<_>>();
            let entry = self.capture.entry(src).or_default();
            for cap in caps {
                if !entry.iter().any(|(n, _)| *n == cap.0) {
                    entry.push(cap);
                }
            }
            self.consumers.entry(src).or_default().push(corr_idx);
            if !c.generate {
                self.rules[src as usize].hidden = true;
            }
            fields.push(f);
        }
        self.rules.push(RuleInfo {
            meta: c.meta.clone(),
            logsource: LogSource::default(),
            hidden: false,
            correlation: true,
            notes: Vec::new(),
        });
        self.correlations.push(CompiledCorrelation {
            rule: idx,
            spec: c,
            sources,
            fields,
        });
    }
}
