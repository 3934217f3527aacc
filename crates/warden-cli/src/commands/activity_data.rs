//! User activity as model rows (`--format activity`): the behavioural engine runs over the
//! input, in time order as in detection, and each event becomes its 16 check features —
//! or, for the sequence model, the window of its user's recent events. Labels (when given)
//! mark each row normal, attack or hard negative; a stable split by user id keeps the users
//! a model is tested on out of its training.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use warden_engine::ueba::UebaEngine;
use warden_event::FEATURE_NAMES;
use warden_models::ml::flows::{Columns, FeatureSchema, FlowFormat, FlowRecord};
use warden_models::ml::rng::SplitMix64;
use warden_models::ml::sequence::window_feature_names;
use warden_models::stats::{stable_hash, stable_hash_bytes};

use crate::cli::{ActivityOpts, InputArgs, UserSplit};
use crate::config_file::WardenConfig;
use crate::{labels, pipeline};

/// Rows built from activity, in input order.
pub struct ActivityRows {
    pub records: Vec<FlowRecord>,
    pub columns: Columns,
    /// Records the reader skipped as malformed.
    pub bad: usize,
    /// Hash of the input bytes.
    pub hash: u64,
}

/// The column names of an activity format.
pub fn columns(format: FlowFormat) -> Columns {
    let numeric = match format {
        FlowFormat::ActivitySequence => window_feature_names(),
        _ => FEATURE_NAMES.iter().map(|n| (*n).to_owned()).collect(),
    };
    Columns {
        numeric,
        categorical: Vec::new(),
    }
}

/// The schema of an activity model: the features are already in `[0, 1]` and the engine
/// hands them to the model as they are, so the transform is the identity.
pub fn identity_schema(format: FlowFormat) -> FeatureSchema {
    FeatureSchema::identity(format, columns(format).numeric)
}

/// A user's place in the split, a stable fraction in [0, 1): test below --test-share,
/// validation in the next --validation-share, train above.
fn split_point(user: &str) -> f64 {
    // FNV-1a leaves its top bits nearly equal for ids that differ only at the end, so they
    // are mixed before being read as a fraction in [0, 1).
    let mixed = SplitMix64::new(stable_hash(user)).next_u64();
    (mixed >> 11) as f64 / (1u64 << 53) as f64
}

/// Whether a user's events are selected by `opts.users`.
pub fn keep(opts: &ActivityOpts, user: &str) -> bool {
    let at = split_point(user);
    let validation_end = opts.test_share + opts.validation_share;
    match opts.users {
        UserSplit::All => true,
        UserSplit::Test => at < opts.test_share,
        UserSplit::Validation => at >= opts.test_share && at < validation_end,
        UserSplit::Train => at >= validation_end,
    }
}

/// Checks the split's shares.
pub fn check_split(opts: &ActivityOpts) -> Result<()> {
    if !(0.0..1.0).contains(&opts.test_share)
        || !(0.0..1.0).contains(&opts.validation_share)
        || opts.test_share + opts.validation_share >= 1.0
    {
        bail!("--test-share and --validation-share must be in [0, 1) and leave users to train on");
    }
    if opts.users == UserSplit::Validation && opts.validation_share <= 0.0 {
        bail!("--users validation needs --validation-share above 0");
    }
    Ok(())
}

/// `normal` → normal; `attack:<kind>` → attack; `benign:<kind>` (a hard negative) → normal.
pub fn is_attack_label(label: &str) -> bool {
    parse_label(label).0
}

/// `normal` → normal; `attack:<kind>` → attack; `benign:<kind>` (a hard negative) → normal,
/// keeping its kind.
fn parse_label(label: &str) -> (bool, String) {
    match label.split_once(':') {
        Some(("attack", kind)) => (true, kind.to_owned()),
        Some((_, _)) => (false, label.to_owned()),
        None => (label != "normal", label.to_owned()),
    }
}

