//! Payload analysis: is this command line or script dangerous, what does it really do, and
//! what should be done about it.
//!
//! [`Analyzer::analyze`] decodes the text layer by layer ([`deobf`]), tokenizes the decoded
//! text for its shell ([`tokens`]), runs the signature table over every layer
//! ([`signatures`], [`patterns`]), weighs dual-use programs by what they are asked to do
//! ([`dual_use`]), scores it with the learned model when one is loaded ([`model`]) and
//! combines the views into one [`Verdict`] ([`verdict`]): a 0–100 score, a level, an action,
//! the patterns with their ATT&CK ids, the layers and a plain explanation.

pub mod alert;
pub mod combiner;
pub mod deobf;
pub mod destinations;
pub mod dual_use;
pub mod dynamic;
mod explain;
pub mod features;
pub mod launch;
mod literals;
pub mod model;
pub mod patterns;
pub mod placeholders;
pub mod presence;
mod re;
pub mod shown;
pub mod signatures;
pub mod technique;
pub mod tempering;
pub mod tokens;
pub mod train;
pub mod verdict;

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, LazyLock};

use serde::{Deserialize, Serialize};
use warden_event::ThreatLevel;

use deobf::{Decoded, Layer};
use dual_use::DualUse;
use model::{ModelView, PayloadModel};
use signatures::{Hit, Signatures};
use tokens::Tokens;
pub use verdict::{Action, VerdictConfig};

/// Largest text analysed; the rest of a longer one is cut off (and the verdict says so).
pub const MAX_TEXT_BYTES: usize = 1 << 20;
/// Features named in a model explanation, each way.
const EXPLAIN_FEATURES: usize = 6;
/// The pattern id under which the technique tagger names a technique (weight 0: it names,
/// it does not score).
pub const LEARNED_TECHNIQUE: &str = "learned-technique";
/// Combiner inputs named in a model explanation.
const EXPLAIN_COMBINED: usize = 3;
/// Features present named for the presence trees' score.
const EXPLAIN_TREES: usize = 4;

/// How much of a verdict to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Everything: the features, trees' features and combiner inputs behind the model's
    /// score, and the explanation.
    Explained,
    /// What decides the verdict — the views, the score, its level and action, the patterns
    /// — without naming what raised the model's score and without the explanation (about
    /// a sixth of a text's time, and only what alerts needs them).
    Scored,
}

impl Detail {
    /// Features named each way, trees' features, combiner inputs.
    fn counts(self) -> (usize, usize, usize) {
        match self {
            Detail::Explained => (EXPLAIN_FEATURES, EXPLAIN_TREES, EXPLAIN_COMBINED),
            Detail::Scored => (0, 0, 0),
        }
    }
}

/// The shell a text is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shell {
    Sh,
    Bash,
    Cmd,
    Powershell,
}

impl Shell {
    pub fn as_str(self) -> &'static str {
        match self {
            Shell::Sh => "sh",
            Shell::Bash => "bash",
            Shell::Cmd => "cmd",
            Shell::Powershell => "powershell",
        }
    }

    /// The shell a text most likely is, from its syntax.
    pub fn guess(text: &str) -> Shell {
        static PS: LazyLock<regex::Regex> = LazyLock::new(|| {
            crate::re::fixed(
                r"(?i)\b(?:get|set|new|remove|invoke|start|stop|add|write|out|import|select|where|foreach|test|convertto|convertfrom)-[a-z]+\b|\$env:|\[(?:system\.)?(?:convert|text\.encoding|io\.|net\.|reflection|scriptblock|char)|^\s*(?:powershell|pwsh)\b|\biex\b",
            )
        });
        static CMD: LazyLock<regex::Regex> = LazyLock::new(|| {
            crate::re::fixed(
                r"(?i)^\s*(?:cmd(?:\.exe)?\s+/[ck]|@?echo\s+off|set\s+\w+=|start\s|call\s)|%[a-z_]+%|\b[a-z]:\\|\.exe\b|\b(?:reg|sc|net|schtasks|wmic|certutil|rundll32|regsvr32|bitsadmin|mshta|msiexec|vssadmin|wevtutil|bcdedit|taskkill|tasklist)\s",
            )
        });
        if PS.is_match(text) {
            Shell::Powershell
        } else if CMD.is_match(text) {
            Shell::Cmd
        } else {
            Shell::Sh
        }
    }
}

