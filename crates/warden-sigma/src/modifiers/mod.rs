//! Value modifiers (`field|mod1|mod2: value`): their names, and the transformations they
//! apply to rule values. One module per family, so adding a modifier touches one file:
//! [`wildcard`] (the plain-string syntax), [`encoding`] (base64, base64offset, utf16),
//! [`windash`], [`placeholder`] (`expand`), [`time`] (minute … year).

pub mod encoding;
pub mod placeholder;
pub mod time;
pub mod wildcard;
pub mod windash;

use crate::error::ErrorKind;

/// One value modifier, as named in the specification (appendix "Sigma Modifiers").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Modifier {
    Contains,
    StartsWith,
    EndsWith,
    All,
    Exists,
    Cased,
    Neq,
    Windash,
    Re,
    /// `re` sub-modifiers.
    ReInsensitive,
    ReMultiline,
    ReDotAll,
    Base64,
    Base64Offset,
    Utf16Le,
    Utf16Be,
    Utf16,
    Lt,
    Lte,
    Gt,
    Gte,
    Time(time::TimePart),
    Cidr,
    Expand,
    FieldRef,
}

impl Modifier {
    /// Parses one modifier name; `after_re` says whether `re` came earlier in the chain,
    /// which is what gives `i`, `m` and `s` their meaning.
    pub fn parse(name: &str, after_re: bool) -> Result<Modifier, ErrorKind> {
        Ok(match name {
            "contains" => Modifier::Contains,
            "startswith" => Modifier::StartsWith,
            "endswith" => Modifier::EndsWith,
            "all" => Modifier::All,
            "exists" => Modifier::Exists,
            "cased" => Modifier::Cased,
            "neq" => Modifier::Neq,
            "windash" => Modifier::Windash,
            "re" => Modifier::Re,
            "i" if after_re => Modifier::ReInsensitive,
            "m" if after_re => Modifier::ReMultiline,
            "s" if after_re => Modifier::ReDotAll,
            "base64" => Modifier::Base64,
            "base64offset" => Modifier::Base64Offset,
            "utf16le" | "wide" => Modifier::Utf16Le,
            "utf16be" => Modifier::Utf16Be,
            "utf16" => Modifier::Utf16,
            "lt" => Modifier::Lt,
            "lte" => Modifier::Lte,
            "gt" => Modifier::Gt,
            "gte" => Modifier::Gte,
            "cidr" => Modifier::Cidr,
            "expand" => Modifier::Expand,
            "fieldref" => Modifier::FieldRef,
            other => match time::TimePart::parse(other) {
                Some(part) => Modifier::Time(part),
                None => return Err(ErrorKind::UnknownModifier(other.to_owned())),
            },
        })
    }

    /// Parses a whole chain (the part of a key after the first `|`).
    pub fn parse_chain<'a>(
        names: impl Iterator<Item = &'a str>,
    ) -> Result<Vec<Modifier>, ErrorKind> {
        let mut out = Vec::new();
        let mut after_re = false;
        for name in names {
            let m = Modifier::parse(name, after_re)?;
            after_re |= m == Modifier::Re;
            out.push(m);
        }
        Ok(out)
    }

    pub fn name(self) -> &'static str {
        match self {
            Modifier::Contains => "contains",
            Modifier::StartsWith => "startswith",
            Modifier::EndsWith => "endswith",
            Modifier::All => "all",
            Modifier::Exists => "exists",
            Modifier::Cased => "cased",
            Modifier::Neq => "neq",
            Modifier::Windash => "windash",
            Modifier::Re => "re",
            Modifier::ReInsensitive => "i",
            Modifier::ReMultiline => "m",
            Modifier::ReDotAll => "s",
            Modifier::Base64 => "base64",
            Modifier::Base64Offset => "base64offset",
            Modifier::Utf16Le => "utf16le",
            Modifier::Utf16Be => "utf16be",
            Modifier::Utf16 => "utf16",
            Modifier::Lt => "lt",
            Modifier::Lte => "lte",
            Modifier::Gt => "gt",
            Modifier::Gte => "gte",
            Modifier::Time(p) => p.name(),
            Modifier::Cidr => "cidr",
            Modifier::Expand => "expand",
            Modifier::FieldRef => "fieldref",
        }
    }
}
