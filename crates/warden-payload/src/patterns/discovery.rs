//! Discovery, collection, exfiltration, impact, and the interpreters that are weak on their own.

use super::Pattern;

pub(super) const TABLE: &[Pattern] = &[
    // --- discovery ---
    p!(
        "system-discovery",
        "system information gathered",
        ["T1082"],
        0.2,
        r"\bsysteminfo\b|\bhostnamectl\b|\buname\s+-[a-z]*a|/etc/(?:os|lsb|redhat|issue)-?release|get-computerinfo|win32_operatingsystem|\bsw_vers\b|\bwmic(?:\.exe)?\s+(?:os|computersystem|qfe|bios)\b|/proc/version|\bsystem_profiler\b|\blscpu\b|get-hotfix|hardware\\description\\system|cryptography[\x22']?\s+/v\s+machineguid|\\currentversion[\x22']?\s+/v\s+productname|\\control panel\\international|\bget-(?:ui)?culture\b|\bkldstat\b|\bsysctl\s+(?:-a\b|hw\.|kern\.)"
    ),
    p!(
        "registry-query",
        "registry keys or values read",
        ["T1012"],
        0.1,
        r"\breg(?:\.exe)?\s+query\b|\bget-(?:item|itemproperty|itempropertyvalue|childitem)\b[^\n|;]*?(?:\bhk(?:lm|cu|cr|u|cc):|\bregistry::)|-psprovider\s+[\x22']?registry\b|\[microsoft\.win32\.registry(?:key)?\]::|\.opensubkey\("
    ),
    p!(
        "password-policy-discovery",
        "password policy read",
        ["T1201"],
        0.3,
        r"\bnet1?(?:\.exe)?\s+accounts(?:\s+/domain)?\s*(?:$|[|&;>)\n])|get-ad(?:defaultdomain|finegrained)passwordpolicy|get-domainpolicy\b|--pass-pol\b|\bpwpolicy\b[^\n]*\s-?get|get-account-password-policy|\b(?:cat|less|more|head|tail|grep|egrep|awk|type|get-content|gc)\b[^\n|;&]*/etc/(?:pam\.d/(?:common-password|system-auth|password-auth)|security/pwquality\.conf|login\.defs)|\bchage\s+(?:-l|--list)\b|\b(?:minpwdlength|lockoutthreshold)\b"
    ),
    p!(
        "group-policy-discovery",
        "group policy read",
        ["T1615"],
        0.2,
        r"\bget-gpo\b[^\n]*-all\b|\bget-gpresultantsetofpolicy\b|\bgpresult(?:\.exe)?\s+(?:[^\n]*\s)?/(?:z|v|x|h)\b"
    ),
    p!(
        "locale-discovery",
        "system language, locale or keyboard looked up",
        // Some malware stands down in certain countries: it asks first.
        ["T1614", "T1614.001"],
        0.15,
        r"get-winuserlanguagelist|get-winuilanguageoverride|get-winsystemlocale|get-winhomelocation|\\control\\nls\\language|\\control panel\\international\\geo|\blocalectl\s+status|/etc/locale\.conf|/etc/default/locale|getkeyboardlayout|applelocale|\bapplelanguages\b|\bchcp(?:\.com)?\s*(?:$|[&|;\r\n)])"
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
        r"\btasklist\b|\bget-process\b|\bps\s+(?:aux|-ef|-A)\b|\bwmic(?:\.exe)?\s+(?:product|process|service)\b|win32_product|\\uninstall\\|\bsc(?:\.exe)?\s+query\b|get-service\b|\bsystemctl\s+list-units|\blsmod\b|\bdpkg\s+-l|\brpm\s+-qa|\bnet1?(?:\.exe)?\s+start\s*(?:$|[>|&;)])|\bsystemctl\b[^\n]*--type[= ]service\b|\bservice\s+(?:-e|--status-all)\b"
    ),
    p!(
        "security-software-discovery",
        "security software looked for",
        ["T1518.001"],
        0.45,
        r"securitycenter2|antivirusproduct|get-mpcomputerstatus|(?:tasklist|get-process|ps\s|pgrep|pidof|grep|findstr)\b[^\n]*\b(?:msmpeng|defender|sophos|crowdstrike|falcon\w*|carbonblack|cbdefense|cbagentd|sentinel\w*|cylance|symantec|mcafee|eset|kaspersky|sysmon|osqueryd?|wireshark|procmon|auditd|wazuh-agent|ossec|mdatp|wdavdaemon)\b|(?:tasklist|get-process|\bps\s|pgrep|pidof)\b[^\n]*\b(?:wazuh|(?:file|packet|audit|winlog)beat|elastic-agent|nessusd|td-agent)\b|\bfltmc\b(?:\.exe)?\s*$|\\cylance\\|fltmc(?:\.exe)?\s+instances"
    ),
    p!(
        "firewall-discovery",
        "firewall state or rules listed",
        // Listing the rules is what an administrator does most days; an attacker does it to
        // see what will stop them.
        ["T1518.001", "T1016"],
        0.1,
        r"get-netfirewall(?:profile|rule|setting)|netsh\s+(?:adv)?firewall\s+(?:\w+\s+)?show\b|\bip6?tables\s+(?:-t\s+\w+\s+)?(?:-\w+\s+)*(?-i:-[a-zA-Z]*[LS][a-zA-Z]*)\b|\bip6?tables\s+[^\n]*--list\b|\bip6?tables-save\b|\bufw\s+status\b|\bpfctl\s+(?:-a\s+\S+\s+)?-s\s*\w|\bnft\s+list\b|firewall-cmd\s+--(?:list|state)|socketfilterfw\b[^\n]*--get"
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
        r"\\(?:google\\chrome|microsoft\\edge|mozilla\\firefox)\\user data\\|\bplaces\.sqlite|/library/application support/(?:google/chrome|firefox)|\.mozilla/firefox|\.config/(?:google-chrome|chromium)|bookmarks\b[^\n]*(?:chrome|edge|firefox)|\bhistory\b[^\n]*(?:chrome|sqlite)"
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
        r"\bcurl\b[^\n]*(?:\s-F\s|--form\b|--data-binary\s+@|\s-T\s|--upload-file|\s-d\s+@)|\bwget\b[^\n]*--post-(?:file|data)|invoke-(?:webrequest|restmethod)\b[^\n]*-method\s+(?:post|put)[^\n]*-infile|\.uploadfile\(|\.uploaddata\(|\bscp\s+\S+\s+\S+@[\w.-]+:|\brclone\s+(?:copy|sync)\b|\bftp\s+-s:|\btftp\b[^\n]*\bput\b|\b(?:nc|ncat|netcat)\s+[^\n]*<\s*\S+|\|\s*(?:nc|ncat|netcat)\s+\S+\s+\d+|\b(?:tar|zip|7z|gzip|openssl)\b[^\n]*\|\s*(?:sudo\s+)?(?:ssh|socat)\s|\|\s*(?:sudo\s+)?ssh\s+[^\n]*\b(?:cat|dd)\b[^\n]*>|\bssh\s+[^\n]*\btar\s+-?[a-z]*c[a-z]*f?\s+-\s[^\n]*>\s*\S|\bdnsexfil|\bexfil\b|\bmegacmd|\bmega-put\b|pastebin\.com|transfer\.sh|file\.io|anonfiles"
    ),
    p!(
        "dns-exfiltration",
        "data sent out in DNS query names",
        // A lookup whose name is built by a command at run time (`$(… | base64).example.com`)
        // carries that command's output to whoever answers for the domain.
        ["T1048.003", "T1071.004"],
        0.6,
        r"\b(?:dig|nslookup|host|drill|resolve-dnsname)(?:\s+(?:[-+@]\S+(?:\s+\d+\b)?|-name|-type\s+[\x22']?\w+[\x22']?))*\s+[\x22']?(?:[\w-]+\.)*[\w-]*(?:\$\((?:[^()\n]|\([^()\n]*\))*\)|`[^`\n]*`)\.(?:[\w$()`-]+\.)*[a-z0-9-]+\.[a-z]{2,}"
    ),
    p!(
        "cloud-compute-modified",
        "cloud snapshots or images created, copied or shared",
        // A snapshot mounted on an instance of the attacker's reads a disk around the
        // instance's own controls.
        ["T1578", "T1578.001"],
        0.3,
        r"\baws\s+(?:--\S+(?:\s+[^-\s]\S*)?\s+)*ec2\s+(?:create-snapshot|copy-snapshot|modify-snapshot-attribute|create-image|create-volume\b[^\n]*--snapshot-id)\b|\baz\s+snapshot\s+create\b|\bgcloud\s+compute\s+(?:snapshots\s+create|disks\s+snapshot|images\s+create)\b|new-azsnapshot\b"
    ),
    p!(
        "data-destroyed",
        "data or disks destroyed",
        ["T1485", "T1561"],
        0.8,
        r"\brm\s+-[a-z]*r[a-z]*f[a-z]*\s+(?:--no-preserve-root\s+)?/(?:\*|\s|$)|\bdd\s+if=/dev/(?:zero|urandom|random)\s+of=/dev/(?:sd|hd|nvme|xvd|vd)|\bmkfs\.\w+\s+/dev/|\bshred\s+[^\n]*/dev/|\bformat(?:\.com)?\s+[a-z]:\s*/[qy]|\bdel\s+/[sfq]\s+/[sfq]\s+[a-z]:\\\*?|\bclear-disk\b|\bwipefs\b|\bgcloud\s+storage\s+(?:buckets\s+delete|rm\s+(?:-r|--recursive)\s+gs://[\w.-]+/?(?:\*\*?)?(?:\s|$))|\bgsutil\s+(?:-m\s+)?rm\s+-r\w*\s+gs://[\w.-]+/?(?:\*\*?)?(?:\s|$)|\baws\s+(?:--\S+(?:\s+[^-\s]\S*)?\s+)*s3\s+rb\b[^\n]*--force|\baws\s+(?:--\S+(?:\s+[^-\s]\S*)?\s+)*s3\s+rm\s+s3://[\w.-]+/?\s[^\n]*--recursive|\baws\s+(?:--\S+(?:\s+[^-\s]\S*)?\s+)*s3api\s+delete-bucket\b|\baz\s+storage\s+(?:account|container)\s+delete\b|\bcipher(?:\.exe)?\s+/w"
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
        r"\bnet1?\s+stop\b|\bsc(?:\.exe)?\s+(?:stop|delete)\b|\bstop-service\b|\bsystemctl\s+(?:stop|kill)\b|\btaskkill\b[^\n]*/f\b|\bkillall\b|\bpkill\s+-(?:9|15|kill|term|sigkill|sigterm)\b|\bkill\s+-(?:9|15|kill|term|sigkill|sigterm)\s+(?:\$\(\s*|`)pgrep\b|stop-process\b[^\n]*-force"
    ),
    p!(
        "shutdown",
        "system shut down or rebooted",
        ["T1529"],
        0.25,
        r"\bshutdown(?:\.exe)?\s+(?:/[rsfp]|-[hrP]|now)|\breboot\b|\bhalt\b|\binit\s+[06]\b|restart-computer|stop-computer|\bsystemctl\s+(?:poweroff|reboot|halt)|\b(?:echo|printf)\s+(?:-n\s+)?[\x22']?[bocei][\x22']?\s*(?:>|\|\s*(?:sudo\s+)?tee\s+(?:-a\s+)?)\s*/proc/sysrq-trigger"
    ),
    p!(
        "account-access-removed",
        "passwords changed, accounts locked out or deleted",
        ["T1531"],
        0.4,
        r"\bnet1?(?:\.exe)?\s+user\s+\S+\s+[^/\s]\S*\s*$|set-localuser\b[^\n]*-password|set-adaccountpassword|\bpasswd\s+-[ld]\b|\busermod\s+-L\b|\bdisable-localuser\b|\bnet1?\s+user\s+\S+\s+/active:no|\bchpasswd\b|\buserdel\b|remove-(?:localuser|aduser|azureaduser|mguser)\b|\baz\s+ad\s+user\s+delete\b|\bnet1?(?:\.exe)?\s+user\s+\S+\s+/del(?:ete)?\b|\bsysadminctl\s+-deleteuser\b|\bdscl\s+\.\s+-delete\s+/users/"
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
    p!(
        "driver-discovery",
        "device drivers or kernel extensions listed",
        ["T1652"],
        0.15,
        r"\bdriverquery\b|\bkextstat\b|\bkextfind\b|\bkmutil\s+showloaded\b|\bget-windowsdriver\b|win32_(?:systemdriver|pnpsigneddriver)\b"
    ),
    p!(
        "time-discovery",
        "system time or time zone read",
        ["T1124"],
        0.1,
        r"\bw32tm(?:\.exe)?\s+/(?:stripchart|tz|query)\b|\bnet1?(?:\.exe)?\s+time\b|\bsystemsetup\s+-gettimezone\b|\bget-timezone\b"
    ),
];
