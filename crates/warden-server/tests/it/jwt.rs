//! JWT bearer tokens from an identity provider (`[jwt]`): a valid token is a caller of the
//! tenant and scope its claims name, audited under its subject; every way a token can be
//! wrong (issuer, audience, expiry, not-before, signature, key id, algorithm, lifetime,
//! claims) is a 401, counted; keys come from a file or a URL, and a rotation at the
//! identity provider is picked up without a restart; a JWT's stream ends at its expiry.
//! The signing keys in `tests/data/jwt/` were made for these tests and sign nothing else.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use warden_server::auth::{Scope, create_token};
use warden_server::jwt::JwtSection;
use warden_server::{AppState, ServiceConfig, app};

use crate::common;

const ISSUER: &str = "https://idp.example.test";

fn key(file: &str, alg: Algorithm) -> EncodingKey {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/jwt")
        .join(file);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match alg {
        Algorithm::ES256 => EncodingKey::from_ec_der(&bytes),
        Algorithm::EdDSA => EncodingKey::from_ed_der(&bytes),
        _ => EncodingKey::from_rsa_der(&bytes),
    }
}

/// The public half of a test key, as the identity provider publishes it.
fn public(file: &str, alg: Algorithm, kid: &str) -> Jwk {
    let mut jwk = Jwk::from_encoding_key(&key(file, alg), alg).unwrap_or_else(|e| panic!("{e}"));
    jwk.common.key_id = Some(kid.into());
    jwk
}

fn jwks(keys: Vec<Jwk>) -> String {
    serde_json::to_string(&JwkSet { keys }).unwrap_or_else(|e| panic!("{e}"))
}

fn now() -> i64 {
    jsonwebtoken::get_current_timestamp() as i64
}

/// Claims of a good token: tenant acme, write scope, five minutes left.
fn claims() -> Value {
    json!({
        "iss": ISSUER, "aud": ["warden", "other-app"], "sub": "alice@example.test",
        "iat": now(), "exp": now() + 300, "tenant": "acme", "scope": "openid warden:write",
    })
}

fn mint(file: &str, alg: Algorithm, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &key(file, alg)).unwrap_or_else(|e| panic!("{e}"))
}

fn es256(claims: &Value) -> String {
    mint("es256-a.pk8", Algorithm::ES256, Some("a"), claims)
}

fn section() -> JwtSection {
    JwtSection {
        issuer: ISSUER.into(),
        audience: vec!["warden".into()],
        algorithms: vec!["ES256".into(), "EdDSA".into(), "RS256".into()],
        leeway_secs: 0,
        refetch_min_secs: 1,
        ..JwtSection::default()
    }
}

fn with_file_keys() -> (AppState, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("jwks.json");
    let set = jwks(vec![
        public("es256-a.pk8", Algorithm::ES256, "a"),
        public("ed25519.pk8", Algorithm::EdDSA, "ed"),
        public("rs256.pkcs1.der", Algorithm::RS256, "rsa"),
    ]);
    std::fs::write(&path, set).unwrap_or_else(|e| panic!("{e}"));
    let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    let (token, _) =
        create_token(&store, Scope::Read, "acme", "t").unwrap_or_else(|e| panic!("{e}"));
    let cfg = ServiceConfig {
        jwt: Some(JwtSection {
            jwks_file: Some(path),
            ..section()
        }),
        ..ServiceConfig::default()
    };
    let state = AppState::new(cfg, store).unwrap_or_else(|e| panic!("{e}"));
    (state, token, dir)
}

async fn get(router: &axum::Router, uri: &str, token: &str) -> (StatusCode, Value) {
    let (status, _, body) =
        common::oneshot(router, "GET", uri, Some(token), "application/json", vec![]).await;
    (status, body)
}

