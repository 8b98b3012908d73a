//! Refresh tokens issued in a browser's SSO session end with it — at
//! logout, after its idle timeout, at its maximum — unless offline, and each
//! refresh is a use that keeps the session alive, as in Keycloak.

use crate::both_backends;
use crate::browser::Browser;
use crate::browser_rules::{BYE, HYBRID_REQUEST, WEB, WEB_REQUEST, authorize, code, exchange_web, logout_url, with};
use crate::helpers::{Answer, TestApp, jwt_parts};

both_backends!(
    offline_tokens_survive_logout,
    refreshing_keeps_the_session_alive_until_its_maximum,
    an_idle_session_ends_its_refresh_tokens,
    a_client_signs_out_with_its_refresh_token,
    signing_in_again_keeps_one_session_per_browser,
    no_token_outlives_an_idle_session,
);

/// acme's SSO session limits (the defaults) and refresh token lifetime.
const IDLE: i64 = 1800;
const MAX: i64 = 36_000;
const REFRESH_LIFETIME: i64 = 3600;
const ACCESS_LIFETIME: i64 = 300;

async fn signed_in(app: &TestApp, browser: &Browser, scope: &str) -> Answer {
    let tokens = exchange_web(app, &code(app, browser, &with(&WEB_REQUEST, &[("scope", scope)])).await).await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    tokens
}

async fn offline_tokens_survive_logout(app: TestApp) {
    let browser = Browser::new();
    let online = signed_in(&app, &browser, "openid").await;
    let offline = signed_in(&app, &browser, "openid offline_access").await;
    assert!(offline.json["scope"].as_str().unwrap().contains("offline_access"), "{}", offline.json);

    let url = logout_url(&app, &[("id_token_hint", online.str("id_token")), ("post_logout_redirect_uri", BYE)]);
    assert_eq!(browser.get(&url).await.status, 302);
    let ended = app.refresh("acme", WEB, online.str("refresh_token")).await;
    ended.assert_error(400, "invalid_grant");
    assert_eq!(ended.json["error_description"], "Session not active");
    let refreshed = app.refresh("acme", WEB, offline.str("refresh_token")).await;
    assert_eq!(refreshed.status, 200, "an offline token outlives the session: {}", refreshed.json);

    // An administrator's "sign out" of the user ends offline grants too
    // (Keycloak's not-before for the user).
    let master = app.master_token().await;
    let found =
        app.admin(reqwest::Method::GET, "/realms/acme/users?username=alice&exact=true", Some(&master), None).await;
    let logout = format!("/realms/acme/users/{}/logout", found.json[0]["id"].as_str().unwrap());
    assert_eq!(app.admin(reqwest::Method::POST, &logout, Some(&master), None).await.status, 204);
    let cut = app.refresh("acme", WEB, refreshed.str("refresh_token")).await;
    cut.assert_error(400, "invalid_grant");
    let access = app.introspect("acme", WEB, refreshed.str("access_token")).await;
    assert_eq!(access.json, serde_json::json!({"active": false}));
}

async fn refreshing_keeps_the_session_alive_until_its_maximum(app: TestApp) {
    let browser = Browser::new();
    let online = signed_in(&app, &browser, "openid").await;
    assert_eq!(online.json["refresh_expires_in"], IDLE, "no longer than the idle session: {}", online.json);
    let offline = signed_in(&app, &browser, "openid offline_access").await;
    assert_eq!(offline.json["refresh_expires_in"], REFRESH_LIFETIME, "{}", offline.json);

    // A refresh every 25 minutes: each is a use of the session.
    let step = 1500;
    let mut token = online.str("refresh_token").to_owned();
    let mut elapsed = 0;
    while elapsed + step < MAX {
        app.clock.advance(step);
        elapsed += step;
        let refreshed = app.refresh("acme", WEB, &token).await;
        assert_eq!(refreshed.status, 200, "after {elapsed} s: {}", refreshed.json);
        // The session began when alice signed in, a moment of real time
        // before the first refresh: its maximum may come a second sooner.
        let expected = IDLE.min(MAX - elapsed);
        let got = refreshed.json["refresh_expires_in"].as_i64().unwrap();
        assert!((expected - 2..=expected).contains(&got), "after {elapsed} s: {got}, want {expected}");
        token = refreshed.str("refresh_token").to_owned();
        if elapsed == 3 * step {
            // Past the idle timeout since the sign-in, and the browser still needs no login.
            let sso = code(&app, &browser, &with(&WEB_REQUEST, &[("prompt", "none")])).await;
            assert!(!sso.is_empty());
        }
    }
    // Near the maximum, no access token outlives the session, refreshed or
    // from a new code (Keycloak caps them alike); an offline grant's does.
    app.clock.advance(MAX - elapsed - 100);
    let access_left = |tokens: &Answer| {
        let claims = jwt_parts(tokens.str("access_token")).1;
        let left = tokens.json["expires_in"].as_i64().unwrap();
        assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), left, "{}", tokens.json);
        left
    };
    // ID tokens neither: a relying party that takes its session's length
    // from one would keep the user signed in past the session.
    let id_left = |tokens: &Answer| {
        let claims = jwt_parts(tokens.str("id_token")).1;
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap()
    };
    let refreshed = app.refresh("acme", WEB, &token).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.json);
    assert!((98..=100).contains(&access_left(&refreshed)), "{}", refreshed.json);
    assert!((98..=100).contains(&id_left(&refreshed)), "{}", refreshed.json);
    let again = signed_in(&app, &browser, "openid").await;
    assert!((98..=100).contains(&access_left(&again)), "{}", again.json);
    assert!((98..=100).contains(&id_left(&again)), "{}", again.json);
    let hybrid = with(&HYBRID_REQUEST, &[("response_type", "code token"), ("nonce", "n")]);
    let front: i64 = authorize(&app, &browser, &hybrid).await["expires_in"].parse().unwrap();
    assert!((98..=100).contains(&front), "front-channel: {front}");
    let offline = signed_in(&app, &browser, "openid offline_access").await;
    assert_eq!(access_left(&offline), ACCESS_LIFETIME, "{}", offline.json);
    app.clock.advance(101);
    app.refresh("acme", WEB, refreshed.str("refresh_token")).await.assert_error(400, "invalid_grant");
}

