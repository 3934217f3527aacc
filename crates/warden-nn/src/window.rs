//! The dense window autoencoder's network in candle, trained like the recurrent one (the
//! same loss, optimiser, sampling and calibration) and exported to a [`WindowAutoencoder`].

use candle_core::{Device, Tensor, Var};
use warden_models::ml::Matrix;
use warden_models::ml::sequence::WINDOW;
use warden_models::ml::window_ae::WindowAutoencoder;

use super::{EpochReport, Network, SeqTrainParams, TrainError, check, fit, threshold};

/// The dense network's trainable tensors.
struct DenseNet {
    enc1_w: Var,
    enc1_b: Var,
    enc2_w: Var,
    enc2_b: Var,
    dec1_w: Var,
    dec1_b: Var,
    dec2_w: Var,
    dec2_b: Var,
}

impl DenseNet {
    fn from_model(m: &WindowAutoencoder, dev: &Device) -> candle_core::Result<DenseNet> {
        let (h, l, d) = (m.hidden, m.latent, m.dense);
        let mat =
            |v: &[f32], rows: usize, cols: usize| Var::from_vec(v.to_vec(), (rows, cols), dev);
        let vec = |v: &[f32]| Var::from_vec(v.to_vec(), v.len(), dev);
        Ok(DenseNet {
            enc1_w: mat(&m.enc1_w, h, WINDOW)?,
            enc1_b: vec(&m.enc1_b)?,
            enc2_w: mat(&m.enc2_w, l, h)?,
            enc2_b: vec(&m.enc2_b)?,
            dec1_w: mat(&m.dec1_w, d, l)?,
            dec1_b: vec(&m.dec1_b)?,
            dec2_w: mat(&m.dec2_w, WINDOW, d)?,
            dec2_b: vec(&m.dec2_b)?,
        })
    }

    fn export(&self, p: &SeqTrainParams) -> candle_core::Result<WindowAutoencoder> {
        let flat = |v: &Var| v.as_tensor().flatten_all()?.to_vec1::<f32>();
        Ok(WindowAutoencoder {
            hidden: p.hidden,
            latent: p.latent,
            dense: p.dense,
            enc1_w: flat(&self.enc1_w)?,
            enc1_b: flat(&self.enc1_b)?,
            enc2_w: flat(&self.enc2_w)?,
            enc2_b: flat(&self.enc2_b)?,
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

/// `tanh(x·Wᵀ + b)` or, without `tanh`, the plain affine layer.
fn layer(x: &Tensor, w: &Var, b: &Var, tanh: bool) -> candle_core::Result<Tensor> {
    let y = x.matmul(&w.t()?)?.broadcast_add(b.as_tensor())?;
    if tanh { y.tanh() } else { Ok(y) }
}

impl Network for DenseNet {
    fn vars(&self) -> Vec<Var> {
        [
            &self.enc1_w,
            &self.enc1_b,
            &self.enc2_w,
            &self.enc2_b,
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
        let h = layer(x, &self.enc1_w, &self.enc1_b, true)?;
        let latent = layer(&h, &self.enc2_w, &self.enc2_b, true)?;
        let d = layer(&latent, &self.dec1_w, &self.dec1_b, true)?;
        layer(&d, &self.dec2_w, &self.dec2_b, false)
    }
}

/// Trains the dense window autoencoder on `windows` (one row per window, [`WINDOW`] values
/// in `[0, 1]`) and calibrates the threshold on all of them. `progress` is called after each
/// epoch. `p.hidden` is the encoder's first layer.
pub fn train_window(
    p: &SeqTrainParams,
    windows: &Matrix,
    progress: impl FnMut(EpochReport),
) -> Result<WindowAutoencoder, TrainError> {
    check(p, windows)?;
    let start = WindowAutoencoder::untrained(p.hidden, p.latent, p.dense, p.seed);
    let net = DenseNet::from_model(&start, &Device::Cpu)?;
    let last_loss = fit(&net, p, windows, progress)?;
    let mut model = net.export(p)?;
    model.train_loss = last_loss;
    model.threshold_error = threshold(&model, windows, p.contamination);
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{small, windows};

    #[test]
    fn the_exported_forward_pass_equals_candles() {
        let p = small();
        let dev = Device::Cpu;
        let start = WindowAutoencoder::untrained(p.hidden, p.latent, p.dense, 5);
        let net = DenseNet::from_model(&start, &dev).unwrap_or_else(|e| panic!("{e}"));
        let x = windows(7, 1, true);
        let rows: Vec<usize> = (0..7).collect();
        let t = crate::batch_tensor(&x, &rows, &dev)
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

    #[test]
    fn training_learns_normal_windows_and_is_seeded() {
        crate::tests::assert_trains_well(|x, progress| {
            train_window(&small(), x, progress).unwrap_or_else(|e| panic!("{e}"))
        });
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(matches!(
            train_window(&small(), &Matrix::new(WINDOW), |_| {}),
            Err(TrainError::Empty)
        ));
    }
}