#[tokio::test]
async fn a_jwt_names_its_caller_tenant_and_scope() {
    let (state, warden_token, _dir) = with_file_keys();
    let router = app(state.clone());
    let (status, who) = get(&router, "/v1/whoami", &es256(&claims())).await;
    assert_eq!(status, StatusCode::OK, "{who}");
    assert_eq!(who["tenant"], "acme");
    assert_eq!(who["scope"], "write");
    assert_eq!(who["subject"], "alice@example.test");
    assert!(who["token_id"].is_null());
    for (file, alg, kid) in [
        ("ed25519.pk8", Algorithm::EdDSA, "ed"),
        ("rs256.pkcs1.der", Algorithm::RS256, "rsa"),
    ] {
        let t = mint(file, alg, Some(kid), &claims());
        assert_eq!(
            get(&router, "/v1/whoami", &t).await.0,
            StatusCode::OK,
            "{alg:?}"
        );
    }
    let (status, who) = get(&router, "/v1/whoami", &warden_token).await;
    assert_eq!(
        (status, who["scope"].as_str()),
        (StatusCode::OK, Some("read"))
    );
    let (status, _) = get(&router, "/v1/audit", &es256(&claims())).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "write is not admin");

    // An admin's action is audited under the token's subject.
    let mut admin = claims();
    admin["scope"] = json!(["warden:read", "warden:admin"]);
    let admin = es256(&admin);
    let (status, _, _) = common::oneshot(
        &router,
        "POST",
        "/v1/tokens",
        Some(&admin),
        "application/json",
        br#"{"scope":"read","label":"made by a person"}"#.to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, audit) = get(&router, "/v1/audit", &admin).await;
    assert_eq!(audit["entries"][0]["actor"], "jwt:alice@example.test");
    assert_eq!(audit["entries"][0]["action"], "token.create");
}

#[tokio::test]
async fn every_wrong_jwt_is_refused_and_counted() {
    let (state, _, _dir) = with_file_keys();
    let router = app(state.clone());
    let change = |f: fn(&mut Value)| {
        let mut c = claims();
        f(&mut c);
        c
    };
    // Good claims signed by another key, under key id `a`.
    let forged = mint("es256-b.pk8", Algorithm::ES256, Some("a"), &claims());
    let b64 = |v: &Value| encode_b64url(v.to_string().as_bytes());
    let unsigned = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "kid": "a"})),
        b64(&claims())
    );
    let wrong: Vec<(&str, String)> = vec![
        (
            "issuer",
            es256(&change(|c| c["iss"] = json!("https://evil.test"))),
        ),
        (
            "audience",
            es256(&change(|c| c["aud"] = json!("other-app"))),
        ),
        ("expired", es256(&change(|c| c["exp"] = json!(now() - 5)))),
        (
            "not yet valid",
            es256(&change(|c| c["nbf"] = json!(now() + 120))),
        ),
        (
            "no subject",
            es256(&change(|c| {
                drop(c.as_object_mut().map(|o| o.remove("sub")))
            })),
        ),
        ("no tenant", es256(&change(|c| c["tenant"] = Value::Null))),
        (
            "bad tenant",
            es256(&change(|c| c["tenant"] = json!("a b/../c"))),
        ),
        (
            "no warden scope",
            es256(&change(|c| c["scope"] = json!("openid profile"))),
        ),
        (
            "lives too long",
            es256(&change(|c| c["exp"] = json!(now() + 3 * 86_400))),
        ),
        ("forged signature", forged),
        (
            "unknown key id",
            mint("es256-a.pk8", Algorithm::ES256, Some("zz"), &claims()),
        ),
        (
            "no key id, several keys",
            mint("es256-a.pk8", Algorithm::ES256, None, &claims()),
        ),
        ("alg none", unsigned),
        (
            "HS256 with the public key as secret",
            jsonwebtoken::encode(
                &Header {
                    kid: Some("a".into()),
                    ..Header::new(Algorithm::HS256)
                },
                &claims(),
                &EncodingKey::from_secret(
                    jwks(vec![public("es256-a.pk8", Algorithm::ES256, "a")]).as_bytes(),
                ),
            )
            .unwrap_or_else(|e| panic!("{e}")),
        ),
        ("garbage", "eyJ.eyJ.AAA".into()),
    ];
    for (why, token) in &wrong {
        let (status, body) = get(&router, "/v1/whoami", token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{why}: {body}");
        assert_eq!(body["error"]["code"], "unauthorized", "{why}");
    }
    let text = state.tokens.render();
    let count = |reason: &str| {
        text.lines()
            .find(|l| l.contains(&format!("reason=\"{reason}\"")))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse::<usize>().ok())
    };
    assert_eq!(count("expired"), Some(1));
    assert_eq!(count("invalid_jwt"), Some(wrong.len() - 1));
}

