//! One record classifier for every source: a JSON document becomes a typed
//! [`Record`] — a user activity when it names an activity type or a user id, else (when
//! log events are wanted) a log document for the rules — under the same limits whatever
//! carried it (a file line, an HTTP body's event, a log topic's message).

use serde_json::Value;
use warden_event::{Input, LogEvent, Record, Timestamp, UserActivity};

use crate::{ErrorKind, FieldAliases};

/// Limits and switches of the classifier.
#[derive(Debug, Clone)]
pub struct ClassifyOptions {
    /// Whether documents that are not user activities are kept as log events (rules are
    /// loaded); otherwise every document is read as an activity.
    pub logs: bool,
    /// Longest user id accepted, in bytes.
    pub max_user_id: usize,
    /// Deepest JSON nesting accepted in a log document.
    pub max_depth: usize,
    /// A record dated more than this many seconds after this machine's clock is refused
    /// (0: no bound; what the service and the workers set, not the file readers, which
    /// may read logs on a machine whose clock is not the logs').
    pub max_future_secs: u64,
}

impl Default for ClassifyOptions {
    fn default() -> Self {
        ClassifyOptions {
            logs: false,
            max_user_id: 256,
            max_depth: 64,
            max_future_secs: 0,
        }
    }
}

/// Whether a JSON object is a user activity rather than a log event: it names an activity
/// type or a user id.
pub fn is_activity(v: &Value) -> bool {
    v.get("activity_type").is_some() || v.get("user_id").is_some()
}

/// Classifies one JSON document (raw bytes, one event).
pub fn classify(
    raw: &[u8],
    aliases: &FieldAliases,
    opts: &ClassifyOptions,
) -> Result<Input, ErrorKind> {
    if opts.logs
        && let Ok(v) = serde_json::from_slice::<Value>(raw)
        && v.is_object()
        && !is_activity(&v)
    {
        if depth(&v) > opts.max_depth {
            return Err(ErrorKind::BadField {
                field: "event",
                reason: format!("nested deeper than {} levels", opts.max_depth),
            });
        }
        return dated_now_or_before(Input::log(LogEvent::of(v), raw.len()), opts);
    }
    let a = crate::jsonl::parse_activity(raw, aliases)?;
    check_activity(&a, opts)?;
    dated_now_or_before(Input::activity(a, raw.len()), opts)
}

/// The record, unless it is dated more than `max_future_secs` after this machine's
/// clock: one event from the far future would move a tenant's windows (network
/// findings, the graph's learning, a user's session) past every real one.
fn dated_now_or_before(input: Input, opts: &ClassifyOptions) -> Result<Input, ErrorKind> {
    let max = opts.max_future_secs;
    let Some(t) = input.latest_time().filter(|_| max > 0) else {
        return Ok(input);
    };
    let now = Timestamp::now();
    let max_ms = i64::try_from(max).unwrap_or(i64::MAX).saturating_mul(1000);
    if t.millis() <= now.millis().saturating_add(max_ms) {
        return Ok(input);
    }
    Err(ErrorKind::BadField {
        field: "timestamp",
        reason: format!(
            "{} is more than {} h after this machine's clock ({})",
            t.to_rfc3339(),
            max / 3600,
            now.to_rfc3339()
        ),
    })
}

fn check_activity(a: &UserActivity, opts: &ClassifyOptions) -> Result<(), ErrorKind> {
    if a.user_id.len() > opts.max_user_id {
        return Err(ErrorKind::BadField {
            field: "user_id",
            reason: format!("at most {} bytes", opts.max_user_id),
        });
    }
    Ok(())
}

/// How deeply a JSON value nests (a scalar is 0), without recursion.
fn depth(v: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(v, 0usize)];
    while let Some((v, d)) = stack.pop() {
        deepest = deepest.max(d);
        match v {
            Value::Array(a) => stack.extend(a.iter().map(|x| (x, d + 1))),
            Value::Object(o) => stack.extend(o.values().map(|x| (x, d + 1))),
            _ => {}
        }
    }
    deepest
}

/// The record's kind, for counting.
pub fn kind_name(r: &Record) -> &'static str {
    match r {
        Record::Activity(_) => "activity",
        Record::Log(_) => "log",
        Record::Flow(_) => "flow",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(logs: bool) -> ClassifyOptions {
        ClassifyOptions {
            logs,
            ..ClassifyOptions::default()
        }
    }

    #[test]
    fn activities_and_log_events_are_told_apart() {
        let a = FieldAliases::default();
        let act =
            br#"{"user_id":"ana","timestamp":"2026-04-02T01:58:06Z","activity_type":"login"}"#;
        let log = br#"{"EventID":4688,"CommandLine":"whoami"}"#;
        assert!(matches!(
            classify(act, &a, &opts(true)).map(|i| i.record),
            Ok(Record::Activity(_))
        ));
        let i = classify(log, &a, &opts(true)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(i.size, log.len());
        assert_eq!(kind_name(&i.record), "log");
        // Without rules, everything is an activity: the log event lacks a user.
        assert!(matches!(
            classify(log, &a, &opts(false)),
            Err(ErrorKind::MissingField(_))
        ));
    }

    #[test]
    fn limits_hold_for_every_kind() {
        let a = FieldAliases::default();
        let long = format!(
            r#"{{"user_id":"{}","timestamp":"2026-04-02T01:58:06Z"}}"#,
            "u".repeat(300)
        );
        let e = classify(long.as_bytes(), &a, &opts(true)).err();
        assert!(e.is_some_and(|e| e.to_string().contains("user_id")));
        let deep = format!("{}1{}", r#"{"a":"#.repeat(70), "}".repeat(70));
        let e = classify(deep.as_bytes(), &a, &opts(true)).err();
        assert!(
            e.is_some_and(|e| e.to_string().contains("nested")),
            "{deep}"
        );
    }
}
