//! Credential access and privilege escalation.

use super::Pattern;

pub(super) const TABLE: &[Pattern] = &[
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
        r"mimikatz|sekurlsa|lsadump::|kerberos::|privilege::debug|invoke-mimikatz|dcsync|pypykatz|lazagne|safetykatz|\brubeus\b|\bkekeo\b|secretsdump|\bgsecdump\b|\bwce(?:\.exe)?\s|\bpwdump|fgdump|mimipenguin|\blaZagne|sharpdpapi|sharpchrome|seatbelt\b|invoke-powerdump|get-gpppassword|webbrowserpassview|\b\w+passview\.exe\b|passwordfox|\bchromepass\.exe\b|\bnetpass\.exe\b"
    ),
    p!(
        "sam-hive-dump",
        "SAM, SYSTEM or SECURITY hive copied",
        ["T1003.002"],
        0.85,
        r"reg(?:\.exe)?\s+(?:save|export)\s+\S*hklm\\(?:sam|system|security)\b|(?:\\|system32/)config[\\/](?:sam|system|security)(?:[^.\w-]|$)|hklm\\sam\b|hkey_local_machine\\sam\b"
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
        "container-secrets",
        "secrets read out through a container orchestrator's API, or a pod's service account token taken from outside it",
        ["T1552.007"],
        0.45,
        r"\b(?:kubectl|oc)\b[^\n|;&]*\sget\s+(?:-\S+\s+(?:[^-\s]\S*\s+)?)*secrets?\b[^\n|;&]*(?:\s-o\s*=?\s*[\x22']?(?:yaml|json|jsonpath|go-template)|\s--all-namespaces\b|\s-a\b)|/api/v1/(?:namespaces/[^/\s]+/)?secrets\b|\bkubectl\b[^\n]*\bexec\b[^\n]*/run/secrets/kubernetes\.io/serviceaccount/token"
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
        r"getasynckeystate|setwindowshookex|getkeyboardstate|keylog|get-keystrokes\b|\bxinput\s+test\b|\blogkeys\b|\bshowkey\b|/dev/input/event"
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
        r"\bchmod\s+(?:[ugoa]*\+[rwx]*s|[0-7]?[4-7][0-7]{3}\b)|\bsetcap\s+\S*cap_(?:setuid|setgid|sys_admin|dac_override|sys_ptrace)|\bfind\s+/[^\n]*-perm\s+(?:-|/)?(?:4000|2000|6000|u=s|g=s)|\bgetcap\s+-r\s+/|\bcapsh\b[^\n]*--(?:uid|gid)=0\b"
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
    // The hijack that makes an auto-elevating program run something else is the bypass;
    // the program started on its own is Event Viewer, Backup or Settings opening, which
    // administrators do every day, and weighs as the bypass's last step only.
    p!(
        "uac-bypass",
        "User Account Control bypassed",
        ["T1548.002"],
        0.8,
        r"ms-settings\\shell\\open\\command|mscfile\\shell\\open\\command|exefile\\shell\\open\\command|folder\\shell\\open\\command|delegateexecute|cmstplua|silentcleanup|changepk|slui(?:\.exe)?\b[^\n]*exefile"
    ),
    p!(
        "auto-elevating-program",
        "a program that runs as administrator without a prompt started (the last step of a UAC bypass)",
        ["T1548.002"],
        0.3,
        r"\bfodhelper\b|\beventvwr(?:\.exe)?\b|\bcomputerdefaults\b|\bsdclt(?:\.exe)?\b|\bwsreset\b"
    ),
    p!(
        "token-abuse",
        "access token stolen or impersonated",
        ["T1134"],
        0.65,
        r"seimpersonateprivilege|sedebugprivilege|seassignprimarytoken|invoke-tokenmanipulation|createprocesswithtoken|duplicatetoken|impersonateloggedonuser|runas(?:\.exe)?\s+/(?:netonly|savecred)|\bjuicypotato|printspoofer|godpotato|roguepotato|sweetpotato|badpotato|efspotato|localpotato|coercedpotato|\b\w+potato\.exe\b|\bnsudo(?:lg)?(?:\.exe)?\b|\bincognito2?(?:\.exe)?\x22?(?:\s+-[a-z]\s+\S+)*\s+(?:list_tokens|execute|add_user|add_localgroup_user|add_group_user|snarf_hashes|cleanup)\b|\b(?:use|load)\s+incognito\s*(?:$|[\n;&|])|\blist_tokens\s+-[ug]\b|\bimpersonate_token\b|\bpsexec(?:64)?(?:\.exe)?\b[^\n]*\s-[a-z]*s\b"
    ),
    p!(
        "account-without-password",
        "account left without a password, or one that never expires",
        // An account anyone can sign in to, or whose password never has to change, is a
        // door kept open; administrators set it rarely and on purpose.
        ["T1136.001", "T1098"],
        0.5,
        r"new-localuser\b[^\n]*-nopassword|(?:new|set)-(?:local|ad)user\b[^\n]*-passwordneverexpires(?::\$true|\s+(?:\$true|1))?\b|\bnet1?(?:\.exe)?\s+user\b[^\n]*/passwordreq:no|\bpasswd\s+(?:-\w+\s+(?:\d+\s+)?)*(?:-d|--delete)\s+\w|\b(?:usermod|useradd)\s+[^\n]*(?:-p|--password)\s+['\x22]{2}|wmic(?:\.exe)?\s+useraccount\b[^\n]*passwordexpires\s*=\s*false"
    ),
    p!(
        "account-created",
        "account created or added to a privileged group",
        ["T1136", "T1098"],
        0.6,
        r"\bnet1?(?:\.exe)?\s+user\s+\S+\s+\S+\s+/add|\bnet1?(?:\.exe)?\s+(?:localgroup|group)\s+[^\n]*\s/add|new-localuser|add-localgroupmember|new-aduser|add-adgroupmember|(?:^|[\s;&|(])(?:useradd|adduser)\s+-{0,2}\w|\busermod\s+[^\n]*-a?G\s*\S*(?:sudo|wheel|root|admin|docker)|dscl\s+\.\s+-(?:create|append)\s+/(?:users|groups)|sysadminctl\s+-adduser|\bnet1?(?:\.exe)?\s+user\s+\S+\s+/active:yes|:0:0:[^\n]*/etc/passwd|>>\s*/etc/passwd|\bpasswd\s+\S+\s*<<|chpasswd"
    ),
    p!(
        "setuid-shell",
        "setuid bit set on a shell, an interpreter or a file in a temporary folder",
        ["T1548.001"],
        0.85,
        r"\b(?:chmod\s+(?:-\w+\s+)*(?:[ugoa]*[+=][rwxXt]*s[rwxXt]*|0?[2467][0-7]{3})|install\s+[^\n]*-m\s*(?:[ugoa]*=[rwxXt]*s[rwxXt]*|0?[2467][0-7]{3}))\s+(?:[^\s;&|]+\s+)*?(?:(?:\S*/)?(?:(?:ba|da|z|k|c|tc|fi|a)?sh|python[0-9.]*|perl[0-9.]*|ruby|php[0-9.]*|node|lua[0-9.]*)(?:\s|$|[;&|)])|\$\(which\s+(?:(?:ba|da|z|k)?sh|python[0-9.]*|perl)\)|(?:/tmp|/var/tmp|/dev/shm)/\S+)"
    ),
    p!(
        "process-dump",
        "a process's memory dumped to a file by its id",
        ["T1003.001"],
        0.45,
        r"\bdump64(?:\.exe)?\s+\d+|\btttracer(?:\.exe)?\s+[^\n]*-dumpfull|\bcreatedump(?:\.exe)?\s+(?:[^\s;&|]+\s+)*\d+(?:\s|$)|\bsqldumper(?:\.exe)?\s+\d+|\bprocdump(?:64)?(?:\.exe)?\s+[^\n]*-m[ap]\s+\d+|\brdrleakdiag(?:\.exe)?\s+[^\n]*/fullmemdmp|\bgcore\s+(?:-o\s+\S+\s+)?(?:\d+|\$\w+)"
    ),
    p!(
        "forced-authentication",
        "a connection made to have the host authenticate (NTLM) to another",
        ["T1187"],
        0.5,
        r"\brpcping(?:\.exe)?\s+[^\n]*[/-]u\s+ntlm\b|\\\\[\w.-]+@(?:ssl@)?\d+\\"
    ),
    p!(
        "cloud-account-created",
        "cloud account, key or credential created",
        ["T1136.003", "T1098.001"],
        0.4,
        r"\baws\s+iam\s+(?:create-user|create-access-key|create-login-profile|update-login-profile|attach-user-policy|add-user-to-group)\b|\baz\s+ad\s+(?:user|sp)\s+create\b|\baz\s+ad\s+(?:app|sp)\s+credential\s+reset\b|\bgcloud\s+iam\s+service-accounts\s+(?:create|keys\s+create)\b|\bnew-(?:azuread|mg|azad)(?:user|serviceprincipal)\b|\bnew-azureadapplicationpasswordcredential\b"
    ),
    p!(
        "container-escape",
        "a container's way out to its host: the host's disk mounted and entered, or the host's own namespaces entered",
        // `nsenter` into PID 1's namespaces is a shell on the host; a privileged container
        // that mounts a host disk, or one started on the host's root, reads and changes
        // everything the host holds.
        ["T1611"],
        0.75,
        r"\bnsenter\b[^\n]*(?:\s-[a-z]*t\s*1\b|--target[=\s]+1\b|/proc/1/ns/)|\b(?:docker|podman|nerdctl)\b[^\n]*\s(?:-v|--volume)[=\s]+[\x22']?/:[^\n]*\bchroot\b|--privileged\b[\s\S]{0,300}?\bmount\s+(?:-\S+\s+)*/dev/(?:sd|hd|vd|xvd|nvme|mapper/|dm-)"
    ),
    p!(
        "host-mounted-in-container",
        "the host's root, /etc or container socket mounted into a container",
        // Monitoring agents mount the root read-only too, so this alone is light.
        ["T1611"],
        0.3,
        r"\b(?:docker|podman|nerdctl)\s+(?:container\s+)?(?:run|create)\b[^\n]*\s(?:-v|--volume)[=\s]+[\x22']?(?:/|/etc|/root|/var/run/docker\.sock|/run/containerd/containerd\.sock):"
    ),
];
