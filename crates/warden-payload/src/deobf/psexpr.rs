//! A small evaluator for the constant string expressions PowerShell obfuscators build:
//! quoted literals, `+` concatenation, the `-f` format operator, `-replace` (regular
//! expression, case-insensitive unless `-creplace`), `-join` (unary and binary), the comma
//! operator, `[char]` / `[char[]]` / `[string]` casts, `[string]::Join` / `Concat`,
//! `[convert]::ToChar`, and the `.Replace()`, `.ToLower()`, `.ToUpper()` methods.
//!
//! It evaluates what is constant and refuses the rest: a variable, an unknown operator or a
//! method it does not know makes the parse fail, and the caller leaves that text as it is.
//! Bounded: nesting depth, output length and the number of steps are limited.

use regex::RegexBuilder;

use super::codec::MAX_DECODED;

/// Deepest nesting of parentheses and casts evaluated.
const MAX_DEPTH: usize = 48;
/// Most values produced in one evaluation (operands, elements).
const MAX_STEPS: usize = 200_000;

/// A constant value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Char(char),
    Array(Vec<Value>),
}

impl Value {
    /// PowerShell's string conversion (arrays joined by a space, as `$OFS` defaults).
    pub fn to_text(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Char(c) => c.to_string(),
            Value::Array(items) => items
                .iter()
                .map(Value::to_text)
                .collect::<Vec<_>>()
                .join(" "),
        }
    }

    fn items(self) -> Vec<Value> {
        match self {
            Value::Array(items) => items,
            other => vec![other],
        }
    }

    fn len_hint(&self) -> usize {
        match self {
            Value::Str(s) => s.len(),
            Value::Array(items) => items.iter().map(Value::len_hint).sum(),
            _ => 1,
        }
    }
}

/// The outcome of evaluating from a position: the value, where it ended, and whether any
/// operator was applied (a lone literal is not worth rewriting).
#[derive(Debug)]
pub struct Evaluated {
    pub value: Value,
    pub end: usize,
    pub operated: bool,
}