async fn an_idle_session_ends_its_refresh_tokens(app: TestApp) {
    let browser = Browser::new();
    let online = signed_in(&app, &browser, "openid").await;
    // Refreshed before a use is written again (at most once a minute), the
    // session's last use stays at the sign-in, so it ends before the new token would.
    app.clock.advance(30);
    let refreshed = app.refresh("acme", WEB, online.str("refresh_token")).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.json);
    assert_eq!(refreshed.json["refresh_expires_in"], IDLE);
    let sid = |tokens: &Answer| jwt_parts(tokens.str("id_token")).1["sid"].clone();
    assert!(sid(&online).is_string());
    assert_eq!(sid(&refreshed), sid(&online), "a refreshed ID token names the same session");
    // Access tokens name it too, as Keycloak's do; a grant without a browser
    // names its own session, as Keycloak's password grant does.
    let access_sid = |tokens: &Answer| jwt_parts(tokens.str("access_token")).1["sid"].clone();
    assert_eq!(access_sid(&online), sid(&online));
    assert_eq!(access_sid(&refreshed), sid(&online));
    let own = access_sid(&app.alice_tokens("openid").await);
    assert!(own.is_string() && own != sid(&online), "{own}");
    app.clock.advance(IDLE - 30 + 10);
    let ended = app.refresh("acme", WEB, refreshed.str("refresh_token")).await;
    ended.assert_error(400, "invalid_grant");
    assert_eq!(ended.json["error_description"], "Session not active", "{}", ended.json);
}

/// Tokens longer-lived than the idle timeout end with the session if it is
/// not used again (they outlived it: userinfo still took them).
async fn no_token_outlives_an_idle_session(app: TestApp) {
    let master = app.master_token().await;
    let longer = r#"{"accessTokenLifespan": 7200, "attributes": {"realmgate.idTokenLifespan": "7200"}}"#;
    let changed = app.admin(reqwest::Method::PUT, "/realms/acme", Some(&master), Some(longer)).await;
    assert_eq!(changed.status, 204, "{}", changed.text);
    let browser = Browser::new();
    let online = signed_in(&app, &browser, "openid").await;
    let lifetime = |token: &str| {
        let claims = jwt_parts(token).1;
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap()
    };
    assert_eq!(online.json["expires_in"], IDLE, "{}", online.json);
    assert_eq!(lifetime(online.str("access_token")), IDLE);
    assert_eq!(lifetime(online.str("id_token")), IDLE);
    // A refresh is a use: the tokens it brings last the idle timeout again.
    app.clock.advance(600);
    let refreshed = app.refresh("acme", WEB, online.str("refresh_token")).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.json);
    assert_eq!(lifetime(refreshed.str("id_token")), IDLE);
    // A use too soon after the last to be written (at most once a minute)
    // leaves the session's end where that one put it: so do its tokens.
    app.clock.advance(30);
    let soon = app.refresh("acme", WEB, refreshed.str("refresh_token")).await;
    assert_eq!(soon.status, 200, "{}", soon.json);
    assert_eq!(lifetime(soon.str("access_token")), IDLE - 30);
    assert_eq!(lifetime(soon.str("id_token")), IDLE - 30);
    app.clock.advance(IDLE - 30 + 2);
    assert_eq!(app.userinfo("acme", soon.str("access_token")).await.status, 401);
    // Offline grants are not bound to the session.
    let offline = signed_in(&app, &browser, "openid offline_access").await;
    assert_eq!(offline.json["expires_in"], 7200, "{}", offline.json);
    assert_eq!(lifetime(offline.str("id_token")), 7200);
}

