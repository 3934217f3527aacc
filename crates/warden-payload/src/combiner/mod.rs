//! The combiner: boosted trees that weigh the n-gram model's score together with what the
//! analysis found — the signature view, each pattern's tempered weight, the shell, how many
//! layers were decoded, the text's size and shape (commands, pipes, URLs, paths).
//!
//! The n-gram model scores a text's characters and words; it cannot know that a score of
//! 0.9 means more in a PowerShell line than in a shell one-liner, or that a pattern which
//! fires in documentation as often as in attacks says little. A hand-weighted blend of the
//! views cannot either. The combiner learns it from the training texts, on scores the
//! n-gram model gave texts it was *not* trained on (k folds, [`fit`]), so that it learns how
//! far to trust the model on unseen text rather than on text it memorised.
//!
//! Its probability is the learned view of the verdict (`views.model`); the n-gram model's
//! own stays in the verdict's model section, and the combiner's inputs that raised the
//! score most are named there (path attributions: each split's change of the expected
//! value, credited to its feature — cheap enough for every text of a stream).

mod fit;
mod paths;

use serde::{Deserialize, Serialize};
use warden_models::ml::gbdt::Gbdt;

use crate::deobf::Layer;
use crate::model::{Contribution, ModelView};
use crate::tokens::Tokens;
use crate::{LEARNED_TECHNIQUE, PatternFound, Shell};

pub use fit::{FOLDS, MIN_TEXTS_PER_CLASS, fit, fit_trees, fold_key};
use paths::{PathTrees, depth_of, is_leaf};

/// The name of the first input, the n-gram model's score.
pub const TEXT_SCORE: &str = "the text model's score";
/// The name of the last input of a combiner that weighs the presence trees
/// ([`crate::presence`]): their log-odds.
pub const TREES_SCORE: &str = "the trees' score";
/// The inputs every combiner has, before one per pattern id.
const BASE_INPUTS: [&str; 15] = [
    TEXT_SCORE,
    "the signature score",
    "decoding layers",
    "length",
    "patterns found",
    "the strongest pattern",
    "URLs",
    "IP addresses",
    "paths",
    "pipes",
    "commands",
    "redirections",
    "a POSIX shell",
    "cmd",
    "PowerShell",
];
/// Most pattern ids a combiner may have an input for (the analyser has about a hundred).
pub const MAX_PATTERN_INPUTS: usize = 1024;
/// Most trees, and the deepest, a combiner file may hold (ten times what training makes,
/// and twice as deep: the prediction layout of a loaded file stays within a few MiB).
const MAX_TREES: usize = 1000;
const MAX_DEPTH: usize = 8;

/// What the combiner reads of one verdict in the making.
pub struct Evidence<'a> {
    pub shell: Shell,
    /// The n-gram model's calibrated probability.
    pub probability: f32,
    /// The signature view, 0–100.
    pub signatures: f32,
    /// Patterns with their tempered weights.
    pub patterns: &'a [PatternFound],
    pub layers: &'a [Layer],
    pub tokens: &'a Tokens,
    /// The model reads the program starting each line by its bare name
    /// ([`crate::launch`]): the size and path count then leave the images out too, or
    /// they would carry what the n-grams were kept from.
    pub launch: bool,
    /// The presence trees' log-odds, when the model has them.
    pub trees: Option<f32>,
}

/// The trained combiner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Combiner {
    /// The pattern ids with an input of their own, sorted.
    pub ids: Vec<String>,
    pub trees: Gbdt,
    /// The presence trees' score is an input (the last; format 6).
    pub trees_input: bool,
    /// The trees laid out for the attributions (each node's cover-weighted expected
    /// value); built on load ([`Combiner::prepare`]).
    #[serde(skip)]
    paths: PathTrees,
}

impl Combiner {
    pub(crate) fn new(ids: Vec<String>, trees: Gbdt, trees_input: bool) -> Combiner {
        let mut c = Combiner {
            ids,
            trees,
            trees_input,
            paths: PathTrees::default(),
        };
        c.prepare();
        c
    }

    /// Number of inputs.
    pub fn width(&self) -> usize {
        BASE_INPUTS.len() + self.ids.len() + usize::from(self.trees_input)
    }

    /// The name of input `i`, for explanations.
    pub fn input_name(&self, i: usize) -> String {
        match BASE_INPUTS.get(i) {
            Some(name) => (*name).to_string(),
            None if self.trees_input && i == BASE_INPUTS.len() + self.ids.len() => {
                TREES_SCORE.to_string()
            }
            None => format!(
                "pattern {}",
                self.ids
                    .get(i - BASE_INPUTS.len())
                    .map_or("?", String::as_str)
            ),
        }
    }

    /// How an input that raised a verdict is named there, with what it held: a pattern,
    /// a shell family or a count that was absent raised it by its absence ("without pattern
    /// x", "not PowerShell", "no URLs"), which its bare name would tell the other way.
    pub fn contribution_name(&self, i: usize, value: f32) -> String {
        let name = self.input_name(i);
        if value != 0.0 {
            return name;
        }
        match name.as_str() {
            TEXT_SCORE | TREES_SCORE | "decoding layers" | "length" => name,
            "the signature score" => "no signature hits".to_owned(),
            "a POSIX shell" | "cmd" | "PowerShell" => format!("not {name}"),
            "the strongest pattern" => "no pattern".to_owned(),
            _ if name.starts_with("pattern ") => format!("without {name}"),
            _ => format!("no {name}"),
        }
    }

    /// The input row of one text.
    pub fn inputs(&self, e: &Evidence<'_>) -> Vec<f32> {
        inputs(&self.ids, self.trees_input, e)
    }

