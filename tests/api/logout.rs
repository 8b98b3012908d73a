//! RP-Initiated Logout when the hint and the browser disagree: a hint from
//! a browser that holds no session (its cookie not sent on a cross-site
//! POST, or another client) and a hint of an earlier or another session.

use crate::both_backends;
use crate::browser::{Browser, auth_url};
use crate::browser_rules::{BYE, WEB, WEB_REQUEST, assert_error_page, code, exchange_web, logout_url};
use crate::helpers::TestApp;

both_backends!(
    a_hint_without_the_sessions_cookie_ends_that_session_at_once,
    a_hint_from_an_earlier_session_ends_nothing_unasked,
    a_long_logout_state_is_refused,
    a_password_grants_id_token_ends_its_grant
);

async fn a_hint_without_the_sessions_cookie_ends_that_session_at_once(app: TestApp) {
    let browser = Browser::new();
    let tokens = exchange_web(&app, &code(&app, &browser, &WEB_REQUEST).await).await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    let url = logout_url(
        &app,
        &[("id_token_hint", tokens.str("id_token")), ("post_logout_redirect_uri", BYE), ("state", "s2")],
    );

    // The request arrives without the session's cookie (an application's
    // cross-site POST, or a client with no cookies at all): the session the
    // hint names ends, and the client gets its state back at once (SPEC §4).
    let cookieless = Browser::new();
    let done = cookieless.get(&url).await;
    assert_eq!(done.status, 302, "{}", done.body);
    assert_eq!(done.location(), Some("http://127.0.0.1:9/bye?state=s2"));
    app.refresh("acme", WEB, tokens.str("refresh_token")).await.assert_error(400, "invalid_grant");
    assert_eq!(app.userinfo("acme", tokens.str("access_token")).await.status, 401);
    let page = browser.get(&auth_url(&app, "acme", &WEB_REQUEST)).await;
    assert!(page.is_login_page(), "the session ended: {}: {}", page.status, page.body);

    // With the session gone, the same hint has nothing left to end.
    let again = Browser::new().get(&url).await;
    assert_eq!(again.status, 302, "{}", again.body);
}

async fn a_hint_from_an_earlier_session_ends_nothing_unasked(app: TestApp) {
    let browser = Browser::new();
    let old = exchange_web(&app, &code(&app, &browser, &WEB_REQUEST).await).await;
    let old_hint = old.str("id_token").to_owned();
    let first = browser.get(&logout_url(&app, &[("id_token_hint", &old_hint)])).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert!(browser.get(&auth_url(&app, "acme", &WEB_REQUEST)).await.is_login_page());

    let new = exchange_web(&app, &code(&app, &browser, &WEB_REQUEST).await).await;
    assert_eq!(new.status, 200, "{}", new.json);
    let confirm =
        browser.get(&logout_url(&app, &[("id_token_hint", &old_hint), ("post_logout_redirect_uri", BYE)])).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert!(confirm.form().fields.contains_key("csrf"), "a confirmation form: {}", confirm.body);
    assert_eq!(app.refresh("acme", WEB, new.str("refresh_token")).await.status, 200, "the new session lives on");
    assert_eq!(browser.get(&auth_url(&app, "acme", &WEB_REQUEST)).await.status, 302);

    // An ID token of no browser session (the password grant's has no sid) asks too.
    let password = app.alice_tokens("openid").await;
    let confirm = browser
        .get(&logout_url(&app, &[("id_token_hint", password.str("id_token")), ("post_logout_redirect_uri", BYE)]))
        .await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert_eq!(browser.get(&auth_url(&app, "acme", &WEB_REQUEST)).await.status, 302, "still signed in");

    // Another browser's hint: once confirmed, this browser's session and
    // the one the hint names both end.
    let other = Browser::new();
    let elsewhere = exchange_web(&app, &code(&app, &other, &WEB_REQUEST).await).await;
    let confirm = browser.get(&logout_url(&app, &[("id_token_hint", elsewhere.str("id_token"))])).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    let refreshed = app.refresh("acme", WEB, elsewhere.str("refresh_token")).await;
    assert_eq!(refreshed.status, 200, "nothing ends unasked");
    let done = browser.submit(&confirm.form()).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(browser.get(&auth_url(&app, "acme", &WEB_REQUEST)).await.is_login_page());
    assert!(other.get(&auth_url(&app, "acme", &WEB_REQUEST)).await.is_login_page());
    app.refresh("acme", WEB, refreshed.str("refresh_token")).await.assert_error(400, "invalid_grant");
}

/// A grant made without a browser (the password grant) is a session of
/// its own, named by its ID token's `sid`: a logout with that token ends it.
async fn a_password_grants_id_token_ends_its_grant(app: TestApp) {
    let tokens = app.alice_tokens("openid").await;
    let (_, claims) = crate::helpers::jwt_parts(tokens.str("id_token"));
    assert!(claims["sid"].is_string(), "{claims}");
    let refreshed = app.refresh("acme", WEB, tokens.str("refresh_token")).await;
    let (_, again) = crate::helpers::jwt_parts(refreshed.str("id_token"));
    assert_eq!(again["sid"], claims["sid"], "a refresh keeps naming the session");
    let offline = app.alice_tokens("openid offline_access").await;
    let (_, offline_claims) = crate::helpers::jwt_parts(offline.str("id_token"));
    assert!(offline_claims.get("sid").is_none(), "an offline grant is no session: {offline_claims}");

    let url = logout_url(&app, &[("id_token_hint", refreshed.str("id_token")), ("post_logout_redirect_uri", BYE)]);
    let done = Browser::new().get(&url).await;
    assert_eq!(done.status, 302, "{}", done.body);
    app.refresh("acme", WEB, refreshed.str("refresh_token")).await.assert_error(400, "invalid_grant");
    assert_eq!(app.userinfo("acme", refreshed.str("access_token")).await.status, 401);
    assert_eq!(app.refresh("acme", WEB, offline.str("refresh_token")).await.status, 200, "offline lives on");
}

async fn a_long_logout_state_is_refused(app: TestApp) {
    let browser = Browser::new();
    let tokens = exchange_web(&app, &code(&app, &browser, &WEB_REQUEST).await).await;
    let state = "s".repeat(2049);
    let url = logout_url(
        &app,
        &[("id_token_hint", tokens.str("id_token")), ("post_logout_redirect_uri", BYE), ("state", &state)],
    );
    assert_error_page(&browser.get(&url).await, "a 2049-character state");
    assert_eq!(app.refresh("acme", WEB, tokens.str("refresh_token")).await.status, 200, "nothing ended");
}
