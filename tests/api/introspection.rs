use base64::Engine;
use serde_json::json;

use crate::both_backends;
use crate::helpers::TestApp;

both_backends!(
    introspection_reports_active_tokens,
    introspection_says_only_inactive_otherwise,
    introspection_needs_a_confidential_client,
    a_disabled_clients_tokens_are_refused_everywhere
);

const SVC: (&str, &str) = ("svc", "svc-secret");

async fn introspection_reports_active_tokens(app: TestApp) {
    let tokens = app.alice_tokens("openid roms.read").await;
    let access = app.introspect("acme", SVC, tokens.str("access_token")).await;
    assert_eq!(access.status, 200);
    assert_eq!(access.header("cache-control"), Some("no-store"));
    let a = &access.json;
    assert_eq!(a["active"], true);
    assert_eq!(a["scope"], "openid roms.read");
    assert_eq!(a["client_id"], "web");
    assert_eq!(a["username"], "alice");
    assert_eq!(a["iss"], app.issuer("acme"));
    assert_eq!(a["token_type"], "Bearer");
    for field in ["sub", "exp", "iat", "aud", "jti"] {
        assert!(!a[field].is_null(), "{field} missing: {a}");
    }
    // Keycloak's role claims, as the token carries them.
    assert_eq!(a["azp"], "web");
    assert_eq!(a["realm_access"], json!({"roles": ["editor"]}));
    let refresh = app.introspect("acme", SVC, tokens.str("refresh_token")).await;
    assert_eq!(refresh.json["active"], true, "{}", refresh.json);
    assert_eq!(refresh.json["client_id"], "web");
    assert_eq!(refresh.json["scope"], "openid roms.read");

    let cc = app.client_credentials("acme", "svc", "svc-secret", None).await;
    let own = app.introspect("acme", ("web", "web-secret"), cc.str("access_token")).await;
    assert_eq!(own.json["active"], true);
    assert_eq!(own.json["client_id"], "svc");
    assert_eq!(own.json["azp"], "svc");
    assert!(own.json.get("realm_access").is_none(), "{}", own.json);
}

async fn introspection_says_only_inactive_otherwise(app: TestApp) {
    let inactive = json!({"active": false});
    let tokens = app.alice_tokens("openid").await;
    let access = tokens.str("access_token").to_owned();

    // Garbage, ID tokens, tampered and alg=none tokens.
    for token in ["garbage", "a.b.c", tokens.str("id_token"), &"x".repeat(5000)] {
        assert_eq!(app.introspect("acme", SVC, token).await.json, inactive, "{token:.40}");
    }
    // Verified once (and remembered as verified): tampering with it still fails.
    assert_eq!(app.introspect("acme", SVC, &access).await.json["active"], true);
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = access.split('.').collect();
    let mut claims: serde_json::Value = serde_json::from_slice(&engine.decode(parts[1]).unwrap()).unwrap();
    claims["scope"] = "openid roms.write".into();
    let forged = format!("{}.{}.{}", parts[0], engine.encode(claims.to_string()), parts[2]);
    assert_eq!(app.introspect("acme", SVC, &forged).await.json, inactive);
    let header: serde_json::Value = serde_json::from_slice(&engine.decode(parts[0]).unwrap()).unwrap();
    let none_header = json!({"alg": "none", "typ": "at+jwt", "kid": header["kid"]});
    let unsigned = format!("{}.{}.", engine.encode(none_header.to_string()), parts[1]);
    assert_eq!(app.introspect("acme", SVC, &unsigned).await.json, inactive);

    // Another realm's token, introspected here.
    let foreign = app.client_credentials("other", "svc", "svc-secret", None).await;
    assert_eq!(app.introspect("acme", SVC, foreign.str("access_token")).await.json, inactive);
    // ... and this realm's token at the other realm.
    assert_eq!(app.introspect("other", SVC, &access).await.json, inactive);

    // Expired: exact to the second.
    app.clock.advance(298);
    assert_eq!(app.introspect("acme", SVC, &access).await.json["active"], true, "valid until exp");
    app.clock.advance(4);
    assert_eq!(app.introspect("acme", SVC, &access).await.json, inactive);
}

async fn introspection_needs_a_confidential_client(app: TestApp) {
    let tokens = app.alice_tokens("openid").await;
    let token = tokens.str("access_token");
    app.post_form("acme", "/protocol/openid-connect/token/introspect", None, &[("token", token), ("client_id", "cli")])
        .await
        .assert_error(401, "invalid_client");
    app.introspect("acme", ("svc", "wrong"), token).await.assert_error(401, "invalid_client");
    app.post_form("acme", "/protocol/openid-connect/token/introspect", Some(SVC), &[])
        .await
        .assert_error(400, "invalid_request");
}

/// Keycloak refuses a disabled client's tokens at userinfo and reports them
/// inactive; enabled again, they work again (nothing was revoked).
async fn a_disabled_clients_tokens_are_refused_everywhere(app: TestApp) {
    let tokens = app.alice_tokens("openid").await;
    let master = app.master_token().await;
    let found = app.admin(reqwest::Method::GET, "/realms/acme/clients?clientId=web", Some(&master), None).await;
    let path = format!("/realms/acme/clients/{}", found.json[0]["id"].as_str().unwrap());
    let switch = |enabled: bool| {
        let body = json!({ "enabled": enabled }).to_string();
        let (app, path, master) = (&app, &path, &master);
        async move {
            let answer = app.admin(reqwest::Method::PUT, path, Some(master), Some(&body)).await;
            assert_eq!(answer.status, 204, "{}", answer.text);
        }
    };
    switch(false).await;
    let userinfo = app.userinfo("acme", tokens.str("access_token")).await;
    assert_eq!(userinfo.status, 401, "{}", userinfo.text);
    assert!(userinfo.header("www-authenticate").is_some_and(|h| h.contains("invalid_token")));
    for token in [tokens.str("access_token"), tokens.str("refresh_token")] {
        assert_eq!(app.introspect("acme", SVC, token).await.json, json!({"active": false}));
    }
    switch(true).await;
    assert_eq!(app.userinfo("acme", tokens.str("access_token")).await.status, 200);
    assert_eq!(app.introspect("acme", SVC, tokens.str("refresh_token")).await.json["active"], true);
}
