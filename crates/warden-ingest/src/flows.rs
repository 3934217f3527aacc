//! Network-flow readers: NSL-KDD and UNSW-NB15 CSV rows and Zeek `conn.log` (TSV with its
//! `#fields` header, or JSON Lines) → labelled raw [`FlowRecord`]s, with every bad line
//! returned apart with its line number. A line is at most [`MAX_LINE_BYTES`] long.

use std::io::BufRead;

use warden_event::flow::{Columns, FlowFormat, FlowOrigin, FlowRecord};

/// Longest input line accepted.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

const NSL_KDD_COLUMNS: [&str; 41] = [
    "duration",
    "protocol_type",
    "service",
    "flag",
    "src_bytes",
    "dst_bytes",
    "land",
    "wrong_fragment",
    "urgent",
    "hot",
    "num_failed_logins",
    "logged_in",
    "num_compromised",
    "root_shell",
    "su_attempted",
    "num_root",
    "num_file_creations",
    "num_shells",
    "num_access_files",
    "num_outbound_cmds",
    "is_host_login",
    "is_guest_login",
    "count",
    "srv_count",
    "serror_rate",
    "srv_serror_rate",
    "rerror_rate",
    "srv_rerror_rate",
    "same_srv_rate",
    "diff_srv_rate",
    "srv_diff_host_rate",
    "dst_host_count",
    "dst_host_srv_count",
    "dst_host_same_srv_rate",
    "dst_host_diff_srv_rate",
    "dst_host_same_src_port_rate",
    "dst_host_srv_diff_host_rate",
    "dst_host_serror_rate",
    "dst_host_srv_serror_rate",
    "dst_host_rerror_rate",
    "dst_host_srv_rerror_rate",
];
const NSL_KDD_CATEGORICAL: [&str; 3] = ["protocol_type", "service", "flag"];
const UNSW_CATEGORICAL: [&str; 3] = ["proto", "service", "state"];
const UNSW_DROPPED: [&str; 3] = ["id", "attack_cat", "label"];
/// Zeek conn fields used: numbers (unset `-` → 0), then categories.
const ZEEK_NUMERIC: [&str; 9] = [
    "duration",
    "orig_bytes",
    "resp_bytes",
    "missed_bytes",
    "orig_pkts",
    "orig_ip_bytes",
    "resp_pkts",
    "resp_ip_bytes",
    "id.resp_p",
];
const ZEEK_CATEGORICAL: [&str; 3] = ["proto", "service", "conn_state"];

/// A bad input line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct FlowError {
    pub line: u64,
    pub reason: String,
}

/// Reads labelled flows; bad lines are returned apart, with their line numbers.
pub struct FlowReader<R> {
    format: FlowFormat,
    input: R,
    line: u64,
    header: Option<Vec<String>>,
    columns: Columns,
    buf: String,
}

impl<R: BufRead> FlowReader<R> {
    pub fn new(format: FlowFormat, input: R) -> Self {
        let columns = match format {
            FlowFormat::NslKdd => Columns {
                numeric: NSL_KDD_COLUMNS
                    .iter()
                    .filter(|c| !NSL_KDD_CATEGORICAL.contains(c))
                    .map(|c| (*c).to_owned())
                    .collect(),
                categorical: NSL_KDD_CATEGORICAL
                    .iter()
                    .map(|c| (*c).to_owned())
                    .collect(),
            },
            FlowFormat::UnswNb15 => Columns {
                numeric: Vec::new(),
                categorical: UNSW_CATEGORICAL.iter().map(|c| (*c).to_owned()).collect(),
            },
            FlowFormat::ZeekConn => Columns {
                numeric: ZEEK_NUMERIC.iter().map(|c| (*c).to_owned()).collect(),
                categorical: ZEEK_CATEGORICAL.iter().map(|c| (*c).to_owned()).collect(),
            },
            FlowFormat::Activity | FlowFormat::ActivitySequence => Columns {
                numeric: Vec::new(),
                categorical: Vec::new(),
            },
        };
        FlowReader {
            format,
            input,
            line: 0,
            header: None,
            columns,
            buf: String::new(),
        }
    }

