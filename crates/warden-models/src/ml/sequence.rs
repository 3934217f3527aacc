//! The sequence autoencoder over a user's recent activity: its input (a window of the last
//! [`STEPS`] events, [`STEP_FEATURES`] features each, every one in `[0, 1]`), a per-user ring
//! that keeps that window in 200 bytes, and the trained network's forward pass.
//!
//! The network: a GRU encoder (8 → `hidden`) over the window, a `tanh` latent layer
//! (`hidden` → `latent`), a dense decoder (`latent` → `dense`, tanh → 192, linear) that
//! reconstructs the whole window. It is trained elsewhere (`warden-nn`, with candle); this
//! module owns inference, written out by hand so that scoring needs no tensor library and
//! costs a few microseconds.
//!
//! The score is about the *newest* event: the reconstruction error of the last step, in the
//! context of the 23 before it. Scoring the whole window would keep flagging a user for the
//! 23 events after one odd event.

use serde::{Deserialize, Serialize};

use super::Matrix;
use super::rng::SplitMix64;

/// Events in a window.
pub const STEPS: usize = 24;
/// Features per event.
pub const STEP_FEATURES: usize = 8;
/// Width of a flattened window (oldest step first).
pub const WINDOW: usize = STEPS * STEP_FEATURES;

/// Names of the per-event features, in order. All lie in `[0, 1]`; 0 is "as usual".
pub const STEP_FEATURE_NAMES: [&str; STEP_FEATURES] = [
    "hour_deviation",
    "location_novelty",
    "travel_speed",
    "volume_zscore",
    "device_novelty",
    "resource_novelty",
    "failed",
    "burst",
];

/// Names of the flattened window's columns: `t-23.hour_deviation` … `t0.burst`.
pub fn window_feature_names() -> Vec<String> {
    (0..STEPS)
        .flat_map(|s| {
            let back = STEPS - 1 - s;
            STEP_FEATURE_NAMES
                .iter()
                .map(move |n| format!("t-{back}.{n}"))
        })
        .map(|n| n.replacen("t-0.", "t0.", 1))
        .collect()
}

/// The last [`STEPS`] events of one user, quantised to a byte per feature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequenceRing {
    steps: [[u8; STEP_FEATURES]; STEPS],
    head: u8,
    len: u8,
}

impl Default for SequenceRing {
    fn default() -> Self {
        Self {
            steps: [[0; STEP_FEATURES]; STEPS],
            head: 0,
            len: 0,
        }
    }
}

fn quantise(x: f32) -> u8 {
    if x.is_nan() {
        0
    } else {
        (x.clamp(0.0, 1.0) * 255.0).round() as u8
    }
}

impl SequenceRing {
    /// Appends an event's features (values outside `[0, 1]` are clamped).
    pub fn push(&mut self, step: &[f32; STEP_FEATURES]) {
        let head = usize::from(self.head) % STEPS;
        self.steps[head] = step.map(quantise);
        self.head = ((head + 1) % STEPS) as u8;
        self.len = (usize::from(self.len) + 1).min(STEPS) as u8;
    }

    /// Events held (at most [`STEPS`]).
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The window, oldest first, into `out` (`WINDOW` values). A user with fewer than
    /// [`STEPS`] events has the missing older steps as zeros ("nothing unusual"), as in
    /// training.
    pub fn window_into(&self, out: &mut Vec<f32>) {
        out.clear();
        out.resize(WINDOW, 0.0);
        let len = self.len();
        let head = usize::from(self.head) % STEPS;
        for k in 0..len {
            // k = 0 is the oldest held event.
            let slot = (head + STEPS - len + k) % STEPS;
            let at = (STEPS - len + k) * STEP_FEATURES;
            for (f, v) in self.steps[slot].iter().enumerate() {
                out[at + f] = f32::from(*v) / 255.0;
            }
        }
    }
}

