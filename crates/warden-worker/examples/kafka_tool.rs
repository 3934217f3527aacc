//! Two looks at a Kafka topic, for the benchmarks and for operators:
//!
//! - `kafka_tool dump BROKERS TOPIC`: every message, one JSON line each
//!   (`{"partition":…,"offset":…,"timestamp_ms":…,"key":…,"value":…}`, the value as text),
//!   and the count on stderr;
//! - `kafka_tool committed BROKERS GROUP TOPIC`: the group's committed offsets, summed.
//!
//! `cargo run --release -p warden-worker --features kafka --example kafka_tool -- …`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::ExitCode;

use warden_worker::kafka::{KafkaSettings, committed_total, read_topic_with};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    match argv.as_slice() {
        [_, "dump", brokers, topic] => {
            let settings = KafkaSettings::new(brokers);
            let out = std::io::stdout();
            let mut out = std::io::BufWriter::new(out.lock());
            let mut n = 0u64;
            read_topic_with(&settings, topic, |m| {
                n += 1;
                let line = serde_json::json!({
                    "partition": m.partition,
                    "offset": m.offset,
                    "timestamp_ms": m.timestamp_ms,
                    "key": m.key.as_deref().map(String::from_utf8_lossy),
                    "value": String::from_utf8_lossy(&m.value),
                });
                writeln!(out, "{line}").unwrap();
            })
            .unwrap();
            out.flush().unwrap();
            eprintln!("{n} messages");
            ExitCode::SUCCESS
        }
        [_, "committed", brokers, group, topic] => {
            let settings = KafkaSettings::new(brokers);
            println!("{}", committed_total(&settings, group, topic).unwrap());
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("usage: kafka_tool dump BROKERS TOPIC | committed BROKERS GROUP TOPIC");
            ExitCode::from(2)
        }
    }
}
