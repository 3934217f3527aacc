//! Log-source mapping: which channels, EventIDs and field names a rule's `logsource` stands
//! for. The built-in mapping (`mapping/default.yml`) covers Windows (Security, System,
//! Sysmon, PowerShell and 50 more channels); a user file replaces it.

use rustc_hash::FxHashMap;
use yaml_rust2::{Yaml, YamlLoader};

use crate::error::ErrorKind;
use crate::modifiers::placeholder::Placeholders;
use crate::rule::LogSource;

/// The built-in mapping, as shipped.
pub const DEFAULT_MAPPING: &str = include_str!("../mapping/default.yml");

/// One way a log source appears in events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Variant {
    /// `Channel` must be one of these (when the event has a channel at all).
    pub channels: Vec<String>,
    /// `EventID` must be one of these.
    pub event_ids: Vec<i64>,
    /// Rule field → event field renames.
    pub fields: Vec<(String, String)>,
    /// Extra field = one-of-values conditions.
    pub conditions: Vec<(String, Vec<String>)>,
    /// Rule fields this log has no equivalent of: their tests are unknown, and a rule
    /// that cannot match without them is not compiled for this variant.
    pub unavailable: Vec<String>,
    /// The rule's product: events known to come from another product are skipped.
    pub product: Option<String>,
}

impl Variant {
    /// The log this variant reads, in words: `Security EventID 4688`, or for logs
    /// without channels its conditions (`event.module: auditd, event.action: executed`).
    pub fn describe(&self) -> String {
        let ids: Vec<String> = self.event_ids.iter().map(i64::to_string).collect();
        match (self.channels.first(), ids.is_empty()) {
            (Some(c), false) => format!("{c} EventID {}", ids.join("/")),
            (Some(c), true) => c.clone(),
            (None, false) => format!("EventID {}", ids.join("/")),
            (None, true) if !self.conditions.is_empty() => self
                .conditions
                .iter()
                .map(|(field, values)| format!("{field}: {}", values.join("/")))
                .collect::<Vec<_>>()
                .join(", "),
            (None, true) => "any log".to_owned(),
        }
    }
}

/// The mapping configuration.
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    pub placeholders: Placeholders,
    pub field_aliases: FxHashMap<String, Vec<String>>,
    services: FxHashMap<(String, String), Service>,
    categories: FxHashMap<(String, String), Vec<Variant>>,
}

/// What a service stands for: Windows channels, or — for logs without channels, such as
/// the text logs of Linux hosts — conditions on the event's fields (`process.name: sshd`)
/// and field renames.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Service {
    channels: Vec<String>,
    conditions: Vec<(String, Vec<String>)>,
    fields: Vec<(String, String)>,
}

impl Service {
    /// A list of channels, or a mapping with `channels`, `conditions` and `fields`.
    fn parse(y: &Yaml) -> Service {
        match y {
            Yaml::Hash(_) => Service {
                channels: strings(&y["channels"]),
                conditions: hash(&y["conditions"])
                    .map(|(k, v)| (k, strings(v)))
                    .collect(),
                fields: hash(&y["fields"])
                    .filter_map(|(k, v)| Some((k, v.as_str()?.to_owned())))
                    .collect(),
            },
            other => Service {
                channels: strings(other),
                ..Service::default()
            },
        }
    }
}

fn strings(y: &Yaml) -> Vec<String> {
    match y {
        Yaml::Array(a) => a.iter().flat_map(strings).collect(),
        Yaml::String(s) | Yaml::Real(s) => vec![s.clone()],
        Yaml::Integer(i) => vec![i.to_string()],
        Yaml::Boolean(b) => vec![b.to_string()],
        _ => Vec::new(),
    }
}

fn hash(y: &Yaml) -> impl Iterator<Item = (String, &Yaml)> {
    y.as_hash()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v)))
}

impl Mapping {
    /// The built-in mapping.
    pub fn builtin() -> Mapping {
        // The shipped file is covered by a test; an error here would be a build defect.
        Mapping::parse(DEFAULT_MAPPING).unwrap_or_default()
    }

