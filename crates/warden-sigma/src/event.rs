//! The event as the rules see it: a JSON document (EVTX rendered as JSON, or any JSON log)
//! flattened once into the values of the fields the loaded rules ask for.
//!
//! A rule field name finds, in order of the document: the key with that name at any depth
//! (`Image` finds `Event.EventData.Image`), the dotted path (`process.command_line`), an
//! EVTX XML attribute as `Tag_Attribute` (`Provider_Name`), and an element's `#text` under
//! the element's name (`EventID`); a key with spaces (`Source Name`) also answers to its
//! name without them (`SourceName`), as the specification writes such fields. `System` is walked first so that header fields win over
//! payload fields of the same name. Arrays give several values; any of them may match.

use rustc_hash::FxHashMap;

use crate::derive::Transform;
use crate::ruleset::Product;
use serde_json::Value as Json;

/// Index of an interned event field name.
pub type FieldId = u32;

const NONE: u32 = u32::MAX;
/// Deepest JSON nesting walked; deeper parts are ignored (and counted).
pub const MAX_DEPTH: usize = 48;

/// The field names compiled rules look up, interned.
#[derive(Debug, Default, Clone)]
pub struct FieldNames {
    ids: FxHashMap<Box<str>, FieldId>,
    names: Vec<Box<str>>,
    has_dotted: bool,
    /// Fields computed from others ([`crate::derive`]): output, transform, arguments.
    derived: Vec<(FieldId, Transform, Vec<FieldId>)>,
}

impl FieldNames {
    /// The id of a field name; a computed field's call (`hex(NewProcessId)`) also interns
    /// its arguments and is computed for every event.
    pub fn intern(&mut self, name: &str) -> FieldId {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let call = crate::derive::parse(name)
            .map(|(t, args)| (t, args.iter().map(|a| self.intern(a)).collect::<Vec<_>>()));
        let id = FieldId::try_from(self.names.len()).unwrap_or(NONE - 1);
        self.names.push(name.into());
        self.ids.insert(name.into(), id);
        self.has_dotted |= name.contains('.');
        if let Some((t, args)) = call {
            self.derived.push((id, t, args));
        }
        id
    }

    pub fn get(&self, name: &str) -> Option<FieldId> {
        self.ids.get(name).copied()
    }

    pub fn name(&self, id: FieldId) -> &str {
        self.names.get(id as usize).map_or("", |n| n)
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// What kind of JSON value a field held.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Str,
    Num(f64),
    Bool,
    Null,
}

/// One value of the event, with its lower-case form for case-insensitive matching.
#[derive(Debug, Clone, Copy)]
pub struct FieldValue<'e> {
    pub raw: &'e str,
    pub lower: &'e str,
    pub kind: Kind,
}

/// Where a value's text is: borrowed from the document, or in the event's own buffer.
#[derive(Debug, Clone, Copy)]
enum Text<'a> {
    Doc(&'a str),
    Own(u32, u32),
}

#[derive(Debug, Clone, Copy)]
struct Slot<'a> {
    raw: Text<'a>,
    /// Range of the lower-case form in the haystack.
    lower: (u32, u32),
    kind: Kind,
}

impl FieldValue<'_> {
    pub fn is_null(&self) -> bool {
        self.kind == Kind::Null
    }

    /// The value as a number: JSON numbers, and strings holding a decimal or `0x` number.
    pub fn number(&self) -> Option<f64> {
        match self.kind {
            Kind::Num(n) => Some(n),
            Kind::Str => {
                let t = self.raw.trim();
                if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                    return i64::from_str_radix(hex, 16).ok().map(|v| v as f64);
                }
                t.parse::<f64>().ok().filter(|n| n.is_finite())
            }
            _ => None,
        }
    }
}

/// Appends the lower-case form of `s` to `out`.
fn push_lower(out: &mut String, s: &str) {
    if !s.bytes().any(|b| b.is_ascii_uppercase() || !b.is_ascii()) {
        out.push_str(s);
    } else if s.is_ascii() {
        out.extend(s.bytes().map(|b| char::from(b.to_ascii_lowercase())));
    } else {
        out.extend(s.chars().flat_map(char::to_lowercase));
    }
}

