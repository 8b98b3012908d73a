//! Personal access tokens: minted by the CLI and by device pairing, used as
//! Bearer and X-Auth-Token, never above the user's scopes, at most 25.

use serde_json::json;

use crate::both_backends;
use crate::browser::Browser;
use crate::helpers::TestApp;

both_backends!(
    cli_tokens_work_at_the_protected_endpoints,
    personal_tokens_are_bounded,
    device_pairing_yields_a_personal_token
);

fn mint(app: &TestApp, args: &[&str]) -> Result<String, String> {
    let mut all = vec!["token", "add", "--realm", "acme"];
    all.extend_from_slice(args);
    let out = app.cli(&all, None);
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).unwrap().trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn is_pat(token: &str) -> bool {
    token.len() == 44
        && token.starts_with("rgp_")
        && token[4..].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

async fn cli_tokens_work_at_the_protected_endpoints(app: TestApp) {
    let token = mint(&app, &["--user", "alice", "--name", "ci", "--scope", "openid", "--scope", "roms.read"]).unwrap();
    assert!(is_pat(&token), "{token}");
    let info = app.userinfo("acme", &token).await;
    assert_eq!(info.status, 200, "{}", info.json);
    let url = app.realm_url("acme", "/protocol/openid-connect/userinfo");
    let x_auth = app.http.get(&url).header("X-Auth-Token", &token).send().await.unwrap();
    assert_eq!(x_auth.status(), 200);
    let intro = app.introspect("acme", ("svc", "svc-secret"), &token).await;
    assert_eq!(intro.json["active"], true, "{}", intro.json);
    assert_eq!(intro.json["scope"], "openid roms.read");
    assert_eq!(intro.json["username"], "alice");
    assert_eq!(intro.json["client_id"], "personal-access-token", "SPEC §3: every active answer names a client_id");
    assert_eq!(app.userinfo("other", &token).await.status, 401, "another realm");

    // Without openid, userinfo says insufficient_scope.
    let narrow = mint(&app, &["--user", "alice", "--name", "narrow", "--scope", "roms.read"]).unwrap();
    assert_eq!(app.userinfo("acme", &narrow).await.status, 403);

    // Expiry is exact; a token expired at birth is refused.
    let zero = mint(&app, &["--user", "alice", "--name", "zero", "--expires", "0s"]).unwrap_err();
    assert!(zero.contains("--expires 0s"), "{zero}");
    let short = mint(&app, &["--user", "alice", "--name", "short", "--scope", "openid", "--expires", "1m"]).unwrap();
    assert_eq!(app.userinfo("acme", &short).await.status, 200);
    app.clock.advance(62);
    let expired = app.userinfo("acme", &short).await;
    assert_eq!(expired.status, 401);
    assert!(expired.header("www-authenticate").unwrap().contains("invalid_token"));
    assert_eq!(app.introspect("acme", ("svc", "svc-secret"), &short).await.json, json!({"active": false}));
    // A token that looks right but was never issued.
    let forged = format!("rgp_{}", "0".repeat(40));
    assert_eq!(app.userinfo("acme", &forged).await.status, 401);
}

async fn personal_tokens_are_bounded(app: TestApp) {
    let err = mint(&app, &["--user", "victor", "--name", "x", "--scope", "roms.write"]).unwrap_err();
    assert!(err.contains("roms.write"), "scopes never above the user's: {err}");
    let err = mint(&app, &["--user", "nobody", "--name", "x"]).unwrap_err();
    assert!(err.contains("nobody"), "{err}");
    // No --scope: everything the user may have (victor: the built-ins and roms.read).
    let all = mint(&app, &["--user", "victor", "--name", "all"]).unwrap();
    let intro = app.introspect("acme", ("svc", "svc-secret"), &all).await;
    let scope = intro.json["scope"].as_str().unwrap().to_owned();
    assert!(
        scope.contains("roms.read") && !scope.contains("roms.write") && !scope.contains("personal_token"),
        "{scope}"
    );
    for i in 1..25 {
        mint(&app, &["--user", "victor", "--name", &format!("t{i}"), "--scope", "openid"]).unwrap();
    }
    let err = mint(&app, &["--user", "victor", "--name", "t26", "--scope", "openid"]).unwrap_err();
    assert!(err.contains("25"), "the 26th is refused: {err}");

    // A device pairing that could not get its token is refused on the
    // consent page, not shown as connected; the device goes on waiting.
    let start = app
        .post_form(
            "acme",
            "/protocol/openid-connect/auth/device",
            None,
            &[("client_id", "tv"), ("scope", "personal_token openid")],
        )
        .await;
    let browser = Browser::new();
    let page = browser.get(start.str("verification_uri_complete")).await;
    let login = browser.submit(&page.form()).await;
    let consent = browser.login(&login, "victor", "victor-pw").await;
    let refused = browser.decide(&consent, "allow").await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("too many personal access tokens") && !refused.body.contains("Device connected"));
    let poll = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("client_id", "tv"),
        ("device_code", start.str("device_code")),
    ];
    app.token("acme", None, &poll).await.assert_error(400, "authorization_pending");
}

