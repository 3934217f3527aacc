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

use serde::{Deserialize, Serialize};
use warden_models::ml::gbdt::{Gbdt, Node};

use crate::deobf::Layer;
use crate::model::{Contribution, ModelView};
use crate::tokens::Tokens;
use crate::{LEARNED_TECHNIQUE, PatternFound, Shell};

pub use fit::{FOLDS, MIN_TEXTS_PER_CLASS, fit, fit_trees, fold_key};

/// The name of the first input, the n-gram model's score.
pub const TEXT_SCORE: &str = "the text model's score";
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
}

/// The trained combiner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Combiner {
    /// The pattern ids with an input of their own, sorted.
    pub ids: Vec<String>,
    pub trees: Gbdt,
    /// Each tree's nodes' expected values (cover-weighted), for the attributions; built on
    /// load ([`Combiner::prepare`]).
    #[serde(skip)]
    expected: Vec<Vec<f32>>,
}

impl Combiner {
    pub(crate) fn new(ids: Vec<String>, trees: Gbdt) -> Combiner {
        let mut c = Combiner {
            ids,
            trees,
            expected: Vec::new(),
        };
        c.prepare();
        c
    }

    /// Number of inputs.
    pub fn width(&self) -> usize {
        BASE_INPUTS.len() + self.ids.len()
    }

    /// The name of input `i`, for explanations.
    pub fn input_name(&self, i: usize) -> String {
        match BASE_INPUTS.get(i) {
            Some(name) => (*name).to_string(),
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
            TEXT_SCORE | "decoding layers" | "length" => name,
            "the signature score" => "no signature hits".to_owned(),
            "a POSIX shell" | "cmd" | "PowerShell" => format!("not {name}"),
            "the strongest pattern" => "no pattern".to_owned(),
            _ if name.starts_with("pattern ") => format!("without {name}"),
            _ => format!("no {name}"),
        }
    }

    /// The input row of one text.
    pub fn inputs(&self, e: &Evidence<'_>) -> Vec<f32> {
        inputs(&self.ids, e)
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
        }
        Ok(())
    }

    /// Builds what prediction needs after loading.
    pub fn prepare(&mut self) {
        self.trees.prepare();
        self.expected = self
            .trees
            .trees
            .iter()
            .map(|t| expected_values(t))
            .collect();
    }

    /// The combined probability and the `explain` inputs that raised it most.
    pub fn assess(&self, e: &Evidence<'_>, explain: usize) -> (f32, Vec<Contribution>) {
        let x = self.inputs(e);
        let mut credit = vec![0.0f32; x.len()];
        let mut margin = self.trees.base_margin as f32;
        for (tree, expected) in self.trees.trees.iter().zip(&self.expected) {
            margin += walk(tree, expected, &x, &mut credit);
        }
        let probability = 1.0 / (1.0 + (-margin).exp());
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

/// The input row of one text for the pattern inputs `ids` (sorted).
pub(crate) fn inputs(ids: &[String], e: &Evidence<'_>) -> Vec<f32> {
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
    x
}

/// A leaf: no split (the trees mark leaves with the largest feature index).
fn is_leaf(n: &Node) -> bool {
    n.feature == u32::MAX
}

/// The cover-weighted expected value of each node (children come after their parent).
fn expected_values(tree: &[Node]) -> Vec<f32> {
    let mut e = vec![0.0f32; tree.len()];
    for i in (0..tree.len()).rev() {
        let n = &tree[i];
        e[i] = if is_leaf(n) {
            n.value
        } else {
            let (l, r) = (n.left as usize, n.right as usize);
            let (cl, cr) = (tree[l].cover, tree[r].cover);
            if cl + cr > 0.0 {
                (e[l] * cl + e[r] * cr) / (cl + cr)
            } else {
                (e[l] + e[r]) / 2.0
            }
        };
    }
    e
}

/// The leaf value `x` reaches in `tree`, crediting each split's change of the expected
/// value to the input it split on. Children always come after their parent (checked by
/// [`Combiner::validate`]), so the walk ends.
fn walk(tree: &[Node], expected: &[f32], x: &[f32], credit: &mut [f32]) -> f32 {
    let mut i = 0usize;
    loop {
        let Some(n) = tree.get(i) else { return 0.0 };
        if is_leaf(n) {
            return n.value;
        }
        let f = n.feature as usize;
        let next = if x.get(f).copied().unwrap_or(0.0) <= n.threshold {
            n.left
        } else {
            n.right
        } as usize;
        if next <= i {
            return 0.0;
        }
        let delta =
            expected.get(next).copied().unwrap_or(0.0) - expected.get(i).copied().unwrap_or(0.0);
        if let Some(c) = credit.get_mut(f) {
            *c += delta;
        }
        i = next;
    }
}

#[cfg(test)]
mod tests;