/// A flattened event.
#[derive(Debug)]
pub struct Event<'a> {
    values: Vec<Slot<'a>>,
    /// Texts of values that are not strings in the document (numbers).
    own: String,
    /// (value index, next link) chains, one per interned field.
    links: Vec<(u32, u32)>,
    heads: Vec<u32>,
    channel: Option<u32>,
    event_id: Option<u32>,
    /// Whether the document looked like a Windows event (a channel, or `Event.System`).
    pub windows: bool,
    /// The product the document is known to come from: Windows by its shape, Linux or
    /// Zeek by the module that read it (`event.module`); `None` when it does not say.
    pub product: Option<Product>,
    /// Values deeper than [`MAX_DEPTH`] that were not looked at.
    pub truncated: bool,
    haystack: String,
}

struct Walker<'n, 'a> {
    names: &'n FieldNames,
    ev: Event<'a>,
    path: Vec<&'a str>,
    buf: String,
}

impl<'a> Event<'a> {
    /// Flattens `doc` for rules compiled against `names`.
    pub fn new(doc: &'a Json, names: &FieldNames) -> Event<'a> {
        let mut w = Walker {
            names,
            ev: Event {
                values: Vec::with_capacity(48),
                own: String::new(),
                links: Vec::with_capacity(48),
                heads: vec![NONE; names.len()],
                channel: None,
                event_id: None,
                windows: false,
                product: None,
                truncated: false,
                haystack: String::with_capacity(2048),
            },
            path: Vec::with_capacity(8),
            buf: String::new(),
        };
        w.walk(doc, None, 0);
        w.derive();
        let mut ev = w.ev;
        // EVTX-shaped documents are Windows events even without a channel (ETW captures).
        ev.windows = ev.channel.is_some() || doc.pointer("/Event/System").is_some();
        // Sysmon for Linux writes Windows-shaped events on Linux hosts.
        let linux_channel = ev.channel().is_some_and(|c| c.starts_with("Linux-"));
        ev.product = if linux_channel {
            Some(Product::Linux)
        } else if ev.windows {
            Some(Product::Windows)
        } else {
            // The module that read a text log says where it came from.
            match doc.pointer("/event/module").and_then(Json::as_str) {
                Some("syslog" | "auditd") => Some(Product::Linux),
                Some("zeek") => Some(Product::Zeek),
                _ => None,
            }
        };
        ev
    }

    fn view(&self, s: &Slot<'a>) -> FieldValue<'_> {
        let raw = match s.raw {
            Text::Doc(t) => t,
            Text::Own(a, b) => self.own.get(a as usize..b as usize).unwrap_or(""),
        };
        FieldValue {
            raw,
            lower: self
                .haystack
                .get(s.lower.0 as usize..s.lower.1 as usize)
                .unwrap_or(""),
            kind: s.kind,
        }
    }

    /// Every value of a field.
    pub fn values(&self, id: FieldId) -> FieldIter<'_, 'a> {
        FieldIter {
            ev: self,
            link: self.heads.get(id as usize).copied().unwrap_or(NONE),
        }
    }

    /// Whether the field appears at all (even as null).
    pub fn has(&self, id: FieldId) -> bool {
        self.heads.get(id as usize).is_some_and(|&h| h != NONE)
    }

    /// All values of the event, in document order (keyword searches look at these).
    pub fn all_values(&self) -> impl Iterator<Item = FieldValue<'_>> {
        self.values.iter().map(|s| self.view(s))
    }

    /// The lower-case values joined by newlines: what the literal prefilter scans.
    pub fn haystack(&self) -> &str {
        &self.haystack
    }

    /// The first `Channel` value, as written.
    pub fn channel(&self) -> Option<&str> {
        let slot = self.values.get(self.channel? as usize)?;
        Some(self.view(slot).raw)
    }

    /// The first `EventID` value, when it is a whole number.
    pub fn event_id(&self) -> Option<i64> {
        let v = self.view(self.values.get(self.event_id? as usize)?);
        v.number().filter(|n| n.fract() == 0.0).map(|n| n as i64)
    }
}

/// Iterator over the values of one field.
pub struct FieldIter<'e, 'a> {
    ev: &'e Event<'a>,
    link: u32,
}

impl<'e, 'a> Iterator for FieldIter<'e, 'a> {
    type Item = FieldValue<'e>;

