//! What a verdict shows of what was analysed. Analysis reads every layer whole, within the
//! decoders' limits; the verdict that a client receives, a job stores and a terminal prints
//! is bounded whatever the text decoded to. An 85-byte cmd line whose `set` variable doubles
//! at every layer decodes to 3 MiB, and its verdict was 14 MB of JSON: a few such requests
//! would fill a store's payload jobs or a client's memory. The submitted text and the last
//! layer are shown up to [`MAX_TEXT_BYTES`] (what may be submitted), the layers between up to
//! [`SHOWN_LAYER_BYTES`] each, and the tokens within [`SHOWN_TOKENS_BYTES`], all counted as
//! JSON writes them (a control character is six bytes there); a layer cut short keeps its
//! whole length in `bytes`, and the notes say what was cut.

use crate::MAX_TEXT_BYTES;
use crate::deobf::Layer;
use crate::tokens::Tokens;

/// Most bytes shown of each layer between the submitted text and the last one.
pub const SHOWN_LAYER_BYTES: usize = 64 << 10;
/// Most bytes shown of one token (a program, an argument, a URL, a path).
pub const SHOWN_TOKEN_BYTES: usize = 4 << 10;
/// Most bytes shown of all tokens together.
pub const SHOWN_TOKENS_BYTES: usize = 256 << 10;

/// Bytes that a byte of UTF-8 text takes in a JSON string: the bytes of a character
/// other than a control character, `"` and `\\` are written as they are.
fn json_bytes(b: u8) -> usize {
    match b {
        b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
        0..0x20 => 6,
        _ => 1,
    }
}

/// The longest head of `text` that JSON writes in at most `max` bytes.
fn cut_json(text: &str, max: usize) -> &str {
    // No byte takes more than six in JSON.
    if text.len().saturating_mul(6) <= max {
        return text;
    }
    let mut used = 0;
    for (i, &b) in text.as_bytes().iter().enumerate() {
        used += json_bytes(b);
        if used > max {
            let mut end = i;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            return &text[..end];
        }
    }
    text
}

fn json_bytes_of(text: &str) -> usize {
    text.bytes().map(json_bytes).sum()
}

/// The layers as a verdict shows them: each cut to its share, with its whole length kept.
pub(crate) fn layers(mut layers: Vec<Layer>, notes: &mut Vec<String>) -> Vec<Layer> {
    let last = layers.len().saturating_sub(1);
    let mut cut_layers = Vec::new();
    for (i, layer) in layers.iter_mut().enumerate() {
        let limit = if i == 0 || i == last {
            MAX_TEXT_BYTES
        } else {
            SHOWN_LAYER_BYTES
        };
        let whole = layer.text.len();
        let keep = cut_json(&layer.text, limit).len();
        if keep < whole {
            layer.text.truncate(keep);
            layer.bytes = Some(whole);
            cut_layers.push(i);
        }
    }
    if let (Some(first), Some(end)) = (cut_layers.first(), cut_layers.last()) {
        let which = if first == end {
            format!("layer {first} is")
        } else {
            format!("{} layers ({first}–{end}) are", cut_layers.len())
        };
        notes.push(format!(
            "{which} shown cut short (the last to {} MiB, those between to {} KiB; `bytes` \
             gives each one's length): every layer was analysed whole",
            MAX_TEXT_BYTES >> 20,
            SHOWN_LAYER_BYTES >> 10
        ));
    }
    layers
}

/// Spends a budget of bytes on tokens, each cut to [`SHOWN_TOKEN_BYTES`].
struct Budget {
    left: usize,
    cut: bool,
}

impl Budget {
    /// The token as shown, or `None` when the budget is spent.
    fn take(&mut self, mut token: String) -> Option<String> {
        if self.left == 0 {
            self.cut = true;
            return None;
        }
        let limit = SHOWN_TOKEN_BYTES.min(self.left);
        let keep = cut_json(&token, limit);
        let used = json_bytes_of(keep);
        if keep.len() < token.len() {
            token.truncate(keep.len());
            self.cut = true;
        }
        // Its quotes and the comma after it count too.
        self.left -= (used + 3).min(self.left);
        Some(token)
    }

    fn list(&mut self, items: Vec<String>) -> Vec<String> {
        items.into_iter().map_while(|t| self.take(t)).collect()
    }
}

