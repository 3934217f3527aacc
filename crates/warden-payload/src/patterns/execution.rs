//! Download-and-execute, signed-binary proxies, script hosts, encodings and obfuscation.

use super::Pattern;

pub(super) const TABLE: &[Pattern] = &[
    // --- download and execute ---
    p!(
        "download-pipe-shell",
        "download piped into a shell",
        ["T1105", "T1059.004"],
        0.9,
        r"\b(?:curl|wget|fetch|lwp-download)\b[^|;&\n]*\|\s*(?:sudo\s+)?(?:/\S*/)?(?:ba|z|da|k|a)?sh\b"
    ),
    p!(
        "finger-download",
        "a finger answer piped into a shell (finger as a downloader)",
        ["T1105", "T1059"],
        0.8,
        r"\bfinger(?:\.exe)?\s+\S*@\S+[^\n]*\|\s*(?:\S*[\\/])?(?:cmd|powershell|pwsh|(?:ba|z|da|k)?sh|iex|invoke-expression)\b"
    ),
    p!(
        "lolbin-download",
        "a Windows or macOS program that is not a downloader made to fetch a URL to disk",
        ["T1105"],
        0.5,
        r"\bcertreq(?:\.exe)?\b[^\n]*\s[-/]post\b[^\n]*https?://|\bimewdbld(?:\.exe)?[\x22']?\s+[\x22']?https?://|\bmsedge_proxy(?:\.exe)?[\x22']?\s+[\x22']?https?://|\bgup(?:\.exe)?\b[^\n]*-unzipto\b[^\n]*https?://|\bnscurl\b[^\n]*\s(?:-o|--output)\s"
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
        // Saved (`-o`, `-O`, `-sO`, `--output`, `>`), then made executable by `+x` or by a mode whose owner digit has the execute bit
        // (`755`, `0700`, `4755`), or run from here or a temporary directory.
        r"\b(?:curl|wget)\b[^\n]*(?:\s-[a-z]*o\b|\s--output(?:-document)?\b|>)\s*\S+[^\n]*(?:chmod\s+(?:-\w+\s+)*(?:[ugoa]*\+[rw]*x|[0-7]?[1357][0-7]{2}\b)|(?:&&|;)\s*(?:\./|/tmp/|/dev/shm/|/var/tmp/)|\|\s*python|(?:&&|;)\s*(?:ba)?sh\s+\S)"
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
        "user-folder-execution",
        "a program run from a user's or a temporary folder",
        ["T1204.002"],
        0.35,
        r#"(?:\b[a-z]:\\users\\[^\\"\n]{1,64}\\(?:downloads|desktop|music|pictures|videos)\\|\b[a-z]:\\users\\public\\|\\appdata\\local\\temp\\|\b[a-z]:\\windows\\temp\\|\b[a-z]:\\perflogs\\|\\\$recycle\.bin\\|%(?:temp|tmp|public)%\\|\$env:(?:temp|tmp|public)\\)[^"'\s]{0,200}?\.(?:exe|scr|pif|com)\b|\b[a-z]:\\programdata\\[^\\"'\s]{1,64}\.(?:exe|scr)\b"#
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
        "compile-after-delivery",
        "source compiled on the host and run",
        // Source code passes filters that executables do not; compiling it where it landed
        // (a temporary directory) and running the result is the technique. `gcc x.c &&
        // ./a.out` is every C tutorial, so only temporary places, `tcc -run` and piped
        // source count, and lightly.
        ["T1027.004"],
        0.25,
        r"\b(?:gcc|g\+\+|cc|clang(?:\+\+)?|tcc)\b[^\n;&|]*(?:/tmp/|/dev/shm/|/var/tmp/)[^\n]*(?:&&|;)\s*(?:\./|/tmp/|/dev/shm/|/var/tmp/)\S+|\btcc\s+-run\b|\b(?:gcc|cc|clang)\s+[^\n;&|]*-x\s+c\b[^\n;&|]*-o\s+(?:/tmp/|/dev/shm/|/var/tmp/)|\b(?:csc|vbc)(?:\.exe)?\s+[^\n]*/out:\S+\.exe\b[^\n]*(?:&&|&|;)|add-type\b[^\n]*-outputassembly\b"
    ),
    p!(
        "trusted-dev-utility",
        "trusted developer utility runs code",
        ["T1127"],
        0.5,
        r"\b(?:csi|rcsi|dnx|vbc|cdb|windbg|tracker|dotnet|msxsl|te|vsjitdebugger|ntsd|bginfo)(?:\.exe)?\s+[^\n]*\.(?:csx|cs|dll|xml|xsl|wds|wsc|bgi)\b|\bcdb(?:\.exe)?\s+-cf\b|\bjsc(?:\.exe)?\s+[^\n]*\.js\b|\b(?:vbc|csc)(?:\.exe)?\s+[^\n]*\\(?:temp|tmp|public|appdata|programdata)\\[^\n]*\.(?:vb|cs)\b|\b(?:cdb|ntsd|windbg)(?:\.exe)?\b(?s:.){0,300}?(?:\.shell\b|\bcmd(?:\.exe)?\s+/c)|\bmpiexec(?:\.exe)?\s+[^\n]*(?:\.exe\b|\bcmd\s+/c)|\b(?:tttracer|applauncher)(?:\.exe)?\s+[^\n]*\.exe\b|\bvstest\.console(?:\.exe)?\s+\S+\.dll|microsoft\.workflow\.compiler|\b(?:intellitrace|pixtool)(?:\.exe)?\s+launch\b|\bvsdiagnostics(?:\.exe)?\b[^\n]*/launch:|\bvslaunchbrowser\b"
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
        r"\b(?:hh(?:\.exe)?\s+(?:https?:|\S+\.chm)|control(?:\.exe)?\s+\S+\.cpl|odbcconf(?:\.exe)?\b[^\n]*(?:[-/]a\b|regsvr|\.rsp)|ieexec|infdefaultinstall|presentationhost|msdt(?:\.exe)?\b[^\n]*(?:[-/]path|ms-msdt|it_browseforfile|[-/]af\b)|xwizard|dnscmd\b[^\n]*serverlevelplugindll|diskshadow(?:\.exe)?\b[^\n]*[-/]s\b|mavinject|wuauclt\b[^\n]*/runhandlercomserver|verclsid|register-cimprovider|mmc(?:\.exe)?\s+-embedding|atbroker\b[^\n]*/start|msconfig|dfsvc|appvlp|devtoolslauncher|openwith\b[^\n]*/c|ttdinject|squirrel|update\.exe\b[^\n]*--processstart|runexehelper|wlrmdr\b[^\n]*\s-u\s|devinit\b[^\n]*\bmsi-install\b|msdeploy\b[^\n]*runcommand|rasautou\b[^\n]*\s-d\s|addinutil\b[^\n]*-addinroot|gpscript(?:\.exe)?\s+/(?:logon|startup)|provlaunch|offlinescannershell|visualuiaverifynative|stordiag|iediagcmd|syncappvpublishingserver)"
    ),
    p!(
        "browser-launches-command",
        "browser or Electron app told to start another program",
        ["T1218"],
        0.8,
        r"--(?:gpu-launcher|renderer-cmd-prefix|utility-cmd-prefix|browser-subprocess-path)\s*="
    ),
    p!(
        "headless-browser",
        "browser run headless (no window), fetching a page",
        ["T1564.003", "T1105"],
        0.4,
        r"\b(?:chrome|msedge|msedge_proxy|chromium|brave|firefox)(?:\.exe)?[\x22']?\s[^\n]*--headless\b[^\n]*(?:https?://|--dump-dom)"
    ),
    p!(
        "double-extension",
        "program named as a document (double extension)",
        ["T1036.007"],
        0.5,
        r"\.(?:docx?|xlsx?|pptx?|pdf|txt|rtf|jpe?g|png|gif|mp3|mp4)\.(?:exe|scr|com|pif|bat|cmd|ps1|vbs|vbe|js|jse|hta|lnk|sh)\b"
    ),
    p!(
        "indirect-execution",
        "command run through another program",
        ["T1202"],
        0.5,
        r"\b(?:pcalua(?:\.exe)?\s+-a|forfiles(?:\.exe)?\b[^\n]*[-/]c\s|conhost(?:\.exe)?\s+(?:--headless\s+)?[a-z%\\\x22\x27.]\S*|scriptrunner(?:\.exe)?\s+-appvscript|wsl(?:\.exe)?\s+(?:-e|--exec|-u\s+root)|bash\.exe\s+-c|explorer(?:\.exe)?\s+/root,)"
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
        "invisible-characters",
        "a name built with invisible characters",
        // A zero-width character joined into a file, variable or program name makes it
        // look like another (or like nothing) to whoever reads it; pasted text carries them
        // by accident, so only a name *built* with one counts.
        ["T1027.018", "T1027"],
        0.5,
        r"\[char\]\s*(?:0x200[b-d]|0x2060|8203|8204|8205|8288)\b|`u\{200[b-d]\}|\$'[^'\n]*\\u200[b-d]"
    ),
    p!(
        "encrypted-powershell-payload",
        "a key-encrypted SecureString carried as a payload",
        // `76492d1116743f0423413b16050a5345` starts every SecureString exported with a key:
        // code carried that way is decrypted only at run time.
        ["T1027.013"],
        0.5,
        r"76492d1116743f0423413b16050a5345|convertto-securestring\b[^\n]*-key\b[\s\S]{0,400}?(?:\biex\b|invoke-expression|\[scriptblock\]::create)"
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
        r"\[(?:system\.)?reflection\.assembly\]::load|assembly\]::load(?:file|from)?\(|getdelegateforfunctionpointer|virtualalloc|createthread|writeprocessmemory|createremotethread|ntqueueapcthread|setthreadcontext|queueuserapc|\bshellcode\b|invoke-reflectivepeinjection|invoke-shellcode|donut\b|sharpshooter|mavinject(?:\.exe)?\b[^\n]*/injectrunning\b"
    ),
    p!(
        "native-api-add-type",
        "native Windows API imported in PowerShell",
        ["T1106"],
        0.45,
        r"add-type\b[^\n]*(?:dllimport|-memberdefinition)|\[dllimport\("
    ),
];
