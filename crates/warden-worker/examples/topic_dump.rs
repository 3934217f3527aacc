//! Prints every message of a topic (one per line) and, on stderr, their
//! count: `cargo run -p warden-worker --features kafka --example topic_dump -- BROKERS TOPIC`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use warden_worker::kafka::{KafkaSettings, read_topic};

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, brokers, topic] = args.as_slice() else {
        eprintln!("usage: topic_dump BROKERS TOPIC");
        return std::process::ExitCode::from(2);
    };
    let settings = KafkaSettings::new(brokers);
    let messages = read_topic(&settings, topic).unwrap();
    for m in &messages {
        println!("{}", String::from_utf8_lossy(m));
    }
    eprintln!("{} messages", messages.len());
    std::process::ExitCode::SUCCESS
}
