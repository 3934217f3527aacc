//! A compiled, immutable set of rules: loading (files, folders, text), filters applied,
//! one compiled variant per log-source variant, an index by channel and EventID so an event
//! only meets the rules that can match it, and a literal prefilter (one Aho-Corasick pass
//! per event) that skips rules whose required text is absent.

use std::path::{Path, PathBuf};

use aho_corasick::{AhoCorasick, MatchKind};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde_json::Value as Json;

use crate::compile::{self, Arena, Context, Expr, Leaf, Target};
use crate::error::{ErrorKind, SigmaError};
use crate::event::{Event, FieldId};
use crate::logsource::{Mapping, Variant};
use crate::matcher::{RefMode, Test};
use crate::parse;
use crate::rule::{Correlation, Document, Filter, LogSource, Meta, RawValue, Rule};

mod eval;
mod index;
mod load;

pub use load::RuleSetBuilder;

/// Most rule files one set loads.
pub const MAX_RULE_FILES: usize = 100_000;

/// A loaded rule (detection or correlation) as reported in results.
#[derive(Debug, Clone)]
pub struct RuleInfo {
    pub meta: Meta,
    pub logsource: LogSource,
    /// Referenced by a correlation that does not `generate` it: not reported on its own.
    pub hidden: bool,
    /// Whether this is a correlation rule.
    pub correlation: bool,
    /// Mapping notes (e.g. a log source not in the mapping).
    pub notes: Vec<String>,
}

/// A rule that could not be loaded, and why.
#[derive(Debug, Clone)]
pub struct Skipped {
    pub file: Option<PathBuf>,
    pub id: Option<String>,
    pub title: Option<String>,
    pub error: SigmaError,
}

/// One rule file read and parsed: its documents, or why it could not be read.
type ParsedFile = Result<Vec<Result<Document, SigmaError>>, ErrorKind>;
/// Index key: lower-case channel (or any) and EventID (or any).
type IndexKey = (Option<Box<str>>, Option<i64>);
/// Fields captured for correlation, per rule: (name, field ids).
type Captures = Vec<(String, Box<[FieldId]>)>;

#[derive(Debug)]
struct CompiledVariant {
    rule: u32,
    expr: Expr,
    /// When the variant's log lacks fields the rule tests: the expression that holds
    /// whatever they would have said, and the missing fields in words. A match of `expr`
    /// that fails it is reported as unverified.
    strict: Option<(Expr, Box<str>)>,
    /// The rule's product (`windows`, `linux`, `zeek`…): an event known to come from
    /// another product never matches it.
    product: Option<Product>,
    /// Literal clauses, all of which must hold (each: at least one of its needle ids in
    /// the event); the first is the posting clause. `None`: always evaluated.
    requirement: Option<Box<[Box<[u32]>]>>,
}

/// The products an event can be known to come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Product {
    Windows,
    Linux,
    Zeek,
    /// Any other product a rule names (`cisco`, `aws`…): no event is known to be one.
    Other,
}

impl Product {
    pub fn from_rule(name: &str) -> Product {
        match name {
            "windows" => Product::Windows,
            "linux" => Product::Linux,
            "zeek" => Product::Zeek,
            _ => Product::Other,
        }
    }
}

/// The variants one index key leads to: those always evaluated, and those gated by a
/// prefilter literal (posting lists: literal → variants).
#[derive(Debug, Default)]
struct Cell {
    always: Vec<u32>,
    gated: FxHashMap<u32, Vec<u32>>,
}

/// Per-thread scratch space for [`RuleSet::matches`].
#[derive(Debug, Default)]
pub struct Scratch {
    needles: Vec<u64>,
    matched: Vec<u32>,
    needles_done: bool,
    /// Per variant: the generation in which it was evaluated.
    tried: Vec<u32>,
    /// Per leaf: the generation of its cached result, and the result.
    leaf_generation: Vec<u32>,
    leaf_value: Vec<bool>,
    /// Per rule: the generation in which it matched.
    seen: Vec<u32>,
    generation: u32,
    /// Matches of this event that a missing field could have kept out: (rule, variant).
    unverified: Vec<(u32, u32)>,
}

