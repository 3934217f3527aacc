//! Training of the sequence models on the CPU with candle — the recurrent autoencoder
//! ([`warden_models::ml::sequence`], [`train`]) and the dense window autoencoder
//! ([`warden_models::ml::window_ae`], [`train_window`]): the network is built from candle
//! tensors, trained with AdamW on mini-batches of windows, and its weights copied out into
//! the model type, whose own forward pass scores in production. Candle is needed to train
//! only, never to score.
//!
//! Everything random (initial weights, sampling, batch order) comes from the seeded
//! [`SplitMix64`], so a seed gives the same model.

use candle_core::{D, DType, Device, Tensor, Var};
use candle_nn::optim::{AdamW, Optimizer, ParamsAdamW};
use std::time::Instant;
use warden_models::ml::Matrix;
use warden_models::ml::rng::SplitMix64;
use warden_models::ml::sequence::{
    NewestStep, STEP_FEATURES, STEPS, SeqAutoencoder, WINDOW, quantile,
};

mod window;
pub use window::train_window;

/// Training failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("no training windows")]
    Empty,
    #[error("windows must be {WINDOW} values wide, got {0}")]
    Width(usize),
    #[error("invalid parameter: {0}")]
    Param(String),
    #[error("tensor computation failed: {0}")]
    Tensor(#[from] candle_core::Error),
    #[error("training diverged (loss is not a number) at epoch {0}; lower the learning rate")]
    Diverged(usize),
}

/// Network sizes and optimisation settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SeqTrainParams {
    pub hidden: usize,
    pub latent: usize,
    pub dense: usize,
    pub epochs: usize,
    pub batch: usize,
    pub learning_rate: f64,
    /// Windows sampled for training at most (the rest are still used for calibration).
    pub max_windows: usize,
    /// Share of training windows expected to be anomalous: sets the error that scores 0.5.
    pub contamination: f64,
    pub seed: u64,
}

impl Default for SeqTrainParams {
    fn default() -> Self {
        Self {
            hidden: 32,
            latent: 8,
            dense: 64,
            epochs: 6,
            batch: 256,
            learning_rate: 3e-3,
            max_windows: 60_000,
            contamination: 0.01,
            seed: 42,
        }
    }
}

impl SeqTrainParams {
    fn validate(&self) -> Result<(), TrainError> {
        let sizes = [self.hidden, self.latent, self.dense, self.batch];
        if sizes.iter().any(|s| *s == 0 || *s > 4096) {
            return Err(TrainError::Param(
                "layer sizes and batch must be in 1..=4096".into(),
            ));
        }
        if !(1..=1000).contains(&self.epochs) {
            return Err(TrainError::Param("epochs must be in 1..=1000".into()));
        }
        if !(self.learning_rate > 0.0 && self.learning_rate < 1.0) {
            return Err(TrainError::Param("learning rate must be in (0, 1)".into()));
        }
        if !(self.contamination > 0.0 && self.contamination < 0.5) {
            return Err(TrainError::Param(
                "contamination must be in (0, 0.5)".into(),
            ));
        }
        Ok(())
    }
}

/// Progress of one epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochReport {
    pub epoch: usize,
    pub loss: f64,
    pub seconds: f64,
}

/// A network trained to reconstruct windows.
trait Network {
    fn vars(&self) -> Vec<Var>;
    /// Reconstruction of a batch `[B, WINDOW]` → `[B, WINDOW]`.
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor>;
}

/// The recurrent network's trainable tensors.
struct Net {
    hidden: usize,
    w_ih: Var,
    w_hh: Var,
    b_ih: Var,
    b_hh: Var,
    enc_w: Var,
    enc_b: Var,
    dec1_w: Var,
    dec1_b: Var,
    dec2_w: Var,
    dec2_b: Var,
}