impl fmt::Display for Shell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Shell {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "sh" | "zsh" | "dash" | "ksh" => Ok(Shell::Sh),
            "bash" => Ok(Shell::Bash),
            "cmd" | "bat" | "command_prompt" => Ok(Shell::Cmd),
            "powershell" | "pwsh" | "ps" | "ps1" => Ok(Shell::Powershell),
            other => Err(format!(
                "unknown shell `{other}` (sh, bash, cmd or powershell)"
            )),
        }
    }
}

/// What the static stages found, before scoring (also what the model's features come from).
#[derive(Debug, Clone)]
pub struct Analysed {
    pub shell: Shell,
    pub decoded: Decoded,
    pub tokens: Tokens,
    pub signatures: Vec<Hit>,
    /// False when the signature scan ran out of time before searching every layer.
    pub signatures_finished: bool,
    pub dual_use: Vec<DualUse>,
    pub truncated: bool,
}

/// One pattern in a verdict: a signature or a dual-use capability in use.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatternFound {
    pub id: String,
    pub name: String,
    pub attack: Vec<Cow<'static, str>>,
    pub weight: f32,
    pub evidence: String,
    /// The decoding layer it was first seen in (0: as submitted).
    pub layer: usize,
    /// How the model's training texts lowered the weight, when they did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trained: Option<tempering::Tempered>,
}

/// The score each view gave (0–100), `None` for a view that did not run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Views {
    pub model: Option<f32>,
    pub dynamic: Option<f32>,
    pub signatures: f32,
    /// The weight the strongest pattern holds the verdict up with (0–1;
    /// [`VerdictConfig::signature_floor`], [`VerdictConfig::written_floor`]).
    #[serde(skip)]
    pub strongest: f32,
}

impl Views {
    /// The verdict's score from these views under `config`, with the sandbox's score
    /// `dynamic` (`None` leaves it out).
    pub fn combined(&self, config: &VerdictConfig, dynamic: Option<f32>) -> f32 {
        config.combine(self.model, dynamic, self.signatures, self.strongest)
    }

    /// The score without the model's view.
    pub fn without_model(&self, config: &VerdictConfig) -> f32 {
        config.combine(None, self.dynamic, self.signatures, self.strongest)
    }
}

/// The verdict on one text.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub shell: Shell,
    /// 0–100.
    pub score: f32,
    pub level: ThreatLevel,
    pub action: Action,
    pub views: Views,
    pub patterns: Vec<PatternFound>,
    /// Distinct ATT&CK technique ids of the patterns.
    pub attack: Vec<Cow<'static, str>>,
    pub layers: Vec<Layer>,
    /// Decoders that recognised something they could not decode, limits reached.
    pub notes: Vec<String>,
    pub tokens: Tokens,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelView>,
    /// What the script did in the sandbox, when a run was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<dynamic::Trace>,
    pub explanation: String,
}

/// What decides a verdict, without what explains it ([`Analyzer::triage`]): the same
/// score, level, action and views as the verdict [`Analyzer::analyze`] gives the text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Triage {
    pub shell: Shell,
    /// 0–100.
    pub score: f32,
    pub level: ThreatLevel,
    pub action: Action,
    pub views: Views,
}

impl From<&Verdict> for Triage {
    fn from(v: &Verdict) -> Triage {
        Triage {
            shell: v.shell,
            score: v.score,
            level: v.level,
            action: v.action,
            views: v.views,
        }
    }
}

/// More patterns from outside this crate (the Sigma process-creation rules, run by
/// `warden-engine`), found on an examined text.
pub trait PatternSource: Send + Sync {
    fn patterns(&self, a: &Analysed) -> Vec<PatternFound>;
}

/// The static analyser: signatures compiled once, an optional model, the verdict settings.
pub struct Analyzer {
    signatures: Signatures,
    model: Option<Arc<PayloadModel>>,
    config: VerdictConfig,
    sources: Vec<Arc<dyn PatternSource>>,
}

impl Analyzer {
    pub fn new(model: Option<Arc<PayloadModel>>, config: VerdictConfig) -> Analyzer {
        Analyzer {
            signatures: Signatures::new(),
            model,
            config,
            sources: Vec::new(),
        }
    }

    /// Adds a source of patterns (its findings join the signature view).
    pub fn with_source(mut self, source: Arc<dyn PatternSource>) -> Analyzer {
        self.sources.push(source);
        self
    }

    pub fn model(&self) -> Option<&Arc<PayloadModel>> {
        self.model.as_ref()
    }

    /// How views combine into a score, and the score's level and action.
    pub fn config(&self) -> &VerdictConfig {
        &self.config
    }

    /// The same analyser with another model (a hot swap builds a new one and replaces it).
    pub fn with_model(&self, model: Option<Arc<PayloadModel>>) -> Analyzer {
        Analyzer {
            signatures: Signatures::new(),
            model,
            config: self.config,
            sources: self.sources.clone(),
        }
    }

