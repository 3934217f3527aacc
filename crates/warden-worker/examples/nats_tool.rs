//! Two looks at a JetStream stream, for the benchmarks and for operators:
//!
//! - `nats_tool dump SERVERS STREAM`: every message, one JSON line each
//!   (`{"subject":…,"sequence":…,"source":…,"stored_ms":…,"value":…}`, the value as text),
//!   and the count on stderr;
//! - `nats_tool pending SERVERS STREAM GROUP`: messages the group has not acknowledged
//!   (`-` while a partition has no consumer yet).
//!
//! `cargo run --release -p warden-worker --features nats --example nats_tool -- …`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::ExitCode;

use warden_worker::nats::NatsSettings;
use warden_worker::nats::inspect::{read_stream_blocking, unacknowledged_blocking};

fn settings(servers: &str) -> NatsSettings {
    NatsSettings {
        servers: servers.to_owned(),
        ..NatsSettings::default()
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    match argv.as_slice() {
        [_, "dump", servers, stream] => {
            let messages = read_stream_blocking(&settings(servers), stream).unwrap();
            let out = std::io::stdout();
            let mut out = std::io::BufWriter::new(out.lock());
            for m in &messages {
                let line = serde_json::json!({
                    "subject": m.subject,
                    "sequence": m.sequence,
                    "source": m.source,
                    "stored_ms": m.stored_ms,
                    "value": String::from_utf8_lossy(&m.payload),
                });
                writeln!(out, "{line}").unwrap();
            }
            out.flush().unwrap();
            eprintln!("{} messages", messages.len());
            ExitCode::SUCCESS
        }
        [_, "pending", servers, stream, group] => {
            match unacknowledged_blocking(&settings(servers), stream, group).unwrap() {
                Some(n) => println!("{n}"),
                None => println!("-"),
            }
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("usage: nats_tool dump SERVERS STREAM | pending SERVERS STREAM GROUP");
            ExitCode::from(2)
        }
    }
}
