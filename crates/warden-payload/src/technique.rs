//! A learned ATT&CK technique tagger: which parent technique (T1218, T1059 …) a command
//! that the model finds malicious most resembles, learned from labelled commands whose
//! source names their technique. It complements the signatures, which name a technique only
//! for behaviours someone wrote a pattern for.
//!
//! A softmax regression over the model's own features (its scaled TF-IDF values, the hashed buckets
//! folded into a smaller table), trained on the malicious records with a technique; only
//! techniques with enough examples are classes. Its answer is a pattern of weight 0 in the
//! verdict: it names a technique, it does not change the score.

use serde::{Deserialize, Serialize};

use crate::features::Features;
use crate::model::row_values;

/// Buckets of the folded table.
pub const BITS: u32 = 13;
/// Fewest examples a technique needs to be a class.
pub const MIN_EXAMPLES: usize = 8;
/// Lowest probability at which the tagger names a technique.
pub const MIN_PROBABILITY: f32 = 0.5;

/// The trained tagger.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TechniqueTagger {
    pub bits: u32,
    /// The parent technique of each class.
    pub classes: Vec<String>,
    /// Class-major: `classes.len() × 2^bits`.
    pub weights: Vec<f32>,
    pub biases: Vec<f32>,
    /// The same weights bucket-major (`2^bits × classes`), built at the first prediction:
    /// a feature then reads one contiguous row instead of one value in each class's table.
    #[serde(skip)]
    by_bucket: BucketMajor,
}

/// A derived copy of the weights; two taggers with the same weights are equal whether or
/// not either has built it yet.
#[derive(Debug, Clone, Default)]
struct BucketMajor(std::sync::OnceLock<Vec<f32>>);

impl PartialEq for BucketMajor {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// The parent of a technique id (`T1218.011` → `T1218`), upper case; `None` for what is
/// not an ATT&CK technique id.
pub fn parent(id: &str) -> Option<String> {
    let p = id.trim().split('.').next()?.to_ascii_uppercase();
    (p.len() == 5 && p.starts_with('T') && p[1..].bytes().all(|b| b.is_ascii_digit())).then_some(p)
}

impl TechniqueTagger {
    pub fn new(bits: u32, classes: Vec<String>, weights: Vec<f32>, biases: Vec<f32>) -> Self {
        TechniqueTagger {
            bits,
            classes,
            weights,
            biases,
            by_bucket: BucketMajor::default(),
        }
    }

    fn mask(&self) -> usize {
        (1usize << self.bits) - 1
    }

    /// The logits read from the class-major weights, as they are while training changes
    /// them.
    fn training_logits(&self, f: &Features, values: &[f32]) -> Vec<f32> {
        let size = 1usize << self.bits;
        let mask = self.mask();
        self.biases
            .iter()
            .enumerate()
            .map(|(c, b)| {
                let w = &self.weights[c * size..(c + 1) * size];
                b + f
                    .items
                    .iter()
                    .zip(values)
                    .map(|(it, x)| w[it.index as usize & mask] * x)
                    .sum::<f32>()
            })
            .collect()
    }

    /// The logits of a trained tagger, from its bucket-major copy.
    fn logits(&self, f: &Features, values: &[f32]) -> Vec<f32> {
        let classes = self.classes.len();
        let size = 1usize << self.bits;
        let mask = self.mask();
        let rows = self.by_bucket.0.get_or_init(|| {
            let mut t = vec![0.0; self.weights.len()];
            for c in 0..classes {
                for b in 0..size {
                    t[b * classes + c] = self.weights[c * size + b];
                }
            }
            t
        });
        let mut logits = self.biases.clone();
        for (it, x) in f.items.iter().zip(values) {
            let at = (it.index as usize & mask) * classes;
            let Some(row) = rows.get(at..at + classes) else {
                continue;
            };
            for (l, w) in logits.iter_mut().zip(row) {
                *l += w * x;
            }
        }
        logits
    }

    /// The most likely technique and its probability, when it reaches
    /// [`MIN_PROBABILITY`]; `values` are the row's TF-IDF values ([`row_values`]).
    pub fn predict(&self, f: &Features, values: &[f32]) -> Option<(&str, f32)> {
        if self.classes.is_empty() {
            return None;
        }
        let p = softmax(&self.logits(f, values));
        let (best, prob) = p.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))?;
        (*prob >= MIN_PROBABILITY).then(|| (self.classes[best].as_str(), *prob))
    }

    /// Whether the shape is sound (what loading checks).
    pub fn validate(&self) -> Result<(), String> {
        let size = 1usize
            .checked_shl(self.bits)
            .filter(|_| (4..=20).contains(&self.bits));
        match size {
            Some(s)
                if self.weights.len() == s * self.classes.len()
                    && self.biases.len() == self.classes.len()
                    && self
                        .weights
                        .iter()
                        .chain(&self.biases)
                        .all(|w| w.is_finite()) =>
            {
                Ok(())
            }
            _ => Err("the technique tagger's table does not match its classes".into()),
        }
    }
}

fn softmax(z: &[f32]) -> Vec<f32> {
    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = z.iter().map(|x| (x - max).exp()).collect();
    let s: f32 = e.iter().sum();
    e.iter().map(|x| x / s.max(f32::MIN_POSITIVE)).collect()
}