    /// Decoding, tokens, signatures and dual-use capabilities of a text.
    pub fn examine(&self, text: &str, shell: Option<Shell>) -> Analysed {
        let truncated = text.len() > MAX_TEXT_BYTES;
        let text = if truncated {
            cut(text, MAX_TEXT_BYTES)
        } else {
            text
        };
        let shell = shell.unwrap_or_else(|| Shell::guess(text));
        let decoded = deobf::deobfuscate(text, shell);
        self.examine_decoded(decoded, shell, truncated, None, None)
    }

    /// Tokens, signatures and dual-use capabilities of a text already decoded; `known` is
    /// its last layer's tokens in the shell that layer is read in, when already there, and
    /// `deadline` the end of a signature budget shared with other scans (its own without).
    fn examine_decoded(
        &self,
        decoded: Decoded,
        shell: Shell,
        truncated: bool,
        known: Option<(Shell, &Tokens)>,
        deadline: Option<std::time::Instant>,
    ) -> Analysed {
        let last_shell = decoded.shell.unwrap_or(shell);
        let tokens = match known {
            Some((read_in, t)) if read_in == last_shell => t.clone(),
            _ => tokens::tokenize(decoded.last(), last_shell),
        };
        let layers = decoded.layers.iter().map(|l| l.text.as_str());
        let scan = match deadline {
            Some(d) => self.signatures.scan_until(layers, d),
            None => self.signatures.scan_bounded(layers),
        };
        let dual_use = dual_use::assess(&tokens);
        let mut signatures = scan.hits;
        let last = decoded.layers.len().saturating_sub(1);
        let found = destinations::assess(&tokens, &signatures, &dual_use, last);
        signatures.extend(found);
        Analysed {
            shell,
            decoded,
            tokens,
            signatures,
            signatures_finished: scan.finished,
            dual_use,
            truncated,
        }
    }

    /// The views of each decoded layer of an examined text as if it had been submitted on
    /// its own: the layers from it on, read in the shell it is written for. Nothing is
    /// decoded again (decoding is a function of the text and its shell, so the layers below
    /// are the same), and one layer's examination is dropped before the next is built.
    /// Their signature scans share one budget: a text whose layers repeat a pattern's
    /// literal thousands of times would otherwise spend it once per form. Also whether
    /// every form's scan finished.
    fn decoded_views(&self, a: &Analysed) -> (Vec<Views>, bool) {
        let layers = &a.decoded.layers;
        let deadline = std::time::Instant::now() + self.signatures.budget();
        let mut finished = true;
        let views = (1..layers.len())
            .map(|k| {
                let decoded = Decoded {
                    layers: layers[k..].to_vec(),
                    notes: Vec::new(),
                    shell: a.decoded.shell,
                };
                // Every form ends in the same last layer: tokenized once, unless a form
                // reads it in another shell.
                let last_shell = a.decoded.shell.unwrap_or(a.shell);
                let form = self.examine_decoded(
                    decoded,
                    layers[k].shell,
                    false,
                    Some((last_shell, &a.tokens)),
                    Some(deadline),
                );
                finished &= form.signatures_finished;
                self.verdict_with(form, None, Detail::Scored).views
            })
            .collect();
        (views, finished)
    }

    /// The static verdict on a text.
    pub fn analyze(&self, text: &str, shell: Option<Shell>) -> Verdict {
        let a = self.examine(text, shell);
        let forms = self.decoded_views(&a);
        self.verdict_at_least_decoded(a, &forms, None, Detail::Explained)
    }

    /// The static verdict's score, level, action and views, without its explanation: for a
    /// stream, where most texts are scored and only the few that alert are explained
    /// ([`Analyzer::analyze`] again, which gives them the same score — unless a signature
    /// scan runs out of its time in one of the two, which the verdict's notes say).
    pub fn triage(&self, text: &str, shell: Option<Shell>) -> Triage {
        let a = self.examine(text, shell);
        let forms = self.decoded_views(&a);
        Triage::from(&self.verdict_at_least_decoded(a, &forms, None, Detail::Scored))
    }

    /// The verdict on a text with the behaviour of its sandboxed run.
    pub fn analyze_with_run(
        &self,
        text: &str,
        shell: Option<Shell>,
        run: dynamic::Behaviour,
    ) -> Verdict {
        let a = self.examine(text, shell);
        let forms = self.decoded_views(&a);
        self.verdict_at_least_decoded(a, &forms, Some(run), Detail::Explained)
    }