/// Runs the engine over `path` and returns one row per event of the selected users.
pub fn load(path: &Path, format: FlowFormat, opts: &ActivityOpts) -> Result<ActivityRows> {
    check_split(opts)?;
    let cfg = WardenConfig::load(opts.config.as_deref())?;
    let labels: Option<HashMap<String, String>> =
        opts.labels.as_deref().map(labels::load).transpose()?;
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let hash = stable_hash_bytes(&bytes);
    drop(bytes);
    let mut engine = UebaEngine::new(cfg.ueba.clone())?;
    let sequences = format == FlowFormat::ActivitySequence;
    if sequences {
        engine.enable_sequences();
    }
    let input = InputArgs {
        inputs: vec![path.display().to_string()],
        config: opts.config.clone(),
        format: None,
        strict: false,
        follow: false,
    };
    let mut records = Vec::new();
    let totals = pipeline::read_all(&input, &cfg, |a| {
        let a = &a;
        let s = engine.score(a, true);
        if !keep(opts, &a.user_id) {
            return Ok(());
        }
        let numeric: Vec<f64> = if sequences {
            engine
                .last_window()
                .unwrap_or(&[])
                .iter()
                .map(|v| f64::from(*v))
                .collect()
        } else {
            s.features
                .unwrap_or_default()
                .iter()
                .map(|v| f64::from(*v))
                .collect()
        };
        let label = labels.as_ref().and_then(|l| {
            a.event_id
                .as_ref()
                .and_then(|id| l.get(id))
                .map(|x| parse_label(x))
        });
        records.push(FlowRecord {
            numeric,
            categorical: Vec::new(),
            attack: label.as_ref().map(|l| l.0),
            kind: label.map(|l| l.1),
            origin: Default::default(),
        });
        Ok(())
    })?;
    if records.is_empty() {
        bail!(
            "{}: no activity rows (of the selected users) to use",
            path.display()
        );
    }
    Ok(ActivityRows {
        records,
        columns: columns(format),
        bad: usize::try_from(totals.parse_errors).unwrap_or(usize::MAX),
        hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_map_to_attack_and_kind() {
        assert_eq!(parse_label("normal"), (false, "normal".into()));
        assert_eq!(
            parse_label("attack:impossible_travel"),
            (true, "impossible_travel".into())
        );
        assert_eq!(
            parse_label("benign:legit_travel"),
            (false, "benign:legit_travel".into())
        );
    }

    #[test]
    fn the_user_split_is_stable_disjoint_and_near_its_shares() {
        let users: Vec<String> = (0..2000).map(|i| format!("user_{i:04}")).collect();
        let opts = |users: UserSplit, test_share: f64, validation_share: f64| ActivityOpts {
            users,
            test_share,
            validation_share,
            ..ActivityOpts::default()
        };
        let count = |o: &ActivityOpts| users.iter().filter(|u| keep(o, u)).count();
        let test = count(&opts(UserSplit::Test, 0.3, 0.15));
        let validation = count(&opts(UserSplit::Validation, 0.3, 0.15));
        let train = count(&opts(UserSplit::Train, 0.3, 0.15));
        assert!((500..700).contains(&test), "{test}");
        assert!((220..380).contains(&validation), "{validation}");
        assert_eq!(test + validation + train, users.len(), "every user once");
        // Without a validation share, train and test are as they always were.
        assert_eq!(count(&opts(UserSplit::Test, 0.3, 0.0)), test);
        assert_eq!(count(&opts(UserSplit::Train, 0.3, 0.0)), users.len() - test);
        assert!(users.iter().all(|u| split_point(u) == split_point(u)));
        assert_eq!(count(&opts(UserSplit::Test, 0.0, 0.0)), 0);
        assert!(check_split(&opts(UserSplit::Validation, 0.3, 0.0)).is_err());
        assert!(check_split(&opts(UserSplit::Train, 0.6, 0.5)).is_err());
    }

    #[test]
    fn schemas_are_identities_of_the_right_width() {
        let s = identity_schema(FlowFormat::Activity);
        assert_eq!(s.width(), 16);
        let mut out = Vec::new();
        let r = FlowRecord {
            numeric: vec![0.25; 16],
            categorical: vec![],
            attack: None,
            kind: None,
            origin: Default::default(),
        };
        s.encode(&r, &mut out);
        assert_eq!(out, vec![0.25f32; 16]);
        assert_eq!(identity_schema(FlowFormat::ActivitySequence).width(), 192);
    }
}
