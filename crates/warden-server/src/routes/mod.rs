//! The routes, one module per area, and what they share: turning body rejections into
//! [`ApiError`]s (413 for an oversized body, 400 naming the problem otherwise), the `{id}`
//! path parameter as [`IdPath`] (a JSON 400 naming `id` when it is not a number), and the
//! checks of the parameters several routes take.

pub mod alerts;
pub mod analytics;
pub mod detect;
pub mod graph;
pub mod incidents;
pub mod network;
pub mod ops;
pub mod payload;
pub mod stream;
pub mod tokens;
pub mod webhooks;

use axum::extract::FromRequestParts;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::http::StatusCode;
use axum::http::request::Parts;
use warden_event::ThreatLevel;

use crate::error::ApiError;

/// The `{id}` of a route: a 64-bit integer, or a 400 `invalid` naming `id` (as JSON, like
/// every other error; axum's own rejection is plain text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdPath(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<i64>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(id)| IdPath(id))
            .map_err(|e| ApiError::invalid("id", e.body_text()))
    }
}

/// A JSON object body read as `T`: serde also reads a struct from an array of its fields
/// (`["read", null]`), which the API's schemas (objects) do not allow; this takes the
/// object only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Object<T>(pub T);

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Object<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Fields<T>(std::marker::PhantomData<T>);

        impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for Fields<T> {
            type Value = T;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }

        d.deserialize_map(Fields(std::marker::PhantomData))
            .map(Object)
    }
}

/// Whether a text is within a published `maxLength`. JSON Schema counts characters (code
/// points), not bytes: a limit checked in bytes refused text the schema allows (200
/// characters of `Ω≈ç√` are 400–600 bytes). A character is at most four bytes, so what this
/// admits stays bounded.
pub(crate) fn within_chars(s: &str, max: usize) -> bool {
    s.len() <= max || s.chars().count() <= max
}

pub(crate) fn body_error(e: &BytesRejection, limit: usize) -> ApiError {
    if stalled(e) {
        ApiError::BodyTimeout
    } else if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge { limit }
    } else {
        ApiError::invalid("body", e.body_text())
    }
}

pub(crate) fn json_error(e: &JsonRejection, limit: usize) -> ApiError {
    if stalled(e) {
        ApiError::BodyTimeout
    } else if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge { limit }
    } else {
        ApiError::invalid("body", e.body_text())
    }
}

/// Whether a body failed because the client stopped sending it
/// ([`crate::connections::BodyStalled`] somewhere in its causes).
fn stalled(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if c.is::<crate::connections::BodyStalled>() {
            return true;
        }
        cause = c.source();
    }
    false
}

/// A level parameter (any case), when given.
pub(crate) fn level_param(field: &str, v: Option<&str>) -> Result<Option<ThreatLevel>, ApiError> {
    v.map(|l| {
        l.to_ascii_uppercase()
            .parse::<ThreatLevel>()
            .map_err(|_| ApiError::invalid(field, "expected LOW, MEDIUM, HIGH or CRITICAL"))
    })
    .transpose()
}

/// Exact levels, comma-separated (`HIGH,CRITICAL`), when given.
pub(crate) fn levels_param(
    field: &str,
    v: Option<&str>,
) -> Result<Option<Vec<ThreatLevel>>, ApiError> {
    v.map(|ls| {
        ls.split(',')
            .map(|l| {
                level_param(field, Some(l.trim()))?
                    .ok_or_else(|| ApiError::invalid(field, "an empty level"))
            })
            .collect()
    })
    .transpose()
}

/// An RFC 3339 time parameter, when given, in the stored form (UTC, `Z`): times are
/// compared as text in the store, so `+02:00` or `.000Z` must not reach it as written.
pub(crate) fn time_param(field: &str, v: Option<&str>) -> Result<Option<String>, ApiError> {
    v.map(|t| {
        warden_event::Timestamp::parse_rfc3339(t)
            .map(warden_event::Timestamp::to_rfc3339)
            .ok_or_else(|| ApiError::invalid(field, "expected an RFC 3339 time"))
    })
    .transpose()
}

/// An anomaly type parameter, when given.
pub(crate) fn anomaly_param(field: &str, v: Option<&str>) -> Result<(), ApiError> {
    match v {
        Some(t) if warden_event::AnomalyType::parse(t).is_none() => {
            Err(ApiError::invalid(field, format!("unknown type `{t}`")))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::within_chars;

    #[test]
    fn a_schema_length_counts_characters_not_bytes() {
        assert!(within_chars(&"Ω≈".repeat(100), 200));
        assert!(!within_chars(&"Ω".repeat(201), 200));
        assert!(within_chars("", 0));
        assert!(!within_chars("ab", 1));
    }
}
