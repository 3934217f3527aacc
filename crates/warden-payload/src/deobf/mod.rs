//! Layered de-obfuscation. Each layer is the text after one decoder rewrote it (the first
//! layer is the text as submitted); decoding stops when no decoder changes the text, after
//! [`MAX_LAYERS`] layers, or when the time budget is spent. A decoder that recognises its
//! pattern but cannot decode it leaves the text as it is and says why in a note.
//!
//! The decoders know the three shells' tricks: PowerShell (`-EncodedCommand`, base64 and
//! compressed loaders, constant string expressions, invocations, backticks), cmd (carets,
//! `set` variables and substrings, `call`) and sh/bash (decode-and-pipe-to-shell pipelines,
//! command substitutions, ANSI-C quoting, `eval`).

mod cmd;
pub mod codec;
mod powershell;
pub mod psexpr;
mod sh;

pub use sh::unescape as c_unescape;
mod text;

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::Shell;

/// Most layers after the original.
pub const MAX_LAYERS: usize = 8;
/// Largest text a layer may hold; a decoder whose output would be larger is refused.
pub const MAX_LAYER_BYTES: usize = codec::MAX_DECODED;
/// Largest size of all layers together: what one text may hold in memory while it is
/// analysed, whatever its layers grow to (eight layers of [`MAX_LAYER_BYTES`] would be 32 MiB).
pub const MAX_TOTAL_BYTES: usize = 2 * MAX_LAYER_BYTES;
/// Time all decoding of one text may take.
pub const TIME_BUDGET: Duration = Duration::from_millis(500);

/// One stage of the text: what produced it and the text itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Layer {
    /// `original`, or the decoder that produced this layer.
    pub decoder: &'static str,
    pub text: String,
    /// The shell the layer is written for: the submitted text's, until a decoder hands
    /// over to another (a PowerShell launcher's payload is PowerShell).
    pub shell: Shell,
    /// The layer's whole length in bytes, where a verdict shows `text` cut short
    /// ([`crate::shown`]); absent when `text` is all of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<usize>,
}

/// All layers, and notes on decoders that recognised something they could not decode.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Decoded {
    pub layers: Vec<Layer>,
    pub notes: Vec<String>,
    /// The shell the last layer is written for (a PowerShell launcher's payload is PowerShell).
    pub shell: Option<Shell>,
}

impl Decoded {
    /// The fully decoded text (the last layer).
    pub fn last(&self) -> &str {
        self.layers.last().map_or("", |l| l.text.as_str())
    }
}

/// What one decoder made of a text.
pub enum Step {
    /// Not this decoder's pattern.
    Nothing,
    /// Decoded: the new text.
    Decoded(String),
    /// Its pattern, but it could not be decoded: why.
    Failed(String),
}

type Decoder = fn(&str, &Context) -> Step;

/// What decoders may know of the text beyond itself.
pub struct Context {
    pub shell: Shell,
    /// The text runs or launches PowerShell (shell, or a `powershell`/`pwsh` command).
    pub powershell: bool,
    /// The text runs or launches cmd.
    pub cmd: bool,
    /// The text is (or launches) a POSIX shell.
    pub sh: bool,
}

impl Context {
    fn for_text(text: &str, shell: Shell) -> Context {
        let lower = text.to_ascii_lowercase();
        let launches_ps = lower.contains("powershell") || lower.contains("pwsh");
        let launches_cmd = lower.contains("cmd") && (lower.contains("/c") || lower.contains("/k"));
        Context {
            shell,
            powershell: shell == Shell::Powershell || launches_ps,
            cmd: shell == Shell::Cmd || launches_cmd,
            sh: matches!(shell, Shell::Sh | Shell::Bash),
        }
    }
}

