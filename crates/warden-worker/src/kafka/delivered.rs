//! The alert topic as the record of what was delivered. Alerts raised from input partition
//! `p` go to the alert topic's partition `p`, each with a header naming the input message it
//! came from (`warden.source: <topic>:<offset>`). One worker owns `p` at a time and its
//! alerts follow input order, so the last alerts of that partition say up to where alerts
//! were delivered — also those a worker delivered and was killed before committing. A new
//! owner delivers only after that point: a takeover repeats no alert.

use std::collections::BTreeMap;

use rdkafka::message::{Header, Headers, Message, OwnedHeaders};

use super::KafkaError;
use super::changelog::Changelog;

/// The header naming an alert's input message.
pub const SOURCE_HEADER: &str = "warden.source";

/// Messages read back from the end of an alert partition (more than one: some brokers list
/// a partition's end short of its last batch, and the read goes on to the real end).
const LOOKBACK: i64 = 16;

/// The header value of an alert raised by `topic`'s message at `offset`.
pub fn source_header(topic: &str, offset: i64) -> OwnedHeaders {
    let value = format!("{topic}:{offset}");
    OwnedHeaders::new().insert(Header {
        key: SOURCE_HEADER,
        value: Some(value.as_bytes()),
    })
}

/// `(topic, offset)` from a header value.
pub fn parse_source(value: &[u8]) -> Option<(String, i64)> {
    let text = std::str::from_utf8(value).ok()?;
    let (topic, offset) = text.rsplit_once(':')?;
    Some((topic.to_owned(), offset.parse().ok()?))
}

/// The source of a message's alert, when it carries one.
pub fn source_of<M: Message>(m: &M) -> Option<(String, i64)> {
    let headers = m.headers()?;
    headers
        .iter()
        .find(|h| h.key == SOURCE_HEADER)
        .and_then(|h| parse_source(h.value?))
}

/// Per input topic, the offset of the last input message whose alerts are on the alert
/// topic's partition `partition`.
pub fn delivered_through(
    reader: &Changelog,
    alert_topic: &str,
    partition: i32,
) -> Result<BTreeMap<String, i64>, KafkaError> {
    let (low, high) = reader.watermarks(alert_topic, partition)?;
    let mut out = BTreeMap::new();
    if high <= low {
        return Ok(out);
    }
    reader.read_from(
        alert_topic,
        partition,
        (high - LOOKBACK).max(low),
        None,
        |m| {
            if let Some((topic, offset)) = source_of(m) {
                let e = out.entry(topic).or_insert(offset);
                *e = (*e).max(offset);
            }
        },
    )?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_header_round_trips() {
        let h = source_header("act.v2", 1234);
        let v = h.get(0);
        assert_eq!(v.key, SOURCE_HEADER);
        assert_eq!(
            parse_source(v.value.unwrap()),
            Some(("act.v2".into(), 1234))
        );
        assert_eq!(parse_source(b"no-offset"), None);
        assert_eq!(parse_source(b"t:x"), None);
        assert_eq!(parse_source(&[0xff, b':', b'1']), None);
    }
}
