//! The plain-value syntax: `*` (any run of characters), `?` (one character), and the
//! backslash escapes of the specification ("Escape Character"): `\*` and `\?` are literal,
//! `\\` is one backslash, a backslash before anything else is itself.

/// One piece of a parsed value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Lit(String),
    AnyMany,
    AnyOne,
}

/// A parsed value: literals and wildcards, adjacent literals merged.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pattern(pub Vec<Part>);

impl Pattern {
    /// Parses the Sigma wildcard syntax.
    pub fn parse(value: &str) -> Pattern {
        let mut p = Pattern::default();
        let mut chars = value.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.peek() {
                    Some(&n @ ('*' | '?' | '\\')) => {
                        chars.next();
                        p.push_char(n);
                    }
                    _ => p.push_char('\\'),
                },
                '*' => p.push(Part::AnyMany),
                '?' => p.push(Part::AnyOne),
                c => p.push_char(c),
            }
        }
        p
    }

    /// A value with no wildcards at all.
    pub fn literal(value: &str) -> Pattern {
        let mut p = Pattern::default();
        if !value.is_empty() {
            p.0.push(Part::Lit(value.to_owned()));
        }
        p
    }

    fn push_char(&mut self, c: char) {
        if let Some(Part::Lit(s)) = self.0.last_mut() {
            s.push(c);
        } else {
            self.0.push(Part::Lit(c.to_string()));
        }
    }

    pub fn push(&mut self, part: Part) {
        match (self.0.last_mut(), part) {
            (Some(Part::AnyMany), Part::AnyMany) => {}
            (Some(Part::Lit(s)), Part::Lit(t)) => s.push_str(&t),
            (_, part) => self.0.push(part),
        }
    }

    pub fn has_wildcards(&self) -> bool {
        self.0.iter().any(|p| !matches!(p, Part::Lit(_)))
    }

    /// The text when there are no wildcards.
    pub fn as_literal(&self) -> Option<String> {
        match self.0.as_slice() {
            [] => Some(String::new()),
            [Part::Lit(s)] => Some(s.clone()),
            _ => None,
        }
    }

    pub fn wrap(mut self, start: bool, end: bool) -> Pattern {
        if start && self.0.first() != Some(&Part::AnyMany) {
            self.0.insert(0, Part::AnyMany);
        }
        if end && self.0.last() != Some(&Part::AnyMany) {
            self.0.push(Part::AnyMany);
        }
        self
    }

    pub fn lowercase(self) -> Pattern {
        Pattern(
            self.0
                .into_iter()
                .map(|p| match p {
                    Part::Lit(s) => Part::Lit(s.to_lowercase()),
                    other => other,
                })
                .collect(),
        )
    }

    /// The longest literal piece: every value the pattern matches contains it.
    pub fn longest_literal(&self) -> Option<&str> {
        self.0
            .iter()
            .filter_map(|p| match p {
                Part::Lit(s) => Some(s.as_str()),
                _ => None,
            })
            .max_by_key(|s| s.len())
    }

    /// An equivalent anchored regular expression (`(?s)^…$`).
    pub fn to_regex(&self) -> String {
        let mut re = String::from("(?s)^");
        for p in &self.0 {
            match p {
                Part::Lit(s) => re.push_str(&regex::escape(s)),
                Part::AnyMany => re.push_str(".*"),
                Part::AnyOne => re.push('.'),
            }
        }
        re.push('$');
        re
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Part {
        Part::Lit(s.to_owned())
    }

    #[test]
    fn escapes_follow_the_specification() {
        assert_eq!(Pattern::parse(r"a\*b").0, [lit("a*b")]);
        assert_eq!(Pattern::parse(r"a\?b").0, [lit("a?b")]);
        assert_eq!(Pattern::parse(r"\\*").0, [lit("\\"), Part::AnyMany]);
        assert_eq!(Pattern::parse(r"\\\*").0, [lit("\\*")]);
        assert_eq!(Pattern::parse(r"\\\\").0, [lit("\\\\")]);
        assert_eq!(Pattern::parse(r"\\\x").0, [lit("\\\\x")]);
        assert_eq!(Pattern::parse(r"C:\Windows\").0, [lit("C:\\Windows\\")]);
        assert_eq!(
            Pattern::parse("a*?b**").0,
            [
                lit("a"),
                Part::AnyMany,
                Part::AnyOne,
                lit("b"),
                Part::AnyMany
            ]
        );
    }

    #[test]
    fn wrap_does_not_double() {
        let p = Pattern::parse("*x").wrap(true, true);
        assert_eq!(p.0, [Part::AnyMany, lit("x"), Part::AnyMany]);
    }
}
