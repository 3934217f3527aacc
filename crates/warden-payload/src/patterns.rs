//! The signature table: what a command does, recognised by its text, with the ATT&CK
//! techniques it belongs to and how much it weighs (0–1: how strongly it alone points at an
//! attack). Patterns describe behaviour — a download piped into a shell, an LSASS dump, a run
//! key written — rather than tools' names, so renamed tools and new variants still match.
//!
//! Where ATT&CK v18 gave a sub-technique its own id (Impair Defenses: T1562.001 → T1685,
//! T1562.004 → T1686, T1562.003 → T1690), both ids are listed.

/// One signature.
pub struct Pattern {
    pub id: &'static str,
    pub name: &'static str,
    pub attack: &'static [&'static str],
    pub weight: f32,
    /// Regular expression, matched case-insensitively.
    pub re: &'static str,
}

macro_rules! p {
    ($id:literal, $name:literal, [$($t:literal),*], $w:literal, $re:literal) => {
        Pattern { id: $id, name: $name, attack: &[$($t),*], weight: $w, re: $re }
    };
}

pub const PATTERNS: &[Pattern] = &[
    // --- download and execute ---
    p!(
        "download-pipe-shell",
        "download piped into a shell",
        ["T1105", "T1059.004"],
        0.9,
        r"\b(?:curl|wget|fetch|lwp-download)\b[^|;&\n]*\|\s*(?:sudo\s+)?(?:/\S*/)?(?:ba|z|da|k|a)?sh\b"
    ),
    p!(
        "download-execute-powershell",
        "PowerShell downloads and runs code",
        ["T1105", "T1059.001"],
        0.9,
        r"(?:\biex\b|invoke-expression)[\s(]*(?:\(?\s*new-object\s+(?:system\.)?net\.webclient\s*\)?\s*\.\s*download(?:string|data)|\biwr\b|invoke-webrequest|\birm\b|invoke-restmethod|\(?\s*\[(?:system\.)?net\.webclient\])|download(?:string|data)\s*\([^)]*\)\s*\)?\s*\|\s*(?:iex|invoke-expression)|(?:invoke-webrequest|\biwr\b|invoke-restmethod|\birm\b)\b[^|\n]*\|\s*(?:iex|invoke-expression)"
    ),
    p!(
        "download-powershell",
        "PowerShell download",
        ["T1105"],
        0.35,
        r"net\.webclient|download(?:string|file|data)\s*\(|invoke-webrequest|\biwr\s|invoke-restmethod|start-bitstransfer|\birm\s+https?:"
    ),
    p!(
        "download-then-run",
        "downloaded file made executable or run",
        ["T1105", "T1059"],
        0.7,
        r"\b(?:curl|wget)\b[^\n]*(?:-o|-O|>)\s*\S+[^\n]*(?:chmod\s+\+?[0-7]*x|&&\s*\./|;\s*\./|\|\s*python|;\s*(?:ba)?sh\s+\S)"
    ),
    p!(
        "certutil-download",
        "certutil fetches a file",
        ["T1105", "T1218"],
        0.8,
        r"certutil(?:\.exe)?\b[^\n]*(?:[-/]urlcache|[-/]verifyctl|-split\s+-f|[-/]f\s+https?:)"
    ),
    p!(
        "certutil-decode",
        "certutil decodes a file",
        ["T1140"],
        0.55,
        r"certutil(?:\.exe)?\b[^\n]*[-/]decode(?:hex)?\b"
    ),
    p!(
        "bitsadmin-transfer",
        "BITS job downloads or runs",
        ["T1197", "T1105"],
        0.75,
        r"bitsadmin(?:\.exe)?\b[^\n]*(?:/transfer|/addfile|/download|/setnotifycmdline|/create)"
    ),
    p!(
        "remote-script-host",
        "script host or proxy binary runs remote or inline script",
        ["T1218.005", "T1218"],
        0.85,
        r"\bmshta(?:\.exe)?\b[^\n]*(?:https?:|javascript:|vbscript:|\.hta\b)"
    ),
    p!(
        "rundll32-proxy",
        "rundll32 proxies execution",
        ["T1218.011"],
        0.75,
        r"\brundll32(?:\.exe)?\b[^\n]*(?:javascript:|url\.dll|shell32\.dll,\s*(?:shellexec_rundll|control_rundll)|advpack\.dll|ieadvpack|zipfldr|pcwutl|shdocvw|setupapi\.dll|syssetup\.dll|comsvcs|,\s*#\d+|\\\\|https?:|,\s*dllregisterserver|desk\.cpl|\.cpl,)"
    ),
    p!(
        "rundll32-export",
        "rundll32 runs a DLL export",
        ["T1218.011"],
        0.4,
        r"\brundll32(?:\.exe)?\s+\S+\s*,\s*\S"
    ),
    p!(
        "regsvr32-scriptlet",
        "regsvr32 loads a scriptlet (Squiblydoo)",
        ["T1218.010"],
        0.9,
        r"\bregsvr32(?:\.exe)?\b[^\n]*[-/]i:\s*\S*(?:https?:|\.sct|scrobj)|\bregsvr32\b[^\n]*scrobj\.dll"
    ),
    p!(
        "regsvr32-silent",
        "regsvr32 registers silently",
        ["T1218.010"],
        0.35,
        r"\bregsvr32(?:\.exe)?\s+(?:[-/][su]\s+)+\S"
    ),
    p!(
        "dotnet-proxy",
        ".NET utility proxies execution",
        ["T1218.004", "T1218.009", "T1127.001"],
        0.55,
        r"\b(?:installutil|regasm|regsvcs)(?:\.exe)?\b[^\n]*(?:/u\b|/logfile=|/logtoconsole|\.dll)|\bmsbuild(?:\.exe)?\s+[^\n]*\.(?:xml|csproj|proj|targets|txt)\b"
    ),
    p!(
        "trusted-dev-utility",
        "trusted developer utility runs code",
        ["T1127"],
        0.5,
        r"\b(?:csi|rcsi|dnx|vbc|cdb|windbg|tracker|dotnet|msxsl|te|vsjitdebugger|ntsd|bginfo)(?:\.exe)?\s+[^\n]*\.(?:csx|cs|dll|xml|xsl|wds|bgi)\b|\bcdb(?:\.exe)?\s+-cf\b"
    ),
    p!(
        "cmstp-inf",
        "cmstp installs an INF (UAC bypass / proxy)",
        ["T1218.003"],
        0.75,
        r"\bcmstp(?:\.exe)?\b[^\n]*\.inf\b"
    ),
    p!(
        "msiexec-remote",
        "msiexec installs from the network or loads a DLL",
        ["T1218.007"],
        0.75,
        r"\bmsiexec(?:\.exe)?\b[^\n]*(?:https?://|\\\\|/y\s|/z\s|-y\s|-z\s)"
    ),
    p!(
        "signed-script-proxy",
        "signed script proxies execution",
        ["T1216"],
        0.75,
        r"pubprn\.vbs|syncappvpublishingserver|cl_invocation|cl_mutexverifiers|cl_loadassembly|manage-bde\.wsf|winrm\.vbs|slmgr\.vbs"
    ),
    p!(
        "proxy-binary",
        "system binary proxies execution",
        ["T1218"],
        0.55,
        r"\b(?:hh(?:\.exe)?\s+(?:https?:|\S+\.chm)|control(?:\.exe)?\s+\S+\.cpl|odbcconf(?:\.exe)?\b[^\n]*(?:[-/]a\b|regsvr|\.rsp)|ieexec|infdefaultinstall|presentationhost|msdt(?:\.exe)?\b[^\n]*(?:[-/]path|ms-msdt|it_browseforfile|[-/]af\b)|xwizard|dnscmd\b[^\n]*serverlevelplugindll|diskshadow(?:\.exe)?\b[^\n]*[-/]s\b|mavinject|wuauclt\b[^\n]*/runhandlercomserver|verclsid|register-cimprovider|mmc(?:\.exe)?\s+-embedding|atbroker\b[^\n]*/start|msconfig|dfsvc|appvlp|devtoolslauncher|openwith\b[^\n]*/c|ttdinject|squirrel|update\.exe\b[^\n]*--processstart)"
    ),
    p!(
        "indirect-execution",
        "command run through another program",
        ["T1202"],
        0.5,
        r"\b(?:pcalua(?:\.exe)?\s+-a|forfiles(?:\.exe)?\b[^\n]*[-/]c\s|conhost(?:\.exe)?\s+(?:--headless\s+)?\S+|scriptrunner(?:\.exe)?\s+-appvscript|wsl(?:\.exe)?\s+(?:-e|--exec|-u\s+root)|bash\.exe\s+-c|explorer(?:\.exe)?\s+/root,)"
    ),
    p!(
        "wmic-process-create",
        "WMI creates a process",
        ["T1047"],
        0.7,
        r"\bwmic(?:\.exe)?\b[^\n]*process\s+call\s+create|invoke-wmimethod\b[^\n]*win32_process|invoke-cimmethod\b[^\n]*win32_process|\[wmiclass\][^\n]*win32_process"
    ),
    p!(
        "wmic-xsl",
        "WMIC runs a stylesheet (XSL script)",
        ["T1220"],
        0.85,
        r"\bwmic(?:\.exe)?\b[^\n]*/format:\s*\S*(?:https?:|\.xsl)"
    ),
    p!(
        "script-host",
        "Windows script host runs a script",
        ["T1059.005", "T1059.007"],
        0.4,
        r"\b(?:cscript|wscript)(?:\.exe)?\b[^\n]*(?:\.(?:js|vbs|jse|vbe|wsf|wsh|sct)\b|//e:)"
    ),
    p!(
        "applescript",
        "AppleScript run from the command line",
        ["T1059.002"],
        0.35,
        r"\bosascript\b"
    ),
    // --- encoding and obfuscation ---
    p!(
        "powershell-encoded",
        "PowerShell encoded command",
        ["T1027", "T1059.001"],
        0.6,
        r"(?:^|\s)[-/](?:ec|e|en|enc|enco|encod|encode|encoded|encodedcommand)\s+[a-z0-9+/=]{16,}"
    ),
    p!(
        "base64-decode-run",
        "base64 decoded in memory",
        ["T1140", "T1027"],
        0.45,
        r"frombase64string|\bbase64\s+(?:-d|--decode|-D)\b|\bopenssl\s+(?:enc\s+)?(?:-d\s+)?-?base64\s+-d|atob\(|b64decode"
    ),
    p!(
        "compressed-script",
        "compressed script inflated in memory",
        ["T1027", "T1140"],
        0.55,
        r"io\.compression\.(?:gzipstream|deflatestream)|\bzlib\.decompress|gzinflate|\bgunzip\b[^\n]*\|\s*(?:ba)?sh"
    ),
    p!(
        "string-obfuscation",
        "string built from pieces to hide it",
        ["T1027"],
        0.4,
        r"\[char\]\s*\d+\s*\+\s*\[char\]|-join\s*\(?\s*\[char\[\]\]|\[char\[\]\]\s*\(\s*\d+\s*,\s*\d+|\x22\{\d\}\{\d\}[^\n]*\x22\s*-f\s|'\{\d\}\{\d\}[^\n]*'\s*-f\s|\$env:comspec\[|\$pshome\[|\$shellid\[|%[a-z]+:~-?\d+,\d+%|(?:\^[a-z]){4,}|(?:`[a-z]){3,}"
    ),
    p!(
        "hidden-window",
        "hidden or non-interactive PowerShell",
        ["T1564.003", "T1059.001"],
        0.35,
        r"(?:^|\s)-w(?:i|in|ind|indo|indow|indows|indowst|indowsty|indowstyl|indowstyle)?\s+(?:h|hi|hid|hidd|hidde|hidden|1)\b|\s-noni(?:nteractive)?\b[^\n]*\s-nop"
    ),
    p!(
        "execution-policy-bypass",
        "execution policy bypassed",
        ["T1059.001"],
        0.3,
        r"(?:^|\s)-(?:ep|ex|exec|executionpolicy)\s+(?:bypass|unrestricted)|set-executionpolicy\s+(?:-\w+\s+)*(?:bypass|unrestricted)"
    ),
    p!(
        "invoke-expression",
        "dynamic code run (Invoke-Expression)",
        ["T1059.001"],
        0.35,
        r"\biex\b|invoke-expression|\[scriptblock\]::create"
    ),
    p!(
        "reflective-load",
        "code loaded or injected from memory",
        ["T1620", "T1055"],
        0.8,
        r"\[(?:system\.)?reflection\.assembly\]::load|assembly\]::load(?:file|from)?\(|getdelegateforfunctionpointer|virtualalloc|createthread|writeprocessmemory|createremotethread|ntqueueapcthread|setthreadcontext|queueuserapc|\bshellcode\b|invoke-reflectivepeinjection|invoke-shellcode|donut\b|sharpshooter"
    ),
    p!(
        "native-api-add-type",
        "native Windows API imported in PowerShell",
        ["T1106"],
        0.45,
        r"add-type\b[^\n]*(?:dllimport|-memberdefinition)|\[dllimport\("
    ),
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
        ["T1562.002", "T1562.003", "T1690"],
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
        "Linux logs or shell history wiped",
        ["T1070.002", "T1070.003", "T1690"],
        0.7,
        r"(?:\brm\b|\bshred\b|\btruncate\b|\bunlink\b|>)[^\n|;]*(?:/var/log/|\.bash_history|\.zsh_history|\bwtmp\b|\bbtmp\b|\blastlog\b|\butmp\b|/var/adm/)|\bhistory\s+-[cw]\b|unset\s+histfile|histfile=/dev/null|hist(?:file)?size=0|histcontrol=ignore|set\s+\+o\s+history|\bjournalctl\s+--(?:vacuum|rotate)|histignore=|\blog\s+erase\b|>[^\n|;]*/var/(?:spool/)?mail/"
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
        r"\battrib(?:\.exe)?\s+[^\n]*\+h|\bchflags\s+hidden|dscl\b[^\n]*ishidden|\w:\w+\.(?:exe|dll|js|vbs|ps1|txt|bat)\b|\s-stream\s+\S|type\s+\S+\s*>\s*\S+:\S+|\bsetfile\s+-a\s+v|hiddenusers"
    ),
    p!(
        "indicator-removed",
        "files, tools or traces deleted",
        ["T1070.004"],
        0.35,
        r"\bsdelete\b|\bcipher(?:\.exe)?\s+/w|\bdel\s+[^\n]*\\prefetch\\|\brm\s+-[rf]+\s+[^\n]*\$0\b|\bshred\s+-[a-z]*u"
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
        ["T1497"],
        0.3,
        r"win32_computersystem\b[^\n]*(?:model|manufacturer)|\bsystemd-detect-virt\b|/sys/class/dmi/id|\bdmidecode\b|ioreg\b[^\n]*(?:vmware|virtualbox|parallels)|vboxservice|vmtoolsd|sandboxie|\bsleep\s+\d{3,}|start-sleep\b[^\n]*-s(?:econds)?\s+\d{3,}"
    ),
    // --- credential access ---
    p!(
        "lsass-dump",
        "LSASS memory dumped",
        ["T1003.001"],
        0.95,
        r"lsass[^\n]*(?:procdump|comsvcs|minidump|createdump|out-minidump|sqldumper|rdrleakdiag|\.dmp|dumpert|nanodump)|(?:procdump|createdump|sqldumper|rdrleakdiag)(?:64)?(?:\.exe)?\b[^\n]*(?:lsass|-ma\s)|comsvcs(?:\.dll)?[^\n]*minidump|minidumpwritedump"
    ),
    p!(
        "credential-tool",
        "credential theft tool",
        ["T1003", "T1558", "T1555"],
        0.95,
        r"mimikatz|sekurlsa|lsadump::|kerberos::|privilege::debug|invoke-mimikatz|dcsync|pypykatz|lazagne|safetykatz|\brubeus\b|\bkekeo\b|secretsdump|\bgsecdump\b|\bwce(?:\.exe)?\s|\bpwdump|fgdump|mimipenguin|\blaZagne|sharpdpapi|sharpchrome|seatbelt\b|invoke-powerdump|get-gpppassword"
    ),
    p!(
        "sam-hive-dump",
        "SAM, SYSTEM or SECURITY hive copied",
        ["T1003.002"],
        0.85,
        r"reg(?:\.exe)?\s+(?:save|export)\s+\S*hklm\\(?:sam|system|security)\b|\\config\\(?:sam|system|security)\b|hklm\\sam\b|hkey_local_machine\\sam\b"
    ),
    p!(
        "ntds-dump",
        "Active Directory database copied",
        ["T1003.003"],
        0.9,
        r"ntds\.dit|ntdsutil(?:\.exe)?\b[^\n]*(?:ifm|create\s+full|snapshot)|vssadmin(?:\.exe)?\s+create\s+shadow|\\\\\?\\globalroot\\device\\harddiskvolumeshadowcopy|win32_shadowcopy\b[^\n]*create"
    ),
    p!(
        "linux-credential-files",
        "password hashes or keyrings read",
        ["T1003.008", "T1552.001"],
        0.7,
        r"/etc/(?:shadow|gshadow|security/opasswd|master\.passwd)\b|\bunshadow\b|/var/lib/sss/|\.krb5cc|/tmp/krb5cc|keyring|\bgcore\b|/proc/[^\s/]+/(?:mem|maps|environ)\b"
    ),
    p!(
        "credentials-in-history",
        "shell history searched for credentials",
        ["T1552.003"],
        0.55,
        r"(?:\bgrep\b|\bcat\b|\bstrings\b|\bless\b|\btype\b|get-content|\bselect-string\b)[^\n]*(?:\.\w*_?history\b|consolehost_history|historysavepath)[^\n]*(?:pass|secret|token|ssh|key)|(?:pass|secret|token)[^\n]*(?:\.\w*_?history\b|consolehost_history)"
    ),
    p!(
        "pam-modified",
        "authentication module configuration changed",
        ["T1556.003"],
        0.6,
        r"(?:\bsed\s+-i|\btee\b|>|\bcp\b|\bmv\b|\binstall\b)[^\n|;]*/etc/pam\.d/|pam_(?:permit|succeed_if|exec)\.so\b[^\n]*(?:/etc/pam\.d|>)"
    ),
    p!(
        "credential-files",
        "stored credentials or keys collected",
        ["T1552.001", "T1552.004", "T1555"],
        0.55,
        r"\.aws/credentials|\.ssh/id_(?:rsa|dsa|ecdsa|ed25519)\b|\.git-credentials|\.docker/config\.json|\.kube/config|unattend(?:ed)?\.xml|sysprep\.(?:xml|inf)|groups\.xml|cpassword|\.netrc\b|\.pgpass\b|wallet\.dat|\bsecurity\s+(?:find|dump)-(?:generic-password|internet-password|keychain)|login\s+data|cookies\.sqlite|key[34]\.db|logins\.json|\.kdbx\b|credentials\.xml|findstr\b[^\n]*(?:password|cpassword|pwd)|grep\b[^\n]*-[a-z]*r[a-z]*\s[^\n]*password|\.pfx\b|\.p12\b|\.pem\b[^\n]*(?:cp|copy|scp|curl)|vaultcmd|cmdkey\s+/list|get-storedcredential|dpapi"
    ),
    p!(
        "kerberos-abuse",
        "Kerberos tickets requested or stolen",
        ["T1558"],
        0.75,
        r"kerberoast|asreproast|invoke-kerberoast|\bget-spn\b|setspn(?:\.exe)?\s+-[qt]|\.kirbi\b|asktgt|asktgs|\bklist\s+(?:purge|tgt|get)|getuserspns|getnpusers|\bticketer\b|golden\s*ticket|silver\s*ticket|krbtgt"
    ),
    p!(
        "keylogging",
        "keystrokes or input captured",
        ["T1056.001"],
        0.65,
        r"getasynckeystate|setwindowshookex|getkeyboardstate|keylog|\bxinput\s+test\b|\blogkeys\b|\bshowkey\b|/dev/input/event"
    ),
    p!(
        "brute-force",
        "password guessing or cracking",
        ["T1110"],
        0.6,
        r"\bhydra\b|\bmedusa\b|\bhashcat\b|\bjohn\s|\bncrack\b|\bpatator\b|spray|\bcrackmapexec\b[^\n]*-p\s|\bkerbrute\b|\bbrutespray\b"
    ),
    // --- privilege escalation ---
    p!(
        "setuid-abuse",
        "setuid or capabilities granted or sought",
        ["T1548.001"],
        0.6,
        r"\bchmod\s+(?:[ugoa]*\+[rwx]*s|[0-7]?[4-7][0-7]{3}\b)|\bsetcap\s+\S*cap_(?:setuid|setgid|sys_admin|dac_override|sys_ptrace)|\bfind\s+/[^\n]*-perm\s+(?:-|/)?(?:4000|2000|6000|u=s|g=s)|\bgetcap\s+-r\s+/"
    ),
    p!(
        "sudo-abuse",
        "sudo rules changed or abused",
        ["T1548.003"],
        0.7,
        r"/etc/sudoers|nopasswd|\bsudo\s+-u\s*#-1|\bsudo\s+(?:-[a-z]*\s+)*(?:su|-s|-i)\b|\bsudo\s+-l\b|\bsudoedit\b|\bpkexec\b|timestamp_timeout"
    ),
    p!(
        "shell-escape",
        "program made to spawn a shell",
        ["T1059", "T1548"],
        0.6,
        r"-exec\s+/bin/(?:ba|z|da)?sh\b|\bos\.(?:system|exec\w*|setuid|spawn\w*|popen)\(|pty\.spawn\(|\bexec\s+/bin/(?:ba|z|da)?sh\b|/bin/(?:ba)?sh\s+-[ip]\b|!/bin/(?:ba|z)?sh\b|:!sh\b|\bsystem\(\s*[\x22']/bin/(?:ba)?sh|subprocess\.(?:call|run|popen)\(\s*\[?[\x22']/bin/(?:ba)?sh|kernel\.(?:system|exec)|io\.popen\(|child_process|\bexec\s+[\x22']?sh\b|\$\{IFS\}|--checkpoint-action=exec|--to-command=|\bspawn\(\s*[\x22']/bin"
    ),
    p!(
        "uac-bypass",
        "User Account Control bypassed",
        ["T1548.002"],
        0.8,
        r"fodhelper|\beventvwr(?:\.exe)?\b|computerdefaults|\bsdclt(?:\.exe)?\b|ms-settings\\shell\\open\\command|mscfile\\shell\\open\\command|exefile\\shell\\open\\command|delegateexecute|cmstplua|silentcleanup|\bwsreset\b|changepk|slui(?:\.exe)?\b[^\n]*exefile"
    ),
    p!(
        "token-abuse",
        "access token stolen or impersonated",
        ["T1134"],
        0.65,
        r"seimpersonateprivilege|sedebugprivilege|seassignprimarytoken|invoke-tokenmanipulation|createprocesswithtoken|duplicatetoken|impersonateloggedonuser|runas(?:\.exe)?\s+/(?:netonly|savecred)|\bjuicypotato|printspoofer|godpotato|roguepotato|sweetpotato|incognito|\bpsexec(?:64)?(?:\.exe)?\b[^\n]*\s-[a-z]*s\b"
    ),
    p!(
        "account-created",
        "account created or added to a privileged group",
        ["T1136", "T1098"],
        0.6,
        r"\bnet1?(?:\.exe)?\s+user\s+\S+\s+\S+\s+/add|\bnet1?(?:\.exe)?\s+(?:localgroup|group)\s+[^\n]*\s/add|new-localuser|add-localgroupmember|new-aduser|add-adgroupmember|(?:^|[\s;&|(])(?:useradd|adduser)\s+-{0,2}\w|\busermod\s+[^\n]*-a?G\s*\S*(?:sudo|wheel|root|admin|docker)|dscl\s+\.\s+-(?:create|append)\s+/(?:users|groups)|sysadminctl\s+-adduser|\bnet1?(?:\.exe)?\s+user\s+\S+\s+/active:yes|:0:0:[^\n]*/etc/passwd|>>\s*/etc/passwd|\bpasswd\s+\S+\s*<<|chpasswd"
    ),
    // --- persistence ---
    p!(
        "file-association-changed",
        "file type association changed",
        ["T1546.001"],
        0.45,
        r"\bassoc\s+\.\w+\s*=|\bftype\s+\w+\s*="
    ),
    p!(
        "run-key",
        "autostart registry key written",
        ["T1547.001", "T1547"],
        0.7,
        r"\\currentversion\\(?:run|runonce|runservices|runonceex|policies\\explorer\\run)\b|\\winlogon\\?\s*(?:/v\s+)?(?:userinit|shell)\b|\\winlogon\b[^\n]*(?:userinit|shell)|appinit_dlls|userinitmprlogonscript|\\start menu\\programs\\startup|\\startup\\|shell:startup|bootexecute|\\lsa\\(?:security\s+packages|authentication\s+packages|notification\s+packages)|\\print\\monitors|\\timeproviders\\"
    ),
    p!(
        "scheduled-task",
        "scheduled task or job created",
        ["T1053.005", "T1053"],
        0.55,
        r"schtasks(?:\.exe)?\s+/create|register-scheduledtask|new-scheduledtask(?:action|trigger)|\bat(?:\.exe)?\s+(?:\\\\\S+\s+)?\d{1,2}:\d{2}|\bschtasks\b[^\n]*/run"
    ),
    p!(
        "service-created",
        "service created or its binary changed",
        ["T1543.003"],
        0.6,
        r"\bsc(?:\.exe)?\s+(?:\\\\\S+\s+)?(?:create|config)\s+\S+\s+[^\n]*binpath\s*=|new-service\b|\\services\\[^\n]*imagepath|set-service\b[^\n]*-binarypathname"
    ),
    p!(
        "cron-persistence",
        "cron job installed",
        ["T1053.003"],
        0.55,
        r"\bcrontab\s+(?:-\S+\s+)*\S+\s*$|\|\s*crontab\s+-|\(\s*crontab\s+-l|/etc/cron(?:tab|\.d|\.hourly|\.daily|\.weekly|\.monthly)|/var/spool/cron|\bcrontab\s+-u\s+\S+\s+\S|/etc/anacrontab|echo\s[^\n]*\*\s+\*\s+\*[^\n]*>>"
    ),
    p!(
        "systemd-persistence",
        "systemd unit or timer installed",
        ["T1543.002", "T1053.006"],
        0.45,
        r"/etc/systemd/(?:system|user)/\S+\.(?:service|timer)|\.config/systemd/user|/lib/systemd/system/\S+\.service[^\n]*(?:>|tee|cp)|systemctl\s+(?:--user\s+)?enable\s+[^\n]*\.(?:service|timer)|\bsystemd-run\b"
    ),
    p!(
        "shell-profile",
        "shell start-up file modified",
        ["T1546.004", "T1037"],
        0.6,
        r"(?:>>?|tee\s+-a|tee)\s*\S*(?:\.bashrc|\.bash_profile|\.bash_login|\.bash_logout|\.profile|\.zshrc|\.zprofile|\.zshenv|/etc/profile|/etc/bash\.bashrc|/etc/rc\.local|/etc/rc\.common|/etc/init\.d/|\.config/autostart|/etc/environment|\.xinitrc|/etc/update-motd\.d/)|\btrap\b[^\n]*\b(?:DEBUG|EXIT|SIGINT)\b|prompt_command="
    ),
    p!(
        "ssh-key-added",
        "SSH key or SSH daemon settings changed",
        ["T1098.004"],
        0.7,
        r"(?:>>?|tee\s+-a|tee|cp)\s*\S*authorized_keys2?\b|/etc/ssh/sshd_config\b[^\n]*(?:permitrootlogin|passwordauthentication)|permitrootlogin\s+yes"
    ),
    p!(
        "wmi-subscription",
        "WMI event subscription",
        ["T1546.003"],
        0.85,
        r"__eventfilter|commandlineeventconsumer|activescripteventconsumer|__filtertoconsumerbinding|set-wmiinstance\b[^\n]*(?:__|consumer)|\bmofcomp(?:\.exe)?\b|register-wmievent"
    ),
    p!(
        "preload-hijack",
        "library preload or search order hijacked",
        ["T1574.006", "T1574"],
        0.7,
        r"ld_preload=|/etc/ld\.so\.preload|dyld_insert_libraries|ld_library_path=\S*(?:/tmp|/dev/shm)|\\knowndlls|\.local\b[^\n]*\.dll|comhijack|inprocserver32\b[^\n]*(?:/d|-value|/ve)|\\clsid\\\{[^\n]*(?:/d|-value)"
    ),
    p!(
        "launchd-persistence",
        "launchd agent or daemon installed",
        ["T1543.001", "T1543.004"],
        0.5,
        r"launchctl\s+(?:load|bootstrap|submit|enable)|/library/launch(?:agents|daemons)/|loginhook|\bemond\b|/library/startupitems"
    ),
    p!(
        "office-persistence",
        "Office add-in, template or macro setting",
        ["T1137"],
        0.6,
        r"\\office\\[^\n]*\\(?:addins|security\\trusted|vbaom|access\\security)|accessvbom|normal\.dotm|\\xlstart\\|office\s+test\\special\\perf|\.xlam\b|\.wll\b"
    ),
    p!(
        "accessibility-hijack",
        "accessibility program replaced or debugged",
        ["T1546.008", "T1546.012"],
        0.8,
        r"(?:sethc|utilman|osk|magnify|narrator|displayswitch|atbroker)\.exe[^\n]*(?:debugger|copy|/y|cmd\.exe)|image\s+file\s+execution\s+options\\[^\n]*(?:debugger|globalflag|monitorprocess)|silentprocessexit"
    ),
    p!(
        "event-triggered",
        "other event-triggered execution",
        ["T1546"],
        0.5,
        r"\bnetsh(?:\.exe)?\s+add\s+helper|scrnsave\.exe|\\control panel\\desktop\b[^\n]*scrnsave|\bprofile\.ps1\b[^\n]*(?:add-content|>>|set-content)|\$profile\b[^\n]*(?:add-content|>>|set-content)|\bapplicationshimming|\bsdbinst\b|\.sdb\b|\bcomponent\s+object\b|emond\.d|udev/rules\.d|\.desktop\b[^\n]*autostart|\bpip\s+install\b[^\n]*--user\b[^\n]*\.pth|sitecustomize|usercustomize|\.pth\b"
    ),
    // --- shells and command and control ---
    p!(
        "reverse-shell-devtcp",
        "shell over a /dev/tcp socket",
        ["T1059.004", "T1071"],
        0.95,
        r"/dev/(?:tcp|udp)/[^\s/]+/\d+|/inet/tcp/"
    ),
    p!(
        "reverse-shell-netcat",
        "netcat or telnet hands a shell to the network",
        ["T1059", "T1071"],
        0.9,
        r"\b(?:nc|ncat|netcat|nc\.traditional|nc\.openbsd|busybox\s+nc)(?:\.exe)?\b[^\n|;]*\s-[a-z]*[ec]\s*\S*(?:sh|cmd|powershell|pwsh|bash)\b|\bncat\b[^\n]*--(?:exec|sh-exec|lua-exec)|(?:mkfifo|mknod)\s+\S+[^\n]*\|\s*(?:nc|ncat|netcat|telnet|openssl|socat)\b|\|\s*(?:/bin/)?(?:ba)?sh\s+-i\s*(?:2>&1\s*)?\|\s*(?:nc|ncat|telnet|openssl)\b|\btelnet\s+\S+\s+\d+\s*\|\s*/bin/(?:ba)?sh|\brcat\s+(?:connect|listen)\b[^\n|;]*\s-s\s*\S*(?:sh|cmd|powershell|pwsh)\b"
    ),
    p!(
        "reverse-shell-socat",
        "socat connects a shell to the network",
        ["T1059", "T1071"],
        0.9,
        r"\bsocat\b[^\n]*(?:exec|system):"
    ),
    p!(
        "reverse-shell-script",
        "script connects a socket to a shell",
        ["T1059.006", "T1059", "T1071"],
        0.9,
        r"(?:socket\.socket\(|fsockopen\(|socket_create\(|net\.dial\(|tcpsocket\.(?:new|open)|io::socket::inet|socket\(\s*s\s*,|new\s+socket\(|net\.socket\(|net\.connect\(|socket\.tcp\(|\$sock\b)[\s\S]{0,600}?(?:dup2|/bin/(?:ba|z)?sh|\bsh\b\s*-i|\bsh\b\s*[<>]&\s*\d|cmd\.exe|spawn|exec|popen|system\(|passthru|proc_open|stdin|subprocess)"
    ),
    p!(
        "reverse-shell-powershell",
        "PowerShell TCP shell",
        ["T1059.001", "T1071"],
        0.9,
        r"net\.sockets\.tcp(?:client|listener)[\s\S]{0,800}?(?:getstream|iex|invoke-expression|\.read\()|\bpowercat\b|invoke-powershelltcp|nishang|invoke-conptyshell|hoaxshell"
    ),
    p!(
        "bind-shell",
        "shell listening on a port",
        ["T1059", "T1571"],
        0.8,
        r"\b(?:nc|ncat|netcat)\b[^\n]*\s-[a-z]*l[a-z]*\b[^\n]*\s-[a-z]*[ec]\s|\bsocat\b[^\n]*tcp(?:4|6)?-listen[^\n]*(?:exec|system)|tcplistener\([^\n]*\)[\s\S]{0,400}acceptTcpClient"
    ),
    p!(
        "offensive-framework",
        "offensive framework or implant",
        ["T1587.001", "T1071", "T1105"],
        0.85,
        r"\bmsfvenom\b|meterpreter|\bmsfconsole\b|cobaltstrike|cobalt\s+strike|beacon\.(?:dll|exe)|\bempire\b[^\n]*(?:launcher|stager)|\bcovenant\b|\bsliver\b|\bhavoc\b|\bposhc2\b|\bmerlin\b[^\n]*agent|\bpupy\b|invoke-empire|\bstager\b|\bimplant\b"
    ),
    p!(
        "remote-access-tool",
        "remote access tool installed or run",
        ["T1219"],
        0.5,
        r"\b(?:anydesk|teamviewer|screenconnect|connectwise|atera|rustdesk|splashtop|ammyy|tightvnc|ultravnc|remcos|netsupport|logmein|gotoassist|meshagent|quasar|njrat|dwservice|supremo)\b"
    ),
    p!(
        "tunnel-proxy",
        "traffic tunnelled or port forwarded",
        ["T1572", "T1090"],
        0.45,
        r"\bssh\s+[^\n]*-[a-zA-Z]*[RD]\s*\d+|\bplink(?:\.exe)?\b[^\n]*-R\s|\bchisel\b|\bngrok\b|\bfrpc\b|\bligolo|\bsocat\s+tcp-listen:\d+[^\n]*tcp:|netsh\s+interface\s+portproxy|\biodine\b|\bdnscat|\bproxychains|\bsshuttle\b|\bgost\b\s+-L"
    ),
    p!(
        "c2-channel",
        "command and control over web, DNS or mail",
        ["T1071"],
        0.45,
        r"while\s*\(\s*\$?true\s*\)[\s\S]{0,400}?(?:invoke-webrequest|downloadstring|\biwr\b|curl|wget)|\bnslookup\s+-q(?:uery)?=txt\b|resolve-dnsname\b[^\n]*-type\s+txt|\bdig\b[^\n]*\btxt\b[^\n]*\|\s*(?:ba)?sh"
    ),
    // --- lateral movement ---
    p!(
        "remote-execution",
        "command run on another host",
        ["T1021", "T1569.002", "T1047"],
        0.6,
        r"\bpsexec(?:64)?(?:\.exe)?\s|\bpaexec\b|\bwmiexec|\bsmbexec|\batexec|\bdcomexec|invoke-command\b[^\n]*-computername|enter-pssession|new-pssession|\bwinrs(?:\.exe)?\s+-r:|invoke-wmimethod\b[^\n]*-computername|\bwmic(?:\.exe)?\s+/node:|\bcrackmapexec\b|\bnetexec\b|evil-winrm|\bimpacket|\bsc(?:\.exe)?\s+\\\\|\bschtasks(?:\.exe)?\b[^\n]*/s\s|\bmstsc(?:\.exe)?\b[^\n]*/v:|\bxfreerdp\b|\brdesktop\b|mmc20\.application|shellbrowserwindow|shellwindows"
    ),
    p!(
        "admin-share",
        "administrative share used",
        ["T1021.002"],
        0.55,
        r"\\\\[\w.-]+\\(?:admin|c|d|ipc)\$|net\s+use\s+[^\n]*\\\\\S+\\(?:admin|c|ipc)\$"
    ),
    p!(
        "pass-the-hash",
        "hash or ticket passed instead of a password",
        ["T1550.002", "T1550.003"],
        0.85,
        r"sekurlsa::pth|/ntlm:|pth-winexe|-hashes\s+(?:[0-9a-f]{32})?:[0-9a-f]{32}|overpass|kerberos::ptt|\bptt\b[^\n]*\.kirbi|/rc4:[0-9a-f]{32}|/aes256:"
    ),
    p!(
        "rdp-enabled",
        "remote desktop enabled or opened",
        ["T1021.001"],
        0.55,
        r"fdenytsconnections|\\terminal server\\[^\n]*(?:0|1)|enable-netfirewallrule\b[^\n]*remote\s+desktop|userauthentication\b[^\n]*\b0\b|shadow\b[^\n]*/control|tscon(?:\.exe)?\s+\d"
    ),
    // --- discovery ---
    p!(
        "system-discovery",
        "system information gathered",
        ["T1082"],
        0.2,
        r"\bsysteminfo\b|\bhostnamectl\b|\buname\s+-[a-z]*a|/etc/(?:os|lsb|redhat|issue)-?release|get-computerinfo|win32_operatingsystem|\bsw_vers\b|\bwmic(?:\.exe)?\s+(?:os|computersystem|qfe|bios)\b|/proc/version|\bsystem_profiler\b|\blscpu\b|get-hotfix"
    ),
    p!(
        "account-discovery",
        "accounts or groups listed",
        ["T1087", "T1069", "T1033"],
        0.25,
        r"\bnet1?(?:\.exe)?\s+(?:user|group|localgroup|accounts)\b|whoami\s+/(?:all|priv|groups|user)|get-localuser|get-localgroup(?:member)?|\bquery\s+user\b|\bquser\b|\bdscl\s+\.\s+(?:-list|list)\b|/etc/passwd\b|\bgetent\s+(?:passwd|group)\b|\blastlog\b|\bwho\s+-a\b|cmdkey\s+/list|\bid\s+-G|(?:^|[;&|]\s*)groups\s+\w+"
    ),
    p!(
        "domain-discovery",
        "Active Directory enumerated",
        ["T1087.002", "T1069.002", "T1482", "T1018"],
        0.5,
        r"\bnltest\b|\bdsquery\b|\badfind\b|get-ad(?:user|computer|group|groupmember|domain|forest|trust|object)|get-domain(?:controller|user|computer|group|trust)|get-net(?:domain|user|computer|group|session|loggedon|share)|powerview|bloodhound|sharphound|net1?(?:\.exe)?\s+(?:group|user|accounts)\b[^\n]*\s/do(?:main)?\b|\bldapsearch\b|\bdsget\b|\bnet\s+view\s+/domain|\[adsisearcher\]|directorysearcher|domain\s+admins|enterprise\s+admins|get-adreplaccount|\bsetspn\b"
    ),
    p!(
        "network-discovery",
        "network configuration and connections listed",
        ["T1016", "T1049", "T1135", "T1018"],
        0.2,
        r"\bipconfig\s+/all|\bnetstat\s+-[a-z]*[ano]|\barp\s+-a\b|\broute\s+print|\bnet1?(?:\.exe)?\s+(?:view|share|session|use|config)\b|\bnbtstat\b|get-netneighbor|get-nettcpconnection|get-smbshare|\bss\s+-[a-z]*[tulpn]|\bifconfig\s+-a|\bip\s+(?:a|addr|neigh|route)\b|/etc/resolv\.conf|\bnetsh\s+wlan\s+show\s+profiles?\b[^\n]*key=clear|\bnetsh\s+(?:interface|wlan)\s+show"
    ),
    p!(
        "network-scan",
        "network or port scanning",
        ["T1046", "T1018"],
        0.45,
        r"\b(?:nmap|masscan|zmap|rustscan|nbtscan|unicornscan|hping3|angryip|advanced_ip_scanner)\b|test-netconnection\b[^\n]*-port|\bnc\s+-[a-z]*z[a-z]*\b|for\s+[^\n]*\bin\b[^\n]*(?:\d{1,3}\.){2}\d{1,3}\.\$|\bping\s+-[a-z]*\s*\d+\s+(?:\d{1,3}\.){3}\$|1\.\.254\b[^\n]*(?:ping|test-connection)"
    ),
    p!(
        "process-discovery",
        "processes, services or software listed",
        ["T1057", "T1518", "T1007"],
        0.1,
        r"\btasklist\b|\bget-process\b|\bps\s+(?:aux|-ef|-A)\b|\bwmic(?:\.exe)?\s+(?:product|process|service)\b|win32_product|\\uninstall\\|\bsc(?:\.exe)?\s+query\b|get-service\b|\bsystemctl\s+list-units|\blsmod\b|\bdpkg\s+-l|\brpm\s+-qa"
    ),
    p!(
        "security-software-discovery",
        "security software looked for",
        ["T1518.001"],
        0.45,
        r"securitycenter2|antivirusproduct|get-mpcomputerstatus|(?:tasklist|get-process|ps\s|grep|findstr)\b[^\n]*\b(?:msmpeng|defender|sophos|crowdstrike|falcon|carbonblack|cbdefense|sentinel|cylance|symantec|mcafee|eset|kaspersky|sysmon|osquery|wireshark|procmon|auditd)\b|\bfltmc\b(?:\.exe)?\s*$|\\cylance\\|fltmc(?:\.exe)?\s+instances"
    ),
    p!(
        "file-discovery",
        "files searched for secrets or documents",
        ["T1083", "T1005"],
        0.3,
        r"\bdir\s+[^\n]*/s\b[^\n]*(?:\.doc|\.xls|\.pdf|\.kdbx|password|\.txt)|get-childitem\b[^\n]*-recurse\b[^\n]*(?:-include|-filter)\s+\S*(?:\.doc|\.xls|\.pdf|\.kdbx|pass|\.config|\.txt)|\bfind\s+/[^\n]*-name\s+[\x22']?\*?\.(?:pem|key|kdbx|ovpn|pfx|conf|doc|pdf|xls)|\blocate\s+[^\n]*(?:password|\.pem|id_rsa)"
    ),
    p!(
        "browser-discovery",
        "browser data read",
        ["T1217", "T1555.003"],
        0.45,
        r"\\(?:google\\chrome|microsoft\\edge|mozilla\\firefox)\\user data|\bplaces\.sqlite|/library/application support/(?:google/chrome|firefox)|\.mozilla/firefox|\.config/(?:google-chrome|chromium)|bookmarks\b[^\n]*(?:chrome|edge|firefox)|\bhistory\b[^\n]*(?:chrome|sqlite)"
    ),
    p!(
        "capture",
        "screen, clipboard, audio or traffic captured",
        ["T1113", "T1115", "T1123", "T1040"],
        0.4,
        r"get-clipboard|\bxclip\s+-o|\bxsel\s+-o|\bpbpaste\b|\bscreencapture\b|copyfromscreen|\bimport\s+-window\s+root|\bxwd\s+-root|\btcpdump\b|\btshark\b|\bpktmon\b|netsh\s+trace\s+start|\bwindump\b|\bdumpcap\b|\bsox\b[^\n]*-d\b|\barecord\b|\bffmpeg\b[^\n]*(?:avfoundation|x11grab|gdigrab|dshow)"
    ),
    // --- collection and exfiltration ---
    p!(
        "archive-staging",
        "data archived for exfiltration",
        ["T1560.001", "T1560", "T1074"],
        0.4,
        r"\b(?:7z|7za|rar|winrar|zip)(?:\.exe)?\s+[^\n]*\s-(?:p|hp|mhe)\S*|\bzip\s+[^\n]*(?:-e|-P|--encrypt|--password)\b|\bcompress-archive\b[^\n]*-destinationpath|\btar\s+-?[a-z]*c[a-z]*f?\s+\S+\s+[^\n]*(?:/home|/etc|\.ssh|/var/www|documents)|\bmakecab\b|\bgpg\s+[^\n]*-c\b|\bopenssl\s+enc\s+-aes"
    ),
    p!(
        "exfiltration",
        "data sent out",
        ["T1041", "T1048", "T1567"],
        0.5,
        r"\bcurl\b[^\n]*(?:\s-F\s|--form\b|--data-binary\s+@|\s-T\s|--upload-file|\s-d\s+@)|\bwget\b[^\n]*--post-(?:file|data)|invoke-(?:webrequest|restmethod)\b[^\n]*-method\s+(?:post|put)[^\n]*-infile|\.uploadfile\(|\.uploaddata\(|\bscp\s+\S+\s+\S+@[\w.-]+:|\brclone\s+(?:copy|sync)\b|\bftp\s+-s:|\btftp\b[^\n]*\bput\b|\b(?:nc|ncat|netcat)\s+[^\n]*<\s*\S+|\|\s*(?:nc|ncat|netcat)\s+\S+\s+\d+|\bdnsexfil|\bexfil\b|\bmegacmd|\bmega-put\b|pastebin\.com|transfer\.sh|file\.io|anonfiles"
    ),
    p!(
        "data-destroyed",
        "data or disks destroyed",
        ["T1485", "T1561"],
        0.8,
        r"\brm\s+-[a-z]*r[a-z]*f[a-z]*\s+(?:--no-preserve-root\s+)?/(?:\*|\s|$)|\bdd\s+if=/dev/(?:zero|urandom|random)\s+of=/dev/(?:sd|hd|nvme|xvd|vd)|\bmkfs\.\w+\s+/dev/|\bshred\s+[^\n]*/dev/|\bformat(?:\.com)?\s+[a-z]:\s*/[qy]|\bdel\s+/[sfq]\s+/[sfq]\s+[a-z]:\\\*?|\bclear-disk\b|\bwipefs\b"
    ),
    p!(
        "encryption-impact",
        "files encrypted for impact",
        ["T1486"],
        0.6,
        r"\.(?:encrypted|locked|crypt)\b[^\n]*(?:foreach|for\s|find\s)|readme[^\n]*(?:decrypt|ransom)|\bransom|\bopenssl\s+enc\s+-aes[^\n]*-in\s+[^\n]*-out|\bgpg\s+[^\n]*--symmetric[^\n]*(?:find|for\s|xargs)"
    ),
    p!(
        "service-stopped",
        "services or processes stopped",
        ["T1489"],
        0.2,
        r"\bnet1?\s+stop\b|\bsc(?:\.exe)?\s+(?:stop|delete)\b|\bstop-service\b|\bsystemctl\s+(?:stop|kill)\b|\btaskkill\b[^\n]*/f\b|\bkillall\b|\bpkill\s+-9|stop-process\b[^\n]*-force"
    ),
    p!(
        "shutdown",
        "system shut down or rebooted",
        ["T1529"],
        0.25,
        r"\bshutdown(?:\.exe)?\s+(?:/[rsfp]|-[hrP]|now)|\breboot\b|\bhalt\b|\binit\s+[06]\b|restart-computer|stop-computer|\bsystemctl\s+(?:poweroff|reboot|halt)"
    ),
    p!(
        "account-access-removed",
        "passwords changed or accounts locked out",
        ["T1531"],
        0.4,
        r"\bnet1?(?:\.exe)?\s+user\s+\S+\s+[^/\s]\S*\s*$|set-localuser\b[^\n]*-password|set-adaccountpassword|\bpasswd\s+-[ld]\b|\busermod\s+-L\b|\bdisable-localuser\b|\bnet1?\s+user\s+\S+\s+/active:no|\bchpasswd\b"
    ),
    p!(
        "resource-hijacking",
        "cryptocurrency mining",
        ["T1496"],
        0.85,
        r"\bxmrig\b|\bminerd\b|stratum\+(?:tcp|ssl)://|cryptonight|coinhive|\bcpuminer\b|\bnicehash\b|\bethminer\b|--donate-level"
    ),
    // --- interpreters (weak on their own) ---
    p!(
        "inline-interpreter",
        "interpreter runs inline code",
        ["T1059"],
        0.15,
        r"\b(?:python[23]?(?:\.\d+)?|perl|ruby|php|node|lua|jjs|gawk|awk|tclsh|wish|irb|jrunscript)\s+(?:-\w+\s+)*-[cer]\s"
    ),
    p!(
        "command-shell",
        "command shell launched with a command",
        ["T1059.003", "T1059.004"],
        0.1,
        r"\bcmd(?:\.exe)?\s+/[ckr]\b|\b(?:ba|z|da|k)?sh\s+-c\s"
    ),
    p!(
        "powershell-launched",
        "PowerShell launched with a script or command",
        ["T1059.001"],
        0.15,
        r"\b(?:powershell|pwsh)(?:\.exe)?\b[^\n]*\s-(?:c|co|com|command|f|file|nop|noni|noprofile)\b"
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles_and_is_described() {
        let mut ids = std::collections::HashSet::new();
        for p in PATTERNS {
            regex::RegexBuilder::new(p.re)
                .case_insensitive(true)
                .size_limit(1 << 24)
                .build()
                .unwrap_or_else(|e| panic!("{}: {e}", p.id));
            assert!(ids.insert(p.id), "duplicate id {}", p.id);
            assert!(
                !p.attack.is_empty() && (0.0..=1.0).contains(&p.weight),
                "{}",
                p.id
            );
            assert!(p.attack.iter().all(|t| t.starts_with('T')), "{}", p.id);
        }
    }
}
