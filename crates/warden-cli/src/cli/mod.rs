//! Command-line arguments.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use warden_event::ThreatLevel;

mod train;

pub use train::*;

#[derive(Parser, Debug)]
#[command(
    name = "warden",
    version,
    about = "Threat detection and hunting: scored, explained alerts from security telemetry."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Score user activity against behavioural baselines; one ThreatScore JSON per line.
    Detect(DetectArgs),
    /// Build or inspect behavioural baselines in the store.
    #[command(subcommand)]
    Baseline(BaselineCommand),
    /// Read alerts back from the store.
    #[command(subcommand)]
    Alerts(AlertsCommand),
    /// Show the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Run Sigma rules over EVTX and JSON logs: a detection timeline sorted by time.
    ///
    /// Exit status: 0 when the run completed (with or without detections; bad records and
    /// unreadable files are reported on stderr and counted), 1 when no rule loaded or no
    /// input could be read, 2 for invalid arguments.
    Hunt(HuntArgs),
    /// Check Sigma rules: what loads and why not; run regression fixtures.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// The entity graph of accounts, hosts, IPs and processes: build it from Windows logs
    /// (EVTX or JSON) and LANL authentication files, hunt it for lateral movement, privilege
    /// escalation, credential misuse and attack progression, query and export it.
    #[command(subcommand)]
    Graph(GraphCommand),
    /// Train a model on network flows and write it to a model file.
    #[command(subcommand)]
    Train(TrainCommand),
    /// Score labelled flows with a model; print ROC/PR AUC, precision, recall, F1 as JSON.
    Eval(EvalArgs),
    /// Compare new flows with a model's training data: PSI and a verdict per feature and
    /// for the score, as JSON.
    Drift(EvalArgs),
    /// The model registry in the store: register, list, activate, roll back.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Run the detection service: REST API on the embedded store.
    Serve(ServeArgs),
    /// API tokens for `warden serve`.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Network detection over Zeek logs (conn, dns): port and host scans, beaconing, DNS
    /// tunnelling and generated names, long connections and large transfers out; each
    /// finding explained, with the Zeek uids it rests on, one JSON object per line.
    Network(NetworkArgs),
    /// Analyse a command line or script: decode its layers of obfuscation, find attack
    /// patterns with their ATT&CK ids, score it (with the learned model when one is given)
    /// and say ALLOW, QUARANTINE or BLOCK, as JSON.
    Analyze(AnalyzeArgs),
    /// Run as a worker of a Kafka consumer group (or, with `--nats`, of a NATS JetStream
    /// stream): consume events keyed by entity, detect with each partition's state restored
    /// from its checkpoint, write alerts to a topic, commit only what was delivered. Needs
    /// a build with `--features kafka` (or `nats`).
    Worker(Box<crate::commands::worker::WorkerArgs>),
    /// Send events to a Kafka topic (or, with `--nats`, a JetStream stream), each keyed by
    /// its entity (user, host) and on the partition Kafka's default partitioner gives that
    /// key. Needs `--features kafka` (or `nats`).
    Ship(crate::commands::worker::ShipArgs),
}

#[derive(Args, Debug)]
pub struct NetworkArgs {
    /// Zeek logs (TSV or JSON, plain or compressed) or folders of them (read recursively).
    #[arg(required = true, value_name = "PATH")]
    pub inputs: Vec<String>,
    /// Lowest level written.
    #[arg(long, value_name = "LEVEL", default_value = "MEDIUM", value_parser = parse_level)]
    pub min_level: ThreatLevel,
    /// Configuration file (TOML; `[network]` sets the finders' thresholds).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Deliver each finding at --min-level or above as an alert to an output: a TOML file
    /// of `[[outputs]]` or a URL — `syslog+udp://HOST:PORT` (`?format=leef`),
    /// `syslog+tcp://…`, `syslog+tls://…`, `file:PATH.jsonl`, `https://…` (a webhook).
    /// Repeatable.
    #[arg(long, value_name = "TARGET")]
    pub send: Vec<String>,
}