    /// Parses a mapping file.
    pub fn parse(text: &str) -> Result<Mapping, ErrorKind> {
        if let Some((why, line)) = crate::parse::nested_too_deep(text) {
            return Err(ErrorKind::Limit(format!("{why} at line {line}")));
        }
        let docs = YamlLoader::load_from_str(text)
            .map_err(|e| ErrorKind::Yaml(format!("{} at line {}", e.info(), e.marker().line())))?;
        let doc = docs.first().cloned().unwrap_or(Yaml::Null);
        if !matches!(doc, Yaml::Hash(_)) {
            return Err(ErrorKind::Structure(
                "a mapping file is a YAML mapping".into(),
            ));
        }
        let mut m = Mapping::default();
        for (name, values) in hash(&doc["placeholders"]) {
            m.placeholders.insert(name, strings(values));
        }
        for (field, aliases) in hash(&doc["fieldaliases"]) {
            m.field_aliases.insert(field, strings(aliases));
        }
        for (product, services) in hash(&doc["services"]) {
            for (service, entry) in hash(services) {
                m.services.insert(
                    (product.to_ascii_lowercase(), service),
                    Service::parse(entry),
                );
            }
        }
        for (product, cats) in hash(&doc["categories"]) {
            for (cat, variants) in hash(cats) {
                let list = match variants {
                    Yaml::Array(a) => a.clone(),
                    other => vec![other.clone()],
                };
                let mut out = Vec::new();
                for v in &list {
                    if !matches!(v, Yaml::Hash(_)) {
                        return Err(ErrorKind::Structure(format!(
                            "category {product}/{cat}: each variant is a mapping"
                        )));
                    }
                    let event_ids = strings(&v["event_ids"])
                        .iter()
                        .map(|s| {
                            s.parse::<i64>().map_err(|_| {
                                ErrorKind::Structure(format!(
                                    "category {product}/{cat}: event id '{s}' is not a number"
                                ))
                            })
                        })
                        .collect::<Result<_, _>>()?;
                    out.push(Variant {
                        channels: strings(&v["channels"]),
                        event_ids,
                        fields: hash(&v["fields"])
                            .filter_map(|(k, v)| Some((k, v.as_str()?.to_owned())))
                            .collect(),
                        conditions: hash(&v["conditions"])
                            .map(|(k, v)| (k, strings(v)))
                            .collect(),
                        unavailable: strings(&v["unavailable"]),
                        product: None,
                    });
                }
                m.categories
                    .insert((product.to_ascii_lowercase(), cat), out);
            }
        }
        Ok(m)
    }

    /// The variants a rule's log source stands for, and notes on what was not mapped.
    pub fn variants(&self, ls: &LogSource) -> (Vec<Variant>, Vec<String>) {
        let mut notes = Vec::new();
        // A rule without a product (`category: antivirus`) takes the product whose mapping
        // has its category or service; with none, it is not about Windows event logs
        // (`category: database`, `webserver`, …) and only looks at other events.
        let product = match &ls.product {
            Some(p) => p.clone(),
            None => match (&ls.category, &ls.service) {
                (None, None) => String::new(),
                (cat, service) => self
                    .categories
                    .keys()
                    .find(|(_, c)| Some(c) == cat.as_ref())
                    .or_else(|| {
                        self.services
                            .keys()
                            .find(|(_, s)| Some(s) == service.as_ref())
                    })
                    .map(|(p, _)| p.clone())
                    .unwrap_or_else(|| "(unmapped)".to_owned()),
            },
        };
        let mut variants = match &ls.category {
            Some(cat) => match self.categories.get(&(product.clone(), cat.clone())) {
                Some(v) => v.clone(),
                None => {
                    if self.knows_product(&product) {
                        notes.push(format!(
                            "category '{cat}' of product '{product}' is not in the mapping: the rule looks at every {product} event"
                        ));
                    }
                    vec![Variant::default()]
                }
            },
            None => vec![Variant::default()],
        };
        if let Some(service) = &ls.service {
            match self.services.get(&(product.clone(), service.clone())) {
                Some(entry) => {
                    for v in &mut variants {
                        if v.channels.is_empty() {
                            v.channels = entry.channels.clone();
                        }
                        v.conditions.extend(entry.conditions.iter().cloned());
                        for (from, to) in &entry.fields {
                            if !v.fields.iter().any(|(f, _)| f == from) {
                                v.fields.push((from.clone(), to.clone()));
                            }
                        }
                    }
                }
                None => {
                    if self.knows_product(&product) {
                        notes.push(format!(
                            "service '{service}' of product '{product}' is not in the mapping: the rule looks at every {product} event"
                        ));
                    }
                }
            }
        }
        let product = (!product.is_empty()).then_some(product);
        for v in &mut variants {
            v.product = product.clone();
        }
        (variants, notes)
    }