/// The trained network and its calibration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeqAutoencoder {
    pub hidden: usize,
    pub latent: usize,
    pub dense: usize,
    /// GRU input weights, `3·hidden × STEP_FEATURES`, gates in the order reset, update, new.
    pub w_ih: Vec<f32>,
    /// GRU recurrent weights, `3·hidden × hidden`.
    pub w_hh: Vec<f32>,
    pub b_ih: Vec<f32>,
    pub b_hh: Vec<f32>,
    /// Latent layer, `latent × hidden`.
    pub enc_w: Vec<f32>,
    pub enc_b: Vec<f32>,
    /// Decoder layers, `dense × latent` and `WINDOW × dense`.
    pub dec1_w: Vec<f32>,
    pub dec1_b: Vec<f32>,
    pub dec2_w: Vec<f32>,
    pub dec2_b: Vec<f32>,
    /// Last-step reconstruction error at the training quantile `1 − contamination`: the
    /// error that scores 0.5.
    pub threshold_error: f64,
    pub contamination: f64,
    /// Mean squared reconstruction error of the training windows at the end of training.
    pub train_loss: f64,
    pub epochs: usize,
    pub seed: u64,
}

/// `y = W·x + b` for a row-major `W` of `b.len()` rows.
pub(crate) fn affine(w: &[f32], b: &[f32], x: &[f32], y: &mut [f32]) {
    let n = x.len();
    for (r, (out, bias)) in y.iter_mut().zip(b).enumerate() {
        *out = bias + dot(&w[r * n..(r + 1) * n], x);
    }
}