impl Net {
    /// Trainable tensors holding `m`'s weights (an untrained network to start from).
    fn from_model(m: &SeqAutoencoder, dev: &Device) -> candle_core::Result<Net> {
        let (h, l, d) = (m.hidden, m.latent, m.dense);
        let mat =
            |v: &[f32], rows: usize, cols: usize| Var::from_vec(v.to_vec(), (rows, cols), dev);
        let vec = |v: &[f32]| Var::from_vec(v.to_vec(), v.len(), dev);
        Ok(Net {
            hidden: h,
            w_ih: mat(&m.w_ih, 3 * h, STEP_FEATURES)?,
            w_hh: mat(&m.w_hh, 3 * h, h)?,
            b_ih: vec(&m.b_ih)?,
            b_hh: vec(&m.b_hh)?,
            enc_w: mat(&m.enc_w, l, h)?,
            enc_b: vec(&m.enc_b)?,
            dec1_w: mat(&m.dec1_w, d, l)?,
            dec1_b: vec(&m.dec1_b)?,
            dec2_w: mat(&m.dec2_w, WINDOW, d)?,
            dec2_b: vec(&m.dec2_b)?,
        })
    }

    fn export(&self, p: &SeqTrainParams) -> candle_core::Result<SeqAutoencoder> {
        let flat = |v: &Var| v.as_tensor().flatten_all()?.to_vec1::<f32>();
        Ok(SeqAutoencoder {
            hidden: p.hidden,
            latent: p.latent,
            dense: p.dense,
            w_ih: flat(&self.w_ih)?,
            w_hh: flat(&self.w_hh)?,
            b_ih: flat(&self.b_ih)?,
            b_hh: flat(&self.b_hh)?,
            enc_w: flat(&self.enc_w)?,
            enc_b: flat(&self.enc_b)?,
            dec1_w: flat(&self.dec1_w)?,
            dec1_b: flat(&self.dec1_b)?,
            dec2_w: flat(&self.dec2_w)?,
            dec2_b: flat(&self.dec2_b)?,
            threshold_error: 1.0,
            contamination: p.contamination,
            train_loss: 0.0,
            epochs: p.epochs,
            seed: p.seed,
        })
    }
}

impl Network for Net {
    fn vars(&self) -> Vec<Var> {
        [
            &self.w_ih,
            &self.w_hh,
            &self.b_ih,
            &self.b_hh,
            &self.enc_w,
            &self.enc_b,
            &self.dec1_w,
            &self.dec1_b,
            &self.dec2_w,
            &self.dec2_b,
        ]
        .into_iter()
        .cloned()
        .collect()
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let hidden = self.hidden;
        let b = x.dim(0)?;
        // Input projections of every step at once: [B·STEPS, 3H] → [B, STEPS, 3H].
        let gi_all = x
            .reshape((b * STEPS, STEP_FEATURES))?
            .matmul(&self.w_ih.t()?)?
            .broadcast_add(self.b_ih.as_tensor())?
            .reshape((b, STEPS, 3 * hidden))?;
        let mut h = Tensor::zeros((b, hidden), DType::F32, x.device())?;
        let w_hh_t = self.w_hh.t()?;
        for t in 0..STEPS {
            let gi = gi_all.narrow(1, t, 1)?.squeeze(1)?;
            let gh = h.matmul(&w_hh_t)?.broadcast_add(self.b_hh.as_tensor())?;
            let gi = gi.chunk(3, 1)?;
            let gh = gh.chunk(3, 1)?;
            let r = candle_nn::ops::sigmoid(&(&gi[0] + &gh[0])?)?;
            let z = candle_nn::ops::sigmoid(&(&gi[1] + &gh[1])?)?;
            let n = (&gi[2] + (r * &gh[2])?)?.tanh()?;
            // h' = z·h + (1 − z)·n = n + z·(h − n)
            h = (&n + (z * (&h - &n)?)?)?;
        }
        let latent = h
            .matmul(&self.enc_w.t()?)?
            .broadcast_add(self.enc_b.as_tensor())?
            .tanh()?;
        let dense = latent
            .matmul(&self.dec1_w.t()?)?
            .broadcast_add(self.dec1_b.as_tensor())?
            .tanh()?;
        dense
            .matmul(&self.dec2_w.t()?)?
            .broadcast_add(self.dec2_b.as_tensor())
    }
}

/// The loss: mean squared error over the window plus that of the newest step, which is the
/// step the score is about.
fn loss(out: &Tensor, x: &Tensor) -> candle_core::Result<Tensor> {
    let diff = (out - x)?.sqr()?;
    let all = diff.mean_all()?;
    let last = diff
        .narrow(D::Minus1, (STEPS - 1) * STEP_FEATURES, STEP_FEATURES)?
        .mean_all()?;
    all + last
}