/// The tokens as a verdict shows them: every token cut to [`SHOWN_TOKEN_BYTES`], and those
/// past [`SHOWN_TOKENS_BYTES`] in all left out, the commands' first.
pub(crate) fn tokens(t: Tokens, notes: &mut Vec<String>) -> Tokens {
    let mut budget = Budget {
        left: SHOWN_TOKENS_BYTES,
        cut: false,
    };
    let urls = budget.list(t.urls);
    let ips = budget.list(t.ips);
    let paths = budget.list(t.paths);
    let redirections = budget.list(t.redirections);
    let mut commands = Vec::with_capacity(t.commands.len());
    for mut c in t.commands {
        let Some(exe) = budget.take(c.exe) else {
            break;
        };
        c.exe = exe;
        c.args = budget.list(c.args);
        commands.push(c);
    }
    if budget.cut {
        notes.push(format!(
            "the tokens are shown cut short ({} KiB in all, {} KiB each)",
            SHOWN_TOKENS_BYTES >> 10,
            SHOWN_TOKEN_BYTES >> 10
        ));
    }
    Tokens {
        commands,
        pipes: t.pipes,
        redirections,
        urls,
        ips,
        paths,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Shell;
    use crate::tokens::Command;

    fn layer(decoder: &'static str, text: String) -> Layer {
        Layer {
            decoder,
            text,
            shell: Shell::Cmd,
            bytes: None,
        }
    }

    #[test]
    fn layers_past_their_share_are_cut_and_keep_their_length() {
        let big = "é".repeat(600 << 10); // 1.2 MiB, two bytes a character
        let shown = {
            let mut notes = Vec::new();
            let l = layers(
                vec![
                    layer("original", "set a=1".into()),
                    layer("cmd-set", big.clone()),
                    layer("cmd-set", "short".into()),
                    layer("cmd-set", big.clone()),
                ],
                &mut notes,
            );
            assert_eq!(notes.len(), 1, "{notes:?}");
            assert!(notes[0].contains("2 layers (1–3)"), "{notes:?}");
            l
        };
        assert_eq!(shown[0].text, "set a=1");
        assert_eq!(shown[0].bytes, None);
        assert_eq!(shown[1].text.len(), SHOWN_LAYER_BYTES);
        assert_eq!(shown[1].bytes, Some(big.len()));
        assert_eq!(shown[2].bytes, None);
        assert_eq!(shown[3].text.len(), MAX_TEXT_BYTES);
        assert_eq!(shown[3].bytes, Some(big.len()));
        // Serialized, `bytes` appears only where a layer was cut.
        let json = serde_json::to_value(&shown).unwrap();
        assert!(json[0].get("bytes").is_none());
        assert_eq!(json[3]["bytes"], big.len());
    }

    #[test]
    fn cuts_count_what_json_writes() {
        let nul = "\0".repeat(MAX_TEXT_BYTES);
        let mut notes = Vec::new();
        let l = layers(
            vec![layer("original", "a".into()), layer("b", nul)],
            &mut notes,
        );
        let json = serde_json::to_string(&l[1].text).unwrap();
        assert!(json.len() <= MAX_TEXT_BYTES + 2, "{}", json.len());
        assert_eq!(l[1].text.len(), MAX_TEXT_BYTES / 6);
        assert_eq!(l[1].bytes, Some(MAX_TEXT_BYTES));
        assert_eq!(cut_json("a\"b\\c", 4), "a\"b");
        assert_eq!(cut_json("é€", 5), "é€");
        assert_eq!(cut_json("é€", 4), "é");
    }

    #[test]
    fn layers_within_their_share_are_shown_as_they_are() {
        let mut notes = Vec::new();
        let text = "x".repeat(SHOWN_LAYER_BYTES);
        let l = layers(
            vec![
                layer("original", "a".into()),
                layer("b", text.clone()),
                layer("c", "d".into()),
            ],
            &mut notes,
        );
        assert!(notes.is_empty());
        assert_eq!(l[1].text, text);
    }

    #[test]
    fn tokens_stay_within_their_budget() {
        let arg = "A".repeat(10_000);
        let t = Tokens {
            commands: (0..100)
                .map(|i| Command {
                    exe: format!("p{i}"),
                    args: vec![arg.clone(), "-x".into()],
                })
                .collect(),
            pipes: 99,
            redirections: vec![],
            urls: vec!["http://203.0.113.9/a".into()],
            ips: vec!["203.0.113.9".into()],
            paths: vec![],
        };
        let mut notes = Vec::new();
        let shown = tokens(t, &mut notes);
        let bytes: usize = shown
            .commands
            .iter()
            .map(|c| c.exe.len() + c.args.iter().map(String::len).sum::<usize>())
            .sum::<usize>()
            + shown
                .urls
                .iter()
                .chain(&shown.ips)
                .map(String::len)
                .sum::<usize>();
        assert!(bytes <= SHOWN_TOKENS_BYTES, "{bytes}");
        assert!(shown.commands.len() < 100 && shown.commands.len() > 50);
        assert!(shown.commands[0].args[0].len() == SHOWN_TOKEN_BYTES);
        assert_eq!(shown.commands[0].args[1], "-x");
        assert_eq!(shown.urls, ["http://203.0.113.9/a"]);
        assert_eq!(shown.pipes, 99);
        assert_eq!(notes.len(), 1, "{notes:?}");
    }

    #[test]
    fn small_tokens_are_shown_whole_without_a_note() {
        let t = Tokens {
            commands: vec![Command {
                exe: "curl".into(),
                args: vec!["-s".into(), "http://203.0.113.9/x".into()],
            }],
            pipes: 1,
            redirections: vec!["/tmp/x".into()],
            urls: vec!["http://203.0.113.9/x".into()],
            ips: vec!["203.0.113.9".into()],
            paths: vec!["/tmp/x".into()],
        };
        let mut notes = Vec::new();
        let shown = tokens(t.clone(), &mut notes);
        assert!(notes.is_empty());
        assert_eq!(
            serde_json::to_value(&shown).unwrap(),
            serde_json::to_value(&t).unwrap()
        );
    }
}
