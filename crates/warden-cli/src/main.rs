//! `warden`: the command-line entry point. Exit codes: 0 success, 1 error (message on
//! stderr; for `rules test`, a failing fixture; for `rules lint --strict`, a skipped rule),
//! 2 invalid arguments.

/// `println!` for command output: a closed stdout (`| head`) ends the output quietly
/// instead of panicking; other write errors are returned.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::stdout_line(format_args!($($arg)*))
    };
}

mod cli;
mod commands;
mod config_file;
mod folders;
mod labels;
mod pipeline;
mod registry_watch;
mod sending;
mod summary;

use clap::Parser;
use std::process::ExitCode;

/// Writes one line to stdout (see [`out!`]).
pub fn stdout_line(args: std::fmt::Arguments<'_>) -> std::io::Result<()> {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    match o.write_fmt(args).and_then(|()| o.write_all(b"\n")) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}

/// Log lines from the libraries (outputs, the service) on stderr: `WARN output siem: …`,
/// without times (a service's supervisor adds its own).
fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .with_max_level(tracing::Level::INFO)
        .try_init();
}

fn main() -> ExitCode {
    init_logging();
    let args = cli::Cli::parse();
    let result = match &args.command {
        cli::Command::Detect(a) => commands::detect::run(a),
        cli::Command::Baseline(c) => commands::baseline::run(c),
        cli::Command::Alerts(c) => commands::alerts::run(c),
        cli::Command::Config(c) => commands::config::run(c),
        cli::Command::Hunt(a) => commands::hunt::run(a),
        cli::Command::Rules(c) => commands::rules::run(c),
        cli::Command::Graph(c) => commands::graph::run(c),
        cli::Command::Train(c) => commands::ml::train(c),
        cli::Command::Eval(a) => commands::ml::eval(a),
        cli::Command::Drift(a) => commands::ml::drift(a),
        cli::Command::Models(c) => commands::ml::models(c),
        cli::Command::Serve(a) => commands::serve::serve(a),
        cli::Command::Token(c) => commands::token::run(c),
        cli::Command::Analyze(a) => commands::payload::analyze(a),
        cli::Command::Network(a) => commands::network::run(a),
        cli::Command::Worker(a) => commands::worker::worker(a),
        cli::Command::Ship(a) => commands::worker::ship(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
