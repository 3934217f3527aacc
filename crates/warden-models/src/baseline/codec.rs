//! The persisted binary format of baselines: `magic (4) | version (u16 LE) | postcard body`.
//! A version bump is needed whenever a persisted struct changes shape, and the older shapes
//! stay readable: each persisted type says how it is read from them ([`Persisted`]), so a
//! store or a checkpoint written by an older Warden is migrated, not rebuilt.
//!
//! Versions: 1, the profile and the short windows; 2 adds the per-kind and per-session
//! transfer volumes ([`super::TransferProfile`]) and the resources' usual transfer sizes.

use crate::ModelError;
use serde::{Serialize, de::DeserializeOwned};

/// Format version of [`super::UserState`] and [`super::Population`] blobs.
pub const BASELINE_FORMAT_VERSION: u16 = 2;

/// A persisted baseline type, and how it is read from the bodies of older versions.
pub trait Persisted: Serialize + DeserializeOwned {
    /// Decodes the postcard body of format `version` (older than the current one); `None`
    /// when that version never existed.
    fn from_older(version: u16, body: &[u8]) -> Option<Result<Self, postcard::Error>>;
}

const MAGIC: &[u8; 4] = b"WBL\x00";

/// Encodes a baseline value with the header.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&BASELINE_FORMAT_VERSION.to_le_bytes());
    // postcard only fails on writer errors or unsupported types; a Vec writer and our
    // derive-only types have neither, so an empty body would surface as Corrupt on decode.
    match postcard::to_extend(value, out) {
        Ok(v) => v,
        Err(_) => MAGIC.to_vec(),
    }
}

/// Decodes a blob written by [`encode`] of this or an older version.
pub fn decode<T: Persisted>(bytes: &[u8], what: &'static str) -> Result<T, ModelError> {
    if bytes.len() < 6 || &bytes[..4] != MAGIC {
        return Err(ModelError::BadMagic { what });
    }
    let found = u16::from_le_bytes([bytes[4], bytes[5]]);
    let body = &bytes[6..];
    let decoded = if found == BASELINE_FORMAT_VERSION {
        postcard::from_bytes(body)
    } else {
        match (found < BASELINE_FORMAT_VERSION)
            .then(|| T::from_older(found, body))
            .flatten()
        {
            Some(older) => older,
            None => {
                return Err(ModelError::Incompatible {
                    what,
                    expected: BASELINE_FORMAT_VERSION,
                    found,
                });
            }
        }
    };
    decoded.map_err(|e| ModelError::Corrupt {
        what,
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::{ActivityKeys, Population, ProfileCaps, UserState};
    use warden_event::{ActivityType, Timestamp, UserActivity};

    #[test]
    fn round_trip_and_version_check() {
        let mut s = UserState::default();
        let mut pop = Population::default();
        let mut a = UserActivity::new("u", ActivityType::Login, Timestamp(1_775_000_000_000));
        a.location = Some("Berlin, DE".into());
        a.latitude = Some(52.5);
        a.longitude = Some(13.4);
        s.profile
            .learn(&a, &ActivityKeys::of(&a), &ProfileCaps::default(), &mut pop);
        s.recent.failures.push(42);
        let bytes = encode(&s);
        let back: UserState = decode(&bytes, "baseline").unwrap();
        assert_eq!(back, s);

        let mut old = bytes.clone();
        old[4] = 99;
        let err = decode::<UserState>(&old, "baseline").unwrap_err();
        assert!(
            err.to_string().contains("expected version 2, found 99"),
            "{err}"
        );
        assert!(matches!(
            decode::<UserState>(b"junk", "baseline"),
            Err(ModelError::BadMagic { .. })
        ));
        let cut = &bytes[..bytes.len() - 3];
        assert!(matches!(
            decode::<UserState>(cut, "baseline"),
            Err(ModelError::Corrupt { .. })
        ));
    }
}