    fn next(&mut self) -> Option<Self::Item> {
        let (value, next) = *self.ev.links.get(self.link as usize)?;
        self.link = next;
        self.ev.values.get(value as usize).map(|s| self.ev.view(s))
    }
}

/// The standard name of a header field another shape writes differently: Winlogbeat/ECS
/// (`winlog.channel`, `winlog.event_id`, `winlog.provider_name`, `winlog.computer_name`,
/// `winlog.record_id`, `event.code`) and the flat NXLog/OTRF shape's top-level
/// `SourceName`, `Hostname` and `RecordNumber`. `path` ends with `key`.
fn canonical_header(path: &[&str], key: &str) -> Option<&'static str> {
    let parent = path.len().checked_sub(2).and_then(|i| path.get(i)).copied();
    match (parent, key) {
        (Some("winlog"), "channel") => Some("Channel"),
        (Some("winlog"), "event_id") | (Some("event"), "code") => Some("EventID"),
        (Some("winlog"), "provider_name") => Some("Provider_Name"),
        (Some("winlog"), "computer_name") => Some("Computer"),
        (Some("winlog"), "record_id") => Some("EventRecordID"),
        (None, "SourceName" | "ProviderName") => Some("Provider_Name"),
        (None, "Hostname") => Some("Computer"),
        (None, "RecordNumber") => Some("EventRecordID"),
        _ => None,
    }
}

