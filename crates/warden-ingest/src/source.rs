//! Inputs: finding them (files, folders, stdin), opening them, and undoing compression.

use crate::{ErrorKind, IngestError};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};

/// Record formats Warden reads for user activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    JsonLines,
    Csv,
    /// Text logs: syslog (RFC 5424/3164), CEF, LEEF; their authentication events.
    Text,
}

impl Format {
    /// The format implied by a file name (compression suffixes ignored), if any.
    pub fn from_name(name: &str) -> Option<Self> {
        let lower = name.to_ascii_lowercase();
        let stem = lower
            .strip_suffix(".gz")
            .or_else(|| lower.strip_suffix(".zst"))
            .or_else(|| lower.strip_suffix(".zstd"))
            .unwrap_or(&lower);
        let ext = stem.rsplit_once('.').map(|(_, e)| e)?;
        match ext {
            "jsonl" | "ndjson" | "json" => Some(Self::JsonLines),
            "csv" => Some(Self::Csv),
            "syslog" | "cef" | "leef" => Some(Self::Text),
            _ => None,
        }
    }

    /// Guesses from the first bytes of (decompressed) content: `{` means JSON Lines, a
    /// syslog, CEF or LEEF line means text logs, anything else CSV.
    pub fn sniff(head: &[u8]) -> Self {
        let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
        match head.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') | None => Self::JsonLines,
            Some(_) if crate::text::looks_like(head) => Self::Text,
            Some(_) => Self::Csv,
        }
    }
}

/// The compression of an input, detected from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn detect(head: &[u8]) -> Self {
        if head.starts_with(&[0x1f, 0x8b]) {
            Self::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Self::Zstd
        } else {
            Self::None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::None => "plain",
            Self::Gzip => "gzip",
            Self::Zstd => "zstd",
        }
    }
}

/// One input: a file, standard input, bytes in memory (tests, API bodies), or a file
/// followed as it grows ([`crate::follow`]).
#[derive(Debug, Clone)]
pub enum InputSource {
    Path(PathBuf),
    Stdin,
    Bytes { name: String, data: Vec<u8> },
    Follow(PathBuf, crate::follow::FollowOptions),
}

impl InputSource {
    pub fn from_bytes(name: &str, data: Vec<u8>) -> Self {
        Self::Bytes {
            name: name.to_owned(),
            data,
        }
    }

    /// The name used in messages.
    pub fn display_name(&self) -> String {
        match self {
            Self::Path(p) | Self::Follow(p, _) => p.display().to_string(),
            Self::Stdin => "<stdin>".to_owned(),
            Self::Bytes { name, .. } => name.clone(),
        }
    }

    /// The format its name implies, if any.
    pub fn format_hint(&self) -> Option<Format> {
        match self {
            Self::Path(p) | Self::Follow(p, _) => Format::from_name(&p.to_string_lossy()),
            Self::Stdin => None,
            Self::Bytes { name, .. } => Format::from_name(name),
        }
    }

    /// Opens the input and wraps it in the right decompressor.
    pub fn open(&self) -> Result<Opened, IngestError> {
        let name = self.display_name();
        let raw: Box<dyn Read + Send> = match self {
            Self::Path(p) => {
                Box::new(File::open(p).map_err(|e| IngestError::new(&name, 0, ErrorKind::Open(e)))?)
            }
            Self::Stdin => Box::new(io::stdin()),
            Self::Bytes { data, .. } => Box::new(Cursor::new(data.clone())),
            Self::Follow(p, opts) => Box::new(
                crate::follow::Follow::open(p, opts.clone())
                    .map_err(|e| IngestError::new(&name, 0, ErrorKind::Open(e)))?,
            ),
        };
        let mut buffered = BufReader::with_capacity(256 * 1024, raw);
        let head = buffered
            .fill_buf()
            .map_err(|e| IngestError::new(&name, 0, ErrorKind::Open(e)))?;
        let compression = Compression::detect(head);
        let reader: Box<dyn BufRead + Send> = match compression {
            Compression::None => Box::new(buffered),
            Compression::Gzip => Box::new(BufReader::with_capacity(
                256 * 1024,
                flate2::bufread::MultiGzDecoder::new(buffered),
            )),
            Compression::Zstd => {
                let dec = zstd::stream::read::Decoder::with_buffer(buffered)
                    .map_err(|e| IngestError::new(&name, 0, ErrorKind::Open(e)))?;
                Box::new(BufReader::with_capacity(256 * 1024, dec))
            }
        };
        Ok(Opened {
            name,
            compression,
            reader,
        })
    }
}

