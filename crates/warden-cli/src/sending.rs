//! `--send`: a run's alerts delivered to the same outputs the service has (syslog over
//! UDP, TCP or TLS carrying CEF or LEEF, JSON Lines files, Splunk HEC, Elasticsearch,
//! webhooks), through `warden-outputs`. The outputs run on a small runtime of their own;
//! the run waits for each queue to drain at the end and reports what was delivered.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use warden_event::Alert;
use warden_outputs::{Delivery, OutputConfig, OutputReport, Outputs, OutputsFile};

/// How long the end of a run waits for the outputs to deliver what is queued.
const DRAIN: Duration = Duration::from_secs(60);

/// The outputs of one run.
pub struct Sender {
    rt: tokio::runtime::Runtime,
    outputs: Outputs,
}

/// The outputs named by `--send` values: TOML files of `[[outputs]]`, or URLs.
pub fn configs(specs: &[String]) -> Result<Vec<OutputConfig>> {
    let mut out = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let is_file = spec.ends_with(".toml") && Path::new(spec).is_file();
        if is_file {
            let text =
                std::fs::read_to_string(spec).with_context(|| format!("cannot read {spec}"))?;
            let file = OutputsFile::parse(&text).with_context(|| format!("--send {spec}"))?;
            out.extend(file.outputs);
        } else {
            out.push(OutputConfig::from_url(spec, i + 1).context("--send")?);
        }
    }
    let mut names: Vec<&str> = out.iter().map(OutputConfig::name).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        anyhow::bail!("--send: two outputs are named `{}`", w[0]);
    }
    Ok(out)
}

impl Sender {
    /// Starts the outputs; `None` when no `--send` was given.
    pub fn start(specs: &[String]) -> Result<Option<Sender>> {
        if specs.is_empty() {
            return Ok(None);
        }
        let configs = configs(specs)?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("warden-send")
            .enable_all()
            .build()
            .context("cannot start the outputs' runtime")?;
        let outputs = {
            let _guard = rt.enter();
            Outputs::start(&configs)
        };
        Ok(Some(Sender { rt, outputs }))
    }

    /// Hands one alert to every output that wants it; waits while a queue is full (a run
    /// would rather slow down than drop alerts).
    pub fn send(&self, alert: Alert) {
        self.outputs
            .dispatch_wait(&Delivery::new(None, Arc::new(alert)));
    }

    /// Waits for the queues to drain; prints one line per output on stderr.
    pub fn finish(self) -> Vec<OutputReport> {
        let Sender { rt, outputs } = self;
        let reports = rt.block_on(outputs.finish(DRAIN));
        print_reports(&reports);
        reports
    }
}

/// One line per output on stderr: what it delivered, failed, dropped, left pending.
pub fn print_reports(reports: &[OutputReport]) {
    for r in reports {
        eprintln!(
            "output {}: {} delivered, {} failed, {} dropped, {} pending, {} retries",
            r.name, r.delivered, r.failed, r.dropped, r.pending, r.retries
        );
    }
}

/// Waits for `--send` outputs to deliver; an error when some alerts did not arrive.
pub fn finish_checked(sender: Option<Sender>) -> Result<()> {
    let reports = sender.map(Sender::finish).unwrap_or_default();
    if reports.iter().any(|o| o.failed + o.dropped + o.pending > 0) {
        anyhow::bail!("some alerts did not reach every output (see above)");
    }
    Ok(())
}
