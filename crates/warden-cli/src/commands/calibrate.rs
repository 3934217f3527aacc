//! `warden train calibrate`: the activity models' scores put on one scale, and their
//! weights chosen, on users held out from their training (`--users validation`).
//!
//! The behavioural engine runs over the input as it does to build training rows; each
//! model scores the validation users' events. Each model's calibration is the upper tail of
//! its scores on their normal events (hard negatives included: they are normal), so a score
//! becomes a p-value — how rare it is among normal events of users it never saw. The weights
//! are searched on a grid (multiples of `--weight-step` summing to 1, each at least
//! `--min-weight`): the combination (the weighted mean of the models' decades of rarity, as
//! the engine combines them) that finds the most attack events at 0.1 % and 1 % of normal
//! events, then the best ROC AUC.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use warden_engine::ueba::UebaEngine;
use warden_models::ml::artifact::ModelFile;
use warden_models::ml::calibration::{ScoreCalibration, decades};
use warden_models::ml::flows::FlowFormat;
use warden_models::ml::metrics::roc_auc;

use super::activity_data::{check_split, is_attack_label, keep};
use crate::cli::{CalibrateArgs, InputArgs, UserSplit};
use crate::config_file::WardenConfig;
use crate::{labels, pipeline};

/// The validation users' events, each model's raw score of each.
struct Scored {
    /// Per model, per event.
    scores: Vec<Vec<f64>>,
    attack: Vec<bool>,
    users: usize,
}

pub fn run(a: &CalibrateArgs) -> Result<()> {
    let mut opts = a.activity.clone();
    opts.users = UserSplit::Validation;
    check_split(&opts)?;
    if !(a.weight_step > 0.0 && a.weight_step <= 1.0) {
        bail!("--weight-step must be in (0, 1]");
    }
    if !(0.0..=1.0).contains(&a.min_weight) || a.min_weight * a.models.len() as f64 > 1.0 {
        bail!("--min-weight must be in [0, 1] and leave the models' weights summing to 1");
    }
    let Some(labels_path) = opts.labels.clone() else {
        bail!("calibration needs --labels: normal events to calibrate on, attacks to weigh by");
    };
    let models = read_models(&a.models)?;
    let labels = labels::load(&labels_path)?;
    let scored = score_validation(a, &opts, &models, &labels)?;
    let n_normal = scored.attack.iter().filter(|x| !**x).count();
    let n_attack = scored.attack.len() - n_normal;
    eprintln!(
        "validation users: {}; events {} ({} attack, {} normal)",
        scored.users,
        scored.attack.len(),
        n_attack,
        n_normal
    );
    let calibrations = fit_calibrations(&models, &scored)?;
    let z: Vec<Vec<f64>> = scored
        .scores
        .iter()
        .zip(&calibrations)
        .map(|(s, c)| s.iter().map(|v| decades(c.p_value(*v))).collect())
        .collect();
    let equal = vec![1.0 / models.len() as f64; models.len()];
    let (weights, best) = search_weights(&z, &scored.attack, a.weight_step, a.min_weight);
    let baseline = objective(&z, &scored.attack, &equal);
    eprintln!(
        "equal weights: TPR {:.3} at 0.1 % FPR, {:.3} at 1 %, ROC AUC {:.4}",
        baseline.0, baseline.1, baseline.2
    );
    eprintln!(
        "chosen weights: TPR {:.3} at 0.1 % FPR, {:.3} at 1 %, ROC AUC {:.4}",
        best.0, best.1, best.2
    );
    write_calibrated(&a.out_dir, models, calibrations, weights)
}

/// Each model file with its calibration and weight, under `out_dir` by its own name.
fn write_calibrated(
    out_dir: &Path,
    models: Vec<(PathBuf, ModelFile)>,
    calibrations: Vec<ScoreCalibration>,
    weights: Vec<f64>,
) -> Result<()> {
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    for (((path, mut file), mut cal), w) in models.into_iter().zip(calibrations).zip(weights) {
        cal.weight = w;
        let name = path
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_else(|| "model.wmdl".into());
        let out = out_dir.join(name);
        eprintln!(
            "{}: weight {:.2}; p-value 0.01 at score {:.3}; {} normal events of {} users → {}",
            file.model.kind(),
            w,
            score_at(&cal, 0.01),
            cal.events,
            cal.users,
            out.display()
        );
        file.calibration = Some(cal);
        let bytes = file.to_bytes().map_err(|e| anyhow::anyhow!("{e}"))?;
        std::fs::write(&out, bytes).with_context(|| format!("cannot write {}", out.display()))?;
    }
    Ok(())
}

