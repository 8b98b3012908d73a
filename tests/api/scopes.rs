use crate::both_backends;
use crate::helpers::TestApp;

both_backends!(scopes_are_granted_as_the_spec_says, offline_access_needs_a_code);

async fn scopes_are_granted_as_the_spec_says(app: TestApp) {
    // implies: asking for roms.write grants roms.read too.
    let cc = app.client_credentials("acme", "svc", "svc-secret", Some("roms.write")).await;
    assert_eq!(cc.json["scope"], "roms.read roms.write");
    let cc = app.client_credentials("acme", "svc", "svc-secret", Some("roms.read")).await;
    assert_eq!(cc.json["scope"], "roms.read");
    // Unknown to the realm, or outside the client's list: invalid_scope.
    app.client_credentials("acme", "svc", "svc-secret", Some("roms.delete")).await.assert_error(400, "invalid_scope");
    app.client_credentials("acme", "svc", "svc-secret", Some("openid")).await.assert_error(400, "invalid_scope");
    app.client_credentials("acme", "svc", "svc-secret", Some("bad\"scope")).await.assert_error(400, "invalid_scope");

    // A viewer asking for roms.write gets roms.read (RFC 6749 §3.3).
    let viewer = app.password_grant("acme", ("web", "web-secret"), ("victor", "victor-pw"), "openid roms.write").await;
    assert_eq!(viewer.status, 200, "{}", viewer.json);
    assert_eq!(viewer.json["scope"], "openid roms.read");
    // An editor gets both.
    let editor = app.alice_tokens("roms.write").await;
    assert_eq!(editor.json["scope"], "roms.read roms.write");
    // An empty request: all of the client's scopes the user may have.
    let all = app.password_grant("acme", ("web", "web-secret"), ("victor", "victor-pw"), "").await;
    assert_eq!(all.json["scope"], "email offline_access openid profile roms.read");
    // Scope as a JSON body works the same.
    let json = app
        .http
        .post(app.realm_url("acme", "/protocol/openid-connect/token"))
        .basic_auth("svc", Some("svc-secret"))
        .json(&serde_json::json!({"grant_type": "client_credentials", "scope": "roms.read"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 200);
    let body: serde_json::Value = json.json().await.unwrap();
    assert_eq!(body["scope"], "roms.read");
}

/// Core §11: `offline_access` is ignored unless the response type returns a
/// code; an implicit response never grants it.
async fn offline_access_needs_a_code(app: TestApp) {
    let browser = crate::browser::Browser::new();
    let mut answers = Vec::new();
    for response_type in ["id_token token", "code id_token"] {
        let params = [
            ("client_id", "hybrid"),
            ("response_type", response_type),
            ("redirect_uri", "http://127.0.0.1:9/hybrid"),
            ("scope", "openid offline_access"),
            ("nonce", "n-1"),
        ];
        let mut page = browser.get(&crate::browser::auth_url(&app, "acme", &params)).await;
        if page.is_login_page() {
            page = browser.login(&page, "alice", "alice-pw").await;
        }
        answers.push(page.redirect_params());
    }
    assert_eq!(answers[0]["scope"], "openid", "{:?}", answers[0]);
    let (_, claims) = crate::helpers::jwt_parts(&answers[0]["access_token"]);
    assert_eq!(claims["scope"], "openid");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", answers[1]["code"].as_str()),
        ("redirect_uri", "http://127.0.0.1:9/hybrid"),
    ];
    let exchanged = app.token("acme", Some(("hybrid", "hybrid-secret")), &form).await;
    assert_eq!(exchanged.json["scope"], "offline_access openid", "{}", exchanged.json);
}
