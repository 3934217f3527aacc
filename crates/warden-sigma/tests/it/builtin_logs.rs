//! Sysmon rules on the built-in Windows logs (Security 4688, 5156, 4657, 4663) through the
//! mapping's variants — renamed and computed fields, fields a log does not have — and the
//! header of every JSON shape (evtx_dump, flat NXLog/OTRF, Winlogbeat).

use serde_json::{Value, json};
use warden_sigma::{Mapping, RuleSet, RuleSetBuilder, Scratch};

use crate::dedent;

fn rules(text: &str) -> RuleSet {
    let mut b = RuleSetBuilder::new(Mapping::builtin());
    b.add_text(&dedent(text), None);
    let set = b.build();
    assert!(set.skipped().is_empty(), "{:?}", set.skipped());
    set
}

/// Titles of the rules matching `doc`, each with its unverified note.
fn hits(set: &RuleSet, doc: &Value) -> Vec<(String, Option<String>)> {
    let ev = set.event(doc);
    let mut scratch = Scratch::default();
    let mut out = Vec::new();
    set.matches(&ev, &mut scratch, &mut out);
    out.iter()
        .filter_map(|&r| {
            let title = set.rule(r)?.meta.title.clone();
            Some((title, set.unverified(&scratch, r).map(str::to_owned)))
        })
        .collect()
}

const PROCESS_RULES: &str = "
    title: Elevated whoami by a service account
    logsource: {product: windows, category: process_creation}
    detection:
        sel:
            Image|endswith: '\\whoami.exe'
            IntegrityLevel: High
            User|contains: AUTHORI
            ParentProcessId: 4660
        condition: sel
    ---
    title: Net by name or original name
    logsource: {product: windows, category: process_creation}
    detection:
        img:
            - Image|endswith: '\\net.exe'
            - OriginalFileName: net.exe
        condition: img
    ---
    title: Script host outside the system drive
    logsource: {product: windows, category: process_creation}
    detection:
        sel:
            Image|endswith: '\\wscript.exe'
        filter_drive:
            CurrentDirectory|contains: 'C:\\'
        filter_null:
            CurrentDirectory: null
        condition: sel and not 1 of filter_*
    ---
    title: Only by hash
    logsource: {product: windows, category: process_creation}
    detection:
        sel:
            Hashes|contains: 'SHA256=ABC'
        condition: sel
";

fn process_4688(image: &str) -> Value {
    json!({"EventID": 4688, "Channel": "Security", "Hostname": "WS-7", "RecordNumber": 42,
        "SourceName": "Microsoft-Windows-Security-Auditing",
        "NewProcessName": image, "ParentProcessName": "C:\\Windows\\System32\\cmd.exe",
        "SubjectDomainName": "NT AUTHORITY", "SubjectUserName": "LOCAL SERVICE",
        "MandatoryLabel": "S-1-16-12288", "NewProcessId": "0x1a2c", "ProcessId": "0x1234",
        "CommandLine": "whoami /all"})
}

#[test]
fn process_creation_rules_run_on_security_4688_with_computed_fields() {
    let set = rules(PROCESS_RULES);
    let got = hits(&set, &process_4688("C:\\Windows\\System32\\whoami.exe"));
    assert_eq!(
        got,
        [("Elevated whoami by a service account".to_owned(), None)]
    );
    // A selection that also names a field 4688 lacks matches on what it has.
    let got = hits(&set, &process_4688("C:\\Windows\\System32\\net.exe"));
    assert_eq!(got, [("Net by name or original name".to_owned(), None)]);
    // A filter that holds on an event without the field (`null`) keeps the match out, as
    // on any event lacking it.
    assert!(hits(&set, &process_4688("C:\\Windows\\System32\\wscript.exe")).is_empty());
    // A rule that needs such a field is not compiled for 4688, and says why.
    let hash = set
        .rules()
        .iter()
        .find(|r| r.meta.title == "Only by hash")
        .unwrap();
    assert!(
        hash.notes
            .iter()
            .any(|n| n.contains("Security EventID 4688") && n.contains("Hashes")),
        "{:?}",
        hash.notes
    );
}

const NETWORK_RULE: &str = "
    title: PowerShell connects out
    logsource: {product: windows, category: network_connection}
    detection:
        sel:
            Image|endswith: '\\powershell.exe'
            Initiated: 'true'
            Protocol: tcp
        filter_local_system:
            DestinationIp|cidr: '10.0.0.0/8'
            User|contains: AUTHORI
        condition: sel and not filter_local_system