/// Trains on the malicious rows whose technique is known; `None` when fewer than two
/// techniques have [`MIN_EXAMPLES`] examples.
pub fn train(
    rows: &[(Features, bool)],
    techniques: &[Option<String>],
    idf: &[f32],
    epochs: usize,
    seed: u64,
) -> Option<TechniqueTagger> {
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    let labelled: Vec<(usize, String)> = rows
        .iter()
        .zip(techniques)
        .enumerate()
        .filter(|(_, ((_, y), _))| *y)
        .filter_map(|(i, (_, t))| Some((i, parent(t.as_deref()?)?)))
        .collect();
    for (_, t) in &labelled {
        *counts.entry(t.clone()).or_default() += 1;
    }
    let classes: Vec<String> = counts
        .into_iter()
        .filter(|(_, n)| *n >= MIN_EXAMPLES)
        .map(|(t, _)| t)
        .collect();
    if classes.len() < 2 {
        return None;
    }
    let examples: Vec<(usize, usize)> = labelled
        .iter()
        .filter_map(|(i, t)| Some((*i, classes.iter().position(|c| c == t)?)))
        .collect();
    let size = 1usize << BITS;
    let mut tagger = TechniqueTagger {
        bits: BITS,
        weights: vec![0.0; size * classes.len()],
        biases: vec![0.0; classes.len()],
        classes,
        ..Default::default()
    };
    let k = tagger.classes.len();
    let mask = tagger.mask();
    let mut g2 = vec![1.0f32; tagger.weights.len()];
    let mut gb2 = vec![1.0f32; k];
    let values: Vec<Vec<f32>> = examples
        .iter()
        .map(|(i, _)| row_values(idf, &rows[*i].0))
        .collect();
    let mut order: Vec<usize> = (0..examples.len()).collect();
    let mut state = seed | 1;
    const RATE: f32 = 0.5;
    for _ in 0..epochs {
        // Fisher–Yates with a xorshift: reproducible for a seed.
        for i in (1..order.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            order.swap(i, (state % (i as u64 + 1)) as usize);
        }
        for &e in &order {
            let (row, class) = examples[e];
            let f = &rows[row].0;
            let xs = &values[e];
            let p = softmax(&tagger.training_logits(f, xs));
            for (c, pc) in p.iter().enumerate() {
                let err = pc - if c == class { 1.0 } else { 0.0 };
                if err.abs() < 1e-4 {
                    continue;
                }
                for (it, &x) in f.items.iter().zip(xs) {
                    let at = c * size + (it.index as usize & mask);
                    let g = err * x;
                    g2[at] += g * g;
                    tagger.weights[at] -= RATE * g / g2[at].sqrt();
                }
                gb2[c] += err * err;
                tagger.biases[c] -= RATE * err / gb2[c].sqrt();
            }
        }
    }
    Some(tagger)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::{FeatureSet, extract};
    use crate::{Analyzer, Shell, VerdictConfig};

    #[test]
    fn parents_of_technique_ids() {
        assert_eq!(parent("T1218.011").as_deref(), Some("T1218"));
        assert_eq!(parent(" t1059 ").as_deref(), Some("T1059"));
        assert_eq!(parent("TA0002"), None);
        assert_eq!(parent("x"), None);
    }

    #[test]
    fn learns_the_technique_of_each_family() {
        let a = Analyzer::new(None, VerdictConfig::default());
        let set = FeatureSet {
            bits: 14,
            ..FeatureSet::default()
        };
        let mut texts = Vec::new();
        for i in 0..12 {
            texts.push((
                format!("rundll32.exe C:\\Users\\u{i}\\a.dll,EntryPoint"),
                "T1218.011",
            ));
            texts.push((
                format!("schtasks /create /tn job{i} /tr c:\\x{i}.exe /sc minute"),
                "T1053.005",
            ));
            texts.push((
                format!("vssadmin delete shadows /all /quiet & echo {i}"),
                "T1490",
            ));
        }
        let rows: Vec<(Features, bool)> = texts
            .iter()
            .map(|(t, _)| (extract(&a.examine(t, Some(Shell::Cmd)), &set), true))
            .collect();
        let techniques: Vec<Option<String>> =
            texts.iter().map(|(_, t)| Some(t.to_string())).collect();
        let idf = vec![1.0; 1 << set.bits];
        let tagger = train(&rows, &techniques, &idf, 8, 7).unwrap_or_else(|| panic!("no tagger"));
        assert_eq!(tagger.classes, ["T1053", "T1218", "T1490"]);
        assert!(tagger.validate().is_ok());
        let probe = extract(
            &a.examine("rundll32.exe D:\\other\\b.dll,Run", Some(Shell::Cmd)),
            &set,
        );
        // The bucket-major copy predictions read gives the training table's logits.
        let values = row_values(&idf, &probe);
        assert_eq!(tagger.predict(&probe, &values).map(|p| p.0), Some("T1218"));
        let (fast, slow) = (
            tagger.logits(&probe, &values),
            tagger.training_logits(&probe, &values),
        );
        assert_eq!(fast.len(), 3);
        for (a, b) in fast.iter().zip(&slow) {
            assert!((a - b).abs() < 1e-4, "{fast:?} vs {slow:?}");
        }
        // Too few examples of anything: no tagger.
        assert!(train(&rows[..4], &techniques[..4], &idf, 2, 7).is_none());
    }
}
