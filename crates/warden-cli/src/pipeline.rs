//! Reading every input in order and handing each good record on; bad records are reported
//! (file, line, reason), counted, and skipped — or fatal with `--strict`.

use crate::cli::{InputArgs, InputFormat};
use crate::config_file::WardenConfig;
use anyhow::{Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;
use warden_event::UserActivity;
use warden_ingest::{ActivityReader, Format, discover_inputs};

/// Shown in full; later errors are only counted.
const MAX_PRINTED_ERRORS: u64 = 20;

/// What reading produced.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReadTotals {
    pub inputs: usize,
    pub records: u64,
    pub parse_errors: u64,
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
    totals.inputs = sources.len();
    let aliases = cfg.aliases()?;
    let opts = cfg.reader_options();
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
                Ok(rec) => {
                    totals.records += 1;
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
    if totals.parse_errors > MAX_PRINTED_ERRORS {
        eprintln!(
            "warning: {} more malformed records not shown",
            totals.parse_errors - MAX_PRINTED_ERRORS
        );
    }
    Ok(totals)
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
