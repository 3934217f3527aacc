//! Fields computed from others, for log-source variants whose events hold the same fact
//! in another form: the Security log's 4688 names the new process's integrity by a SID
//! (`MandatoryLabel` `S-1-16-12288`) where Sysmon writes `High`, its process ids in hex,
//! its user as domain and name apart; 5156 writes the program as a device path and the
//! protocol as a number; 4657 the key as `\REGISTRY\MACHINE\…`.
//!
//! A mapping names a computed field as a call — `integrity(MandatoryLabel)`,
//! `account(SubjectDomainName,SubjectUserName)` — in place of an event field; the event
//! computes it from the first value of each argument when the first argument is present.

/// How a computed field is made from its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transform {
    /// A mandatory-label SID → `Untrusted`, `Low`, `Medium`, `High`, `System`.
    Integrity,
    /// `0x1a2c` → `6700`.
    Hex,
    /// Domain and name → `DOMAIN\name` (Sysmon's `User`).
    Account,
    /// `\Device\HarddiskVolume3\Windows\x.exe` → `C:\Windows\x.exe` (the system volume;
    /// other paths unchanged).
    DevicePath,
    /// Key and value name → `HKLM\…\Value` (`\REGISTRY\MACHINE` → `HKLM`, `\REGISTRY\USER`
    /// → `HKU`), as Sysmon writes `TargetObject`.
    RegistryPath,
    /// IANA protocol number → `tcp`, `udp`, `icmp`.
    Protocol,
    /// WFP direction (`%%14593`, `Outbound`) → `true` when this host initiated.
    Initiated,
}

impl Transform {
    fn named(name: &str) -> Option<Transform> {
        Some(match name {
            "integrity" => Transform::Integrity,
            "hex" => Transform::Hex,
            "account" => Transform::Account,
            "device_path" => Transform::DevicePath,
            "registry_path" => Transform::RegistryPath,
            "protocol" => Transform::Protocol,
            "initiated" => Transform::Initiated,
            _ => return None,
        })
    }
}

/// `name(a,b)` → the transform and its argument fields, when `name` is one.
pub fn parse(field: &str) -> Option<(Transform, Vec<&str>)> {
    let (name, rest) = field.split_once('(')?;
    let args = rest.strip_suffix(')')?;
    let t = Transform::named(name.trim())?;
    let args: Vec<&str> = args
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .collect();
    (!args.is_empty()).then_some((t, args))
}

/// The computed value from the arguments' first values (`None` when it cannot be made).
pub fn apply(t: Transform, args: &[Option<&str>]) -> Option<String> {
    let first = args.first().copied().flatten()?.trim();
    Some(match t {
        Transform::Integrity => {
            let rid = first.rsplit('-').next()?;
            match rid {
                "0" => "Untrusted",
                "4096" => "Low",
                "8192" | "8448" => "Medium",
                "12288" => "High",
                "16384" | "20480" | "28672" => "System",
                _ => return None,
            }
            .to_owned()
        }
        Transform::Hex => {
            let hex = first
                .strip_prefix("0x")
                .or_else(|| first.strip_prefix("0X"))?;
            u64::from_str_radix(hex, 16).ok()?.to_string()
        }
        Transform::Account => match args.get(1).copied().flatten().map(str::trim) {
            Some(name) if !first.is_empty() && first != "-" => format!("{first}\\{name}"),
            Some(name) => name.to_owned(),
            None => first.to_owned(),
        },
        Transform::DevicePath => device_path(first),
        Transform::RegistryPath => {
            let key = registry_key(first);
            match args.get(1).copied().flatten().map(str::trim) {
                Some(value) if !value.is_empty() && value != "-" => format!("{key}\\{value}"),
                _ => key,
            }
        }
        Transform::Protocol => match first {
            "6" => "tcp".to_owned(),
            "17" => "udp".to_owned(),
            "1" | "58" => "icmp".to_owned(),
            other => other.to_ascii_lowercase(),
        },
        Transform::Initiated => {
            let outbound =
                first.eq_ignore_ascii_case("%%14593") || first.eq_ignore_ascii_case("outbound");
            let inbound =
                first.eq_ignore_ascii_case("%%14592") || first.eq_ignore_ascii_case("inbound");
            match (outbound, inbound) {
                (true, _) => "true".to_owned(),
                (_, true) => "false".to_owned(),
                _ => return None,
            }
        }
    })
}

