//! The device authorization grant (RFC 8628): the test plays both the
//! device (polling) and the user (a browser filling the device, login and
//! consent forms).

use crate::both_backends;
use crate::browser::{Browser, Page};
use crate::helpers::{Answer, TestApp, jwt_parts};

both_backends!(
    a_device_is_approved_and_gets_tokens_once,
    an_administrators_sign_out_withdraws_an_approved_device,
    denial_and_expiry_reach_the_device,
    parallel_polls_are_judged_one_after_another,
    wrong_codes_are_rate_limited
);

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

async fn start(app: &TestApp, scope: &str) -> Answer {
    let answer = app
        .post_form("acme", "/protocol/openid-connect/auth/device", None, &[("client_id", "tv"), ("scope", scope)])
        .await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    answer
}

async fn poll(app: &TestApp, device_code: &str) -> Answer {
    app.token("acme", None, &[("grant_type", DEVICE_GRANT), ("client_id", "tv"), ("device_code", device_code)]).await
}

async fn enter_code(browser: &Browser, app: &TestApp, code: &str) -> Page {
    let page = browser.get(&app.realm_url("acme", "/device/")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let mut form = page.form();
    form.fields.insert("user_code".into(), code.into());
    browser.submit(&form).await
}

async fn a_device_is_approved_and_gets_tokens_once(app: TestApp) {
    let start = start(&app, "openid roms.write").await;
    let d = &start.json;
    assert_eq!(start.header("cache-control"), Some("no-store"));
    let user_code = d["user_code"].as_str().unwrap().to_owned();
    assert_eq!(user_code.len(), 9);
    assert_eq!(&user_code[4..5], "-");
    assert!(user_code.replace('-', "").bytes().all(|b| b"BCDFGHJKLMNPQRSTVWXZ".contains(&b)), "{user_code}");
    assert_eq!(d["verification_uri"], app.realm_url("acme", "/device"));
    assert_eq!(d["verification_uri_complete"], format!("{}?user_code={user_code}", app.realm_url("acme", "/device")));
    assert_eq!(d["expires_in"], 600);
    assert_eq!(d["interval"], 5);
    let device_code = d["device_code"].as_str().unwrap().to_owned();
    assert!(device_code.len() >= 22 && !device_code.contains('.'));

    // The device polls: pending, then too fast, and the interval grows by 5 s.
    poll(&app, &device_code).await.assert_error(400, "authorization_pending");
    poll(&app, &device_code).await.assert_error(400, "slow_down");
    app.clock.advance(6);
    poll(&app, &device_code).await.assert_error(400, "slow_down");
    // Now 15 s: each slow_down added 5 s for all later polls.
    app.clock.advance(12);
    poll(&app, &device_code).await.assert_error(400, "slow_down");
    app.clock.advance(20);
    poll(&app, &device_code).await.assert_error(400, "authorization_pending");

    // The user: the complete URI pre-fills the code; typing is case- and dash-insensitive.
    let browser = Browser::new();
    let prefilled = browser.get(d["verification_uri_complete"].as_str().unwrap()).await;
    assert_eq!(prefilled.form().fields["user_code"], user_code);
    let login = enter_code(&browser, &app, &user_code.replace('-', "").to_lowercase()).await;
    let consent = browser.login(&login, "alice", "alice-pw").await;
    assert!(consent.is_consent_page(), "{}", consent.body);
    assert!(consent.body.contains("Living-room TV"));
    assert!(consent.body.contains("Change your ROM library"));
    let done = browser.decide(&consent, "allow").await;
    assert_eq!(done.status, 200);
    assert!(done.body.contains("Device connected"), "{}", done.body);

    // Too soon is slow_down even once the user has approved (20 s since the last poll).
    app.clock.advance(10);
    poll(&app, &device_code).await.assert_error(400, "slow_down");
    app.clock.advance(25);
    let tokens = poll(&app, &device_code).await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    assert_eq!(tokens.json["scope"], "openid roms.read roms.write");
    assert!(tokens.json["id_token"].is_string() && tokens.json["refresh_token"].is_string());
    assert_eq!(app.userinfo("acme", tokens.str("access_token")).await.status, 200);
    let (_, access) = jwt_parts(tokens.str("access_token"));
    assert_eq!(access["realm_access"], serde_json::json!({"roles": ["editor"]}), "{access}");
    app.clock.advance(20);
    poll(&app, &device_code).await.assert_error(400, "invalid_grant");
    // The code cannot be entered again either.
    let again = enter_code(&browser, &app, &user_code).await;
    assert!(again.body.contains("not valid"), "{}", again.body);
}

/// A device the user approved but that has not polled yet gets nothing once
/// an administrator signs the user out (Keycloak: the session it would
/// belong to has ended), as a code not yet redeemed.
async fn an_administrators_sign_out_withdraws_an_approved_device(app: TestApp) {
    let started = start(&app, "openid").await;
    let device_code = started.str("device_code").to_owned();
    let browser = Browser::new();
    let login = enter_code(&browser, &app, started.str("user_code")).await;
    let consent = browser.login(&login, "alice", "alice-pw").await;
    assert!(browser.decide(&consent, "allow").await.body.contains("Device connected"));
    let master = app.master_token().await;
    let found =
        app.admin(reqwest::Method::GET, "/realms/acme/users?username=alice&exact=true", Some(&master), None).await;
    let logout = format!("/realms/acme/users/{}/logout", found.json[0]["id"].as_str().unwrap());
    assert_eq!(app.admin(reqwest::Method::POST, &logout, Some(&master), None).await.status, 204);
    let refused = poll(&app, &device_code).await;
    refused.assert_error(400, "invalid_grant");
    assert_eq!(refused.json["error_description"], "Session not active");
    app.clock.advance(10);
    poll(&app, &device_code).await.assert_error(400, "invalid_grant");
}

/// Polls that arrive together are judged in turn: one is the first poll,
/// every other is too soon, and each `slow_down` adds to the interval the
/// one before left (on PostgreSQL two polls once both read the code as never
/// polled, and their intervals overwrote each other).
async fn parallel_polls_are_judged_one_after_another(app: TestApp) {
    let started = start(&app, "openid").await;
    let device_code = started.str("device_code");
    let interval = started.json["interval"].as_i64().unwrap();
    let answers = futures_util::future::join_all((0..8).map(|_| poll(&app, device_code))).await;
    let errors: Vec<&str> = answers.iter().map(|a| a.json["error"].as_str().unwrap_or("none")).collect();
    assert_eq!(errors.iter().filter(|e| **e == "authorization_pending").count(), 1, "{errors:?}");
    assert_eq!(errors.iter().filter(|e| **e == "slow_down").count(), 7, "{errors:?}");
    // The interval is now interval + 7 × 5 s: a poll just short of it is too soon.
    app.clock.advance(interval + 7 * 5 - 1);
    poll(&app, device_code).await.assert_error(400, "slow_down");
}

async fn denial_and_expiry_reach_the_device(app: TestApp) {
    let browser = Browser::new();
    let first = start(&app, "openid").await;
    let login = enter_code(&browser, &app, first.str("user_code")).await;
    let consent = browser.login(&login, "victor", "victor-pw").await;
    let done = browser.decide(&consent, "deny").await;
    assert!(done.body.contains("Request denied"), "{}", done.body);
    poll(&app, first.str("device_code")).await.assert_error(400, "access_denied");
    // Still paced once told no.
    poll(&app, first.str("device_code")).await.assert_error(400, "slow_down");

    // With a live session the login page is skipped.
    let second = start(&app, "openid").await;
    let consent = enter_code(&browser, &app, second.str("user_code")).await;
    assert!(consent.is_consent_page(), "SSO session reused: {}", consent.body);

    // A code that expires while its page is open is not connected by an Allow.
    let fourth = start(&app, "openid").await;
    let consent = enter_code(&browser, &app, fourth.str("user_code")).await;
    assert!(consent.is_consent_page(), "{}", consent.body);
    app.clock.advance(601);
    let late = browser.decide(&consent, "allow").await;
    assert!(!late.body.contains("connected"), "{}: {}", late.status, late.body);
    poll(&app, fourth.str("device_code")).await.assert_error(400, "expired_token");

    // One that expires while the user signs in: said at once, no consent asked.
    let fifth = start(&app, "openid").await;
    let fresh = Browser::new();
    let login = enter_code(&fresh, &app, fifth.str("user_code")).await;
    assert!(login.is_login_page(), "{}", login.body);
    app.clock.advance(601);
    let late = fresh.login(&login, "victor", "victor-pw").await;
    assert_eq!(late.status, 400, "{}", late.body);
    assert!(!late.is_consent_page() && late.body.contains("Code expired"), "{}", late.body);
    // The sign-in itself counted: the next code goes straight to consent.
    let sixth = start(&app, "openid").await;
    assert!(enter_code(&fresh, &app, sixth.str("user_code")).await.is_consent_page());

    let third = start(&app, "openid").await;
    app.clock.advance(601);
    poll(&app, third.str("device_code")).await.assert_error(400, "expired_token");
    let late = enter_code(&browser, &app, third.str("user_code")).await;
    assert!(late.body.contains("not valid"), "{}", late.body);

    // Clients without the grant, unknown scopes, bad device codes.
    app.post_form("acme", "/protocol/openid-connect/auth/device", Some(("svc", "svc-secret")), &[])
        .await
        .assert_error(400, "unauthorized_client");
    app.post_form("acme", "/protocol/openid-connect/auth/device", None, &[("client_id", "tv"), ("scope", "nope")])
        .await
        .assert_error(400, "invalid_scope");
    poll(&app, "not-a-device-code").await.assert_error(400, "invalid_grant");
    let discovery = app.get(&app.realm_url("acme", "/.well-known/openid-configuration")).await;
    assert_eq!(
        discovery.json["device_authorization_endpoint"],
        app.realm_url("acme", "/protocol/openid-connect/auth/device")
    );
    assert!(discovery.json["grant_types_supported"].as_array().unwrap().iter().any(|g| g == DEVICE_GRANT));
}

async fn wrong_codes_are_rate_limited(app: TestApp) {
    // Right codes use up nothing: many devices can be connected from one address.
    let owner = Browser::new();
    for _ in 0..8 {
        let device = start(&app, "openid").await;
        let login = enter_code(&owner, &app, device.str("user_code")).await;
        assert!(login.is_login_page(), "{}: {}", login.status, login.body);
    }
    let real = start(&app, "openid").await;
    let guesser = Browser::new();
    for guess in ["BBBB-BBBB", "CCCC-CCCC", "DDDD-DDDD", "FFFF-FFFF", "not a code"] {
        let page = enter_code(&guesser, &app, guess).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("not valid"), "{}", page.body);
    }
    // Now even the right code is refused, from this browser and this address.
    let locked = enter_code(&guesser, &app, real.str("user_code")).await;
    assert_eq!(locked.status, 429, "{}", locked.body);
    let other_browser = Browser::new();
    let locked = enter_code(&other_browser, &app, real.str("user_code")).await;
    assert_eq!(locked.status, 429, "the address is counted too");
    // After the window it works again (with a new code: the first expired).
    app.clock.advance(15 * 60 + 1);
    let fresh = start(&app, "openid").await;
    let login = enter_code(&other_browser, &app, fresh.str("user_code")).await;
    assert!(login.is_login_page(), "{}", login.body);
}

