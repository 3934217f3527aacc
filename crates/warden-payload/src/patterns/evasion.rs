//! Defence evasion: defences impaired, logs and indicators removed, artefacts hidden.

use super::Pattern;

pub(super) const TABLE: &[Pattern] = &[
    // --- defence evasion ---
    p!(
        "amsi-bypass",
        "AMSI disabled or patched",
        ["T1562.001", "T1685"],
        0.95,
        r"amsiutils|amsiinitfailed|amsiscanbuffer|amsiopensession|amsicontext|\\amsi\\providers|amsi\.dll"
    ),
    p!(
        "logging-disabled",
        "script or event logging switched off",
        ["T1562.002", "T1562.003", "T1685", "T1690"],
        0.75,
        r"etwenabled|enablescriptblocklogging|scriptblocklogging|enablemodulelogging|etweventwrite|historysavestyle\s+savenothing|processcreationincludecmdline_enabled\b[^\n]*\b0\b|wevtutil(?:\.exe)?\s+(?:sl|set-log)\b[^\n]*/e:false|\\winevt\\channels\\[^\n]*enabled|auditpol(?:\.exe)?\s+/(?:clear|remove|set\b[^\n]*(?:success|failure):disable)|minint\b|\\wmi\\autologger\\[^\n]*\b(?:start|enabled)\b|\blogman(?:\.exe)?\s+(?:update|stop|delete)\s+(?:trace\s+)?[\x22']?eventlog-"
    ),
    p!(
        "av-disabled",
        "antivirus or EDR disabled, excluded or removed",
        ["T1562.001", "T1685"],
        0.85,
        // Set-MpPreference takes any unambiguous prefix or alias of a switch (`-drtm`,
        // `-DisableRealtimeMon`); every switch of it that starts with `d` turns a protection off.
        r"set-mppreference\b[^\n]*\s-(?:d\w*\s+(?:\$true|1)\b|exclusion\w+)|add-mppreference\b[^\n]*-exclusion|disablerealtimemonitoring|disableantispyware|disableantivirus|disablebehaviormonitoring|disableioavprotection|mpcmdrun(?:\.exe)?\b[^\n]*-removedefinitions|(?:sc|net)(?:\.exe)?\s+(?:stop|delete|config)\s+(?:windefend|sense|wdboot|wdfilter|wdnissvc|mpssvc|sysmon\w*)|tamperprotection|\\policies\\microsoft\\windows defender\\|msft_mppreference\b[^\n]*(?:exclusion|disable)|schtasks(?:\.exe)?\s+/delete\b[^\n]*windows defender|\bbackstab\w*\b|\\windows defender\\[^\n]*(?:disable|exclusions)|fltmc(?:\.exe)?\s+unload|sysmon(?:64)?(?:\.exe)?\s+-u\b|\bmdatp\s+config\s+[\w-]+\s+--value\s+disabled|(?:disable-windowsoptionalfeature|uninstall-windowsfeature|remove-windowsfeature|/disable-feature)\b[^\n]*windows-defender|(?:stop-service|remove-service|set-service|\bsc(?:\.exe)?\s+(?:stop|delete|config)|\bnet1?(?:\.exe)?\s+stop|\btaskkill\b|\bpkill\b|\bkillall\b|\bsystemctl\s+(?:stop|disable|mask))[^\n]*\b(?:mcafee\w*|symantec\w*|sophos\w*|sentinel(?:agent|one)\w*|csfalcon\w*|falcon-sensor|crowdstrike|carbonblack|cbdefense|cbagentd|cylance\w*|ekrn|kaspersky|avast\w*|bitdefender|malwarebytes|mbamservice|msmpeng|wdavdaemon|elastic-agent|wazuh-agent|ossec\w*)\b"
    ),
    p!(
        "firewall-disabled",
        "firewall switched off, flushed or its logging stopped",
        ["T1562.004", "T1686"],
        0.75,
        r"netsh\s+(?:adv)?firewall\s+[^\n]*(?:state\s+off|opmode\s+(?:mode=)?disable)|set-netfirewallprofile\b[^\n]*-enabled\s+(?:false|0|\$false)|enablefirewall\b[^\n]*\b0\b|\bufw\s+(?:disable|logging\s+off|reset)\b|\biptables\s+(?:-t\s+\w+\s+)?(?:-F|--flush|-X|-P\s+\w+\s+ACCEPT)|systemctl\s+(?:stop|disable|mask)\s+(?:firewalld|ufw|iptables|nftables)|\bpfctl\s+-[dF]|\bnft\s+flush|socketfilterfw\b[^\n]*--setglobalstate\s+off|disable-netfirewallrule|firewall-cmd\b[^\n]*--panic-on"
    ),
    p!(
        "firewall-rule-changed",
        "firewall rule added, removed or loaded",
        // Opening a port is everyday administration as often as an attacker's way in or out:
        // weighed lighter than switching the firewall off.
        ["T1562.004", "T1686"],
        0.35,
        r"netsh\s+(?:adv)?firewall\s+[^\n]*(?:add\s+(?:rule|allowedprogram|portopening)|delete\s+rule|set\s+rule)|(?:new|remove|set)-netfirewallrule|\bufw\s+(?:allow|deny|reject|limit|prepend|insert|delete|route)\b|\biptables\s+(?:-t\s+\w+\s+)?-[AIDR]\s|\bnft\s+(?:add|insert|delete)\s+rule|\bpfctl\b[^\n]*\s-f\s|firewall-cmd\b[^\n]*--(?:add|remove)-(?:port|service|rich-rule|source)|/etc/ufw/"
    ),
    p!(
        "security-service-stopped",
        "security service or audit stopped",
        ["T1562.001", "T1685", "T1562.012"],
        0.7,
        r"\bsetenforce\s+0|selinux=disabled|(?:systemctl|service)\s+(?:stop|disable|mask)?\s*(?:auditd|apparmor|falcon-sensor|osqueryd?|rsyslog|syslog(?:d|-ng)?|systemd-journald|sysmon|crowdstrike|mdatp|clamav|ossec|wazuh|cbdaemon)\b|\bsysrc\s+(?:syslogd|auditd)_enable=\W*no|journald\.conf\b[^\n]*storage=none|\bauditctl\s+-(?:D|e\s*0)|\bkextunload\b|spctl\s+--master-disable|csrutil\s+disable|launchctl\s+(?:unload|bootout|remove)\b[^\n]*(?:com\.apple\.|edr|security|crowdstrike|falcon|carbonblack|sentinel|sophos|littlesnitch|opendns|umbrella|mcafee|symantec|eset|jamf|santa|lulu)"
    ),
    p!(
        "logging-config-changed",
        "syslog, journald or audit configuration rewritten",
        // What a logging daemon is told to record, or where to send it, decides what the
        // defenders see later; rewriting it from a script is indicator blocking.
        ["T1562.006", "T1685"],
        0.5,
        r"(?:>>?|\bsed\s+-i\b|\btee\b)[^\n|;]*/etc/(?:r?syslog(?:-ng)?\.conf|rsyslog\.d/|syslog-ng/|audit/|audisp/|security/audit_\w+|auditd?\.conf|systemd/journald\.conf|newsyslog\.conf|asl\.conf)|\b(?:cp|mv|ln)\s+(?:-\w+\s+)*\S+\s+/etc/(?:r?syslog(?:-ng)?\.conf|rsyslog\.d/|syslog-ng/|audit/|audisp/|security/audit_\w+|auditd?\.conf|systemd/journald\.conf|newsyslog\.conf|asl\.conf)"
    ),
    p!(
        "security-telemetry-blocked",
        "security agent's traffic blackholed or throttled",
        ["T1562.001", "T1685"],
        0.6,
        r"add-dnsclientnrptrule\b[^\n]*(?:127\.0\.0\.1|0\.0\.0\.0|::1)|new-netqospolicy\b[^\n]*(?:mssense|msmpeng|senseir|sensecncproxy|csfalcon|sentinel\w*|cbdefense)|(?:>>|add-content\b|out-file\b[^\n]*-append)[^\n]*(?:drivers\\etc\\hosts|/etc/hosts)\b[^\n]*(?:security\.microsoft|crowdstrike|sentinelone|carbonblack|sophos|wdcp\.microsoft|endpoint\.security)"
    ),
    p!(
        "log-cleared",
        "event logs cleared or deleted",
        ["T1070.001", "T1070"],
        0.85,
        r"wevtutil(?:\.exe)?\s+(?:cl|clear-log)\b|clear-eventlog|remove-eventlog|limit-eventlog|fsutil(?:\.exe)?\s+usn\s+deletejournal|\.evtx\b[^\n]*(?:del|remove-item|rm)\b|(?:del|remove-item|rm)\b[^\n]*\.evtx"
    ),
    p!(
        "linux-logs-wiped",
        "Linux or macOS system logs wiped",
        // ATT&CK v18 files log deletion under Disable or Modify Tools (T1685.006).
        ["T1070.002", "T1685.006"],
        0.7,
        r"(?:\brm\b|\bsrm\b|\bshred\b|\btruncate\b|\bunlink\b|>)[^\n|;]*(?:/var/log/|\bwtmp\b|\bbtmp\b|\blastlog\b|\butmp\b|/var/adm/|/var/lib/docker/containers/)|\bdd\b[^\n|;]*\bof=\S*(?:/var/log/|\bwtmp\b|\bbtmp\b|\blastlog\b|\butmp\b|/var/adm/)|\bjournalctl\s+--(?:vacuum|rotate)|\blog\s+erase\b"
    ),
    p!(
        "shell-history-wiped",
        "shell history wiped or switched off",
        ["T1070.003", "T1690"],
        0.7,
        r"(?:\brm\b|\bshred\b|\btruncate\b|\bunlink\b|remove-item\b|\bdel\b|>)[^\n|;]*(?:\.bash_history|\.zsh_history|\.sh_history|historysavepath)|\bln\s+-[a-z]*s[a-z]*\s+/dev/null\s+\S*history|\bhistory\s+-[cw]\b|unset\s+histfile|histfile=/dev/null|hist(?:file)?size=0|histcontrol=ignore|set\s+\+o\s+history|histignore=|addtohistoryhandler|\bclear-history\b"
    ),
    p!(
        "mailbox-cleared",
        "mail stores copied, altered or deleted",
        ["T1070.008"],
        0.55,
        r"(?:\brm\b|\bcp\b|remove-item\b|copy-item\b|\bdel\b|>)[^\n|;]*(?:/var/(?:spool/)?mail/|library/mail/|\\comms\\unistore\\)"
    ),
    p!(
        "timestomp",
        "file times forged",
        ["T1070.006"],
        0.55,
        r"\btouch\s+(?:-\w+\s+)*-(?:r|t|d)\s|\.(?:lastwritetime|creationtime|lastaccesstime)(?:utc)?\s*=|setfiletime|\btimestomp\b"
    ),
    p!(
        "recovery-inhibited",
        "shadow copies or backups deleted",
        ["T1490"],
        0.9,
        r"vssadmin(?:\.exe)?\s+(?:delete\s+shadows|resize\s+shadowstorage)|wmic(?:\.exe)?\s+shadowcopy\s+delete|win32_shadowcopy\b[^\n]*(?:delete|remove)|bcdedit(?:\.exe)?\b[^\n]*(?:recoveryenabled\s+no|bootstatuspolicy\s+ignoreallfailures)|wbadmin(?:\.exe)?\s+delete|tmutil\s+(?:delete|disable)|diskshadow\b[^\n]*delete\s+shadows"
    ),
    p!(
        "hidden-artifact",
        "file or account hidden (attributes, streams, flags)",
        ["T1564"],
        0.45,
        r"\battrib(?:\.exe)?\s+[^\n]*\+[hs]\b|\.attributes\s*=\s*[\x22'][^\x22'\n]*(?:hidden|system)|showsuperhidden|appleshowallfiles|\bmkdir\s+(?:-p\s+)?\S*/(?:tmp|var/tmp|dev/shm)/\.\w|(?:\\|%\\?)[^\s\\:\x22']+\.\w{1,5}:[a-z_$][\w.$]*|::\$(?:index_allocation|data)|\bchflags\s+hidden|dscl\b[^\n]*ishidden|\w:\w+\.(?:exe|dll|js|vbs|ps1|txt|bat)\b|\s-stream\s+\S|type\s+\S+\s*>\s*\S+:\S+|\bsetfile\s+-a\s+v|hiddenusers"
    ),
    p!(
        "indicator-removed",
        "files, tools or traces deleted",
        ["T1070.004"],
        0.35,
        r"\bsdelete\b|\bcipher(?:\.exe)?\s+/w|(?:\bdel\b|remove-item\b)[^\n]*\\prefetch\\|(?:\brd\b|\brmdir\b|\bdel\b|remove-item\b)[^\n]*\$recycle\.bin|\bclear-recyclebin\b|\brm\s+-[rf]+\s+[^\n]*\$0\b|\bshred\s+-[a-z]*u"
    ),
    p!(
        "masquerading",
        "program copied or renamed to look legitimate",
        ["T1036"],
        0.45,
        r"(?:copy|cp|mv|move)\s+[^\n]*\s\S*(?:svchost|lsass|csrss|winlogon|services|smss|spoolsv|explorer)\.exe\b|(?:cp|mv)\s+[^\n]*\s/(?:tmp|var/tmp|dev/shm)/\.\S|\bexec\s+-a\s+\S"
    ),
    p!(
        "exploit-mitigation-disabled",
        "exploit mitigations switched off (ASLR, DEP, ptrace scope)",
        ["T1562.001", "T1685"],
        0.6,
        r"randomize_va_space\s*=\s*0\b|\b0\W*>\s*/proc/sys/kernel/randomize_va_space|\bsetarch\b[^\n]*\s(?:-R|--addr-no-randomize)\b|yama\.ptrace_scope\s*=\s*0\b|\b0\W*>\s*/proc/sys/kernel/yama/ptrace_scope|bcdedit(?:\.exe)?\b[^\n]*\bnx\s+alwaysoff|set-processmitigation\b[^\n]*-disable\b|kernel\.kptr_restrict\s*=\s*0\b|\\deviceguard\\[^\n]*\b(?:enabled|enablevirtualizationbasedsecurity)\b[^\n]*\b0\b|\\control\\lsa\b[^\n]*\brunasppl\b[^\n]*\b0\b"
    ),
    p!(
        "gatekeeper-bypass",
        "macOS quarantine flag removed or Gatekeeper checks turned off",
        ["T1553.001"],
        0.6,
        r"\bxattr\s+(?:-\w+\s+)*-\w*[dc]\w*\s+(?:-\w+\s+)*com\.apple\.quarantine|\bxattr\s+-\w*c\w*\s|lsquarantine\s+-bool\s+(?:no|false)|spctl\s+(?:--master-disable|--global-disable|--disable)"
    ),
    p!(
        "cloud-defences-impaired",
        "cloud audit logging or threat detection stopped or deleted",
        ["T1562.008", "T1685"],
        0.8,
        r"\baws\s+cloudtrail\s+(?:stop-logging|delete-trail|update-trail\b[^\n]*--no-(?:include|enable|is-multi))|\baws\s+guardduty\s+(?:delete-detector|disassociate|update-detector\b[^\n]*--no-enable)|\baws\s+(?:configservice|config)\s+(?:stop|delete)-configuration-recorder|\baws\s+securityhub\s+disable|\bgcloud\s+logging\s+(?:sinks|buckets)\s+delete|\baz\s+monitor\s+(?:diagnostic-settings|log-profiles)\s+delete|remove-azdiagnosticsetting"
    ),
    p!(
        "powershell-downgrade",
        "PowerShell 2.0 engine asked for (no script block logging, no AMSI)",
        ["T1562.010", "T1689"],
        0.7,
        r"\b(?:powershell|pwsh)(?:\.exe)?\b[^\n]*\s[-/]v[a-z]*\s+2(?:\.0)?\b|enable-windowsoptionalfeature\b[^\n]*powershellv2|/enable-feature\b[^\n]*powershellv2"
    ),
    p!(
        "sandbox-evasion",
        "virtual machine or sandbox checks",
        // Checking for a hypervisor is also system information discovery.
        ["T1497", "T1082"],
        0.3,
        r"win32_computersystem\b[^\n]*(?:model|manufacturer)|\bsystemd-detect-virt\b|/sys/class/dmi/id|\bdmidecode\b|ioreg\b[^\n]*(?:vmware|virtualbox|parallels)|vboxservice|vmtoolsd|sandboxie|\b(?:lsmod|kldstat|kmod|dmesg)\b[^\n]*\b(?:vbox|vmw|vmware|virtualbox|vmm|xen|qemu|kvm|hyper-?v)|\bsleep\s+\d{3,}|start-sleep\b[^\n]*-s(?:econds)?\s+\d{3,}"
    ),
];
