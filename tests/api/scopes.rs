use crate::both_backends;
use crate::helpers::TestApp;

both_backends!(scopes_are_granted_as_the_spec_says);

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