/// A browser whose requests a reverse proxy forwards with `X-Forwarded-For`.
fn behind_proxy(forwarded: &str) -> Browser {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-forwarded-for", forwarded.parse().unwrap());
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap();
    Browser { http }
}

async fn guess_five_times(app: &TestApp, browser: &Browser) {
    for guess in ["BBBB-BBBB", "CCCC-CCCC", "DDDD-DDDD", "FFFF-FFFF", "GGGG-GGGG"] {
        assert_eq!(enter_code(browser, app, guess).await.status, 200);
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_address_has_its_own_budget() {
    let trusted = vec![realmgate::client_ip::parse_network("127.0.0.1").unwrap()];
    let Some(app) =
        crate::helpers::spawn_app_configured(crate::helpers::Backend::Sqlite, crate::helpers::TEST_REALMS, |c| {
            c.trusted_proxies = trusted
        })
        .await
    else {
        return;
    };
    let real = start(&app, "openid").await;
    guess_five_times(&app, &behind_proxy("198.51.100.1")).await;
    // The guesser's address is spent, from any browser, whatever it adds on the left…
    let locked = enter_code(&behind_proxy("203.0.113.5, 198.51.100.1"), &app, real.str("user_code")).await;
    assert_eq!(locked.status, 429, "{}", locked.body);
    // …but another client behind the same proxy is not held back.
    let other = enter_code(&behind_proxy("198.51.100.2"), &app, real.str("user_code")).await;
    assert!(other.is_login_page(), "{}: {}", other.status, other.body);
}

#[tokio::test]
async fn without_trusted_proxies_x_forwarded_for_is_ignored() {
    let Some(app) = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite).await else { return };
    let real = start(&app, "openid").await;
    guess_five_times(&app, &behind_proxy("198.51.100.1")).await;
    // A made-up header does not buy a fresh budget: the peer address counts.
    let locked = enter_code(&behind_proxy("198.51.100.2"), &app, real.str("user_code")).await;
    assert_eq!(locked.status, 429, "{}", locked.body);
}

/// A realm whose devices may poll every second.
const BRISK: &str = r#"
[[realms]]
name = "acme"
device_poll_interval = "1s"

  [[realms.clients]]
  client_id = "tv"
  grant_types = ["urn:ietf:params:oauth:grant-type:device_code"]
"#;

/// The interval is kept to the millisecond: a poll late in one second and
/// the next early in the following one are 200 ms apart, not "1 s".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polls_across_a_second_boundary_are_still_too_soon() {
    let Some(app) = crate::helpers::spawn_app_with(crate::helpers::Backend::Sqlite, BRISK).await else { return };
    let start = start(&app, "").await;
    let device_code = start.str("device_code").to_owned();
    let into_second = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_millis();
    while into_second() < 800 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    poll(&app, &device_code).await.assert_error(400, "authorization_pending");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    poll(&app, &device_code).await.assert_error(400, "slow_down");
}
