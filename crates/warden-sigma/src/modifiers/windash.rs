//! `windash`: a command-line flag written with `-` may also be written with `/`, an en dash,
//! an em dash or a horizontal bar. Every flag dash (one that starts a flag: at the start or
//! after a non-word character, and followed by a word character) takes each of the five forms.

/// The characters a flag dash can take.
pub const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// At most this many variants per value (5^4); a longer product is refused by the caller.
pub const MAX_VARIANTS: usize = 625;

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Every variant of `value`, or `None` when there would be more than [`MAX_VARIANTS`].
pub fn variants(value: &str) -> Option<Vec<String>> {
    let chars: Vec<char> = value.chars().collect();
    let positions: Vec<usize> = (0..chars.len())
        .filter(|&i| {
            (chars[i] == '-' || chars[i] == '/')
                && (i == 0 || !is_word(chars[i - 1]))
                && chars.get(i + 1).is_some_and(|&c| is_word(c))
        })
        .collect();
    let count = DASHES
        .len()
        .checked_pow(u32::try_from(positions.len()).ok()?)?;
    if count > MAX_VARIANTS {
        return None;
    }
    let mut out = Vec::with_capacity(count);
    for mut n in 0..count {
        let mut v = chars.clone();
        for &p in &positions {
            v[p] = DASHES[n % DASHES.len()];
            n /= DASHES.len();
        }
        out.push(v.into_iter().collect());
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_dashes_vary_hyphens_in_words_do_not() {
        let v = variants(" -enc x-y").unwrap_or_default();
        assert_eq!(v.len(), 5);
        assert!(v.contains(&" /enc x-y".to_owned()));
        assert!(v.contains(&" \u{2013}enc x-y".to_owned()));
        assert!(v.iter().all(|s| s.ends_with("x-y")));
    }

    #[test]
    fn two_flags_give_all_combinations() {
        assert_eq!(variants("-a -b").map(|v| v.len()), Some(25));
        assert_eq!(variants("plain").map(|v| v.len()), Some(1));
    }

    #[test]
    fn refuses_explosions() {
        assert_eq!(variants("-a -b -c -d -e"), None);
    }
}