/// Starts a device flow for `tv` asking for `scope` (none if empty), has
/// victor approve it, and polls once; also returns the consent page's text.
async fn approved_device(app: &TestApp, scope: &str) -> (crate::helpers::Answer, String) {
    let mut form = vec![("client_id", "tv")];
    if !scope.is_empty() {
        form.push(("scope", scope));
    }
    let start = app.post_form("acme", "/protocol/openid-connect/auth/device", None, &form).await;
    assert_eq!(start.status, 200, "{}", start.json);
    let browser = Browser::new();
    let page = browser.get(start.str("verification_uri_complete")).await;
    let login = browser.submit(&page.form()).await;
    let consent = browser.login(&login, "victor", "victor-pw").await;
    let done = browser.decide(&consent, "allow").await;
    assert!(done.body.contains("Device connected"), "{}", done.body);
    let tokens = app
        .token(
            "acme",
            None,
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("client_id", "tv"),
                ("device_code", start.str("device_code")),
            ],
        )
        .await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    (tokens, consent.body)
}

async fn device_pairing_yields_a_personal_token(app: TestApp) {
    // A client's name may be longer than a token's: the token's name is
    // shortened to fit (pairing failed after the user was told "connected").
    let master = app.master_token().await;
    let found = app.admin(reqwest::Method::GET, "/realms/acme/clients?clientId=tv", Some(&master), None).await;
    let path = format!("/realms/acme/clients/{}", found.json[0]["id"].as_str().unwrap());
    let long_name = format!("Living-room television {}", "x".repeat(80));
    let body = serde_json::json!({"name": long_name}).to_string();
    assert_eq!(app.admin(reqwest::Method::PUT, &path, Some(&master), Some(&body)).await.status, 204);

    let (tokens, consent) = approved_device(&app, "personal_token openid roms.write").await;
    assert!(consent.contains("personal access token"), "{consent}");
    let token = tokens.str("access_token");
    assert!(is_pat(token), "{token}");
    assert!(tokens.json.get("refresh_token").is_none() && tokens.json.get("expires_in").is_none());
    assert_eq!(tokens.json["scope"], "openid roms.read", "narrowed to victor's roles, without personal_token");
    assert_eq!(app.userinfo("acme", token).await.status, 200);
    // The device signs out as any client does (RFC 7009): the token is dead.
    let revoked =
        app.post_form("acme", "/protocol/openid-connect/revoke", None, &[("client_id", "tv"), ("token", token)]).await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    assert_eq!(app.userinfo("acme", token).await.status, 401);
    assert_eq!(app.introspect("acme", ("svc", "svc-secret"), token).await.json, serde_json::json!({"active": false}));

    // A device that asks for no scope gets the client's others, and no pairing.
    let (tokens, consent) = approved_device(&app, "").await;
    assert!(!consent.contains("personal access token"), "{consent}");
    assert!(!is_pat(tokens.str("access_token")), "{}", tokens.json);
    assert!(tokens.json["refresh_token"].is_string() && tokens.json["id_token"].is_string(), "{}", tokens.json);
    assert!(!tokens.json["scope"].as_str().unwrap().contains("personal_token"), "{}", tokens.json);
}

both_backends!(query_tokens_and_basic_only_where_the_realm_allows);

async fn query_tokens_and_basic_only_where_the_realm_allows(app: TestApp) {
    use base64::Engine;
    let basic = |user: &str, password: &str| {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
    };
    // acme allows neither.
    let acme = app.realm_url("acme", "/protocol/openid-connect/userinfo");
    let refused = app.http.get(&acme).header("authorization", basic("alice", "alice-pw")).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    assert!(refused.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"), "{:?}", refused.headers());

    let missing = app.http.get(&acme).send().await.unwrap();
    assert!(!missing.headers()["www-authenticate"].to_str().unwrap().contains("Basic"), "{:?}", missing.headers());

    // other allows both, and says so to a request without credentials.
    let url = app.realm_url("other", "/protocol/openid-connect/userinfo");
    let missing = app.http.get(&url).send().await.unwrap();
    let challenge = missing.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(
        challenge.starts_with("Bearer realm=\"other\"") && challenge.ends_with(", Basic realm=\"other\""),
        "{challenge}"
    );
    let ok = app.http.get(&url).header("authorization", basic("ALICE", "other-pw")).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    let wrong = app.http.get(&url).header("authorization", basic("alice", "nope")).send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers()["www-authenticate"].to_str().unwrap().starts_with("Basic realm=\"other\""));

    let out = app
        .cli(&["token", "add", "--realm", "other", "--user", "alice", "--name", "script", "--scope", "openid"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let pat = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let as_password = app.http.get(&url).header("authorization", basic("alice", &pat)).send().await.unwrap();
    assert_eq!(as_password.status(), 200);
    let other_user = app.http.get(&url).header("authorization", basic("bob", &pat)).send().await.unwrap();
    assert_eq!(other_user.status(), 401);
    // A PAT of realm `other` means nothing in `acme`.
    assert_eq!(app.userinfo("acme", &pat).await.status, 401);

    let tokens = app.password_grant("other", ("svc", "svc-secret"), ("alice", "other-pw"), "openid").await;
    let token = tokens.str("access_token");
    for name in ["access_token", "bearer_token"] {
        let answer = app.http.get(format!("{url}?{name}={token}")).send().await.unwrap();
        assert_eq!(answer.status(), 200, "{name}");
    }
    let pat_in_query = app.http.get(format!("{url}?access_token={pat}")).send().await.unwrap();
    assert_eq!(pat_in_query.status(), 200);
}
