//! JWT bearer tokens from an identity provider (`[jwt]`), beside Warden's own tokens: a
//! request whose bearer token is a JWT is verified against the keys of a JWKS (a file or an
//! HTTPS URL), and its claims give the caller's tenant and scope.
//!
//! What is checked: the signature (asymmetric algorithms only, from the configured list;
//! the key chosen by `kid`, and a key's own `alg` and `use` honoured), `iss`, `aud`, `exp`
//! and `nbf` (with `leeway_secs`), a `sub`, and a lifetime no longer than
//! `max_lifetime_secs` — a JWT cannot be revoked one by one, so its life is kept short.
//! The keys are read again every `refresh_secs`, and at once (at most every
//! `refetch_min_secs`) when a token names a key id the set does not hold, so an identity
//! provider's key rotation needs no restart. A failed refresh keeps the keys held.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};

use crate::auth::{Credential, Principal, Scope, valid_tenant};

/// Largest JWKS document read (bytes).
const MAX_JWKS_BYTES: u64 = 1024 * 1024;
/// Most keys taken from one JWKS.
const MAX_KEYS: usize = 64;
/// Longest `sub` accepted (it names the caller in the audit log).
const MAX_SUBJECT: usize = 256;

/// `[jwt]`: accept JWTs from an identity provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JwtSection {
    /// The `iss` every token must carry.
    pub issuer: String,
    /// Accepted `aud` values; a token must name at least one.
    pub audience: Vec<String>,
    /// The signing keys: a JWKS file …
    pub jwks_file: Option<PathBuf>,
    /// … or an `https://` URL (`http://` only to a loopback address).
    pub jwks_url: Option<String>,
    /// Accepted signature algorithms (asymmetric: RS*, PS*, ES256, ES384, EdDSA).
    pub algorithms: Vec<String>,
    /// The claim naming the caller's tenant.
    pub tenant_claim: String,
    /// The claim holding the caller's scopes: a space-separated string (OAuth `scope`) or
    /// a list (`scp`, `roles`).
    pub scope_claim: String,
    /// A scope names a Warden scope with this prefix: `warden:read`, `warden:write`,
    /// `warden:admin`; the highest held counts.
    pub scope_prefix: String,
    /// Clock skew allowed on `exp` and `nbf` (seconds).
    pub leeway_secs: u64,
    /// Tokens that live longer than this from now are refused (seconds).
    pub max_lifetime_secs: u64,
    /// How often the keys are read again (seconds).
    pub refresh_secs: u64,
    /// Least time between two reads caused by unknown key ids (seconds).
    pub refetch_min_secs: u64,
}

impl Default for JwtSection {
    fn default() -> Self {
        JwtSection {
            issuer: String::new(),
            audience: Vec::new(),
            jwks_file: None,
            jwks_url: None,
            algorithms: vec!["RS256".into(), "ES256".into()],
            tenant_claim: "tenant".into(),
            scope_claim: "scope".into(),
            scope_prefix: "warden:".into(),
            leeway_secs: 30,
            max_lifetime_secs: 86_400,
            refresh_secs: 300,
            refetch_min_secs: 30,
        }
    }
}

impl JwtSection {
    /// The problem with this section, naming its key.
    pub fn check(&self) -> Result<(), (String, String)> {
        let bad = |key: &str, reason: &str| Err((format!("jwt.{key}"), reason.to_owned()));
        if self.issuer.trim().is_empty() {
            return bad("issuer", "name the issuer (`iss`) tokens must carry");
        }
        if self.audience.is_empty() || self.audience.iter().any(|a| a.trim().is_empty()) {
            return bad("audience", "name at least one audience (`aud`)");
        }
        match (&self.jwks_file, &self.jwks_url) {
            (Some(_), None) => {}
            (None, Some(url)) => check_url(url).or_else(|r| bad("jwks_url", &r))?,
            _ => return bad("jwks_file", "give jwks_file or jwks_url (one of them)"),
        }
        if let Err(r) = algorithms(&self.algorithms) {
            return bad("algorithms", &r);
        }
        if self.tenant_claim.is_empty() || self.scope_claim.is_empty() {
            return bad(
                "tenant_claim",
                "tenant_claim and scope_claim must not be empty",
            );
        }
        if self.leeway_secs > 300 {
            return bad("leeway_secs", "must be at most 300");
        }
        if !(60..=30 * 86_400).contains(&self.max_lifetime_secs) {
            return bad("max_lifetime_secs", "must be between 60 and 2592000");
        }
        if !(1..=86_400).contains(&self.refresh_secs)
            || !(1..=3_600).contains(&self.refetch_min_secs)
        {
            return bad(
                "refresh_secs",
                "refresh_secs 1 to 86400, refetch_min_secs 1 to 3600",
            );
        }
        Ok(())
    }
}

