//! Persistence: run keys, tasks, services, cron, systemd, profiles, event triggers.

use super::Pattern;

pub(super) const TABLE: &[Pattern] = &[
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
        r"\\currentversion\\(?:run|runonce|runservices|runonceex|policies\\explorer\\run)\b|\\winlogon\\?\s*(?:/v\s+)?(?:userinit|shell)\b|\\winlogon\b[^\n]*(?:userinit|shell)|appinit_dlls|userinitmprlogonscript|\\start menu\\programs\\startup|\\startup\\|shell:startup|bootexecute|\\lsa\\(?:security\s+packages|authentication\s+packages|notification\s+packages)|\\print\\monitors|\\timeproviders\\|\\control\\bootverificationprogram\b|\\windows nt\\currentversion\\windows[\x22']?\s*(?:/v\s+|-name\s+)?[\x22']?(?:load|run)\b"
    ),
    p!(
        "active-setup",
        "Active Setup component registered (runs at each user's logon)",
        ["T1547.014", "T1547"],
        0.6,
        r"\\active setup\\installed components\\?"
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
        r"launchctl\s+(?:load|bootstrap|submit|enable)|(?:\b(?:cp|mv|ln|ditto|install)\s+[^\n|;&]*\s|>>?\s*|\btee\s+(?:-a\s+)?|defaults\s+write\s+|\bplutil\s+-(?:convert|replace|insert|create)\b[^\n|;&]*\s|\bcurl\b[^\n|;&]*\s(?:-o|--output)\s+|\bwget\b[^\n|;&]*\s(?:-O|--output-document)\s*)[\x22']?\S*/library/launch(?:agents|daemons)/|loginhook|\bemond\b|/library/startupitems"
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
    p!(
        "iis-module",
        "web server module installed (IIS)",
        ["T1505.004"],
        0.6,
        r"\bnew-webglobalmodule\b|\benable-webglobalmodule\b|\bappcmd(?:\.exe)?\s+install\s+module\b|system\.webserver/globalmodules"
    ),
];
