//! Per-tenant quotas: a tenant at its quota of users gets its new users' events refused
//! with `quota_exceeded` (its known users still scored, other tenants untouched), and a
//! batch of nothing but refused events is answered 429.

use axum::http::StatusCode;
use serde_json::{Value, json};
use warden_server::auth::{Scope, create_token};
use warden_server::{AppState, ServiceConfig, app};

use crate::common;

fn login(user: &str, minute: u32) -> Value {
    json!({"user_id": user, "activity_type": "login", "timestamp": format!("2026-03-02T09:{minute:02}:00Z"),
           "ip_address": "198.51.100.7", "event_id": format!("{user}-{minute}")})
}

#[tokio::test]
async fn a_tenant_at_its_user_quota_gets_new_users_refused() {
    let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    let (acme, _) =
        create_token(&store, Scope::Write, "acme", "t").unwrap_or_else(|e| panic!("{e}"));
    let (globex, _) =
        create_token(&store, Scope::Write, "globex", "t").unwrap_or_else(|e| panic!("{e}"));
    let mut cfg = ServiceConfig::default();
    cfg.server.max_users_per_tenant = 2;
    let r = app(AppState::new(cfg, store).unwrap_or_else(|e| panic!("{e}")));
    let post = |token: String, events: Vec<Value>| {
        let r = r.clone();
        async move {
            let (s, _, b) = common::oneshot(
                &r,
                "POST",
                "/v1/detect/realtime",
                Some(&token),
                "application/json",
                json!({ "events": events }).to_string().into_bytes(),
            )
            .await;
            (s, b)
        }
    };
    let (s, b) = post(
        acme.clone(),
        vec![
            login("ana", 0),
            login("bo", 1),
            login("cy", 2),
            login("ana", 3),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let codes: Vec<Value> = b["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["error"]["code"].clone())
        .collect();
    assert_eq!(
        codes,
        [
            Value::Null,
            Value::Null,
            json!("quota_exceeded"),
            Value::Null
        ],
        "{b}"
    );
    assert_eq!(
        (b["accepted"].clone(), b["rejected"].clone()),
        (json!(3), json!(1))
    );
    // Only new users: nothing to score at all.
    let (s, b) = post(acme.clone(), vec![login("dee", 4)]).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{b}");
    assert_eq!(b["error"]["code"], "quota_exceeded");
    // Another tenant has its own quota.
    let (s, b) = post(globex, vec![login("dee", 5), login("eve", 6)]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["rejected"], json!(0), "{b}");
    let (_, _, m) = common::oneshot(&r, "GET", "/metrics", None, "text/plain", Vec::new()).await;
    assert!(
        m.as_str()
            .is_some_and(|t| t.contains("warden_quota_refused_total 2")),
        "{m}"
    );
}
