//! The combiner: inputs, attributions, validation of a loaded one, and that it learns what
//! the n-gram score alone cannot (a pattern common in benign text).

use super::*;
use crate::deobf::Layer;

fn found(id: &str, weight: f32) -> PatternFound {
    PatternFound {
        id: id.into(),
        name: id.into(),
        attack: Vec::new(),
        weight,
        evidence: String::new(),
        layer: 0,
        trained: None,
    }
}

fn evidence<'a>(
    shell: Shell,
    probability: f32,
    patterns: &'a [PatternFound],
    layers: &'a [Layer],
    tokens: &'a Tokens,
) -> Evidence<'a> {
    Evidence {
        shell,
        probability,
        signatures: 100.0 * patterns.iter().map(|p| p.weight).fold(0.0, f32::max),
        patterns,
        layers,
        tokens,
        launch: false,
        trees: None,
    }
}

fn layer(text: &str) -> Vec<Layer> {
    vec![Layer {
        decoder: "original",
        text: text.into(),
        shell: Shell::Cmd,
        bytes: None,
    }]
}

#[test]
fn inputs_hold_the_score_the_shell_and_each_known_pattern() {
    let ids = vec!["credential-dump".to_string(), "encoded-command".to_string()];
    let patterns = [
        found("encoded-command", 0.4),
        found("unknown-pattern", 0.9),
        found(LEARNED_TECHNIQUE, 0.0),
    ];
    let layers = layer("powershell -enc AAAA");
    let tokens = Tokens::default();
    let x = inputs(
        &ids,
        false,
        &evidence(Shell::Powershell, 0.5, &patterns, &layers, &tokens),
    );
    assert_eq!(x.len(), BASE_INPUTS.len() + 2);
    assert!(x[0].abs() < 1e-6, "logit of 0.5 is 0");
    assert_eq!(x[4], 2.0, "the tagger's technique is not a finding");
    assert_eq!(x[5], 0.9);
    assert_eq!(&x[12..15], &[0.0, 0.0, 1.0]);
    assert_eq!(x[15], 0.0, "credential-dump not found");
    assert_eq!(x[16], 0.4, "encoded-command at its weight");
    // sh and bash are one input.
    let sh = inputs(
        &ids,
        false,
        &evidence(Shell::Sh, 0.5, &patterns, &layers, &tokens),
    );
    let bash = inputs(
        &ids,
        false,
        &evidence(Shell::Bash, 0.5, &patterns, &layers, &tokens),
    );
    assert_eq!(sh, bash);
    // Certainties do not become infinities.
    let sure = inputs(
        &ids,
        false,
        &evidence(Shell::Sh, 1.0, &patterns, &layers, &tokens),
    );
    assert!(sure[0].is_finite() && sure[0] > 10.0);
}

/// Texts where the n-gram score is the same for both classes, and one pattern marks the
/// malicious ones while another fires as often in benign as in malicious text.
fn learnable() -> (Vec<String>, Vec<Vec<f32>>, Vec<bool>) {
    let ids = vec!["noisy".to_string(), "telling".to_string()];
    let layers = layer("x");
    let tokens = Tokens::default();
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for i in 0..400 {
        let malicious = i % 4 == 0;
        let mut patterns = Vec::new();
        if i % 2 == 0 {
            patterns.push(found("noisy", 0.6));
        }
        if malicious {
            patterns.push(found("telling", 0.3));
        }
        let p = 0.3 + (i % 7) as f32 / 20.0;
        x.push(inputs(
            &ids,
            false,
            &evidence(Shell::Cmd, p, &patterns, &layers, &tokens),
        ));
        y.push(malicious);
    }
    (ids, x, y)
}

#[test]
fn it_learns_which_pattern_tells_and_says_so() {
    let (ids, x, y) = learnable();
    let c = fit_trees(ids.clone(), false, &x, &y).unwrap();
    let layers = layer("x");
    let tokens = Tokens::default();
    let with = [found("noisy", 0.6), found("telling", 0.3)];
    let without = [found("noisy", 0.6)];
    let (p_with, why) = c.assess(&evidence(Shell::Cmd, 0.4, &with, &layers, &tokens), 3);
    let (p_without, _) = c.assess(&evidence(Shell::Cmd, 0.4, &without, &layers, &tokens), 3);
    assert!(p_with > 0.9 && p_without < 0.1, "{p_with} {p_without}");
    assert!(
        why.iter().any(|c| c.feature == "pattern telling"),
        "{why:?}"
    );
    // The walk's margin is the trees' own.
    let row = c.inputs(&evidence(Shell::Cmd, 0.4, &with, &layers, &tokens));
    let direct = 1.0 / (1.0 + (-c.trees.margin(&row)).exp());
    assert!((direct as f32 - p_with).abs() < 1e-4);
}

