//! The OTRF data sets (flat JSON, as the project exports them) hunted with the SigmaHQ
//! Windows rules in each JSON shape a Windows event comes in: the flat shape as shipped,
//! and the same events converted here to the `evtx_dump` shape, the Winlogbeat shape and
//! XML as `wevtutil` writes it.
//! Every shape must give the same detections, each naming its computer and its record (or,
//! where the export dropped record numbers, its line). Skipped, with a message, where the
//! shared data or `unzip` is absent.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::{Map, Value, json};

use super::{root, run};

/// Small data sets covering Security 4688 and 5156, System 7045, Sysmon and PowerShell,
/// with and without record numbers.
const DATASETS: [&str; 3] = [
    "credential_access/host/psh_lsass_memory_dump_comsvcs.zip",
    "defense_evasion/host/cmd_mshta_vbscript_execute_psh.zip",
    "lateral_movement/host/empire_psexec_dcerpc_tcp_svcctl.zip",
];

/// Header fields of the flat shape, and where the other shapes keep them.
const HEADER: [&str; 7] = [
    "EventID",
    "Channel",
    "Hostname",
    "RecordNumber",
    "SourceName",
    "@timestamp",
    "TimeCreated",
];

fn to_evtx(flat: &Map<String, Value>) -> Value {
    let mut system = Map::new();
    let mut data = Map::new();
    for (k, v) in flat {
        match k.as_str() {
            "EventID" => {
                system.insert("EventID".into(), v.clone());
            }
            "Channel" => {
                system.insert("Channel".into(), v.clone());
            }
            "Hostname" => {
                system.insert("Computer".into(), v.clone());
            }
            "RecordNumber" => {
                system.insert("EventRecordID".into(), v.clone());
            }
            "SourceName" => {
                system.insert("Provider".into(), json!({"#attributes": {"Name": v}}));
            }
            "@timestamp" => {
                system.insert(
                    "TimeCreated".into(),
                    json!({"#attributes": {"SystemTime": v}}),
                );
            }
            "TimeCreated" => {}
            _ => {
                data.insert(k.clone(), v.clone());
            }
        }
    }
    json!({"Event": {"System": system, "EventData": data}})
}

fn to_winlogbeat(flat: &Map<String, Value>) -> Value {
    let mut winlog = Map::new();
    let mut data = Map::new();
    let mut top = Map::new();
    for (k, v) in flat {
        match k.as_str() {
            "EventID" => {
                winlog.insert("event_id".into(), v.clone());
                top.insert("event".into(), json!({"code": v.to_string()}));
            }
            "Channel" => {
                winlog.insert("channel".into(), v.clone());
            }
            "Hostname" => {
                winlog.insert("computer_name".into(), v.clone());
            }
            "RecordNumber" => {
                winlog.insert("record_id".into(), v.clone());
            }
            "SourceName" => {
                winlog.insert("provider_name".into(), v.clone());
            }
            "@timestamp" => {
                top.insert("@timestamp".into(), v.clone());
            }
            "TimeCreated" => {}
            _ => {
                data.insert(k.clone(), v.clone());
            }
        }
    }
    winlog.insert("event_data".into(), Value::Object(data));
    top.insert("winlog".into(), Value::Object(winlog));
    Value::Object(top)
}

