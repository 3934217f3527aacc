//! `warden graph`: hunt, build, query and export on a small generated network written in
//! the EVTX-as-JSON shape, and the netgraph data set scored where it is present.

use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};

use super::{root, run};

const DAY: i64 = 86_400;

fn time(secs: i64) -> String {
    let days = secs / DAY;
    let rest = secs % DAY;
    format!(
        "2026-05-{:02}T{:02}:{:02}:{:02}Z",
        4 + days,
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

struct Log {
    lines: Vec<String>,
    record: u64,
}

impl Log {
    fn event(&mut self, secs: i64, host: &str, id: u32, channel: &str, data: Value) -> u64 {
        self.record += 1;
        let e = json!({"Event": {"System": {
            "Provider": {"#attributes": {"Name": if channel == "Security" {
                "Microsoft-Windows-Security-Auditing" } else { "Microsoft-Windows-Sysmon" }}},
            "EventID": id, "EventRecordID": self.record, "Channel": channel,
            "Computer": format!("{host}.corp.local"),
            "TimeCreated": {"#attributes": {"SystemTime": time(secs)}}},
            "EventData": data}});
        self.lines.push(e.to_string());
        self.record
    }

    fn logon(&mut self, secs: i64, acct: &str, src: &str, dst: &str, lt: u32) -> u64 {
        let r = self.event(
            secs,
            dst,
            4624,
            "Security",
            json!({"TargetUserName": acct,
            "TargetDomainName": "CORP", "LogonType": lt, "AuthenticationPackageName": "Kerberos",
            "WorkstationName": src, "IpAddress": "10.0.0.1"}),
        );
        if acct.starts_with("adm") {
            self.event(
                secs,
                dst,
                4672,
                "Security",
                json!({"SubjectUserName": acct,
                "PrivilegeList": "SeDebugPrivilege"}),
            );
        }
        r
    }
}

/// Eight days: users and admins at work (the first seven are learned), then on the last
/// day a stolen admin account hops WS-4 → WS-5 → SRV-1 with PsExec after an LSASS read.
fn network(dir: &Path) -> (std::path::PathBuf, Vec<u64>) {
    let mut log = Log {
        lines: Vec::new(),
        record: 0,
    };
    for day in 0..8 {
        let t0 = day * DAY + 8 * 3600;
        for u in 1..=6 {
            let ws = format!("WS-{u}");
            log.logon(t0 + u * 60, &format!("u{u}"), &ws, &ws, 2);
            log.logon(
                t0 + 600 + u * 60,
                &format!("u{u}"),
                &ws,
                &format!("SRV-{}", u % 2),
                3,
            );
        }
        for a in 1..=3 {
            log.logon(
                t0 + 1800 + a * 60,
                &format!("adm{a}"),
                &format!("WS-{a}"),
                "JUMP",
                10,
            );
            log.logon(t0 + 2400 + a * 60, &format!("adm{a}"), "JUMP", "SRV-1", 10);
        }
    }
    let t = 8 * DAY + 10 * 3600;
    let theft = log.event(
        t,
        "WS-4",
        10,
        "Microsoft-Windows-Sysmon/Operational",
        json!({
        "SourceImage": "C:\\Temp\\p.exe", "TargetImage": "C:\\Windows\\system32\\lsass.exe",
        "GrantedAccess": "0x1010"}),
    );
    let hop1 = log.logon(t + 1200, "adm1", "WS-4", "WS-5", 3);
    let exec = log.event(
        t + 1210,
        "WS-5",
        1,
        "Microsoft-Windows-Sysmon/Operational",
        json!({
        "Image": "C:\\Windows\\PSEXESVC.exe", "ParentImage": "C:\\Windows\\System32\\services.exe",
        "CommandLine": "PSEXESVC.exe", "User": "CORP\\adm1"}),
    );
    let hop2 = log.logon(t + 3000, "adm1", "WS-5", "SRV-1", 3);
    log.lines.push("{not json".into());
    let path = dir.join("net.jsonl");
    let mut f = std::fs::File::create(&path).unwrap();
    for l in &log.lines {
        writeln!(f, "{l}").unwrap();
    }
    (path, vec![theft, hop1, exec, hop2])
}

fn cited(a: &Value) -> Vec<u64> {
    a["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["reference"]["record_id"].as_u64())
        .collect()
}

#[test]
fn graph_hunt_reports_the_path_with_its_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let (input, attack) = network(dir.path());
    let (code, out, err) = run(&[
        "graph",
        "hunt",
        input.to_str().unwrap(),
        "--format",
        "jsonl",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("net.jsonl") && err.contains("line"),
        "bad line named: {err}"
    );
    assert!(err.contains("1 errors"), "{err}");
    let findings: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The path, and the foothold's progression (credential access, then movement).
    assert_eq!(findings.len(), 2, "{out}");
    let f = findings
        .iter()
        .find(|f| f["detector"]["id"] == "lateral_movement")
        .expect(&out);
    let p = findings
        .iter()
        .find(|f| f["detector"]["id"] == "attack_progression")
        .expect(&out);
    assert_eq!(p["subject"], "host:WS-4");
    assert_eq!(f["detector"]["kind"], "graph");
    assert_eq!(f["detector"]["id"], "lateral_movement");
    assert!(
        matches!(f["level"].as_str(), Some("HIGH" | "CRITICAL")),
        "{f}"
    );
    assert_eq!(f["subject"], "adm1");
    let ids = cited(f);
    assert!(
        attack.iter().all(|r| ids.contains(r)),
        "{ids:?} vs {attack:?}"
    );
    assert!(
        f["evidence"][0]["reference"]["computer"]
            .as_str()
            .unwrap()
            .ends_with(".corp.local")
    );
    assert_eq!(f["detail"]["graph"]["finder"], "lateral_movement");

    let (code, csv, _) = run(&[
        "graph",
        "hunt",
        input.to_str().unwrap(),
        "--format",
        "csv",
        "-q",
    ]);
    assert_eq!(code, 0);
    assert!(csv.starts_with("time,level,score,finder,subject,path"));
    assert!(csv.contains("WS-4 → WS-5"), "{csv}");
}

#[test]
fn graph_build_then_query_export_and_hunt_from_the_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let (input, attack) = network(dir.path());
    let g = dir.path().join("net.wgraph");
    let (code, _, err) = run(&[
        "graph",
        "build",
        input.to_str().unwrap(),
        "-o",
        g.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("bytes per edge"), "{err}");
    let g = g.to_str().unwrap();

    let (code, out, err) = run(&[
        "graph",
        "path",
        g,
        "--from",
        "host:WS-4",
        "--to",
        "host:SRV-1",
    ]);
    assert_eq!(code, 0, "{err}");
    let p: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(p["hops"], 2);
    assert_eq!(p["edges"][0]["dst"], "host:WS-5");
    let (_, none, _) = run(&[
        "graph",
        "path",
        g,
        "--from",
        "host:WS-4",
        "--to",
        "host:SRV-1",
        "--as-of",
        "2026-05-05T00:00:00Z",
    ]);
    assert!(none.is_empty(), "no path before the attack: {none}");

    let (code, out, _) = run(&["graph", "neighbours", g, "account:adm1"]);
    assert_eq!(code, 0);
    // Its privileged logons and, as the actor, its remote logons.
    assert!(
        out.contains("\"kind\":\"remote_logon\"") && out.contains("host:WS-5"),
        "{out}"
    );
    let (_, out, _) = run(&[
        "graph",
        "new-edges",
        g,
        "--since",
        "2026-05-12T00:00:00Z",
        "--kind",
        "remote_logon",
    ]);
    assert_eq!(out.lines().count(), 2, "{out}");
    let (code, _, err) = run(&[
        "graph",
        "new-edges",
        g,
        "--since",
        "2026-05-12T00:00:00Z",
        "--kind",
        "bogus",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("not an edge kind"));
    let (code, _, err) = run(&[
        "graph",
        "path",
        g,
        "--from",
        "host:NOPE",
        "--to",
        "host:SRV-1",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("no such entity"), "{err}");

    let (code, xml, _) = run(&["graph", "export", g]);
    assert_eq!(code, 0);
    assert!(xml.contains("<graphml") && xml.contains("remote_logon"));
    let (_, js, _) = run(&["graph", "export", g, "--format", "json"]);
    let v: Value = serde_json::from_str(&js).unwrap();
    assert!(!v["edges"].as_array().unwrap().is_empty());
    let (code, out, _) = run(&["graph", "stats", g]);
    assert_eq!(code, 0);
    assert!(out.contains("edges"));

    // The saved graph (which already holds the attack) is the baseline: a hunt of the
    // same file finds nothing new; a damaged graph file is a clear error.
    let (code, out, err) = run(&[
        "graph",
        "hunt",
        input.to_str().unwrap(),
        "--graph",
        g,
        "--format",
        "jsonl",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.trim().is_empty(), "{out}");
    let _ = attack;
    let bad = dir.path().join("bad.wgraph");
    std::fs::write(&bad, b"WARDEN-GRAPH 1\n\x05\x00").unwrap();
    let (code, _, err) = run(&["graph", "stats", bad.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.contains("damaged"), "{err}");
}

#[test]
fn files_read_side_by_side_are_merged_by_time() {
    let dir = tempfile::tempdir().unwrap();
    let (input, attack) = network(dir.path());
    // The same log split in two files (each still in time order): by destination host,
    // so that the path's hops and the LSASS read come from different files.
    let text = std::fs::read_to_string(&input).unwrap();
    let (mut servers, mut others) = (String::new(), String::new());
    for l in text.lines() {
        let to = if l.contains("SRV-") || l.contains("JUMP") {
            &mut servers
        } else {
            &mut others
        };
        to.push_str(l);
        to.push('\n');
    }
    let (a, b) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    std::fs::write(&a, servers).unwrap();
    std::fs::write(&b, others).unwrap();
    let (code, out, err) = run(&[
        "graph",
        "hunt",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--format",
        "jsonl",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("2 files"), "{err}");
    let lm: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|f| f["detector"]["id"] == "lateral_movement")
        .collect();
    assert_eq!(lm.len(), 1, "{out}");
    let ids = cited(&lm[0]);
    assert!(
        attack.iter().all(|r| ids.contains(r)),
        "{ids:?} vs {attack:?}"
    );
}

#[test]
fn lanl_red_team_edges_draw_their_graph() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("redteam.txt");
    std::fs::write(
        &f,
        "150885,U620@DOM1,C17693,C1003\n151036,U748@DOM1,C17693,C305\nbad line\n",
    )
    .unwrap();
    let g = dir.path().join("rt.wgraph");
    let (code, _, err) = run(&[
        "graph",
        "build",
        f.to_str().unwrap(),
        "-o",
        g.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("redteam.txt: line 3"), "{err}");
    let (_, out, _) = run(&["graph", "neighbours", g.to_str().unwrap(), "host:C17693"]);
    assert_eq!(out.lines().count(), 2, "{out}");
}

#[test]
fn zeek_connections_and_user_activity_join_the_windows_graph() {
    let dir = tempfile::tempdir().unwrap();
    // WS-5's address, from a Windows logon that names it.
    let mut log = Log {
        lines: Vec::new(),
        record: 0,
    };
    log.event(
        60,
        "SRV-1",
        4624,
        "Security",
        json!({"TargetUserName": "ana", "LogonType": 3, "WorkstationName": "WS-5",
            "IpAddress": "10.0.0.5", "AuthenticationPackageName": "Kerberos"}),
    );
    let windows = dir.path().join("security.jsonl");
    std::fs::write(&windows, log.lines.join("\n")).unwrap();
    let conn = dir.path().join("conn.log");
    std::fs::write(
        &conn,
        "#separator \\x09\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\n\
         1777939300.5\tCa1\t10.0.0.5\t50000\t10.0.0.9\t445\ttcp\n\
         1777939301.5\tCa2\t10.0.0.5\tnot a port\n",
    )
    .unwrap();
    let activity = dir.path().join("activity.jsonl");
    std::fs::write(
        &activity,
        [
            json!({"event_id": "a1", "user_id": "ana", "activity_type": "login",
                "timestamp": time(120), "ip_address": "198.51.100.7", "success": true}),
            json!({"event_id": "a2", "user_id": "ana", "activity_type": "download",
                "timestamp": time(180), "resource_accessed": "Payroll"}),
        ]
        .map(|v| v.to_string())
        .join("\n"),
    )
    .unwrap();
    let g = dir.path().join("mixed.wgraph");
    let inputs = [&windows, &conn, &activity].map(|p| p.to_str().unwrap().to_owned());
    let mut args = vec!["graph", "build"];
    args.extend(inputs.iter().map(String::as_str));
    args.extend(["-o", g.to_str().unwrap()]);
    let (code, _, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("conn.log: line 5"),
        "the bad flow is named: {err}"
    );
    let (_, out, err) = run(&["graph", "neighbours", g.to_str().unwrap(), "host:WS-5"]);
    let edges: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let flow = edges
        .iter()
        .find(|e| e["kind"] == "connection")
        .unwrap_or_else(|| panic!("no connection from WS-5: {out}{err}"));
    assert_eq!(flow["dst"], "ip:10.0.0.9");
    assert_eq!(flow["evidence"][0]["event_id"], "Ca1");
    let (_, out, _) = run(&["graph", "neighbours", g.to_str().unwrap(), "account:ana"]);
    let kinds: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["kind"].clone())
        .collect();
    for kind in ["remote_logon", "sign_in", "resource_use"] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind} edge: {out}");
    }
}

/// The netgraph data set: every attack scenario at HIGH, no false finding at HIGH.
#[test]
fn netgraph_dataset_meets_the_graph_targets() {
    let data = root().join("../shared/data/netgraph");
    if !data.join("events.jsonl.gz").exists() {
        eprintln!(
            "skipped: {} not found (shared data set absent)",
            data.display()
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f.jsonl");
    let (code, _, err) = run(&[
        "graph",
        "hunt",
        data.join("events.jsonl.gz").to_str().unwrap(),
        "--format",
        "jsonl",
        "-o",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(code, 0, "{err}");
    let score = std::process::Command::new("python3")
        .arg(root().join("bench/netgraph_score.py"))
        .args([
            out.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--require-data",
            "--min-high-rate",
            "95",
            "--max-fp-per-day",
            "0.5",
        ])
        .output()
        .expect("python3 runs");
    assert!(
        score.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&score.stdout),
        String::from_utf8_lossy(&score.stderr)
    );
}