#[test]
fn a_loaded_combiner_is_checked() {
    let (ids, x, y) = learnable();
    let good = fit_trees(ids, false, &x, &y).unwrap();
    assert!(good.validate().is_ok());
    // A tree whose split points back at itself would never end.
    let mut cyclic = good.clone();
    let split = cyclic.trees.trees[0]
        .iter()
        .position(|n| !is_leaf(n))
        .unwrap();
    cyclic.trees.trees[0][split].left = split as u32;
    assert!(cyclic.validate().is_err());
    // A split on an input the combiner does not have.
    let mut wide = good.clone();
    wide.trees.trees[0][split].feature = 10_000;
    assert!(wide.validate().is_err());
    // Pattern inputs that do not match the trees' width.
    let mut short = good.clone();
    short.ids.pop();
    assert!(short.validate().is_err());
    // And one that survives a round trip predicts the same.
    let bytes = postcard::to_stdvec(&good).unwrap();
    let mut back: Combiner = postcard::from_bytes(&bytes).unwrap();
    back.prepare();
    let row = &x[0];
    assert_eq!(back.trees.margin(row), good.trees.margin(row));
}

#[test]
fn one_class_cannot_be_learned() {
    let x = vec![vec![0.0; BASE_INPUTS.len()]; 10];
    assert!(matches!(
        fit_trees(Vec::new(), false, &x, &[false; 10]),
        Err(crate::train::TrainError::OneClass { .. })
    ));
}

#[test]
fn fold_counts_are_bounded() {
    let params = crate::train::TrainParams::default();
    for folds in [0, 1, fit::MAX_FOLDS + 1, usize::MAX] {
        assert!(
            matches!(
                super::fit(&[], &[], &[], &[], &params, None, folds),
                Err(crate::train::TrainError::Params(_))
            ),
            "{folds} folds"
        );
    }
    // Groups, when given, are one per text.
    let texts = vec![("ls".to_string(), None)];
    let rows = vec![(crate::features::Features::default(), false)];
    let ids = vec![(Vec::new(), false)];
    assert!(matches!(
        super::fit(&texts, &[1, 2], &rows, &ids, &params, None, 5),
        Err(crate::train::TrainError::Params(m)) if m.contains("group")
    ));
}

#[test]
fn an_input_that_raised_a_verdict_by_its_absence_is_named_so() {
    // The malicious texts here are the ones *without* the telling pattern.
    let (ids, x, y) = learnable();
    let flipped: Vec<bool> = y.iter().map(|m| !m).collect();
    let c = fit_trees(ids, false, &x, &flipped).unwrap();
    let layers = layer("x");
    let tokens = Tokens::default();
    let without = [found("noisy", 0.6)];
    let (p, why) = c.assess(&evidence(Shell::Cmd, 0.4, &without, &layers, &tokens), 3);
    assert!(p > 0.9, "{p}");
    assert!(
        why.iter().any(|c| c.feature == "without pattern telling"),
        "{why:?}"
    );
    assert!(
        why.iter().all(|c| c.feature != "pattern telling"),
        "{why:?}"
    );
    // Shell families and counts read the same way.
    let powershell = BASE_INPUTS.iter().position(|n| *n == "PowerShell").unwrap();
    let urls = BASE_INPUTS.iter().position(|n| *n == "URLs").unwrap();
    assert_eq!(c.contribution_name(powershell, 0.0), "not PowerShell");
    assert_eq!(c.contribution_name(powershell, 1.0), "PowerShell");
    assert_eq!(c.contribution_name(urls, 0.0), "no URLs");
    assert_eq!(c.contribution_name(0, 0.0), TEXT_SCORE);
}

#[test]
fn a_combiner_deeper_than_its_parameters_is_refused() {
    let (ids, x, y) = learnable();
    let mut deep = fit_trees(ids, false, &x, &y).unwrap();
    // Its first tree splits at least once.
    assert!(!is_leaf(&deep.trees.trees[0][0]));
    deep.trees.params.max_depth = 0;
    assert!(
        deep.validate()
            .is_err_and(|e| e.contains("deeper than its parameters")),
        "{:?}",
        deep.validate()
    );
}

#[test]
fn a_combiner_can_weigh_the_trees_score_and_names_it() {
    // The label is the trees' verdict; every other input says nothing.
    let (patterns, layers, tokens) = (Vec::new(), layer("x"), Tokens::default());
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for i in 0..400 {
        let margin = (i % 20) as f32 - 9.5;
        let mut e = evidence(Shell::Sh, 0.5, &patterns, &layers, &tokens);
        e.trees = Some(margin);
        x.push(inputs(&[], true, &e));
        y.push(margin > 0.0);
    }
    let c = fit_trees(Vec::new(), true, &x, &y).unwrap();
    assert_eq!(c.width(), x[0].len());
    assert_eq!(c.input_name(c.width() - 1), TREES_SCORE);
    let mut e = evidence(Shell::Sh, 0.5, &patterns, &layers, &tokens);
    e.trees = Some(6.0);
    let (high, from) = c.assess(&e, 3);
    e.trees = Some(-6.0);
    let (low, _) = c.assess(&e, 3);
    assert!(high > 0.9 && low < 0.1, "{high} {low}");
    assert_eq!(from.first().map(|f| f.feature.as_str()), Some(TREES_SCORE));
}
