//! Training the combiner on out-of-fold evidence: the training texts are dealt into folds by
//! a hash of their text (a text repeated lands in one fold), an n-gram model and pattern
//! counts are trained without each fold, and the fold's texts are analysed with them. The
//! trees then learn from scores the model gave texts it never saw, as it will in use.

use std::sync::Arc;

use rayon::prelude::*;

use warden_models::ml::Matrix;
use warden_models::ml::gbdt::{Gbdt, GbdtParams};

use super::{Combiner, Evidence, inputs};
use crate::features::Features;
use crate::presence::TreeParams;
use crate::tempering::PatternCounts;
use crate::train::{TrainError, TrainParams, train_grouped};
use crate::{Analyzer, Detail, Shell, VerdictConfig};

/// Folds of the training texts (five models trained on four fifths each).
pub const FOLDS: usize = 5;
/// Most folds (each trains a model on nearly every text).
pub const MAX_FOLDS: usize = 20;
/// Fewest texts of each class worth fitting a combiner on: with fewer, each fold's model
/// learns from a handful and the trees from noise.
pub const MIN_TEXTS_PER_CLASS: usize = 50;
/// A pattern gets an input of its own when it fired on at least this many training texts;
/// rarer ones still count in the pattern inputs every combiner has.
const MIN_PATTERN_TEXTS: usize = 5;

/// The trees: shallow and few. The inputs are a score and a few dozen counts and weights;
/// deeper or more trees ranked no better on held-out commands and cost more per text.
fn tree_params() -> GbdtParams {
    GbdtParams {
        n_trees: 100,
        max_depth: 4,
        learning_rate: 0.1,
        ..GbdtParams::default()
    }
}

/// Trains a combiner for `texts` (text and shell as given), whose features and labels are
/// `rows` and whose pattern ids (as [`crate::tempering::pattern_ids`] lists them) are `ids`,
/// with `params` for the n-gram models of the folds. `groups` keeps texts together: a text
/// and its training copies ([`crate::placeholders`]) share a key and so a fold, and the
/// model that scores them never saw one of them (each text is its own group when `groups`
/// is empty; [`fold_key`] is a text's own key).
///
/// With `presence`, each fold also trains presence trees ([`crate::presence`]) and the
/// combiner weighs their score of the fold's texts as one more input.
pub fn fit(
    texts: &[(String, Option<Shell>)],
    groups: &[u64],
    rows: &[(Features, bool)],
    ids: &[(Vec<String>, bool)],
    params: &TrainParams,
    presence: Option<&TreeParams>,
    folds: usize,
) -> Result<Combiner, TrainError> {
    if texts.len() != rows.len()
        || rows.len() != ids.len()
        || !(groups.is_empty() || groups.len() == texts.len())
        || !(2..=MAX_FOLDS).contains(&folds)
    {
        return Err(TrainError::Params(format!(
            "the combiner needs one text, row and pattern list (and group, if any) per record, and 2 to {MAX_FOLDS} folds"
        )));
    }
    let inputs_for = frequent_ids(ids);
    let key = |i: usize| {
        groups
            .get(i)
            .copied()
            .unwrap_or_else(|| fold_key(&texts[i].0))
    };
    let fold_of: Vec<usize> = (0..texts.len())
        .map(|i| (key(i) % folds as u64) as usize)
        .collect();
    let keys: Vec<u64> = (0..texts.len()).map(key).collect();
    // The folds side by side (each is its own model and analyser); their evidence is then
    // joined in fold order, so the trees see the same rows on any number of cores.
    let per_fold: Vec<Result<FoldEvidence, TrainError>> = (0..folds)
        .into_par_iter()
        .map(|k| {
            let fold = Fold {
                inside: (0..rows.len()).filter(|&i| fold_of[i] == k).collect(),
                outside: (0..rows.len()).filter(|&i| fold_of[i] != k).collect(),
            };
            fold_evidence(
                &fold,
                texts,
                &keys,
                rows,
                ids,
                &inputs_for,
                params,
                presence,
            )
        })
        .collect();
    let (mut x, mut y) = (
        Vec::with_capacity(rows.len()),
        Vec::with_capacity(rows.len()),
    );
    for evidence in per_fold {
        let (fx, fy) = evidence?;
        x.extend(fx);
        y.extend(fy);
    }
    fit_trees(inputs_for, presence.is_some(), &x, &y)
}

/// The texts of one fold, and the others, whose model scores them.
struct Fold {
    inside: Vec<usize>,
    outside: Vec<usize>,
}