/// The decoders, in the order they are tried on each layer.
const DECODERS: &[(&str, Decoder)] = &[
    ("powershell-encoded-command", powershell::encoded_command),
    ("powershell-base64", powershell::base64_loader),
    ("sh-decode-pipeline", sh::decode_pipeline),
    ("sh-eval", sh::eval_literal),
    ("sh-command-substitution", sh::command_substitution),
    ("sh-ansi-c-quoting", sh::ansi_c),
    ("powershell-invoke", powershell::invoke),
    ("powershell-string-expression", powershell::fold),
    ("powershell-backtick", powershell::backticks),
    ("cmd-variables", cmd::variables),
    ("cmd-caret", cmd::carets),
    ("cmd-call", cmd::call),
];

/// cmd's own syntax, which cmd.exe resolves when it parses a line, before anything the line
/// runs sees it.
const CMD_DECODERS: usize = 3;

/// The decoders in the order a layer in `shell` tries them. A cmd line is peeled from the
/// outside in: its carets, variables and `call` first, so that a launcher's payload is decoded
/// whole rather than from the fragment one `set` holds.
fn decoders_for(shell: Shell) -> impl Iterator<Item = &'static (&'static str, Decoder)> {
    let split = DECODERS.len() - CMD_DECODERS;
    let (inner, outer) = DECODERS.split_at(split);
    let (first, rest) = if shell == Shell::Cmd {
        (outer, inner)
    } else {
        (&[][..], DECODERS)
    };
    first.iter().chain(rest)
}

/// Decodes `text` layer by layer.
pub fn deobfuscate(text: &str, shell: Shell) -> Decoded {
    let started = Instant::now();
    let mut out = Decoded {
        layers: vec![Layer {
            decoder: "original",
            text: text.to_string(),
            shell,
            bytes: None,
        }],
        notes: Vec::new(),
        shell: Some(shell),
    };
    let mut shell = shell;
    let mut total = text.len();
    for _ in 0..MAX_LAYERS {
        if started.elapsed() > TIME_BUDGET {
            out.notes
                .push("decoding stopped: the time budget for one text was spent".into());
            break;
        }
        let current = out.last().to_string();
        let ctx = Context::for_text(&current, shell);
        let Some((decoder, next)) = next_layer(&current, &ctx, &mut out.notes) else {
            return out;
        };
        total += next.len();
        if total > MAX_TOTAL_BYTES {
            out.notes.push(format!(
                "decoding stopped: {decoder} would take the layers past {} MiB together; \
                 the last one may hide more",
                MAX_TOTAL_BYTES >> 20
            ));
            return out;
        }
        // What a PowerShell launcher carried is PowerShell; what a shell pipeline fed a
        // shell is shell.
        if decoder.starts_with("powershell-encoded") || decoder.starts_with("powershell-base64") {
            shell = Shell::Powershell;
        } else if decoder.starts_with("sh-") && !matches!(shell, Shell::Sh | Shell::Bash) {
            shell = Shell::Sh;
        }
        out.layers.push(Layer {
            decoder,
            text: next,
            shell,
            bytes: None,
        });
        out.shell = Some(shell);
    }
    if out.layers.len() > MAX_LAYERS {
        let ctx = Context::for_text(out.last(), shell);
        let mut ignored = Vec::new();
        if next_layer(out.last(), &ctx, &mut ignored).is_some() {
            out.notes.push(format!(
                "decoding stopped after {MAX_LAYERS} layers; the last one may hide more"
            ));
        }
    }
    out
}

fn next_layer(
    current: &str,
    ctx: &Context,
    notes: &mut Vec<String>,
) -> Option<(&'static str, String)> {
    for (name, decode) in decoders_for(ctx.shell) {
        match decode(current, ctx) {
            Step::Decoded(next) if next != current && next.len() <= MAX_LAYER_BYTES => {
                return Some((name, next));
            }
            Step::Decoded(next) if next.len() > MAX_LAYER_BYTES => {
                note_once(
                    notes,
                    format!("{name}: decoded text over the size limit, left as it is"),
                );
            }
            Step::Failed(why) => note_once(notes, format!("{name}: {why}; left as it is")),
            _ => {}
        }
    }
    None
}

fn note_once(notes: &mut Vec<String>, note: String) {
    if !notes.contains(&note) && notes.len() < 32 {
        notes.push(note);
    }
}

#[cfg(test)]
mod tests;
