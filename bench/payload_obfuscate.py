#!/usr/bin/env python3
"""Obfuscated variants of command lines, for testing Warden's payload decoder.

Reads JSON Lines records (`id`, `text`, `shell`, `label`; gzip when the name ends in .gz, `-` for
standard input), by default the malicious ones, and writes for every command and every technique
that suits its shell one variant whose faithful de-obfuscation gives back exactly the original
text, one JSON object a line:

  {"id": "<orig id>-<technique>", "orig_id", "text", "shell", "technique", "original", "label",
   "orig_shell", "layers"}

`layers` is the number of decoding steps from `text` back to `original`. `shell` is the shell the
variant needs: `bash` where the record says `sh` but the wrapper is not POSIX ($'...',
printf '\\x..', echo of a text holding a backslash, which dash's echo would interpret), else the
record's own shell. Randomness (split points, markers, case, variable names, flag spellings) comes
from a generator seeded with (--seed, record id, technique), so a variant does not depend on
--limit, --labels or the order of the input. A command that a technique cannot carry faithfully
is skipped; the skips per technique and reason go to standard error.

Techniques (inner to outer for the nested ones):
  PowerShell  ps-enc-{e,en,enc,ec,full,slash,upper,mixed,prefix,opts}: <powershell> <flag>
                base64(UTF-16LE(text)), the flag any prefix of -EncodedCommand or -ec, with `-` or
                `/`, any case (opts: -NoP/-NonI/-W Hidden/-Exec Bypass style options before it);
              ps-b64-utf8, ps-b64-unicode: iex ([Text.Encoding]::UTF8|Unicode.GetString(
                [Convert]::FromBase64String('...')));
              ps-gzip, ps-deflate: iex (New-Object IO.StreamReader((New-Object
                IO.Compression.GzipStream|DeflateStream([IO.MemoryStream][Convert]::FromBase64String(
                '...'),[IO.Compression.CompressionMode]::Decompress)),[Text.Encoding]::ASCII)).ReadToEnd()
                (raw deflate, no zlib header; UTF8 instead of ASCII for a text that is not ASCII);
              ps-concat: iex ('Get-Pro'+'cess'); ps-format: iex ("{1}{0}" -f 'cess','Get-Pro') in
                3-6 pieces; ps-replace: iex ('Get-XYZProcess' -replace 'XYZ',''); ps-replace-method:
                iex ('Get-XYZProcess'.Replace('XYZ','')); ps-char-join: iex (-join [char[]](71,101,..));
                ps-char-concat: iex ([string][char]71+[char]101+..);
              ps-backtick: backticks inside Verb-Noun command names in code (never in strings or
                comments, never before 0 a b e f n r t u v in either case);
              ps-wrap-{iex,invoke-expression,pipe,sb-amp,sb-dot}: iex '...', Invoke-Expression
                [-Command] '...', '...' | iex, &([scriptblock]::Create('...')),
                . ([scriptblock]::Create('...'));
              ps-nested-*: format > b64-utf8 > enc, concat > gzip, char-join > deflate > enc,
                replace > b64-unicode, backtick > sb-amp > enc.
  cmd         cmd-caret: p^o^w^e^r^s^h^e^l^l in words outside double quotes (never next to % or !);
              cmd-setvar: set a=who&& set b=ami&& call %a%%b% (set "a=..." where the piece holds
                & | < > ( ) or edge spaces; double quotes stay literal in the call line);
              cmd-substr: set "x=<shuffled characters of the text>"&& call %x:~3,1%%x:~-7,1%..;
              cmd-call: call <text>; cmd-nested-substr-caret: cmd-substr with s^e^t and c^a^l^l.
  sh, bash    sh-b64: echo <b64> | base64 -d | sh|bash; sh-b64-decode: .. | base64 --decode | bash;
              sh-ansic-word: $'\\x..' for the command word; sh-ansic-bashc: bash -c $'\\x..';
              sh-printf-hex: printf '\\x..' | sh|bash; sh-printf-oct: printf '\\NNN' | sh|bash;
              sh-printf-subst: $(printf '\\NNN') (simple commands only: words of [A-Za-z0-9_./:=@,+-]);
              sh-eval: eval "..." (\\ " $ ` escaped); sh-xxd: echo <hex> | xxd -r -p | sh|bash;
              sh-rev: echo '<each line reversed>' | rev | sh|bash;
              sh-nested-*: rev > b64, ansic-bashc > b64, eval > xxd, rev > b64 > eval.

--self-check decodes every variant again with a decoder of its own (Python for base64, gzip,
deflate, -f, -replace, char codes, backticks, carets, set and substring variables; the real bash
and sh for $'...', printf, eval "..." and echo '...' | rev, only ever on quoted literals first
checked to hold no expansion, so no command of the corpus is run) and prints, per technique, the
variants made, the commands skipped and the failures. Exit status 1 on any failure.

Requires: Python 3.8+, standard library only; --self-check also needs bash, sh and rev.
Usage: bench/payload_obfuscate.py [--input FILE.jsonl[.gz]] [--out FILE|-] [--seed N] [--limit N]
           [--labels malicious|benign|all] [--techniques NAME,..] [--self-check]
"""
import argparse, base64, gzip, json, os, random, re, subprocess, sys, tempfile, zlib
from collections import Counter