/// Input rows and labels of a fold's texts.
type FoldEvidence = (Vec<Vec<f32>>, Vec<bool>);

/// The combiner's inputs for the texts of `fold`, scored by a model, pattern counts and
/// (with `presence`) trees trained on the other texts.
#[allow(clippy::too_many_arguments)]
fn fold_evidence(
    fold: &Fold,
    texts: &[(String, Option<Shell>)],
    keys: &[u64],
    rows: &[(Features, bool)],
    ids: &[(Vec<String>, bool)],
    inputs_for: &[String],
    params: &TrainParams,
    presence: Option<&TreeParams>,
) -> Result<FoldEvidence, TrainError> {
    let fold_rows: Vec<(Features, bool)> = fold.outside.iter().map(|&i| rows[i].clone()).collect();
    let fold_keys: Vec<u64> = fold.outside.iter().map(|&i| keys[i]).collect();
    let mut model = match train_grouped(&fold_rows, &fold_keys, params, "") {
        Ok(m) => m,
        // A fold that leaves one class out has nothing to learn from; its texts simply
        // give no evidence.
        Err(TrainError::OneClass { .. }) => return Ok((Vec::new(), Vec::new())),
        Err(e) => return Err(e),
    };
    model.patterns = Some(PatternCounts::count(
        fold.outside.iter().map(|&i| ids[i].clone()),
    ));
    let trees = match presence {
        Some(p) => Some(crate::presence::fit(&fold_rows, params.features.bits, p)?),
        None => None,
    };
    let analyzer = Analyzer::new(Some(Arc::new(model)), VerdictConfig::default());
    let (mut x, mut y) = (Vec::with_capacity(fold.inside.len()), Vec::new());
    for &i in &fold.inside {
        let (text, shell) = &texts[i];
        let v = analyzer.verdict_with(analyzer.examine(text, *shell), None, Detail::Scored);
        let Some(probability) = v.model.as_ref().map(|m| m.probability) else {
            continue;
        };
        x.push(inputs(
            inputs_for,
            trees.is_some(),
            &Evidence {
                shell: v.shell,
                probability,
                signatures: v.views.signatures,
                patterns: &v.patterns,
                layers: &v.layers,
                tokens: &v.tokens,
                launch: params.features.launch,
                trees: trees.as_ref().map(|t| t.margin(&rows[i].0)),
            },
        ));
        y.push(rows[i].1);
    }
    Ok((x, y))
}

/// Fits the trees on input rows `x` (each [`Combiner::width`] wide for `ids`) and labels.
pub fn fit_trees(
    ids: Vec<String>,
    trees_input: bool,
    x: &[Vec<f32>],
    y: &[bool],
) -> Result<Combiner, TrainError> {
    let malicious = y.iter().filter(|&&m| m).count();
    if malicious == 0 || malicious == y.len() {
        return Err(TrainError::OneClass {
            malicious,
            benign: y.len() - malicious,
        });
    }
    let matrix = Matrix::from_rows(x)
        .ok_or_else(|| TrainError::Params("combiner input rows of different widths".into()))?;
    let trees = Gbdt::fit(&tree_params(), &matrix, y)
        .map_err(|e| TrainError::Params(format!("combiner trees: {e}")))?;
    let combiner = Combiner::new(ids, trees, trees_input);
    combiner.validate().map_err(TrainError::Params)?;
    Ok(combiner)
}

/// Pattern ids found on at least [`MIN_PATTERN_TEXTS`] texts, sorted, at most
/// [`super::MAX_PATTERN_INPUTS`] (the most frequent).
fn frequent_ids(ids: &[(Vec<String>, bool)]) -> Vec<String> {
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for (found, _) in ids {
        for id in found {
            *counts.entry(id.as_str()).or_default() += 1;
        }
    }
    let mut frequent: Vec<(&str, usize)> = counts
        .into_iter()
        .filter(|&(_, n)| n >= MIN_PATTERN_TEXTS)
        .collect();
    frequent.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    frequent.truncate(super::MAX_PATTERN_INPUTS);
    let mut kept: Vec<String> = frequent.into_iter().map(|(id, _)| id.to_string()).collect();
    kept.sort_unstable();
    kept
}

/// A text's own group key (FNV-1a, 64 bits): a stable fold for it, the same on every
/// machine and release.
pub fn fold_key(text: &str) -> u64 {
    warden_models::stats::stable_hash(text)
}