    /// Checks a loaded combiner: sizes in bounds, trees that only point forward (so that
    /// walking one always ends), every split on an input this combiner has.
    pub fn validate(&self) -> Result<(), String> {
        if self.ids.len() > MAX_PATTERN_INPUTS || !self.ids.is_sorted() {
            return Err(format!(
                "the combiner's pattern inputs must be sorted and at most {MAX_PATTERN_INPUTS}"
            ));
        }
        let t = &self.trees;
        if t.n_features != self.width()
            || t.trees.len() > MAX_TREES
            || t.params.max_depth > MAX_DEPTH
            || !t.base_margin.is_finite()
        {
            return Err(format!(
                "the combiner has {} inputs for {} features, {} trees of depth {}",
                self.width(),
                t.n_features,
                t.trees.len(),
                t.params.max_depth
            ));
        }
        for tree in &t.trees {
            for (i, n) in tree.iter().enumerate() {
                let leaf = is_leaf(n);
                let forward = |c: u32| (c as usize) > i && (c as usize) < tree.len();
                let finite = n.value.is_finite() && n.threshold.is_finite() && n.cover >= 0.0;
                if !finite || (!leaf && (!forward(n.left) || !forward(n.right))) {
                    return Err("a combiner tree is malformed".into());
                }
                if !leaf && n.feature as usize >= t.n_features {
                    return Err("a combiner tree splits on an input it does not have".into());
                }
            }
            if depth_of(tree) > t.params.max_depth {
                return Err("a combiner tree is deeper than its parameters say".into());
            }
        }
        Ok(())
    }

    /// Builds what prediction needs after loading.
    pub fn prepare(&mut self) {
        self.trees.prepare();
        self.paths = PathTrees::build(&self.trees.trees, self.trees.params.max_depth);
    }

    /// The combined probability and the `explain` inputs that raised it most.
    pub fn assess(&self, e: &Evidence<'_>, explain: usize) -> (f32, Vec<Contribution>) {
        let x = self.inputs(e);
        let mut credit = vec![0.0f32; x.len()];
        let margin = self
            .paths
            .walk(self.trees.base_margin as f32, &x, &mut credit);
        let probability = 1.0 / (1.0 + (-margin).exp());
        if explain == 0 {
            return (probability, Vec::new());
        }
        let mut raised: Vec<(usize, f32)> = credit
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, c)| *c > 0.0)
            .collect();
        raised.sort_by(|a, b| b.1.total_cmp(&a.1));
        let named = raised
            .iter()
            .take(explain)
            .map(|&(i, c)| Contribution {
                feature: self.contribution_name(i, x[i]),
                weight: (c * 1000.0).round() / 1000.0,
            })
            .collect();
        (probability, named)
    }
}

impl Combiner {
    /// Replaces the n-gram model's probability in `view` by the combined one, keeping the
    /// former as `text_probability` and naming the inputs that raised the latter.
    pub fn apply(&self, view: &mut ModelView, e: &Evidence<'_>, explain: usize) {
        let (probability, from) = self.assess(e, explain);
        view.text_probability = Some(view.probability);
        view.probability = probability;
        view.combined_from = from;
    }
}

/// The input row of one text for the pattern inputs `ids` (sorted), and the trees' score
/// when `with_trees`.
pub(crate) fn inputs(ids: &[String], with_trees: bool, e: &Evidence<'_>) -> Vec<f32> {
    let p = e.probability.clamp(1e-6, 1.0 - 1e-6);
    let found = || e.patterns.iter().filter(|p| p.id != LEARNED_TECHNIQUE);
    let t = e.tokens;
    let first = e.layers.first().map_or("", |l| l.text.as_str());
    let (original, paths) = if e.launch {
        crate::launch::measure(first, &t.paths)
    } else {
        (first.len(), t.paths.len())
    };
    let mut x = vec![
        (p / (1.0 - p)).ln(),
        e.signatures,
        e.layers.len() as f32,
        (1.0 + original as f32).ln(),
        found().count() as f32,
        found().map(|p| p.weight).fold(0.0, f32::max),
        t.urls.len() as f32,
        t.ips.len() as f32,
        paths as f32,
        t.pipes as f32,
        t.commands.len() as f32,
        t.redirections.len() as f32,
    ];
    // sh and bash are one family: which of the two a text is labelled with says more
    // about where it was collected than about what it does (and the shell a decoded layer
    // is guessed to be must not move its score).
    let family = match e.shell {
        Shell::Sh | Shell::Bash => 0,
        Shell::Cmd => 1,
        Shell::Powershell => 2,
    };
    x.extend((0..3).map(|f| if f == family { 1.0 } else { 0.0 }));
    let base = x.len();
    x.resize(base + ids.len(), 0.0);
    for p in found() {
        if let Ok(k) = ids.binary_search(&p.id) {
            x[base + k] = x[base + k].max(p.weight);
        }
    }
    if with_trees {
        x.push(e.trees.unwrap_or(0.0).clamp(-20.0, 20.0));
    }
    x
}

/// A combiner as formats 4 and 5 saved it (no trees' input).
#[derive(Deserialize)]
pub(crate) struct CombinerV1 {
    ids: Vec<String>,
    trees: Gbdt,
}

impl From<CombinerV1> for Combiner {
    fn from(c: CombinerV1) -> Combiner {
        Combiner {
            ids: c.ids,
            trees: c.trees,
            trees_input: false,
            paths: PathTrees::default(),
        }
    }
}

#[cfg(test)]
mod tests;
