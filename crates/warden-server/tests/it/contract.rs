//! The published OpenAPI document against the service: every status an operation answers
//! is documented (401 wherever a bearer token is needed, 400 wherever input is checked),
//! with the content type it is sent with; a malformed path id is a JSON 400 like every
//! other; an entity the graph does not hold is a JSON 404.

use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Value, json};
use warden_server::auth::{Scope, create_token};
use warden_server::{AppState, ServiceConfig, app};

use crate::common;

struct Service {
    router: axum::Router,
    admin: String,
    read: String,
}

fn service() -> Service {
    let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    let tok = |scope| {
        create_token(&store, scope, "acme", "test")
            .unwrap_or_else(|e| panic!("{e}"))
            .0
    };
    let (admin, read) = (tok(Scope::Admin), tok(Scope::Read));
    let state = AppState::new(ServiceConfig::default(), store).unwrap_or_else(|e| panic!("{e}"));
    Service {
        router: app(state),
        admin,
        read,
    }
}

async fn call(
    s: &Service,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, HeaderMap, Value) {
    common::oneshot(&s.router, method, uri, token, "application/json", body).await
}

async fn document(s: &Service) -> Value {
    let (status, _, doc) = call(s, "GET", "/v1/openapi.json", None, Vec::new()).await;
    assert_eq!(status, StatusCode::OK);
    doc
}

/// `(method, path, operation)` of every operation in the document.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            out.push((method.clone(), path.clone(), op.clone()));
        }
    }
    assert!(out.len() > 30, "{} operations", out.len());
    out
}