fn check_url(url: &str) -> Result<(), String> {
    if url.starts_with("https://") {
        return Ok(());
    }
    let host = url
        .strip_prefix("http://")
        .and_then(|rest| rest.split(['/', '?', '#']).next())
        .map(|authority| authority.rsplit_once(':').map_or(authority, |(h, _)| h));
    match host {
        Some("127.0.0.1" | "localhost" | "[::1]") => Ok(()),
        _ => Err("must be an https:// URL (http:// only to a loopback address)".into()),
    }
}

fn algorithms(names: &[String]) -> Result<Vec<Algorithm>, String> {
    if names.is_empty() {
        return Err("name at least one algorithm".into());
    }
    names
        .iter()
        .map(|n| match n.parse::<Algorithm>() {
            // A shared secret would let whoever can read the key set mint tokens.
            Ok(Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) => Err(format!(
                "`{n}`: symmetric algorithms are not accepted; use RS*, PS*, ES* or EdDSA"
            )),
            Ok(a) => Ok(a),
            Err(_) => Err(format!("`{n}` is not a JWS algorithm")),
        })
        .collect()
}

/// Why a JWT was refused (counted, never shown to the caller beyond a 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtRefusal {
    /// Bad shape, signature, issuer, audience, key or claims.
    Invalid,
    /// Past its `exp`.
    Expired,
}

/// A signing key: its id, the one algorithm it is for (when it says), the key.
type Key = (Option<String>, Option<Algorithm>, DecodingKey);

/// The keys of the set, by key id (a set of one key may omit it).
struct KeySet {
    keys: Vec<Key>,
    read_at: Instant,
}

/// Verifies JWTs; shared by every request.
pub struct JwtVerifier {
    cfg: JwtSection,
    /// The checks for each accepted algorithm.
    validations: Vec<(Algorithm, Validation)>,
    keys: RwLock<Arc<KeySet>>,
    /// Serialises refetches, and remembers when the last one started.
    refetch: tokio::sync::Mutex<Instant>,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("issuer", &self.cfg.issuer)
            .finish_non_exhaustive()
    }
}

/// The claims Warden reads; the tenant and scope claims are found by name.
#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
    exp: u64,
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

impl JwtVerifier {
    /// Reads the key set (a blocking call) and builds the verifier; an unreadable or empty
    /// key set is an error, so a wrong setting is seen at start.
    pub fn new(cfg: &JwtSection) -> Result<Self, String> {
        cfg.check().map_err(|(k, r)| format!("{k}: {r}"))?;
        // One validation per algorithm: the library wants every algorithm of a validation
        // in the family of the key that checks it.
        let validations = algorithms(&cfg.algorithms)?
            .into_iter()
            .map(|alg| {
                let mut v = Validation::new(alg);
                v.leeway = cfg.leeway_secs;
                v.validate_nbf = true;
                v.set_issuer(&[cfg.issuer.as_str()]);
                v.set_audience(&cfg.audience);
                v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
                (alg, v)
            })
            .collect();
        let keys = load(cfg)?;
        Ok(JwtVerifier {
            cfg: cfg.clone(),
            validations,
            keys: RwLock::new(Arc::new(keys)),
            refetch: tokio::sync::Mutex::new(Instant::now()),
        })
    }

