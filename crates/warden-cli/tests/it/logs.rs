//! Text logs through the binary: `warden detect` scores the authentication events of
//! syslog, CEF and LEEF files (`tests/data/logs/auth.log`, and the loghub OpenSSH sample
//! where `../shared/data/` is present); `warden hunt` reads the same files as documents.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{data, root, run};

/// `warden detect --min-level HIGH FILE`: (alerts as JSON, stderr).
fn detect_high(path: &str, extra: &[&str]) -> (Vec<Value>, String) {
    let mut args = vec!["detect", "--min-level", "HIGH"];
    args.extend_from_slice(extra);
    args.push(path);
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    let alerts = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (alerts, err)
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_owned()
}

#[test]
fn auth_log_attacks_become_alerts_and_the_bad_line_is_reported() {
    let (alerts, err) = detect_high(&data("logs/auth.log"), &[]);
    // 1 publickey login, 1 sudo, 16 sprayed failures, 12 guessed passwords and the login
    // that worked, 1 su refused, 1 CEF logon: PAM's reports of sshd's attempts not twice.
    assert!(err.contains("33 events from 1 input(s)"), "{err}");
    assert!(err.contains("1 parse errors"), "{err}");
    assert!(err.contains("auth.log:111: unrecognised line"), "{err}");

    let spray: Vec<_> = alerts
        .iter()
        .filter(|a| text(a, "explanation").contains("accounts from the network of 203.0.113.7"))
        .collect();
    assert!(spray.len() >= 5, "the spray is found: {alerts:#?}");
    assert!(
        spray
            .iter()
            .all(|a| text(a, "explanation").contains("password spraying"))
    );

    let takeover = alerts
        .iter()
        .find(|a| text(a, "event_id").ends_with("auth.log:109"))
        .expect("the login after 12 failures is an alert");
    assert_eq!(text(takeover, "user_id"), "root");
    assert!(
        text(takeover, "explanation").contains("successful login after 12 failed attempts"),
        "{takeover}"
    );
    assert!(
        alerts.iter().all(|a| text(a, "user_id") != "ana"),
        "the ordinary user raises nothing"
    );
}

#[test]
fn the_format_can_be_forced_and_the_year_configured() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("feed.txt");
    std::fs::copy(data("logs/auth.log"), &file).unwrap();
    let cfg = dir.path().join("warden.toml");
    std::fs::write(
        &cfg,
        "[ingest.syslog]\nyear = 2024\ntimezone = \"+01:00\"\n",
    )
    .unwrap();
    let (code, out, err) = run(&[
        "detect",
        "--all",
        "--format",
        "syslog",
        "--config",
        cfg.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let first: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    // Dec 1 08:00:01 at +01:00.
    assert_eq!(first["timestamp"], "2024-12-01T07:00:01Z");
    assert_eq!(first["user_id"], "ana");
}

#[test]
fn hunt_reads_text_logs_as_documents() {
    let (code, _, err) = run(&["hunt", "--parse-only", &data("logs/auth.log")]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("events 112, bad records 1"), "{err}");
}

#[test]
fn loghub_openssh_bursts_and_sprays_name_their_sources() {
    let path = root().join("../shared/data/loghub/OpenSSH/OpenSSH_2k.log");
    if !path.exists() {
        eprintln!(
            "skipped: {} not found (shared data set absent)",
            path.display()
        );
        return;
    }
    let (alerts, err) = detect_high(path.to_str().unwrap(), &[]);
    assert!(err.contains("0 parse errors"), "{err}");
    let lines: Vec<String> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    // The source address of each alert, read back from the line it names.
    let mut by_source: BTreeMap<String, (usize, bool)> = BTreeMap::new();
    for a in &alerts {
        let id = text(a, "event_id");
        let n: usize = id
            .rsplit(':')
            .next()
            .unwrap()
            .split('#')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let line = &lines[n - 1];
        let source = line
            .rsplit_once(" from ")
            .map(|(_, r)| r.split_whitespace().next().unwrap().to_owned())
            .or_else(|| {
                line.split("rhost=")
                    .nth(1)
                    .map(|r| r.split_whitespace().next().unwrap().to_owned())
            })
            .unwrap();
        let e = by_source.entry(source.clone()).or_default();
        e.0 += 1;
        e.1 |= text(a, "explanation").contains(&format!("the network of {source}"));
        assert!(
            text(a, "explanation").contains(&source),
            "the alert names its source {source}: {a}"
        );
    }
    let sources: BTreeSet<_> = by_source.keys().cloned().collect();
    // The four busiest guessers of the sample (counted by hand: 286, 80, 46 and 26 failed
    // passwords), and the sprays among them (10, 28 and 19 user names).
    for ip in [
        "183.62.140.253",
        "187.141.143.180",
        "103.99.0.122",
        "112.95.230.3",
    ] {
        assert!(sources.contains(ip), "{ip} raises alerts: {by_source:?}");
    }
    for ip in ["183.62.140.253", "187.141.143.180", "103.99.0.122"] {
        assert!(by_source[ip].1, "{ip} is named as a spray: {by_source:?}");
    }
    // The one successful login of the sample (fztu from 119.137.62.142) is no alert.
    assert!(!sources.contains("119.137.62.142"), "{by_source:?}");
}

#[test]
fn sigmahq_linux_rules_run_on_syslog_sudo_and_audit_records() {
    let rules = root().join("../shared/data/sigma/rules/linux");
    if !rules.exists() {
        eprintln!(
            "skipped: {} not found (shared data set absent)",
            rules.display()
        );
        return;
    }
    let (code, out, err) = run(&[
        "hunt",
        "--format",
        "jsonl",
        "-r",
        rules.to_str().unwrap(),
        &data("logs/linux.log"),
    ]);
    assert_eq!(code, 0, "{err}");
    let found: BTreeSet<(u64, String)> = out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|d| (d["line"].as_u64().unwrap(), text(&d, "rule_title")))
        .collect();
    let expect = |line: u64, title: &str| {
        assert!(
            found.contains(&(line, title.to_owned())),
            "line {line}: {title} in {found:#?}"
        );
    };
    // service: sshd — a keyword rule on sshd's lines.
    expect(2, "Suspicious OpenSSH Daemon Error");
    // process_creation from a command sudo ran.
    expect(3, "Access of Sudoers File Content");
    // process_creation from an audit event's records joined (cited at its first line),
    // and service: auditd on the EXECVE record itself.
    expect(5, "Remove Immutable File Attribute");
    expect(6, "Remove Immutable File Attribute - Auditd");
    expect(11, "Decode Base64 Encoded Text");
    // The ordinary commands (systemctl status, ls in a folder with a space) raise nothing.
    assert!(
        found
            .iter()
            .all(|(l, _)| ![1, 4].contains(l) && !(17..=22).contains(l)),
        "{found:#?}"
    );
}