";

fn wfp_5156(dest: &str) -> Value {
    json!({"EventID": 5156, "Channel": "Security", "Hostname": "WS-7", "RecordNumber": 7,
        "Application": "\\device\\harddiskvolume2\\windows\\system32\\windowspowershell\\v1.0\\powershell.exe",
        "Direction": "%%14593", "Protocol": "6", "SourceAddress": "10.1.1.5",
        "DestAddress": dest, "DestPort": "80", "ProcessID": "3428"})
}

#[test]
fn a_filter_on_a_field_the_log_lacks_leaves_the_match_unverified() {
    let set = rules(NETWORK_RULE);
    // To a public address the filter cannot apply, whoever the user was: verified.
    assert_eq!(
        hits(&set, &wfp_5156("93.184.216.34")),
        [("PowerShell connects out".to_owned(), None)]
    );
    // To an internal one the filter might have applied: reported, and marked.
    let got = hits(&set, &wfp_5156("10.2.3.4"));
    assert_eq!(got.len(), 1, "{got:?}");
    let why = got[0].1.as_deref().unwrap_or_default();
    assert!(
        why.contains("User") && why.contains("Security EventID 5156"),
        "{why}"
    );
    // Inbound is not initiated here.
    let mut inbound = wfp_5156("93.184.216.34");
    inbound["Direction"] = json!("%%14592");
    assert!(hits(&set, &inbound).is_empty());
}

#[test]
fn registry_rules_run_on_security_4657() {
    let set = rules(
        "
        title: Run key written
        logsource: {product: windows, category: registry_set}
        detection:
            sel:
                TargetObject|contains: '\\CurrentVersion\\Run\\'
                Image|endswith: '\\reg.exe'
            condition: sel
        ",
    );
    let event = |op: &str| {
        json!({"EventID": 4657, "Channel": "Security", "Hostname": "WS-7", "RecordNumber": 9,
            "ObjectName": "\\REGISTRY\\MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run",
            "ObjectValueName": "Updater", "OperationType": op,
            "ProcessName": "C:\\Windows\\System32\\reg.exe", "NewValue": "C:\\x.exe"})
    };
    assert_eq!(hits(&set, &event("%%1905")).len(), 1);
    assert!(
        hits(&set, &event("%%1906")).is_empty(),
        "a deleted value is not a set"
    );
}

/// One Sysmon event in the three JSON shapes.
fn shapes() -> [Value; 3] {
    let data = json!({"Image": "C:\\Windows\\System32\\whoami.exe", "CommandLine": "whoami /priv"});
    let evtx = json!({"Event": {"System": {
        "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}},
        "EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
        "Computer": "WS-7", "EventRecordID": 42}, "EventData": data}});
    let mut flat = data.clone();
    for (k, v) in [
        ("EventID", json!(1)),
        ("Channel", json!("Microsoft-Windows-Sysmon/Operational")),
        ("Hostname", json!("WS-7")),
        ("RecordNumber", json!(42)),
        ("SourceName", json!("Microsoft-Windows-Sysmon")),
    ] {
        flat[k] = v;
    }
    let beat = json!({"@timestamp": "2026-03-01T10:00:00Z", "event": {"code": "1"},
        "winlog": {"channel": "Microsoft-Windows-Sysmon/Operational", "event_id": 1,
            "provider_name": "Microsoft-Windows-Sysmon", "computer_name": "WS-7",
            "record_id": 42, "event_data": data}});
    [evtx, flat, beat]
}

#[test]
fn every_shape_gives_the_same_detections() {
    let set = rules(
        "
        title: Whoami privileges
        logsource: {product: windows, category: process_creation}
        detection:
            sel:
                Image|endswith: '\\whoami.exe'
                CommandLine|contains: '/priv'
            condition: sel
        ---
        title: Sysmon by provider
        logsource: {product: windows, service: sysmon}
        detection:
            sel:
                Provider_Name: Microsoft-Windows-Sysmon
                EventID: 1
            condition: sel
        ",
    );
    for doc in shapes() {
        let titles: Vec<String> = hits(&set, &doc).into_iter().map(|(t, _)| t).collect();
        assert_eq!(titles, ["Whoami privileges", "Sysmon by provider"], "{doc}");
    }
}
