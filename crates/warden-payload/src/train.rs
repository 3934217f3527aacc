//! Training the payload model: logistic loss, AdaGrad over sparse L2-normalised rows of
//! features scaled by idf and by how unevenly the classes use them,
//! classes weighted to balance, L2 penalty on the weights a row touches, one-sided features
//! projected to ≥ 0 after each step. A stratified held-out share calibrates (Platt) and
//! validates; the shipped weights are then refit on every text.

use crate::features::Features;
use crate::model::{PayloadModel, TrainingSummary, one_sided_mask, row_values};

/// Training knobs.
#[derive(Debug, Clone)]
pub struct TrainParams {
    pub features: crate::features::FeatureSet,
    pub epochs: usize,
    pub learning_rate: f32,
    pub l2: f32,
    pub validation_share: f64,
    pub seed: u64,
    /// Each feature's idf is multiplied by `|class log-count ratio|` to this power
    /// ([`feature_scales`]); 0 is plain TF-IDF.
    pub class_ratio_exponent: f32,
    /// A class ratio read off `c` texts counts `c / (c + shrinkage)` of itself.
    pub class_ratio_shrinkage: f32,
}

impl Default for TrainParams {
    fn default() -> Self {
        TrainParams {
            features: crate::features::FeatureSet::default(),
            epochs: 12,
            learning_rate: 0.4,
            l2: 1e-6,
            validation_share: 0.15,
            seed: 42,
            class_ratio_exponent: 1.0,
            class_ratio_shrinkage: 10.0,
        }
    }
}

/// Why training could not run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(
        "training needs both malicious and benign texts (got {malicious} malicious, {benign} benign)"
    )]
    OneClass { malicious: usize, benign: usize },
    #[error("invalid training parameter: {0}")]
    Params(String),
}

/// A small deterministic generator (splitmix64) for shuffles and splits.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

/// The rows of each group, for a split that keeps groups whole.
struct Members {
    /// Per row, the rows of its group when it is the group's first row (empty otherwise).
    of_first: Vec<Vec<usize>>,
}

impl Members {
    /// Groups as `groups` gives them; every row its own when it gives none (or not one per
    /// row).
    fn of(groups: &[u64], rows: usize) -> Members {
        if groups.len() != rows {
            return Members {
                of_first: (0..rows).map(|i| vec![i]).collect(),
            };
        }
        let mut first: std::collections::HashMap<u64, usize> = Default::default();
        let mut of_first = vec![Vec::new(); rows];
        for (i, g) in groups.iter().enumerate() {
            let f = *first.entry(*g).or_insert(i);
            of_first[f].push(i);
        }
        Members { of_first }
    }

    fn firsts(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.of_first.len()).filter(|&i| !self.of_first[i].is_empty())
    }

    /// The rows of the groups whose first rows are `firsts`, in that order.
    fn expand<'a>(&self, firsts: impl Iterator<Item = &'a usize>) -> Vec<usize> {
        firsts
            .flat_map(|&f| self.of_first[f].iter().copied())
            .collect()
    }
}

/// Trains on `rows` (features, malicious?).
pub fn train(
    rows: &[(Features, bool)],
    params: &TrainParams,
    data_hash: &str,
) -> Result<PayloadModel, TrainError> {
    train_grouped(rows, &[], params, data_hash)
}

