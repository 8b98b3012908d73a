//! Rules added after a security review: nothing widens what a credential
//! holds, logout never ends someone else's session, and a few spec details.

use serde_json::json;

use crate::both_backends;
use crate::browser::{Browser, auth_url};
use crate::helpers::TestApp;

both_backends!(
    personal_tokens_never_exceed_their_creator_or_current_roles,
    an_id_token_hint_ends_only_the_session_it_names,
    a_hint_for_another_user_ends_in_login_required,
    redirect_uri_may_be_left_out_of_both_requests,
    refresh_narrows_when_the_client_loses_a_scope
);

async fn personal_tokens_never_exceed_their_creator_or_current_roles(app: TestApp) {
    let form = [
        ("grant_type", "password"),
        ("client_id", "cli"),
        ("username", "alice"),
        ("password", "alice-pw"),
        ("scope", "openid account.write"),
    ];
    let narrow = app.token("acme", None, &form).await;
    let response = app
        .http
        .post(app.realm_url("acme", "/account/api/tokens"))
        .bearer_auth(narrow.str("access_token"))
        .json(&json!({"name": "wide?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let created: serde_json::Value = response.json().await.unwrap();
    assert_eq!(created["scope"], "account.write openid", "no more than the calling token");
    let wider = app
        .http
        .post(app.realm_url("acme", "/account/api/tokens"))
        .bearer_auth(narrow.str("access_token"))
        .json(&json!({"name": "wider", "scope": "roms.write"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wider.status(), 400);

    // A token keeps only what the user's roles still allow.
    let out =
        app.cli(&["token", "add", "--realm", "acme", "--user", "alice", "--name", "w", "--scope", "roms.write"], None);
    let pat = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(app.introspect("acme", ("svc", "svc-secret"), &pat).await.json["scope"], "roms.read roms.write");
    let file = app.db.dir.path().join("demote.toml");
    std::fs::write(
        &file,
        "[[realms]]\nname = \"acme\"\n\n  [[realms.users]]\n  username = \"alice\"\n  roles = [\"viewer\"]\n",
    )
    .unwrap();
    assert!(app.cli(&["realm", "import", file.to_str().unwrap()], None).status.success());
    assert_eq!(app.introspect("acme", ("svc", "svc-secret"), &pat).await.json["scope"], "roms.read");
}

fn code_params<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut params = vec![
        ("client_id", "web"),
        ("redirect_uri", "http://127.0.0.1:9/cb"),
        ("response_type", "code"),
        ("scope", "openid"),
    ];
    params.extend_from_slice(extra);
    params
}

async fn sign_in_and_get_id_token(app: &TestApp, browser: &Browser, user: (&str, &str)) -> String {
    let login = browser.get(&auth_url(app, "acme", &code_params(&[]))).await;
    let back = browser.login(&login, user.0, user.1).await;
    let code = back.redirect_params()["code"].clone();
    let tokens = app
        .token(
            "acme",
            Some(("web", "web-secret")),
            &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", "http://127.0.0.1:9/cb")],
        )
        .await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    tokens.str("id_token").to_owned()
}

/// An ID token ends the session it names even from a browser without that
/// session (SPEC §4, as Keycloak's logout without a cookie): whoever holds
/// it may sign its user out of that session, and of nothing else — not the
/// user's other sessions, nor anyone's session with a hint of another.
async fn an_id_token_hint_ends_only_the_session_it_names(app: TestApp) {
    let victim = Browser::new();
    let id_token = sign_in_and_get_id_token(&app, &victim, ("alice", "alice-pw")).await;
    let elsewhere = Browser::new();
    sign_in_and_get_id_token(&app, &elsewhere, ("alice", "alice-pw")).await;
    let stranger = Browser::new();
    let url = format!(
        "{}?{}",
        app.realm_url("acme", "/protocol/openid-connect/logout"),
        serde_urlencoded::to_string([("id_token_hint", id_token.as_str())]).unwrap()
    );
    let page = stranger.get(&url).await;
    assert_eq!(page.status, 200, "signed out, no redirect asked: {}", page.body);
    let ended = victim.get(&auth_url(&app, "acme", &code_params(&[]))).await;
    assert!(ended.is_login_page(), "the named session ended: {}", ended.body);
    let still = elsewhere.get(&auth_url(&app, "acme", &code_params(&[]))).await;
    assert_eq!(still.status, 302, "the user's other session lives on: {}", still.body);
}

async fn a_hint_for_another_user_ends_in_login_required(app: TestApp) {
    let id_token = sign_in_and_get_id_token(&app, &Browser::new(), ("alice", "alice-pw")).await;
    let browser = Browser::new();
    let login =
        browser.get(&auth_url(&app, "acme", &code_params(&[("id_token_hint", &id_token), ("state", "s")]))).await;
    let back = browser.login(&login, "victor", "victor-pw").await;
    let params = back.redirect_params();
    assert_eq!(params["error"], "login_required", "{params:?}");
    assert_eq!(params["state"], "s");

    // In the hinted user's own browser, the failed request leaves that
    // user's session as it was (it did end it, starting the other's).
    let browser = Browser::new();
    let id_token = sign_in_and_get_id_token(&app, &browser, ("alice", "alice-pw")).await;
    let again = [("id_token_hint", id_token.as_str()), ("prompt", "login"), ("state", "s")];
    let login = browser.get(&auth_url(&app, "acme", &code_params(&again))).await;
    let back = browser.login(&login, "victor", "victor-pw").await;
    assert_eq!(back.redirect_params()["error"], "login_required", "{:?}", back.location());
    let silent = [("id_token_hint", id_token.as_str()), ("prompt", "none")];
    let silent = browser.get(&auth_url(&app, "acme", &code_params(&silent))).await;
    assert!(silent.redirect_params().contains_key("code"), "alice is still signed in: {:?}", silent.location());
}

/// Plain OAuth (RFC 6749 §3.1.2.3, §4.1.3) with the client's one registered
/// URI; an OpenID Connect request must name it (see browser_rules).
async fn redirect_uri_may_be_left_out_of_both_requests(app: TestApp) {
    let browser = Browser::new();
    let params = [("client_id", "web"), ("response_type", "code"), ("scope", "roms.write")];
    let login = browser.get(&auth_url(&app, "acme", &params)).await;
    let back = browser.login(&login, "alice", "alice-pw").await;
    assert!(back.location().unwrap().starts_with("http://127.0.0.1:9/cb?"));
    let code = back.redirect_params()["code"].clone();
    let tokens =
        app.token("acme", Some(("web", "web-secret")), &[("grant_type", "authorization_code"), ("code", &code)]).await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);
}

async fn refresh_narrows_when_the_client_loses_a_scope(app: TestApp) {
    let first = app.alice_tokens("openid email roms.read").await;
    let file = app.db.dir.path().join("shrink.toml");
    std::fs::write(
        &file,
        "[[realms]]\nname = \"acme\"\n\n  [[realms.clients]]\n  client_id = \"web\"\n  secret = \"web-secret\"\n  redirect_uris = [\"http://127.0.0.1:9/cb\"]\n  grant_types = [\"authorization_code\", \"refresh_token\", \"password\"]\n  scopes = [\"openid\", \"roms.read\"]\n",
    )
    .unwrap();
    assert!(app.cli(&["realm", "import", file.to_str().unwrap()], None).status.success());
    // Changes reach the server within the change watcher's poll interval.
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let refreshed = app.refresh("acme", ("web", "web-secret"), first.str("refresh_token")).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.json);
    assert_eq!(refreshed.json["scope"], "openid roms.read", "email is gone from the client, so from the grant");
}
