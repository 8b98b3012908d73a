use serde_json::json;

use crate::both_backends;
use crate::helpers::TestApp;

both_backends!(
    revoked_access_tokens_are_refused,
    revoked_refresh_tokens_end_their_family,
    revocation_checks_the_client
);

const WEB: (&str, &str) = ("web", "web-secret");
const SVC: (&str, &str) = ("svc", "svc-secret");

async fn revoked_access_tokens_are_refused(app: TestApp) {
    let tokens = app.alice_tokens("openid").await;
    let access = tokens.str("access_token");
    assert_eq!(app.userinfo("acme", access).await.status, 200);
    let revoked = app.revoke("acme", WEB, access).await;
    assert_eq!(revoked.status, 200, "{}", revoked.json);
    assert_eq!(app.userinfo("acme", access).await.status, 401);
    assert_eq!(app.introspect("acme", SVC, access).await.json, json!({"active": false}));
    // Revoking twice, or garbage, is fine (RFC 7009 §2.2).
    assert_eq!(app.revoke("acme", WEB, access).await.status, 200);
    assert_eq!(app.revoke("acme", WEB, "garbage").await.status, 200);
    // The refresh token of that grant still works: only the access token was revoked.
    assert_eq!(app.refresh("acme", WEB, tokens.str("refresh_token")).await.status, 200);
}

async fn revoked_refresh_tokens_end_their_family(app: TestApp) {
    let tokens = app.alice_tokens("openid").await;
    let refresh = tokens.str("refresh_token");
    let answer = app
        .post_form(
            "acme",
            "/protocol/openid-connect/revoke",
            Some(WEB),
            &[("token", refresh), ("token_type_hint", "refresh_token")],
        )
        .await;
    assert_eq!(answer.status, 200);
    app.refresh("acme", WEB, refresh).await.assert_error(400, "invalid_grant");
    assert_eq!(app.introspect("acme", SVC, refresh).await.json, json!({"active": false}));
    assert_eq!(
        app.userinfo("acme", tokens.str("access_token")).await.status,
        401,
        "access tokens of the grant die too"
    );
}

async fn revocation_checks_the_client(app: TestApp) {
    let tokens = app.alice_tokens("openid").await;
    let refresh = tokens.str("refresh_token");
    app.revoke("acme", SVC, refresh).await.assert_error(400, "unauthorized_client");
    app.revoke("acme", SVC, tokens.str("access_token")).await.assert_error(400, "unauthorized_client");
    app.revoke("acme", ("web", "wrong"), refresh).await.assert_error(401, "invalid_client");
    // Nothing of that revoked anything.
    let refreshed = app.refresh("acme", WEB, refresh).await;
    assert_eq!(refreshed.status, 200);
    // An unknown hint is ignored (RFC 7009 §2.2): the token is revoked.
    let refresh = refreshed.str("refresh_token");
    let hint = app
        .post_form(
            "acme",
            "/protocol/openid-connect/revoke",
            Some(WEB),
            &[("token", refresh), ("token_type_hint", "pizza")],
        )
        .await;
    assert_eq!(hint.status, 200, "{}", hint.json);
    app.refresh("acme", WEB, refresh).await.assert_error(400, "invalid_grant");
}