    /// The input line of the record returned last (1-based).
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The columns (known after the first record for formats with a header).
    pub fn columns(&self) -> &Columns {
        &self.columns
    }

    fn next_line(&mut self) -> Option<Result<String, FlowError>> {
        self.buf.clear();
        let mut limited = std::io::Read::take(&mut self.input, MAX_LINE_BYTES as u64 + 1);
        match limited.read_line(&mut self.buf) {
            Ok(0) => None,
            Ok(n) => {
                self.line += 1;
                if n > MAX_LINE_BYTES {
                    // Skip the rest of an over-long line.
                    let mut rest = Vec::new();
                    let _ = self.input.read_until(b'\n', &mut rest);
                    return Some(Err(FlowError {
                        line: self.line,
                        reason: format!("line longer than {MAX_LINE_BYTES} bytes"),
                    }));
                }
                Some(Ok(self
                    .buf
                    .trim_end_matches(['\r', '\n'])
                    .trim_start_matches('\u{feff}')
                    .to_owned()))
            }
            Err(e) => Some(Err(FlowError {
                line: self.line + 1,
                reason: format!("read failed: {e}"),
            })),
        }
    }

    fn parse_nsl(&self, line: &str) -> Result<FlowRecord, String> {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() < 42 {
            return Err(format!(
                "expected 42 or 43 comma-separated fields, found {}",
                f.len()
            ));
        }
        let mut numeric = Vec::with_capacity(38);
        let mut categorical = Vec::with_capacity(3);
        for (i, name) in NSL_KDD_COLUMNS.iter().enumerate() {
            let v = f[i].trim();
            if NSL_KDD_CATEGORICAL.contains(name) {
                categorical.push(v.to_owned());
            } else {
                numeric.push(number(v, name)?);
            }
        }
        let label = f[41].trim();
        Ok(FlowRecord {
            numeric,
            categorical,
            attack: Some(label != "normal"),
            kind: Some(label.to_owned()),
            origin: FlowOrigin::default(),
        })
    }

    fn parse_unsw(&mut self, line: &str) -> Result<FlowRecord, String> {
        let f: Vec<&str> = line.split(',').collect();
        let header = self.header.get_or_insert_with(Vec::new);
        if f.len() != header.len() {
            return Err(format!(
                "expected {} fields as in the header, found {}",
                header.len(),
                f.len()
            ));
        }
        let mut numeric = Vec::with_capacity(f.len());
        let mut categorical = vec![String::new(); UNSW_CATEGORICAL.len()];
        let (mut attack, mut kind) = (None, None);
        for (name, v) in header.iter().zip(&f) {
            let v = v.trim();
            match name.as_str() {
                "label" => attack = Some(v == "1"),
                "attack_cat" => kind = Some(v.to_lowercase()),
                n if UNSW_DROPPED.contains(&n) => {}
                n => match UNSW_CATEGORICAL.iter().position(|c| *c == n) {
                    Some(i) => categorical[i] = v.to_owned(),
                    None => numeric.push(number(v, n)?),
                },
            }
        }
        Ok(FlowRecord {
            numeric,
            categorical,
            attack,
            kind,
            origin: FlowOrigin::default(),
        })
    }
}

/// A record's field by name.
type FieldLookup = Box<dyn Fn(&str) -> Option<String>>;

