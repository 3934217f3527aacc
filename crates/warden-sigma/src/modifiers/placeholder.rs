//! `expand`: `%name%` placeholders replaced by the values configured for them. A rule whose
//! placeholder has no configured values is rejected (the specification asks for that).

use rustc_hash::FxHashMap;

use crate::error::ErrorKind;

/// Placeholder name → the values it stands for (each may hold wildcards).
pub type Placeholders = FxHashMap<String, Vec<String>>;

/// Most values one expanded rule value may turn into.
pub const MAX_EXPANSION: usize = 4096;

enum Piece {
    Text(String),
    Hole(String),
}

/// Expands every placeholder of `value`; `\%` stands for a plain percent sign.
pub fn expand(value: &str, placeholders: &Placeholders) -> Result<Vec<String>, ErrorKind> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'%') => {
                chars.next();
                text.push('%');
            }
            '%' => {
                let name: String = chars.clone().take_while(|&c| c != '%').collect();
                let closed = chars.clone().nth(name.chars().count()) == Some('%');
                if closed && !name.is_empty() {
                    for _ in 0..=name.chars().count() {
                        chars.next();
                    }
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                    pieces.push(Piece::Hole(name));
                } else {
                    text.push('%');
                }
            }
            c => text.push(c),
        }
    }
    pieces.push(Piece::Text(text));

    let mut out = vec![String::new()];
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.iter_mut().for_each(|s| s.push_str(&t)),
            Piece::Hole(name) => {
                let values = placeholders
                    .get(&name)
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| ErrorKind::Placeholder(name.clone()))?;
                if out.len().saturating_mul(values.len()) > MAX_EXPANSION {
                    return Err(ErrorKind::Limit(format!(
                        "placeholder %{name}% expands to more than {MAX_EXPANSION} values"
                    )));
                }
                out = out
                    .iter()
                    .flat_map(|prefix| values.iter().map(move |v| format!("{prefix}{v}")))
                    .collect();
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_and_escapes() {
        let mut p = Placeholders::default();
        p.insert("Admins".into(), vec!["adm_*".into(), "root".into()]);
        assert_eq!(
            expand("x %Admins% \\%plain%", &p),
            Ok(vec![
                "x adm_* %plain%".to_owned(),
                "x root %plain%".to_owned()
            ])
        );
        assert_eq!(
            expand("%Servers%", &p),
            Err(ErrorKind::Placeholder("Servers".into()))
        );
        assert_eq!(expand("100%", &p), Ok(vec!["100%".to_owned()]));
    }
}