class Skip(Exception):
    """The technique cannot carry this text faithfully; the message is the reason."""


def b64(data):
    return base64.b64encode(data).decode("ascii")


def pieces(text, rng, lo, hi):
    """Splits text into lo..hi non-empty pieces at random points."""
    if len(text) < lo:
        raise Skip("too short")
    n = rng.randint(lo, min(hi, len(text)))
    cuts = sorted(rng.sample(range(1, len(text)), n - 1))
    bounds = [0] + cuts + [len(text)]
    return [text[bounds[i]:bounds[i + 1]] for i in range(n)]


def chain(*fns):
    def f(text, shell, rng):
        for fn in fns:
            text, shell = fn(text, shell, rng)
        return text, shell
    return f


# ---------------------------------------------------------------- PowerShell

PS_TYPO_SQ = "\u2018\u2019\u201a\u201b"  # PowerShell reads these as single quotes too
PS_TYPO_DQ = "\u201c\u201d\u201e"
PS_EXES = ["powershell.exe", "powershell", "PowerShell.exe", "POWERSHELL.EXE",
           r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"]
PS_OPTS = ["-NoP -NonI -W Hidden -Exec Bypass", "-nop -w hidden", "-noni -nop -ep bypass",
           "-NoProfile -NonInteractive -WindowStyle Hidden -ExecutionPolicy Bypass", "-w 1 -nop"]
PS_ESCAPES = set("0abefnrtuvABEFNRTUV")  # `x sequences that mean something; never tick these


def ps_sq(s):
    """A PowerShell single-quoted string literal holding s."""
    if any(c in PS_TYPO_SQ for c in s):
        raise Skip("typographic single quote")
    return "'" + s.replace("'", "''") + "'"


def ps_iex(rng):
    return rng.choice(["iex", "IEX"])


def mixed_case(s, rng):
    for _ in range(20):
        r = "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in s)
        if r not in (s.lower(), s.upper()):
            return r
    return s[0].upper() + s[1:].lower()


ENC_FLAGS = {
    "e": lambda rng: "-e",
    "en": lambda rng: "-en",
    "enc": lambda rng: "-enc",
    "ec": lambda rng: "-ec",
    "full": lambda rng: "-EncodedCommand",
    "slash": lambda rng: rng.choice(["/enc", "/e", "/ec", "/EncodedCommand"]),
    "upper": lambda rng: rng.choice(["-ENC", "-E", "-EC", "-ENCODEDCOMMAND"]),
    "mixed": lambda rng: "-" + mixed_case(rng.choice(["enc", "ec", "encod", "encodedcommand"]), rng),
    "prefix": lambda rng: "-" + "encodedcommand"[:rng.randint(4, 13)],
}


def ps_enc(flag=None, opts=False):
    def f(text, shell, rng):
        fl = ENC_FLAGS[flag or rng.choice(sorted(ENC_FLAGS))](rng)
        pre = rng.choice(PS_EXES) + (" " + rng.choice(PS_OPTS) if opts else "")
        return f"{pre} {fl} {b64(text.encode('utf-16-le'))}", shell
    return f


def ps_b64(kind):
    def f(text, shell, rng):
        data = text.encode("utf-8" if kind == "UTF8" else "utf-16-le")
        enc = rng.choice(["[Text.Encoding]", "[System.Text.Encoding]"])
        conv = rng.choice(["[Convert]", "[System.Convert]"])
        return f"{ps_iex(rng)} ({enc}::{kind}.GetString({conv}::FromBase64String('{b64(data)}')))", shell
    return f


def ps_stream(kind):
    def f(text, shell, rng):
        ascii_text = text.isascii()
        data = text.encode("ascii" if ascii_text else "utf-8")
        if kind == "Gzip":
            comp = gzip.compress(data, 9, mtime=0)
        else:
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            comp = c.compress(data) + c.flush()
        enc = "ASCII" if ascii_text else "UTF8"
        return (f"{ps_iex(rng)} (New-Object IO.StreamReader((New-Object IO.Compression.{kind}Stream("
                f"[IO.MemoryStream][Convert]::FromBase64String('{b64(comp)}'),"
                f"[IO.Compression.CompressionMode]::Decompress)),[Text.Encoding]::{enc})).ReadToEnd()"), shell
    return f


def ps_concat(text, shell, rng):
    return f"{ps_iex(rng)} (" + "+".join(ps_sq(p) for p in pieces(text, rng, 2, 6)) + ")", shell


def ps_format(text, shell, rng):
    parts = pieces(text, rng, 3, 6)
    order = list(range(len(parts)))
    while order == sorted(order):
        rng.shuffle(order)
    args = [None] * len(parts)
    for i, p in enumerate(parts):
        args[order[i]] = p
    fmt = "".join("{%d}" % k for k in order)
    return f'{ps_iex(rng)} ("{fmt}" -f ' + ",".join(ps_sq(a) for a in args) + ")", shell


def ps_replace(method):
    """-replace is a case-insensitive regex; .Replace() is ordinal: the marker is checked for both."""
    def f(text, shell, rng):
        hay = text if method else text.lower()
        for _ in range(20):
            m = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(rng.randint(3, 5)))
            if (m if method else m.lower()) in hay:
                continue
            k = rng.randint(1, min(8, len(text) + 1))
            at = set(rng.sample(range(len(text) + 1), k))
            s = "".join((m if i in at else "") + (text[i] if i < len(text) else "") for i in range(len(text) + 1))
            back = s.replace(m, "") if method else re.sub(re.escape(m), "", s, flags=re.I)
            if back == text:
                break
        else:
            raise Skip("no safe marker")
        if method:
            return f"{ps_iex(rng)} ({ps_sq(s)}.Replace('{m}',''))", shell
        return f"{ps_iex(rng)} ({ps_sq(s)} -replace '{m}','')", shell
    return f


