//! `warden network`: rule-based network detection over Zeek logs — scans, beaconing, DNS
//! tunnelling and generated names, long connections, large transfers out — each finding
//! explained and citing its Zeek `uid`s, one JSON object per line; `--send` delivers each
//! as an alert (the service's shape) to the outputs.

use std::io::Write;
use std::path::Path;

use anyhow::{Result, bail};
use warden_engine::network::{NetworkHunter, alert::to_alert};
use warden_event::DEFAULT_TENANT;
use warden_ingest::documents::{self, DocFormat};

use crate::cli::NetworkArgs;
use crate::config_file::WardenConfig;
use crate::sending::{Sender, finish_checked};

/// Shown in full; later errors are only counted.
const MAX_PRINTED_ERRORS: u64 = 20;

pub fn run(args: &NetworkArgs) -> Result<()> {
    let cfg = WardenConfig::load(args.config.as_deref())?;
    let mut hunter = NetworkHunter::new(cfg.network.clone());
    let sender = Sender::start(&args.send)?;
    let mut files = Vec::new();
    let mut skipped = 0;
    for input in &args.inputs {
        let p = Path::new(input);
        if !p.exists() {
            bail!("{input}: no such file or folder");
        }
        crate::folders::files(
            p,
            &|f| documents::sniff(f) == Some(DocFormat::Zeek),
            &mut files,
            &mut skipped,
        );
    }
    if files.is_empty() {
        bail!("no Zeek logs in {}", args.inputs.join(", "));
    }
    let started = std::time::Instant::now();
    let (mut records, mut errors) = (0u64, 0u64);
    for f in &files {
        let read = documents::read_documents(f, DocFormat::Zeek, 1, &mut |r| match r {
            Ok(rec) => {
                records += 1;
                hunter.add(&rec.doc);
            }
            Err(e) => {
                errors += 1;
                if errors <= MAX_PRINTED_ERRORS {
                    eprintln!("warning: skipped: {e}");
                }
            }
        });
        if let Err(e) = read {
            errors += 1;
            eprintln!("warning: {e}");
        }
    }
    let (conns, dns) = hunter.counts();
    let apps = hunter.applications();
    let findings = hunter.findings();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut shown = 0;
    for f in findings.iter().filter(|f| f.level >= args.min_level) {
        serde_json::to_writer(&mut out, f)?;
        out.write_all(b"\n")?;
        shown += 1;
    }
    out.flush()?;
    eprintln!(
        "network: {} files ({skipped} other files skipped), {records} records ({conns} conn, {dns} dns analysed, {apps} connections described by ssl/http/notice{}), {errors} errors, in {:.2} s",
        files.len(),
        if hunter.dropped > 0 {
            format!(", {} beyond the limit not analysed", hunter.dropped)
        } else {
            String::new()
        },
        started.elapsed().as_secs_f64()
    );
    let mut by_kind = std::collections::BTreeMap::new();
    for f in findings.iter().filter(|f| f.level >= args.min_level) {
        *by_kind.entry(f.kind.as_str()).or_insert(0) += 1;
    }
    let kinds: Vec<String> = by_kind.iter().map(|(k, n)| format!("{k} {n}")).collect();
    eprintln!(
        "findings at {} or above: {shown}{}{}",
        args.min_level,
        if kinds.is_empty() { "" } else { " — " },
        kinds.join(", ")
    );
    if let Some(s) = &sender {
        for f in findings.iter().filter(|f| f.level >= args.min_level) {
            s.send(to_alert(DEFAULT_TENANT, f, cfg.network.window_secs));
        }
    }
    finish_checked(sender)
}
