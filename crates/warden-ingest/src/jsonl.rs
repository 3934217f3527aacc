//! JSON Lines: one object per line, any field names the alias table knows, nested objects
//! matched by dotted aliases. Keys are resolved while parsing, without building a generic
//! JSON tree, which keeps this the fast path.

use crate::fields::{ActivityBuilder, Field, FieldAliases, KeyMatch, Scalar};
use crate::lines::{Line, LineReader};
use crate::{ErrorKind, IngestError, Record};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use std::borrow::Cow;
use std::fmt;
use std::io::BufRead;
use warden_event::UserActivity;

/// Parses one JSON object into an activity. The outer `Result` is JSON syntax, the inner one
/// the record's content.
pub fn parse_activity(line: &[u8], aliases: &FieldAliases) -> Result<UserActivity, ErrorKind> {
    // One check of the whole line lets the parser take every string as it is; checking
    // each string apart (what a byte slice asks of it) costs a call per key and value. A
    // line that is not UTF-8 throughout is parsed as bytes, so that bad bytes in a field
    // nobody reads are still skipped as before.
    match std::str::from_utf8(line) {
        Ok(text) => parse_with(serde_json::Deserializer::from_str(text), aliases),
        Err(_) => parse_with(serde_json::Deserializer::from_slice(line), aliases),
    }
}

fn parse_with<'de, R: serde_json::de::Read<'de>>(
    mut de: serde_json::Deserializer<R>,
    aliases: &FieldAliases,
) -> Result<UserActivity, ErrorKind> {
    let builder = ObjectSeed {
        aliases,
        prefix: None,
        builder: ActivityBuilder::new(),
    }
    .deserialize(&mut de)
    .map_err(json_error)?;
    de.end().map_err(json_error)?;
    builder.finish()
}

fn json_error(e: serde_json::Error) -> ErrorKind {
    let msg = e.to_string();
    if msg.contains("invalid unicode") || msg.contains("UTF-8") {
        ErrorKind::Utf8
    } else {
        ErrorKind::Json(msg)
    }
}

struct ObjectSeed<'a> {
    aliases: &'a FieldAliases,
    prefix: Option<String>,
    builder: ActivityBuilder,
}

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_> {
    type Value = ActivityBuilder;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed<'_> {
    type Value = ActivityBuilder;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Self::Value, A::Error> {
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let full: Cow<'_, str> = match &self.prefix {
                Some(p) => Cow::Owned(format!("{p}.{key}")),
                None => Cow::Borrowed(key.as_ref()),
            };
            match self.aliases.resolve(&full) {
                KeyMatch::Field(field) => {
                    let value: ScalarValue<'de> = map.next_value()?;
                    self.builder.set(field, value.0);
                }
                KeyMatch::Prefix | KeyMatch::FieldOrPrefix(_) => {
                    let field = match self.aliases.resolve(&full) {
                        KeyMatch::FieldOrPrefix(f) => Some(f),
                        _ => None,
                    };
                    let prefix = full.to_ascii_lowercase();
                    self.builder = map.next_value_seed(NestedSeed {
                        aliases: self.aliases,
                        prefix,
                        field,
                        builder: self.builder,
                    })?;
                }
                KeyMatch::Unknown => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(self.builder)
    }
}

/// A value under a prefix key: an object is descended into; a scalar sets `field` when the
/// key is also a field's alias, and is ignored otherwise.
struct NestedSeed<'a> {
    aliases: &'a FieldAliases,
    prefix: String,
    field: Option<Field>,
    builder: ActivityBuilder,
}

impl NestedSeed<'_> {
    fn scalar(mut self, value: Scalar<'_>) -> ActivityBuilder {
        if let Some(f) = self.field {
            self.builder.set(f, value);
        }
        self.builder
    }
}