def utf16_units(text):
    d = text.encode("utf-16-le")
    return [int.from_bytes(d[i:i + 2], "little") for i in range(0, len(d), 2)]


def ps_char_join(text, shell, rng):
    return f"{ps_iex(rng)} (-join [char[]](" + ",".join(map(str, utf16_units(text))) + "))", shell


def ps_char_concat(text, shell, rng):
    return f"{ps_iex(rng)} ([string]" + "+".join(f"[char]{u}" for u in utf16_units(text)) + ")", shell


def ps_code_mask(text):
    """For each character, True when PowerShell reads it as code (not string, here-string, comment)."""
    n, i = len(text), 0
    code = [False] * n
    sq, dq = "'" + PS_TYPO_SQ, '"' + PS_TYPO_DQ
    while i < n:
        c = text[i]
        if c == "`":
            code[i] = True
            if i + 1 < n:
                code[i + 1] = True
            i += 2
        elif text.startswith("<#", i):
            j = text.find("#>", i + 2)
            i = n if j < 0 else j + 2
        elif c == "#" and (i == 0 or text[i - 1] in " \t\n;(){}|"):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif c == "@" and i + 1 < n and text[i + 1] in "'\"" and re.match(r"[ \t]*\n", text[i + 2:]):
            j = text.find("\n" + text[i + 1] + "@", i + 2)
            i = n if j < 0 else j + 3
        elif c in sq:
            j = i + 1
            while j < n:
                if text[j] in sq:
                    if j + 1 < n and text[j + 1] in sq:
                        j += 2
                        continue
                    break
                j += 1
            i = j + 1
        elif c in dq:
            j = i + 1
            while j < n:
                if text[j] == "`":
                    j += 2
                    continue
                if text[j] in dq:
                    if j + 1 < n and text[j + 1] in dq:
                        j += 2
                        continue
                    break
                j += 1
            i = j + 1
        else:
            code[i] = True
            i += 1
    return code


def ps_backtick(text, shell, rng):
    if "--%" in text:
        raise Skip("stop-parsing token")
    if any(c in PS_TYPO_SQ + PS_TYPO_DQ for c in text):
        raise Skip("typographic quote")
    code = ps_code_mask(text)
    for i, c in enumerate(text[:-1]):
        if c == "`" and code[i] and text[i + 1].isalpha() and text[i + 1] not in PS_ESCAPES:
            raise Skip("already has a redundant backtick")
    tokens = []
    for m in re.finditer(r"[A-Za-z]+(?:-[A-Za-z]+)+", text):
        s, e = m.span()
        if not all(code[s:e]):
            continue
        if s > 0 and text[s - 1] not in " \t\n(|;{=&,":
            continue
        if s > 1 and text[s - 2:s] == "${":
            continue
        if e < len(text) and text[e] not in " \t\n)|;}":
            continue
        before = text[:s].split()
        if before and before[-1].lower() in ("function", "filter", "workflow", "configuration"):
            continue
        cands = [k for k in range(s + 1, e) if text[k].isalpha() and text[k] not in PS_ESCAPES]
        if cands:
            tokens.append(cands)
    if not tokens:
        raise Skip("no Verb-Noun command name in code")
    at = set()
    for cands in rng.sample(tokens, rng.randint(1, min(3, len(tokens)))):
        at.update(rng.sample(cands, rng.randint(1, min(3, len(cands)))))
    return "".join(("`" if i in at else "") + c for i, c in enumerate(text)), shell


def ps_wrap(kind):
    def f(text, shell, rng):
        s = ps_sq(text)
        if kind == "iex":
            return f"{ps_iex(rng)} {s}", shell
        if kind == "invoke-expression":
            return rng.choice(["Invoke-Expression ", "Invoke-Expression -Command "]) + s, shell
        if kind == "pipe":
            return f"{s} | {rng.choice(['iex', 'Invoke-Expression'])}", shell
        if kind == "sb-amp":
            return f"&([scriptblock]::Create({s}))", shell
        return f". ([scriptblock]::Create({s}))", shell
    return f


# ---------------------------------------------------------------- cmd

CMD_NO_CALL = ("if", "for", "rem", "(", "@", ":")
CMD_RESERVED = {"cd", "os", "tmp", "temp", "path", "date", "time", "random", "windir", "home", "prompt"}


def cmd_first_word(text):
    w = text.split(None, 1)[0].lower() if text.split() else ""
    return w