fn xml_escape(v: &Value) -> String {
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The event as `wevtutil qe /f:xml` writes it, on one line.
fn to_xml(flat: &Map<String, Value>) -> String {
    let get = |k: &str| flat.get(k).map(xml_escape).unwrap_or_default();
    let mut x = String::from(
        "<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\"><System>",
    );
    x += &format!("<Provider Name=\"{}\"/>", get("SourceName"));
    x += &format!("<EventID>{}</EventID>", get("EventID"));
    x += &format!("<TimeCreated SystemTime=\"{}\"/>", get("@timestamp"));
    if flat.contains_key("RecordNumber") {
        x += &format!("<EventRecordID>{}</EventRecordID>", get("RecordNumber"));
    }
    x += &format!(
        "<Channel>{}</Channel><Computer>{}</Computer></System><EventData>",
        get("Channel"),
        get("Hostname")
    );
    for (k, v) in flat {
        if !HEADER.contains(&k.as_str()) {
            x += &format!(
                "<Data Name=\"{}\">{}</Data>",
                xml_escape(&json!(k)),
                xml_escape(v)
            );
        }
    }
    x + "</EventData></Event>"
}

/// (rule, computer, record or line, EventID) → count, for one hunt's output.
type Detections = BTreeMap<(String, String, String, String), usize>;

/// The place of the event a cited line starts.
type EventAt<'a> = dyn Fn(u64) -> u64 + 'a;

/// `event_at` turns the line a detection cites into the event's place in the input (the
/// same in every shape; XML events span several lines where values hold line breaks).
fn hunt(rules: &Path, input: &Path, event_at: &EventAt<'_>) -> Detections {
    let hunting = rules.join("../../rules-threat-hunting/windows");
    let (code, out, err) = run(&[
        "hunt",
        "-q",
        "--rules",
        rules.to_str().unwrap(),
        "--rules",
        hunting.to_str().unwrap(),
        "--format",
        "jsonl",
        input.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let mut found = Detections::new();
    for line in out.lines() {
        let d: Value = serde_json::from_str(line).unwrap();
        let computer = d["computer"].as_str().unwrap_or_default().to_owned();
        assert!(
            !computer.is_empty(),
            "a detection without its computer: {d}"
        );
        let at = match (d["record_id"].as_u64(), d["line"].as_u64()) {
            (Some(r), _) => format!("record {r}"),
            (None, Some(l)) => format!("event {}", event_at(l)),
            (None, None) => panic!("a detection naming neither record nor line: {d}"),
        };
        let key = (
            d["rule_id"].as_str().unwrap_or_default().to_owned(),
            computer,
            at,
            d["event_id"].to_string(),
        );
        *found.entry(key).or_default() += 1;
    }
    found
}

#[test]
fn otrf_detections_are_the_same_in_every_shape_and_name_their_event() {
    let otrf = root().join("../shared/data/otrf");
    let rules = root().join("../shared/data/sigma/rules/windows");
    if !otrf.exists() || !rules.exists() {
        eprintln!("skipped: {} or the SigmaHQ rules not found", otrf.display());
        return;
    }
    if Command::new("unzip").arg("-v").output().is_err() {
        eprintln!("skipped: `unzip` is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut flat_lines = Vec::new();
    for name in DATASETS {
        let out = Command::new("unzip")
            .arg("-p")
            .arg(otrf.join(name))
            .output()
            .unwrap();
        assert!(out.status.success(), "unzip {name}");
        flat_lines.extend(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_owned),
        );
    }
    let docs: Vec<Map<String, Value>> = flat_lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(docs.iter().all(|d| d.contains_key(HEADER[0])));
    let write = |name: &str, lines: Vec<String>| {
        let p = dir.path().join(name);
        std::fs::write(&p, lines.join("\n") + "\n").unwrap();
        p
    };
    let flat = write("flat.jsonl", flat_lines.clone());
    let evtx = write(
        "evtx.jsonl",
        docs.iter().map(|d| to_evtx(d).to_string()).collect(),
    );
    let beat = write(
        "winlogbeat.jsonl",
        docs.iter().map(|d| to_winlogbeat(d).to_string()).collect(),
    );
    let xml_docs: Vec<String> = docs.iter().map(to_xml).collect();
    // The line each XML event starts on.
    let mut starts = Vec::with_capacity(xml_docs.len());
    let mut line = 1u64;
    for x in &xml_docs {
        starts.push(line);
        line += 1 + x.matches('\n').count() as u64;
    }
    let xml = write("events.xml", xml_docs);
    let by_line = |l: u64| l;
    let by_xml_start = |l: u64| starts.partition_point(|&s| s < l) as u64 + 1;
    let expected = hunt(&rules, &flat, &by_line);
    let count = |eid: &str| {
        expected
            .iter()
            .filter(|(k, _)| k.3 == eid)
            .map(|(_, n)| n)
            .sum::<usize>()
    };
    // The built-in-log variants fire: service installs, WFP connections, 4688.
    for eid in ["7045", "5156", "4688"] {
        assert!(
            count(eid) > 0,
            "no detection on EventID {eid}: {expected:?}"
        );
    }
    assert!(
        expected.keys().any(|k| k.2.starts_with("event ")),
        "the data set without record numbers is cited by line"
    );
    let shapes: [(&str, &Path, &EventAt<'_>); 3] = [
        ("evtx_dump", &evtx, &by_line),
        ("Winlogbeat", &beat, &by_line),
        ("XML", &xml, &by_xml_start),
    ];
    for (shape, path, event_at) in shapes {
        let got = hunt(&rules, path, event_at);
        let missing: Vec<_> = expected.keys().filter(|k| !got.contains_key(*k)).collect();
        let extra: Vec<_> = got.keys().filter(|k| !expected.contains_key(*k)).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{shape} differs from the flat shape: missing {missing:?}, extra {extra:?}"
        );
        assert_eq!(got, expected, "{shape}");
    }
}