const LOGOUT: &str = "/protocol/openid-connect/logout";

/// Keycloak's logout by refresh token (python-keycloak's `logout()`): the
/// client POSTs its credentials and a refresh token, gets 204, and the
/// token's session is over.
async fn a_client_signs_out_with_its_refresh_token(app: TestApp) {
    let browser = Browser::new();
    let online = signed_in(&app, &browser, "openid").await;
    let form = [("client_id", "web"), ("client_secret", "web-secret"), ("refresh_token", online.str("refresh_token"))];
    let answer = app.post_form("acme", LOGOUT, None, &form).await;
    assert_eq!((answer.status, answer.text.as_str()), (204, ""), "{}", answer.text);
    let ended = app.refresh("acme", WEB, online.str("refresh_token")).await;
    ended.assert_error(400, "invalid_grant");
    assert_eq!(ended.json["error_description"], "Session not active");
    let again = crate::browser::auth_url(&app, "acme", &with(&WEB_REQUEST, &[("prompt", "none")]));
    let silent = browser.get(&again).await;
    assert_eq!(silent.redirect_params()["error"], "login_required", "the browser's session ended too");
    let twice = app.post_form("acme", LOGOUT, None, &form).await;
    twice.assert_error(400, "invalid_grant");

    // A password grant's token: its grant ends; bad requests change nothing.
    let tokens = app.password_grant("acme", WEB, ("alice", "alice-pw"), "openid").await;
    let token = tokens.str("refresh_token");
    let wrong_secret = app.post_form("acme", LOGOUT, Some(("web", "nope")), &[("refresh_token", token)]).await;
    wrong_secret.assert_error(401, "invalid_client");
    let garbage = app.post_form("acme", LOGOUT, Some(WEB), &[("refresh_token", "garbage")]).await;
    garbage.assert_error(400, "invalid_grant");
    let foreign = app.post_form("acme", LOGOUT, Some(("svc", "svc-secret")), &[("refresh_token", token)]).await;
    foreign.assert_error(400, "invalid_grant");
    assert_eq!(app.post_form("acme", LOGOUT, Some(WEB), &[("refresh_token", token)]).await.status, 204);
    app.refresh("acme", WEB, token).await.assert_error(400, "invalid_grant");
}

/// Signs `user` in through a `prompt=login` authorization in `browser` and
/// exchanges the code.
async fn sign_in_again(app: &TestApp, browser: &Browser, user: (&str, &str)) -> Answer {
    let url = crate::browser::auth_url(app, "acme", &with(&WEB_REQUEST, &[("prompt", "login")]));
    let login = browser.get(&url).await;
    assert!(login.is_login_page(), "{}: {}", login.status, login.body);
    let mut page = browser.login(&login, user.0, user.1).await;
    if page.is_consent_page() {
        page = browser.decide(&page, "allow").await;
    }
    let code = page.redirect_params()["code"].clone();
    let tokens = exchange_web(app, &code).await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    tokens
}

async fn signing_in_again_keeps_one_session_per_browser(app: TestApp) {
    let browser = Browser::new();
    let first = signed_in(&app, &browser, "openid").await;
    let sid = |tokens: &Answer| jwt_parts(tokens.str("id_token")).1["sid"].clone();
    let auth_time = |tokens: &Answer| jwt_parts(tokens.str("id_token")).1["auth_time"].clone();

    // The same user again (prompt=login): the same session, signed in anew.
    app.clock.advance(60);
    let second = sign_in_again(&app, &browser, ("alice", "alice-pw")).await;
    assert_eq!(sid(&second), sid(&first), "one session per browser and user");
    assert_ne!(auth_time(&second), auth_time(&first), "auth_time is the new sign-in");
    let url = logout_url(&app, &[("id_token_hint", second.str("id_token")), ("post_logout_redirect_uri", BYE)]);
    assert_eq!(browser.get(&url).await.status, 302);
    for tokens in [&first, &second] {
        let ended = app.refresh("acme", WEB, tokens.str("refresh_token")).await;
        ended.assert_error(400, "invalid_grant");
    }

    // Another user in the same browser: the first user's session ends.
    let alice = signed_in(&app, &Browser::new(), "openid").await;
    let shared = Browser::new();
    let before = signed_in(&app, &shared, "openid").await;
    let victor = sign_in_again(&app, &shared, ("victor", "victor-pw")).await;
    assert_ne!(sid(&victor), sid(&before));
    app.refresh("acme", WEB, before.str("refresh_token")).await.assert_error(400, "invalid_grant");
    let elsewhere = app.refresh("acme", WEB, alice.str("refresh_token")).await;
    assert_eq!(elsewhere.status, 200, "alice's session in another browser goes on: {}", elsewhere.json);
    assert_eq!(app.refresh("acme", WEB, victor.str("refresh_token")).await.status, 200);
}
