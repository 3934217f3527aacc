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

/// Patterns that name what no host does for a good reason — a credential dumper, LSASS or
/// the AD database dumped, AMSI patched, a shell handed to a socket, a remote scriptlet run
/// by regsvr32, the recovery copies deleted. Training may temper their weight (a corpus's
/// benign side is documentation, and tldr documents mimikatz), but they hold the verdict
/// at their written weight ([`crate::VerdictConfig::written_floor`]). Downloads piped into
/// a shell are not among them: installers do that.
pub const NO_BENIGN_USE: &[&str] = &[
    "amsi-bypass",
    "credential-tool",
    "lsass-dump",
    "ntds-dump",
    "recovery-inhibited",
    "regsvr32-scriptlet",
    "reverse-shell-devtcp",
    "reverse-shell-netcat",
    "reverse-shell-powershell",
    "reverse-shell-script",
    "reverse-shell-socat",
];

/// Whether the pattern `id` holds the verdict at its written weight ([`NO_BENIGN_USE`]).
pub fn holds_as_written(id: &str) -> bool {
    NO_BENIGN_USE.contains(&id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_without_benign_use_exist_and_are_strong() {
        for id in NO_BENIGN_USE {
            let p = PATTERNS.iter().find(|p| p.id == *id);
            assert!(
                p.is_some_and(|p| p.weight >= crate::verdict::STRONG_PATTERN),
                "{id}"
            );
        }
    }

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