/// A compiled correlation rule.
#[derive(Debug, Clone)]
pub struct CompiledCorrelation {
    pub rule: u32,
    pub spec: Correlation,
    /// Source ids (rule indices) in the order of `spec.rules`.
    pub sources: Vec<u32>,
    /// Per source position: the group-by fields (after aliases), then the aggregated field.
    pub fields: Vec<Vec<String>>,
}

/// The compiled rule set.
#[derive(Debug)]
pub struct RuleSet {
    rules: Vec<RuleInfo>,
    variants: Vec<CompiledVariant>,
    arena: Arena,
    index: FxHashMap<IndexKey, Vec<u32>>,
    no_channel: FxHashMap<Option<i64>, Vec<u32>>,
    /// The index lists split by prefilter requirement (built last).
    cells: FxHashMap<IndexKey, Cell>,
    no_channel_cells: FxHashMap<Option<i64>, Cell>,
    prefilter: Option<AhoCorasick>,
    needle_count: usize,
    correlations: Vec<CompiledCorrelation>,
    /// Rule index → correlations that consume its matches.
    consumers: FxHashMap<u32, Vec<u32>>,
    /// Fields to capture per consumed rule, for correlation.
    capture: FxHashMap<u32, Captures>,
    skipped: Vec<Skipped>,
    files: usize,
}

impl RuleSet {
    pub fn rules(&self) -> &[RuleInfo] {
        &self.rules
    }

    pub fn rule(&self, idx: u32) -> Option<&RuleInfo> {
        self.rules.get(idx as usize)
    }

    pub fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }

    /// Rule files read.
    pub fn files(&self) -> usize {
        self.files
    }

    /// Detection rules loaded (correlations not counted).
    pub fn detection_rules(&self) -> usize {
        self.rules.iter().filter(|r| !r.correlation).count()
    }

    pub fn correlations(&self) -> &[CompiledCorrelation] {
        &self.correlations
    }

    /// Correlations that consume matches of `rule`.
    pub fn consumers(&self, rule: u32) -> &[u32] {
        self.consumers.get(&rule).map_or(&[], Vec::as_slice)
    }

    /// Field values correlation rules need from an event that matched `rule`.
    pub fn captured(&self, rule: u32, ev: &Event<'_>) -> Vec<(String, String)> {
        let Some(caps) = self.capture.get(&rule) else {
            return Vec::new();
        };
        caps.iter()
            .filter_map(|(name, ids)| {
                ids.iter()
                    .flat_map(|&id| ev.values(id))
                    .find(|v| !v.is_null())
                    .map(|v| (name.clone(), v.raw.to_string()))
            })
            .collect()
    }

    /// Compiled size figures: (variants, distinct leaves, prefilter literals, fields).
    pub fn stats(&self) -> (usize, usize, usize, usize) {
        (
            self.variants.len(),
            self.arena.leaves.len(),
            self.needle_count,
            self.arena.names.len(),
        )
    }
}