/// An opened input: a buffered reader over decompressed bytes.
pub struct Opened {
    pub name: String,
    pub compression: Compression,
    pub reader: Box<dyn BufRead + Send>,
}

/// Expands command-line inputs: `-` is stdin, a folder is walked recursively (files with a
/// known record extension, in name order), a file is taken as given.
pub fn discover_inputs(args: &[String]) -> Result<Vec<InputSource>, IngestError> {
    let mut out = Vec::new();
    for arg in args {
        if arg == "-" {
            out.push(InputSource::Stdin);
            continue;
        }
        let path = Path::new(arg);
        let meta =
            std::fs::metadata(path).map_err(|e| IngestError::new(arg, 0, ErrorKind::Open(e)))?;
        if meta.is_dir() {
            walk(path, &mut out).map_err(|e| IngestError::new(arg, 0, ErrorKind::Open(e)))?;
        } else {
            out.push(InputSource::Path(path.to_path_buf()));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<InputSource>) -> io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(&path, out)?;
        } else if kind.is_file() && Format::from_name(&path.to_string_lossy()).is_some() {
            out.push(InputSource::Path(path));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn format_from_names() {
        assert_eq!(Format::from_name("a.jsonl.gz"), Some(Format::JsonLines));
        assert_eq!(Format::from_name("A.CSV.zst"), Some(Format::Csv));
        assert_eq!(Format::from_name("notes.txt"), None);
        assert_eq!(Format::sniff(b"  {\"a\":1}"), Format::JsonLines);
        assert_eq!(Format::sniff(b"user_id,timestamp"), Format::Csv);
        assert_eq!(Format::sniff(b"\xef\xbb\xbf{\"a\":1}"), Format::JsonLines);
        assert_eq!(Format::from_name("syslog.log"), None);
    }

    #[test]
    fn gzip_and_zstd_are_transparent() {
        let text = b"{\"user_id\":\"a\"}\n";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text).unwrap();
        let gz = gz.finish().unwrap();
        let zs = zstd::encode_all(&text[..], 1).unwrap();
        for (data, comp) in [
            (gz, Compression::Gzip),
            (zs, Compression::Zstd),
            (text.to_vec(), Compression::None),
        ] {
            let mut opened = InputSource::from_bytes("x", data).open().unwrap();
            assert_eq!(opened.compression, comp);
            let mut s = String::new();
            opened.reader.read_to_string(&mut s).unwrap();
            assert_eq!(s.as_bytes(), text);
        }
    }

    #[test]
    fn folders_are_walked_recursively_in_order() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("b.jsonl"), "").unwrap();
        std::fs::write(dir.path().join("a.csv.gz"), "").unwrap();
        std::fs::write(dir.path().join("readme.md"), "").unwrap();
        std::fs::write(dir.path().join("sub/c.ndjson"), "").unwrap();
        let found = discover_inputs(&[dir.path().to_string_lossy().into_owned()]).unwrap();
        let names: Vec<_> = found
            .iter()
            .map(|s| s.display_name().rsplit('/').next().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["a.csv.gz", "b.jsonl", "c.ndjson"]);
        assert!(discover_inputs(&["/definitely/not/here".into()]).is_err());
    }
}
