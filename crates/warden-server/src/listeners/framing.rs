//! Syslog over a byte stream (RFC 6587): each frame is either octet-counted
//! (`LEN SP MSG`, what RFC 5425 requires over TLS) or ends at a newline (what most
//! relays send over TCP). A sender may use either, so each frame is read as it starts: a
//! syslog message begins with `<`, so a leading digit can only be a length.
//!
//! Bounded: a frame longer than the limit is skipped (counted) without being held — an
//! octet-counted one by its length, a newline one up to its newline — and a length that
//! no sender could mean (more than [`MAX_DECLARED`]) ends the connection.

/// The largest length an octet-counted frame may declare, even one to be skipped.
pub const MAX_DECLARED: usize = 1 << 30;

/// A stream that cannot be syslog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a frame declares {0} bytes: not syslog (or not in step with the sender)")]
pub struct FramingError(pub usize);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    No,
    /// The rest of an octet-counted frame that was too long.
    Bytes(usize),
    /// The rest of a newline frame that was too long.
    ToNewline,
}

/// Splits a stream's bytes into messages.
#[derive(Debug)]
pub struct Framer {
    buf: Vec<u8>,
    max: usize,
    skip: Skip,
    /// Frames skipped for being longer than the limit.
    pub oversize: u64,
}

impl Framer {
    /// Messages of at most `max` bytes.
    pub fn new(max: usize) -> Self {
        Framer {
            buf: Vec::new(),
            max,
            skip: Skip::No,
            oversize: 0,
        }
    }

    /// Bytes held for a frame not complete yet.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Reads `data`, appending each complete message to `out`.
    pub fn feed(&mut self, data: &[u8], out: &mut Vec<Vec<u8>>) -> Result<(), FramingError> {
        // A skip only starts once the buffer is consumed: what it covers is never held.
        let data = self.skip_in(data);
        self.buf.extend_from_slice(data);
        let mut at = 0;
        loop {
            // Between frames: the newline or NUL some senders add after a counted frame.
            while at < self.buf.len() && matches!(self.buf[at], b'\n' | b'\r' | 0) {
                at += 1;
            }
            if at >= self.buf.len() {
                break;
            }
            match self.frame_at(at, out)? {
                Some(next) => at = next,
                None => break,
            }
        }
        self.buf.drain(..at);
        Ok(())
    }

    /// The end of the stream: a last newline frame without its newline is a message.
    pub fn finish(&mut self, out: &mut Vec<Vec<u8>>) {
        let rest = std::mem::take(&mut self.buf);
        if self.skip == Skip::No {
            let rest = trim_end(&rest);
            if !rest.is_empty() && !octet_header_started(rest) {
                out.push(rest.to_vec());
            }
        }
        self.skip = Skip::No;
    }

    /// Reads the frame starting at `at`: the position after it, or `None` when it is not
    /// complete (or is being skipped).
    fn frame_at(
        &mut self,
        at: usize,
        out: &mut Vec<Vec<u8>>,
    ) -> Result<Option<usize>, FramingError> {
        let rest = &self.buf[at..];
        match octet_header(rest) {
            Header::Counted { len, header } => {
                if len > MAX_DECLARED {
                    return Err(FramingError(len));
                }
                if len > self.max {
                    self.oversize += 1;
                    let here = rest.len() - header;
                    if here >= len {
                        return Ok(Some(at + header + len));
                    }
                    self.skip = Skip::Bytes(len - here);
                    return Ok(Some(self.buf.len()));
                }
                if rest.len() - header < len {
                    return Ok(None);
                }
                out.push(rest[header..header + len].to_vec());
                Ok(Some(at + header + len))
            }
            Header::Incomplete => Ok(None),
            Header::NotCounted => match rest.iter().position(|&b| b == b'\n') {
                Some(end) if end <= self.max => {
                    let msg = trim_end(&rest[..end]);
                    if !msg.is_empty() {
                        out.push(msg.to_vec());
                    }
                    Ok(Some(at + end + 1))
                }
                Some(end) => {
                    self.oversize += 1;
                    Ok(Some(at + end + 1))
                }
                None if rest.len() > self.max => {
                    self.oversize += 1;
                    self.skip = Skip::ToNewline;
                    Ok(Some(self.buf.len()))
                }
                None => Ok(None),
            },
        }
    }

    /// Consumes what the current skip covers of `data`; the rest is returned.
    fn skip_in<'a>(&mut self, data: &'a [u8]) -> &'a [u8] {
        match self.skip {
            Skip::No => data,
            Skip::Bytes(n) => {
                let k = n.min(data.len());
                self.skip = if k == n { Skip::No } else { Skip::Bytes(n - k) };
                &data[k..]
            }
            Skip::ToNewline => match data.iter().position(|&b| b == b'\n') {
                Some(end) => {
                    self.skip = Skip::No;
                    &data[end + 1..]
                }
                None => &[],
            },
        }
    }
}

enum Header {
    Counted {
        len: usize,
        header: usize,
    },
    /// Digits so far, and no space yet.
    Incomplete,
    NotCounted,
}

/// Digits (at most 10) and a space at the start of a frame.
fn octet_header(b: &[u8]) -> Header {
    if !b.first().is_some_and(|c| (b'1'..=b'9').contains(c)) {
        return Header::NotCounted;
    }
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits > 10 {
        return Header::NotCounted;
    }
    match b.get(digits) {
        None => Header::Incomplete,
        Some(b' ') => {
            let len = std::str::from_utf8(&b[..digits])
                .ok()
                .and_then(|s| s.parse::<usize>().ok())
                .unwrap_or(usize::MAX);
            Header::Counted {
                len,
                header: digits + 1,
            }
        }
        Some(_) => Header::NotCounted,
    }
}

