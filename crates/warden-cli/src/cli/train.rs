//! Arguments of `warden train` and `warden eval`: the models, their inputs and their knobs.

use clap::{Args, Subcommand};
use std::path::PathBuf;

use super::FlowFormatArg;

#[derive(Subcommand, Debug)]
pub enum TrainCommand {
    /// Isolation forest (unsupervised; train on normal rows with --normal-only).
    Iforest(IforestArgs),
    /// Gradient-boosted trees (supervised: needs labelled rows of both classes).
    Gbdt(GbdtArgs),
    /// Sequence autoencoder over each user's recent events (`--format activity` only).
    Seqae(SeqaeArgs),
    /// The payload model: logistic regression over hashed n-grams of decoded command lines,
    /// and boosted trees that weigh its score with the analysis, trained on labelled JSON
    /// Lines (`text`, `label` malicious/benign, optional `shell`).
    Payload(PayloadTrainArgs),
    /// Calibrates trained activity models on users held out from their training
    /// (`--users validation`): how rare each score is among those users' normal events, and
    /// each model's weight in the ensemble, chosen on them. Writes the models again with it.
    Calibrate(CalibrateArgs),
}

#[derive(Args, Debug)]
pub struct CalibrateArgs {
    /// Activity models to calibrate together (at most one of each kind).
    #[arg(long = "model", value_name = "MODEL", required = true)]
    pub models: Vec<PathBuf>,
    /// User activity (the file the models were trained on, or more of it).
    #[arg(long, value_name = "FILE")]
    pub input: PathBuf,
    /// Where the calibrated models are written (same file names).
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,
    /// Step of the weight grid searched (each weight a multiple of it, summing to 1).
    #[arg(long, default_value_t = 0.1)]
    pub weight_step: f64,
    /// Smallest weight a model may get: validation users hold few attacks, and a model they
    /// do not reward may still catch attacks of kinds they lack.
    #[arg(long, default_value_t = 0.2)]
    pub min_weight: f64,
    #[command(flatten)]
    pub activity: ActivityOpts,
}

#[derive(Args, Debug)]
pub struct PayloadTrainArgs {
    /// Labelled command lines (JSON Lines; plain, .gz or .zst).
    #[arg(long, value_name = "FILE")]
    pub input: PathBuf,
    /// Model file to write.
    #[arg(long, value_name = "MODEL")]
    pub out: PathBuf,
    /// Feature table size: 2^bits buckets.
    #[arg(long, default_value_t = warden_payload::model::DEFAULT_BITS)]
    pub bits: u32,
    /// Shortest and longest character n-grams.
    #[arg(long, default_value_t = 1)]
    pub min_n: u8,
    #[arg(long, default_value_t = 5)]
    pub max_n: u8,
    /// Leave out the word unigram and bigram features.
    #[arg(long)]
    pub no_words: bool,
    /// Leave out the programs, signatures and decoders as features.
    #[arg(long)]
    pub no_analysis_features: bool,
    /// Collapse line breaks into spaces like other whitespace (by default a line break is
    /// kept as a statement break in the character n-grams).
    #[arg(long)]
    pub no_line_breaks: bool,
    /// Read the program that starts each line as written, directory and `.exe` included
    /// (by default it is read as its bare name: `"C:\Windows\System32\cmd.exe" /c` is
    /// `cmd /c`, as process-creation telemetry and hand-written commands then read alike).
    #[arg(long)]
    pub keep_image_paths: bool,
    #[arg(long, default_value_t = 12)]
    pub epochs: usize,
    #[arg(long, default_value_t = 0.4)]
    pub learning_rate: f32,
    #[arg(long, default_value_t = 1e-6)]
    pub l2: f32,
    /// Share held out (stratified) to calibrate the scores and report validation figures.
    #[arg(long, default_value_t = 0.15)]
    pub validation_share: f64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Each n-gram's idf is multiplied by its |class log-count ratio| (NB weighting: the
    /// malicious and benign texts that have it, each class normalised by its count of
    /// feature occurrences) to this power, so that the n-grams that tell the classes apart
    /// take more of a text's norm; 0 is plain TF-IDF.
    #[arg(long, default_value_t = warden_payload::train::TrainParams::default().class_ratio_exponent)]
    pub class_ratio_exponent: f32,
    /// A class ratio read off c training texts counts c / (c + this) of itself, so that an
    /// n-gram a handful of attack pages share does not outweigh one fifty share.
    #[arg(long, default_value_t = warden_payload::train::TrainParams::default().class_ratio_shrinkage)]
    pub class_ratio_shrinkage: f32,
    /// Folds for the combiner (boosted trees over the n-gram score and the analysis,
    /// trained on scores of texts each fold's model did not see); 0 leaves it out.
    #[arg(long, default_value_t = warden_payload::combiner::FOLDS)]
    pub combiner_folds: usize,
    /// Boosted trees over which n-grams and other features a text has, averaged with the
    /// n-gram model and the combiner; 0 leaves them out.
    #[arg(long, default_value_t = warden_payload::presence::TreeParams::default().trees)]
    pub presence_trees: usize,
    /// Depth of each presence tree.
    #[arg(long, default_value_t = warden_payload::presence::TreeParams::default().depth)]
    pub presence_depth: u8,
    /// How much of each presence tree's step is taken.
    #[arg(long, default_value_t = warden_payload::presence::TreeParams::default().learning_rate)]
    pub presence_learning_rate: f32,
    /// Train on the texts as given only. By default a text written with a public corpus's
    /// placeholders (`C:\AtomicRedTeam\…`, `calc.exe`, `attacker.com`, `path/to`,
    /// `example.com` …) is also learned from a copy with realistic values in their place,
    /// so that the model learns the command rather than the corpus's house style.
    #[arg(long)]
    pub no_placeholder_copies: bool,
}

