//! Who may read the service's operational figures (`/metrics`, the checks of `/readyz`):
//! they cover every tenant (volumes, tenants loaded, queues), so no tenant's token opens
//! them. With `server.metrics_token` set, a request must carry it as a bearer token
//! (compared in constant time); without, only clients on the loopback interface are
//! answered (a local agent, or a scraper behind a proxy on the same host).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::AppState;

/// A caller allowed to read operational figures.
#[derive(Debug, Clone, Copy)]
pub struct Operator;

/// Whether a request with this bearer value from this address may read them.
pub fn allowed(configured: Option<&str>, bearer: Option<&str>, client: Option<SocketAddr>) -> bool {
    match configured {
        Some(secret) => bearer.is_some_and(|b| bool::from(b.as_bytes().ct_eq(secret.as_bytes()))),
        None => client.is_some_and(|c| c.ip().is_loopback()),
    }
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let client = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        if allowed(state.config.server.metrics_token.as_deref(), bearer, client) {
            Ok(Operator)
        } else {
            Err(ApiError::Unauthorized)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_when_configured_else_loopback_only() {
        let local = Some(SocketAddr::from(([127, 0, 0, 1], 9)));
        let remote = Some(SocketAddr::from(([203, 0, 113, 5], 9)));
        assert!(allowed(None, None, local));
        assert!(!allowed(None, None, remote));
        assert!(!allowed(None, None, None));
        let s = Some("a-long-scrape-secret");
        assert!(allowed(s, Some("a-long-scrape-secret"), remote));
        assert!(!allowed(s, Some("a-long-scrape-secreT"), remote));
        assert!(
            !allowed(s, None, local),
            "with a secret, loopback needs it too"
        );
    }
}
