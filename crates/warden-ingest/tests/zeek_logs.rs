//! Every Zeek log of `../shared/data/zeek/` (OTRF APT29 JSON, OTRF LSASS campaigns TSV, the
//! ZAT samples in both flavours, gzip included) is read as Zeek with no error — except the
//! sample that is a truncated gzip stream on purpose, which is reported — and every
//! document knows its log type. Skipped, with a message, where the shared data is absent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use warden_ingest::documents::{self, DocFormat};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn every_zeek_log_reads_without_error() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/zeek");
    if !root.exists() {
        eprintln!("skipped: {} is absent (shared data set)", root.display());
        return;
    }
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    let mut per_type: BTreeMap<String, u64> = BTreeMap::new();
    let mut logs = 0;
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let is_log = name.contains(".log");
        let fmt = documents::sniff(f);
        if !is_log {
            assert_eq!(fmt, None, "{name} is no log");
            continue;
        }
        assert_eq!(fmt, Some(DocFormat::Zeek), "{}", f.display());
        logs += 1;
        let mut errors = Vec::new();
        let counts = documents::read_documents(f, DocFormat::Zeek, 1, &mut |r| match r {
            Ok(rec) => {
                let path = rec.doc["_path"]
                    .as_str()
                    .expect("every document has its log type");
                *per_type.entry(path.to_owned()).or_default() += 1;
                if rec.doc.get("ts").is_some() {
                    assert!(rec.doc.get("@timestamp").is_some(), "{}", rec.doc);
                }
            }
            Err(e) => errors.push(e.to_string()),
        })
        .unwrap();
        if name == "http.log.corrupt.gz" {
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert!(errors[0].contains("gzip"), "{errors:?}");
            assert!(counts.records > 100, "records before the cut are kept");
        } else {
            assert!(errors.is_empty(), "{}: {errors:?}", f.display());
        }
    }
    assert!(logs >= 200, "{logs} logs");
    for t in [
        "conn",
        "dns",
        "http",
        "ssl",
        "x509",
        "files",
        "kerberos",
        "smb_mapping",
        "smb_files",
        "dce_rpc",
        "notice",
        "weird",
    ] {
        assert!(
            per_type.get(t).is_some_and(|n| *n > 0),
            "no {t} records: {per_type:?}"
        );
    }
}
