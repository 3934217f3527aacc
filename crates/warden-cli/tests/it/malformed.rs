//! Malformed input: every bad record is reported with file and line, counted, and skipped;
//! its neighbours are kept. `--strict` makes the first one fatal.

use super::{lines, run};
use std::io::Write;

fn good(id: &str) -> String {
    format!(
        "{{\"event_id\":\"{id}\",\"user_id\":\"u1\",\"timestamp\":\"2026-04-02T10:00:00Z\",\"activity_type\":\"login\"}}\n"
    )
}

fn malformed_file(dir: &std::path::Path) -> std::path::PathBuf {
    let mut data = Vec::new();
    data.extend_from_slice(good("ok1").as_bytes());
    data.extend_from_slice(b"{\"user_id\":\"u1\",\"timestamp\":\"2026-04-02T10:00:00Z\"\n"); // truncated JSON
    data.extend_from_slice(b"{\"user_id\":\"u\xff\xfe\",\"timestamp\":\"2026-04-02T10:00:00Z\"}\n"); // invalid UTF-8
    data.extend_from_slice(
        b"{\"user_id\":\"u1\",\"timestamp\":\"2026-04-02T10:00:00Z\",\"latitude\":\"north\"}\n",
    ); // wrong type
    data.extend_from_slice(b"{\"timestamp\":\"2026-04-02T10:00:00Z\"}\n"); // missing field
    data.push(b'{');
    data.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024)); // a 10 MB line
    data.extend_from_slice(b"}\n");
    data.extend_from_slice(good("ok2").as_bytes());
    let path = dir.join("bad.jsonl");
    std::fs::write(&path, data).unwrap();
    path
}

#[test]
fn bad_records_are_reported_counted_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = malformed_file(dir.path());
    let p = path.to_str().unwrap();
    let (code, out, err) = run(&["detect", "--all", p]);
    assert_eq!(code, 0, "{err}");
    let ids: Vec<_> = lines(&out)
        .iter()
        .map(|r| r["event_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["ok1", "ok2"], "neighbours of bad records are kept");
    assert!(err.contains("5 parse errors"), "{err}");
    assert!(err.contains(&format!("{p}:2: invalid JSON")), "{err}");
    assert!(
        err.contains(&format!("{p}:3: record is not valid UTF-8")),
        "{err}"
    );
    assert!(err.contains(&format!("{p}:4: field `latitude`")), "{err}");
    assert!(
        err.contains(&format!("{p}:5: missing required field `user_id`")),
        "{err}"
    );
    assert!(err.contains(&format!("{p}:6: line longer than")), "{err}");
}

#[test]
fn strict_stops_at_the_first_bad_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = malformed_file(dir.path());
    let (code, _, err) = run(&["detect", "--strict", "--all", path.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        err.contains(":2: invalid JSON") && err.contains("--strict"),
        "{err}"
    );
}

#[test]
fn truncated_gzip_keeps_what_came_before_and_the_next_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..3000 {
        text.push_str(&good(&format!("g{i}")));
    }
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(text.as_bytes()).unwrap();
    let mut gz = enc.finish().unwrap();
    gz.truncate(gz.len() * 2 / 3);
    let cut = dir.path().join("a_cut.jsonl.gz");
    std::fs::write(&cut, gz).unwrap();
    let next = dir.path().join("b_next.jsonl");
    std::fs::write(&next, good("after")).unwrap();
    let (code, out, err) = run(&["detect", "--all", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let rows = lines(&out);
    assert!(
        rows.len() > 100,
        "records before the cut are kept: {}",
        rows.len()
    );
    assert_eq!(
        rows.last().unwrap()["event_id"],
        "after",
        "the next file is still read"
    );
    assert!(
        err.contains("a_cut.jsonl.gz") && err.contains("gzip"),
        "{err}"
    );
}

#[test]
fn a_missing_input_is_reported_and_the_others_are_read() {
    let (code, _, err) = run(&["detect", "/no/such/file.jsonl"]);
    assert_eq!(code, 1, "nothing readable at all is an error");
    assert!(
        err.contains("/no/such/file.jsonl") && err.contains("cannot open input"),
        "{err}"
    );

    let good = super::data("attack.jsonl");
    let (code, out, err) = run(&["detect", "--all", "/no/such/file.jsonl", &good]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(lines(&out).len(), 4);
    assert!(
        err.contains("cannot open input") && err.contains("1 parse errors"),
        "{err}"
    );

    let (code, _, err) = run(&["detect", "--strict", "/no/such/file.jsonl", &good]);
    assert_eq!(code, 1, "{err}");
}