impl<'de> DeserializeSeed<'de> for NestedSeed<'_> {
    type Value = ActivityBuilder;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NestedSeed<'_> {
    type Value = ActivityBuilder;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        ObjectSeed {
            aliases: self.aliases,
            prefix: Some(self.prefix),
            builder: self.builder,
        }
        .visit_map(map)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(self.builder)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(self.builder)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(self.builder)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(self.scalar(Scalar::Bool(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(self.scalar(Scalar::Num(v as f64)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(self.scalar(Scalar::Num(v as f64)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(self.scalar(Scalar::Num(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.scalar(Scalar::Str(Cow::Borrowed(v))))
    }
}

/// An object's key, borrowed from the input unless it holds escapes (`Cow<str>`'s own
/// `Deserialize` always copies).
struct Key<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Key(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Key(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Key(Cow::Owned(v)))
    }
}

/// A scalar JSON value, borrowed from the input where possible.
struct ScalarValue<'a>(Scalar<'a>);

impl<'de> de::Deserialize<'de> for ScalarValue<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = ScalarValue<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a scalar")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(ScalarValue(Scalar::Str(Cow::Borrowed(v))))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(ScalarValue(Scalar::Str(Cow::Owned(v.to_owned()))))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(ScalarValue(Scalar::Str(Cow::Owned(v))))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(ScalarValue(Scalar::Num(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(ScalarValue(Scalar::Num(v as f64)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(ScalarValue(Scalar::Num(v as f64)))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(ScalarValue(Scalar::Bool(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(ScalarValue(Scalar::Null))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(ScalarValue(Scalar::Null))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(ScalarValue(Scalar::Nested))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(ScalarValue(Scalar::Nested))
    }
}

/// Iterates the records of one JSON Lines input. Blank lines are skipped silently.
pub struct JsonLinesReader {
    name: String,
    lines: LineReader<Box<dyn BufRead + Send>>,
    compression: &'static str,
    aliases: FieldAliases,
    limit: usize,
    buf: Vec<u8>,
    done: bool,
}

impl JsonLinesReader {
    pub fn new(
        name: String,
        reader: Box<dyn BufRead + Send>,
        compression: &'static str,
        aliases: FieldAliases,
        limit: usize,
    ) -> Self {
        Self {
            name,
            lines: LineReader::new(reader, limit),
            compression,
            aliases,
            limit,
            buf: Vec::with_capacity(4096),
            done: false,
        }
    }
}

impl Iterator for JsonLinesReader {
    type Item = Result<Record, IngestError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let line = match self.lines.next_line(&mut self.buf) {
                Ok(Some(l)) => l,
                Ok(None) => {
                    self.done = true;
                    return None;
                }
                Err(source) => {
                    self.done = true;
                    let kind = ErrorKind::Read {
                        compression: self.compression,
                        source,
                    };
                    return Some(Err(IngestError::new(
                        &self.name,
                        self.lines.line_no() + 1,
                        kind,
                    )));
                }
            };
            let line_no = match line {
                Line::Ok(n) => n,
                Line::TooLong(n, length) => {
                    let kind = ErrorKind::LineTooLong {
                        length,
                        limit: self.limit,
                    };
                    return Some(Err(IngestError::new(&self.name, n, kind)));
                }
            };
            if line_no == 1 && self.buf.starts_with(b"\xef\xbb\xbf") {
                self.buf.drain(..3); // UTF-8 byte-order mark
            }
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Some(
                parse_activity(&self.buf, &self.aliases)
                    .map(|activity| Record {
                        activity,
                        line: line_no,
                    })
                    .map_err(|kind| IngestError::new(&self.name, line_no, kind)),
            );
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(s: &str) -> Result<UserActivity, ErrorKind> {
        parse_activity(s.as_bytes(), &FieldAliases::default())
    }

    #[test]
    fn schema_line() {
        let a = parse(r#"{"event_id":"e1","user_id":"u1","activity_type":"download","timestamp":"2026-04-02T01:58:06Z","location":"Singapore, SG","latitude":1.35,"longitude":103.8,"device_fingerprint":"ab","device_name":"iPhone 15","ip_address":"1.2.3.4","resource_accessed":"crm","data_transferred_gb":3.85,"duration_seconds":12,"success":true,"user_agent":"UA","extra":{"x":[1,2]}}"#).unwrap();
        assert_eq!(a.event_id.as_deref(), Some("e1"));
        assert_eq!(a.activity_type, warden_event::ActivityType::Download);
        assert_eq!(a.country(), Some("SG"));
        assert!((a.data_transferred_gb - 3.85).abs() < 1e-12);
    }

    #[test]
    fn ecs_nested_fields() {
        let a = parse(r#"{"@timestamp":"2026-04-02T01:58:06Z","user":{"name":"alice"},"source":{"ip":"10.0.0.1","geo":{"location":{"lat":1.0,"lon":2.0}}},"event":{"action":"logon","outcome":"failure"}}"#).unwrap();
        assert_eq!(a.user_id, "alice");
        assert_eq!(a.ip_address.as_deref(), Some("10.0.0.1"));
        assert_eq!(a.coordinates(), Some((1.0, 2.0)));
        assert!(!a.success);
        assert_eq!(a.activity_type, warden_event::ActivityType::Login);
    }

    #[test]
    fn keys_with_escapes_and_bad_bytes_where_nobody_reads() {
        // A key written with an escape is the same key (it cannot be borrowed as it is).
        let a = parse(r#"{"user\u005fid":"alice","TimeStamp":"2026-04-02T01:58:06Z","user":{"n\u0061me":"x"}}"#)
            .unwrap();
        assert_eq!(a.user_id, "x", "the nested alias is read last and wins");
        let a = parse(r#"{"user\u005fid":"alice","timestamp":"2026-04-02T01:58:06Z"}"#).unwrap();
        assert_eq!(a.user_id, "alice");
        // Bytes that are not UTF-8 in a field no alias names do not cost the record; in
        // a field that is read they are the record's error.
        let line =
            b"{\"note\":\"\xff\xfe\",\"user_id\":\"bob\",\"timestamp\":\"2026-04-02T01:58:06Z\"}";
        let a = parse_activity(line, &FieldAliases::default()).unwrap();
        assert_eq!(a.user_id, "bob");
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(matches!(parse("{"), Err(ErrorKind::Json(_))));
        assert!(matches!(parse("[1,2]"), Err(ErrorKind::Json(_))));
        assert!(matches!(
            parse(r#"{"user_id":"u"} trailing"#),
            Err(ErrorKind::Json(_))
        ));
        let e = parse(r#"{"user_id":"u","timestamp":"2026-04-02T01:58:06Z","latitude":{"a":1}}"#)
            .unwrap_err();
        assert!(e.to_string().contains("`latitude`"));
        let e = parse(r#"{"user_id":["u"],"timestamp":1}"#).unwrap_err();
        assert!(e.to_string().contains("`user_id`"));
        assert!(matches!(
            parse_activity(b"{\"user_id\":\"\xff\"}", &FieldAliases::default()),
            Err(ErrorKind::Utf8)
        ));
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = parse_activity(&data, &FieldAliases::default());
        }

        #[test]
        fn round_trips_generated_records(user in "[a-z0-9._-]{1,20}", secs in 0i64..4_000_000_000, gb in 0.0f64..1e4, lat in -90.0f64..90.0) {
            let line = serde_json::json!({"user_id": user, "timestamp": secs, "data_transferred_gb": gb, "latitude": lat}).to_string();
            let a = parse(&line).unwrap();
            prop_assert_eq!(a.user_id, user);
            prop_assert_eq!(a.timestamp.millis(), secs * 1000);
            prop_assert!((a.data_transferred_gb - gb).abs() <= gb * 1e-12);
            prop_assert!((a.latitude.unwrap() - lat).abs() < 1e-9);
        }
    }
}

#[cfg(test)]
mod bom_tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn a_byte_order_mark_does_not_cost_the_first_record() {
        let data = b"\xef\xbb\xbf{\"user_id\":\"a\",\"timestamp\":1000000000}\n".to_vec();
        let r = JsonLinesReader::new(
            "b.jsonl".into(),
            Box::new(Cursor::new(data)),
            "plain",
            FieldAliases::default(),
            1024,
        );
        let got: Vec<_> = r.collect();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].as_ref().unwrap().activity.user_id, "a");
    }
}
