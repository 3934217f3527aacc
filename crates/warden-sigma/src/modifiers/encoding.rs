//! Encoding modifiers: `base64`, `base64offset`, `utf16le`/`wide`, `utf16be`, `utf16`.
//! They work on bytes; the result must still be text to be compared with event values.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

pub fn base64(value: &[u8]) -> Vec<u8> {
    STANDARD.encode(value).into_bytes()
}

/// The three forms a value takes inside a longer base64 text, depending on its offset
/// modulo 3: the encoding of the value shifted by 0, 1 and 2 bytes, with the characters that
/// depend on the unknown neighbours cut off at both ends.
pub fn base64_offsets(value: &[u8]) -> Vec<Vec<u8>> {
    const START: [usize; 3] = [0, 2, 3];
    const END_CUT: [usize; 3] = [0, 3, 2];
    (0..3)
        .filter_map(|shift| {
            let mut shifted = vec![b' '; shift];
            shifted.extend_from_slice(value);
            let encoded = STANDARD.encode(&shifted).into_bytes();
            let end = encoded
                .len()
                .checked_sub(END_CUT[(value.len() + shift) % 3])?;
            let start = START[shift];
            (start < end).then(|| encoded[start..end].to_vec())
        })
        .collect()
}

pub fn utf16le(value: &str) -> Vec<u8> {
    value.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

pub fn utf16be(value: &str) -> Vec<u8> {
    value.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

/// UTF-16 with a byte-order mark (little endian, as Windows writes it).
pub fn utf16_bom(value: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    out.extend(utf16le(value));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_offsets_match_every_alignment() {
        let needle = b"ping";
        let forms = base64_offsets(needle);
        assert_eq!(forms.len(), 3);
        for prefix in ["", "a", "ab", "abc", "abcd"] {
            let text = format!("{prefix}ping and more");
            let encoded = String::from_utf8(base64(text.as_bytes())).unwrap_or_default();
            assert!(
                forms
                    .iter()
                    .any(|f| encoded.contains(std::str::from_utf8(f).unwrap_or("\0"))),
                "prefix {prefix:?}: {encoded} has none of {forms:?}"
            );
        }
    }

    #[test]
    fn known_offsets() {
        // pySigma's documented example values for "/bin/bash".
        let forms: Vec<String> = base64_offsets(b"/bin/bash")
            .into_iter()
            .map(|f| String::from_utf8(f).unwrap_or_default())
            .collect();
        assert_eq!(forms, ["L2Jpbi9iYXNo", "9iaW4vYmFza", "vYmluL2Jhc2"]);
    }

    #[test]
    fn utf16_forms() {
        assert_eq!(utf16le("cmd"), [0x63, 0, 0x6d, 0, 0x64, 0]);
        assert_eq!(utf16be("cmd"), [0, 0x63, 0, 0x6d, 0, 0x64]);
        assert_eq!(utf16_bom("cmd")[..4], [0xFF, 0xFE, 0x63, 0]);
    }
}