impl<'a> Walker<'_, 'a> {
    /// Computes the derived fields whose first argument the event has.
    fn derive(&mut self) {
        let names = self.names;
        for (out, t, args) in &names.derived {
            let first = |id: &FieldId| self.ev.values(*id).next().map(|v| v.raw);
            if args.first().and_then(first).is_none() {
                continue;
            }
            let values: Vec<Option<&str>> = args.iter().map(first).collect();
            let Some(text) = crate::derive::apply(*t, &values) else {
                continue;
            };
            let idx = self.push_text(&text);
            self.link(*out, idx);
        }
    }

    /// A value the event computed (not in the document).
    fn push_text(&mut self, text: &str) -> u32 {
        let ev = &mut self.ev;
        let a = ev.own.len();
        ev.own.push_str(text);
        let start = ev.haystack.len();
        push_lower(&mut ev.haystack, text);
        let end = ev.haystack.len();
        ev.haystack.push('\n');
        ev.values.push(Slot {
            raw: Text::Own(a as u32, ev.own.len() as u32),
            lower: (start as u32, end as u32),
            kind: Kind::Str,
        });
        u32::try_from(ev.values.len() - 1).unwrap_or(NONE)
    }

    fn walk(&mut self, v: &'a Json, key: Option<&'a str>, depth: usize) {
        if depth > MAX_DEPTH {
            self.ev.truncated = true;
            return;
        }
        match v {
            Json::Object(map) => {
                // Header fields first, so they win over payload fields with the same name.
                if let Some(sys) = map.get("System") {
                    self.child("System", sys, depth);
                }
                for (k, child) in map {
                    match k.as_str() {
                        "System" => {}
                        "#attributes" => self.attributes(key, child),
                        "#text" => {
                            if let Some(key) = key {
                                self.walk(child, Some(key), depth + 1);
                            }
                        }
                        _ => self.child(k, child, depth),
                    }
                }
            }
            Json::Array(items) => {
                for item in items {
                    self.walk(item, key, depth + 1);
                }
            }
            scalar => {
                if let Some(key) = key {
                    self.leaf(key, scalar, true);
                }
            }
        }
    }

    fn child(&mut self, k: &'a str, child: &'a Json, depth: usize) {
        self.path.push(k);
        self.walk(child, Some(k), depth + 1);
        self.path.pop();
    }

    fn attributes(&mut self, owner: Option<&'a str>, attrs: &'a Json) {
        let (Some(owner), Json::Object(map)) = (owner, attrs) else {
            return;
        };
        for (attr, value) in map {
            if value.is_object() || value.is_array() {
                continue;
            }
            let mut name = std::mem::take(&mut self.buf);
            name.clear();
            name.push_str(owner);
            name.push('_');
            name.push_str(attr);
            let id = self.names.get(&name);
            self.buf = name;
            if let Some(id) = id {
                let idx = self.push_value(value);
                self.link(id, idx);
            }
        }
    }

    fn push_value(&mut self, v: &'a Json) -> u32 {
        let ev = &mut self.ev;
        let (raw, kind) = match v {
            Json::String(s) => (Text::Doc(s), Kind::Str),
            Json::Number(n) => {
                let a = ev.own.len();
                use std::fmt::Write as _;
                let _ = write!(ev.own, "{n}");
                (
                    Text::Own(a as u32, ev.own.len() as u32),
                    Kind::Num(n.as_f64().unwrap_or(f64::NAN)),
                )
            }
            Json::Bool(b) => (Text::Doc(if *b { "true" } else { "false" }), Kind::Bool),
            _ => (Text::Doc(""), Kind::Null),
        };
        let text = match raw {
            Text::Doc(t) => t,
            Text::Own(a, b) => ev.own.get(a as usize..b as usize).unwrap_or(""),
        };
        let start = ev.haystack.len();
        if kind != Kind::Null {
            push_lower(&mut ev.haystack, text);
        }
        let end = ev.haystack.len();
        if kind != Kind::Null {
            ev.haystack.push('\n');
        }
        ev.values.push(Slot {
            raw,
            lower: (start as u32, end as u32),
            kind,
        });
        u32::try_from(ev.values.len() - 1).unwrap_or(NONE)
    }

    fn leaf(&mut self, key: &'a str, v: &'a Json, with_path: bool) {
        let idx = self.push_value(v);
        // The same header whatever the shape: Winlogbeat's `winlog.channel`, the flat
        // shape's `SourceName`… answer to the names rules and the timeline use.
        let canonical = canonical_header(&self.path, key);
        if let Some(name) = canonical
            && let Some(id) = self.names.get(name)
        {
            self.link(id, idx);
        }
        let key_or_header = canonical.unwrap_or(key);
        if key_or_header == "Channel"
            && self.ev.channel.is_none()
            && self
                .ev
                .values
                .get(idx as usize)
                .is_some_and(|v| v.kind != Kind::Null)
        {
            self.ev.channel = Some(idx);
        }
        if key_or_header == "EventID" && self.ev.event_id.is_none() {
            self.ev.event_id = Some(idx);
        }
        if let Some(id) = self.names.get(key) {
            self.link(id, idx);
        }
        // Field names with spaces ("Source Name") are written without them in rules.
        if key.contains(' ') {
            let mut k = std::mem::take(&mut self.buf);
            k.clear();
            k.extend(key.chars().filter(|c| *c != ' '));
            if let Some(id) = self.names.get(&k) {
                self.link(id, idx);
            }
            self.buf = k;
        }
        if with_path && self.names.has_dotted && self.path.len() > 1 {
            let mut p = std::mem::take(&mut self.buf);
            p.clear();
            for (i, seg) in self.path.iter().enumerate() {
                if i > 0 {
                    p.push('.');
                }
                p.push_str(seg);
            }
            if p != key
                && let Some(id) = self.names.get(&p)
            {
                self.link(id, idx);
            }
            self.buf = p;
        }
    }

    fn link(&mut self, id: FieldId, value: u32) {
        let Some(head) = self.ev.heads.get_mut(id as usize) else {
            return;
        };
        // Append at the tail so values keep document order.
        let new = u32::try_from(self.ev.links.len()).unwrap_or(NONE);
        self.ev.links.push((value, NONE));
        if *head == NONE {
            *head = new;
            return;
        }
        let mut at = *head as usize;
        while let Some(&(_, next)) = self.ev.links.get(at) {
            if next == NONE {
                break;
            }
            at = next as usize;
        }
        if let Some(l) = self.ev.links.get_mut(at) {
            l.1 = new;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> FieldNames {
        let mut n = FieldNames::default();
        for l in list {
            n.intern(l);
        }
        n
    }

    #[test]
    fn evtx_shape() {
        let doc: Json = serde_json::from_str(
            r##"{"Event":{"#attributes":{"xmlns":"x"},"EventData":{"Image":"C:\\A.exe","Channel":"payload"},
            "System":{"Channel":"Security","EventID":{"#attributes":{"Qualifiers":16384},"#text":4688},
            "Provider":{"#attributes":{"Name":"Microsoft-Windows-Security-Auditing"}}}}}"##,
        )
        .unwrap_or_default();
        let n = names(&[
            "Image",
            "Channel",
            "EventID",
            "Provider_Name",
            "EventID_Qualifiers",
            "Event.EventData.Image",
        ]);
        let ev = Event::new(&doc, &n);
        let get = |f: &str| -> Vec<String> {
            n.get(f)
                .map(|id| ev.values(id).map(|v| v.raw.to_string()).collect())
                .unwrap_or_default()
        };
        assert_eq!(get("Image"), ["C:\\A.exe"]);
        assert_eq!(get("Event.EventData.Image"), ["C:\\A.exe"]);
        assert_eq!(get("Channel"), ["Security", "payload"]);
        assert_eq!(get("EventID"), ["4688"]);
        assert_eq!(
            get("Provider_Name"),
            ["Microsoft-Windows-Security-Auditing"]
        );
        assert_eq!(get("EventID_Qualifiers"), ["16384"]);
        assert_eq!(ev.channel(), Some("Security"));
        assert_eq!(ev.event_id(), Some(4688));
        assert!(ev.windows);
        assert!(ev.haystack().contains("c:\\a.exe"));
    }

    #[test]
    fn the_product_of_an_event_comes_from_its_channel_or_module() {
        let product = |doc: Json| Event::new(&doc, &names(&["Channel"])).product;
        let sysmon = |channel: &str| serde_json::json!({"Event": {"System": {"Channel": channel, "EventID": 1}}});
        assert_eq!(
            product(sysmon("Microsoft-Windows-Sysmon/Operational")),
            Some(Product::Windows)
        );
        // Sysmon for Linux: Windows' shape, a Linux host.
        assert_eq!(
            product(sysmon("Linux-Sysmon/Operational")),
            Some(Product::Linux)
        );
        assert_eq!(
            product(serde_json::json!({"event": {"module": "auditd"}})),
            Some(Product::Linux)
        );
        assert_eq!(
            product(serde_json::json!({"event": {"module": "zeek"}})),
            Some(Product::Zeek)
        );
        assert_eq!(product(serde_json::json!({"a": 1})), None);
    }

    #[test]
    fn flat_and_nested_json() {
        let doc: Json =
            serde_json::from_str(r#"{"process":{"command_line":"A B","args":["x","Y"]},"n":null}"#)
                .unwrap_or_default();
        let n = names(&["process.command_line", "command_line", "args", "n"]);
        let ev = Event::new(&doc, &n);
        let id = |f| n.get(f).unwrap_or(0);
        assert_eq!(ev.values(id("process.command_line")).count(), 1);
        assert_eq!(ev.values(id("command_line")).count(), 1);
        let args: Vec<_> = ev.values(id("args")).map(|v| v.lower.to_string()).collect();
        assert_eq!(args, ["x", "y"]);
        assert!(ev.has(id("n")));
        assert!(ev.values(id("n")).all(|v| v.is_null()));
        assert!(!ev.windows);
    }

    #[test]
    fn deep_documents_are_cut_not_overflowed() {
        let text = format!("{}1{}", "{\"a\":".repeat(100), "}".repeat(100));
        let doc: Json = serde_json::from_str(&text).unwrap_or(Json::Null);
        let ev = Event::new(&doc, &names(&["a"]));
        assert!(ev.truncated);
    }
}