#[derive(Args, Debug)]
pub struct AnalyzeArgs {
    /// The command line; `-` reads standard input; the name of an existing file reads it
    /// (unless --text).
    pub input: Option<String>,
    /// Read JSON Lines records (`text`, optional `shell` and `id`; other fields ignored) from
    /// FILE (plain, .gz or .zst) or `-`, and write one verdict per record in input order.
    #[arg(long, value_name = "FILE", conflicts_with = "input")]
    pub jsonl: Option<String>,
    /// The shell the text is for (sh, bash, cmd, powershell); guessed from its syntax when
    /// not given.
    #[arg(long)]
    pub shell: Option<String>,
    /// Treat INPUT as text even when a file of that name exists.
    #[arg(long)]
    pub text: bool,
    /// Payload model file written by `warden train payload`.
    #[arg(long, value_name = "MODEL", conflicts_with = "store")]
    pub model: Option<PathBuf>,
    /// Use the active version of the registered model --model-name in this store.
    #[arg(long, value_name = "PATH")]
    pub store: Option<PathBuf>,
    #[arg(long, default_value = "payload")]
    pub model_name: String,
    /// Configuration file (TOML; `[payload]` sets view weights, action and level thresholds).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Sigma rules (files or folders, repeatable): the process-creation rules run on the
    /// command line as submitted and decoded (cmd and PowerShell).
    #[arg(long, value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Also run sh and bash scripts in the sandbox (bubblewrap + strace: no network,
    /// read-only system, rlimits, `[sandbox]` settings) and add what they did to the verdict.
    #[arg(long)]
    pub sandbox: bool,
    /// Indented JSON (single text only).
    #[arg(long)]
    pub pretty: bool,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on (overrides the file and WARDEN_LISTEN).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Database file (overrides the file and WARDEN_STORE).
    #[arg(long, value_name = "PATH")]
    pub store: Option<PathBuf>,
    /// Configuration file (TOML: [server], [ingest], [ueba]); WARDEN_* variables override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Forward ingested events (HTTP batches, syslog listeners) to a log for `warden
    /// worker`s instead of detecting here: `kafka://HOST:PORT[,…]/TOPIC`,
    /// `nats://HOST:PORT[,…]/STREAM`, or a topic on the log `--brokers`/`--nats` names.
    /// Another tenant's events go to `<TOPIC>-<tenant>`.
    #[arg(long, value_name = "URL|TOPIC")]
    pub forward_to: Option<String>,
    /// Partitions of a topic or stream created for forwarding.
    #[arg(long, default_value_t = 12, requires = "forward_to")]
    pub forward_partitions: usize,
    #[command(flatten)]
    pub kafka: crate::commands::worker::KafkaArgs,
    #[command(flatten)]
    pub nats: crate::commands::worker::NatsArgs,
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create a token; it is printed once, only its hash is stored.
    Create {
        #[arg(long, value_name = "PATH")]
        store: PathBuf,
        /// read, write (includes read) or admin (includes write).
        #[arg(long)]
        scope: String,
        /// The tenant whose data the token reaches.
        #[arg(long)]
        tenant: String,
        /// A note on who holds it.
        #[arg(long, default_value = "")]
        label: String,
        /// How long it works: a number and a unit (90d, 12h, 30m, 45s, 2w); it does not
        /// expire without.
        #[arg(long, value_name = "DURATION")]
        expires_in: Option<String>,
    },
    /// List tokens (never the tokens themselves): id, tenant, scope, state, expiry, label.
    List {
        #[arg(long, value_name = "PATH")]
        store: PathBuf,
        /// Only this tenant's.
        #[arg(long)]
        tenant: Option<String>,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token: a running service refuses it within `server.token_cache_secs`
    /// (at once when revoked through `DELETE /v1/tokens/{id}`).
    Revoke {
        #[arg(long, value_name = "PATH")]
        store: PathBuf,
        /// The token's id (from `list`).
        id: i64,
    },
    /// Replace a token by a new one with the same scope, tenant and label; the old one is
    /// revoked at once, or keeps working for a grace period.
    Rotate {
        #[arg(long, value_name = "PATH")]
        store: PathBuf,
        /// The token's id (from `list`).
        id: i64,
        /// How long the old token keeps working (1h, 1d, …).
        #[arg(long, value_name = "DURATION")]
        grace: Option<String>,
        /// The new token's lifetime (90d, …); without, the old token's lifetime.
        #[arg(long, value_name = "DURATION")]
        expires_in: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ModelsCommand {
    /// Add a model file as the next version of NAME.
    Register {
        #[arg(long, value_name = "PATH")]
        store: PathBuf,
        #[arg(long)]
        name: String,
        /// Model file written by `warden train`.
        model: PathBuf,
        /// Make it the active version at once.
        #[arg(long)]
        activate: bool,
    },
    /// List registered versions (the active one marked).
    List {
        #[arg(long, value_name = "PATH")]
        store: PathBuf,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Make VERSION of NAME the active model.
    Activate {
        #[arg(long, value_name = "PATH")]
        store: PathBuf,
        #[arg(long)]
        name: String,
        #[arg(long)]
        version: i64,
    },
    /// Go back to the version of NAME that was active before the current one.
    Rollback {
        #[arg(long, value_name = "PATH")]
        store: PathBuf,
        #[arg(long)]
        name: String,
    },
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowFormatArg {
    NslKdd,
    UnswNb15,
    ZeekConn,
    /// User activity (JSON Lines or CSV), turned into the UEBA feature vectors (or, for
    /// `seqae`, windows of each user's recent events) by running the behavioural engine.
    Activity,
}

impl FlowFormatArg {
    pub fn format(self) -> warden_models::ml::flows::FlowFormat {
        match self {
            FlowFormatArg::NslKdd => warden_models::ml::flows::FlowFormat::NslKdd,
            FlowFormatArg::UnswNb15 => warden_models::ml::flows::FlowFormat::UnswNb15,
            FlowFormatArg::ZeekConn => warden_models::ml::flows::FlowFormat::ZeekConn,
            FlowFormatArg::Activity => warden_models::ml::flows::FlowFormat::Activity,
        }
    }
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum HuntFormat {
    Jsonl,
    Csv,
    Table,
}

/// Which rules to load and how to map log sources.
#[derive(Args, Debug, Clone)]
pub struct RuleArgs {
    /// Sigma rule files or folders (read recursively); repeat for several.
    #[arg(long = "rules", short = 'r', value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Log-source mapping file replacing the built-in one (see `warden rules mapping`).
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct HuntArgs {
    #[command(flatten)]
    pub rules: RuleArgs,
    /// EVTX files, JSON / JSON Lines files (plain, .gz, .zst) or folders (recursively); `-`
    /// reads JSON Lines from stdin as a live stream, writing each detection at once.
    #[arg(required = true, value_name = "PATH")]
    pub inputs: Vec<String>,
    /// Lowest rule level reported.
    #[arg(long, value_name = "LEVEL", default_value = "informational", value_parser = parse_sigma_level)]
    pub min_level: warden_sigma::Level,
    /// Output format (default: table on a terminal, JSON Lines otherwise).
    #[arg(long, value_enum)]
    pub format: Option<HuntFormat>,
    /// Write detections to this file instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Only read and decode the records (no rules): the time floor of a hunt.
    #[arg(long)]
    pub parse_only: bool,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Send the run's alerts to an output: a TOML file of `[[outputs]]` tables (the
    /// service's syntax: syslog, file, splunk_hec, elasticsearch, webhook) or a URL —
    /// `syslog+udp://HOST:PORT`, `syslog+tcp://…`, `syslog+tls://…` (`?format=leef`),
    /// `file:PATH.jsonl`, `https://…` (a webhook). Repeatable.
    #[arg(long, value_name = "TARGET")]
    pub send: Vec<String>,
    /// Also analyse the command line of every process creation (Sysmon 1, Security 4688,
    /// ECS process starts): decoded and matched against the payload signatures (and scored
    /// by --payload-model); a verdict at HIGH or above joins the timeline as rule
    /// `warden-payload`.
    #[arg(long)]
    pub payload: bool,
    /// Payload model file (`warden train payload`); implies --payload.
    #[arg(long, value_name = "MODEL")]
    pub payload_model: Option<PathBuf>,
    /// With --payload: a command line started on this many distinct hosts in the hunted
    /// logs is common there and is reported only when its signatures alone reach HIGH (0:
    /// never common).
    #[arg(long, value_name = "N", default_value_t = warden_engine::pipeline::DEFAULT_COMMON_AT, value_parser = parse_common_at)]
    pub common_at_hosts: usize,
}

#[derive(Subcommand, Debug)]
pub enum RulesCommand {
    /// Load rules and report every one loaded or skipped, with the reason.
    Lint {
        #[command(flatten)]
        rules: RuleArgs,
        /// Rule files or folders (in addition to --rules).
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Print JSON (`loaded`, `skipped`, `reasons`, `notes`) instead of a table.
        #[arg(long)]
        json: bool,
        /// Exit with status 1 when any rule is skipped.
        #[arg(long)]
        strict: bool,
    },
    /// Run SigmaHQ-style regression folders (info.yml + EVTX/JSON fixtures): each rule must
    /// fire on its fixture with the expected match count.
    Test {
        #[command(flatten)]
        rules: RuleArgs,
        /// Folders holding info.yml files (searched recursively).
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<PathBuf>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print the built-in log-source mapping, ready to copy and edit.
    Mapping,
}

/// Options shared by commands that read activity.
#[derive(Args, Debug, Clone)]
pub struct InputArgs {
    /// Files or folders (read recursively) of JSON Lines or CSV, plain, .gz or .zst; `-` for stdin.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<String>,
    /// Configuration file (TOML); see `warden config default`.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Force the input format instead of detecting it from names and content.
    #[arg(long, value_enum)]
    pub format: Option<InputFormat>,
    /// Stop at the first malformed record instead of reporting and skipping it.
    #[arg(long)]
    pub strict: bool,
    /// Keep reading each file as it grows, across rotations (rename or truncation), until
    /// Ctrl-C or SIGTERM; then finish as at the end of the input (summary, store).
    #[arg(long)]
    pub follow: bool,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    Jsonl,
    Csv,
    /// Text logs: syslog (RFC 5424/3164: auth.log, secure, messages), CEF, LEEF; their
    /// authentication events are scored.
    Syslog,
    /// Network flows (NSL-KDD CSV); needs --model.
    NslKdd,
    /// Network flows (UNSW-NB15 CSV); needs --model.
    UnswNb15,
    /// Network flows (Zeek conn.log, TSV or JSON); needs --model.
    ZeekConn,
}

impl InputFormat {
    /// The flow format, for the network-flow inputs.
    pub fn flow(self) -> Option<warden_models::ml::flows::FlowFormat> {
        use warden_models::ml::flows::FlowFormat;
        match self {
            InputFormat::NslKdd => Some(FlowFormat::NslKdd),
            InputFormat::UnswNb15 => Some(FlowFormat::UnswNb15),
            InputFormat::ZeekConn => Some(FlowFormat::ZeekConn),
            InputFormat::Jsonl | InputFormat::Csv | InputFormat::Syslog => None,
        }
    }
}

#[derive(Args, Debug)]
pub struct DetectArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Write every scored event, not just alerts.
    #[arg(long)]
    pub all: bool,
    /// Lowest level written (and stored) as an alert.
    #[arg(long, value_name = "LEVEL", default_value = "MEDIUM", value_parser = parse_level)]
    pub min_level: ThreatLevel,
    /// Database file: continue from its baselines, save alerts and updated baselines to it.
    #[arg(long, value_name = "PATH")]
    pub store: Option<PathBuf>,
    /// Labels (JSON Lines: event_id, label) to evaluate detection against.
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
    /// Write the evaluation (with --labels) as JSON to this file.
    #[arg(long, value_name = "FILE", requires = "labels")]
    pub metrics_out: Option<PathBuf>,
    /// Include the 16-dimensional feature vector in each output line.
    #[arg(long)]
    pub features: bool,
    /// Score as N workers over N partitions of a log would (`warden worker`): each user
    /// routed to partition murmur2("user:ID") mod N, every partition with its own engine
    /// (population and source-network counts are per partition). 1: one engine.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub partitions: u32,
    /// Model file (`warden train`): one to score network flows with (`--format
    /// nsl-kdd|unsw-nb15|zeek-conn`); for user activity, up to three trained with `--format
    /// activity` (an iforest, a seqae, a gbdt) joining the score as an ensemble.
    #[arg(long, value_name = "MODEL")]
    pub model: Vec<PathBuf>,
    /// Use the active version of this registered model (needs --store); repeatable like
    /// --model.
    #[arg(long, value_name = "NAME", requires = "store")]
    pub registry_model: Vec<String>,
    /// Check the registry every this many seconds and swap in a newly activated version of
    /// each --registry-model without stopping (for a live stream on `-`).
    #[arg(long, value_name = "SECS", requires = "registry_model")]
    pub reload_secs: Option<u64>,
    /// Print nothing to stdout (summary and evaluation only).
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Send the run's alerts to an output: a TOML file of `[[outputs]]` tables (the
    /// service's syntax: syslog, file, splunk_hec, elasticsearch, webhook) or a URL —
    /// `syslog+udp://HOST:PORT`, `syslog+tcp://…`, `syslog+tls://…` (`?format=leef`),
    /// `file:PATH.jsonl`, `https://…` (a webhook). Repeatable.
    #[arg(long, value_name = "TARGET")]
    pub send: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum BaselineCommand {
    /// Learn baselines from history into the store (no alerts are written).
    Build {
        #[command(flatten)]
        input: InputArgs,
        /// Database file to write the baselines to.
        #[arg(long, value_name = "PATH")]
        store: PathBuf,
    },
    /// Print one user's baseline as JSON.
    Show {
        /// The user id.
        user: String,
        #[arg(long, value_name = "PATH")]
        store: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum AlertsCommand {
    /// List stored alerts, newest first.
    List {
        #[arg(long, value_name = "PATH")]
        store: PathBuf,
        /// Lowest level listed.
        #[arg(long, value_parser = parse_level)]
        level: Option<ThreatLevel>,
        /// Only this user's alerts.
        #[arg(long)]
        user: Option<String>,
        /// Only alerts at or after this time (RFC 3339, or a date like 2026-04-02).
        #[arg(long)]
        since: Option<String>,
        /// At most this many (0 for all).
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Output as JSON Lines instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Print the default configuration (TOML), ready to copy and edit.
    Default,
    /// Check a configuration file and print it with defaults filled in.
    Check {
        /// The configuration file.
        file: PathBuf,
    },
}

/// A host-count threshold for command lines: 0 (never common) or 2 to the most allowed
/// (1 would make every line common at its first start).
pub(crate) fn parse_common_at(s: &str) -> Result<usize, String> {
    let most = warden_engine::pipeline::prevalence::MAX_COMMON_AT;
    match s.parse::<usize>() {
        Ok(n) if n == 0 || (2..=most).contains(&n) => Ok(n),
        _ => Err(format!(
            "0 (never common) or a number of hosts from 2 to {most}"
        )),
    }
}

fn parse_sigma_level(s: &str) -> Result<warden_sigma::Level, String> {
    warden_sigma::Level::parse(s).ok_or_else(|| {
        format!("'{s}' is not a level: informational, low, medium, high or critical")
    })
}

pub(crate) fn parse_level(s: &str) -> Result<ThreatLevel, String> {
    s.parse()
}

#[derive(Subcommand, Debug)]
pub enum GraphCommand {
    /// Build the graph from files and save it (with what it learned) for later hunts and
    /// queries.
    Build(GraphBuildArgs),
    /// Hunt: build the graph in one pass and report the findings as a timeline.
    ///
    /// The first days only teach the graph (see --learn-days) unless --graph gives a
    /// graph built before, which then is the baseline.
    Hunt(GraphHuntArgs),
    /// Counts of a saved graph: nodes and edges by kind, memory, time span.
    Stats(GraphFileArg),
    /// Paths between two entities (at most --max-hops), using only edges seen by --as-of.
    Path(GraphPathArgs),
    /// The edges of an entity, and of their other ends up to --depth.
    Neighbours(GraphNeighboursArgs),
    /// Edges first seen inside a time window.
    NewEdges(GraphWindowArgs),
    /// Export the graph as GraphML (Gephi, Cytoscape) or JSON.
    Export(GraphExportArgs),
}

/// The inputs of a graph build.
#[derive(Args, Debug, Clone)]
pub struct GraphInputs {
    /// EVTX files, JSON / JSON Lines files of Windows events (any common shape; plain, .gz,
    /// .zst), LANL authentication or red-team files (.txt, .csv; plain or .gz), or folders.
    #[arg(required = true, value_name = "PATH")]
    pub inputs: Vec<String>,
    /// The time of second 0 of LANL files (RFC 3339; default the Unix epoch).
    #[arg(long, value_name = "TIME")]
    pub lanl_epoch: Option<String>,
    /// No progress messages.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct GraphBuildArgs {
    #[command(flatten)]
    pub input: GraphInputs,
    /// Where to write the graph.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: PathBuf,
}

#[derive(Args, Debug)]
pub struct GraphHuntArgs {
    #[command(flatten)]
    pub input: GraphInputs,
    /// Sigma rules (files or folders) matched on the Windows events as they are read: the
    /// ATT&CK tactics of detections of high level or above join the progression finder.
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Start from this saved graph (the baseline): every event read is hunted.
    #[arg(long, value_name = "FILE")]
    pub graph: Option<PathBuf>,
    /// Days at the start of the input that only teach the graph (without --graph).
    #[arg(long, value_name = "DAYS", default_value_t = 7.0)]
    pub learn_days: f64,
    /// Learn until this time instead (RFC 3339).
    #[arg(long, value_name = "TIME", conflicts_with = "learn_days")]
    pub learn_until: Option<String>,
    /// Lowest level reported.
    #[arg(long, value_name = "LEVEL", default_value = "MEDIUM", value_parser = parse_level)]
    pub min_level: ThreatLevel,
    /// Output format (default: table on a terminal, JSON Lines otherwise).
    #[arg(long, value_enum)]
    pub format: Option<HuntFormat>,
    /// Write findings to this file instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Save the graph (with this run's events) here afterwards.
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// Deliver each finding to an output (a URL such as `syslog+udp://host:514?format=cef`,
    /// `file:///path.jsonl`, or a TOML file of `[[outputs]]`); repeat for several.
    #[arg(long = "send", value_name = "TARGET")]
    pub send: Vec<String>,
}

#[derive(Args, Debug)]
pub struct GraphFileArg {
    /// A graph written by `warden graph build` or `hunt --save`.
    #[arg(value_name = "GRAPH")]
    pub graph: PathBuf,
}

#[derive(Args, Debug)]
pub struct GraphPathArgs {
    #[command(flatten)]
    pub file: GraphFileArg,
    /// Where paths start: `host:NAME`, `account:NAME`, `ip:ADDRESS` (or a bare name).
    #[arg(long, value_name = "ENTITY")]
    pub from: String,
    /// Where they end; repeat for a set (the nearest is reported first).
    #[arg(long, value_name = "ENTITY", required = true)]
    pub to: Vec<String>,
    /// Use only edges first seen by this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub as_of: Option<String>,
    /// Longest path, in edges.
    #[arg(long, default_value_t = 6)]
    pub max_hops: usize,
    /// Most paths listed.
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
}

#[derive(Args, Debug)]
pub struct GraphNeighboursArgs {
    #[command(flatten)]
    pub file: GraphFileArg,
    /// `host:NAME`, `account:NAME`, `ip:ADDRESS` (or a bare name).
    #[arg(value_name = "ENTITY")]
    pub entity: String,
    #[arg(long, default_value_t = 1)]
    pub depth: usize,
    /// Most edges listed.
    #[arg(long, default_value_t = 200)]
    pub limit: usize,
}

#[derive(Args, Debug)]
pub struct GraphWindowArgs {
    #[command(flatten)]
    pub file: GraphFileArg,
    /// Start of the window (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub since: String,
    /// End of the window (RFC 3339; default: no end).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Only edges of this kind (`remote_logon`, `logon`, `member_of`, `spawn`…).
    #[arg(long, value_name = "KIND")]
    pub kind: Option<String>,
    /// Most edges listed.
    #[arg(long, default_value_t = 1000)]
    pub limit: usize,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphExportFormat {
    Graphml,
    Json,
}

#[derive(Args, Debug)]
pub struct GraphExportArgs {
    #[command(flatten)]
    pub file: GraphFileArg,
    #[arg(long, value_enum, default_value = "graphml")]
    pub format: GraphExportFormat,
    /// Write here instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}
