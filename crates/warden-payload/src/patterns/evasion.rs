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
        r"etwenabled|enablescriptblocklogging|scriptblocklogging|enablemodulelogging|etweventwrite|historysavestyle\s+savenothing|processcreationincludecmdline_enabled\b[^\n]*\b0\b|wevtutil(?:\.exe)?\s+(?:sl|set-log)\b[^\n]*/e:false|\\winevt\\channels\\[^\n]*enabled|auditpol(?:\.exe)?\s+/(?:clear|remove|set\b[^\n]*(?:success|failure):disable)|minint\b|\\wmi\\autologger\\[^\n&|;]*\b(?:start|enabled)\b[^\n&|;]*(?:/d\s+|-value\s+)[\x22']?0\b|\blogman(?:\.exe)?\s+(?:stop|delete)\s+(?:trace\s+)?[\x22']?eventlog-|\blogman(?:\.exe)?\s+update\s+(?:trace\s+)?[\x22']?eventlog-[^\n]*\s--p\b"
    ),
    p!(
        "av-disabled",
        "antivirus or EDR disabled, excluded or removed",
        ["T1562.001", "T1685"],
        0.85,
        // Set-MpPreference takes any unambiguous prefix or alias of a switch (`-drtm`,
        // `-DisableRealtimeMon`); every switch of it that starts with `d` turns a protection off.
        r"set-mppreference\b[^\n]*\s-(?:(?:dis\w*|drtm|dbm|dioavp|dscrptsc|dbaf|darchsc|dcfsc|dcqsc|drdsc|dsnf|dintr)[\s:]+(?:\$true|1)\b|exclusion\w+)|add-mppreference\b[^\n]*-exclusion|disablerealtimemonitoring|disableantispyware|disableantivirus|disablebehaviormonitoring|disableioavprotection|mpcmdrun(?:\.exe)?\b[^\n]*-removedefinitions|(?:sc|net)(?:\.exe)?\s+(?:stop|delete|config)\s+(?:windefend|sense|wdboot|wdfilter|wdnissvc|mpssvc|sysmon\w*)|tamperprotection|\\windows defender\\[^\n]*(?:disable|exclusions)|\\policies\\microsoft\\windows defender\\[^\n]*(?:\bdisable\w*\b[^\n]*(?:/d\s+1|-value\s+1)\b|\\exclusions\\)|\bsubmitsamplesconsent\b[^\n&|;]*(?:/d\s+|-value\s+)2\b|\bspynetreporting\b[^\n&|;]*(?:/d\s+|-value\s+)0\b|msft_mppreference\b[^\n]*\b(?:set|add)\b[^\n]*(?:exclusion|disable)|schtasks(?:\.exe)?\s+(?:/delete\b[^\n]*windows defender|/change\b[^\n]*windows defender[^\n]*/disable)|\bbackstab\w*\b|fltmc(?:\.exe)?\s+unload|sysmon(?:64)?(?:\.exe)?\s+-u\b|\bmdatp\s+config\s+[\w-]+\s+--value\s+disabled|(?:disable-windowsoptionalfeature|uninstall-windowsfeature|remove-windowsfeature|/disable-feature)\b[^\n]*windows-defender|(?:stop-service|remove-service|\bsc(?:\.exe)?\s+(?:stop|delete|config)|\bnet1?(?:\.exe)?\s+stop|\btaskkill\b|\bpkill\b|\bkillall\b|\bsystemctl\s+(?:stop|disable|mask))[^\n;&|]*\b(?:mcafee\w*|symantec\w*|sophos\w*|sentinel(?:agent|one)\w*|csfalcon\w*|falcon-sensor|crowdstrike|carbonblack|cbdefense|cbagentd|cylance\w*|ekrn|kaspersky|avp|avast\w*|bitdefender|malwarebytes|mbamservice|msmpeng|wdavdaemon|elastic-agent|wazuh-agent|ossec\w*)\b|set-service\b[^\n;&|]*\b(?:mcafee\w*|symantec\w*|sophos\w*|sentinel(?:agent|one)\w*|csfalcon\w*|falcon-sensor|crowdstrike|carbonblack|cbdefense|cbagentd|cylance\w*|ekrn|kaspersky|avp|avast\w*|bitdefender|malwarebytes|mbamservice|msmpeng|wdavdaemon|elastic-agent|wazuh-agent|ossec\w*)\b[^\n;&|]*-(?:startuptype\s+disabled|status\s+stopped)"
    ),
    p!(
        "firewall-disabled",
        "firewall switched off, flushed or its logging stopped",
        ["T1562.004", "T1686"],
        0.75,
        r"netsh\s+(?:adv)?firewall\s+[^\n]*(?:state\s+off|opmode\s+(?:mode=)?disable|logging\s+(?:dropped|allowed)connections\s+disable)|set-netfirewallprofile\b[^\n]*-(?:enabled|log(?:blocked|allowed))[\s:]+(?:false|0|\$false)|enablefirewall\b[^\n]*\b0\b|\bufw\s+(?:--force\s+)?(?:disable|logging\s+off|reset)\b|\bip6?tables\s+(?:-t\s+\w+\s+)?(?:-w\s+)?(?:-F|--flush|-X|-P\s+\w+\s+ACCEPT)|systemctl\s+(?:stop|disable|mask)\s+(?:--now\s+)?(?:firewalld|ufw|iptables|nftables)|\bpfctl\s+(?:-\w+\s+)*(?-i:-d)\b|\bpfctl\s+(?:-\w+\s+)*(?-i:-F)\s*(?:a(?:ll)?|r(?:ules)?)\b|\bnft\s+flush\s+ruleset|socketfilterfw\b[^\n]*--setglobalstate\s+off|disable-netfirewallrule\b[^\n]*-(?:all|displaygroup)\b|firewall-cmd\b[^\n]*--panic-on"
    ),
    p!(
        "firewall-rule-changed",
        "firewall rule added, removed or loaded",
        // Opening a port is everyday administration as often as an attacker's way in or out:
        // weighed lighter than switching the firewall off.
        ["T1562.004", "T1686"],
        0.35,
        r"netsh\s+(?:adv)?firewall\s+[^\n]*(?:add\s+(?:rule|allowedprogram|portopening)|delete\s+rule|set\s+rule)|(?:new|remove|set|disable)-netfirewallrule|\bufw\s+(?:allow|deny|reject|limit|prepend|insert|delete|route)\b|\bip6?tables\s+(?:-t\s+\w+\s+)?(?:-w\s+)?-[AIDR]\s|\bip6?tables-restore\b|\bnft\s+(?:add|insert|delete)\s+rule|\bpfctl\b[^\n]*\s-\w*f\s|firewall-cmd\b[^\n]*--(?:add|remove)-(?:port|service|rich-rule|source|forward-port|masquerade)|\b(?:echo|printf|cat)\b[^\n|;]*>\s*[\x22']?/etc/ufw/|\b(?:tee|sed|cp|mv)\b[^\n|;]*/etc/ufw/"
    ),
    p!(
        "security-service-stopped",
        "security service or audit stopped",
        ["T1562.001", "T1685", "T1562.012"],
        0.7,
        r"\bsetenforce\s+0|selinux=disabled|\bsystemctl\s+(?:stop|disable|mask|kill)\s+(?:--now\s+)?(?:auditd|apparmor|falcon-sensor|osqueryd?|rsyslog|syslog(?:d|-ng)?|systemd-journald|sysmon|crowdstrike|mdatp|clamav|ossec|wazuh|cbdaemon)\b|\bservice\s+(?:auditd|apparmor|falcon-sensor|osqueryd?|rsyslog|syslog(?:d|-ng)?|systemd-journald|sysmon|crowdstrike|mdatp|clamav|ossec|wazuh|cbdaemon)\s+stop\b|\bsysrc\s+(?:syslogd|auditd)_enable=\W*no|storage=none\b[^\n]*journald\.conf|journald\.conf\b[^\n]*storage=none|\bauditctl\s+-(?:D|e\s*0)|\bkextunload\b|spctl\s+--master-disable|csrutil\s+disable|launchctl\s+(?:unload|bootout|remove)\b[^\n]*(?:com\.apple\.|edr|security|crowdstrike|falcon|carbonblack|sentinel|sophos|littlesnitch|opendns|umbrella|mcafee|symantec|\beset\b|jamf|\bsanta\b|\blulu\b)"
    ),
    p!(
        "logging-config-changed",
        "syslog, journald or audit configuration rewritten",
        // What a logging daemon is told to record, or where to send it, decides what the
        // defenders see later; rewriting it from a script is indicator blocking.
        ["T1562.006", "T1685"],
        0.5,
        r"\b(?:echo|printf|cat)\b[^\n|;]*>\s*[\x22']?/etc/(?:r?syslog(?:-ng)?\.conf|rsyslog\.d/\S*|syslog-ng/\S*|audisp/\S*|security/audit_\w+|audit/auditd\.conf|auditd\.conf|systemd/journald\.conf|newsyslog\.conf|asl\.conf)|\b(?:tee|truncate|sed\s+(?:-\w+\s+)*-i|perl\s+-\w*i)\b[^\n|;]*/etc/(?:r?syslog(?:-ng)?\.conf|rsyslog\.d/\S*|syslog-ng/\S*|audisp/\S*|security/audit_\w+|audit/auditd\.conf|auditd\.conf|systemd/journald\.conf|newsyslog\.conf|asl\.conf)|\b(?:cp|mv|ln)\s+(?:-\w+\s+)*[^-\s]\S*\s+[\x22']?/etc/(?:r?syslog(?:-ng)?\.conf|rsyslog\.d/\S*|syslog-ng/\S*|audisp/\S*|security/audit_\w+|audit/auditd\.conf|auditd\.conf|systemd/journald\.conf|newsyslog\.conf|asl\.conf)(?:[\s\x22';&|]|$)|\brm\s+(?:-\w+\s+)*[^\n|;]*/etc/(?:r?syslog(?:-ng)?\.conf|rsyslog\.d/\S*|syslog-ng/\S*|audisp/\S*|security/audit_\w+|audit/auditd\.conf|auditd\.conf|systemd/journald\.conf|newsyslog\.conf|asl\.conf)"
    ),
    p!(
        "security-telemetry-blocked",
        "security agent's traffic blackholed or throttled",
        ["T1562.001", "T1685"],
        0.6,
        r"add-dnsclientnrptrule\b[^\n]*-namespace\s+[\x22']?\S*(?:security|defender|winatp|securitycenter|cloudsink\.net|crowdstrike|sentinelone|carbonblack|sophos|wdcp\.microsoft|endpoint\.security|events\.data\.microsoft|security\.microsoft)[^\n]*-nameservers\s+[\x22']?(?:127\.0\.0\.1|0\.0\.0\.0|::1)|new-netqospolicy\b[^\n]*(?:mssense|msmpeng|senseir|sensecncproxy|csfalcon|sentinel\w*|cbdefense)|(?:winatp|securitycenter|cloudsink\.net|crowdstrike|sentinelone|carbonblack|sophos|wdcp\.microsoft|endpoint\.security|events\.data\.microsoft|security\.microsoft)[^\n;]*(?:>>|add-content\b|out-file\b[^\n]*-append)\s*[\x22']?\S*(?:drivers\\etc\\hosts|/etc/hosts)\b|(?:>>|add-content\b|out-file\b[^\n]*-append)[^\n;]*(?:drivers\\etc\\hosts|/etc/hosts)\b[^\n;]*(?:winatp|securitycenter|cloudsink\.net|crowdstrike|sentinelone|carbonblack|sophos|wdcp\.microsoft|endpoint\.security|events\.data\.microsoft|security\.microsoft)|new-netfirewallrule\b[^\n]*-program\b[^\n]*(?:mssense|msmpeng|senseir|csfalcon|sentinelagent)[^\n]*-action\s+block"
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
        r"(?:\brm\b|\bsrm\b|\bshred\b|\btruncate\b|\bunlink\b|>)[^\n|;]*(?:/var/log/|\bwtmp\b|\bbtmp\b|\blastlog\b|\butmp\b|/var/adm/|/var/lib/docker/containers/\S*-json\.log)|\bdd\b[^\n|;]*\bof=\S*(?:/var/log/|\bwtmp\b|\bbtmp\b|\blastlog\b|\butmp\b|/var/adm/)|\bjournalctl\s+--(?:vacuum|rotate)|\blog\s+erase\b"
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
        r"vssadmin(?:\.exe)?\s+(?:delete\s+shadows|resize\s+shadowstorage)|wmic(?:\.exe)?\s+shadowcopy\s+delete|win32_shadowcopy\b[^\n]*(?:delete|remove)|bcdedit(?:\.exe)?\b[^\n]*(?:recoveryenabled\s+no|bootstatuspolicy\s+ignoreallfailures)|wbadmin(?:\.exe)?\s+delete|tmutil\s+(?:delete|disable)|diskshadow\b[^\n]*delete\s+shadows|delete\s+shadows\b[^\n]*diskshadow|(?:\bdel\b|\berase\b)[^\n]*\s/s\b[^\n]*\*\.(?:wbcat|bkf|vhdx?)\b|remove-item\b[^\n]*-recurse\b[^\n]*\*\.(?:wbcat|bkf)\b|\brd\s+/s\s+/q\s+\S*windowsimagebackup|systemrestore\\sr\b[^\n]*/disable|disable-scheduledtask\b[^\n]*systemrestore|disable-computerrestore|(?:reg(?:\.exe)?\s+add|set-itemproperty|new-itemproperty)\b[^\n]*systemrestore\b[^\n]*\bdisable(?:sr|config)\b[^\n]*(?:/d\s+[\x22']?1\b|-value\s+[\x22']?1\b)"
    ),
    p!(
        "permissions-opened",
        "files opened to everyone, system files taken over, or remote symbolic links allowed",
        ["T1222.001"],
        0.5,
        r"\bi?cacls(?:\.exe)?\b[^\n]*\s/(?:grant(?::r)?|g)\s+[\x22']?(?:everyone|\*?s-1-1-0|authenticated\s+users|\*?s-1-5-11|builtin\\users|\*?s-1-5-32-545)[\x22']?\s*:\s*(?:\([a-z]+\))*\(?[fm]\b|filesystemaccessrule\s*\(\s*[\x22'](?:everyone|\*?s-1-1-0)[\x22']\s*,\s*[\x22'](?:fullcontrol|modify)|\btakeown(?:\.exe)?\b[^\n]*(?:\\system32\b|\\syswow64\b|%windir%|%systemroot%|\$env:windir)|symlinkevaluation\b[^\n]*r2[lr]:1|(?:reg(?:\.exe)?\s+add|new-itemproperty|set-itemproperty)\b[^\n]*symlinkremoteto(?:local|remote)evaluation\b[^\n]*(?:/d\s+[\x22']?1\b|-value\s+[\x22']?1\b)"
    ),
    p!(
        "hidden-artifact",
        "file or account hidden (attributes, streams, flags)",
        ["T1564"],
        0.45,
        r"\battrib(?:\.exe)?\s+[^\n]*\+[hs]\b|\.attributes\s*=\s*[\x22'][^\x22'\n]*(?:hidden|system)|showsuperhidden|appleshowallfiles|\bmkdir\s+(?:-p\s+)?\S*/(?:tmp|var/tmp|dev/shm)/\.\w|(?:\\|%\\?)[^\s\\:\x22']+\.\w{1,5}:[a-z_$][\w.$]*|::\$(?:index_allocation|data)|\bchflags\s+hidden|dscl\b[^\n]*ishidden|(?:^|[^\s\-/:\w])\w+:\w+\.(?:exe|dll|js|vbs|ps1|txt|bat)\b|\s-stream\s+\S|type\s+\S+\s*>\s*\S+:\S+|\bsetfile\s+-a\s+v|hiddenusers"
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
        r"(?:copy|cp|mv|move)\s+[^\n]*\s\S*(?:svchost|lsass|csrss|winlogon|services|smss|spoolsv|explorer)\.exe\b|(?:cp|mv)\s+[^\n]*\s/(?:tmp|var/tmp|dev/shm)/\.\S|\bexec\s+-a\s+\S|(?:\bcopy|\bcp|copy-item|move-item|\bmove|\bmv)\s+[^\n&|;]*\b(?:cmd|powershell|pwsh|cscript|wscript|mshta|rundll32|regsvr32)\.exe[\x22']?\s[^\n&|;]*[\\/](?:lsm|taskhostw?|dllhost|conhost|sihost|wininit|notepad|runtimebroker|searchindexer|ctfmon|audiodg)\.exe\b|\bcp\s+(?:-[\w-]+\s+)*/(?:usr/(?:local/)?)?bin/(?:ba|da|z|k)?sh\s+/(?:tmp|var/tmp|dev/shm)/[\w.-]+(?:\s|$|[;&|])"
    ),
    p!(
        "exploit-mitigation-disabled",
        "exploit mitigations switched off (ASLR, DEP, ptrace scope)",
        ["T1562.001", "T1685"],
        0.6,
        r"randomize_va_space\s*=\s*0\b|\b(?:echo|printf)\s+[\x22']?0[\x22']?\s*(?:>|\|\s*(?:sudo\s+)?tee\s+(?:-a\s+)?)\s*/proc/sys/kernel/(?:randomize_va_space|yama/ptrace_scope)|\bsetarch\b[^\n]*\s(?:-R|--addr-no-randomize)\b|yama\.ptrace_scope\s*=\s*0\b|bcdedit(?:\.exe)?\b[^\n]*\bnx\s+alwaysoff|set-processmitigation\b[^\n]*-disable\b|kernel\.kptr_restrict\s*=\s*0\b|\\deviceguard\b[^\n&|;]*\b(?:enabled|enablevirtualizationbasedsecurity|hypervisorenforcedcodeintegrity)\b[^\n&|;]*(?:/d\s+|-value\s+)0\b|\\control\\lsa\b[^\n&|;]*\brunasppl\b[^\n&|;]*(?:/d\s+|-value\s+)0\b|reg(?:\.exe)?\s+delete\b[^\n]*\\control\\lsa\b[^\n]*runasppl"
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
        r"\baws\s+(?:--\S+(?:\s+[^-\s]\S*)?\s+)*cloudtrail\s+(?:stop-logging|delete-trail|update-trail\b[^\n]*--no-(?:include|enable|is-multi)|put-event-selectors\b)|\baws\s+(?:--\S+(?:\s+[^-\s]\S*)?\s+)*guardduty\s+(?:delete-detector|disassociate|update-detector\b[^\n]*--no-enable)|\baws\s+(?:--\S+(?:\s+[^-\s]\S*)?\s+)*(?:configservice|config)\s+(?:stop|delete)-configuration-recorder|\baws\s+(?:--\S+(?:\s+[^-\s]\S*)?\s+)*securityhub\s+disable|\baws\s+(?:--\S+(?:\s+[^-\s]\S*)?\s+)*ec2\s+delete-flow-logs|\bgcloud\s+logging\s+(?:sinks|buckets)\s+(?:delete|update\b[^\n]*--disabled)|\baz\s+monitor\s+(?:diagnostic-settings|log-profiles)\s+delete|remove-azdiagnosticsetting"
    ),
    p!(
        "powershell-downgrade",
        "PowerShell 2.0 engine asked for (no script block logging, no AMSI)",
        ["T1562.010", "T1689"],
        0.7,
        r"\b(?:powershell|pwsh)(?:\.exe)?[\x22']?(?:\s+[-/](?:nop\w*|noni\w*|nol\w*|sta|mta|w\w*\s+\w+|ep\s+\w+|ex\w*\s+\w+))*\s+[-/]v(?:e|er|ers|ersi|ersio|ersion)?\s+2(?:\.0)?\b|enable-windowsoptionalfeature\b[^\n]*powershellv2|/enable-feature\b[^\n]*powershellv2"
    ),
    p!(
        "sandbox-evasion",
        "virtual machine or sandbox checks",
        // Checking for a hypervisor is also system information discovery.
        ["T1497", "T1082"],
        0.3,
        r"win32_computersystem\b[^\n]*(?:model|manufacturer)|msacpi_thermalzonetemperature\b[\s\S]{0,400}?(?:virtuali[sz]|\bvm\b|sandbox|hypervisor)|\b(?:hw\.hv_vendor|kern\.hv_vmm_present)\b|\bsystemd-detect-virt\b|/sys/class/dmi/id|\bdmidecode\b|ioreg\b[^\n]*(?:vmware|virtualbox|parallels)|vboxservice|vmtoolsd|sandboxie|\b(?:lsmod|kldstat|kmod|dmesg)\b[^\n]*\b(?:vbox|vmw|vmware|virtualbox|vmm|xen|qemu|kvm|hyper-?v)|\bsleep\s+\d{3,}|start-sleep\b[^\n]*-s(?:econds)?\s+\d{3,}"
    ),
];
