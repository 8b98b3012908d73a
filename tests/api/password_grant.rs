use crate::both_backends;
use crate::helpers::{TestApp, jwt_parts};

both_backends!(
    password_grant_issues_rfc9068_tokens,
    id_token_only_with_openid,
    wrong_passwords_are_invalid_grant,
    grants_need_registration,
    client_credentials_tokens_describe_the_client,
    ten_wrong_passwords_stop_the_guessing_for_a_while
);

/// Brute-force protection: after ten wrong passwords in fifteen minutes a
/// user's sign-ins are refused (as a wrong password is, after the same
/// stand-in hash an unknown user costs, so the time of the answer does not
/// tell a locked-out name from an unknown one) until the window ends; a
/// right password before that starts the count anew.
async fn ten_wrong_passwords_stop_the_guessing_for_a_while(app: TestApp) {
    let web = ("web", "web-secret");
    let attempt = |password: &'static str| app.password_grant("acme", web, ("victor", password), "");
    for _ in 0..9 {
        attempt("guess").await.assert_error(400, "invalid_grant");
    }
    assert_eq!(attempt("victor-pw").await.status, 200, "nine wrong ones lock nothing");
    for _ in 0..10 {
        attempt("guess").await.assert_error(400, "invalid_grant");
    }
    let checks_before = password_checks(&app).await;
    let locked = attempt("victor-pw").await;
    locked.assert_error(400, "invalid_grant");
    assert_eq!(locked.json, attempt("guess").await.json, "the same answer as a wrong password");
    let unknown = app.password_grant("acme", web, ("nobody", "guess"), "").await;
    assert_eq!(unknown.json, locked.json, "the same answer as an unknown user");
    assert_eq!(password_checks(&app).await - checks_before, 3, "each refusal costs one hash, as an unknown user's");
    // The login form and other users are held to the same rule, each user alone.
    let browser = crate::browser::Browser::new();
    let page = browser.get(&crate::browser::auth_url(&app, "acme", &crate::browser_rules::WEB_REQUEST)).await;
    assert!(browser.login(&page, "victor", "victor-pw").await.is_login_page(), "refused on the form too");
    assert_eq!(app.password_grant("acme", web, ("alice", "alice-pw"), "").await.status, 200);

    app.clock.advance(15 * 60 + 1);
    assert_eq!(attempt("victor-pw").await.status, 200, "after the window");
}

async fn password_grant_issues_rfc9068_tokens(app: TestApp) {
    let answer = app.alice_tokens("openid profile email roms.write").await;
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    assert_eq!(answer.json["token_type"], "Bearer");
    assert_eq!(answer.json["expires_in"], 300);
    assert_eq!(answer.json["scope"], "email openid profile roms.read roms.write");
    assert!(answer.json["refresh_token"].is_string());
    let refresh = answer.str("refresh_token");
    assert!(refresh.len() >= 22 && !refresh.contains('.'), "opaque, at least 128 bits");

    let (header, claims) = jwt_parts(answer.str("access_token"));
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "RS256");
    assert!(header["kid"].is_string());
    for claim in ["iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope"] {
        assert!(!claims[claim].is_null(), "{claim} missing: {claims}");
    }
    assert_eq!(claims["iss"], app.issuer("acme"));
    assert_eq!(claims["client_id"], "web");
    // Keycloak's claims, which many resource servers read.
    assert_eq!(claims["azp"], "web");
    assert_eq!(claims["realm_access"], serde_json::json!({"roles": ["editor"]}));
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 300);

    let (id_header, id) = jwt_parts(answer.str("id_token"));
    assert_eq!(id_header["kid"], header["kid"]);
    assert_eq!(id["aud"], "web");
    assert_eq!(id["azp"], "web");
    assert_eq!(id["sub"], claims["sub"]);
    assert_eq!(id["email"], "alice@example.com");
    assert_eq!(id["name"], "Alice Liddell");
    assert!(id["at_hash"].is_string() && id["auth_time"].is_i64());
}

async fn id_token_only_with_openid(app: TestApp) {
    let answer = app.alice_tokens("roms.read").await;
    assert!(answer.json.get("id_token").is_none(), "{}", answer.json);
    let answer = app.alice_tokens("openid").await;
    let (_, id) = jwt_parts(answer.str("id_token"));
    assert!(id.get("email").is_none(), "email claims need the email scope");
}