fn documents(op: &Value, status: &str) -> bool {
    op["responses"].get(status).is_some()
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

#[tokio::test]
async fn every_protected_operation_documents_its_refusals() {
    let s = service();
    let doc = document(&s).await;
    for (method, path, op) in operations(&doc) {
        let requirements = op["security"].as_array().cloned().unwrap_or_default();
        let bearer = requirements.iter().any(|r| r.get("bearer").is_some());
        // `/metrics` also opens without a token (from loopback when no metrics token is set).
        let optional = requirements
            .iter()
            .any(|r| r.as_object().is_some_and(serde_json::Map::is_empty));
        if bearer {
            assert!(documents(&op, "401"), "{method} {path}: 401 undocumented");
        }
        let checks_input = op["parameters"].as_array().is_some_and(|p| !p.is_empty())
            || op.get("requestBody").is_some();
        if checks_input {
            assert!(documents(&op, "400"), "{method} {path}: 400 undocumented");
        }
        // Every error is the JSON error body.
        for (status, response) in op["responses"].as_object().into_iter().flatten() {
            if status.starts_with('4') {
                assert!(
                    response["content"]["application/json"].is_object(),
                    "{method} {path} {status}: {response}"
                );
            }
        }
        // What the service answers without a token is documented.
        if bearer && !optional {
            let concrete = path.replace("{id}", "1");
            let (status, headers, _) =
                call(&s, &method.to_uppercase(), &concrete, None, Vec::new()).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
            assert!(is_json(&headers), "{method} {path}");
        }
    }
}

#[tokio::test]
async fn a_malformed_path_id_is_a_json_400_naming_id() {
    let s = service();
    let doc = document(&s).await;
    let mut tried = 0;
    for (method, path, op) in operations(&doc) {
        if !path.contains("{id}") {
            continue;
        }
        assert!(documents(&op, "400"), "{method} {path}: 400 undocumented");
        for bad in ["abc", "9223372036854775808", "-2.5"] {
            let uri = path.replace("{id}", bad);
            let (status, headers, body) = call(
                &s,
                &method.to_uppercase(),
                &uri,
                Some(&s.admin),
                b"{}".to_vec(),
            )
            .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {uri}: {body}");
            assert!(is_json(&headers), "{method} {uri}: {headers:?}");
            assert_eq!(body["error"]["code"], "invalid", "{method} {uri}: {body}");
            assert_eq!(body["error"]["field"], "id", "{method} {uri}: {body}");
        }
        tried += 1;
    }
    // alerts get/patch, incidents get/patch, webhooks delete/test, dead-letter replay,
    // token revoke/rotate, payload job get.
    assert_eq!(tried, 10);
}

#[tokio::test]
async fn the_answers_content_types_are_documented() {
    let s = service();
    let doc = document(&s).await;
    let export = &doc["paths"]["/v1/graph/export"]["get"]["responses"]["200"]["content"];
    for ct in ["application/graphml+xml", "application/json"] {
        assert!(export[ct].is_object(), "{ct}: {export}");
    }
    for (uri, ct) in [
        ("/v1/graph/export", "application/graphml+xml"),
        ("/v1/graph/export?format=json", "application/json"),
    ] {
        let (status, headers, _) = call(&s, "GET", uri, Some(&s.read), Vec::new()).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        let got = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(got.starts_with(ct), "{uri}: {got}");
    }
    let alerts = &doc["paths"]["/v1/alerts/export"]["get"]["responses"]["200"]["content"];
    for ct in ["text/csv", "application/json"] {
        assert!(alerts[ct].is_object(), "{ct}: {alerts}");
    }
    // A bad query of the network route is JSON too, as on every other route.
    let (status, headers, body) = call(
        &s,
        "POST",
        "/v1/monitor/network?all=foo",
        Some(&s.admin),
        Vec::new(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(is_json(&headers));
    assert_eq!(body["error"]["field"], "query", "{body}");
}

#[tokio::test]
async fn an_entity_the_graph_does_not_hold_is_a_json_404() {
    let s = service();
    let doc = document(&s).await;
    for path in ["/v1/graph/neighbours", "/v1/graph/path"] {
        let op = &doc["paths"][path]["get"];
        assert!(documents(op, "404"), "{path}");
    }
    let (status, headers, body) = call(
        &s,
        "GET",
        "/v1/graph/neighbours?entity=host:nowhere",
        Some(&s.read),
        Vec::new(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(is_json(&headers));
    assert_eq!(body["error"]["code"], "not_found", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("host:nowhere")),
        "{body}"
    );
    let (status, _, body) = call(
        &s,
        "GET",
        "/v1/graph/path?from=host:nowhere&to=host:elsewhere",
        Some(&s.read),
        Vec::new(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

#[tokio::test]
async fn the_document_states_the_limits_the_server_checks() {
    let s = service();
    let doc = document(&s).await;
    let param = |path: &str, method: &str, name: &str| -> Value {
        doc["paths"][path][method]["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{method} {path}: no {name}"))
    };
    let schema = |path: &str, method: &str, name: &str| param(path, method, name)["schema"].clone();
    assert_eq!(
        schema("/v1/alerts", "get", "level")["enum"],
        json!(["LOW", "MEDIUM", "HIGH", "CRITICAL"])
    );
    assert_eq!(
        schema("/v1/alerts", "get", "status")["enum"],
        json!(["new", "acknowledged", "resolved", "false_positive"])
    );
    assert_eq!(schema("/v1/alerts", "get", "from")["format"], "date-time");
    assert_eq!(schema("/v1/alerts", "get", "limit")["maximum"], 1000);
    assert_eq!(schema("/v1/incidents", "get", "window")["minimum"], 60);
    assert_eq!(schema("/v1/graph/path", "get", "max_hops")["maximum"], 10);
    assert_eq!(
        schema("/v1/graph/neighbours", "get", "entity")["minLength"],
        1
    );
    let anomaly = schema("/v1/alerts", "get", "anomaly_type")["enum"].clone();
    for t in warden_event::AnomalyType::ALL {
        assert!(
            anomaly
                .as_array()
                .is_some_and(|a| a.contains(&json!(t.as_str()))),
            "{t}"
        );
    }
    // The stream's resume header is an integer, never null (a client sends a number or
    // nothing).
    let last = param("/v1/stream", "get", "Last-Event-ID");
    assert_eq!(last["in"], "header");
    assert_eq!(last["required"], false);
    assert_eq!(last["schema"]["type"], "integer", "{last}");
    let body = |name: &str| doc["components"]["schemas"][name].clone();
    assert_eq!(body("DetectBody")["properties"]["events"]["minItems"], 1);
    assert_eq!(
        body("BehaviorRequest")["properties"]["user_id"]["minLength"],
        1
    );
    // A triage change without a change is refused, and the schema says so.
    for variant in body("Patch")["anyOf"].as_array().into_iter().flatten() {
        assert_eq!(variant["minProperties"], 1, "{variant}");
        assert_eq!(variant["additionalProperties"], false, "{variant}");
    }
    let (status, _, b) = call(
        &s,
        "PATCH",
        "/v1/alerts/1",
        Some(&s.admin),
        json!({"status": null}).to_string().into_bytes(),
    )
    .await;
    common::assert_invalid(status, &b, "body");
    // Alert ids are integers, as JSON Schema counts them: `2.0` is one, `2.5` is not.
    let bulk = |ids: Value| -> Vec<u8> {
        json!({"action": "update_status", "status": "resolved", "ids": ids})
            .to_string()
            .into_bytes()
    };
    let (status, _, b) = call(
        &s,
        "POST",
        "/v1/alerts/bulk",
        Some(&s.admin),
        bulk(json!([1, 2.0])),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{b}");
    assert_eq!(b["not_found"], json!([1, 2]), "{b}");
    // Bodies are JSON objects, as the schemas say: serde alone would read a struct from an
    // array of its fields.
    for (method, uri, body) in [
        ("PATCH", "/v1/alerts/1", r#"["resolved", null, null]"#),
        ("POST", "/v1/tokens", r#"["read", null, null]"#),
        ("POST", "/v1/tokens/1/rotate", "[null, null]"),
        ("POST", "/v1/analyze/behavior", r#"["ana"]"#),
    ] {
        let (status, _, b) = call(&s, method, uri, Some(&s.admin), body.as_bytes().to_vec()).await;
        common::assert_invalid(status, &b, "body");
    }
    for bad in ["[2.5]", "[-9223372036854775809]", "[9223372036854775808]"] {
        let body = format!(r#"{{"action": "update_status", "status": "resolved", "ids": {bad}}}"#);
        let (status, _, b) = call(
            &s,
            "POST",
            "/v1/alerts/bulk",
            Some(&s.admin),
            body.into_bytes(),
        )
        .await;
        common::assert_invalid(status, &b, "body");
    }
}
