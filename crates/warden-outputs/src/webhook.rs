//! Webhooks: one JSON document per alert, POSTed with `Content-Type: application/json`,
//! `X-Warden-Event: alert.created` and, when the output has a secret, `X-Warden-Signature:
//! sha256=<hex HMAC-SHA256 of the body>` — the same signature as the service's own
//! webhooks, so a receiver checks both the same way. Any answer but a 2xx is a failure,
//! retried like every output's.
//!
//! The body ([`body`]): `{"alert_id": <store id or null>, "tenant": "…", "alert": {…}}`.
//! The file output writes the same document, one per line.

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use warden_event::Alert;

use crate::Delivery;

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "X-Warden-Signature";

/// The signature header's value for `body`: `sha256=` and the HMAC-SHA256 in hex.
pub fn signature(secret: &str, body: &[u8]) -> String {
    // HMAC takes keys of any length; this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 2 * tag.len());
    out.push_str("sha256=");
    for &b in tag.iter() {
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 0x0f)]);
    }
    out
}

const HEX: [char; 16] = [
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f',
];

#[derive(Serialize)]
struct Envelope<'a> {
    alert_id: Option<i64>,
    tenant: &'a str,
    alert: &'a Alert,
}

/// The JSON document of one alert.
pub fn body(d: &Delivery) -> String {
    serde_json::to_string(&Envelope {
        alert_id: d.id,
        tenant: &d.alert.tenant,
        alert: &d.alert,
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{sigma, ueba};

    #[test]
    fn the_signature_is_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn the_body_carries_the_id_the_tenant_and_the_whole_alert() {
        let v: serde_json::Value =
            serde_json::from_str(&body(&ueba("why", "eve"))).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v["alert_id"], 42);
        assert_eq!(v["tenant"], "acme");
        assert_eq!(v["alert"]["subject"], "eve");
        assert_eq!(v["alert"]["explanation"], "why");
        assert_eq!(v["alert"]["confidence"], serde_json::json!(0.9));
        let back: Alert =
            serde_json::from_value(v["alert"].clone()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, *ueba("why", "eve").alert);

        let v: serde_json::Value =
            serde_json::from_str(&body(&sigma())).unwrap_or_else(|e| panic!("{e}"));
        assert!(v["alert_id"].is_null());
        assert_eq!(v["alert"]["key"], "sigma:r1:7");
    }
}