/// Evaluates the expression that starts at byte `start` of `text`; stops before the first
/// token that cannot continue it.
pub fn eval_at(text: &str, start: usize) -> Option<Evaluated> {
    let mut p = Parser {
        s: text,
        pos: start,
        depth: 0,
        steps: 0,
        operated: false,
    };
    let value = p.expr()?;
    // Spaces read while looking for another operator are not part of the expression.
    let end = start + text[start..p.pos].trim_end_matches([' ', '\t']).len();
    (value.len_hint() <= MAX_DECODED).then_some(Evaluated {
        value,
        end,
        operated: p.operated,
    })
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
    depth: usize,
    steps: usize,
    operated: bool,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.s[self.pos..]
    }

    /// Skips spaces, tabs and backtick line continuations (not newlines: they end statements).
    fn skip_ws(&mut self) {
        loop {
            let r = self.rest();
            if r.starts_with([' ', '\t']) {
                self.pos += 1;
            } else if r.starts_with("`\r\n") {
                self.pos += 3;
            } else if r.starts_with("`\n") {
                self.pos += 2;
            } else {
                return;
            }
        }
    }

    /// Consumes `word` (case-insensitive) when it is next and not followed by a word character.
    fn keyword(&mut self, word: &str) -> bool {
        self.skip_ws();
        let r = self.rest();
        let Some(head) = r.get(..word.len()) else {
            return false;
        };
        if !head.eq_ignore_ascii_case(word) {
            return false;
        }
        let last_is_word = word.ends_with(|c: char| c.is_ascii_alphanumeric());
        let next = r[word.len()..].chars().next();
        if last_is_word && next.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            return false;
        }
        self.pos += word.len();
        true
    }

    fn step(&mut self) -> Option<()> {
        self.steps += 1;
        (self.steps <= MAX_STEPS).then_some(())
    }

    fn expr(&mut self) -> Option<Value> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let v = self.comparison();
        self.depth -= 1;
        v
    }

    /// `-replace`, `-creplace`, `-ireplace` and binary `-join`, left to right.
    fn comparison(&mut self) -> Option<Value> {
        let mut left = self.additive()?;
        loop {
            self.step()?;
            let save = self.pos;
            let case_sensitive = if self.keyword("-creplace") {
                Some(true)
            } else if self.keyword("-replace") || self.keyword("-ireplace") {
                Some(false)
            } else {
                None
            };
            if let Some(cs) = case_sensitive {
                let right = self.additive()?.items();
                let pattern = right.first()?.to_text();
                let with = right.get(1).map(Value::to_text).unwrap_or_default();
                left = replace(&left.to_text(), &pattern, &with, cs)?;
                self.operated = true;
                continue;
            }
            if self.keyword("-join") {
                let sep = self.additive()?.to_text();
                left = join(left, &sep)?;
                self.operated = true;
                continue;
            }
            self.pos = save;
            return Some(left);
        }
    }

    fn additive(&mut self) -> Option<Value> {
        let mut left = self.format()?;
        loop {
            self.step()?;
            self.skip_ws();
            if !self.rest().starts_with('+') {
                return Some(left);
            }
            self.pos += 1;
            let right = self.format()?;
            left = add(left, right)?;
            self.operated = true;
        }
    }

    fn format(&mut self) -> Option<Value> {
        let mut left = self.comma()?;
        while self.keyword("-f") {
            self.step()?;
            let args = self.comma()?.items();
            left = Value::Str(format(&left.to_text(), &args)?);
            self.operated = true;
        }
        Some(left)
    }

    fn comma(&mut self) -> Option<Value> {
        let first = self.unary()?;
        self.skip_ws();
        if !self.rest().starts_with(',') {
            return Some(first);
        }
        let mut items = vec![first];
        while self.rest().starts_with(',') {
            self.step()?;
            self.pos += 1;
            items.push(self.unary()?);
            self.skip_ws();
        }
        Some(Value::Array(items))
    }

    /// `f` one level deeper: prefix operators and casts nest without parentheses, so they
    /// count toward [`MAX_DEPTH`] as expressions do.
    fn deeper(&mut self, f: fn(&mut Self) -> Option<Value>) -> Option<Value> {
        self.step()?;
        self.depth += 1;
        let v = if self.depth > MAX_DEPTH {
            None
        } else {
            f(self)
        };
        self.depth -= 1;
        v
    }

    fn unary(&mut self) -> Option<Value> {
        if self.keyword("-join") {
            self.operated = true;
            let v = self.deeper(Self::unary)?;
            return join(v, "");
        }
        self.cast()
    }

    fn cast(&mut self) -> Option<Value> {
        self.skip_ws();
        if self.keyword("[char[]]") {
            self.operated = true;
            let v = self.deeper(Self::cast)?;
            return to_chars(v);
        }
        if self.keyword("[char]") {
            self.operated = true;
            return to_char(self.deeper(Self::cast)?).map(Value::Char);
        }
        if self.keyword("[string]::join(") || self.keyword("[system.string]::join(") {
            self.operated = true;
            let args = self.call_args()?;
            let (sep, rest) = args.split_first()?;
            let items: Vec<Value> = rest.iter().cloned().flat_map(Value::items).collect();
            return join(Value::Array(items), &sep.to_text());
        }
        if self.keyword("[string]::concat(") || self.keyword("[system.string]::concat(") {
            self.operated = true;
            let args = self.call_args()?;
            let items: Vec<Value> = args.into_iter().flat_map(Value::items).collect();
            return join(Value::Array(items), "");
        }
        if self.keyword("[convert]::tochar(") || self.keyword("[system.convert]::tochar(") {
            self.operated = true;
            let args = self.call_args()?;
            return to_char(args.into_iter().next()?).map(Value::Char);
        }
        if self.keyword("[string]") || self.keyword("[system.string]") {
            let v = self.deeper(Self::cast)?;
            return Some(Value::Str(v.to_text()));
        }
        let v = self.primary()?;
        self.methods(v)
    }

    /// `.Replace(a, b)`, `.ToLower()`, `.ToUpper()` after a value.
    fn methods(&mut self, mut v: Value) -> Option<Value> {
        loop {
            if self.keyword(".replace(") {
                let args = self.call_args()?;
                let (from, to) = (args.first()?.to_text(), args.get(1)?.to_text());
                if from.is_empty() {
                    return None;
                }
                v = Value::Str(replace_literal(&v.to_text(), &from, &to)?);
            } else if self.keyword(".tolower()") {
                v = Value::Str(v.to_text().to_lowercase());
            } else if self.keyword(".toupper()") {
                v = Value::Str(v.to_text().to_uppercase());
            } else {
                return Some(v);
            }
            self.operated = true;
        }
    }

    /// Arguments of a call whose `(` was consumed, up to and including the `)`.
    fn call_args(&mut self) -> Option<Vec<Value>> {
        let v = self.expr()?;
        self.skip_ws();
        if !self.rest().starts_with(')') {
            return None;
        }
        self.pos += 1;
        Some(v.items())
    }

    fn primary(&mut self) -> Option<Value> {
        self.step()?;
        self.skip_ws();
        let r = self.rest();
        let first = r.chars().next()?;
        match first {
            '\'' | '‘' | '’' => self.single_quoted(),
            '"' | '“' | '”' => self.double_quoted(),
            '(' => {
                self.pos += 1;
                let v = self.expr()?;
                self.skip_ws();
                self.rest().starts_with(')').then(|| self.pos += 1)?;
                Some(v)
            }
            '@' if r.starts_with("@(") => {
                self.pos += 2;
                let v = self.expr()?;
                self.skip_ws();
                self.rest().starts_with(')').then(|| self.pos += 1)?;
                Some(Value::Array(v.items()))
            }
            c if c.is_ascii_digit() => self.number(),
            _ => None,
        }
    }

    fn number(&mut self) -> Option<Value> {
        let r = self.rest();
        let (radix, skip) = if r.len() > 2 && (r.starts_with("0x") || r.starts_with("0X")) {
            (16, 2)
        } else {
            (10, 0)
        };
        let digits: String = r[skip..]
            .chars()
            .take_while(|c| c.is_digit(radix))
            .collect();
        if digits.is_empty() || digits.len() > 18 {
            return None;
        }
        let n = i64::from_str_radix(&digits, radix).ok()?;
        self.pos += skip + digits.len();
        let next = self.rest().chars().next();
        if next.is_some_and(|c| c.is_alphanumeric() || c == '.') {
            return None;
        }
        Some(Value::Int(n))
    }

    /// `'…'`: no escapes but a doubled quote.
    fn single_quoted(&mut self) -> Option<Value> {
        let mut out = String::new();
        let mut chars = self.rest().char_indices().skip(1).peekable();
        while let Some((i, c)) = chars.next() {
            if is_single_quote(c) {
                if chars.peek().is_some_and(|&(_, n)| is_single_quote(n)) {
                    out.push(c);
                    chars.next();
                    continue;
                }
                self.pos += i + c.len_utf8();
                return Some(Value::Str(out));
            }
            out.push(c);
        }
        None
    }

    /// `"…"`: backtick escapes and doubled quotes; a `$` that would expand refuses.
    fn double_quoted(&mut self) -> Option<Value> {
        let mut out = String::new();
        let mut chars = self.rest().char_indices().skip(1).peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '`' => {
                    let (_, n) = chars.next()?;
                    out.push(backtick_escape(n));
                }
                '$' if chars.peek().is_some_and(|&(_, n)| {
                    n.is_alphanumeric() || matches!(n, '{' | '(' | '_' | ':')
                }) =>
                {
                    return None;
                }
                c if is_double_quote(c) => {
                    if chars.peek().is_some_and(|&(_, n)| is_double_quote(n)) {
                        out.push(c);
                        chars.next();
                        continue;
                    }
                    self.pos += i + c.len_utf8();
                    return Some(Value::Str(out));
                }
                c => out.push(c),
            }
        }
        None
    }
}