/// The activity models to calibrate, one of each kind.
fn read_models(paths: &[PathBuf]) -> Result<Vec<(PathBuf, ModelFile)>> {
    let mut models: Vec<(PathBuf, ModelFile)> = Vec::new();
    for path in paths {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let file = ModelFile::from_bytes(&bytes)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        if !matches!(
            file.schema.format,
            FlowFormat::Activity | FlowFormat::ActivitySequence
        ) {
            bail!("{}: not a user-activity model", path.display());
        }
        if models
            .iter()
            .any(|(_, m)| m.model.kind() == file.model.kind())
        {
            bail!("{}: a second {} model", path.display(), file.model.kind());
        }
        models.push((path.clone(), file));
    }
    Ok(models)
}

/// Each model's calibration, fitted on its scores of the validation users' normal events.
fn fit_calibrations(
    models: &[(PathBuf, ModelFile)],
    scored: &Scored,
) -> Result<Vec<ScoreCalibration>> {
    let mut calibrations = Vec::new();
    for ((path, _), s) in models.iter().zip(&scored.scores) {
        let normal: Vec<f64> = s
            .iter()
            .zip(&scored.attack)
            .filter(|(_, at)| !**at)
            .map(|(v, _)| *v)
            .collect();
        let Some(cal) = ScoreCalibration::fit(&normal, scored.users) else {
            bail!(
                "{}: {} normal validation events, fewer than the {} needed; raise --validation-share",
                path.display(),
                normal.len(),
                warden_models::ml::calibration::MIN_EVENTS
            );
        };
        calibrations.push(cal);
    }
    Ok(calibrations)
}

/// The smallest tail point's score at or below p (for the summary).
fn score_at(cal: &ScoreCalibration, p: f64) -> f64 {
    cal.tail
        .iter()
        .find(|(q, _)| *q <= p)
        .or(cal.tail.last())
        .map_or(f64::NAN, |t| t.1)
}

/// Runs the engine over the input and scores every validation user's labelled event with
/// every model (events without a label are left out: they may be anything).
fn score_validation(
    a: &CalibrateArgs,
    opts: &crate::cli::ActivityOpts,
    models: &[(PathBuf, ModelFile)],
    labels: &HashMap<String, String>,
) -> Result<Scored> {
    let cfg = WardenConfig::load(opts.config.as_deref())?;
    let mut engine = UebaEngine::new(cfg.ueba.clone())?;
    let sequences = models
        .iter()
        .any(|(_, m)| m.schema.format == FlowFormat::ActivitySequence);
    if sequences {
        engine.enable_sequences();
    }
    let input = InputArgs {
        inputs: vec![a.input.display().to_string()],
        config: opts.config.clone(),
        format: None,
        strict: false,
        follow: false,
    };
    let mut out = Scored {
        scores: vec![Vec::new(); models.len()],
        attack: Vec::new(),
        users: 0,
    };
    let mut users: HashSet<String> = HashSet::new();
    pipeline::read_all(&input, &cfg, |ev| {
        let s = engine.score(&ev, true);
        if !keep(opts, &ev.user_id) {
            return Ok(());
        }
        let Some(label) = ev.event_id.as_ref().and_then(|id| labels.get(id)) else {
            return Ok(());
        };
        let features: Vec<f32> = s.features.unwrap_or_default().to_vec();
        let window = engine.last_window().unwrap_or(&[]);
        for ((_, m), scores) in models.iter().zip(out.scores.iter_mut()) {
            let row = match m.schema.format {
                FlowFormat::ActivitySequence => window,
                _ => features.as_slice(),
            };
            scores.push(m.model.score_one(row));
        }
        out.attack.push(is_attack_label(label));
        users.insert(ev.user_id.clone());
        Ok(())
    })?;
    out.users = users.len();
    if out.attack.is_empty() {
        bail!(
            "{}: no labelled events of validation users (--validation-share {})",
            a.input.display(),
            opts.validation_share
        );
    }
    if !out.attack.iter().any(|x| *x) {
        bail!("no attack among the validation users' events: nothing to weigh the models by");
    }
    Ok(out)
}

