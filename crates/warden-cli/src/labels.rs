//! Loading a labels file (JSON Lines of `event_id`, `label`, optional `scenario`; plain,
//! .gz or .zst).

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
    #[serde(default)]
    scenario: Option<String>,
}

/// A labels file read.
#[derive(Debug, Default)]
pub struct Labels {
    /// `event_id → label`.
    pub labels: HashMap<String, String>,
    /// `event_id → scenario instance`, for the events whose `scenario` names one instance
    /// (`unusual_resources-c00020-33`). A `scenario` that only repeats the label's kind
    /// (`unusual_volume` for `attack:unusual_volume`) names none and is not kept.
    pub instances: HashMap<String, String>,
}

/// `event_id → label`. Malformed lines are reported and skipped.
pub fn load(path: &Path) -> Result<HashMap<String, String>> {
    Ok(load_all(path)?.labels)
}

/// Labels and scenario instances. Malformed lines are reported and skipped.
pub fn load_all(path: &Path) -> Result<Labels> {
    let opened = InputSource::Path(path.to_path_buf())
        .open()
        .with_context(|| format!("cannot open labels {}", path.display()))?;
    let mut lines = LineReader::new(opened.reader, MAX_LABEL_LINE);
    let mut buf = Vec::new();
    let mut out = Labels::default();
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
                let kind = l.label.split_once(':').map_or(l.label.as_str(), |(_, k)| k);
                if let Some(sc) = l.scenario.filter(|sc| !sc.is_empty() && sc != kind) {
                    out.instances.insert(l.event_id.clone(), sc);
                }
                out.labels.insert(l.event_id, l.label);
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
    if out.labels.is_empty() {
        bail!(
            "{}: no labels found (expected JSON Lines with event_id and label)",
            path.display()
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_instances_are_kept_and_kind_names_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("labels.jsonl");
        std::fs::write(
            &path,
            concat!(
                r#"{"event_id":"e1","label":"normal","scenario":""}"#,
                "\n",
                r#"{"event_id":"e2","label":"attack:unusual_volume","scenario":"unusual_volume"}"#,
                "\n",
                r#"{"event_id":"e3","label":"attack:unusual_resources","scenario":"unusual_resources-c7-33"}"#,
                "\n",
                r#"{"event_id":"e4","label":"benign:role_change"}"#,
                "\n",
                "not json\n",
            ),
        )
        .unwrap();
        let l = load_all(&path).unwrap();
        assert_eq!(l.labels.len(), 4);
        assert_eq!(l.labels["e2"], "attack:unusual_volume");
        assert_eq!(l.instances.len(), 1);
        assert_eq!(l.instances["e3"], "unusual_resources-c7-33");
    }
}
