//! The signature table: what a command does, recognised by its text, with the ATT&CK
//! techniques it belongs to and how much it weighs (0–1: how strongly it alone points at an
//! attack). Patterns describe behaviour — a download piped into a shell, an LSASS dump, a run
//! key written — rather than tools' names, so renamed tools and new variants still match.
//!
//! Where ATT&CK v18 gave a sub-technique its own id (Impair Defenses: T1562.001 → T1685,
//! T1562.004 → T1686, T1562.003 → T1690), both ids are listed.

/// One signature.
#[derive(Debug, Clone, Copy)]
pub struct Pattern {
    pub id: &'static str,
    pub name: &'static str,
    pub attack: &'static [&'static str],
    pub weight: f32,
    /// Regular expression, matched case-insensitively.
    pub re: &'static str,
}

/// One table row: `p!(id, name, [ATT&CK ids], weight, regex)`.
macro_rules! p {
    ($id:literal, $name:literal, [$($t:literal),*], $w:literal, $re:literal) => {
        Pattern { id: $id, name: $name, attack: &[$($t),*], weight: $w, re: $re }
    };
}

mod access;
mod control;
mod discovery;
mod evasion;
mod execution;
mod persistence;

/// The whole table, in the order the groups are listed: a verdict lists its patterns in it.
pub static PATTERNS: std::sync::LazyLock<Vec<Pattern>> = std::sync::LazyLock::new(|| {
    [
        execution::TABLE,
        evasion::TABLE,
        access::TABLE,
        persistence::TABLE,
        control::TABLE,
        discovery::TABLE,
    ]
    .concat()
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles_and_is_described() {
        let mut ids = std::collections::HashSet::new();
        for p in PATTERNS.iter() {
            regex::RegexBuilder::new(p.re)
                .case_insensitive(true)
                .size_limit(1 << 24)
                .build()
                .unwrap_or_else(|e| panic!("{}: {e}", p.id));
            assert!(ids.insert(p.id), "duplicate id {}", p.id);
            assert!(
                !p.attack.is_empty() && (0.0..=1.0).contains(&p.weight),
                "{}",
                p.id
            );
            assert!(p.attack.iter().all(|t| t.starts_with('T')), "{}", p.id);
        }
    }
}