/// Trains on `rows`, where rows of one group (`groups[i]`: a text and its copies, see
/// [`crate::placeholders`]) are held out for calibration together or not at all, so that
/// a copy of a held-out text never teaches the model what calibrates it. Without groups
/// (`groups` empty) every row is its own.
pub fn train_grouped(
    rows: &[(Features, bool)],
    groups: &[u64],
    params: &TrainParams,
    data_hash: &str,
) -> Result<PayloadModel, TrainError> {
    let malicious = rows.iter().filter(|r| r.1).count();
    let benign = rows.len() - malicious;
    if malicious == 0 || benign == 0 {
        return Err(TrainError::OneClass { malicious, benign });
    }
    if params.features.validate().is_err()
        || params.epochs == 0
        || !(0.0..0.9).contains(&params.validation_share)
        || !(0.0..=4.0).contains(&params.class_ratio_exponent)
        || !(0.0..=1e6).contains(&params.class_ratio_shrinkage)
    {
        return Err(TrainError::Params(
            "bits 8–24, epochs ≥ 1, validation share in [0, 0.9), class ratio exponent in \
             [0, 4], shrinkage in [0, 10⁶]"
                .into(),
        ));
    }
    let features: Vec<Features> = rows.iter().map(|r| r.0.clone()).collect();
    let one_sided = one_sided_mask(&features, params.features.bits);
    let mut rng = Rng(params.seed);
    // Stratified split, of groups: each group's first row stands for it.
    let members = Members::of(groups, rows.len());
    let (mut pos, mut neg): (Vec<usize>, Vec<usize>) = members.firsts().partition(|&i| rows[i].1);
    rng.shuffle(&mut pos);
    rng.shuffle(&mut neg);
    let hold = |v: &Vec<usize>| ((v.len() as f64) * params.validation_share).round() as usize;
    let (hp, hn) = (hold(&pos), hold(&neg));
    let validation: Vec<usize> = members.expand(pos[..hp].iter().chain(&neg[..hn]));
    let fit_part: Vec<usize> = members.expand(pos[hp..].iter().chain(&neg[hn..]));

    let mut summary = TrainingSummary {
        samples: rows.len(),
        malicious,
        benign,
        epochs: params.epochs,
        seed: params.seed,
        validation_share: params.validation_share,
        validation_samples: validation.len(),
        data_hash: data_hash.to_string(),
        ..TrainingSummary::default()
    };
    let (mut platt_a, mut platt_b) = (1.0f32, 0.0f32);
    if !validation.is_empty() && hp > 0 && hn > 0 {
        let idf = feature_scales(rows, &fit_part, params.features.bits, params);
        let (w, b) = fit(rows, &fit_part, &idf, &one_sided, params, &mut rng);
        let probe = linear_model(params, w, idf, b, (1.0, 0.0), TrainingSummary::default());
        let scored: Vec<(f32, bool)> = validation
            .iter()
            .map(|&i| (probe.margin(&rows[i].0), rows[i].1))
            .collect();
        (platt_a, platt_b) = platt(&scored);
        let s: Vec<(f64, bool)> = scored.iter().map(|&(m, y)| (f64::from(m), y)).collect();
        summary.validation_auc = roc_auc(&s);
        summary.validation_tpr_at_1pct_fpr = tpr_at_fpr(&s, 0.01);
        summary.validation_tpr_at_01pct_fpr = tpr_at_fpr(&s, 0.001);
    }
    let all: Vec<usize> = (0..rows.len()).collect();
    let idf = feature_scales(rows, &all, params.features.bits, params);
    let (weights, bias) = fit(rows, &all, &idf, &one_sided, params, &mut rng);
    Ok(linear_model(
        params,
        weights,
        idf,
        bias,
        (platt_a, platt_b),
        summary,
    ))
}

/// The linear model alone (no tagger, pattern weights, combiner or presence trees), packed.
fn linear_model(
    params: &TrainParams,
    weights: Vec<f32>,
    idf: Vec<f32>,
    bias: f32,
    (platt_a, platt_b): (f32, f32),
    summary: TrainingSummary,
) -> PayloadModel {
    PayloadModel {
        features: params.features,
        weights,
        idf,
        bias,
        platt_a,
        platt_b,
        summary,
        pairs: Vec::new(),
        techniques: None,
        patterns: None,
        combiner: None,
        presence: None,
    }
    .packed()
}

