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
        r"etwenabled|enablescriptblocklogging|scriptblocklogging|enablemodulelogging|etweventwrite|historysavestyle\s+savenothing|processcreationincludecmdline_enabled\b[^\n]*\b0\b|wevtutil(?:\.exe)?\s+(?:sl|set-log)\b[^\n]*/e:false|\\winevt\\channels\\[^\n]*enabled|auditpol(?:\.exe)?\s+/(?:clear|remove|set\b[^\n]*(?:success|failure):disable)|minint\b"
    ),
    p!(
        "av-disabled",
        "antivirus or EDR disabled, excluded or removed",
        ["T1562.001", "T1685"],
        0.85,
        r"set-mppreference\b[^\n]*-(?:disable\w+\s+(?:\$true|1)|exclusion\w+)|add-mppreference\b[^\n]*-exclusion|disablerealtimemonitoring|disableantispyware|disableantivirus|disablebehaviormonitoring|disableioavprotection|mpcmdrun(?:\.exe)?\b[^\n]*-removedefinitions|(?:sc|net)(?:\.exe)?\s+(?:stop|delete|config)\s+(?:windefend|sense|wdboot|wdfilter|wdnissvc|mpssvc|sysmon\w*)|tamperprotection|\\windows defender\\[^\n]*(?:disable|exclusions)|fltmc(?:\.exe)?\s+unload|sysmon(?:64)?(?:\.exe)?\s+-u\b"
    ),
    p!(
        "firewall-disabled",
        "firewall disabled or opened",
        ["T1562.004", "T1686"],
        0.7,
        r"netsh\s+(?:adv)?firewall\s+[^\n]*(?:state\s+off|opmode\s+(?:mode=)?disable|add\s+(?:rule|allowedprogram|portopening)|delete\s+rule)|set-netfirewallprofile\b[^\n]*-enabled\s+(?:false|0|\$false)|enablefirewall\b[^\n]*\b0\b|new-netfirewallrule|\bufw\s+(?:disable|allow)|\biptables\s+(?:-F|--flush|-X|-P\s+\w+\s+ACCEPT)|systemctl\s+(?:stop|disable|mask)\s+(?:firewalld|ufw|iptables|nftables)|\bpfctl\s+-[dF]|\bnft\s+flush|/etc/ufw/|iptables-save|socketfilterfw\b[^\n]*--setglobalstate\s+off"
    ),
    p!(
        "security-service-stopped",
        "security service or audit stopped",
        ["T1562.001", "T1685", "T1562.012"],
        0.7,
        r"\bsetenforce\s+0|selinux=disabled|(?:systemctl|service)\s+(?:stop|disable|mask)?\s*(?:auditd|apparmor|falcon-sensor|osqueryd?|rsyslog|syslog|sysmon|crowdstrike|mdatp|clamav|ossec|wazuh)\b|\bauditctl\s+-(?:D|e\s*0)|\bkextunload\b|spctl\s+--master-disable|csrutil\s+disable|launchctl\s+unload\b[^\n]*(?:com\.apple\.|edr|security)"
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
        r"(?:\brm\b|\bsrm\b|\bshred\b|\btruncate\b|\bunlink\b|>)[^\n|;]*(?:/var/log/|\bwtmp\b|\bbtmp\b|\blastlog\b|\butmp\b|/var/adm/)|\bjournalctl\s+--(?:vacuum|rotate)|\blog\s+erase\b"
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
        "sandbox-evasion",
        "virtual machine or sandbox checks",
        // Checking for a hypervisor is also system information discovery.
        ["T1497", "T1082"],
        0.3,
        r"win32_computersystem\b[^\n]*(?:model|manufacturer)|\bsystemd-detect-virt\b|/sys/class/dmi/id|\bdmidecode\b|ioreg\b[^\n]*(?:vmware|virtualbox|parallels)|vboxservice|vmtoolsd|sandboxie|\b(?:lsmod|kldstat|kmod|dmesg)\b[^\n]*\b(?:vbox|vmw|vmware|virtualbox|vmm|xen|qemu|kvm|hyper-?v)|\bsleep\s+\d{3,}|start-sleep\b[^\n]*-s(?:econds)?\s+\d{3,}"
    ),
];
