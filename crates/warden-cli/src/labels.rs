//! Loading a labels file (JSON Lines of `event_id`, `label`; plain, .gz or .zst).

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;
use warden_ingest::InputSource;
use warden_ingest::lines::{Line, LineReader};

/// Longest accepted label line.
const MAX_LABEL_LINE: usize = 64 * 1024;
/// Malformed label lines shown in full; later ones are only counted.
const MAX_PRINTED: u64 = 5;

#[derive(Deserialize)]
struct LabelLine {
    event_id: String,
    label: String,
}

/// `event_id → label`. Malformed lines are reported and skipped.
pub fn load(path: &Path) -> Result<HashMap<String, String>> {
    let opened = InputSource::Path(path.to_path_buf())
        .open()
        .with_context(|| format!("cannot open labels {}", path.display()))?;
    let mut lines = LineReader::new(opened.reader, MAX_LABEL_LINE);
    let mut buf = Vec::new();
    let mut out = HashMap::new();
    let mut bad = 0u64;
    let mut complain = |n: u64, why: String| {
        bad += 1;
        if bad <= MAX_PRINTED {
            eprintln!("warning: skipped label: {}:{n}: {why}", path.display());
        }
    };
    loop {
        let n = match lines.next_line(&mut buf) {
            Ok(None) => break,
            Ok(Some(Line::Ok(n))) => n,
            Ok(Some(Line::TooLong(n, len))) => {
                complain(
                    n,
                    format!("line of {len} bytes is over the {MAX_LABEL_LINE}-byte limit"),
                );
                continue;
            }
            Err(e) => {
                let at = lines.line_no() + 1;
                return Err(e)
                    .with_context(|| format!("{}:{at}: cannot read labels", path.display()));
            }
        };
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<LabelLine>(&buf) {
            Ok(l) => {
                out.insert(l.event_id, l.label);
            }
            Err(e) => complain(n, e.to_string()),
        }
    }
    if bad > MAX_PRINTED {
        eprintln!(
            "warning: {} more malformed label lines not shown",
            bad - MAX_PRINTED
        );
    }
    if out.is_empty() {
        bail!(
            "{}: no labels found (expected JSON Lines with event_id and label)",
            path.display()
        );
    }
    Ok(out)
}
