//! `warden ship --logs`: log documents (EVTX, Windows XML, JSON of any shape, syslog/CEF/LEEF,
//! Zeek) sent one message each as JSON, keyed by the entity whose state they touch.

use std::path::Path;

use anyhow::{Result, bail};
use warden_ingest::documents::{self, LogRecord, ReadCounts};
use warden_ingest::{IngestError, classify::is_activity};

use crate::cli::InputArgs;

/// Shown in full; later errors are only counted.
const MAX_PRINTED_ERRORS: u64 = 20;

/// The key of a document: `user:<id>` for a user activity, else the table of
/// `warden_worker::keys` (host for Windows and syslog, originating address for Zeek).
fn key_of(doc: &serde_json::Value) -> Option<String> {
    if is_activity(doc) {
        return doc
            .get("user_id")
            .and_then(serde_json::Value::as_str)
            .map(|u| format!("user:{u}"));
    }
    warden_worker::keys::document_key(doc)
}

/// Reads every log document of the inputs (files in name order, each in its own order;
/// `-` reads JSON Lines from stdin) and hands each to `send`; returns the documents that
/// could not be read. A failed send stops the shipment.
pub fn ship_documents(
    input: &InputArgs,
    send: impl FnMut(Option<&str>, &[u8]) -> Result<()>,
) -> Result<u64> {
    let mut st = Shipping {
        send,
        buf: Vec::with_capacity(1024),
        errors: 0,
        failed: None,
    };
    for (path, format) in inputs(&input.inputs)? {
        let read = match &path {
            None => {
                let mut counts = ReadCounts::default();
                let stdin = std::io::stdin().lock();
                documents::read_json_lines(stdin, "stdin", "", &mut counts, &mut |r| st.take(r))
            }
            Some(p) => documents::read_documents(p, format, 1, &mut |r| st.take(r)).map(|_| ()),
        };
        if let Err(e) = read {
            if input.strict {
                return Err(e.into());
            }
            st.errors += 1;
            eprintln!("warden ship: {e}");
        }
        if let Some(e) = st.failed.take() {
            return Err(e);
        }
        if input.strict && st.errors > 0 {
            bail!("a document could not be read (--strict)");
        }
    }
    if st.errors > MAX_PRINTED_ERRORS {
        eprintln!(
            "warning: {} more unreadable documents not shown",
            st.errors - MAX_PRINTED_ERRORS
        );
    }
    Ok(st.errors)
}

/// A shipment under way.
struct Shipping<F> {
    send: F,
    buf: Vec<u8>,
    errors: u64,
    /// The send that failed: nothing more is sent.
    failed: Option<anyhow::Error>,
}

impl<F: FnMut(Option<&str>, &[u8]) -> Result<()>> Shipping<F> {
    fn take(&mut self, r: Result<LogRecord, IngestError>) {
        if self.failed.is_some() {
            return;
        }
        match r {
            Ok(rec) => {
                self.buf.clear();
                if let Err(e) = serde_json::to_writer(&mut self.buf, &rec.doc) {
                    self.failed = Some(e.into());
                } else if let Err(e) = (self.send)(key_of(&rec.doc).as_deref(), &self.buf) {
                    self.failed = Some(e);
                }
            }
            Err(e) => {
                self.errors += 1;
                if self.errors <= MAX_PRINTED_ERRORS {
                    eprintln!("warden ship: {e}");
                }
            }
        }
    }
}

/// The files to read (`None`: stdin), in name order: events of one host spread over
/// several files arrive in the order the files were written.
fn inputs(args: &[String]) -> Result<Vec<(Option<std::path::PathBuf>, documents::DocFormat)>> {
    let mut out = Vec::new();
    for input in args {
        if input == "-" {
            out.push((None, documents::DocFormat::Json));
            continue;
        }
        let p = Path::new(input);
        if !p.exists() {
            bail!("{input}: no such file or folder");
        }
        let mut found = Vec::new();
        let mut skipped = 0;
        crate::folders::files(
            p,
            &|f| documents::sniff(f).is_some(),
            &mut found,
            &mut skipped,
        );
        found.sort();
        for f in found {
            if let Some(format) = documents::sniff(&f) {
                out.push((Some(f), format));
            }
        }
    }
    if out.is_empty() {
        bail!("no log files in {}", args.join(", "));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(path: &Path, strict: bool) -> InputArgs {
        InputArgs {
            inputs: vec![path.display().to_string()],
            config: None,
            format: None,
            strict,
            follow: false,
        }
    }

    #[test]
    fn each_document_goes_out_keyed_by_its_entity_and_a_bad_line_is_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mixed.jsonl");
        std::fs::write(
            &path,
            concat!(
                r#"{"Event":{"System":{"EventID":4625,"Computer":"WS1.corp"},"EventData":{}}}"#,
                "\n{not json\n",
                r#"{"user_id":"ana","activity_type":"login","timestamp":"2026-03-02T09:00:00Z"}"#,
                "\n",
                r#"{"ts":1.0,"uid":"C1","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2"}"#,
                "\n",
            ),
        )
        .unwrap();
        let mut sent = Vec::new();
        let errors = ship_documents(&input(&path, false), |key, body| {
            let doc: serde_json::Value = serde_json::from_slice(body)?;
            sent.push((key.map(str::to_owned), doc.is_object()));
            Ok(())
        })
        .unwrap();
        assert_eq!(errors, 1);
        let keys: Vec<_> = sent.iter().map(|(k, _)| k.as_deref()).collect();
        assert_eq!(
            keys,
            [Some("host:ws1.corp"), Some("user:ana"), Some("ip:10.0.0.1")]
        );
        assert!(sent.iter().all(|(_, object)| *object));
        assert!(ship_documents(&input(&path, true), |_, _| Ok(())).is_err());
    }

    #[test]
    fn a_failed_send_stops_the_shipment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("two.jsonl");
        std::fs::write(
            &path,
            "{\"host\":{\"name\":\"a\"}}\n{\"host\":{\"name\":\"b\"}}\n",
        )
        .unwrap();
        let mut calls = 0;
        let r = ship_documents(&input(&path, false), |_, _| {
            calls += 1;
            anyhow::bail!("broker gone")
        });
        assert_eq!(r.unwrap_err().to_string(), "broker gone");
        assert_eq!(calls, 1);
    }
}
