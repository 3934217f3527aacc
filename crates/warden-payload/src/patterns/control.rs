//! Shells and command and control; lateral movement.

use super::Pattern;

pub(super) const TABLE: &[Pattern] = &[
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
    p!(
        "ide-tunnel",
        "remote tunnel of a code editor opened (VS Code, dev tunnels)",
        ["T1219.001", "T1572"],
        0.5,
        r"\bcode(?:-insiders)?(?:\.exe)?\s+tunnel\b|\bdevtunnel(?:\.exe)?\s+(?:host|create|port)\b|\bcode-tunnel(?:\.exe)?\b"
    ),
];
