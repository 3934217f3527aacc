//! Errors of persisted model and baseline formats.

/// Loading a persisted baseline or model failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    #[error("not a Warden {what} (bad magic bytes)")]
    BadMagic { what: &'static str },
    #[error(
        "incompatible {what} format: expected version {expected}, found {found}; rebuild it with this version of Warden"
    )]
    Incompatible {
        what: &'static str,
        expected: u16,
        found: u16,
    },
    #[error("corrupt {what}: {reason}")]
    Corrupt { what: &'static str, reason: String },
}
