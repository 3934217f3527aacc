//! A line reader with a hard length limit.
//!
//! `BufRead::read_until` would buffer a 10 GB line whole; this reader stops copying at the
//! limit, skips the rest of the line, and reports it, so neighbours are never lost.

use std::io::{self, BufRead};

/// One line read from the input.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A line within the limit (without its `\n` / `\r\n`), with its 1-based number.
    Ok(u64),
    /// A line over the limit: its number and full length in bytes.
    TooLong(u64, usize),
}

/// Reads `\n`-terminated lines into a reused buffer.
pub struct LineReader<R> {
    inner: R,
    limit: usize,
    line_no: u64,
}

impl<R: BufRead> LineReader<R> {
    pub fn new(inner: R, limit: usize) -> Self {
        Self {
            inner,
            limit,
            line_no: 0,
        }
    }

    /// Reads the next line into `buf` (cleared first). `Ok(None)` at end of input.
    pub fn next_line(&mut self, buf: &mut Vec<u8>) -> io::Result<Option<Line>> {
        buf.clear();
        let mut length = 0usize;
        let mut saw_any = false;
        loop {
            let chunk = match self.inner.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                break;
            }
            saw_any = true;
            let (take, done) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            let content = if done { take - 1 } else { take };
            if length + content <= self.limit {
                buf.extend_from_slice(&chunk[..content]);
            }
            length += content;
            self.inner.consume(take);
            if done {
                break;
            }
        }
        if !saw_any {
            return Ok(None);
        }
        self.line_no += 1;
        if length > self.limit {
            buf.clear();
            return Ok(Some(Line::TooLong(self.line_no, length)));
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        Ok(Some(Line::Ok(self.line_no)))
    }

    pub fn line_no(&self) -> u64 {
        self.line_no
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::{BufReader, Cursor};

    fn all_lines(data: &[u8], limit: usize, cap: usize) -> Vec<(Line, Vec<u8>)> {
        let mut r = LineReader::new(
            BufReader::with_capacity(cap, Cursor::new(data.to_vec())),
            limit,
        );
        let mut out = Vec::new();
        let mut buf = Vec::new();
        while let Some(l) = r.next_line(&mut buf).unwrap() {
            out.push((l, buf.clone()));
        }
        out
    }

    #[test]
    fn splits_and_strips_crlf() {
        let got = all_lines(b"a\r\nbb\n\nccc", 10, 2);
        assert_eq!(
            got,
            vec![
                (Line::Ok(1), b"a".to_vec()),
                (Line::Ok(2), b"bb".to_vec()),
                (Line::Ok(3), b"".to_vec()),
                (Line::Ok(4), b"ccc".to_vec()),
            ]
        );
    }

    #[test]
    fn long_line_is_skipped_not_buffered() {
        let mut data = vec![b'x'; 5000];
        data.extend_from_slice(b"\nok\n");
        let got = all_lines(&data, 100, 64);
        assert_eq!(got[0].0, Line::TooLong(1, 5000));
        assert!(got[0].1.is_empty());
        assert_eq!(got[1], (Line::Ok(2), b"ok".to_vec()));
    }

    proptest! {
        #[test]
        fn matches_split_for_any_input(data in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'a'), Just(b'\r')], 0..200), cap in 1usize..16) {
            let got = all_lines(&data, usize::MAX, cap);
            let mut expected: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
            if data.last() == Some(&b'\n') || data.is_empty() { expected.pop(); }
            prop_assert_eq!(got.len(), expected.len());
            for ((_, line), exp) in got.iter().zip(expected) {
                let exp = exp.strip_suffix(b"\r").unwrap_or(exp);
                prop_assert_eq!(line.as_slice(), exp);
            }
        }
    }
}