def cmd_caret(text, shell, rng):
    if "^" in text:
        raise Skip("already has carets")
    out, words = [], []
    lines = text.split("\n")
    for ln, line in enumerate(lines):
        if re.match(r"\s*(?:rem\b|::|:)", line, re.I):
            continue
        q, start = False, None
        for i, c in enumerate(line + " "):
            if c == '"':
                q = not q
            delim = q or c in ' \t,;=&|<>()"' or i == len(line)
            if start is None and not delim:
                start = i
            elif start is not None and (delim or c == '"'):
                w = line[start:i]
                if "%" not in w and "!" not in w:
                    cands = [k for k in range(1, len(w)) if w[k].isascii() and w[k].isalnum()]
                    if cands:
                        words.append((ln, start, cands))
                start = None
    if not words:
        raise Skip("no word outside quotes")
    chosen = [words[0]] + rng.sample(words[1:], min(len(words) - 1, rng.randint(0, 2)))
    at = set()
    for ln, start, cands in chosen:
        pick = cands if rng.random() < 0.5 else rng.sample(cands, rng.randint(1, len(cands)))
        at.update((ln, start + k) for k in pick)
    for ln, line in enumerate(lines):
        out.append("".join(("^" if (ln, i) in at else "") + c for i, c in enumerate(line)))
    return "\n".join(out), shell


def cmd_plain(text):
    if "\n" in text:
        raise Skip("multi-line")
    if any(c in text for c in "%!^"):
        raise Skip("holds % ! or ^ (call expands and doubles them again)")
    if cmd_first_word(text).startswith(CMD_NO_CALL):
        raise Skip("call cannot run if/for/rem/blocks")


def cmd_names(rng, k):
    names = set()
    while len(names) < k:
        n = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(1, 3)))
        if n not in CMD_RESERVED:
            names.add(n)
    return list(names)


def cmd_kw(word, caret):
    return word[0] + "".join("^" + c for c in word[1:]) if caret else word


def cmd_set(name, value, rng, caret=False):
    quoted = any(c in value for c in "&|<>()") or value != value.strip() or rng.random() < 0.3
    body = f'"{name}={value}"' if quoted else f"{name}={value}"
    return f"{cmd_kw('set', caret)} {body}&& "


def cmd_setvar(text, shell, rng):
    cmd_plain(text)
    runs = []
    for p in pieces(text, rng, 2, 6):
        runs.extend(x for x in re.split(r'(")', p) if x)
    names = cmd_names(rng, sum(1 for r in runs if r != '"'))
    sets, line, k = [], [], 0
    for r in runs:
        if r == '"':
            line.append(r)
        else:
            sets.append(cmd_set(names[k], r, rng))
            line.append(f"%{names[k]}%")
            k += 1
    if k < 2:
        raise Skip("fewer than two pieces outside quotes")
    order = list(range(len(sets)))
    rng.shuffle(order)
    return "".join(sets[i] for i in order) + "call " + "".join(line), shell


def cmd_substr(caret_kw=False):
    def f(text, shell, rng):
        cmd_plain(text)
        chars = sorted(set(text) - {'"'})
        if not chars:
            raise Skip("nothing outside quotes")
        extra = [c for c in "abcdefghijklmnopqrstuvwxyz0123456789" if c not in chars]
        chars += rng.sample(extra, min(len(extra), rng.randint(0, 6)))
        rng.shuffle(chars)
        alpha = "".join(chars)
        name = cmd_names(rng, 1)[0]
        pos = {c: i for i, c in enumerate(alpha)}
        refs = []
        for c in text:
            if c == '"':
                refs.append(c)
            else:
                i = pos[c] if rng.random() < 0.7 else pos[c] - len(alpha)
                refs.append(f"%{name}:~{i},1%")
        out = f'{cmd_kw("set", caret_kw)} "{name}={alpha}"&& {cmd_kw("call", caret_kw)} ' + "".join(refs)
        if len(out) > 8191:
            raise Skip("longer than cmd's 8191-character line")
        return out, shell
    return f


def cmd_call(text, shell, rng):
    cmd_plain(text)
    return "call " + text, shell


# ---------------------------------------------------------------- sh / bash

SH_KEYWORDS = {"if", "then", "else", "elif", "fi", "case", "esac", "for", "select", "while", "until",
               "do", "done", "function", "time", "in", "coproc", "!", "{", "}", "[[", "]]"}


def sh_b64(flag, target=None):
    def f(text, shell, rng):
        return f"echo {b64(text.encode())} | base64 {flag} | {target or shell}", shell
    return f


def ansic(s, rng, p_plain):
    out = []
    for b in s.encode():
        ch = chr(b)
        out.append(ch if b < 128 and ch.isalnum() and rng.random() < p_plain else "\\x%02x" % b)
    if not any(x.startswith("\\") for x in out):
        k = rng.randrange(len(out))
        out[k] = "\\x%02x" % ord(out[k])
    return "$'" + "".join(out) + "'"


def sh_ansic_word(text, shell, rng):
    m = re.match(r"[A-Za-z0-9_./+-]+", text)
    if not m or (m.end() < len(text) and text[m.end()] not in " \t\n;|&<>"):
        raise Skip("no plain command word first")
    w = m.group()
    if w in SH_KEYWORDS or w.isdigit() or w.startswith("-"):
        raise Skip("first word is a keyword or not a command")
    return ansic(w, rng, 0.3) + text[m.end():], "bash"