#[test]
fn sigmahq_network_rules_run_on_zeek_logs_of_their_type_only() {
    let shared = root().join("../shared/data");
    let (rules, web, zeek) = (
        shared.join("sigma/rules/network"),
        shared.join("sigma/rules/web"),
        shared.join("zeek"),
    );
    if !rules.exists() || !zeek.exists() {
        eprintln!(
            "skipped: {} not found (shared data set absent)",
            shared.display()
        );
        return;
    }
    let (code, out, err) = run(&[
        "hunt",
        "--format",
        "jsonl",
        "-r",
        rules.to_str().unwrap(),
        "-r",
        web.to_str().unwrap(),
        zeek.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    // Every Zeek log read; the truncated gzip sample reported, nothing else.
    assert!(
        err.contains("files 209, events 20,217, bad records 1"),
        "{err}"
    );
    assert!(
        err.contains("http.log.corrupt.gz:159: read failed"),
        "{err}"
    );
    let mut titles: BTreeMap<String, usize> = BTreeMap::new();
    for l in out.lines() {
        let d: Value = serde_json::from_str(l).unwrap();
        *titles.entry(text(&d, "rule_title")).or_default() += 1;
        let path = d["details"]["_path"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        match text(&d, "rule_title").as_str() {
            // category: proxy — Zeek's http records, user agents compared as written.
            "Windows WebDAV User Agent" | "Malware User Agent" => assert_eq!(path, "http"),
            // product: zeek, service: dns.
            "Suspicious DNS Z Flag Bit Set" => assert_eq!(path, "dns"),
            other => panic!("unexpected detection {other}: {d}"),
        }
    }
    // Cisco, Fortinet and other products' keyword rules never read Zeek records.
    assert_eq!(
        titles.get("Windows WebDAV User Agent"),
        Some(&2),
        "{titles:?}"
    );
    assert_eq!(
        titles.get("Suspicious DNS Z Flag Bit Set"),
        Some(&3),
        "{titles:?}"
    );
}

#[test]
fn network_findings_on_the_zeek_captures() {
    let zeek = root().join("../shared/data/zeek");
    if !zeek.exists() {
        eprintln!(
            "skipped: {} not found (shared data set absent)",
            zeek.display()
        );
        return;
    }
    let find = |dir: &str| -> Vec<Value> {
        let (code, out, err) = run(&["network", zeek.join(dir).to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
        out.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    // APT29: the HTTPS channel to the emulation's C2 (676 connections in half an hour,
    // every ~2 s, ~650 bytes each) is a beacon; the domain's own LDAP, Kerberos and DNS
    // traffic is not.
    let apt29 = find("otrf-apt29");
    assert_eq!(apt29.len(), 1, "{apt29:#?}");
    assert_eq!(text(&apt29[0], "kind"), "beaconing");
    assert_eq!(text(&apt29[0], "source"), "10.0.1.5");
    assert_eq!(text(&apt29[0], "destination"), "192.168.0.4:443/tcp");
    assert_eq!(apt29[0]["evidence"].as_array().unwrap().len(), 20);
    // LSASS campaigns: short Metasploit sessions, a handful of connections each: nothing.
    assert!(find("otrf-lsass-campaigns").is_empty());
    // ZAT: one host contacts 201 peers on port 16464 in three minutes, two thirds
    // unanswered — ZeroAccess's peer-to-peer port; nothing else at MEDIUM or above.
    let zat = find("zat-data");
    assert_eq!(zat.len(), 1, "{zat:#?}");
    assert_eq!(text(&zat[0], "kind"), "host_scan");
    assert_eq!(text(&zat[0], "destination"), "port 16464");
    assert!(
        text(&zat[0], "explanation").contains("201 hosts"),
        "{}",
        zat[0]
    );
}