/// A dot product in eight independent lanes: a plain `sum()` of `f32` is one serial chain
/// the compiler may not reorder, this vectorises.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ac
        .remainder()
        .iter()
        .zip(bc.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ac.zip(bc) {
        for k in 0..8 {
            lanes[k] += x[k] * y[k];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

impl SeqAutoencoder {
    /// An untrained network of the given sizes: weights and biases uniform in ±1/√fan-in
    /// (the usual initialisation of recurrent and linear layers) from the seed. Training
    /// starts from it.
    pub fn untrained(hidden: usize, latent: usize, dense: usize, seed: u64) -> SeqAutoencoder {
        let mut init = initialiser(seed);
        let (h, l, d) = (hidden, latent, dense);
        SeqAutoencoder {
            hidden: h,
            latent: l,
            dense: d,
            w_ih: init(3 * h * STEP_FEATURES, h),
            w_hh: init(3 * h * h, h),
            b_ih: init(3 * h, h),
            b_hh: init(3 * h, h),
            enc_w: init(l * h, h),
            enc_b: init(l, h),
            dec1_w: init(d * l, l),
            dec1_b: init(d, l),
            dec2_w: init(WINDOW * d, d),
            dec2_b: init(WINDOW, d),
            threshold_error: 1.0,
            contamination: 0.01,
            train_loss: 0.0,
            epochs: 0,
            seed,
        }
    }

    /// Checks that every weight has the shape its sizes say (a file could claim anything).
    pub fn validate(&self) -> Result<(), String> {
        let (h, l, d) = (self.hidden, self.latent, self.dense);
        check_network(
            [h, l, d],
            &[
                ("w_ih", self.w_ih.len(), 3 * h * STEP_FEATURES),
                ("w_hh", self.w_hh.len(), 3 * h * h),
                ("b_ih", self.b_ih.len(), 3 * h),
                ("b_hh", self.b_hh.len(), 3 * h),
                ("enc_w", self.enc_w.len(), l * h),
                ("enc_b", self.enc_b.len(), l),
                ("dec1_w", self.dec1_w.len(), d * l),
                ("dec1_b", self.dec1_b.len(), d),
                ("dec2_w", self.dec2_w.len(), WINDOW * d),
                ("dec2_b", self.dec2_b.len(), WINDOW),
            ],
            self.threshold_error,
        )
    }

    /// The latent vector of a window: the GRU over its steps from a zero state, then the
    /// `tanh` latent layer.
    fn encode(&self, window: &[f32]) -> Vec<f32> {
        let h = self.hidden;
        let mut state = vec![0.0f32; h];
        let mut gi = vec![0.0f32; 3 * h];
        let mut gh = vec![0.0f32; 3 * h];
        for step in window.chunks_exact(STEP_FEATURES).take(STEPS) {
            affine(&self.w_ih, &self.b_ih, step, &mut gi);
            affine(&self.w_hh, &self.b_hh, &state, &mut gh);
            for j in 0..h {
                let r = sigmoid(gi[j] + gh[j]);
                let z = sigmoid(gi[h + j] + gh[h + j]);
                let n = (gi[2 * h + j] + r * gh[2 * h + j]).tanh();
                state[j] = z * state[j] + (1.0 - z) * n;
            }
        }
        let mut latent = vec![0.0f32; self.latent];
        affine(&self.enc_w, &self.enc_b, &state, &mut latent);
        latent.iter_mut().for_each(|v| *v = v.tanh());
        latent
    }

    /// Reconstructs a window (`WINDOW` values, oldest step first).
    pub fn reconstruct(&self, window: &[f32]) -> Vec<f32> {
        decode(
            &self.encode(window),
            [&self.dec1_w, &self.dec1_b, &self.dec2_w, &self.dec2_b],
            self.dense,
        )
    }

    /// The newest step's reconstruction: the last [`STEP_FEATURES`] outputs of
    /// [`SeqAutoencoder::reconstruct`], without computing the rest of the window.
    pub fn reconstruct_last(&self, window: &[f32]) -> [f32; STEP_FEATURES] {
        decode_last(
            &self.encode(window),
            [&self.dec1_w, &self.dec1_b, &self.dec2_w, &self.dec2_b],
            self.dense,
        )
    }
}

/// Initial weights for a network: each call gives `n` values uniform in ±1/√`fan_in` (the
/// usual initialisation of recurrent and linear layers), drawn in call order from `seed`.
pub(crate) fn initialiser(seed: u64) -> impl FnMut(usize, usize) -> Vec<f32> {
    let mut rng = SplitMix64::new(seed);
    move |n: usize, fan_in: usize| {
        let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
        (0..n)
            .map(|_| ((rng.next_f64() * 2.0 - 1.0) * bound) as f32)
            .collect()
    }
}

/// Checks a loaded network: layer sizes in range, every weight array (name, length, the
/// length its sizes give) of its shape, a positive threshold (a file could claim anything).
pub(crate) fn check_network(
    sizes: [usize; 3],
    shapes: &[(&str, usize, usize)],
    threshold_error: f64,
) -> Result<(), String> {
    if sizes.iter().any(|s| *s == 0 || *s > 4096) {
        let [h, l, d] = sizes;
        return Err(format!("layer sizes out of range: {h}/{l}/{d}"));
    }
    for (name, got, want) in shapes {
        if got != want {
            return Err(format!("{name} has {got} weights, expected {want}"));
        }
    }
    if !(threshold_error.is_finite() && threshold_error > 0.0) {
        return Err("threshold error must be a positive number".into());
    }
    Ok(())
}

/// The dense decoder: `tanh(W1·l + b1)`, then the linear `WINDOW × dense` output layer.
pub(crate) fn decode(latent: &[f32], [w1, b1, w2, b2]: [&[f32]; 4], dense: usize) -> Vec<f32> {
    let mut hidden = vec![0.0f32; dense];
    affine(w1, b1, latent, &mut hidden);
    hidden.iter_mut().for_each(|v| *v = v.tanh());
    let mut out = vec![0.0f32; WINDOW];
    affine(w2, b2, &hidden, &mut out);
    out
}

/// The dense decoder's newest-step outputs from a latent vector: `tanh(W1·l + b1)`, then
/// only the last [`STEP_FEATURES`] rows of the `WINDOW × dense` output layer.
pub(crate) fn decode_last(
    latent: &[f32],
    [w1, b1, w2, b2]: [&[f32]; 4],
    dense: usize,
) -> [f32; STEP_FEATURES] {
    let mut hidden = vec![0.0f32; dense];
    affine(w1, b1, latent, &mut hidden);
    hidden.iter_mut().for_each(|v| *v = v.tanh());
    let last = (STEPS - 1) * STEP_FEATURES;
    let mut out = [0.0f32; STEP_FEATURES];
    affine(
        &w2[last * dense..WINDOW * dense],
        &b2[last..WINDOW],
        &hidden,
        &mut out,
    );
    out
}

/// A model that scores the newest step of a window by how badly it reconstructs it (the
/// sequence models: [`SeqAutoencoder`], [`super::window_ae::WindowAutoencoder`]). The score,
/// its calibration and its attributions are the same for every such model.
pub trait NewestStep {
    /// The newest step's reconstruction from a full window.
    fn newest_step(&self, window: &[f32]) -> [f32; STEP_FEATURES];
    /// The newest-step error that scores 0.5.
    fn threshold_error(&self) -> f64;

    /// Squared reconstruction error of each feature of the newest step.
    fn last_step_errors(&self, window: &[f32]) -> [f64; STEP_FEATURES] {
        let mut errs = [0.0f64; STEP_FEATURES];
        if window.len() < WINDOW {
            return errs;
        }
        let rec = self.newest_step(window);
        let last = (STEPS - 1) * STEP_FEATURES;
        for (f, e) in errs.iter_mut().enumerate() {
            let d = f64::from(window[last + f]) - f64::from(rec[f]);
            *e = d * d;
        }
        errs
    }

    /// Mean squared error of the newest step.
    fn error(&self, window: &[f32]) -> f64 {
        self.last_step_errors(window).iter().sum::<f64>() / STEP_FEATURES as f64
    }

    /// Maps an error to `[0, 1)`: 0.5 at the calibrated threshold, rising with the error.
    fn score_of_error(&self, error: f64) -> f64 {
        if error.is_nan() {
            // A broken network must look broken to the caller, not normal.
            return f64::NAN;
        }
        let e = error.max(0.0);
        e / (e + self.threshold_error())
    }

    fn score_one(&self, window: &[f32]) -> f64 {
        self.score_of_error(self.error(window))
    }

    fn score(&self, x: &Matrix) -> Vec<f64>
    where
        Self: Sync,
    {
        use rayon::prelude::*;
        (0..x.rows())
            .into_par_iter()
            .map(|i| self.score_one(x.row(i)))
            .collect()
    }

    /// Per-column attributions for a window: each newest-step feature's share of the error
    /// (older steps get 0), so they add up to 1 when there is any error.
    fn attributions(&self, window: &[f32]) -> Vec<f64> {
        let errs = self.last_step_errors(window);
        let total: f64 = errs.iter().sum();
        let mut out = vec![0.0; WINDOW];
        if total > 0.0 {
            let last = (STEPS - 1) * STEP_FEATURES;
            for (f, e) in errs.iter().enumerate() {
                out[last + f] = e / total;
            }
        }
        out
    }

    /// Global importance: the mean share of each newest-step feature in the error over
    /// `x`'s windows, per [`STEP_FEATURE_NAMES`].
    fn importance(&self, x: &Matrix) -> [f64; STEP_FEATURES] {
        let mut sum = [0.0f64; STEP_FEATURES];
        for row in x.iter_rows() {
            let errs = self.last_step_errors(row);
            for (s, e) in sum.iter_mut().zip(errs) {
                *s += e;
            }
        }
        let total: f64 = sum.iter().sum();
        if total > 0.0 {
            sum.iter_mut().for_each(|s| *s /= total);
        }
        sum
    }
}

impl NewestStep for SeqAutoencoder {
    fn newest_step(&self, window: &[f32]) -> [f32; STEP_FEATURES] {
        self.reconstruct_last(window)
    }

    fn threshold_error(&self) -> f64 {
        self.threshold_error
    }
}

/// The error at quantile `q` of `errors` (sorted copy; 0 for none).
pub fn quantile(errors: &[f64], q: f64) -> f64 {
    if errors.is_empty() {
        return 0.0;
    }
    let mut v: Vec<f64> = errors.iter().copied().filter(|e| e.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let idx = ((v.len() as f64 - 1.0) * q.clamp(0.0, 1.0)).round() as usize;
    v.get(idx).copied().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn random_model(seed: u64) -> SeqAutoencoder {
        SeqAutoencoder {
            threshold_error: 0.01,
            ..SeqAutoencoder::untrained(6, 3, 5, seed)
        }
    }

    #[test]
    fn ring_keeps_the_newest_steps_oldest_first_and_pads_with_zeros() {
        let mut ring = SequenceRing::default();
        let mut w = Vec::new();
        ring.window_into(&mut w);
        assert_eq!(w, vec![0.0; WINDOW]);
        for i in 0..30u8 {
            let v = f32::from(i) / 100.0;
            ring.push(&[v; STEP_FEATURES]);
            ring.window_into(&mut w);
            // The newest step is last.
            assert!((w[WINDOW - 1] - v).abs() < 0.003, "step {i}");
            if usize::from(i) + 1 < STEPS {
                // Steps not seen yet are zeros, at the old end.
                assert_eq!(w[0], 0.0);
            }
        }
        assert_eq!(ring.len(), STEPS);
        // After 30 pushes the oldest held is push 6 (0.06).
        assert!((w[0] - 0.06).abs() < 0.003);
    }

    #[test]
    fn names_cover_the_window() {
        let names = window_feature_names();
        assert_eq!(names.len(), WINDOW);
        assert_eq!(names[0], "t-23.hour_deviation");
        assert_eq!(names[WINDOW - 1], "t0.burst");
    }

    #[test]
    fn the_newest_step_alone_equals_the_whole_reconstructions_tail() {
        let m = random_model(9);
        let window: Vec<f32> = (0..WINDOW).map(|i| ((i * 7) % 11) as f32 / 11.0).collect();
        let whole = m.reconstruct(&window);
        let last = m.reconstruct_last(&window);
        for (a, b) in whole[WINDOW - STEP_FEATURES..].iter().zip(last) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }

    #[test]
    fn validation_catches_wrong_shapes() {
        let mut m = random_model(1);
        assert!(m.validate().is_ok());
        m.w_hh.pop();
        assert!(m.validate().unwrap_err().contains("w_hh"));
    }

    #[test]
    fn quantile_picks_the_rank() {
        let e: Vec<f64> = (0..101).map(f64::from).collect();
        assert_eq!(quantile(&e, 0.5), 50.0);
        assert_eq!(quantile(&e, 1.0), 100.0);
        assert_eq!(quantile(&[], 0.5), 0.0);
    }

    proptest! {
        #[test]
        fn scores_lie_in_range_and_attributions_sum_to_one(
            seed in 0u64..1000,
            window in proptest::collection::vec(0.0f32..=1.0, WINDOW),
        ) {
            let m = random_model(seed);
            let s = m.score_one(&window);
            prop_assert!((0.0..1.0).contains(&s));
            let a = m.attributions(&window);
            let total: f64 = a.iter().sum();
            prop_assert!(total == 0.0 || (total - 1.0).abs() < 1e-9);
            prop_assert!(a[..WINDOW - STEP_FEATURES].iter().all(|v| *v == 0.0));
        }

        #[test]
        fn the_score_rises_with_the_error(a in 0.0f64..10.0, b in 0.0f64..10.0) {
            let m = random_model(3);
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(m.score_of_error(lo) <= m.score_of_error(hi));
        }
    }
}