fn batch_tensor(x: &Matrix, rows: &[usize], dev: &Device) -> candle_core::Result<Tensor> {
    let mut data = Vec::with_capacity(rows.len() * WINDOW);
    for r in rows {
        data.extend_from_slice(x.row(*r));
    }
    Tensor::from_vec(data, (rows.len(), WINDOW), dev)
}

/// Trains the recurrent autoencoder on `windows` (one row per window, [`WINDOW`] values in
/// `[0, 1]`) and calibrates the threshold on all of them. `progress` is called after each
/// epoch.
pub fn train(
    p: &SeqTrainParams,
    windows: &Matrix,
    progress: impl FnMut(EpochReport),
) -> Result<SeqAutoencoder, TrainError> {
    check(p, windows)?;
    // Initial weights from the seed; sampling and batch order from a generator of its own.
    let start = SeqAutoencoder::untrained(p.hidden, p.latent, p.dense, p.seed);
    let net = Net::from_model(&start, &Device::Cpu)?;
    let last_loss = fit(&net, p, windows, progress)?;
    let mut model = net.export(p)?;
    model.train_loss = last_loss;
    model.threshold_error = threshold(&model, windows, p.contamination);
    Ok(model)
}

fn check(p: &SeqTrainParams, windows: &Matrix) -> Result<(), TrainError> {
    p.validate()?;
    if windows.rows() == 0 {
        return Err(TrainError::Empty);
    }
    if windows.cols() != WINDOW {
        return Err(TrainError::Width(windows.cols()));
    }
    Ok(())
}