/// The weights (multiples of `step`, summing to 1, each at least `min_weight`) whose
/// combination scores best, and its figures (TPR at 0.1 % and 1 % FPR, ROC AUC).
fn search_weights(
    z: &[Vec<f64>],
    attack: &[bool],
    step: f64,
    min_weight: f64,
) -> (Vec<f64>, (f64, f64, f64)) {
    let parts = (1.0 / step).round().max(1.0) as usize;
    let mut best: Option<(Vec<f64>, (f64, f64, f64))> = None;
    for units in compositions(parts, z.len()) {
        let w: Vec<f64> = units.iter().map(|u| *u as f64 / parts as f64).collect();
        if w.iter().any(|x| *x + 1e-9 < min_weight) {
            continue;
        }
        let figures = objective(z, attack, &w);
        // Ties (validation users hold few attacks) go to the weights nearest equal ones.
        let key = |w: &[f64], f: &(f64, f64, f64)| (f.0 + f.1, f.2, -spread(w));
        let better = best.as_ref().is_none_or(|(bw, bf)| {
            key(&w, &figures).partial_cmp(&key(bw, bf)) == Some(std::cmp::Ordering::Greater)
        });
        if better {
            best = Some((w, figures));
        }
    }
    best.unwrap_or((vec![1.0; z.len()], (0.0, 0.0, 0.0)))
}

/// How far weights are from equal ones (sum of squared differences).
fn spread(w: &[f64]) -> f64 {
    let mean = 1.0 / w.len().max(1) as f64;
    w.iter().map(|x| (x - mean).powi(2)).sum()
}

/// Every way to split `total` units among `n` parts, at least one part non-zero.
fn compositions(total: usize, n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return Vec::new();
    }
    if n == 1 {
        return vec![vec![total]];
    }
    let mut out = Vec::new();
    for first in 0..=total {
        for mut rest in compositions(total - first, n - 1) {
            rest.insert(0, first);
            out.push(rest);
        }
    }
    out
}

/// TPR at 0.1 % and 1 % FPR and ROC AUC of the combination the engine makes: the weighted
/// mean of the models' decades of rarity.
fn objective(z: &[Vec<f64>], attack: &[bool], w: &[f64]) -> (f64, f64, f64) {
    let norm = w.iter().sum::<f64>().max(1e-12);
    let combined: Vec<f64> = (0..attack.len())
        .map(|i| z.iter().zip(w).map(|(zi, wi)| wi * zi[i]).sum::<f64>() / norm)
        .collect();
    (
        tpr_at(&combined, attack, 0.001),
        tpr_at(&combined, attack, 0.01),
        roc_auc(&combined, attack).unwrap_or(0.0),
    )
}

/// Share of attacks scored above the level that at most `fpr` of normal events exceed.
fn tpr_at(scores: &[f64], attack: &[bool], fpr: f64) -> f64 {
    let mut normal: Vec<f64> = scores
        .iter()
        .zip(attack)
        .filter(|(_, a)| !**a)
        .map(|(s, _)| *s)
        .collect();
    normal.sort_by(|a, b| b.total_cmp(a));
    let k = ((fpr * normal.len() as f64).floor() as usize).min(normal.len().saturating_sub(1));
    let Some(&level) = normal.get(k) else {
        return 0.0;
    };
    let attacks: Vec<f64> = scores
        .iter()
        .zip(attack)
        .filter(|(_, a)| **a)
        .map(|(s, _)| *s)
        .collect();
    attacks.iter().filter(|s| **s > level).count() as f64 / attacks.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compositions_cover_the_simplex() {
        let c = compositions(10, 3);
        assert_eq!(c.len(), 66);
        assert!(c.iter().all(|w| w.iter().sum::<usize>() == 10));
        assert_eq!(compositions(4, 1), vec![vec![4]]);
    }

    #[test]
    fn the_informative_model_gets_the_weight() {
        // Model 0 separates attacks from normal events, model 1 is noise.
        let attack: Vec<bool> = (0..2000).map(|i| i % 20 == 0).collect();
        let informative: Vec<f64> = attack
            .iter()
            .enumerate()
            .map(|(i, a)| {
                if *a {
                    3.0 + (i % 7) as f64 * 0.1
                } else {
                    (i % 13) as f64 * 0.2 - 1.2
                }
            })
            .collect();
        let noise: Vec<f64> = (0..2000)
            .map(|i| ((i * 7919) % 97) as f64 / 30.0 - 1.6)
            .collect();
        let (w, figures) = search_weights(&[informative.clone(), noise.clone()], &attack, 0.1, 0.0);
        assert!(w[0] > w[1], "{w:?}");
        assert!(figures.0 > 0.99 && figures.1 > 0.99, "{figures:?}");
        let (floored, _) = search_weights(&[informative, noise], &attack, 0.1, 0.3);
        assert!(floored[1] >= 0.3 - 1e-9, "the floor holds: {floored:?}");
        assert!(
            (tpr_at(&[3.0, 1.0, 0.5, 0.2], &[true, false, false, false], 0.01) - 1.0).abs() < 1e-12
        );
    }
}