def sh_ansic_bashc(text, shell, rng):
    return "bash -c " + ansic(text, rng, 0.3), "bash"


def sh_printf(kind):
    def f(text, shell, rng):
        data = text.encode()
        if kind == "hex":
            return "printf '" + "".join("\\x%02x" % b for b in data) + f"' | {shell}", "bash"
        fmt = "".join("\\%03o" % b for b in data)
        if kind == "oct":
            return f"printf '{fmt}' | {shell}", shell
        if not re.fullmatch(r"[A-Za-z0-9_./:=@,+-]+(?: [A-Za-z0-9_./:=@,+-]+)*", text):
            raise Skip("not a simple command (quotes, operators, globs or expansions)")
        w = text.split(" ")[0]
        if "=" in w or w in SH_KEYWORDS:
            raise Skip("first word is an assignment or keyword")
        return f"$(printf '{fmt}')", shell
    return f


def sh_eval(text, shell, rng):
    return 'eval "' + re.sub(r'([\\"$`])', r"\\\1", text) + '"', shell


def sh_xxd(text, shell, rng):
    return f"echo {text.encode().hex()} | xxd -r -p | {shell}", shell


def sh_rev(text, shell, rng):
    if not text.isascii():
        raise Skip("not ASCII (rev works on the locale's characters)")
    r = "\n".join(line[::-1] for line in text.split("\n"))
    if re.fullmatch(r"-[neE]+", r):
        raise Skip("echo would read it as an option")
    lit = "'" + r.replace("'", "'\\''") + "'"
    return f"echo {lit} | rev | {shell}", ("bash" if "\\" in text else shell)


# ---------------------------------------------------------------- independent decoders (--self-check)

SQ = r"'(?:[^']|'')*'"
IEX = r"(?:iex|invoke-expression)"


def unsq(lit):
    return lit[1:-1].replace("''", "'")


def need(m, what):
    if not m:
        raise ValueError(f"not {what}")
    return m


def d_ps_enc(s):
    t = s.split(" ")
    exe = t[0].lower().rsplit("\\", 1)[-1]
    if exe not in ("powershell", "powershell.exe") or len(t) < 3:
        raise ValueError("not powershell.exe <flag> <b64>")
    flag = t[-2].lower()
    if flag[0] not in "-/" or not (flag[1:] == "ec" or "encodedcommand".startswith(flag[1:])) or len(flag) < 2:
        raise ValueError(f"not an -EncodedCommand flag: {t[-2]}")
    for o in t[1:-2]:
        if not re.fullmatch(r"-\w+|\w+", o):
            raise ValueError(f"odd option {o}")
    return base64.b64decode(t[-1], validate=True).decode("utf-16-le")


def d_ps_b64(s):
    m = need(re.fullmatch(IEX + r" \(\[(?:System\.)?Text\.Encoding\]::(UTF8|Unicode)\.GetString\("
                          r"\[(?:System\.)?Convert\]::FromBase64String\('([A-Za-z0-9+/=]*)'\)\)\)", s, re.I), "iex base64")
    return base64.b64decode(m.group(2), validate=True).decode("utf-8" if m.group(1).lower() == "utf8" else "utf-16-le")


def d_ps_stream(s):
    m = need(re.fullmatch(IEX + r" \(New-Object IO\.StreamReader\(\(New-Object IO\.Compression\.(Gzip|Deflate)Stream\("
                          r"\[IO\.MemoryStream\]\[Convert\]::FromBase64String\('([A-Za-z0-9+/=]*)'\),"
                          r"\[IO\.Compression\.CompressionMode\]::Decompress\)\),\[Text\.Encoding\]::(ASCII|UTF8)\)\)"
                          r"\.ReadToEnd\(\)", s, re.I), "iex stream")
    raw = base64.b64decode(m.group(2), validate=True)
    data = zlib.decompress(raw, 31 if m.group(1).lower() == "gzip" else -15)
    return data.decode("ascii" if m.group(3).upper() == "ASCII" else "utf-8")


def d_ps_concat(s):
    m = need(re.fullmatch(IEX + rf" \(({SQ}(?:\+{SQ})*)\)", s, re.I | re.S), "iex concatenation")
    return "".join(unsq(x) for x in re.findall(SQ, m.group(1)))


def d_ps_format(s):
    m = need(re.fullmatch(IEX + rf' \("((?:\{{\d+\}})+)" -f ({SQ}(?:,{SQ})*)\)', s, re.I | re.S), "iex -f")
    args = [unsq(x) for x in re.findall(SQ, m.group(2))]
    return "".join(args[int(k)] for k in re.findall(r"\{(\d+)\}", m.group(1)))


def d_ps_replace(s):
    m = need(re.fullmatch(IEX + rf" \(({SQ}) -replace '([A-Za-z0-9]+)',''\)", s, re.I | re.S), "iex -replace")
    return re.sub(re.escape(m.group(2)), "", unsq(m.group(1)), flags=re.I)


def d_ps_replace_method(s):
    m = need(re.fullmatch(IEX + rf" \(({SQ})\.Replace\('([A-Za-z0-9]+)',''\)\)", s, re.I | re.S), "iex .Replace")
    return unsq(m.group(1)).replace(m.group(2), "")