/// AdamW on mini-batches of at most `max_windows` sampled windows; the last epoch's mean loss.
fn fit(
    net: &impl Network,
    p: &SeqTrainParams,
    windows: &Matrix,
    mut progress: impl FnMut(EpochReport),
) -> Result<f64, TrainError> {
    let dev = Device::Cpu;
    let mut rng = SplitMix64::new(p.seed ^ 0x5EED_BA7C);
    let mut opt = AdamW::new(
        net.vars(),
        ParamsAdamW {
            lr: p.learning_rate,
            weight_decay: 0.0,
            ..ParamsAdamW::default()
        },
    )?;
    let mut sample: Vec<usize> = (0..windows.rows()).collect();
    shuffle(&mut sample, &mut rng);
    sample.truncate(p.max_windows.max(1));
    let mut last_loss = f64::NAN;
    for epoch in 1..=p.epochs {
        let started = Instant::now();
        shuffle(&mut sample, &mut rng);
        let (mut sum, mut n) = (0.0f64, 0usize);
        for rows in sample.chunks(p.batch) {
            let x = batch_tensor(windows, rows, &dev)?;
            let l = loss(&net.forward(&x)?, &x)?;
            opt.backward_step(&l)?;
            sum += f64::from(l.to_scalar::<f32>()?) * rows.len() as f64;
            n += rows.len();
        }
        last_loss = sum / n.max(1) as f64;
        if !last_loss.is_finite() {
            return Err(TrainError::Diverged(epoch));
        }
        progress(EpochReport {
            epoch,
            loss: last_loss,
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    Ok(last_loss)
}

/// The newest-step error at the quantile `1 − contamination` of `windows`' errors: the
/// error that scores 0.5.
fn threshold(model: &(impl NewestStep + Sync), windows: &Matrix, contamination: f64) -> f64 {
    let errors: Vec<f64> = {
        use rayon::prelude::*;
        (0..windows.rows())
            .into_par_iter()
            .map(|i| model.error(windows.row(i)))
            .collect()
    };
    // A floor keeps the score defined when training windows reconstruct perfectly.
    quantile(&errors, 1.0 - contamination).max(1e-6)
}

fn shuffle(v: &mut [usize], rng: &mut SplitMix64) {
    for i in (1..v.len()).rev() {
        let j = rng.below(i + 1);
        v.swap(i, j);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Normal windows: quiet steps with small noise; anomalies: one loud newest step.
    pub(crate) fn windows(n: usize, seed: u64, loud_last: bool) -> Matrix {
        let mut r = SplitMix64::new(seed);
        let mut m = Matrix::new(WINDOW);
        let mut row = vec![0.0f32; WINDOW];
        for _ in 0..n {
            for (i, v) in row.iter_mut().enumerate() {
                let f = i % STEP_FEATURES;
                // Feature 0 follows a smooth daily pattern, the others are mostly quiet.
                *v = if f == 0 {
                    0.1 + 0.05 * r.next_f64() as f32
                } else {
                    0.05 * r.next_f64() as f32
                };
            }
            if loud_last {
                let last = (STEPS - 1) * STEP_FEATURES;
                row[last + 2] = 1.0;
                row[last + 4] = 0.9;
            }
            m.push(&row);
        }
        m
    }

    pub(crate) fn small() -> SeqTrainParams {
        SeqTrainParams {
            hidden: 8,
            latent: 4,
            dense: 16,
            epochs: 3,
            batch: 64,
            learning_rate: 1e-2,
            max_windows: 2_000,
            ..SeqTrainParams::default()
        }
    }

    #[test]
    fn the_exported_forward_pass_equals_candles() {
        let p = small();
        let dev = Device::Cpu;
        let start = SeqAutoencoder::untrained(p.hidden, p.latent, p.dense, 5);
        let net = Net::from_model(&start, &dev).unwrap_or_else(|e| panic!("{e}"));
        let x = windows(7, 1, true);
        let t = batch_tensor(&x, &(0..7).collect::<Vec<_>>(), &dev)
            .and_then(|t| net.forward(&t))
            .and_then(|t| t.to_vec2::<f32>())
            .unwrap_or_else(|e| panic!("{e}"));
        let model = net.export(&p).unwrap_or_else(|e| panic!("{e}"));
        assert!(model.validate().is_ok());
        for (i, candle_row) in t.iter().enumerate() {
            let ours = model.reconstruct(x.row(i));
            for (a, b) in ours.iter().zip(candle_row) {
                assert!((a - b).abs() < 1e-5, "{a} vs {b}");
            }
        }
    }

    /// What training any sequence network must show: the loss falls over the epochs, the
    /// same seed gives the same model, anomalous newest steps score above the calibrated
    /// threshold and normal ones mostly below, and the loud features carry the error.
    pub(crate) fn assert_trains_well<M: NewestStep + Sync + PartialEq + std::fmt::Debug>(
        fit: impl Fn(&Matrix, &mut dyn FnMut(EpochReport)) -> M,
    ) {
        let train_x = windows(1_500, 2, false);
        let mut epochs = Vec::new();
        let a = fit(&train_x, &mut |e| epochs.push(e.loss));
        assert_eq!(epochs.len(), 3);
        assert!(epochs[2] < epochs[0], "loss fell: {epochs:?}");
        let b = fit(&train_x, &mut |_| {});
        assert_eq!(a, b, "same seed, same model");
        let normal = a.score(&windows(200, 3, false));
        let odd = a.score(&windows(200, 4, true));
        let above = |s: &[f64]| s.iter().filter(|v| **v >= 0.5).count();
        assert!(above(&odd) >= 190, "{}", above(&odd));
        assert!(above(&normal) <= 20, "{}", above(&normal));
        let imp = a.importance(&windows(50, 5, true));
        assert!(imp[2] + imp[4] > 0.8, "{imp:?}");
    }

    #[test]
    fn training_learns_normal_windows_and_is_seeded() {
        assert_trains_well(|x, progress| {
            train(&small(), x, progress).unwrap_or_else(|e| panic!("{e}"))
        });
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(matches!(
            train(&small(), &Matrix::new(WINDOW), |_| {}),
            Err(TrainError::Empty)
        ));
        let narrow = Matrix::from_rows(&[vec![0.0; 10]]).unwrap_or_default();
        assert!(matches!(
            train(&small(), &narrow, |_| {}),
            Err(TrainError::Width(10))
        ));
        let bad = SeqTrainParams {
            epochs: 0,
            ..small()
        };
        assert!(matches!(
            train(&bad, &windows(5, 1, false), |_| {}),
            Err(TrainError::Param(_))
        ));
    }
}