async fn wrong_passwords_are_invalid_grant(app: TestApp) {
    let wrong = app.password_grant("acme", ("web", "web-secret"), ("alice", "nope"), "").await;
    wrong.assert_error(400, "invalid_grant");
    let unknown = app.password_grant("acme", ("web", "web-secret"), ("nobody", "nope"), "").await;
    unknown.assert_error(400, "invalid_grant");
    assert_eq!(wrong.json, unknown.json, "unknown users look like wrong passwords");
    // alice of realm `other` has another password.
    let foreign = app.password_grant("acme", ("web", "web-secret"), ("alice", "other-pw"), "").await;
    foreign.assert_error(400, "invalid_grant");
    let missing =
        app.token("acme", Some(("web", "web-secret")), &[("grant_type", "password"), ("username", "alice")]).await;
    missing.assert_error(400, "invalid_request");
    // Usernames are case-insensitive; email works as a login name too.
    let upper = app.password_grant("acme", ("web", "web-secret"), ("ALICE", "alice-pw"), "").await;
    assert_eq!(upper.status, 200, "{}", upper.json);
    let by_email = app.password_grant("acme", ("web", "web-secret"), ("Alice@Example.COM", "alice-pw"), "").await;
    assert_eq!(by_email.status, 200, "addresses are case-insensitive: {}", by_email.json);
    // A user named as alice's address does not shadow her sign-in by
    // address (Keycloak looks a login with `@` up as an address first).
    let master = app.master_token().await;
    let body = serde_json::json!({"username": "alice@example.com", "enabled": true,
        "credentials": [{"type": "password", "value": "squatter-pw", "temporary": false}]});
    let made = app.admin(reqwest::Method::POST, "/realms/acme/users", Some(&master), Some(&body.to_string())).await;
    assert_eq!(made.status, 201, "{}", made.text);
    let by_email = app.password_grant("acme", ("web", "web-secret"), ("alice@example.com", "alice-pw"), "").await;
    assert_eq!(by_email.status, 200, "{}", by_email.json);
    // A realm that does not allow sign-in by address (Keycloak's setting):
    // the login is a username only, the squatter's.
    let off = r#"{"loginWithEmailAllowed": false}"#;
    assert_eq!(app.admin(reqwest::Method::PUT, "/realms/acme", Some(&master), Some(off)).await.status, 204);
    let by_email = app.password_grant("acme", ("web", "web-secret"), ("alice@example.com", "alice-pw"), "").await;
    by_email.assert_error(400, "invalid_grant");
    let squatter = app.password_grant("acme", ("web", "web-secret"), ("alice@example.com", "squatter-pw"), "").await;
    assert_eq!(squatter.status, 200, "{}", squatter.json);
}

async fn grants_need_registration(app: TestApp) {
    let cc = app.client_credentials("acme", "web", "web-secret", None).await;
    cc.assert_error(400, "unauthorized_client");
    let pw = app.password_grant("acme", ("svc", "svc-secret"), ("alice", "alice-pw"), "").await;
    pw.assert_error(400, "unauthorized_client");
    let unknown = app.token("acme", Some(("svc", "svc-secret")), &[("grant_type", "urn:example:magic")]).await;
    unknown.assert_error(400, "unsupported_grant_type");
    let missing = app.token("acme", Some(("svc", "svc-secret")), &[("scope", "roms.read")]).await;
    missing.assert_error(400, "invalid_request");
}

async fn client_credentials_tokens_describe_the_client(app: TestApp) {
    let answer = app.client_credentials("acme", "svc", "svc-secret", None).await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert!(answer.json.get("refresh_token").is_none(), "no refresh token for client_credentials");
    assert!(answer.json.get("id_token").is_none());
    assert_eq!(answer.json["scope"], "roms.read roms.write");
    let (_, claims) = jwt_parts(answer.str("access_token"));
    assert_eq!(claims["client_id"], "svc");
    assert_eq!(claims["azp"], "svc");
    assert!(claims.get("preferred_username").is_none());
    assert!(claims.get("realm_access").is_none(), "a client holds no realm roles: {claims}");

    let es = app.client_credentials("other", "svc", "svc-secret", Some("openid")).await;
    assert_eq!(es.status, 200, "{}", es.json);
    let (header, claims) = jwt_parts(es.str("access_token"));
    assert_eq!(header["alg"], "ES256");
    assert_eq!(claims["iss"], app.issuer("other"));
}

/// A login storm queues on the password-hashing threads; token requests
/// that need no hash keep being answered meanwhile, not after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_storm_does_not_starve_token_requests() {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    let app = Arc::new(crate::helpers::spawn_app(crate::helpers::Backend::Sqlite).await.expect("SQLite app"));
    // Warm up: the realm and the client are loaded, the first key used.
    assert_eq!(app.client_credentials("acme", "svc", "svc-secret", None).await.status, 200);

    const LOGINS: usize = 48;
    let storm_started = Instant::now();
    let logins: Vec<_> = (0..LOGINS)
        .map(|_| {
            let app = Arc::clone(&app);
            tokio::spawn(async move {
                app.password_grant("acme", ("web", "web-secret"), ("alice", "alice-pw"), "openid").await.status
            })
        })
        .collect();
    let storm = tokio::spawn(async move {
        let mut statuses = Vec::new();
        for login in logins {
            statuses.push(login.await.unwrap());
        }
        (statuses, storm_started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(20)).await;

    let mut slowest = Duration::ZERO;
    let mut answered_during_storm = 0;
    while !storm.is_finished() {
        let started = Instant::now();
        let answer = app.client_credentials("acme", "svc", "svc-secret", None).await;
        assert_eq!(answer.status, 200, "{}", answer.json);
        slowest = slowest.max(started.elapsed());
        answered_during_storm += 1;
    }
    let (statuses, storm_took) = storm.await.unwrap();
    assert!(statuses.iter().all(|s| *s == 200), "every login of the storm succeeds in the end: {statuses:?}");
    // Each login costs an argon2id hash (m=19 MiB, t=2): with one hashing
    // thread per core, 48 of them take many times a token request.
    assert!(answered_during_storm >= 5, "{answered_during_storm} token requests answered in {storm_took:?}");
    assert!(
        slowest < storm_took / 4,
        "a token request waited {slowest:?} during a storm of {storm_took:?}: hashing blocks request threads"
    );
}

/// The server's count of password hashes checked (`/metrics`).
async fn password_checks(app: &TestApp) -> u64 {
    let metrics = app.get(&format!("{}/metrics", app.base)).await.text;
    let line = metrics.lines().find(|l| l.starts_with("realmgate_password_checks_total ")).expect("the counter");
    line.rsplit(' ').next().unwrap().parse().unwrap()
}