fn is_single_quote(c: char) -> bool {
    matches!(c, '\'' | '‘' | '’' | '‚' | '‛')
}

fn is_double_quote(c: char) -> bool {
    matches!(c, '"' | '“' | '”' | '„')
}

/// What a backtick escape means inside a double-quoted string.
pub fn backtick_escape(c: char) -> char {
    match c {
        '0' => '\0',
        'a' => '\u{7}',
        'b' => '\u{8}',
        'e' => '\u{1b}',
        'f' => '\u{c}',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'v' => '\u{b}',
        other => other,
    }
}

fn add(left: Value, right: Value) -> Option<Value> {
    let v = match (left, right) {
        (Value::Int(a), Value::Int(b)) => Value::Int(a.checked_add(b)?),
        (Value::Array(mut a), r) => {
            a.extend(r.items());
            Value::Array(a)
        }
        (l, r) => Value::Str(l.to_text() + &r.to_text()),
    };
    (v.len_hint() <= MAX_DECODED).then_some(v)
}

/// The items' texts joined by `sep`; none once longer than [`MAX_DECODED`] (checked as it
/// grows: many items times a long separator never get built).
fn join(v: Value, sep: &str) -> Option<Value> {
    let mut out = String::new();
    for (i, item) in v.items().iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        out.push_str(&item.to_text());
        if out.len() > MAX_DECODED {
            return None;
        }
    }
    Some(Value::Str(out))
}

