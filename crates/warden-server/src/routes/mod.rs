//! The routes, one module per area, and what they share: turning body rejections into
//! [`ApiError`]s (413 for an oversized body, 400 naming the problem otherwise).

pub mod alerts;
pub mod analytics;
pub mod detect;
pub mod ops;
pub mod stream;

use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::http::StatusCode;

use crate::error::ApiError;

pub(crate) fn body_error(e: &BytesRejection, limit: usize) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge { limit }
    } else {
        ApiError::invalid("body", e.body_text())
    }
}

pub(crate) fn json_error(e: &JsonRejection, limit: usize) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge { limit }
    } else {
        ApiError::invalid("body", e.body_text())
    }
}
