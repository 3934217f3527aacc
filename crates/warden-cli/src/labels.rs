//! Loading a labels file (JSON Lines of `event_id`, `label`; plain, .gz or .zst).

use anyhow::{Context, Result};
use serde::Deserialize;
use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;
use warden_ingest::InputSource;

#[derive(Deserialize)]
struct LabelLine {
    event_id: String,
    label: String,
}

/// `event_id → label`. Malformed lines are reported and skipped.
pub fn load(path: &Path) -> Result<HashMap<String, String>> {
    let mut opened = InputSource::Path(path.to_path_buf())
        .open()
        .with_context(|| format!("cannot open labels {}", path.display()))?;
    let mut out = HashMap::new();
    let mut line = String::new();
    let mut n = 0u64;
    let mut bad = 0u64;
    loop {
        line.clear();
        let read = opened
            .reader
            .read_line(&mut line)
            .with_context(|| format!("{}:{}: cannot read labels", path.display(), n + 1))?;
        if read == 0 {
            break;
        }
        n += 1;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<LabelLine>(&line) {
            Ok(l) => {
                out.insert(l.event_id, l.label);
            }
            Err(e) => {
                bad += 1;
                if bad <= 5 {
                    eprintln!("warning: skipped label: {}:{n}: {e}", path.display());
                }
            }
        }
    }
    if out.is_empty() {
        anyhow::bail!(
            "{}: no labels found (expected JSON Lines with event_id and label)",
            path.display()
        );
    }
    Ok(out)
}
