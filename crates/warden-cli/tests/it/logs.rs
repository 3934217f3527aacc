//! Text logs through the binary: `warden detect` scores the authentication events of
//! syslog, CEF and LEEF files (`tests/data/logs/auth.log`, and the loghub OpenSSH sample
//! where `../shared/data/` is present); `warden hunt` reads the same files as documents.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{data, lines, root, run};

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

/// SigmaHQ's rules under `../shared/data/sigma/rules/REL`, or `None` (said on stderr) when
/// the shared data set is absent.
fn sigmahq(rel: &str) -> Option<std::path::PathBuf> {
    let rules = root().join("../shared/data/sigma/rules").join(rel);
    if !rules.exists() {
        eprintln!(
            "skipped: {} not found (shared data set absent)",
            rules.display()
        );
        return None;
    }
    Some(rules)
}

/// `warden hunt` of a fixture with some rules: (line, rule title) of every detection, and
/// the run's summary.
fn hunt_titles(rules: &std::path::Path, fixture: &str) -> (BTreeSet<(u64, String)>, String) {
    let (code, out, err) = run(&[
        "hunt",
        "--format",
        "jsonl",
        "-r",
        rules.to_str().unwrap(),
        &data(fixture),
    ]);
    assert_eq!(code, 0, "{err}");
    let found = out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|d| (d["line"].as_u64().unwrap(), text(&d, "rule_title")))
        .collect();
    (found, err)
}

/// Asserts that `title` matched line `line`.
fn expect_found(found: &BTreeSet<(u64, String)>, line: u64, title: &str) {
    assert!(
        found.contains(&(line, title.to_owned())),
        "line {line}: {title} in {found:#?}"
    );
}