/// Each bucket's scale in `subset`: its smoothed idf, `ln((1 + n) / (1 + df)) + 1`, times
/// `|r|^exponent`, where `r` is its class log-count ratio ([`class_log_count_ratio`]).
/// Buckets present in fewer than two texts get 0 (a one-sided feature — a signature —
/// needs only one).
///
/// Why the ratio: most of a command line's n-grams (`--`, ` -f `, `/usr/`) are as common in
/// administration as in attacks. With idf alone each counts as much in a short text's norm
/// as the one n-gram that tells the two apart, and the regression has to learn to ignore
/// them from its weights alone; scaled by how unevenly the classes use them (Wang and
/// Manning's NB weighting), the features that tell the classes apart take more of the
/// row's norm before training starts (how far shared ones shrink: [`class_log_count_ratio`]).
/// Exponent 0 is plain TF-IDF.
fn feature_scales(
    rows: &[(Features, bool)],
    subset: &[usize],
    bits: u32,
    p: &TrainParams,
) -> Vec<f32> {
    let mut df = vec![0u32; 1 << bits];
    let mut one_sided = vec![false; 1 << bits];
    for &i in subset {
        for f in &rows[i].0.items {
            df[f.index as usize] += 1;
            one_sided[f.index as usize] |= f.kind.one_sided();
        }
    }
    let n = subset.len() as f32;
    let ratio = if p.class_ratio_exponent == 0.0 {
        vec![1.0; 1 << bits]
    } else {
        class_log_count_ratio(rows, subset, bits, p.class_ratio_shrinkage)
    };
    df.iter()
        .zip(&one_sided)
        .zip(&ratio)
        .map(|((&d, &os), &r)| {
            if d >= 2 || (os && d >= 1) {
                (((1.0 + n) / (1.0 + d as f32)).ln() + 1.0) * r.abs().powf(p.class_ratio_exponent)
            } else {
                0.0
            }
        })
        .collect()
}

/// `ln(p_b / |p|₁) − ln(q_b / |q|₁)` for each bucket, where `p_b` and `q_b` are the number
/// of malicious and benign texts of `subset` that have it, plus one (so a bucket one class
/// never shows is finite), shrunk by `c / (c + shrinkage)` where `c` is the number of
/// texts that have it: a ratio read off two attack pages (an auto-elevating program's
/// name, which every Windows host also starts on its own) says less than one read off
/// fifty, and without the shrinkage it counted as much.
///
/// As Wang and Manning normalise it, `|p|₁` is the class's count of feature occurrences
/// (plus one per bucket), not its count of texts: a bucket as common in both classes' texts
/// reads `ln(Q/B) − ln(P/M)` rather than 0 (about −1.35 on the corpus, whose attack texts
/// hold about three times as many distinct n-grams as administration's), and one about four
/// times as common in attacks reads near 0. The ratio of shares of texts — 0 for a bucket
/// equally common in both — was measured against this form and ranked worse where it
/// matters most (docs/benchmarks.md: 0.1 % FPR 0.750 → 0.725 on the fresh splits' mean).
fn class_log_count_ratio(
    rows: &[(Features, bool)],
    subset: &[usize],
    bits: u32,
    shrinkage: f32,
) -> Vec<f32> {
    let mut p = vec![1.0f64; 1 << bits];
    let mut q = vec![1.0f64; 1 << bits];
    for &i in subset {
        let counts = if rows[i].1 { &mut p } else { &mut q };
        for f in &rows[i].0.items {
            counts[f.index as usize] += 1.0;
        }
    }
    let (p_sum, q_sum) = (p.iter().sum::<f64>(), q.iter().sum::<f64>());
    let k = f64::from(shrinkage);
    p.iter()
        .zip(&q)
        .map(|(a, b)| {
            let texts = a + b - 2.0;
            let r = (a / p_sum).ln() - (b / q_sum).ln();
            if texts + k > 0.0 {
                (r * texts / (texts + k)) as f32
            } else {
                0.0
            }
        })
        .collect()
}

