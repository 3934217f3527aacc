//! What a process event shows, in ATT&CK terms: the graph's own signals for the
//! progression finder and the evidence of the movement finders. Judged on what a program is
//! asked to do (its arguments, its parent, its target), not on its name alone.

use crate::event::image_name;

/// A tactic step a process event shows, with the technique and a few words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signal {
    pub tactic: &'static str,
    pub technique: &'static str,
    pub what: &'static str,
}

const fn sig(tactic: &'static str, technique: &'static str, what: &'static str) -> Signal {
    Signal {
        tactic,
        technique,
        what,
    }
}

/// The kill-chain order of the tactics the finders report (progression moves forward).
pub const ORDER: [&str; 11] = [
    "initial_access",
    "execution",
    "persistence",
    "privilege_escalation",
    "defense_evasion",
    "discovery",
    "credential_access",
    "lateral_movement",
    "collection",
    "command_and_control",
    "exfiltration",
];

/// The tactic of ORDER named by a Sigma tag's tactic (`credential_access`,
/// `credential-access`), if it is one the finders follow.
pub fn tactic_named(name: &str) -> Option<&'static str> {
    let n = name.trim().to_ascii_lowercase().replace('-', "_");
    ORDER.iter().copied().find(|t| *t == n)
}

pub fn rank(tactic: &str) -> usize {
    ORDER.iter().position(|t| *t == tactic).unwrap_or(0)
}