impl<R: BufRead> FlowReader<R> {
    fn parse_zeek(&mut self, line: &str) -> Result<Option<FlowRecord>, String> {
        if let Some(fields) = line.strip_prefix("#fields") {
            self.header = Some(
                fields
                    .split('\t')
                    .filter(|f| !f.is_empty())
                    .map(str::to_owned)
                    .collect(),
            );
            return Ok(None);
        }
        if line.starts_with('#') {
            return Ok(None);
        }
        let value_of: FieldLookup = if line.starts_with('{') {
            let doc: serde_json::Value =
                serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
            Box::new(move |name: &str| {
                let v = doc
                    .get(name)
                    .or_else(|| doc.get(name.replace('.', "_").as_str()))?;
                Some(match v {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Null => "-".to_owned(),
                    other => other.to_string(),
                })
            })
        } else {
            let header = self
                .header
                .clone()
                .ok_or_else(|| "a Zeek TSV record before the `#fields` header line".to_owned())?;
            let values: Vec<String> = line.split('\t').map(str::to_owned).collect();
            if values.len() != header.len() {
                return Err(format!(
                    "expected {} tab-separated fields, found {}",
                    header.len(),
                    values.len()
                ));
            }
            Box::new(move |name: &str| {
                header
                    .iter()
                    .position(|h| h == name)
                    .map(|i| values[i].clone())
            })
        };
        let mut numeric = Vec::with_capacity(ZEEK_NUMERIC.len());
        for name in ZEEK_NUMERIC {
            let v = value_of(name).unwrap_or_else(|| "-".into());
            numeric.push(if v == "-" || v.is_empty() {
                0.0
            } else {
                number(&v, name)?
            });
        }
        let categorical = ZEEK_CATEGORICAL
            .iter()
            .map(|c| value_of(c).unwrap_or_else(|| "-".into()))
            .collect();
        let text = |name: &str| value_of(name).filter(|v| !v.is_empty() && v != "-");
        let origin = FlowOrigin {
            src_ip: text("id.orig_h"),
            dst_ip: text("id.resp_h"),
            dst_port: text("id.resp_p").and_then(|p| p.parse().ok()),
            timestamp_ms: text("ts")
                .and_then(|t| t.parse::<f64>().ok())
                .filter(|t| *t > 0.0)
                .and_then(warden_event::epoch_seconds)
                .map(|t| (t * 1000.0).round() as i64),
            uid: text("uid"),
        };
        Ok(Some(FlowRecord {
            numeric,
            categorical,
            attack: None,
            kind: None,
            origin,
        }))
    }
}

fn number(v: &str, name: &str) -> Result<f64, String> {
    v.parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .ok_or_else(|| format!("field `{name}`: expected a number, found {v:?}"))
}