#[test]
fn sigmahq_linux_rules_run_on_syslog_sudo_and_audit_records() {
    let Some(rules) = sigmahq("linux") else {
        return;
    };
    let (found, _) = hunt_titles(&rules, "logs/linux.log");
    let expect = |line, title| expect_found(&found, line, title);
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

/// Sysmon for Linux's events, logged to syslog as XML, are read as the Sysmon events they
/// are: SigmaHQ's Linux process_creation (with the parent the other Linux logs lack),
/// file_event and network_connection rules run on them; the Windows Sysmon rules do not.
#[test]
fn sigmahq_linux_rules_run_on_sysmon_for_linux_events() {
    let (Some(linux), Some(windows)) = (sigmahq("linux"), sigmahq("windows/process_creation"))
    else {
        return;
    };
    let (found, _) = hunt_titles(&linux, "logs/sysmon-linux.log");
    let expect = |line, title| expect_found(&found, line, title);
    // A shell started by a Java server (ParentImage: Sysmon's alone among Linux logs).
    expect(2, "Suspicious Java Children Processes");
    expect(3, "Decode Base64 Encoded Text");
    // bash connecting out, to 4444: a reverse shell.
    expect(4, "Linux Reverse Shell Indicator");
    expect(
        4,
        "Potentially Suspicious Malware Callback Communication - Linux",
    );
    // A file written under /etc/sudoers.d.
    expect(5, "Persistence Via Sudoers.d Files");
    // `ls` and a note written in an application folder raise nothing.
    assert!(found.iter().all(|(l, _)| ![1, 6].contains(l)), "{found:#?}");
    // Windows' Sysmon rules are for Windows events: none of them reads these.
    let (on_windows_rules, _) = hunt_titles(&windows, "logs/sysmon-linux.log");
    assert!(on_windows_rules.is_empty(), "{on_windows_rules:#?}");
}

/// Web server access logs (combined, vhost_combined, and nginx behind a syslog header)
/// meet SigmaHQ's `category: webserver` rules; ordinary browsing raises nothing.
#[test]
fn sigmahq_webserver_rules_run_on_access_logs() {
    let Some(rules) = sigmahq("web") else {
        return;
    };
    let (found, err) = hunt_titles(&rules, "logs/access.log");
    assert!(err.contains("events 7, bad records 0"), "{err}");
    let expect: BTreeSet<(u64, String)> = [
        (3, "Path Traversal Exploitation Attempts"),
        (4, "SQL Injection Strings In URI"),
        (4, "Suspicious User-Agents Related To Recon Tools"),
        (
            5,
            "F5 BIG-IP iControl Rest API Command Execution - Webserver",
        ),
        // nginx's line behind a syslog header.
        (6, "Path Traversal Exploitation Attempts"),
    ]
    .into_iter()
    .map(|(l, t)| (l, t.to_owned()))
    .collect();
    assert_eq!(found, expect);
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
    // Its connections' ssl and notice records, joined by uid: no server name, a
    // self-signed certificate with a random-looking subject, Zeek's notice about it.
    let told = &apt29[0]["context"];
    assert_eq!(
        told["certificates"][0],
        "CN=P18055077,OU=Jethpro,O=Pajfds,L=Minnetonka,ST=Minnesota,C=US"
    );
    assert_eq!(told["invalid_certificates"][0], "self signed certificate");
    assert_eq!(told["notices"][0], "SSL::Invalid_Server_Cert");
    assert_eq!(told["tls_without_name"], 20);
    assert!(
        text(&apt29[0], "explanation")
            .contains("TLS without a server name; certificate CN=P18055077"),
        "{}",
        apt29[0]
    );
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

/// With `[ingest.geoip]`, logins that carry only an address are placed: a user who always
/// comes from London and then from Sydney half an hour later is impossible travel, and
/// the places are named. Without the database the same file raises nothing of the kind.
#[test]
fn geolocated_logins_show_impossible_travel() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("auth.log");
    let mut log = String::new();
    // Three weeks of ordinary mornings from London, then Sydney 30 minutes later.
    for day in 1..=21 {
        for (k, minute) in [0, 20].iter().enumerate() {
            log.push_str(&format!(
                "Nov {day:2} 09:{minute:02}:00 web1 sshd[{}]: Accepted publickey for ana from 81.2.69.160 port 5{k}000 ssh2\n",
                1000 + day * 10 + k as u32
            ));
        }
    }
    log.push_str("Nov 22 09:00:00 web1 sshd[2000]: Accepted publickey for ana from 81.2.69.160 port 50000 ssh2\n");
    log.push_str(
        "Nov 22 09:30:00 web1 sshd[2001]: Accepted password for ana from 1.1.1.1 port 50001 ssh2\n",
    );
    std::fs::write(&file, log).unwrap();
    let db = root().join("tests/data/geoip/city-asn-test.mmdb");
    let with = dir.path().join("geo.toml");
    std::fs::write(
        &with,
        format!(
            "[ingest.syslog]\nyear = 2026\n\n[ingest.geoip]\ndatabase = {:?}\n",
            db.to_str().unwrap()
        ),
    )
    .unwrap();
    let without = dir.path().join("plain.toml");
    std::fs::write(&without, "[ingest.syslog]\nyear = 2026\n").unwrap();
    let detect = |cfg: &std::path::Path| {
        let (code, out, err) = run(&[
            "detect",
            "--min-level",
            "HIGH",
            "--config",
            cfg.to_str().unwrap(),
            file.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
        (lines(&out), err)
    };
    let (alerts, err) = detect(&with);
    assert!(
        err.contains("geoip (Warden-Test-City-ASN): 44 of 44 events placed"),
        "{err}"
    );
    let travel = alerts
        .iter()
        .find(|a| text(a, "event_id").ends_with("auth.log:44"))
        .unwrap_or_else(|| panic!("the Sydney login is an alert: {alerts:#?}"));
    let why = text(travel, "explanation");
    assert!(
        why.contains("Sydney, AU") && why.contains("London, GB") && why.contains("km/h"),
        "{why}"
    );
    let (plain, _) = detect(&without);
    assert!(
        plain
            .iter()
            .all(|a| !text(a, "explanation").contains("km/h")),
        "no place, no travel: {plain:#?}"
    );
}

/// `warden detect --follow`: lines appended after the start are scored as they come (the
/// alert is printed before the run ends), a rotation by rename is followed, and SIGTERM
/// finishes the run normally with its summary.
#[test]
fn follow_scores_lines_as_they_are_written_and_across_a_rotation() {
    use std::io::{BufRead, BufReader, Write};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.log");
    std::fs::write(
        &path,
        "Dec  1 08:00:00 web1 sshd[1]: Accepted publickey for ana from 10.0.0.5 port 1 ssh2\n",
    )
    .unwrap();
    let cfg = dir.path().join("warden.toml");
    std::fs::write(&cfg, "[ingest.syslog]\nyear = 2026\n").unwrap();
    let bin = assert_cmd::cargo::cargo_bin("warden");
    let mut child = std::process::Command::new(bin)
        .args(["detect", "--follow", "--min-level", "HIGH", "--config"])
        .arg(&cfg)
        .arg(&path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let append = |text: &str| {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    };
    // Twelve failures and the login that works, written after the start, half before and
    // half after logrotate renames the file and starts a new one.
    let mut lines: Vec<String> = (0..12)
        .map(|i| format!("Dec  1 09:00:{i:02} web1 sshd[{}]: Failed password for root from 198.51.100.23 port {} ssh2\n", 100 + i, 5000 + i))
        .collect();
    lines.push("Dec  1 09:01:00 web1 sshd[200]: Accepted password for root from 198.51.100.23 port 6000 ssh2\n".into());
    for l in &lines[..6] {
        append(l);
    }
    std::thread::sleep(std::time::Duration::from_millis(600));
    std::fs::rename(&path, dir.path().join("auth.log.1")).unwrap();
    std::fs::write(&path, "").unwrap();
    for l in &lines[6..] {
        append(l);
    }
    // The alerts arrive while the run goes on: the burst, then the login that worked.
    let out = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let takeover = loop {
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("the takeover is an alert while following");
        let alert: Value = serde_json::from_str(&line).unwrap();
        if text(&alert, "explanation").contains("successful login after 12 failed attempts") {
            break alert;
        }
    };
    assert_eq!(text(&takeover, "user_id"), "root");
    let pid = child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let done = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(0), "{err}");
    assert!(err.contains("following "), "{err}");
    assert!(err.contains("14 events from 1 input(s)"), "{err}");
}

/// Linux logons reach the entity graph: sshd's failures and the login that worked are
/// edges from the attacker's address to the host (each failure once, not again for PAM's
/// report of it), and sudo is root's credentials used by the user.
#[test]
fn linux_logons_and_sudo_are_edges_of_the_entity_graph() {
    let dir = tempfile::tempdir().unwrap();
    let graph = dir.path().join("g.wgraph");
    let (code, _, err) = run(&[
        "graph",
        "build",
        &data("logs/auth.log"),
        "--output",
        graph.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("explicit_credentials 1, failed_logon 18, remote_logon 2"),
        "{err}"
    );
    let (code, out, err) = run(&[
        "graph",
        "neighbours",
        graph.to_str().unwrap(),
        "account:root",
    ]);
    assert_eq!(code, 0, "{err}");
    let edges = lines(&out);
    let edge = |kind: &str, src: &str| {
        edges
            .iter()
            .find(|e| text(e, "kind") == kind && text(e, "src") == src)
            .unwrap_or_else(|| panic!("{kind} from {src}: {edges:#?}"))
    };
    assert_eq!(edge("failed_logon", "ip:198.51.100.23")["count"], 12);
    assert_eq!(
        text(edge("remote_logon", "ip:198.51.100.23"), "dst"),
        "host:WEB1"
    );
    assert_eq!(
        text(edge("explicit_credentials", "account:ana"), "dst"),
        "account:root"
    );
}
