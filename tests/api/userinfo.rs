use crate::both_backends;
use crate::helpers::TestApp;

both_backends!(userinfo_returns_the_scoped_claims, userinfo_refuses_bad_tokens, userinfo_accepts_rfc6750_presentations);

async fn userinfo_returns_the_scoped_claims(app: TestApp) {
    let tokens = app.alice_tokens("openid profile email").await;
    let info = app.userinfo("acme", tokens.str("access_token")).await;
    assert_eq!(info.status, 200, "{}", info.json);
    let (_, id) = crate::helpers::jwt_parts(tokens.str("id_token"));
    assert_eq!(info.json["sub"], id["sub"]);
    assert_eq!(info.json["preferred_username"], "alice");
    assert_eq!(info.json["email"], "alice@example.com");
    assert_eq!(info.json["email_verified"], true);
    assert_eq!(info.json["given_name"], "Alice");

    let narrow = app.alice_tokens("openid").await;
    let info = app.userinfo("acme", narrow.str("access_token")).await;
    assert_eq!(info.status, 200);
    assert!(info.json.get("email").is_none() && info.json.get("preferred_username").is_none(), "{}", info.json);

    let post = app
        .http
        .post(app.realm_url("acme", "/protocol/openid-connect/userinfo"))
        .bearer_auth(tokens.str("access_token"))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 200);
}

async fn userinfo_refuses_bad_tokens(app: TestApp) {
    let missing = app.get(&app.realm_url("acme", "/protocol/openid-connect/userinfo")).await;
    assert_eq!(missing.status, 401);
    assert!(missing.header("www-authenticate").unwrap().contains("error=\"invalid_token\""));
    let garbage = app.userinfo("acme", "garbage").await;
    assert_eq!(garbage.status, 401);
    assert!(garbage.header("www-authenticate").unwrap().starts_with("Bearer"));

    let no_openid = app.alice_tokens("roms.read").await;
    let refused = app.userinfo("acme", no_openid.str("access_token")).await;
    assert_eq!(refused.status, 403);
    assert!(refused.header("www-authenticate").unwrap().contains("insufficient_scope"));
    // Revoked, it is a dead token (401), not one short of a scope.
    assert_eq!(app.revoke("acme", ("web", "web-secret"), no_openid.str("access_token")).await.status, 200);
    let dead = app.userinfo("acme", no_openid.str("access_token")).await;
    assert_eq!(dead.status, 401, "{}", dead.text);
    assert!(dead.header("www-authenticate").unwrap().contains("invalid_token"));
    // A client's own token: without openid it lacks the scope (403); with it,
    // it names no user to describe (401).
    let service = app.client_credentials("acme", "svc", "svc-secret", None).await;
    let refused = app.userinfo("acme", service.str("access_token")).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert!(refused.header("www-authenticate").unwrap().contains("insufficient_scope"));
    let service = app.client_credentials("acme", "nopass", "nopass-secret", Some("openid")).await;
    let refused = app.userinfo("acme", service.str("access_token")).await;
    assert_eq!(refused.status, 401, "{}", refused.text);
    assert!(refused.header("www-authenticate").unwrap().contains("invalid_token"));

    let tokens = app.alice_tokens("openid").await;
    assert_eq!(app.userinfo("other", tokens.str("access_token")).await.status, 401, "another realm's token");
    let id_token = tokens.str("id_token");
    assert_eq!(app.userinfo("acme", id_token).await.status, 401, "an ID token is not an access token");
    app.clock.advance(302);
    assert_eq!(app.userinfo("acme", tokens.str("access_token")).await.status, 401, "expired");
}

async fn userinfo_accepts_rfc6750_presentations(app: TestApp) {
    let tokens = app.alice_tokens("openid").await;
    let token = tokens.str("access_token");
    let url = app.realm_url("acme", "/protocol/openid-connect/userinfo");
    let x_auth = app.http.get(&url).header("X-Auth-Token", token).send().await.unwrap();
    assert_eq!(x_auth.status(), 200);
    let form = app.http.post(&url).form(&[("access_token", token)]).send().await.unwrap();
    assert_eq!(form.status(), 200);
    // The query string only where the realm allows it (not acme).
    let query = app.http.get(format!("{url}?access_token={token}")).send().await.unwrap();
    assert_eq!(query.status(), 401);
    assert!(query.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));
    // Two presentations at once are refused.
    let twice = app.http.get(&url).bearer_auth(token).header("X-Auth-Token", token).send().await.unwrap();
    assert_eq!(twice.status(), 400);
    // Only a form body carries a token (§2.2): a JSON one is no credential,
    // and any other body beside a header is ignored.
    let json = app.http.post(&url).json(&serde_json::json!({"access_token": token})).send().await.unwrap();
    assert_eq!(json.status(), 401);
    let text = app.http.post(&url).bearer_auth(token).header("content-type", "text/plain").body("hi").send().await;
    assert_eq!(text.unwrap().status(), 200);
    // A malformed form is a 400 with the Bearer challenge (§3).
    let repeated = app.http.post(&url).form(&[("access_token", token), ("access_token", token)]).send().await.unwrap();
    assert_eq!(repeated.status(), 400);
    let challenge = repeated.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer realm=\"acme\"") && challenge.contains("invalid_request"), "{challenge}");
}
