//! The window autoencoder: the sequence model's fast form. Same input as the recurrent one
//! ([`super::sequence`]: the last [`super::sequence::STEPS`] events of a user, [`STEP_FEATURES`] features
//! each, flattened oldest first), same score (how badly the newest step is reconstructed in
//! the context of the ones before it), but the encoder is one dense layer over the whole
//! window instead of a GRU stepping through it.
//!
//! The network: `window → tanh(hidden) → tanh(latent) → tanh(dense) → window`. Training
//! reconstructs the whole window (`warden-nn`); scoring computes only the newest step's
//! outputs. About 7,400 multiply-adds and 104 `tanh` per event, against ~100,000 and ~2,300
//! for the GRU's 24 steps.

use serde::{Deserialize, Serialize};

use super::sequence::{
    NewestStep, STEP_FEATURES, WINDOW, affine, check_network, decode, decode_last, initialiser,
};

/// The trained network and its calibration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowAutoencoder {
    pub hidden: usize,
    pub latent: usize,
    pub dense: usize,
    /// Encoder layers, `hidden × WINDOW` and `latent × hidden`.
    pub enc1_w: Vec<f32>,
    pub enc1_b: Vec<f32>,
    pub enc2_w: Vec<f32>,
    pub enc2_b: Vec<f32>,
    /// Decoder layers, `dense × latent` and `WINDOW × dense`.
    pub dec1_w: Vec<f32>,
    pub dec1_b: Vec<f32>,
    pub dec2_w: Vec<f32>,
    pub dec2_b: Vec<f32>,
    /// Newest-step reconstruction error at the training quantile `1 − contamination`: the
    /// error that scores 0.5.
    pub threshold_error: f64,
    pub contamination: f64,
    /// Mean squared reconstruction error of the training windows at the end of training.
    pub train_loss: f64,
    pub epochs: usize,
    pub seed: u64,
}

impl WindowAutoencoder {
    /// An untrained network of the given sizes: weights and biases uniform in ±1/√fan-in
    /// from the seed. Training starts from it.
    pub fn untrained(hidden: usize, latent: usize, dense: usize, seed: u64) -> WindowAutoencoder {
        let mut init = initialiser(seed);
        let (h, l, d) = (hidden, latent, dense);
        WindowAutoencoder {
            hidden: h,
            latent: l,
            dense: d,
            enc1_w: init(h * WINDOW, WINDOW),
            enc1_b: init(h, WINDOW),
            enc2_w: init(l * h, h),
            enc2_b: init(l, h),
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
                ("enc1_w", self.enc1_w.len(), h * WINDOW),
                ("enc1_b", self.enc1_b.len(), h),
                ("enc2_w", self.enc2_w.len(), l * h),
                ("enc2_b", self.enc2_b.len(), l),
                ("dec1_w", self.dec1_w.len(), d * l),
                ("dec1_b", self.dec1_b.len(), d),
                ("dec2_w", self.dec2_w.len(), WINDOW * d),
                ("dec2_b", self.dec2_b.len(), WINDOW),
            ],
            self.threshold_error,
        )
    }

    /// The latent vector of a window (`WINDOW` values, oldest step first).
    fn encode(&self, window: &[f32]) -> Vec<f32> {
        let mut hidden = vec![0.0f32; self.hidden];
        affine(&self.enc1_w, &self.enc1_b, &window[..WINDOW], &mut hidden);
        hidden.iter_mut().for_each(|v| *v = v.tanh());
        let mut latent = vec![0.0f32; self.latent];
        affine(&self.enc2_w, &self.enc2_b, &hidden, &mut latent);
        latent.iter_mut().for_each(|v| *v = v.tanh());
        latent
    }

    /// Reconstructs a whole window (what training optimises; scoring needs only the newest
    /// step).
    pub fn reconstruct(&self, window: &[f32]) -> Vec<f32> {
        if window.len() < WINDOW {
            return vec![0.0; WINDOW];
        }
        decode(
            &self.encode(window),
            [&self.dec1_w, &self.dec1_b, &self.dec2_w, &self.dec2_b],
            self.dense,
        )
    }
}

impl NewestStep for WindowAutoencoder {
    fn newest_step(&self, window: &[f32]) -> [f32; STEP_FEATURES] {
        if window.len() < WINDOW {
            return [0.0; STEP_FEATURES];
        }
        decode_last(
            &self.encode(window),
            [&self.dec1_w, &self.dec1_b, &self.dec2_w, &self.dec2_b],
            self.dense,
        )
    }

    fn threshold_error(&self) -> f64 {
        self.threshold_error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(seed: u64) -> WindowAutoencoder {
        WindowAutoencoder {
            threshold_error: 0.01,
            ..WindowAutoencoder::untrained(6, 3, 5, seed)
        }
    }

    #[test]
    fn the_newest_step_is_the_reconstructions_tail() {
        let m = model(4);
        let window: Vec<f32> = (0..WINDOW).map(|i| ((i * 5) % 13) as f32 / 13.0).collect();
        let whole = m.reconstruct(&window);
        let last = m.newest_step(&window);
        for (a, b) in whole[WINDOW - STEP_FEATURES..].iter().zip(last) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }

    #[test]
    fn validation_catches_wrong_shapes() {
        let mut m = model(1);
        assert!(m.validate().is_ok());
        m.enc1_w.pop();
        assert!(m.validate().unwrap_err().contains("enc1_w"));
        let mut t = model(1);
        t.threshold_error = 0.0;
        assert!(t.validate().is_err());
    }

    #[test]
    fn short_windows_score_as_nothing_unusual_and_never_panic() {
        let m = model(2);
        assert_eq!(m.last_step_errors(&[0.5; 7]), [0.0; STEP_FEATURES]);
        assert_eq!(m.reconstruct(&[]), vec![0.0; WINDOW]);
        let s = m.score_one(&vec![1.0; WINDOW]);
        assert!((0.0..1.0).contains(&s));
    }

    #[test]
    fn attributions_name_the_newest_step_only() {
        let m = model(3);
        let a = m.attributions(&vec![0.7; WINDOW]);
        let total: f64 = a.iter().sum();
        assert!((total - 1.0).abs() < 1e-9);
        assert!(a[..WINDOW - STEP_FEATURES].iter().all(|v| *v == 0.0));
    }
}