/// The sequence autoencoder's encoder.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeqEncoder {
    Dense,
    Gru,
}

#[derive(Args, Debug)]
pub struct SeqaeArgs {
    #[command(flatten)]
    pub io: TrainIo,
    /// Train on the windows whose newest event is labelled normal only (needs --labels).
    #[arg(long)]
    pub normal_only: bool,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[arg(long, default_value_t = 6)]
    pub epochs: usize,
    /// The encoder: `dense`, one layer over the whole window (a few microseconds per
    /// event), or `gru`, a recurrent layer stepping through it (about ten times slower).
    #[arg(long, value_enum, default_value_t = SeqEncoder::Dense)]
    pub encoder: SeqEncoder,
    /// Encoder width (the dense layer's or the GRU's).
    #[arg(long, default_value_t = 32)]
    pub hidden: usize,
    /// Bottleneck width.
    #[arg(long, default_value_t = 8)]
    pub latent: usize,
    /// Decoder hidden width.
    #[arg(long, default_value_t = 64)]
    pub dense: usize,
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    #[arg(long, default_value_t = 3e-3)]
    pub learning_rate: f64,
    /// Windows sampled for training at most (all are used to calibrate the threshold).
    #[arg(long, default_value_t = 60_000)]
    pub max_windows: usize,
    /// Expected share of anomalous windows: the newest-step error that scores 0.5.
    #[arg(long, default_value_t = 0.01)]
    pub contamination: f64,
}

/// How user activity becomes model rows (`--format activity`).
#[derive(Args, Debug, Clone, Default)]
pub struct ActivityOpts {
    /// Labels (JSON Lines: event_id, label) of the activity: `normal`, `attack:<kind>`,
    /// `benign:<kind>`.
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
    /// Configuration file (TOML) for the behavioural engine that builds the features.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Which users' events become rows: all, or a stable split by user id (`test` takes
    /// --test-share of the users, `validation` the next --validation-share, `train` the
    /// rest).
    #[arg(long, value_enum, default_value = "all")]
    pub users: UserSplit,
    #[arg(long, default_value_t = 0.3)]
    pub test_share: f64,
    /// Users held out from training to calibrate the models on (`warden train calibrate`).
    #[arg(long, default_value_t = 0.0)]
    pub validation_share: f64,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserSplit {
    #[default]
    All,
    Train,
    Validation,
    Test,
}

#[derive(Args, Debug)]
pub struct GbdtArgs {
    /// Labelled training flows.
    #[command(flatten)]
    pub io: TrainIo,
    #[arg(long, default_value_t = 100)]
    pub trees: usize,
    #[arg(long, default_value_t = 6)]
    pub depth: usize,
    #[arg(long, default_value_t = 0.1)]
    pub learning_rate: f64,
    /// One class per labelled kind (attack name or category, and `normal`) instead of
    /// attack / normal; the score stays 1 − P(normal).
    #[arg(long)]
    pub multiclass: bool,
}

/// What every `warden train` reads and writes.
#[derive(Args, Debug)]
pub struct TrainIo {
    /// Training flows (CSV or Zeek conn.log; plain, .gz or .zst).
    #[arg(long, value_name = "FILE")]
    pub input: PathBuf,
    #[arg(long, value_enum)]
    pub format: FlowFormatArg,
    /// Model file to write.
    #[arg(long, value_name = "MODEL")]
    pub out: PathBuf,
    #[command(flatten)]
    pub activity: ActivityOpts,
}

#[derive(Args, Debug)]
pub struct IforestArgs {
    #[command(flatten)]
    pub io: TrainIo,
    /// Train on the rows labelled normal only.
    #[arg(long)]
    pub normal_only: bool,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[arg(long, default_value_t = 100)]
    pub trees: usize,
    #[arg(long, default_value_t = 256)]
    pub max_samples: usize,
    /// Expected share of anomalies in the training rows, in (0, 0.5]; sets the threshold
    /// (default: the score 0.5).
    #[arg(long)]
    pub contamination: Option<f64>,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Model file written by `warden train`.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// Labelled flows to score.
    #[arg(long, value_name = "FILE")]
    pub input: PathBuf,
    /// Input format (default: the one the model was trained on; another is refused).
    #[arg(long, value_enum)]
    pub format: Option<FlowFormatArg>,
    /// Score the rows this many times and report the median time (for benchmarks).
    #[arg(long, default_value_t = 1, hide_short_help = true)]
    pub repeat: usize,
    #[command(flatten)]
    pub activity: ActivityOpts,
}