impl<R: BufRead> Iterator for FlowReader<R> {
    type Item = Result<FlowRecord, FlowError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let line = match self.next_line()? {
                Ok(l) => l,
                Err(e) => return Some(Err(e)),
            };
            if line.trim().is_empty() {
                continue;
            }
            if self.format == FlowFormat::UnswNb15 && self.header.is_none() {
                let header: Vec<String> = line.split(',').map(|h| h.trim().to_owned()).collect();
                if !header.iter().any(|h| h == "label") {
                    return Some(Err(FlowError {
                        line: self.line,
                        reason: "the first line must be the UNSW-NB15 header (with `label`)".into(),
                    }));
                }
                self.columns.numeric = header
                    .iter()
                    .filter(|h| {
                        !UNSW_DROPPED.contains(&h.as_str())
                            && !UNSW_CATEGORICAL.contains(&h.as_str())
                    })
                    .cloned()
                    .collect();
                self.header = Some(header);
                continue;
            }
            let parsed = match self.format {
                FlowFormat::NslKdd => self.parse_nsl(&line),
                FlowFormat::UnswNb15 => self.parse_unsw(&line),
                FlowFormat::ZeekConn => match self.parse_zeek(&line) {
                    Ok(Some(r)) => Ok(r),
                    Ok(None) => continue,
                    Err(e) => Err(e),
                },
                FlowFormat::Activity | FlowFormat::ActivitySequence => {
                    Err("user activity is read by the UEBA engine, not as a flow table".into())
                }
            };
            return Some(parsed.map_err(|reason| FlowError {
                line: self.line,
                reason,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NSL: &str = "0,tcp,http,SF,215,45076,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,1,1,0.00,0.00,0.00,0.00,1.00,0.00,0.00,0,0,0.00,0.00,0.00,0.00,0.00,0.00,0.00,0.00,normal,21
0,udp,private,SF,105,146,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,1,0.00,0.00,0.00,0.00,1.00,0.00,0.00,255,254,1.00,0.01,0.00,0.00,0.00,0.00,0.00,0.00,neptune,18
0,tcp,http,SF,x,45076,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,1,1,0.00,0.00,0.00,0.00,1.00,0.00,0.00,0,0,0.00,0.00,0.00,0.00,0.00,0.00,0.00,0.00,normal,21
short,line
";

    #[test]
    fn nsl_kdd_rows_and_errors() {
        let r: Vec<_> = FlowReader::new(FlowFormat::NslKdd, NSL.as_bytes()).collect();
        assert_eq!(r.len(), 4);
        let ok: Vec<&FlowRecord> = r.iter().filter_map(|x| x.as_ref().ok()).collect();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[0].numeric.len(), 38);
        assert_eq!(ok[0].categorical, ["tcp", "http", "SF"]);
        assert_eq!((ok[0].attack, ok[1].attack), (Some(false), Some(true)));
        let errs: Vec<u64> = r
            .iter()
            .filter_map(|x| x.as_ref().err().map(|e| e.line))
            .collect();
        assert_eq!(errs, [3, 4]);
        let e = r[2]
            .as_ref()
            .err()
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(e.contains("src_bytes"), "{e}");
    }

    #[test]
    fn zeek_conn_tsv_and_json() {
        let tsv = "#separator \\x09\n#fields\tts\tuid\tid.resp_p\tproto\tservice\tduration\torig_bytes\tconn_state\n1.0\tC1\t80\ttcp\thttp\t0.5\t601\tSF\n2.0\tC2\t53\tudp\t-\t-\t-\tS0\nbad\tline\n";
        let r: Vec<_> = FlowReader::new(FlowFormat::ZeekConn, tsv.as_bytes()).collect();
        assert_eq!(r.len(), 3);
        let a = r[0].as_ref().map_err(ToString::to_string);
        let a = a.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.numeric[0], 0.5);
        assert_eq!(a.numeric[1], 601.0);
        assert_eq!(a.numeric[8], 80.0);
        assert_eq!(a.categorical, ["tcp", "http", "SF"]);
        assert_eq!(r[1].as_ref().map(|b| b.numeric[0]).ok(), Some(0.0));
        assert_eq!(r[2].as_ref().err().map(|e| e.line), Some(5));
        let json = r#"{"id_resp_p":443,"proto":"tcp","service":"ssl","duration":1.5,"orig_bytes":10,"conn_state":"SF"}"#;
        let r: Vec<FlowRecord> = FlowReader::new(FlowFormat::ZeekConn, json.as_bytes())
            .filter_map(Result::ok)
            .collect();
        assert_eq!(r[0].numeric[8], 443.0);
        assert_eq!(r[0].categorical, ["tcp", "ssl", "SF"]);
    }

    #[test]
    fn unsw_header_labels_and_kinds() {
        let text = "\u{feff}id,dur,proto,service,state,sbytes,attack_cat,label\n1,0.5,tcp,-,FIN,100,Normal,0\n2,1.5,udp,dns,INT,300,Exploits,1\n";
        let mut reader = FlowReader::new(FlowFormat::UnswNb15, text.as_bytes());
        let r: Vec<FlowRecord> = reader.by_ref().filter_map(Result::ok).collect();
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].attack, Some(true));
        assert_eq!(r[1].kind.as_deref(), Some("exploits"));
        assert_eq!(r[0].numeric, [0.5, 100.0]);
        assert_eq!(reader.columns().numeric, ["dur", "sbytes"]);
        assert_eq!(reader.columns().categorical, ["proto", "service", "state"]);
    }

    #[test]
    fn zeek_flows_keep_their_endpoints_and_time() {
        let tsv = "#fields\tts\tid.orig_h\tid.resp_h\tid.resp_p\tproto\tservice\tconn_state\n1700000000.25\t10.0.0.5\t203.0.113.7\t443\ttcp\tssl\tSF\n";
        let r: Vec<FlowRecord> = FlowReader::new(FlowFormat::ZeekConn, tsv.as_bytes())
            .filter_map(Result::ok)
            .collect();
        assert_eq!(r[0].origin.src_ip.as_deref(), Some("10.0.0.5"));
        assert_eq!(r[0].origin.dst_ip.as_deref(), Some("203.0.113.7"));
        assert_eq!(r[0].origin.timestamp_ms, Some(1_700_000_000_250));
        assert_eq!(r[0].origin.dst_port, Some(443));
        assert_eq!(r[0].origin.uid, None);
    }
}