/// base64url without padding, for a hand-made token.
fn encode_b64url(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ABC[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// A JWKS endpoint whose document the test changes; counts the times it is read.
struct KeyServer {
    url: String,
    body: Arc<Mutex<String>>,
    reads: Arc<Mutex<usize>>,
}

async fn key_server(first: String) -> KeyServer {
    let body = Arc::new(Mutex::new(first));
    let reads = Arc::new(Mutex::new(0usize));
    let (b, r) = (body.clone(), reads.clone());
    let router = axum::Router::new().route(
        "/keys",
        axum::routing::get(move || {
            let (b, r) = (b.clone(), r.clone());
            async move {
                *r.lock().unwrap_or_else(|p| p.into_inner()) += 1;
                b.lock().unwrap_or_else(|p| p.into_inner()).clone()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    KeyServer {
        url: format!("http://{addr}/keys"),
        body,
        reads,
    }
}

impl KeyServer {
    fn serve(&self, text: String) {
        *self.body.lock().unwrap_or_else(|p| p.into_inner()) = text;
    }
    fn reads(&self) -> usize {
        *self.reads.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_from_a_url_follow_the_identity_providers_rotation() {
    let idp = key_server(jwks(vec![public("es256-a.pk8", Algorithm::ES256, "a")])).await;
    let cfg = ServiceConfig {
        jwt: Some(JwtSection {
            jwks_url: Some(idp.url.clone()),
            ..section()
        }),
        ..ServiceConfig::default()
    };
    let state = tokio::task::spawn_blocking(move || {
        let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
        AppState::new(cfg, store).unwrap_or_else(|e| panic!("{e}"))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let router = app(state);
    assert_eq!(idp.reads(), 1, "read at start");
    let old = es256(&claims());
    assert_eq!(get(&router, "/v1/whoami", &old).await.0, StatusCode::OK);

    // The identity provider rotates to key b: a token of b makes the service read the keys
    // again (not more often than refetch_min_secs), and a's tokens stop working.
    idp.serve(jwks(vec![public("es256-b.pk8", Algorithm::ES256, "b")]));
    let new = mint("es256-b.pk8", Algorithm::ES256, Some("b"), &claims());
    assert_eq!(
        get(&router, "/v1/whoami", &new).await.0,
        StatusCode::UNAUTHORIZED,
        "too soon"
    );
    assert_eq!(idp.reads(), 1);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(get(&router, "/v1/whoami", &new).await.0, StatusCode::OK);
    assert_eq!(idp.reads(), 2);
    assert_eq!(
        get(&router, "/v1/whoami", &old).await.0,
        StatusCode::UNAUTHORIZED
    );

    // A broken key set is not taken: the keys held stay in use.
    idp.serve("<html>maintenance</html>".into());
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let unknown = mint("es256-a.pk8", Algorithm::ES256, Some("c"), &claims());
    assert_eq!(
        get(&router, "/v1/whoami", &unknown).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(idp.reads(), 3);
    assert_eq!(get(&router, "/v1/whoami", &new).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_jwts_stream_ends_when_it_expires() {
    let (state, _, _dir) = with_file_keys();
    let service = common::start(state).await;
    let mut c = claims();
    c["exp"] = json!(now() + 2);
    let mut stream = crate::tokens::open_sse(service.addr, &es256(&c)).await;
    assert!(
        crate::tokens::sse_ends(&mut stream, Duration::from_secs(6)).await,
        "the stream outlived its token"
    );
    service.stop().await;
}

#[test]
fn a_bad_jwt_section_stops_the_start_naming_the_key() {
    let cfg = ServiceConfig {
        jwt: Some(JwtSection {
            jwks_file: Some("/nonexistent/jwks.json".into()),
            ..section()
        }),
        ..ServiceConfig::default()
    };
    let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    let err = AppState::new(cfg, store).err().map(|e| e.to_string());
    assert!(
        err.as_deref()
            .is_some_and(|e| e.starts_with("jwt:") && e.contains("/nonexistent/jwks.json")),
        "{err:?}"
    );
    let text = format!("[jwt]\nissuer = \"{ISSUER}\"\naudience = []\njwks_file = \"k.json\"\n");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("warden.toml");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    let err = ServiceConfig::load(Some(&path), |_| None)
        .err()
        .map(|e| e.to_string());
    assert!(
        err.as_deref()
            .is_some_and(|e| e.starts_with("jwt.audience")),
        "{err:?}"
    );
}
