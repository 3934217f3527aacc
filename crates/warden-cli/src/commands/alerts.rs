//! `warden alerts list`.

use crate::cli::AlertsCommand;
use anyhow::{Result, bail};
use std::io::Write;
use warden_store::{AlertQuery, Store};

pub fn run(cmd: &AlertsCommand) -> Result<()> {
    let AlertsCommand::List {
        store,
        level,
        user,
        since,
        limit,
        json,
    } = cmd;
    if !store.exists() {
        bail!(
            "store {} does not exist; create it with `warden detect --store {} INPUT`",
            store.display(),
            store.display()
        );
    }
    // Stored times are UTC RFC 3339, compared as text: normalise what the user gave.
    let since = match since.as_deref() {
        None => None,
        Some(s) if is_date(s) => Some(s.to_owned()),
        Some(s) => match warden_event::Timestamp::parse_rfc3339(s) {
            Some(t) => Some(t.to_rfc3339()),
            None => bail!(
                "--since `{s}`: expected an RFC 3339 time (2026-04-02T00:00:00Z) or a date (2026-04-02)"
            ),
        },
    };
    let st = Store::open(store)?;
    let alerts = st.list_alerts(&AlertQuery {
        min_level: *level,
        user: user.clone(),
        since,
        limit: *limit,
    })?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if *json {
        for a in &alerts {
            writeln!(out, "{}", serde_json::to_string(a)?)?;
        }
        return Ok(());
    }
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::UTF8_BORDERS_ONLY);
    t.set_header(["time", "user", "level", "score", "anomalies", "event"]);
    for a in &alerts {
        t.add_row([
            a.timestamp.clone(),
            a.user_id.clone(),
            a.threat_level.clone(),
            format!("{:.1}", a.threat_score),
            a.primary_anomalies.join(", "),
            a.event_id.clone(),
        ]);
    }
    writeln!(out, "{t}")?;
    writeln!(out, "{} alert(s)", alerts.len())?;
    Ok(())
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && s.chars().filter(char::is_ascii_digit).count() == 8
}
