//! The account API and page: personal tokens, sessions and consents of the
//! signed-in user, guarded by `account.read` / `account.write`.

use serde_json::{Value, json};

use crate::both_backends;
use crate::browser::{Browser, CHALLENGE, VERIFIER, auth_url};
use crate::helpers::TestApp;

both_backends!(
    the_account_api_manages_tokens,
    the_account_api_manages_sessions_and_consents,
    the_account_page_works_in_a_browser
);

async fn cli_token(app: &TestApp, user: (&str, &str), scope: &str) -> String {
    let form = [
        ("grant_type", "password"),
        ("client_id", "cli"),
        ("username", user.0),
        ("password", user.1),
        ("scope", scope),
    ];
    let answer = app.token("acme", None, &form).await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    answer.str("access_token").to_owned()
}

async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value, Option<String>) {
    let mut request =
        app.http.request(method, app.realm_url("acme", &format!("/account/api{path}"))).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let challenge = response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null), challenge)
}

async fn the_account_api_manages_tokens(app: TestApp) {
    use reqwest::Method;
    let reader = cli_token(&app, ("alice", "alice-pw"), "openid account.read").await;
    let writer = cli_token(&app, ("alice", "alice-pw"), "openid roms.read account.read account.write").await;
    let neither = cli_token(&app, ("alice", "alice-pw"), "openid").await;

    let (status, _, challenge) = call(&app, Method::GET, "/tokens", &neither, None).await;
    assert_eq!(status, 403);
    assert!(challenge.unwrap().contains("insufficient_scope"));
    let (status, _, challenge) = call(&app, Method::GET, "/tokens", "garbage", None).await;
    assert_eq!(status, 401);
    assert!(challenge.unwrap().contains("invalid_token"));
    let (status, body, _) = call(&app, Method::GET, "/tokens", &reader, None).await;
    assert_eq!((status, body), (200, json!([])));
    let (status, _, _) = call(&app, Method::POST, "/tokens", &reader, Some(json!({"name": "x"}))).await;
    assert_eq!(status, 403, "creating needs account.write");

    let (status, created, _) = call(
        &app,
        Method::POST,
        "/tokens",
        &writer,
        Some(json!({"name": "laptop", "scope": "openid roms.read", "expires_in": 3600})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let pat = created["token"].as_str().unwrap().to_owned();
    assert!(pat.starts_with("rgp_") && pat.len() == 44);
    assert_eq!(created["scope"], "openid roms.read");
    let (_, listed, _) = call(&app, Method::GET, "/tokens", &reader, None).await;
    assert_eq!(listed[0]["name"], "laptop");
    assert!(listed[0].get("token").is_none(), "the secret is shown once only");
    assert_eq!(app.userinfo("acme", &pat).await.status, 200);

    // A personal token is a credential for the API too, with its own scopes.
    let (status, _, _) = call(&app, Method::GET, "/tokens", &pat, None).await;
    assert_eq!(status, 403, "the laptop token has no account.read");

    let (status, _, _) =
        call(&app, Method::POST, "/tokens", &writer, Some(json!({"name": "big", "scope": "roms.delete"}))).await;
    assert_eq!(status, 400);
    let (status, _, _) = call(&app, Method::POST, "/tokens", &writer, Some(json!({"nom": "x"}))).await;
    assert_eq!(status, 400);
    // serde reads a struct from an array too: only an object is a token request.
    let (status, _, _) = call(&app, Method::POST, "/tokens", &writer, Some(json!(["arr", null, null]))).await;
    assert_eq!(status, 400);

    let id = created["id"].as_str().unwrap();
    let (status, _, _) = call(&app, Method::DELETE, &format!("/tokens/{id}"), &writer, None).await;
    assert_eq!(status, 204);
    assert_eq!(app.userinfo("acme", &pat).await.status, 401, "revoked");
    let (status, _, _) = call(&app, Method::DELETE, &format!("/tokens/{id}"), &writer, None).await;
    assert_eq!(status, 404);
    // An expired token is not listed, and not there to revoke either.
    let short = json!({"name": "short", "expires_in": 60});
    let (_, created, _) = call(&app, Method::POST, "/tokens", &writer, Some(short)).await;
    app.clock.advance(61);
    let writer = cli_token(&app, ("alice", "alice-pw"), "account.read account.write").await;
    let path = format!("/tokens/{}", created["id"].as_str().unwrap());
    assert_eq!(call(&app, Method::DELETE, &path, &writer, None).await.0, 404);
    // Another user cannot revoke alice's tokens.
    let (_, created, _) = call(&app, Method::POST, "/tokens", &writer, Some(json!({"name": "keep"}))).await;
    // Nor does a token made with a short-lived credential outlive it: not
    // this one, made with an access token, nor one made with a personal
    // token that expires (an application given account.write cannot leave
    // a lasting credential behind).
    let writer_exp = crate::helpers::jwt_parts(&writer).1["exp"].clone();
    assert_eq!(created["expires_at"], writer_exp, "{created}");
    let brief = json!({"name": "brief", "scope": "account.write", "expires_in": 120});
    let (_, brief, _) = call(&app, Method::POST, "/tokens", &writer, Some(brief)).await;
    let brief_ends = brief["expires_at"].as_i64().unwrap();
    let forever = json!({"name": "forever"});
    let (status, derived, _) =
        call(&app, Method::POST, "/tokens", brief["token"].as_str().unwrap(), Some(forever)).await;
    assert_eq!(status, 201, "{derived}");
    assert_eq!(derived["expires_at"].as_i64(), Some(brief_ends), "{derived}");
    let victor = cli_token(&app, ("victor", "victor-pw"), "account.write").await;
    let (status, _, _) =
        call(&app, Method::DELETE, &format!("/tokens/{}", created["id"].as_str().unwrap()), &victor, None).await;
    assert_eq!(status, 404);
}

async fn the_account_api_manages_sessions_and_consents(app: TestApp) {
    use reqwest::Method;
    let browser = Browser::new();
    let params = [
        ("client_id", "spa"),
        ("redirect_uri", "http://127.0.0.1:9/spa"),
        ("response_type", "code"),
        ("scope", "openid"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    let login = browser.get(&auth_url(&app, "acme", &params)).await;
    let consent = browser.login(&login, "alice", "alice-pw").await;
    let back = browser.decide(&consent, "allow").await;
    assert_eq!(back.status, 302);
    let code = back.redirect_params()["code"].clone();
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", "spa"),
        ("code", code.as_str()),
        ("redirect_uri", "http://127.0.0.1:9/spa"),
        ("code_verifier", VERIFIER),
    ];
    let granted = app.token("acme", None, &form).await;
    assert_eq!(granted.status, 200, "{}", granted.json);

    // An implicit token of the same consent, which has no refresh family.
    let implicit = [
        ("client_id", "spa"),
        ("redirect_uri", "http://127.0.0.1:9/spa"),
        ("response_type", "token"),
        ("scope", "openid"),
    ];
    let front = browser.get(&auth_url(&app, "acme", &implicit)).await;
    let implicit_token = front.redirect_params()["access_token"].clone();
    assert_eq!(app.introspect("acme", ("svc", "svc-secret"), &implicit_token).await.json["active"], true);

    let token = cli_token(&app, ("alice", "alice-pw"), "account.read account.write").await;
    let (_, consents, _) = call(&app, Method::GET, "/consents", &token, None).await;
    assert_eq!(consents[0]["client_id"], "spa", "{consents}");
    assert_eq!(consents[0]["client_name"], "Photo Gallery");
    let (status, _, _) = call(&app, Method::DELETE, "/consents/spa", &token, None).await;
    assert_eq!(status, 204);
    let event = app.stored_event("acme", "REVOKE_GRANT", |e| e["details"]["revoked_client"] == "spa").await;
    assert_eq!(event["ipAddress"], "127.0.0.1", "{event}");
    let again = browser.get(&auth_url(&app, "acme", &params)).await;
    assert!(again.is_consent_page(), "consent was forgotten");
    // And the application lost what the consent gave it (Keycloak).
    let form = [("grant_type", "refresh_token"), ("client_id", "spa"), ("refresh_token", granted.str("refresh_token"))];
    app.token("acme", None, &form).await.assert_error(400, "invalid_grant");
    let access = app.introspect("acme", ("svc", "svc-secret"), granted.str("access_token")).await;
    assert_eq!(access.json, json!({"active": false}));
    let access = app.introspect("acme", ("svc", "svc-secret"), &implicit_token).await;
    assert_eq!(access.json, json!({"active": false}), "tokens without a refresh family too");

    // A code grant without refresh tokens (hybrid's client has none) in the
    // same browser session: its access token ends with the session.
    let hybrid = [
        ("client_id", "hybrid"),
        ("redirect_uri", "http://127.0.0.1:9/hybrid"),
        ("response_type", "code"),
        ("scope", "openid"),
    ];
    let back = browser.get(&auth_url(&app, "acme", &hybrid)).await;
    let code = back.redirect_params()["code"].clone();
    let form =
        [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", "http://127.0.0.1:9/hybrid")];
    let no_refresh = app.token("acme", Some(("hybrid", "hybrid-secret")), &form).await;
    assert!(no_refresh.json.get("refresh_token").is_none(), "{}", no_refresh.json);
    let no_refresh = no_refresh.str("access_token").to_owned();
    assert_eq!(app.introspect("acme", ("svc", "svc-secret"), &no_refresh).await.json["active"], true);

    // The browser's session, and the command line's password grant as a
    // session of its own (Keycloak's account console lists both).
    let (_, sessions, _) = call(&app, Method::GET, "/sessions", &token, None).await;
    let listed = sessions.as_array().unwrap();
    assert_eq!(listed.len(), 2, "{sessions}");
    let browser_session = listed.iter().find(|s| s.get("client_id").is_none()).expect("the browser's");
    let grant = listed.iter().find(|s| s["client_id"] == "cli").expect("the command line's grant");
    for session in [browser_session, grant] {
        assert_eq!(session["ip_address"], "127.0.0.1", "{sessions}");
    }
    let (status, _, _) =
        call(&app, Method::DELETE, &format!("/sessions/{}", grant["id"].as_str().unwrap()), &token, None).await;
    assert_eq!(status, 204);
    let gone = app.introspect("acme", ("svc", "svc-secret"), &token).await;
    assert_eq!(gone.json, json!({"active": false}), "the grant's tokens went with it");
    let token = cli_token(&app, ("alice", "alice-pw"), "account.read account.write").await;
    let id = browser_session["id"].as_str().unwrap();
    let (status, _, _) = call(&app, Method::DELETE, &format!("/sessions/{id}"), &token, None).await;
    assert_eq!(status, 204);
    let after = browser.get(&auth_url(&app, "acme", &params)).await;
    assert!(after.is_login_page(), "the session was ended");
    let access = app.introspect("acme", ("svc", "svc-secret"), &no_refresh).await;
    assert_eq!(access.json, json!({"active": false}), "the session's code grant without refresh tokens too");
}

async fn the_account_page_works_in_a_browser(app: TestApp) {
    let browser = Browser::new();
    let url = app.realm_url("acme", "/account");
    let login = browser.get(&url).await;
    assert!(login.body.contains("your account"), "{}", login.body);
    let back = browser.login(&login, "alice", "alice-pw").await;
    assert_eq!(back.status, 303);
    assert_eq!(back.location(), Some(url.as_str()));
    let page = browser.get(&url).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("alice") && page.body.contains("this browser"), "{}", page.body);
    assert!(page.body.contains("from 127.0.0.1"), "where the session began: {}", page.body);
    let with_slash = browser.get(&format!("{url}/")).await;
    assert_eq!(with_slash.status, 200, "Keycloak's account URL ends in a slash");
    assert!(with_slash.body.contains("this browser"), "{}", with_slash.body);
    assert_eq!(page.header("cache-control"), Some("no-store"));

    // Create a token with the form: shown once.
    let create = crate::browser::Page { status: page.status, headers: page.headers.clone(), body: page.body.clone() };
    let mut form = forms(&create).into_iter().find(|f| f.fields.contains_key("name")).unwrap();
    form.fields.insert("name".into(), "from the page".into());
    form.fields.insert("scope".into(), "openid".into());
    form.fields.insert("action".into(), "create-token".into());
    // Post, redirect, get: a reload of the page that shows the token does
    // not post the form (and mint a token) again.
    let created = browser.submit(&form).await;
    assert_eq!(created.status, 303, "{}", created.body);
    let shown = browser.get(&url).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    let token = shown.text("#new-token").unwrap();
    assert!(token.starts_with("rgp_"), "{token}");
    assert_eq!(app.userinfo("acme", &token).await.status, 200);
    let reloaded = browser.get(&url).await;
    assert!(reloaded.body.contains("from the page") && !reloaded.body.contains(&token), "shown once");
    // The same form sent again (a double click) mints no second token,
    // whose secret nobody would see.
    let again = browser.submit(&form).await;
    assert_eq!(again.status, 400, "{}", again.body);
    assert!(again.body.contains("already submitted"), "{}", again.body);
    assert_eq!(browser.get(&url).await.body.matches("from the page").count(), 1, "one token");

    // Revoke it with its form.
    let mut revoke = forms(&reloaded).into_iter().find(|f| f.fields.contains_key("id")).unwrap();
    revoke.fields.insert("action".into(), "revoke-token".into());
    assert_eq!(browser.submit(&revoke).await.status, 303);
    assert_eq!(app.userinfo("acme", &token).await.status, 401);

    // Without the CSRF token nothing happens.
    let mut forged = forms(&reloaded).into_iter().find(|f| f.fields.contains_key("name")).unwrap();
    forged.fields.remove("csrf");
    forged.fields.insert("name".into(), "forged".into());
    forged.fields.insert("action".into(), "create-token".into());
    assert_eq!(browser.submit(&forged).await.status, 400);

    // Sign out everywhere: this browser, another one, a password grant;
    // an offline token lives on.
    let other = Browser::new();
    let elsewhere = other.login(&other.get(&url).await, "alice", "alice-pw").await;
    assert_eq!(elsewhere.status, 303);
    let grant = app.alice_tokens("openid").await;
    let offline = app.alice_tokens("openid offline_access").await;
    let page = browser.get(&url).await;
    let all = forms(&page)
        .into_iter()
        .find(|f| !f.fields.contains_key("id") && !f.fields.contains_key("name"))
        .expect("the sign-out-everywhere form");
    let mut all = all;
    all.fields.insert("action".into(), "end-all-sessions".into());
    assert_eq!(browser.submit(&all).await.status, 303);
    assert!(browser.get(&url).await.body.contains("your account"), "this browser signs in again");
    assert!(other.get(&url).await.body.contains("your account"), "and so does the other");
    app.refresh("acme", ("web", "web-secret"), grant.str("refresh_token")).await.assert_error(400, "invalid_grant");
    let kept = app.refresh("acme", ("web", "web-secret"), offline.str("refresh_token")).await;
    assert_eq!(kept.status, 200, "{}", kept.json);
    // The offline access of a client that asks no consent is listed with
    // the applications allowed, and withdrawn there.
    let browser = Browser::new();
    let page = browser.login(&browser.get(&url).await, "alice", "alice-pw").await;
    assert_eq!(page.status, 303);
    let page = browser.get(&url).await;
    assert!(page.body.contains("Web app") && page.body.contains("offline_access"), "{}", page.body);
    let mut revoke = forms(&page).into_iter().find(|f| f.fields.get("id").is_some_and(|id| id == "web")).unwrap();
    revoke.fields.insert("action".into(), "revoke-consent".into());
    assert_eq!(browser.submit(&revoke).await.status, 303);
    app.refresh("acme", ("web", "web-secret"), kept.str("refresh_token")).await.assert_error(400, "invalid_grant");
    assert!(!browser.get(&url).await.body.contains("Web app"), "nothing left to withdraw");
    // A browser sign-out, in the audit log (as the logout endpoint's are).
    let master = app.master_token().await;
    let mut logged = false;
    for _ in 0..100 {
        let events = app.admin(reqwest::Method::GET, "/realms/acme/events?type=LOGOUT", Some(&master), None).await;
        if events.json.as_array().is_some_and(|all| all.iter().any(|e| e["ipAddress"] == "127.0.0.1")) {
            logged = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(logged, "no LOGOUT event with the caller's address");
}

/// Every post form of a page.
fn forms(page: &crate::browser::Page) -> Vec<crate::browser::Form> {
    let html = scraper::Html::parse_document(&page.body);
    let form_sel = scraper::Selector::parse("form[method=post]").unwrap();
    let input_sel = scraper::Selector::parse("input[name]").unwrap();
    html.select(&form_sel)
        .map(|form| crate::browser::Form {
            action: form.value().attr("action").unwrap_or_default().to_owned(),
            fields: form
                .select(&input_sel)
                .map(|i| {
                    (i.value().attr("name").unwrap().to_owned(), i.value().attr("value").unwrap_or_default().to_owned())
                })
                .collect(),
        })
        .collect()
}