    fn verdict_at_least_decoded(
        &self,
        a: Analysed,
        (forms, finished): &(Vec<Views>, bool),
        run: Option<dynamic::Behaviour>,
        detail: Detail,
    ) -> Verdict {
        let mut v = self.verdict_with(a, run, detail);
        if !finished {
            v.notes.push(
                "the decoded layers' own signature scans ran out of time: a layer judged on \
                 its own may be missing patterns"
                    .to_string(),
            );
        }
        // A hidden command is at least as dangerous as each thing it decodes to, analysed on
        // its own (with the same run, when there was one: the run is of the submitted text).
        // Every layer counts, not only the last: a command wrapped once more must not score
        // below the wrapped form it decodes to first.
        let dynamic = v.trace.as_ref().map(|t| t.score);
        for alone in forms {
            let alone_score = alone.combined(&self.config, dynamic);
            if alone_score > v.score {
                v.score = alone_score;
                v.level = self.config.level(alone_score);
                v.action = self.config.action(alone_score);
            }
        }
        v
    }

    /// The verdict from an examination and, when the sandbox ran, its behaviour.
    pub fn verdict(&self, a: Analysed, run: Option<dynamic::Behaviour>) -> Verdict {
        self.verdict_with(a, run, Detail::Explained)
    }

    /// The verdict, explained or only scored ([`Detail`]); the score is the same either way.
    pub fn verdict_with(
        &self,
        a: Analysed,
        run: Option<dynamic::Behaviour>,
        detail: Detail,
    ) -> Verdict {
        let (explain_features, explain_trees, explain_combined) = detail.counts();
        let trace = run.map(|b| dynamic::assess(&self.signatures, b));
        let dynamic = trace.as_ref().map(|t| t.score);
        let (mut model, trees, learned_technique) =
            match self.model_views(&a, explain_features, explain_trees) {
                Some((view, trees, technique)) => (Some(view), trees, technique),
                None => (None, None, None),
            };
        let patterns = self.patterns_found(&a, learned_technique);
        let weights: Vec<f32> = patterns.iter().map(|p| p.weight).collect();
        let sig_score = 100.0 * (1.0 - weights.iter().fold(1.0f32, |acc, w| acc * (1.0 - w)));
        if let Some(view) = model.as_mut() {
            self.weigh_views(view, trees, &a, &patterns, sig_score, explain_combined);
        }
        let model_score = model.as_ref().map(|m| m.probability * 100.0);
        let strongest = patterns
            .iter()
            .map(|p| self.holding(p))
            .fold(0.0f32, f32::max);
        let score = self
            .config
            .combine(model_score, dynamic, sig_score, strongest);
        let mut attack: Vec<Cow<'static, str>> = patterns
            .iter()
            .chain(trace.iter().flat_map(|t| t.findings.iter()))
            .flat_map(|p| p.attack.iter().cloned())
            .collect();
        attack.sort_unstable();
        attack.dedup();
        let mut notes = analysis_notes(&a);
        let views = Views {
            model: model_score,
            dynamic,
            signatures: sig_score,
            strongest,
        };
        let explanation = match detail {
            Detail::Explained => {
                self.explanation(score, &views, &a.decoded, &patterns, model.as_ref(), &trace)
            }
            Detail::Scored => String::new(),
        };
        let layers = shown::layers(a.decoded.layers, &mut notes);
        let tokens = shown::tokens(a.tokens, &mut notes);
        Verdict {
            shell: a.shell,
            score,
            level: self.config.level(score),
            action: self.config.action(score),
            views,
            patterns,
            attack,
            layers,
            notes,
            tokens,
            model,
            trace,
            explanation,
        }
    }

    /// The n-gram model's view of the text, the presence trees' margin with what raised it,
    /// and the technique the tagger names — each only where the model has that part.
    fn model_views(
        &self,
        a: &Analysed,
        explain_features: usize,
        explain_trees: usize,
    ) -> Option<ModelViews> {
        let m = self.model.as_ref()?;
        let f = features::extract(a, &m.features);
        let view = m.assess(&f, explain_features);
        let trees = m.presence.as_ref().map(|t| t.judge(&f, explain_trees));
        // The tagger names a technique only for what the model finds malicious.
        let technique = if view.probability >= 0.5 {
            m.techniques
                .as_ref()
                .and_then(|t| t.predict(&f, &m.row_values(&f)))
                .map(|(id, p)| (id.to_string(), p))
        } else {
            None
        };
        Some((view, trees, technique))
    }