    /// The caller a JWT names, or why not. Reads the keys again (off the async threads)
    /// when the token names a key id the set lacks.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, JwtRefusal> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| JwtRefusal::Invalid)?;
        let validation = self
            .validations
            .iter()
            .find(|(a, _)| *a == header.alg)
            .map(|(_, v)| v)
            .ok_or(JwtRefusal::Invalid)?;
        let kid = header.kid.as_deref();
        if self.key_for(kid, header.alg).is_none() && kid.is_some() {
            self.refetch().await;
        }
        let key = self.key_for(kid, header.alg).ok_or(JwtRefusal::Invalid)?;
        let data = jsonwebtoken::decode::<Claims>(token, &key, validation).map_err(|e| match e
            .kind()
        {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => JwtRefusal::Expired,
            _ => JwtRefusal::Invalid,
        })?;
        self.principal(data.claims)
    }

    /// The key for `kid` that may sign with `alg`.
    fn key_for(&self, kid: Option<&str>, alg: Algorithm) -> Option<DecodingKey> {
        let set = self.keys.read().ok()?.clone();
        let fits = |k: &&Key| k.1.is_none_or(|a| a == alg);
        match kid {
            Some(kid) => set
                .keys
                .iter()
                .filter(fits)
                .find(|k| k.0.as_deref() == Some(kid)),
            None if set.keys.len() == 1 => set.keys.iter().find(fits),
            None => None,
        }
        .map(|k| k.2.clone())
    }

    fn principal(&self, c: Claims) -> Result<Principal, JwtRefusal> {
        let now = jsonwebtoken::get_current_timestamp();
        if c.exp.saturating_sub(now) > self.cfg.max_lifetime_secs {
            return Err(JwtRefusal::Invalid);
        }
        let subject = c
            .sub
            .filter(|s| !s.is_empty() && s.len() <= MAX_SUBJECT && !s.contains(char::is_control))
            .ok_or(JwtRefusal::Invalid)?;
        let tenant = c
            .rest
            .get(&self.cfg.tenant_claim)
            .and_then(|v| v.as_str())
            .filter(|t| valid_tenant(t))
            .ok_or(JwtRefusal::Invalid)?;
        let scope = self
            .scope_of(c.rest.get(&self.cfg.scope_claim))
            .ok_or(JwtRefusal::Invalid)?;
        Ok(Principal {
            credential: Credential::Jwt(subject),
            tenant: tenant.to_owned(),
            scope,
            expires_at: i64::try_from(c.exp.saturating_mul(1_000)).ok(),
        })
    }

    /// The highest Warden scope among the claim's scopes.
    fn scope_of(&self, claim: Option<&serde_json::Value>) -> Option<Scope> {
        let names: Vec<&str> = match claim? {
            serde_json::Value::String(s) => s.split_ascii_whitespace().collect(),
            serde_json::Value::Array(a) => a.iter().filter_map(|v| v.as_str()).collect(),
            _ => return None,
        };
        names
            .into_iter()
            .take(256)
            .filter_map(|n| n.strip_prefix(self.cfg.scope_prefix.as_str()))
            .filter_map(Scope::parse)
            .max()
    }

    /// Reads the keys again unless another request just did (or one is under way).
    async fn refetch(&self) {
        let mut last = self.refetch.lock().await;
        let min = Duration::from_secs(self.cfg.refetch_min_secs);
        let read_at = self.keys.read().map(|k| k.read_at).ok();
        if last.elapsed() < min || read_at.is_some_and(|r| r.elapsed() < min) {
            return;
        }
        *last = Instant::now();
        self.reload().await;
    }

    /// Reads the keys (on the blocking pool); on failure the keys held stay.
    pub async fn reload(&self) {
        let cfg = self.cfg.clone();
        match tokio::task::spawn_blocking(move || load(&cfg)).await {
            Ok(Ok(keys)) => {
                if let Ok(mut held) = self.keys.write() {
                    *held = Arc::new(keys);
                }
            }
            Ok(Err(e)) => tracing::warn!("reading the JWT keys: {e}"),
            Err(e) => tracing::warn!("reading the JWT keys: {e}"),
        }
    }

    /// Reads the keys every `refresh_secs` until the service closes.
    pub fn start_refresher(self: &Arc<Self>, closing: &tokio::sync::watch::Sender<bool>) {
        let (me, mut closing) = (self.clone(), closing.subscribe());
        tokio::spawn(async move {
            let every = Duration::from_secs(me.cfg.refresh_secs);
            loop {
                tokio::select! {
                    () = tokio::time::sleep(every) => {}
                    _ = closing.wait_for(|c| *c) => return,
                }
                me.reload().await;
            }
        });
    }
}

/// Whether a bearer token has the shape of a JWT (three base64url parts).
pub fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Reads and parses the key set (blocking).
fn load(cfg: &JwtSection) -> Result<KeySet, String> {
    let text = match (&cfg.jwks_file, &cfg.jwks_url) {
        (Some(path), _) => read_file(path)?,
        (None, Some(url)) => fetch(url)?,
        (None, None) => return Err("jwt: no jwks_file or jwks_url".into()),
    };
    parse_keys(&text)
}