/// `text` with every `from` (not empty) replaced by `to`, as `.Replace()` does; none once
/// longer than [`MAX_DECODED`].
fn replace_literal(text: &str, from: &str, to: &str) -> Option<String> {
    let mut out = String::new();
    let mut last = 0;
    for (at, _) in text.match_indices(from) {
        out.push_str(&text[last..at]);
        out.push_str(to);
        last = at + from.len();
        if out.len() > MAX_DECODED {
            return None;
        }
    }
    out.push_str(&text[last..]);
    (out.len() <= MAX_DECODED).then_some(out)
}

fn to_char(v: Value) -> Option<char> {
    match v {
        Value::Int(n) => char::from_u32(u32::try_from(n).ok()?),
        Value::Char(c) => Some(c),
        Value::Str(s) => {
            let mut chars = s.chars();
            let c = chars.next()?;
            chars.next().is_none().then_some(c)
        }
        Value::Array(_) => None,
    }
}

fn to_chars(v: Value) -> Option<Value> {
    let items = match v {
        Value::Str(s) => s.chars().map(Value::Char).collect(),
        other => other
            .items()
            .into_iter()
            .map(|i| to_char(i).map(Value::Char))
            .collect::<Option<Vec<_>>>()?,
    };
    Some(Value::Array(items))
}

fn replace(text: &str, pattern: &str, with: &str, case_sensitive: bool) -> Option<Value> {
    let re = RegexBuilder::new(pattern)
        .case_insensitive(!case_sensitive)
        .size_limit(1 << 20)
        .build()
        .ok()?;
    // Built match by match and checked as it grows: a pattern that matches everywhere
    // (`''`) with a long replacement would otherwise be built whole first.
    let mut out = String::new();
    let mut last = 0;
    for caps in re.captures_iter(text) {
        let m = caps.get(0)?;
        out.push_str(&text[last..m.start()]);
        caps.expand(with, &mut out);
        last = m.end();
        if out.len() > MAX_DECODED {
            return None;
        }
    }
    out.push_str(&text[last..]);
    (out.len() <= MAX_DECODED).then_some(Value::Str(out))
}

