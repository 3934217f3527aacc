//! Which entity an event is partitioned by, and which partition a key lands in.
//!
//! Every detector keeps state per entity — a user's baseline, a host's correlation windows —
//! so all events of one entity must reach the one worker that holds its state. Producers key
//! each message by the entity and the log sends equal keys to the same partition:
//!
//! | event | key |
//! |---|---|
//! | user activity | `user:<user_id>` |
//! | Windows event (any JSON shape), Sysmon, ECS or syslog document | `host:<computer or host name, lower case>` |
//! | Zeek record, flow | `ip:<originating address>` |
//! | anything else | no key (any partition; only stateless rules read it) |
//!
//! The partition of a key is Kafka's default: murmur2 of the key's bytes, sign bit cleared,
//! modulo the partition count — what the Java client (and so Logstash, Vector's and Cribl's
//! Kafka sinks) and librdkafka's `murmur2_random` partitioner compute. `warden ship` sets
//! the partition itself with [`partition_for`], so any producer that keys by the same rule
//! lands each entity where Warden's own shipper would.

use serde_json::Value;
use warden_event::winlog::WinDoc;
use warden_event::{Input, Record};

/// The partition key of a typed record (see the module table).
pub fn entity_key(input: &Input) -> Option<String> {
    match &input.record {
        Record::Activity(a) => Some(format!("user:{}", a.user_id)),
        Record::Log(e) => document_key(&e.doc),
        Record::Flow(f) => Some(format!("ip:{}", f.record.origin.src_ip.as_deref()?)),
    }
}

/// The partition key of a JSON document that is not a user activity.
pub fn document_key(doc: &Value) -> Option<String> {
    if let Some(ip) = doc.get("id.orig_h").and_then(Value::as_str) {
        return Some(format!("ip:{ip}"));
    }
    if let Some(ip) = doc
        .get("id")
        .and_then(|id| id.get("orig_h"))
        .and_then(Value::as_str)
    {
        return Some(format!("ip:{ip}"));
    }
    let host = WinDoc::new(doc).computer().or_else(|| {
        let h = doc.get("host")?;
        h.get("name")
            .or_else(|| h.get("hostname"))
            .unwrap_or(h)
            .as_str()
            .map(str::to_owned)
    })?;
    (!host.is_empty()).then(|| format!("host:{}", host.to_ascii_lowercase()))
}

/// Kafka's murmur2 (the Java client's `Utils.murmur2`), as a `u32`.
pub fn murmur2(data: &[u8]) -> u32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let len = data.len();
    let mut h = SEED ^ (len as u32);
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    if rest.len() >= 3 {
        h ^= u32::from(rest[2]) << 16;
    }
    if rest.len() >= 2 {
        h ^= u32::from(rest[1]) << 8;
    }
    if let Some(&b) = rest.first() {
        h ^= u32::from(b);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h
}

/// The partition Kafka's default partitioner gives `key` among `partitions` (at least 1).
pub fn partition_for(key: &[u8], partitions: u32) -> u32 {
    (murmur2(key) & 0x7fff_ffff) % partitions.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use warden_event::{ActivityType, LogEvent, Timestamp, UserActivity};

    #[test]
    fn murmur2_agrees_with_the_java_client() {
        // Values from the Java client's own tests (UtilsTest.testMurmur2), as signed ints.
        let cases: [(&str, i32); 6] = [
            ("21", -973_932_308),
            ("foobar", -790_332_482),
            ("a-little-bit-long-string", -985_981_536),
            ("a-little-bit-longer-string", -1_486_304_829),
            (
                "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            ("abc", 479_470_107),
        ];
        for (s, want) in cases {
            assert_eq!(murmur2(s.as_bytes()) as i32, want, "{s:?}");
        }
    }

    #[test]
    fn partitions_are_in_range_and_stable() {
        for n in [1u32, 3, 12, 64] {
            for u in ["ana", "bo", "user0042", ""] {
                let p = partition_for(u.as_bytes(), n);
                assert!(p < n);
                assert_eq!(p, partition_for(u.as_bytes(), n));
            }
        }
        assert_eq!(partition_for(b"x", 0), 0);
    }

    #[test]
    fn keys_name_the_entity_that_owns_the_state() {
        let t = Timestamp::parse_rfc3339("2026-04-02T09:00:00Z").unwrap();
        let a = Input::activity(UserActivity::new("ana", ActivityType::Login, t), 10);
        assert_eq!(entity_key(&a).as_deref(), Some("user:ana"));
        let evtx = json!({"Event": {"System": {"Computer": "DC01.corp.local", "EventID": 4624}}});
        let log = Input::log(LogEvent::of(evtx), 10);
        assert_eq!(entity_key(&log).as_deref(), Some("host:dc01.corp.local"));
        let beat = json!({"winlog": {"computer_name": "WS7"}, "event": {"code": "1"}});
        assert_eq!(document_key(&beat).as_deref(), Some("host:ws7"));
        let ecs = json!({"host": {"name": "web-1"}, "message": "x"});
        assert_eq!(document_key(&ecs).as_deref(), Some("host:web-1"));
        let zeek = json!({"_path": "conn", "id.orig_h": "10.0.0.5"});
        assert_eq!(document_key(&zeek).as_deref(), Some("ip:10.0.0.5"));
        let nested = json!({"id": {"orig_h": "10.0.0.6"}});
        assert_eq!(document_key(&nested).as_deref(), Some("ip:10.0.0.6"));
        assert_eq!(document_key(&json!({"message": "no entity"})), None);
    }
}