fn device_path(p: &str) -> String {
    let lower = p.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("\\device\\harddiskvolume") {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && rest.as_bytes().get(digits) == Some(&b'\\') {
            // Keep the original case of the path after the volume.
            let cut = p.len() - rest.len() + digits;
            return format!("C:{}", &p[cut..]);
        }
    }
    p.to_owned()
}

fn registry_key(k: &str) -> String {
    let prefixes = [("\\registry\\machine", "HKLM"), ("\\registry\\user", "HKU")];
    let lower = k.to_ascii_lowercase();
    for (from, to) in prefixes {
        if lower.starts_with(from) {
            return format!("{to}{}", &k[from.len()..]);
        }
    }
    k.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Values come from events: any text, of any transform, never panics.
        #[test]
        fn any_value_is_safe(a in ".{0,80}", b in ".{0,40}", t in 0usize..7) {
            let t = [
                Transform::Integrity,
                Transform::Hex,
                Transform::Account,
                Transform::DevicePath,
                Transform::RegistryPath,
                Transform::Protocol,
                Transform::Initiated,
            ][t];
            let _ = apply(t, &[Some(&a), Some(&b)]);
            let _ = apply(t, &[Some(&format!("\\Device\\HarddiskVolume9{a}")), None]);
            let _ = apply(t, &[Some(&format!("\\REGISTRY\\MACHINE{a}")), Some(&b)]);
        }
    }

    #[test]
    fn calls_parse_and_other_names_do_not() {
        assert_eq!(
            parse("account(SubjectDomainName, SubjectUserName)"),
            Some((
                Transform::Account,
                vec!["SubjectDomainName", "SubjectUserName"]
            ))
        );
        assert_eq!(parse("Image"), None);
        assert_eq!(parse("unknown(Image)"), None);
        assert_eq!(parse("hex()"), None);
    }

    #[test]
    fn each_transform_writes_what_sysmon_writes() {
        let one = |t, v: &str| apply(t, &[Some(v)]);
        assert_eq!(
            one(Transform::Integrity, "S-1-16-12288").as_deref(),
            Some("High")
        );
        assert_eq!(one(Transform::Integrity, "S-1-16-77"), None);
        assert_eq!(one(Transform::Hex, "0x1a2c").as_deref(), Some("6700"));
        assert_eq!(one(Transform::Hex, "6700"), None);
        assert_eq!(
            apply(Transform::Account, &[Some("NT AUTHORITY"), Some("SYSTEM")]).as_deref(),
            Some("NT AUTHORITY\\SYSTEM")
        );
        assert_eq!(
            one(
                Transform::DevicePath,
                "\\device\\harddiskvolume2\\Windows\\System32\\svchost.exe"
            )
            .as_deref(),
            Some("C:\\Windows\\System32\\svchost.exe")
        );
        assert_eq!(
            one(Transform::DevicePath, "System").as_deref(),
            Some("System")
        );
        assert_eq!(
            apply(
                Transform::RegistryPath,
                &[Some("\\REGISTRY\\MACHINE\\SOFTWARE\\Run"), Some("Updater")]
            )
            .as_deref(),
            Some("HKLM\\SOFTWARE\\Run\\Updater")
        );
        assert_eq!(one(Transform::Protocol, "6").as_deref(), Some("tcp"));
        assert_eq!(
            one(Transform::Initiated, "%%14593").as_deref(),
            Some("true")
        );
        assert_eq!(
            one(Transform::Initiated, "Inbound").as_deref(),
            Some("false")
        );
        assert_eq!(apply(Transform::Hex, &[None]), None);
    }
}