    /// Every pattern the analysis found — signatures, dual-use capabilities, extra sources —
    /// their weights tempered by the training texts, and the learned technique last.
    fn patterns_found(
        &self,
        a: &Analysed,
        learned_technique: Option<(String, f32)>,
    ) -> Vec<PatternFound> {
        let last = a.decoded.layers.len() - 1;
        let mut patterns: Vec<PatternFound> = a
            .signatures
            .iter()
            .map(|h| PatternFound {
                id: h.id.to_string(),
                name: h.name.to_string(),
                attack: h.attack.iter().map(|t| Cow::Borrowed(*t)).collect(),
                weight: h.weight,
                evidence: h.evidence.clone(),
                layer: h.layer,
                trained: None,
            })
            .collect();
        patterns.extend(a.dual_use.iter().map(|d| PatternFound {
            id: dual_use_id(d),
            name: format!(
                "dual-use program `{}` asked to {}",
                d.program,
                capability_phrase(d.capability)
            ),
            attack: d.attack.iter().map(|t| Cow::Borrowed(*t)).collect(),
            weight: d.weight,
            evidence: d.evidence.clone(),
            layer: last,
            trained: None,
        }));
        for source in &self.sources {
            patterns.extend(source.patterns(a));
        }
        if let Some(counts) = self.model.as_ref().and_then(|m| m.patterns.as_ref()) {
            counts.temper(&mut patterns);
        }
        if let Some((id, p)) = learned_technique {
            patterns.push(PatternFound {
                id: LEARNED_TECHNIQUE.into(),
                name: format!("resembles labelled {id} commands (learned)"),
                attack: vec![Cow::Owned(id)],
                // Names a technique; the model's view already scored the text.
                weight: 0.0,
                evidence: format!("tagger probability {p:.2}"),
                layer: last,
                trained: None,
            });
        }
        patterns
    }

    /// The model view weighed with the rest of the analysis: by the combiner where the model
    /// has one, and the presence trees' margin taken in (by the combiner, or averaged).
    fn weigh_views(
        &self,
        view: &mut ModelView,
        trees: Option<(f32, Vec<model::Contribution>)>,
        a: &Analysed,
        patterns: &[PatternFound],
        sig_score: f32,
        explain_combined: usize,
    ) {
        let combiner = self.model.as_ref().and_then(|m| m.combiner.as_ref());
        if let Some(c) = combiner {
            let evidence = combiner::Evidence {
                shell: a.shell,
                probability: view.probability,
                signatures: sig_score,
                patterns,
                layers: &a.decoded.layers,
                tokens: &a.tokens,
                launch: self.model.as_ref().is_some_and(|m| m.features.launch),
                trees: trees.as_ref().map(|t| t.0),
            };
            c.apply(view, &evidence, explain_combined);
        }
        if let Some((margin, raised)) = trees {
            view.trees_probability = Some(1.0 / (1.0 + (-margin).exp()));
            view.trees_raised_by = raised;
            // A combiner that weighed the trees has already said how far to trust them;
            // without one, the two views are averaged.
            if !combiner.is_some_and(|c| c.trees_input) {
                view.probability = presence::mix(view.probability, margin);
            }
        }
    }
}

/// The model's view, the presence trees' margin and what raised it, the learned technique.
type ModelViews = (
    ModelView,
    Option<(f32, Vec<model::Contribution>)>,
    Option<(String, f32)>,
);

/// What the analysis itself has to say: the decoders' notes, a text cut short, a scan cut
/// short.
fn analysis_notes(a: &Analysed) -> Vec<String> {
    let mut notes = a.decoded.notes.clone();
    if a.truncated {
        notes.push(format!(
            "only the first {MAX_TEXT_BYTES} bytes were analysed"
        ));
    }
    if !a.signatures_finished {
        notes.push(
            "the signature scan ran out of time before it had searched every layer: \
             patterns in the rest were not looked for"
                .to_string(),
        );
    }
    notes
}

fn capability_phrase(c: dual_use::Capability) -> &'static str {
    use dual_use::Capability::*;
    match c {
        RunShell => "spawn a shell or run a command",
        Download => "download a file",
        Upload => "send a file out",
        FileRead => "read a sensitive file",
        FileWrite => "write where code runs or credentials live",
        Execute => "run other code on its behalf",
    }
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
pub fn cut(text: &str, max: usize) -> &str {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The id a dual-use capability has among a verdict's patterns (`dual-use-run-shell`).
pub(crate) fn dual_use_id(d: &DualUse) -> String {
    let capability = serde_json::to_value(d.capability)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    format!("dual-use-{capability}")
}

#[cfg(test)]
mod tests;