fn fit(
    rows: &[(Features, bool)],
    subset: &[usize],
    idf: &[f32],
    one_sided: &[bool],
    p: &TrainParams,
    rng: &mut Rng,
) -> (Vec<f32>, f32) {
    let size = 1usize << p.features.bits;
    let mut w = vec![0.0f32; size];
    // Accumulators start at 1: a rare feature's first steps stay as small as a plain SGD
    // step instead of jumping by the whole learning rate.
    let mut g2 = vec![1.0f32; size];
    let (mut b, mut gb2) = (0.0f32, 1.0f32);
    let pos = subset.iter().filter(|&&i| rows[i].1).count().max(1) as f32;
    let neg = (subset.len() as f32 - pos).max(1.0);
    let n = subset.len() as f32;
    let (wpos, wneg) = (n / (2.0 * pos), n / (2.0 * neg));
    let values: Vec<Vec<f32>> = rows.iter().map(|r| row_values(idf, &r.0)).collect();
    let mut order = subset.to_vec();
    for _ in 0..p.epochs {
        rng.shuffle(&mut order);
        for &i in &order {
            let (f, y, xs) = (&rows[i].0, rows[i].1, &values[i]);
            let margin = b + f
                .items
                .iter()
                .zip(xs)
                .map(|(it, x)| w[it.index as usize] * x)
                .sum::<f32>();
            let prob = 1.0 / (1.0 + (-margin).exp());
            let cw = if y { wpos } else { wneg };
            let err = cw * (prob - if y { 1.0 } else { 0.0 });
            for (it, &x) in f.items.iter().zip(xs) {
                if x == 0.0 {
                    continue;
                }
                let k = it.index as usize;
                let g = err * x + p.l2 * w[k];
                g2[k] += g * g;
                w[k] -= p.learning_rate * g / g2[k].sqrt();
                if one_sided[k] && w[k] < 0.0 {
                    w[k] = 0.0;
                }
            }
            gb2 += err * err;
            b -= p.learning_rate * err / gb2.sqrt();
        }
    }
    (w, b)
}

/// Platt scaling: fits σ(a·m + b) to the labels by Newton's method (with Platt's target
/// smoothing, so separable validation sets do not drive a to infinity).
fn platt(scored: &[(f32, bool)]) -> (f32, f32) {
    let np = scored.iter().filter(|s| s.1).count() as f64;
    let nn = scored.len() as f64 - np;
    let (tp, tn) = ((np + 1.0) / (np + 2.0), 1.0 / (nn + 2.0));
    let (mut a, mut b) = (1.0f64, 0.0f64);
    for _ in 0..100 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 1e-9, 0.0, 1e-9);
        for &(m, y) in scored {
            let m = f64::from(m);
            let t = if y { tp } else { tn };
            let p = 1.0 / (1.0 + (-(a * m + b)).exp());
            let d = p - t;
            let h = p * (1.0 - p);
            ga += d * m;
            gb += d;
            haa += h * m * m;
            hab += h * m;
            hbb += h;
        }
        let det = haa * hbb - hab * hab;
        if det.abs() < 1e-12 {
            break;
        }
        let da = (hbb * ga - hab * gb) / det;
        let db = (haa * gb - hab * ga) / det;
        a -= da;
        b -= db;
        if da.abs() < 1e-7 && db.abs() < 1e-7 {
            break;
        }
    }
    if !(a.is_finite() && b.is_finite()) || a <= 0.0 {
        return (1.0, 0.0);
    }
    (a as f32, b as f32)
}

/// ROC AUC with ties counted half.
pub fn roc_auc(scored: &[(f64, bool)]) -> f64 {
    let mut v: Vec<(f64, bool)> = scored.to_vec();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut rank_sum, mut i) = (0.0f64, 0usize);
    while i < v.len() {
        let mut j = i;
        while j < v.len() && v[j].0 == v[i].0 {
            j += 1;
        }
        let avg = (i + j + 1) as f64 / 2.0;
        rank_sum += avg * v[i..j].iter().filter(|x| x.1).count() as f64;
        i = j;
    }
    let np = v.iter().filter(|x| x.1).count() as f64;
    let nn = v.len() as f64 - np;
    if np == 0.0 || nn == 0.0 {
        return f64::NAN;
    }
    (rank_sum - np * (np + 1.0) / 2.0) / (np * nn)
}

