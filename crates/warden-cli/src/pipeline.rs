//! Reading every input in order and handing each good record on; bad records are reported
//! (file, line, reason), counted, and skipped — or fatal with `--strict`.

use crate::cli::{InputArgs, InputFormat};
use crate::config_file::WardenConfig;
use anyhow::{Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use warden_event::UserActivity;
use warden_ingest::follow::FollowOptions;
use warden_ingest::{ActivityReader, Format, InputSource, discover_inputs};

/// Shown in full; later errors are only counted.
const MAX_PRINTED_ERRORS: u64 = 20;

/// What reading produced.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReadTotals {
    pub inputs: usize,
    pub records: u64,
    pub parse_errors: u64,
    /// Activities placed from their address (`[ingest.geoip]`).
    pub located: u64,
}

/// Reads all inputs, calling `on_record` for each good activity.
pub fn read_all(
    args: &InputArgs,
    cfg: &WardenConfig,
    mut on_record: impl FnMut(UserActivity) -> Result<()>,
) -> Result<ReadTotals> {
    let mut totals = ReadTotals::default();
    // A missing or unreadable input is reported and skipped like a bad record: the others
    // are still read (unless --strict).
    let mut sources = Vec::new();
    for arg in &args.inputs {
        match discover_inputs(std::slice::from_ref(arg)) {
            Ok(found) => sources.extend(found),
            Err(e) => report(&mut totals, args.strict, &e)?,
        }
    }
    if sources.is_empty() {
        bail!("no readable input files in {}", args.inputs.join(", "));
    }
    if args.follow {
        sources = following(sources)?;
    }
    totals.inputs = sources.len();
    let aliases = cfg.aliases()?;
    let opts = cfg.reader_options();
    let geoip = cfg.ingest.open_geoip()?;
    let forced = args.format.map(|f| match f {
        InputFormat::Jsonl => Format::JsonLines,
        InputFormat::Csv => Format::Csv,
        InputFormat::Syslog => Format::Text,
        // Flow formats never reach the activity reader (detect routes them to the model).
        InputFormat::NslKdd | InputFormat::UnswNb15 | InputFormat::ZeekConn => Format::Csv,
    });
    let progress = progress_bar();
    for source in &sources {
        let reader = match ActivityReader::open_detect(source, forced, &aliases, &opts) {
            Ok(r) => r,
            Err(e) => {
                report(&mut totals, args.strict, &e)?;
                continue;
            }
        };
        for item in reader {
            match item {
                Ok(mut rec) => {
                    totals.records += 1;
                    if let Some(g) = &geoip
                        && g.enrich_activity(&mut rec.activity)
                    {
                        totals.located += 1;
                    }
                    on_record(rec.activity)?;
                    if totals.records.is_multiple_of(65_536) {
                        progress.set_position(totals.records);
                    }
                }
                Err(e) => report(&mut totals, args.strict, &e)?,
            }
        }
    }
    progress.finish_and_clear();
    if let Some(g) = &geoip {
        eprintln!(
            "geoip ({}): {} of {} events placed from their address",
            g.kind(),
            totals.located,
            totals.records
        );
    }
    if totals.parse_errors > MAX_PRINTED_ERRORS {
        eprintln!(
            "warning: {} more malformed records not shown",
            totals.parse_errors - MAX_PRINTED_ERRORS
        );
    }
    Ok(totals)
}

/// The files as followed inputs, read until Ctrl-C or SIGTERM. One file at a time is
/// read to its end before the next, so following takes one file.
fn following(sources: Vec<InputSource>) -> Result<Vec<InputSource>> {
    let [InputSource::Path(path)] = sources.as_slice() else {
        bail!(
            "--follow reads one file ({} inputs given; standard input is followed by piping it)",
            sources.len()
        );
    };
    let opts = FollowOptions {
        stop: stop_on_signal()?,
        ..FollowOptions::default()
    };
    eprintln!("following {} (Ctrl-C or SIGTERM to finish)", path.display());
    Ok(vec![InputSource::Follow(path.clone(), opts)])
}

/// A flag set on Ctrl-C or SIGTERM (watched by a thread of its own).
pub fn stop_on_signal() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let flag = stop.clone();
    std::thread::spawn(move || {
        rt.block_on(async {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            let term = async {
                match term.as_mut() {
                    Some(t) => {
                        t.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                () = term => {},
            }
        });
        // The follower stops at its next read: the run finishes at once.
        flag.store(true, Ordering::Relaxed);
    });
    Ok(stop)
}

fn report(totals: &mut ReadTotals, strict: bool, e: &warden_ingest::IngestError) -> Result<()> {
    totals.parse_errors += 1;
    if strict {
        bail!("{e} (--strict: stopping at the first malformed record)");
    }
    if totals.parse_errors <= MAX_PRINTED_ERRORS {
        eprintln!("warning: skipped: {e}");
    }
    Ok(())
}

fn progress_bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} {pos} events read ({per_sec}) {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}