/// Whether one leaf holds for the event.
pub(crate) fn eval_leaf(leaf: &Leaf, ev: &Event<'_>) -> bool {
    match &leaf.target {
        Target::Keywords => ev.all_values().any(|v| leaf.test.value_matches(&v)),
        Target::Fields(ids) => match &leaf.test {
            Test::Null => ids.iter().all(|&id| ev.values(id).all(|v| v.is_null())),
            Test::Exists(want) => ids.iter().any(|&id| ev.has(id)) == *want,
            Test::FieldRef { other, mode, cased } => {
                ids.iter().flat_map(|&id| ev.values(id)).any(|v| {
                    !v.is_null()
                        && other.iter().flat_map(|&o| ev.values(o)).any(|o| {
                            if o.is_null() {
                                return false;
                            }
                            let (a, b) = if *cased {
                                (&v.raw, &o.raw)
                            } else {
                                (&v.lower, &o.lower)
                            };
                            match mode {
                                RefMode::Equal => a == b,
                                RefMode::Prefix => a.starts_with(&**b),
                                RefMode::Suffix => a.ends_with(&**b),
                                RefMode::Contains => a.contains(&**b),
                            }
                        })
                })
            }
            test => ids
                .iter()
                .any(|&id| ev.values(id).any(|v| test.value_matches(&v))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn matching(set: &RuleSet, doc: &Json) -> Vec<String> {
        let ev = set.event(doc);
        let mut out = Vec::new();
        set.matches(&ev, &mut Scratch::default(), &mut out);
        out.iter()
            .filter_map(|&r| set.rule(r).map(|i| i.meta.title.clone()))
            .collect()
    }

    const RULE: &str = "title: cmd\nid: r-1\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel:\n    Image|endswith: '\\cmd.exe'\n  condition: sel\n";

    #[test]
    fn global_filters_apply_to_the_rules_they_name() {
        let filter = "title: admins\nlogsource: {product: windows, category: process_creation}\nfilter:\n  rules: [r-1]\n  selection:\n    User|startswith: 'adm_'\n  condition: selection\n";
        let mut b = RuleSetBuilder::new(Mapping::builtin());
        b.add_text(RULE, None).add_text(filter, None);
        let set = b.build();
        let ev = |user: &str| {
            json!({"Event": {"System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational"},
                "EventData": {"Image": "C:\\Windows\\cmd.exe", "User": user}}})
        };
        assert_eq!(matching(&set, &ev("bob")), ["cmd"]);
        assert!(matching(&set, &ev("adm_bob")).is_empty());
    }

    #[test]
    fn log_sources_select_channels_event_ids_and_field_names() {
        let mut b = RuleSetBuilder::new(Mapping::builtin());
        b.add_text(RULE, None);
        let set = b.build();
        let sysmon = json!({"Event": {"System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational"},
            "EventData": {"Image": "C:\\Windows\\cmd.exe"}}});
        // Security 4688 names the image NewProcessName: the mapping renames the field.
        let security = json!({"Event": {"System": {"EventID": 4688, "Channel": "Security"},
            "EventData": {"NewProcessName": "C:\\Windows\\cmd.exe"}}});
        let wrong_id = json!({"Event": {"System": {"EventID": 3, "Channel": "Microsoft-Windows-Sysmon/Operational"},
            "EventData": {"Image": "C:\\Windows\\cmd.exe"}}});
        let wrong_channel = json!({"Event": {"System": {"EventID": 1, "Channel": "Application"},
            "EventData": {"Image": "C:\\Windows\\cmd.exe"}}});
        assert_eq!(matching(&set, &sysmon), ["cmd"]);
        assert_eq!(matching(&set, &security), ["cmd"]);
        assert!(matching(&set, &wrong_id).is_empty());
        assert!(matching(&set, &wrong_channel).is_empty());
        // A flat JSON log without a channel: only the EventID is checked.
        assert_eq!(
            matching(&set, &json!({"EventID": 1, "Image": "C:\\x\\CMD.EXE"})),
            ["cmd"]
        );
    }

    #[test]
    fn linux_services_select_programs_and_process_starts_read_ecs_names() {
        let sshd = "title: sshd\nlogsource: {product: linux, service: sshd}\ndetection:\n  keywords: ['corrupted mac']\n  condition: keywords\n";
        let chattr = "title: chattr\nlogsource: {product: linux, category: process_creation}\ndetection:\n  sel:\n    Image|endswith: '/chattr'\n    CommandLine|contains: ' -i '\n  condition: sel\n";
        let parent = "title: parent\nlogsource: {product: linux, category: process_creation}\ndetection:\n  sel:\n    ParentImage|endswith: '/bash'\n  condition: sel\n";
        let mut b = RuleSetBuilder::new(Mapping::builtin());
        b.add_text(sshd, None)
            .add_text(chattr, None)
            .add_text(parent, None);
        let set = b.build();
        let line = |program: &str| {
            json!({"event": {"module": "syslog"}, "log": {"syslog": {"appname": program}},
                "message": "error: Corrupted MAC on input."})
        };
        assert_eq!(matching(&set, &line("sshd")), ["sshd"]);
        assert!(
            matching(&set, &line("sudo")).is_empty(),
            "another program's line"
        );
        let start = |module: &str, action: &str| {
            json!({"event": {"module": module, "action": action},
                "process": {"executable": "/usr/bin/chattr", "command_line": "chattr -i /etc/passwd"}})
        };
        assert_eq!(matching(&set, &start("auditd", "executed")), ["chattr"]);
        assert_eq!(matching(&set, &start("syslog", "sudo")), ["chattr"]);
        assert!(matching(&set, &start("auditd", "other")).is_empty());
        // A Windows event is never a Linux one, whatever it holds.
        let win = json!({"Event": {"System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational"},
            "EventData": {"Image": "/usr/bin/chattr", "CommandLine": "chattr -i x"}}});
        assert!(matching(&set, &win).is_empty());
        // The parent is unknown on these logs: the rule cannot match them.
        let mut with_parent = start("auditd", "executed");
        with_parent["ParentImage"] = json!("/bin/bash");
        assert_eq!(matching(&set, &with_parent), ["chattr"]);
    }

    #[test]
    fn a_document_known_to_come_from_one_product_meets_only_its_rules() {
        let cisco = "title: cisco\nlogsource: {product: cisco, service: aaa}\ndetection:\n  keywords: ['dir']\n  condition: keywords\n";
        let zeek_dns = "title: zeek dns\nlogsource: {product: zeek, service: dns}\ndetection:\n  sel:\n    query|endswith: '.onion'\n  condition: sel\n";
        let any_dns = "title: any dns\nlogsource: {category: dns}\ndetection:\n  sel:\n    record_type: TXT\n  condition: sel\n";
        let mut b = RuleSetBuilder::new(Mapping::builtin());
        b.add_text(cisco, None)
            .add_text(zeek_dns, None)
            .add_text(any_dns, None);
        let set = b.build();
        let zeek = |path: &str, query: &str| {
            json!({"_path": path, "event": {"module": "zeek"}, "query": query,
                "qtype_name": "TXT", "note": "dir listing"})
        };
        assert_eq!(
            matching(&set, &zeek("dns", "x.onion")),
            ["zeek dns", "any dns"]
        );
        assert!(
            matching(&set, &zeek("http", "x.onion")).is_empty(),
            "another Zeek log"
        );
        let linux = json!({"event": {"module": "syslog"}, "message": "dir listing"});
        assert!(
            matching(&set, &linux).is_empty(),
            "a Cisco rule never reads a Linux line"
        );
        // A log that does not say where it came from meets every product's rules.
        assert_eq!(
            matching(&set, &json!({"message": "dir listing"})),
            ["cisco"]
        );
    }

    #[test]
    fn links_to_folders_in_a_rule_pack_are_not_followed() {
        let dir = std::env::temp_dir().join(format!("warden-rule-links-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("windows")).unwrap();
        std::fs::write(dir.join("windows/cmd.yml"), RULE).unwrap();
        // Two links to the pack itself: followed, 2^32 folders and the rule 2^32 times.
        for name in ["loop1", "loop2"] {
            std::os::unix::fs::symlink(&dir, dir.join("windows").join(name)).unwrap();
        }
        let mut b = RuleSetBuilder::new(Mapping::builtin());
        b.add_path(&dir);
        let set = b.build();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!((set.rules().len(), set.skipped().len()), (1, 0));
    }
}