def from_units(units):
    return b"".join(int(u).to_bytes(2, "little") for u in units).decode("utf-16-le")


def d_ps_char_join(s):
    m = need(re.fullmatch(IEX + r" \(-join \[char\[\]\]\((\d+(?:,\d+)*)\)\)", s, re.I), "iex -join [char[]]")
    return from_units(m.group(1).split(","))


def d_ps_char_concat(s):
    m = need(re.fullmatch(IEX + r" \(\[string\](\[char\]\d+(?:\+\[char\]\d+)*)\)", s, re.I), "iex [char]+[char]")
    return from_units(re.findall(r"\[char\](\d+)", m.group(1), re.I))


PS_TOKENS = re.compile(r"""(?sx)
    (?P<keep> @'[ \t]*\n.*?\n'@ | @"[ \t]*\n.*?\n"@ | <\#.*?\#>
            | '(?:[^']|'')*' | "(?:[^"`]|`.|"")*"
            | (?<![^\s;(){|])\#[^\n]* )
  | `(?P<tick>.)
  | (?P<other>[^`'"@<\#]+|.)""")


def d_ps_backtick(s):
    out = []
    for m in PS_TOKENS.finditer(s):
        t = m.group("tick")
        if t is not None:
            out.append(t if t.isalpha() and t.lower() not in "abefnrtuv" else "`" + t)
        else:
            out.append(m.group())
    return "".join(out)


def d_ps_wrap(s):
    for pat in (IEX + rf"(?: -command)? ({SQ})", rf"({SQ}) \| {IEX}",
                rf"(?:&|\. )\(\[scriptblock\]::create\(({SQ})\)\)"):
        m = re.fullmatch(pat, s, re.I | re.S)
        if m:
            return unsq(m.group(1))
    raise ValueError("not a wrapper")


def d_cmd_caret(s):
    out = []
    for line in s.split("\n"):
        q, buf, i = False, [], 0
        while i < len(line):
            c = line[i]
            if c == '"':
                q = not q
            if c == "^" and not q and i + 1 < len(line) and line[i + 1].isascii() and line[i + 1].isalnum():
                i += 1
                continue
            buf.append(c)
            i += 1
        out.append("".join(buf))
    return "\n".join(out)


def d_cmd_vars(s):
    env, i = {}, 0
    set_re = re.compile(r'set (?:"([A-Za-z]+)=([^"\n]*)"|([A-Za-z]+)=([^&"\n]*))&& ', re.I)
    while True:
        m = set_re.match(s, i)
        if not m:
            break
        if m.group(1):
            env[m.group(1).lower()] = m.group(2)
        else:
            env[m.group(3).lower()] = m.group(4)
        i = m.end()
    if not env or not s[i:].lower().startswith("call "):
        raise ValueError("not set ...&& call ...")

    def expand(m):
        v = env[m.group(1).lower()]
        if m.group(2) is None:
            return v
        a, n = int(m.group(2)), int(m.group(3))
        start = a if a >= 0 else max(0, len(v) + a)
        return v[start:start + n]
    return re.sub(r"%([A-Za-z]+)(?::~(-?\d+),(\d+))?%", expand, s[i + 5:])


def d_cmd_call(s):
    return need(re.fullmatch(r"call (.+)", s, re.I), "call").group(1)


