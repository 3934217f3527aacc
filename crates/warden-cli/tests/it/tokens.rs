//! `warden token create|list|revoke|rotate` against a store file: expiry shown, revoked
//! and rotated tokens listed with their state, every change in the tenant's audit log.

use crate::run;

fn list(store: &str) -> Vec<serde_json::Value> {
    let (code, out, err) = run(&["token", "list", "--store", store, "--json"]);
    assert_eq!(code, 0, "{err}");
    out.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn tokens_are_listed_revoked_and_rotated_with_an_audit_trail() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("w.db").to_string_lossy().into_owned();
    let (code, token, err) = run(&[
        "token",
        "create",
        "--store",
        &store,
        "--scope",
        "read",
        "--tenant",
        "acme",
        "--label",
        "soc",
        "--expires-in",
        "30d",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        token.trim().starts_with("wdn_") && err.contains("until 20"),
        "{err}"
    );
    let (code, _, err) = run(&[
        "token",
        "create",
        "--store",
        &store,
        "--scope",
        "read",
        "--tenant",
        "acme",
        "--expires-in",
        "soon",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("--expires-in soon"), "{err}");

    let tokens = list(&store);
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0]["state"], "active");
    assert!(tokens[0]["expires_at"].as_str().is_some());
    assert!(tokens[0].get("hash").is_none(), "the hash is not shown");
    let id = tokens[0]["id"].as_i64().unwrap().to_string();

    let (code, new, err) = run(&["token", "rotate", "--store", &store, &id, "--grace", "1h"]);
    assert_eq!(code, 0, "{err}");
    assert!(new.trim().starts_with("wdn_") && new.trim() != token.trim());
    assert!(err.contains("works until"), "{err}");
    let tokens = list(&store);
    assert_eq!(tokens.len(), 2);
    assert_eq!(tokens[0]["replaced_by"], tokens[1]["id"]);
    assert_eq!(tokens[1]["label"], "soc");
    assert!(
        tokens[1]["expires_at"].as_str() >= tokens[0]["expires_at"].as_str(),
        "the successor keeps the 30-day lifetime: {tokens:?}"
    );
    assert!(tokens[1]["expires_at"].as_str().is_some_and(|e| e > "2026"));

    let (code, _, err) = run(&["token", "revoke", "--store", &store, &id]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(list(&store)[0]["state"], "revoked");
    let (code, _, err) = run(&["token", "rotate", "--store", &store, &id]);
    assert_eq!(code, 1);
    assert!(err.contains("revoked"), "{err}");
    let (code, _, err) = run(&["token", "revoke", "--store", &store, "999"]);
    assert_eq!(code, 1);
    assert!(err.contains("no token 999"), "{err}");

    let (code, table, _) = run(&["token", "list", "--store", &store, "--tenant", "acme"]);
    assert_eq!(code, 0);
    assert!(
        table.contains("revoked") && table.contains("active"),
        "{table}"
    );

    let s = warden_store::Store::open(std::path::Path::new(&store)).unwrap();
    let actions: Vec<String> = s
        .audit_page("acme", None, None, 10)
        .unwrap()
        .into_iter()
        .map(|e| format!("{} {}", e.actor, e.action))
        .collect();
    assert_eq!(
        actions,
        ["cli token.revoke", "cli token.rotate", "cli token.create"],
        "newest first"
    );
}

#[test]
fn the_cli_keeps_a_tenants_token_limit_too() {
    use warden_server::auth::{MAX_TOKENS, Scope, create_token};
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("w.db").to_string_lossy().into_owned();
    {
        let s = warden_store::Store::open(std::path::Path::new(&store)).unwrap();
        for _ in 0..MAX_TOKENS {
            create_token(&s, Scope::Read, "acme", "bulk").unwrap();
        }
    }
    let create = |tenant: &str| {
        run(&[
            "token", "create", "--store", &store, "--scope", "read", "--tenant", tenant,
        ])
    };
    let (code, out, err) = create("acme");
    assert_eq!(code, 1, "{out}");
    assert!(
        err.contains("tenant acme: the tenant holds 1000 tokens that still work")
            && err.contains("warden token revoke"),
        "{err}"
    );
    assert!(out.is_empty(), "no token is printed: {out}");
    // Another tenant is not held back, and a revoked token makes room.
    assert_eq!(create("globex").0, 0);
    let (code, _, err) = run(&["token", "revoke", "--store", &store, "1"]);
    assert_eq!(code, 0, "{err}");
    let (code, token, err) = create("acme");
    assert_eq!(code, 0, "{err}");
    assert!(token.trim().starts_with("wdn_"));
    // A rotation without a grace period replaces a working token and needs no room; with
    // one, both work for a while, so it does.
    let (code, _, err) = run(&["token", "rotate", "--store", &store, "2"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&["token", "rotate", "--store", &store, "3", "--grace", "1h"]);
    assert_eq!(code, 1);
    assert!(err.contains("tokens that still work"), "{err}");
    // A revoked token is refused as such, full tenant or not.
    let (code, _, err) = run(&["token", "rotate", "--store", &store, "1", "--grace", "1h"]);
    assert_eq!(code, 1);
    assert!(err.contains("token 1 is revoked"), "{err}");
}