/// .NET composite formatting: `{index[,alignment][:format]}`, `{{` and `}}`.
fn format(template: &str, args: &[Value]) -> Option<String> {
    let mut out = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut spec = String::new();
                loop {
                    match chars.next()? {
                        '}' => break,
                        ch => spec.push(ch),
                    }
                    if spec.len() > 32 {
                        return None;
                    }
                }
                let spec = spec.split(':').next()?;
                let mut parts = spec.split(',');
                let index: usize = parts.next()?.trim().parse().ok()?;
                let text = args.get(index)?.to_text();
                let width: i64 = parts.next().map_or(Some(0), |w| w.trim().parse().ok())?;
                let pad = (width.unsigned_abs() as usize).saturating_sub(text.chars().count());
                if width > 0 {
                    out.extend(std::iter::repeat_n(' ', pad.min(1024)));
                }
                out.push_str(&text);
                if width < 0 {
                    out.extend(std::iter::repeat_n(' ', pad.min(1024)));
                }
            }
            '}' => return None,
            c => out.push(c),
        }
        if out.len() > MAX_DECODED {
            return None;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(text: &str) -> Option<String> {
        let e = eval_at(text, 0)?;
        Some(e.value.to_text())
    }

    #[test]
    fn concatenation_and_quotes() {
        assert_eq!(eval("'Get-Pro'+'cess'").unwrap(), "Get-Process");
        assert_eq!(eval("\"a`tb\" + 'it''s'").unwrap(), "a\tbit's");
        assert_eq!(eval("('who' + ('a' + 'mi'))").unwrap(), "whoami");
    }

    #[test]
    fn format_operator_takes_the_comma_list() {
        assert_eq!(
            eval("\"{1}{0}{2}\" -f 'ss','Proce',' -Id 4'").unwrap(),
            "Process -Id 4"
        );
        assert_eq!(eval("('{0}{1}' -F 'who','ami')").unwrap(), "whoami");
        assert_eq!(eval("'{0,3}|{1,-3}|' -f 'a','b'").unwrap(), "  a|b  |");
        assert!(eval("'{5}' -f 'a'").is_none());
    }

    #[test]
    fn replace_join_and_chars() {
        assert_eq!(
            eval("'Get-XYZProcess' -replace 'xyz',''").unwrap(),
            "Get-Process"
        );
        assert_eq!(
            eval("'Get-XYZProcess' -creplace 'xyz',''").unwrap(),
            "Get-XYZProcess"
        );
        assert_eq!(eval("-join [char[]](119,104,111)").unwrap(), "who");
        assert_eq!(eval("[char]119+[char]0x68+[char]111").unwrap(), "who");
        assert_eq!(eval("('w','h','o') -join ''").unwrap(), "who");
        assert_eq!(eval("[string]::Join('', ('a','b'))").unwrap(), "ab");
        assert_eq!(eval("'AbC'.ToLower().Replace('b','x')").unwrap(), "axc");
    }

    #[test]
    fn variables_and_unknown_syntax_refuse() {
        assert!(eval("\"$env:TEMP\\x\"").is_none());
        assert!(eval("$a + 'b'").is_none());
        assert!(eval_at("'a' + $b", 0).is_none());
        let stops = eval_at("'a' -x", 0).unwrap();
        assert_eq!((stops.value, stops.end), (Value::Str("a".into()), 3));
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = format!("{}'a'{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(eval(&deep).is_none());
    }

    #[test]
    fn nested_casts_and_prefix_joins_are_refused_not_overflowed() {
        for prefix in ["[string]", "[char[]]", "[char]", "-join "] {
            let deep = format!("{}'a'", prefix.repeat(200_000));
            assert!(eval(&deep).is_none(), "{prefix}");
        }
        // Within the limit they still read.
        assert_eq!(eval(&format!("{}'a'", "[string]".repeat(20))).unwrap(), "a");
        assert_eq!(eval("-join -join [char[]]'ab'").unwrap(), "ab");
    }

    #[test]
    fn replacements_and_joins_that_would_grow_past_the_limit_are_refused_before_built() {
        let big = "x".repeat(300_000);
        // `''` matches at every position: 300,001 copies of 300 KB if built whole.
        assert!(eval(&format!("'{big}' -replace '', '{big}'")).is_none());
        assert!(eval(&format!("'{big}'.Replace('x', '{big}')")).is_none());
        assert!(eval(&format!("[char[]]'{big}' -join '{big}'")).is_none());
        // Ordinary ones are unchanged, capture references included.
        assert_eq!(eval("'a-b' -replace '(\\w)-(\\w)', '$2$1'").unwrap(), "ba");
        assert_eq!(eval("'aXbX' -replace 'x', ''").unwrap(), "ab");
        assert_eq!(eval("'abc' -replace '', '.'").unwrap(), ".a.b.c.");
    }

    #[test]
    fn huge_formats_are_refused() {
        let t = format!("'{}' -f '{}'", "{0}".repeat(2000), "x".repeat(4000));
        assert!(eval(&t).is_none());
    }
}