    fn knows_product(&self, product: &str) -> bool {
        self.services.keys().any(|(p, _)| p == product)
            || self.categories.keys().any(|(p, _)| p == product)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_mapping_parses() {
        let m = Mapping::parse(DEFAULT_MAPPING);
        assert!(m.is_ok(), "{m:?}");
        let m = m.unwrap_or_default();
        let ls = LogSource {
            product: Some("windows".into()),
            category: Some("process_creation".into()),
            service: None,
        };
        let (v, notes) = m.variants(&ls);
        assert!(notes.is_empty());
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].event_ids, [1]);
        assert_eq!(v[1].event_ids, [4688]);
        assert_eq!(v[1].fields[0], ("Image".into(), "NewProcessName".into()));
        let sec = LogSource {
            product: Some("windows".into()),
            service: Some("security".into()),
            category: None,
        };
        assert_eq!(m.variants(&sec).0[0].channels, ["Security"]);
        let unknown = LogSource {
            product: Some("windows".into()),
            service: Some("nope".into()),
            category: None,
        };
        assert_eq!(m.variants(&unknown).1.len(), 1);
        // No product: the mapping that knows the category decides.
        let av = LogSource {
            category: Some("antivirus".into()),
            ..LogSource::default()
        };
        let (v, _) = m.variants(&av);
        assert_eq!(v[0].product.as_deref(), Some("windows"));
        assert_eq!(
            v[0].channels,
            ["Microsoft-Windows-Windows Defender/Operational"]
        );
        let db = LogSource {
            category: Some("database".into()),
            ..LogSource::default()
        };
        assert_ne!(m.variants(&db).0[0].product.as_deref(), Some("windows"));
        assert_eq!(m.variants(&LogSource::default()).0[0].product, None);
    }

    #[test]
    fn a_mapping_nested_past_the_limit_is_refused_with_its_line() {
        let text = format!("placeholders:\n  x:\n    {}a\n", "- ".repeat(200_000));
        let err = Mapping::parse(&text).unwrap_err();
        assert!(
            matches!(&err, ErrorKind::Limit(m) if m.contains("nesting deeper") && m.ends_with("line 3")),
            "{err:?}"
        );
    }

    #[test]
    fn a_service_can_be_conditions_and_renames() {
        let m = Mapping::parse(
            "services:\n  linux:\n    app: {conditions: {process.name: [app, appd]}, fields: {User: user.name}}\n  windows:\n    sec: [Security]\n",
        )
        .unwrap_or_default();
        let ls = |product: &str, service: &str| LogSource {
            product: Some(product.into()),
            service: Some(service.into()),
            category: None,
        };
        let (v, notes) = m.variants(&ls("linux", "app"));
        assert!(notes.is_empty());
        assert!(v[0].channels.is_empty());
        assert_eq!(
            v[0].conditions,
            [(
                "process.name".to_owned(),
                vec!["app".to_owned(), "appd".to_owned()]
            )]
        );
        assert_eq!(v[0].fields, [("User".to_owned(), "user.name".to_owned())]);
        assert_eq!(
            m.variants(&ls("windows", "sec")).0[0].channels,
            ["Security"]
        );
    }
}