class Shell:
    """A long-lived bash or sh: each request prints one result, then a NUL byte."""

    def __init__(self, prog):
        self.dir = tempfile.TemporaryDirectory()
        self.p = subprocess.Popen([prog], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  cwd=self.dir.name, env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"})

    def run(self, code):
        self.p.stdin.write((code + "\nprintf '\\000'\n").encode())
        self.p.stdin.flush()
        buf = bytearray()
        while not buf.endswith(b"\0"):
            chunk = os.read(self.p.stdout.fileno(), 1 << 16)
            if not chunk:
                raise RuntimeError("shell exited")
            buf += chunk
        return bytes(buf[:-1]).decode("utf-8")

    def close(self):
        self.p.stdin.close()
        self.p.wait()
        self.dir.cleanup()


SHELLS = {}


def sh(prog):
    if prog not in SHELLS:
        SHELLS[prog] = Shell(prog)
    return SHELLS[prog]


SH_SQLIT = r"(?:'[^']*'|\\')+"           # 'a'\''b': nothing is expanded
ANSIC = r"\$'(?:\\x[0-9a-f]{2}|[A-Za-z0-9])+'"  # only \xHH and letters or digits


def d_sh_b64(s):
    m = need(re.fullmatch(r"echo ([A-Za-z0-9+/=]+) \| base64 (?:-d|--decode) \| (?:sh|bash)", s), "base64 pipe")
    return base64.b64decode(m.group(1), validate=True).decode("utf-8")


def d_sh_xxd(s):
    m = need(re.fullmatch(r"echo ([0-9a-f]+) \| xxd -r -p \| (?:sh|bash)", s), "xxd pipe")
    return bytes.fromhex(m.group(1)).decode("utf-8")


def d_sh_rev(s):
    m = need(re.fullmatch(rf"echo ({SH_SQLIT}) \| rev \| (?:sh|bash)", s, re.S), "rev pipe")
    out = sh("bash").run(f"printf '%s\\n' {m.group(1)} | rev")
    return out[:-1]


def d_sh_ansic_bashc(s):
    m = need(re.fullmatch(rf"bash -c ({ANSIC})", s), "bash -c $'...'")
    return sh("bash").run(f"printf %s {m.group(1)}")


def d_sh_ansic_word(s):
    m = need(re.fullmatch(rf"({ANSIC})(.*)", s, re.S), "$'...' word")
    return sh("bash").run(f"printf %s {m.group(1)}") + m.group(2)


def d_sh_printf(s):
    m = re.fullmatch(r"printf '((?:\\x[0-9a-f]{2})+)' \| (?:sh|bash)", s)
    if m:
        return sh("bash").run(f"printf '{m.group(1)}'")
    m = need(re.fullmatch(r"printf '((?:\\[0-7]{3})+)' \| (?:sh|bash)", s), "printf pipe")
    return sh("sh").run(f"printf '{m.group(1)}'")


def d_sh_printf_subst(s):
    m = need(re.fullmatch(r"\$\(printf '((?:\\[0-7]{3})+)'\)", s), "$(printf ...)")
    return sh("sh").run(f"printf '{m.group(1)}'")


def d_sh_eval(s):
    m = need(re.fullmatch(r'eval ("(?:[^"\\$`]|\\[\\"$`])*")', s, re.S), "eval \"...\"")
    return sh("bash").run(f"printf %s {m.group(1)}")


# ---------------------------------------------------------------- the table

PS, CMD, SH = ("powershell",), ("cmd",), ("sh", "bash")
TECHNIQUES = {}
for _f in ENC_FLAGS:
    TECHNIQUES[f"ps-enc-{_f}"] = (PS, ps_enc(_f), [d_ps_enc])
TECHNIQUES.update({
    "ps-enc-opts": (PS, ps_enc(opts=True), [d_ps_enc]),
    "ps-b64-utf8": (PS, ps_b64("UTF8"), [d_ps_b64]),
    "ps-b64-unicode": (PS, ps_b64("Unicode"), [d_ps_b64]),
    "ps-gzip": (PS, ps_stream("Gzip"), [d_ps_stream]),
    "ps-deflate": (PS, ps_stream("Deflate"), [d_ps_stream]),
    "ps-concat": (PS, ps_concat, [d_ps_concat]),
    "ps-format": (PS, ps_format, [d_ps_format]),
    "ps-replace": (PS, ps_replace(False), [d_ps_replace]),
    "ps-replace-method": (PS, ps_replace(True), [d_ps_replace_method]),
    "ps-char-join": (PS, ps_char_join, [d_ps_char_join]),
    "ps-char-concat": (PS, ps_char_concat, [d_ps_char_concat]),
    "ps-backtick": (PS, ps_backtick, [d_ps_backtick]),
    "ps-wrap-iex": (PS, ps_wrap("iex"), [d_ps_wrap]),
    "ps-wrap-invoke-expression": (PS, ps_wrap("invoke-expression"), [d_ps_wrap]),
    "ps-wrap-pipe": (PS, ps_wrap("pipe"), [d_ps_wrap]),
    "ps-wrap-sb-amp": (PS, ps_wrap("sb-amp"), [d_ps_wrap]),
    "ps-wrap-sb-dot": (PS, ps_wrap("sb-dot"), [d_ps_wrap]),
    "ps-nested-format-b64-enc": (PS, chain(ps_format, ps_b64("UTF8"), ps_enc()), [d_ps_enc, d_ps_b64, d_ps_format]),
    "ps-nested-concat-gzip": (PS, chain(ps_concat, ps_stream("Gzip")), [d_ps_stream, d_ps_concat]),
    "ps-nested-charjoin-deflate-enc": (PS, chain(ps_char_join, ps_stream("Deflate"), ps_enc()),
                                       [d_ps_enc, d_ps_stream, d_ps_char_join]),
    "ps-nested-replace-b64unicode": (PS, chain(ps_replace(False), ps_b64("Unicode")), [d_ps_b64, d_ps_replace]),
    "ps-nested-backtick-sb-enc": (PS, chain(ps_backtick, ps_wrap("sb-amp"), ps_enc()),
                                  [d_ps_enc, d_ps_wrap, d_ps_backtick]),
    "cmd-caret": (CMD, cmd_caret, [d_cmd_caret]),
    "cmd-setvar": (CMD, cmd_setvar, [d_cmd_vars]),
    "cmd-substr": (CMD, cmd_substr(), [d_cmd_vars]),
    "cmd-call": (CMD, cmd_call, [d_cmd_call]),
    "cmd-nested-substr-caret": (CMD, cmd_substr(caret_kw=True), [d_cmd_caret, d_cmd_vars]),
    "sh-b64": (SH, sh_b64("-d"), [d_sh_b64]),
    "sh-b64-decode": (SH, sh_b64("--decode", "bash"), [d_sh_b64]),
    "sh-ansic-word": (SH, sh_ansic_word, [d_sh_ansic_word]),
    "sh-ansic-bashc": (SH, sh_ansic_bashc, [d_sh_ansic_bashc]),
    "sh-printf-hex": (SH, sh_printf("hex"), [d_sh_printf]),
    "sh-printf-oct": (SH, sh_printf("oct"), [d_sh_printf]),
    "sh-printf-subst": (SH, sh_printf("subst"), [d_sh_printf_subst]),
    "sh-eval": (SH, sh_eval, [d_sh_eval]),
    "sh-xxd": (SH, sh_xxd, [d_sh_xxd]),
    "sh-rev": (SH, sh_rev, [d_sh_rev]),
    "sh-nested-rev-b64": (SH, chain(sh_rev, sh_b64("-d")), [d_sh_b64, d_sh_rev]),
    "sh-nested-ansic-b64": (SH, chain(sh_ansic_bashc, sh_b64("-d")), [d_sh_b64, d_sh_ansic_bashc]),
    "sh-nested-eval-xxd": (SH, chain(sh_eval, sh_xxd), [d_sh_xxd, d_sh_eval]),
    "sh-nested-rev-b64-eval": (SH, chain(sh_rev, sh_b64("-d"), sh_eval), [d_sh_eval, d_sh_b64, d_sh_rev]),
})


def read_jsonl(path):
    if path == "-":
        f = sys.stdin
    elif path.endswith(".gz"):
        f = gzip.open(path, "rt", encoding="utf-8")
    else:
        f = open(path, encoding="utf-8")
    with f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", default=os.path.join(here, "..", "..", "shared", "data", "commands", "commands.jsonl.gz"))
    ap.add_argument("--out", help="variants as JSON Lines (default: standard output, or none with --self-check)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--limit", type=int, help="at most this many input commands")
    ap.add_argument("--labels", choices=("malicious", "benign", "all"), default="malicious")
    ap.add_argument("--techniques", help="comma-separated technique names (default: all)")
    ap.add_argument("--self-check", action="store_true", help="decode every variant again and compare")
    a = ap.parse_args()

    names = list(TECHNIQUES)
    if a.techniques:
        names = [t.strip() for t in a.techniques.split(",") if t.strip()]
        unknown = [t for t in names if t not in TECHNIQUES]
        if unknown:
            ap.error(f"unknown technique(s) {', '.join(unknown)}; known: {', '.join(TECHNIQUES)}")
    out = None
    if a.out and a.out != "-":
        out = open(a.out, "w", encoding="utf-8")
    elif a.out == "-" or not a.self_check:
        out = sys.stdout

    made, skipped, reasons, ok, failed = Counter(), Counter(), Counter(), Counter(), Counter()
    examples = {}
    n_in = 0
    for r in read_jsonl(a.input):
        if a.labels != "all" and r.get("label") != a.labels:
            continue
        if a.limit is not None and n_in >= a.limit:
            break
        n_in += 1
        text, rshell = r["text"], r.get("shell") or "sh"
        for name in names:
            shells, fn, decoders = TECHNIQUES[name]
            if rshell not in shells:
                continue
            rng = random.Random(f"{a.seed}:{r['id']}:{name}")
            try:
                variant, vshell = fn(text, rshell, rng)
            except Skip as e:
                skipped[name] += 1
                reasons[(name, str(e))] += 1
                continue
            made[name] += 1
            if out is not None:
                out.write(json.dumps({"id": f"{r['id']}-{name}", "orig_id": r["id"], "text": variant, "shell": vshell,
                                      "technique": name, "original": text, "label": r.get("label"),
                                      "orig_shell": rshell, "layers": len(decoders)}, ensure_ascii=False) + "\n")
            if a.self_check:
                cur, err = variant, None
                try:
                    for d in decoders:
                        cur = d(cur)
                    if cur != text:
                        err = "decoded text differs"
                except Exception as e:  # a decoder that does not match is a failure, not a crash
                    err = f"{type(e).__name__}: {e}"
                if err:
                    failed[name] += 1
                    examples.setdefault(name, (r["id"], err, variant[:300]))
                else:
                    ok[name] += 1
    if out is not None and out is not sys.stdout:
        out.close()
    for s in SHELLS.values():
        s.close()

    rep = sys.stdout if a.self_check and out is not sys.stdout else sys.stderr
    print(f"{n_in} input commands ({a.labels}), seed {a.seed}", file=rep)
    head = f"{'technique':32} {'shells':>14} {'layers':>6} {'made':>6} {'skipped':>7}"
    if a.self_check:
        head += f" {'ok':>6} {'failed':>6}"
    print(head, file=rep)
    for name in names:
        shells, _, decoders = TECHNIQUES[name]
        line = f"{name:32} {','.join(shells):>14} {len(decoders):>6} {made[name]:>6} {skipped[name]:>7}"
        if a.self_check:
            line += f" {ok[name]:>6} {failed[name]:>6}"
        print(line, file=rep)
    total = f"{'total':32} {'':>14} {'':>6} {sum(made.values()):>6} {sum(skipped.values()):>7}"
    if a.self_check:
        total += f" {sum(ok.values()):>6} {sum(failed.values()):>6}"
    print(total, file=rep)
    if reasons:
        print("skips by reason:", file=sys.stderr)
        for (name, why), n in sorted(reasons.items()):
            print(f"  {name}: {why}: {n}", file=sys.stderr)
    for name, (rid, err, v) in examples.items():
        print(f"FAILED {name} {rid}: {err}\n  {v!r}", file=rep)
    return 1 if sum(failed.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