fn octet_header_started(b: &[u8]) -> bool {
    matches!(octet_header(b), Header::Counted { .. } | Header::Incomplete)
}

fn trim_end(b: &[u8]) -> &[u8] {
    let end = b
        .iter()
        .rposition(|c| !matches!(c, b'\r' | b'\n' | 0))
        .map_or(0, |p| p + 1);
    &b[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(max: usize, chunks: &[&[u8]]) -> (Vec<String>, u64) {
        let mut f = Framer::new(max);
        let mut out = Vec::new();
        for c in chunks {
            f.feed(c, &mut out).unwrap_or_else(|e| panic!("{e}"));
        }
        f.finish(&mut out);
        let text = out
            .iter()
            .map(|m| String::from_utf8_lossy(m).into_owned())
            .collect();
        (text, f.oversize)
    }

    #[test]
    fn newline_and_octet_counted_frames_mix() {
        let (out, _) = frames(1024, &[b"<13>a b\n11 <13>c\nd e f<14>g\r\n\n<15>last"]);
        assert_eq!(out, ["<13>a b", "<13>c\nd e f", "<14>g", "<15>last"]);
    }

    #[test]
    fn a_frame_split_anywhere_reads_the_same() {
        let stream: &[u8] = b"<1>one\n8 <2>two\nx<3>three\n";
        let whole = frames(64, &[stream]).0;
        assert_eq!(whole, ["<1>one", "<2>two\nx", "<3>three"]);
        for cut in 0..stream.len() {
            let (a, b) = stream.split_at(cut);
            assert_eq!(frames(64, &[a, b]).0, whole, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(frames(64, &bytes).0, whole);
    }

    #[test]
    fn frames_over_the_limit_are_skipped_and_counted_without_losing_the_next() {
        let long = "x".repeat(40);
        let counted = format!("40 {long}<1>after\n");
        assert_eq!(
            frames(16, &[counted.as_bytes()]),
            (vec!["<1>after".into()], 1)
        );
        let newline = format!("<1>{long}\n<2>after\n");
        assert_eq!(
            frames(16, &[newline.as_bytes()]),
            (vec!["<2>after".into()], 1)
        );
        // In pieces: the skip carries across reads and holds nothing.
        let mut f = Framer::new(16);
        let mut out = Vec::new();
        for c in newline.as_bytes().chunks(7) {
            f.feed(c, &mut out).unwrap_or_else(|e| panic!("{e}"));
            assert!(f.pending() <= 17 + 7, "held {}", f.pending());
        }
        assert_eq!(out, [b"<2>after".to_vec()]);
        let mut f = Framer::new(16);
        let mut out = Vec::new();
        for c in counted.as_bytes().chunks(5) {
            f.feed(c, &mut out).unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!((out, f.oversize), (vec![b"<1>after".to_vec()], 1));
    }

    #[test]
    fn an_absurd_length_ends_the_stream() {
        let mut f = Framer::new(1024);
        let mut out = Vec::new();
        assert_eq!(
            f.feed(b"9999999999 <1>x", &mut out),
            Err(FramingError(9_999_999_999))
        );
    }

    #[test]
    fn a_line_starting_with_digits_but_no_length_is_a_newline_frame() {
        let (out, _) = frames(1024, &[b"2026-12-04T10:00:00Z host x\n12345678901 y\n"]);
        assert_eq!(out, ["2026-12-04T10:00:00Z host x", "12345678901 y"]);
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_in_any_pieces_never_panic_and_hold_little(
            data in proptest::collection::vec(proptest::num::u8::ANY, 0..4096),
            piece in 1usize..600,
        ) {
            let mut f = Framer::new(256);
            let mut out = Vec::new();
            for c in data.chunks(piece) {
                if f.feed(c, &mut out).is_err() {
                    break;
                }
                // A frame's limit, its length header, and one read.
                proptest::prop_assert!(f.pending() <= 256 + 11 + piece);
            }
            f.finish(&mut out);
            proptest::prop_assert!(out.iter().all(|m| m.len() <= 256));
        }

        #[test]
        fn messages_framed_either_way_and_cut_anywhere_come_back_whole(
            bodies in proptest::collection::vec("[ -~]{0,80}", 1..30),
            counted in proptest::collection::vec(proptest::bool::ANY, 30),
            piece in 1usize..200,
        ) {
            let messages: Vec<String> = bodies.iter().map(|b| format!("<13>{b}").trim_end().to_owned()).collect();
            let mut stream = Vec::new();
            for (m, c) in messages.iter().zip(&counted) {
                if *c {
                    stream.extend_from_slice(format!("{} {m}", m.len()).as_bytes());
                } else {
                    stream.extend_from_slice(m.as_bytes());
                    stream.push(b'\n');
                }
            }
            let mut f = Framer::new(1024);
            let mut out = Vec::new();
            for c in stream.chunks(piece) {
                f.feed(c, &mut out).map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
            }
            f.finish(&mut out);
            let out: Vec<String> = out.iter().map(|m| String::from_utf8_lossy(m).into_owned()).collect();
            proptest::prop_assert_eq!(out, messages);
        }
    }
}
