//! Byte-level decoders the layers share: base64 (standard and URL alphabets, whitespace
//! tolerated), hex, UTF-16LE, and gzip / zlib / raw-deflate streams. Every decoder is bounded
//! by [`MAX_DECODED`]: an input that would grow past it fails instead of filling memory.

use std::io::Read;

use base64::Engine as _;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};

/// Largest output of one decoder (a decompression bomb stops here).
pub const MAX_DECODED: usize = 4 << 20;

const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);

/// Base64 of either alphabet, whitespace inside ignored; `None` when it is not base64.
pub fn base64(text: &str) -> Option<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.len() < 4 || compact.len() / 4 * 3 > MAX_DECODED {
        return None;
    }
    STANDARD
        .decode(compact.as_bytes())
        .or_else(|_| URL_SAFE.decode(compact.as_bytes()))
        .ok()
}

/// Base64 of `bytes` (tests and generators).
pub fn to_base64(bytes: &[u8]) -> String {
    general_purpose::STANDARD.encode(bytes)
}

/// What PowerShell's `-EncodedCommand` takes for `script`: base64 of its UTF-16LE (tests and
/// generators).
pub fn encoded_command(script: &str) -> String {
    let utf16: Vec<u8> = script.encode_utf16().flat_map(u16::to_le_bytes).collect();
    to_base64(&utf16)
}

/// Hex digits (pairs, whitespace and `0x`/`\x` prefixes ignored); `None` when not hex.
pub fn hex(text: &str) -> Option<Vec<u8>> {
    let cleaned = text.replace("0x", "").replace("\\x", "");
    let digits: Vec<u8> = cleaned
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if digits.is_empty() || !digits.len().is_multiple_of(2) || digits.len() / 2 > MAX_DECODED {
        return None;
    }
    digits
        .chunks(2)
        .map(|p| {
            let hi = (p[0] as char).to_digit(16)?;
            let lo = (p[1] as char).to_digit(16)?;
            Some((hi * 16 + lo) as u8)
        })
        .collect()
}

/// UTF-16LE bytes as text (an odd trailing byte ignored); `None` when invalid.
pub fn utf16le(bytes: &[u8]) -> Option<String> {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|p| u16::from_le_bytes([p[0], p[1]]))
        .collect();
    String::from_utf16(&units).ok()
}

/// Whether bytes look like UTF-16LE text: mostly zero high bytes on ASCII.
pub fn looks_utf16le(bytes: &[u8]) -> bool {
    if bytes.len() < 4 {
        return false;
    }
    let pairs = bytes.len() / 2;
    let zeros = bytes.chunks_exact(2).filter(|p| p[1] == 0).count();
    zeros * 10 >= pairs * 8
}

/// Bytes as text: UTF-16LE when they look like it, else UTF-8 (lossy); `None` when the
/// result is not mostly printable (a binary payload is not a script).
pub fn as_text(bytes: &[u8]) -> Option<String> {
    let text = if looks_utf16le(bytes) {
        utf16le(bytes)?
    } else {
        String::from_utf8_lossy(bytes).into_owned()
    };
    let text = text.trim_start_matches('\u{feff}').to_string();
    printable(&text).then_some(text)
}

/// Whether text is mostly printable (scripts are; packed binaries are not).
pub fn printable(text: &str) -> bool {
    if text.is_empty() {
        return false;
    }
    let total = text.chars().count();
    let bad = text
        .chars()
        .filter(|&c| (c.is_control() && !matches!(c, '\n' | '\r' | '\t')) || c == '\u{fffd}')
        .count();
    bad * 20 <= total
}

/// Inflates a gzip, zlib or raw deflate stream (whichever parses), at most [`MAX_DECODED`].
pub fn inflate(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return read_bounded(flate2::read::MultiGzDecoder::new(bytes));
    }
    let zlib_header = bytes.len() >= 2
        && bytes[0] & 0x0f == 8
        && u16::from_be_bytes([bytes[0], bytes[1]]).is_multiple_of(31);
    if zlib_header && let Some(out) = read_bounded(flate2::read::ZlibDecoder::new(bytes)) {
        return Some(out);
    }
    read_bounded(flate2::read::DeflateDecoder::new(bytes))
}

fn read_bounded(reader: impl Read) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut limited = reader.take(MAX_DECODED as u64 + 1);
    limited.read_to_end(&mut out).ok()?;
    (out.len() <= MAX_DECODED && !out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn base64_tolerates_whitespace_padding_and_url_alphabet() {
        assert_eq!(base64("d2hv YW1p").unwrap(), b"whoami");
        assert_eq!(base64("d2hvYW1pIQ").unwrap(), b"whoami!");
        assert_eq!(base64("-_-_").unwrap(), [0xfb, 0xff, 0xbf]);
        assert!(base64("not base64 !!").is_none());
    }

    #[test]
    fn utf16_text_is_recognised() {
        let bytes: Vec<u8> = "whoami".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert!(looks_utf16le(&bytes));
        assert_eq!(as_text(&bytes).unwrap(), "whoami");
        assert!(as_text(&[0u8, 1, 2, 3, 4, 5, 0x90, 0x90]).is_none());
    }

    #[test]
    fn every_stream_kind_inflates() {
        let body = b"Invoke-Expression whoami".repeat(4);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&body).unwrap();
        let mut raw =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        raw.write_all(&body).unwrap();
        let mut zl = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        zl.write_all(&body).unwrap();
        for stream in [
            gz.finish().unwrap(),
            raw.finish().unwrap(),
            zl.finish().unwrap(),
        ] {
            assert_eq!(inflate(&stream).unwrap(), body);
        }
        assert!(inflate(b"plain text, not a stream").is_none());
    }

    #[test]
    fn a_decompression_bomb_is_refused() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&vec![b'A'; MAX_DECODED + 10]).unwrap();
        assert!(inflate(&gz.finish().unwrap()).is_none());
    }

    #[test]
    fn hex_pairs_decode() {
        assert_eq!(hex("77 68 6f").unwrap(), b"who");
        assert_eq!(hex("\\x77\\x68").unwrap(), b"wh");
        assert!(hex("7").is_none());
        assert!(hex("zz").is_none());
    }
}