fn read_file(path: &PathBuf) -> Result<String, String> {
    use std::io::Read;
    let f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut text = String::new();
    f.take(MAX_JWKS_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if text.len() as u64 > MAX_JWKS_BYTES {
        return Err(format!("{}: larger than 1 MiB", path.display()));
    }
    Ok(text)
}

fn fetch(url: &str) -> Result<String, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .max_redirects(0)
        .build()
        .into();
    let resp = agent
        .get(url)
        .header("Accept", "application/json")
        .call()
        .map_err(|e| format!("{url}: {e}"))?;
    resp.into_body()
        .with_config()
        .limit(MAX_JWKS_BYTES)
        .read_to_string()
        .map_err(|e| format!("{url}: {e}"))
}

/// The usable signing keys of a JWKS document; keys for encryption, of unknown types or
/// that fail to parse are skipped (logged), and a set with none is an error.
fn parse_keys(text: &str) -> Result<KeySet, String> {
    let set: JwkSet = serde_json::from_str(text).map_err(|e| format!("not a JWKS: {e}"))?;
    let mut keys = Vec::new();
    for jwk in set.keys.iter().take(MAX_KEYS) {
        match signing_key(jwk) {
            Ok(k) => keys.push(k),
            Err(why) => tracing::warn!(
                "JWT key {}: skipped ({why})",
                jwk.common.key_id.as_deref().unwrap_or("without an id")
            ),
        }
    }
    if keys.is_empty() {
        return Err("the JWKS holds no usable signing key".into());
    }
    Ok(KeySet {
        keys,
        read_at: Instant::now(),
    })
}

fn signing_key(jwk: &Jwk) -> Result<Key, String> {
    if matches!(
        jwk.common.public_key_use,
        Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))
    ) {
        return Err("not a signing key".into());
    }
    let alg = match jwk.common.key_algorithm {
        Some(a) => Some(Algorithm::try_from(a).map_err(|_| "an algorithm not for signing")?),
        None => None,
    };
    if matches!(
        alg,
        Some(Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
    ) || matches!(
        jwk.algorithm,
        jsonwebtoken::jwk::AlgorithmParameters::OctetKey(_)
    ) {
        return Err("a symmetric key".into());
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    Ok((jwk.common.key_id.clone(), alg, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked() {
        let good = JwtSection {
            issuer: "https://idp.example".into(),
            audience: vec!["warden".into()],
            jwks_url: Some("https://idp.example/keys".into()),
            ..JwtSection::default()
        };
        assert!(good.check().is_ok());
        type Spoil = fn(&mut JwtSection);
        let cases: [(&str, Spoil); 6] = [
            ("jwt.issuer", |c| c.issuer.clear()),
            ("jwt.audience", |c| c.audience.clear()),
            ("jwt.jwks_url", |c| {
                c.jwks_url = Some("http://idp.example/keys".into())
            }),
            ("jwt.jwks_file", |c| c.jwks_file = Some("k.json".into())),
            ("jwt.algorithms", |c| c.algorithms = vec!["HS256".into()]),
            ("jwt.algorithms", |c| c.algorithms = vec!["XX1".into()]),
        ];
        for (key, spoil) in cases {
            let mut c = good.clone();
            spoil(&mut c);
            assert_eq!(c.check().err().map(|e| e.0).as_deref(), Some(key));
        }
        assert!(check_url("http://127.0.0.1:9000/keys").is_ok());
        assert!(check_url("http://localhost/keys").is_ok());
        assert!(check_url("http://127.0.0.1.evil.example/keys").is_err());
    }

    #[test]
    fn key_sets_keep_only_asymmetric_signing_keys() {
        let oct = r#"{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"s"}]}"#;
        assert!(parse_keys(oct).is_err(), "a shared secret is not a key");
        let enc = r#"{"keys":[{"kty":"EC","crv":"P-256","use":"enc","kid":"e",
            "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#;
        assert!(parse_keys(enc).is_err(), "an encryption key does not sign");
        let sig = enc.replace("\"enc\"", "\"sig\"");
        let set = parse_keys(&sig).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(set.keys.len(), 1);
        assert!(parse_keys("[]").is_err() && parse_keys("{\"keys\":[]}").is_err());
        assert!(looks_like_jwt("eyJh.eyJz.c2ln") && !looks_like_jwt("wdn_abc"));
    }
}