/// Whether `hay` contains `needle` (lower case), in any case, without allocating.
fn contains_ci(hay: &str, needle: &str) -> bool {
    let n = needle.len();
    n == 0
        || hay
            .as_bytes()
            .windows(n)
            .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

fn has_word(cmd: &str, words: &[&str]) -> bool {
    cmd.split(|c: char| c.is_whitespace() || c == '"' || c == '\'')
        .any(|w| words.iter().any(|x| w.eq_ignore_ascii_case(x)))
}

/// A process start: its image, parent image and command line.
pub fn process_signal(image: &str, parent: &str, command_line: &str) -> Option<Signal> {
    let img = image_name(image);
    let par = image_name(parent);
    // Matched in any case without copying: most command lines match nothing.
    let cmd = command_line;
    let has = |needle: &str| contains_ci(cmd, needle);
    let shell = matches!(
        img.as_str(),
        "cmd.exe" | "powershell.exe" | "pwsh.exe" | "wscript.exe" | "cscript.exe" | "mshta.exe"
    );
    let office = matches!(
        par.as_str(),
        "winword.exe" | "excel.exe" | "powerpnt.exe" | "outlook.exe" | "msaccess.exe"
    );
    if shell && office {
        return Some(sig(
            "execution",
            "T1204.002",
            "an Office program started a shell",
        ));
    }
    if shell && has_word(cmd, &["-enc", "-encodedcommand", "-e", "-ec"]) {
        return Some(sig(
            "execution",
            "T1059.001",
            "an encoded PowerShell command",
        ));
    }
    if has("lsass") && (has("minidump") || img.starts_with("procdump")) {
        return Some(sig(
            "credential_access",
            "T1003.001",
            "a dump of LSASS memory",
        ));
    }
    if has("sekurlsa") || has("lsadump") {
        return Some(sig(
            "credential_access",
            "T1003",
            "a credential-dumping tool",
        ));
    }
    let discovery = match img.as_str() {
        "whoami.exe" => Some("T1033"),
        "nltest.exe" => Some("T1482"),
        "systeminfo.exe" => Some("T1082"),
        "ipconfig.exe" | "route.exe" | "arp.exe" => Some("T1016"),
        "quser.exe" | "qwinsta.exe" => Some("T1033"),
        "dsquery.exe" | "adfind.exe" => Some("T1087.002"),
        "net.exe" | "net1.exe"
            if has_word(
                cmd,
                &["group", "user", "view", "localgroup", "accounts", "share"],
            ) =>
        {
            Some("T1087")
        }
        _ => None,
    };
    if let Some(t) = discovery {
        return Some(sig("discovery", t, "account, domain or host discovery"));
    }
    let archiver = matches!(
        img.as_str(),
        "7z.exe" | "7za.exe" | "rar.exe" | "winrar.exe"
    ) && has_word(cmd, &["a", "-a"]);
    if archiver || has("compress-archive") || img == "makecab.exe" {
        return Some(sig("collection", "T1560.001", "data archived"));
    }
    if img.contains("printspoofer") || has("printspoofer") || has("juicypotato") {
        return Some(sig(
            "privilege_escalation",
            "T1134",
            "a token-impersonation tool",
        ));
    }
    None
}

/// `PROCESS_VM_READ`: the right that reading another process's memory needs.
const PROCESS_VM_READ: u64 = 0x10;

/// A process opening another: reading LSASS memory is credential access. Opening it
/// without the right to read its memory (to query it, as security products do) is not.
pub fn access_signal(target_image: &str, granted_access: &str) -> Option<Signal> {
    let g = granted_access.trim();
    let mask = g
        .strip_prefix("0x")
        .or_else(|| g.strip_prefix("0X"))
        .and_then(|h| u64::from_str_radix(h, 16).ok());
    let reads_memory = mask.is_none_or(|m| m & PROCESS_VM_READ != 0);
    (image_name(target_image) == "lsass.exe" && reads_memory).then_some(sig(
        "credential_access",
        "T1003.001",
        "LSASS memory read",
    ))
}

/// A connection to an address: outside the private ranges, by a program that is not a
/// browser, it is a channel out.
pub fn connection_signal(image: &str, dest_ip: &str) -> Option<Signal> {
    let ip: std::net::IpAddr = dest_ip.parse().ok()?;
    let public = match ip {
        std::net::IpAddr::V4(v4) => {
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_unspecified()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        std::net::IpAddr::V6(v6) => {
            let s = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || (s & 0xfe00) == 0xfc00
                || (s & 0xffc0) == 0xfe80)
        }
    };
    let img = image_name(image);
    // Browsers, and the operating system's own background services (updates, telemetry,
    // the antivirus), talk to the internet all day.
    let browser = matches!(
        img.as_str(),
        "chrome.exe"
            | "msedge.exe"
            | "firefox.exe"
            | "iexplore.exe"
            | "teams.exe"
            | "outlook.exe"
            | "svchost.exe"
            | "msmpeng.exe"
            | "mssense.exe"
            | "onedrive.exe"
            | "searchapp.exe"
            | "backgroundtaskhost.exe"
            | "smartscreen.exe"
            | "system"
    );
    (public && !browser).then_some(sig(
        "exfiltration",
        "T1041",
        "a program that is not a browser connected outside",
    ))
}

/// Whether a process start on a host is remote execution: started by the service control
/// manager for a new service binary, by WMI, by WinRM, or under such a process.
pub fn is_remote_execution(image: &str, parent: &str) -> Option<&'static str> {
    let img = image_name(image);
    let par = image_name(parent);
    match (par.as_str(), img.as_str()) {
        (_, "psexesvc.exe") | ("psexesvc.exe", _) => Some("PsExec service"),
        ("wmiprvse.exe", _) | (_, "wmiprvse.exe") => Some("WMI (WmiPrvSE)"),
        ("wsmprovhost.exe", _) | (_, "wsmprovhost.exe") => Some("WinRM (wsmprovhost)"),
        ("services.exe", i) if !matches!(i, "svchost.exe" | "ccmexec.exe") => {
            Some("a service started by the service control manager")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_events_name_their_tactic() {
        let t = |i, p, c| process_signal(i, p, c).map(|s| s.tactic);
        assert_eq!(
            t("C:\\W\\whoami.exe", "cmd.exe", "whoami /all"),
            Some("discovery")
        );
        assert_eq!(
            t("net.exe", "cmd.exe", "net group \"domain admins\" /domain"),
            Some("discovery")
        );
        assert_eq!(t("net.exe", "cmd.exe", "net use z: \\\\srv\\share"), None);
        assert_eq!(
            t("powershell.exe", "C:\\x\\WINWORD.EXE", "powershell -nop"),
            Some("execution")
        );
        assert_eq!(
            t("7z.exe", "cmd.exe", "7z.exe a -p d.7z \\\\SRV\\f"),
            Some("collection")
        );
        assert_eq!(t("7z.exe", "explorer.exe", "7z.exe x archive.7z"), None);
        assert_eq!(
            t(
                "rundll32.exe",
                "cmd.exe",
                "rundll32 comsvcs.dll MiniDump 624 lsass.dmp full"
            ),
            Some("credential_access")
        );
        assert_eq!(t("notepad.exe", "explorer.exe", "notepad.exe"), None);
        let lsass = "C:\\Windows\\system32\\lsass.exe";
        assert_eq!(
            access_signal(lsass, "0x1010").map(|s| s.tactic),
            Some("credential_access")
        );
        assert!(access_signal(lsass, "0x1fffff").is_some());
        assert!(access_signal(lsass, "0x1000").is_none(), "query only");
        assert!(access_signal(lsass, "0x101400").is_none());
        assert!(connection_signal("curl.exe", "190.233.63.84").is_some());
        assert!(connection_signal("chrome.exe", "190.233.63.84").is_none());
        assert!(connection_signal("curl.exe", "10.1.2.3").is_none());
        assert!(is_remote_execution("C:\\Windows\\PSEXESVC.exe", "services.exe").is_some());
        assert!(is_remote_execution("cmd.exe", "C:\\W\\WmiPrvSE.exe").is_some());
        assert!(is_remote_execution("CcmExec.exe", "services.exe").is_none());
        assert!(is_remote_execution("mmc.exe", "explorer.exe").is_none());
        assert!(rank("exfiltration") > rank("discovery"));
    }
}