/// Share of positives at or above the lowest threshold whose false-positive rate is ≤ `fpr`.
pub fn tpr_at_fpr(scored: &[(f64, bool)], fpr: f64) -> f64 {
    let mut v: Vec<(f64, bool)> = scored.to_vec();
    v.sort_by(|a, b| b.0.total_cmp(&a.0));
    let np = v.iter().filter(|x| x.1).count() as f64;
    let nn = v.len() as f64 - np;
    let (mut tp, mut fp, mut best, mut i) = (0.0, 0.0, 0.0, 0usize);
    while i < v.len() {
        let mut j = i;
        while j < v.len() && v[j].0 == v[i].0 {
            if v[j].1 {
                tp += 1.0
            } else {
                fp += 1.0
            }
            j += 1;
        }
        if fp / nn.max(1.0) <= fpr {
            best = tp / np.max(1.0);
        } else {
            break;
        }
        i = j;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_and_tpr_handle_ties() {
        let s = [(0.9, true), (0.8, false), (0.8, true), (0.1, false)];
        assert!((roc_auc(&s) - 0.875).abs() < 1e-9);
        assert_eq!(tpr_at_fpr(&s, 0.0), 0.5);
        assert_eq!(tpr_at_fpr(&s, 0.5), 1.0);
    }

    #[test]
    fn a_group_is_held_out_whole_or_not_at_all() {
        // Rows 0–5; rows 1 and 4 share a group, as do 2, 3 and 5.
        let m = Members::of(&[10, 20, 30, 30, 20, 30], 6);
        assert_eq!(m.firsts().collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(m.expand([2, 0].iter()), [2, 3, 5, 0]);
        // Without groups (or not one per row) every row is its own.
        let alone = Members::of(&[], 3);
        assert_eq!(alone.firsts().collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(alone.expand([1].iter()), [1]);
        assert_eq!(Members::of(&[1, 1], 3).firsts().count(), 3);
    }

    fn row(buckets: &[u32], malicious: bool) -> (Features, bool) {
        let items = buckets
            .iter()
            .map(|&index| crate::features::Feature {
                index,
                kind: crate::features::Kind::Chars,
                label: crate::features::Label::Name(String::new()),
            })
            .collect();
        let features = Features {
            items,
            normalised: String::new(),
        };
        (features, malicious)
    }

    #[test]
    fn features_both_classes_share_are_scaled_down() {
        // Bucket 1 is in every text, bucket 2 only in malicious ones, bucket 3 only in
        // benign ones, bucket 4 in one text (no evidence).
        let rows = [
            row(&[1, 2], true),
            row(&[1, 2], true),
            row(&[1, 2, 4], true),
            row(&[1, 3], false),
            row(&[1, 3], false),
            row(&[1, 3], false),
        ];
        let all: Vec<usize> = (0..rows.len()).collect();
        let with = |class_ratio_exponent, class_ratio_shrinkage| TrainParams {
            class_ratio_exponent,
            class_ratio_shrinkage,
            ..TrainParams::default()
        };
        let idf = feature_scales(&rows, &all, 8, &with(0.0, 0.0));
        let nb = feature_scales(&rows, &all, 8, &with(1.0, 0.0));
        let shrunk = feature_scales(&rows, &all, 8, &with(1.0, 3.0));
        // Exponent 0 is plain smoothed idf.
        assert!((idf[1] - 1.0).abs() < 1e-6);
        assert!((idf[2] - ((7.0f32 / 4.0).ln() + 1.0)).abs() < 1e-6);
        assert_eq!((idf[4], nb[4]), (0.0, 0.0));
        // The shared bucket shrinks towards 0; the telling ones keep their weight, on
        // either side (the regression's weight gives the sign).
        assert!(nb[1] < 0.1 * idf[1], "{} {}", nb[1], idf[1]);
        assert!(nb[2] > idf[2] && nb[3] > idf[3]);
        assert!((nb[2] - nb[3]).abs() < 0.1 * nb[2]);
        // Read off three texts, a ratio counts half with a shrinkage of 3.
        assert!((shrunk[2] / nb[2] - 0.5).abs() < 1e-5);
    }

    #[test]
    fn an_exponent_outside_its_range_is_refused() {
        let rows = [row(&[1, 2], true), row(&[1, 3], false)];
        let params = TrainParams {
            features: crate::features::FeatureSet {
                bits: 8,
                ..Default::default()
            },
            class_ratio_exponent: -1.0,
            ..TrainParams::default()
        };
        assert!(matches!(
            train(&rows, &params, ""),
            Err(TrainError::Params(_))
        ));
    }

    #[test]
    fn platt_is_monotone_and_finite_on_separable_data() {
        let s: Vec<(f32, bool)> = (0..100).map(|i| (i as f32 / 10.0 - 5.0, i >= 50)).collect();
        let (a, b) = platt(&s);
        assert!(a > 0.0 && a.is_finite() && b.is_finite());
    }
}
