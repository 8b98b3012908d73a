//! The browser sign-in rules, mostly the negative ones: redirect safety,
//! errors sent back to the client, prompt, consent, single-use codes and
//! PKCE, CSRF, the login page, sessions, form_post and logout.

use std::collections::BTreeMap;

use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use scraper::{Html, Selector};

use crate::both_backends;
use crate::browser::{Browser, CHALLENGE, Page, VERIFIER, auth_url};
use crate::helpers::{Answer, TestApp, jwt_parts};

both_backends!(
    unsafe_redirect_targets_get_an_error_page,
    a_registered_redirect_uri_keeps_its_query,
    request_errors_go_back_to_the_redirect_uri,
    prompt_none_needs_a_session_and_a_consent,
    consent_is_asked_remembered_and_can_be_denied,
    a_code_works_once_and_reuse_revokes_its_tokens,
    pkce_is_enforced_at_the_token_endpoint,
    codes_are_bound_to_client_redirect_uri_and_time,
    the_login_form_needs_this_browsers_csrf_token,
    the_login_page_explains_nothing_and_escapes_input,
    pages_and_cookies_carry_the_security_attributes,
    sessions_stay_in_their_realm_and_expire_when_idle,
    prompt_login_and_max_age_force_a_new_sign_in,
    form_post_answers_with_a_self_posting_form,
    logout_with_a_hint_ends_the_session_and_redirects,
    logout_without_a_hint_asks_first,
    logout_refuses_an_unregistered_redirect_uri,
);

const CB: &str = "http://127.0.0.1:9/cb";
const SPA_CB: &str = "http://127.0.0.1:9/spa";
const HYBRID_CB: &str = "http://127.0.0.1:9/hybrid";
pub(crate) const BYE: &str = "http://127.0.0.1:9/bye";
pub(crate) const WEB: (&str, &str) = ("web", "web-secret");
const SVC: (&str, &str) = ("svc", "svc-secret");

/// A valid code-flow request of the confidential client `web`.
pub(crate) const WEB_REQUEST: [(&str, &str); 6] = [
    ("client_id", "web"),
    ("response_type", "code"),
    ("redirect_uri", CB),
    ("scope", "openid"),
    ("state", "st"),
    ("nonce", "n-1"),
];

/// A valid code-flow request of the public client `spa` (PKCE S256).
const SPA_REQUEST: [(&str, &str); 7] = [
    ("client_id", "spa"),
    ("response_type", "code"),
    ("redirect_uri", SPA_CB),
    ("scope", "openid"),
    ("state", "st"),
    ("code_challenge", CHALLENGE),
    ("code_challenge_method", "S256"),
];

/// An implicit request of `hybrid`, without a nonce.
pub(crate) const HYBRID_REQUEST: [(&str, &str); 5] = [
    ("client_id", "hybrid"),
    ("response_type", "id_token"),
    ("redirect_uri", HYBRID_CB),
    ("scope", "openid"),
    ("state", "st"),
];

/// `base` with the parameters of `changes` set; an empty value removes one.
pub(crate) fn with<'a>(base: &[(&'a str, &'a str)], changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut params: Vec<_> = base.iter().filter(|(k, _)| !changes.iter().any(|(c, _)| c == k)).copied().collect();
    params.extend(changes.iter().copied().filter(|(_, v)| !v.is_empty()));
    params
}

/// Runs an authorization in `browser` as alice (signing in and allowing
/// consent when asked) and returns the redirect's parameters.
pub(crate) async fn authorize(app: &TestApp, browser: &Browser, params: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut page = browser.get(&auth_url(app, "acme", params)).await;
    if page.is_login_page() {
        page = browser.login(&page, "alice", "alice-pw").await;
    }
    if page.is_consent_page() {
        page = browser.decide(&page, "allow").await;
    }
    assert_eq!(page.status, 302, "{}", page.body);
    let params = page.redirect_params();
    assert!(params.contains_key("code"), "{params:?}");
    params
}

pub(crate) async fn code(app: &TestApp, browser: &Browser, params: &[(&str, &str)]) -> String {
    authorize(app, browser, params).await["code"].clone()
}

/// Exchanges a code of `web` (client_secret_basic).
pub(crate) async fn exchange_web(app: &TestApp, code: &str) -> Answer {
    app.token("acme", Some(WEB), &[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", CB)]).await
}

/// Exchanges a code of the public client `spa`.
async fn exchange_spa(app: &TestApp, code: &str, verifier: Option<&str>) -> Answer {
    let mut form =
        vec![("grant_type", "authorization_code"), ("client_id", "spa"), ("code", code), ("redirect_uri", SPA_CB)];
    if let Some(verifier) = verifier {
        form.push(("code_verifier", verifier));
    }
    app.token("acme", None, &form).await
}

async fn refresh_spa(app: &TestApp, refresh_token: &str) -> Answer {
    app.token("acme", None, &[("grant_type", "refresh_token"), ("client_id", "spa"), ("refresh_token", refresh_token)])
        .await
}

pub(crate) fn logout_url(app: &TestApp, params: &[(&str, &str)]) -> String {
    let query = serde_urlencoded::to_string(params).unwrap();
    format!("{}?{query}", app.realm_url("acme", "/protocol/openid-connect/logout"))
}

/// An HTML error page: 400, HTML, and no redirect anywhere.
pub(crate) fn assert_error_page(page: &Page, what: &str) {
    assert_eq!(page.status, 400, "{what}: {}", page.body);
    assert_eq!(page.location(), None, "{what}: never a redirect");
    assert!(page.header(CONTENT_TYPE.as_str()).is_some_and(|t| t.starts_with("text/html")), "{what}");
}

/// An error sent back to the client with `state` and `iss`.
fn assert_redirect_error(app: &TestApp, page: &Page, prefix: &str, error: &str, what: &str) {
    assert_eq!(page.status, 302, "{what}: {}", page.body);
    let location = page.location().unwrap();
    assert!(location.starts_with(prefix), "{what}: {location} should start with {prefix}");
    let params = page.redirect_params();
    assert_eq!(params.get("error").map(String::as_str), Some(error), "{what}: {params:?}");
    assert!(params.get("error_description").is_some_and(|d| !d.is_empty()), "{what}: {params:?}");
    assert_eq!(params.get("state").map(String::as_str), Some("st"), "{what}: {params:?}");
    assert_eq!(params.get("iss"), Some(&app.issuer("acme")), "{what}: {params:?}");
    assert!(!params.contains_key("code"), "{what}: {params:?}");
}

fn session_cookie(page: &Page) -> Option<String> {
    page.headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("RG_SESSION=") && !c.starts_with("RG_SESSION=;"))
        .map(str::to_owned)
}

async fn unsafe_redirect_targets_get_an_error_page(app: TestApp) {
    let browser = Browser::new();
    let cases: [(&str, Vec<(&str, &str)>); 6] = [
        ("unknown client", with(&WEB_REQUEST, &[("client_id", "nobody")])),
        ("missing client_id", with(&WEB_REQUEST, &[("client_id", "")])),
        ("longer path", with(&WEB_REQUEST, &[("redirect_uri", "http://127.0.0.1:9/cb/extra")])),
        ("other case", with(&WEB_REQUEST, &[("redirect_uri", "http://127.0.0.1:9/CB")])),
        ("another client's URI", with(&WEB_REQUEST, &[("redirect_uri", SPA_CB)])),
        // OpenID Connect requires it even when one URI is registered.
        ("no redirect_uri with openid", with(&WEB_REQUEST, &[("redirect_uri", "")])),
    ];
    for (what, params) in &cases {
        let page = browser.get(&auth_url(&app, "acme", params)).await;
        assert_error_page(&page, what);
    }
    // Nor once signed in, even for a request that would otherwise be an error.
    let params = authorize(&app, &browser, &WEB_REQUEST).await;
    assert_eq!(params["state"], "st");
    // A state that is no UTF-8 could not be echoed exactly (RFC 6749 §4.1.2).
    let page =
        browser.get(&format!("{}&state=%FF%FE", auth_url(&app, "acme", &with(&WEB_REQUEST, &[("state", "")])))).await;
    assert_error_page(&page, "state not UTF-8");
    for (what, params) in &cases {
        let page = browser.get(&auth_url(&app, "acme", params)).await;
        assert_error_page(&page, what);
        let bad = with(params, &[("response_type", "pizza")]);
        assert_error_page(&browser.get(&auth_url(&app, "acme", &bad)).await, what);
    }
}

async fn a_registered_redirect_uri_keeps_its_query(app: TestApp) {
    let browser = Browser::new();
    let page = browser
        .get(&auth_url(&app, "acme", &with(&SPA_REQUEST, &[("redirect_uri", "http://127.0.0.1:9/spa?tab=1")])))
        .await;
    let page = browser.login(&page, "alice", "alice-pw").await;
    let back = browser.decide(&page, "allow").await;
    assert_eq!(back.status, 302, "{}", back.body);
    let location = back.location().unwrap();
    assert!(location.starts_with("http://127.0.0.1:9/spa?tab=1&"), "{location}");
    let params = back.redirect_params();
    assert_eq!(params["tab"], "1");
    assert!(params.contains_key("code"));
    assert_eq!(params["state"], "st");
    // Another query is another URI, and it is not registered.
    let page = browser
        .get(&auth_url(&app, "acme", &with(&SPA_REQUEST, &[("redirect_uri", "http://127.0.0.1:9/spa?tab=2")])))
        .await;
    assert_error_page(&page, "tab=2");
}

/// What is wrong, the request, where the error goes and which error it is.
type ErrorCase = (&'static str, Vec<(&'static str, &'static str)>, &'static str, &'static str);

async fn request_errors_go_back_to_the_redirect_uri(app: TestApp) {
    let cb_query = "http://127.0.0.1:9/cb?";
    let cb_fragment = "http://127.0.0.1:9/cb#";
    let spa_query = "http://127.0.0.1:9/spa?";
    let hybrid_fragment = "http://127.0.0.1:9/hybrid#";
    let cases: Vec<ErrorCase> = vec![
        ("missing response_type", with(&WEB_REQUEST, &[("response_type", "")]), cb_query, "invalid_request"),
        (
            "unknown response_type",
            with(&WEB_REQUEST, &[("response_type", "pizza")]),
            cb_query,
            "unsupported_response_type",
        ),
        ("implicit not allowed", with(&WEB_REQUEST, &[("response_type", "token")]), cb_fragment, "unauthorized_client"),
        (
            "response types two spaces apart",
            with(&WEB_REQUEST, &[("response_type", "code  id_token"), ("nonce", "n")]),
            cb_query,
            "unsupported_response_type",
        ),
        ("a space before", with(&WEB_REQUEST, &[("response_type", " code")]), cb_query, "unsupported_response_type"),
        ("unknown scope", with(&WEB_REQUEST, &[("scope", "openid bogus")]), cb_query, "invalid_scope"),
        (
            "request object",
            with(&WEB_REQUEST, &[("request", "eyJhbGciOiJub25lIn0.e30.")]),
            cb_query,
            "request_not_supported",
        ),
        (
            "request_uri",
            with(&WEB_REQUEST, &[("request_uri", "https://rp.example/request.jwt")]),
            cb_query,
            "request_uri_not_supported",
        ),
        ("id_token without nonce", with(&HYBRID_REQUEST, &[]), hybrid_fragment, "invalid_request"),
        (
            "token in the query",
            with(&HYBRID_REQUEST, &[("response_type", "token"), ("response_mode", "query"), ("nonce", "n-1")]),
            hybrid_fragment,
            "invalid_request",
        ),
        (
            "public client without PKCE",
            with(&SPA_REQUEST, &[("code_challenge", ""), ("code_challenge_method", "")]),
            spa_query,
            "invalid_request",
        ),
        ("unknown PKCE method", with(&SPA_REQUEST, &[("code_challenge_method", "S512")]), spa_query, "invalid_request"),
        ("prompt none with login", with(&WEB_REQUEST, &[("prompt", "none login")]), cb_query, "invalid_request"),
        ("negative max_age", with(&WEB_REQUEST, &[("max_age", "-1")]), cb_query, "invalid_request"),
    ];
    let browser = Browser::new();
    for (what, params, prefix, error) in &cases {
        let page = browser.get(&auth_url(&app, "acme", params)).await;
        assert_redirect_error(&app, &page, prefix, error, what);
    }
    // The same once signed in: nothing is issued for a bad request.
    code(&app, &browser, &WEB_REQUEST).await;
    for (what, params, prefix, error) in &cases {
        let page = browser.get(&auth_url(&app, "acme", params)).await;
        assert_redirect_error(&app, &page, prefix, error, what);
    }
    // `code token` returns no ID token from the endpoint: a nonce is
    // optional there (Core §3.3.2.11).
    let answer = authorize(&app, &browser, &with(&HYBRID_REQUEST, &[("response_type", "code token")])).await;
    assert!(answer.contains_key("access_token") && !answer.contains_key("id_token"), "{answer:?}");
    // A repeated parameter goes back to the client (RFC 6749 §4.1.2.1),
    // unless it is the client or the place to go back to.
    for repeated in ["scope", "state", "response_type"] {
        let url = format!("{}&{repeated}=again", auth_url(&app, "acme", &WEB_REQUEST));
        let page = browser.get(&url).await;
        assert_redirect_error(&app, &page, cb_query, "invalid_request", repeated);
    }
    for repeated in [("client_id", "web"), ("redirect_uri", CB)] {
        let url = format!("{}&{}={}", auth_url(&app, "acme", &WEB_REQUEST), repeated.0, repeated.1);
        let page = browser.get(&url).await;
        assert_eq!(page.status, 400, "{}: an error page, no redirect", repeated.0);
    }
}

async fn prompt_none_needs_a_session_and_a_consent(app: TestApp) {
    let browser = Browser::new();
    let page = browser.get(&auth_url(&app, "acme", &with(&WEB_REQUEST, &[("prompt", "none")]))).await;
    assert_redirect_error(&app, &page, "http://127.0.0.1:9/cb?", "login_required", "no session");

    // Signed in through `web`, which needs no consent; `spa` does.
    code(&app, &browser, &WEB_REQUEST).await;
    let page = browser.get(&auth_url(&app, "acme", &with(&WEB_REQUEST, &[("prompt", "none")]))).await;
    assert_eq!(page.status, 302, "{}", page.body);
    assert!(page.redirect_params().contains_key("code"), "prompt=none with a session answers at once");
    let page = browser.get(&auth_url(&app, "acme", &with(&SPA_REQUEST, &[("prompt", "none")]))).await;
    assert_redirect_error(&app, &page, "http://127.0.0.1:9/spa?", "consent_required", "no consent");
}

async fn consent_is_asked_remembered_and_can_be_denied(app: TestApp) {
    let browser = Browser::new();
    let request = with(&SPA_REQUEST, &[("scope", "openid profile roms.write")]);
    let login = browser.get(&auth_url(&app, "acme", &request)).await;
    let consent = browser.login(&login, "alice", "alice-pw").await;
    assert!(consent.is_consent_page(), "{}: {}", consent.status, consent.body);
    assert!(consent.body.contains("Photo Gallery"), "{}", consent.body);
    for description in ["Sign you in with your account", "Your name and username", "Change your ROM library"] {
        assert!(consent.body.contains(description), "{description} in {}", consent.body);
    }
    assert!(!consent.body.contains("Your email address"), "only the requested scopes are listed");

    let denied = browser.decide(&consent, "deny").await;
    assert_eq!(denied.status, 302, "{}", denied.body);
    let params = denied.redirect_params();
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], "st");
    assert_eq!(params["iss"], app.issuer("acme"));
    assert!(!params.contains_key("code"));

    // Denying remembers nothing: the next authorization asks again.
    let consent = browser.get(&auth_url(&app, "acme", &request)).await;
    assert!(consent.is_consent_page(), "{}: {}", consent.status, consent.body);
    let allowed = browser.decide(&consent, "allow").await;
    assert_eq!(allowed.status, 302, "{}", allowed.body);
    assert!(allowed.redirect_params().contains_key("code"));
    // A consent form decides once: submitted again (from the history), it
    // gives no second code.
    let replayed = browser.decide(&consent, "allow").await;
    assert_eq!(replayed.status, 400, "{}", replayed.body);
    assert!(replayed.body.contains("already submitted"), "{}", replayed.body);

    for scope in ["openid profile roms.write", "openid profile", "openid"] {
        let page = browser.get(&auth_url(&app, "acme", &with(&request, &[("scope", scope)]))).await;
        assert_eq!(page.status, 302, "{scope} was consented to: {}", page.body);
        assert!(page.redirect_params().contains_key("code"), "{scope}");
    }
    let wider = browser.get(&auth_url(&app, "acme", &with(&request, &[("scope", "openid email")]))).await;
    assert!(wider.is_consent_page(), "a wider scope asks again: {}: {}", wider.status, wider.body);
    assert!(wider.body.contains("Your email address"));
    let forced =
        browser.get(&auth_url(&app, "acme", &with(&request, &[("scope", "openid"), ("prompt", "consent")]))).await;
    assert!(forced.is_consent_page(), "prompt=consent always asks: {}: {}", forced.status, forced.body);

    // Even a client that needs no consent otherwise (`web`).
    let browser = Browser::new();
    let login = browser.get(&auth_url(&app, "acme", &WEB_REQUEST)).await;
    let signed_in = browser.login(&login, "alice", "alice-pw").await;
    assert_eq!(signed_in.status, 302, "no consent page for web: {}", signed_in.body);
    let forced = browser.get(&auth_url(&app, "acme", &with(&WEB_REQUEST, &[("prompt", "consent")]))).await;
    assert!(forced.is_consent_page(), "prompt=consent asks for web too: {}: {}", forced.status, forced.body);
    let denied = browser.decide(&forced, "deny").await;
    assert_eq!(denied.redirect_params().get("error").map(String::as_str), Some("access_denied"));
    // In the audit log as Keycloak records a denied consent.
    let event = app.stored_event("acme", "LOGIN_ERROR", |e| e["error"] == "rejected_by_user").await;
    assert_eq!(event["clientId"], "web", "{event}");
    assert!(event["userId"].is_string() && event["sessionId"].is_string(), "{event}");
}

async fn a_code_works_once_and_reuse_revokes_its_tokens(app: TestApp) {
    let browser = Browser::new();
    let code = code(&app, &browser, &SPA_REQUEST).await;
    let tokens = exchange_spa(&app, &code, Some(VERIFIER)).await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    let access = tokens.str("access_token").to_owned();
    let refresh = tokens.str("refresh_token").to_owned();
    assert_eq!(app.userinfo("acme", &access).await.status, 200);
    assert_eq!(app.introspect("acme", SVC, &access).await.json["active"], true);

    let again = exchange_spa(&app, &code, Some(VERIFIER)).await;
    again.assert_error(400, "invalid_grant");
    assert_eq!(app.userinfo("acme", &access).await.status, 401, "the reused code's access token is revoked");
    assert_eq!(app.introspect("acme", SVC, &access).await.json, serde_json::json!({"active": false}));
    refresh_spa(&app, &refresh).await.assert_error(400, "invalid_grant");

    // Hybrid: the access token that came with the code in the redirect is
    // one of the code's tokens too (RFC 6749 §4.1.2); another grant of the
    // same session keeps its own.
    let hybrid = with(&HYBRID_REQUEST, &[("response_type", "code token"), ("nonce", "n")]);
    let other = authorize(&app, &browser, &hybrid).await["access_token"].clone();
    let answer = authorize(&app, &browser, &hybrid).await;
    let (code, front) = (answer["code"].as_str(), answer["access_token"].as_str());
    let form = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", HYBRID_CB)];
    let hybrid_client = Some(("hybrid", "hybrid-secret"));
    assert_eq!(app.token("acme", hybrid_client, &form).await.status, 200);
    assert_eq!(app.userinfo("acme", front).await.status, 200);
    app.token("acme", hybrid_client, &form).await.assert_error(400, "invalid_grant");
    assert_eq!(app.userinfo("acme", front).await.status, 401, "the front-channel token of a reused code is revoked");
    assert_eq!(app.introspect("acme", SVC, front).await.json, serde_json::json!({"active": false}));
    assert_eq!(app.userinfo("acme", &other).await.status, 200, "another grant of the session stays");

    // Presented by several requests at once, a code still answers once.
    let code = self::code(&app, &browser, &SPA_REQUEST).await;
    let answers = futures_util::future::join_all((0..8).map(|_| exchange_spa(&app, &code, Some(VERIFIER)))).await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(statuses.iter().filter(|&&s| s == 200).count(), 1, "{statuses:?}");
    for loser in answers.iter().filter(|a| a.status != 200) {
        loser.assert_error(400, "invalid_grant");
    }
}

async fn pkce_is_enforced_at_the_token_endpoint(app: TestApp) {
    let browser = Browser::new();
    let code1 = code(&app, &browser, &SPA_REQUEST).await;
    let wrong = exchange_spa(&app, &code1, Some("x".repeat(43).as_str())).await;
    wrong.assert_error(400, "invalid_grant");
    let challenge_as_verifier = exchange_spa(&app, &code1, Some(CHALLENGE)).await;
    challenge_as_verifier.assert_error(400, "invalid_grant");
    // Refusals change nothing: the right verifier still works.
    let tokens = exchange_spa(&app, &code1, Some(VERIFIER)).await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    assert!(tokens.json["access_token"].is_string());

    let code2 = code(&app, &browser, &SPA_REQUEST).await;
    exchange_spa(&app, &code2, None).await.assert_error(400, "invalid_grant");
    assert_eq!(exchange_spa(&app, &code2, Some(VERIFIER)).await.status, 200);

    // plain: the verifier is the challenge.
    let plain = with(&SPA_REQUEST, &[("code_challenge", VERIFIER), ("code_challenge_method", "plain")]);
    let code3 = code(&app, &browser, &plain).await;
    exchange_spa(&app, &code3, Some(CHALLENGE)).await.assert_error(400, "invalid_grant");
    let tokens = exchange_spa(&app, &code3, Some(VERIFIER)).await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);

    // A verifier for a code that had no challenge.
    let web_code = code(&app, &browser, &WEB_REQUEST).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", web_code.as_str()),
        ("redirect_uri", CB),
        ("code_verifier", VERIFIER),
    ];
    app.token("acme", Some(WEB), &form).await.assert_error(400, "invalid_grant");
}

async fn codes_are_bound_to_client_redirect_uri_and_time(app: TestApp) {
    let browser = Browser::new();
    let first = code(&app, &browser, &WEB_REQUEST).await;
    let form = [("grant_type", "authorization_code"), ("code", first.as_str()), ("redirect_uri", CB)];
    app.token("acme", Some(("hybrid", "hybrid-secret")), &form).await.assert_error(400, "invalid_grant");

    let second = code(&app, &browser, &WEB_REQUEST).await;
    for uri in ["http://127.0.0.1:9/CB", "http://127.0.0.1:9/cb/extra"] {
        let form = [("grant_type", "authorization_code"), ("code", second.as_str()), ("redirect_uri", uri)];
        app.token("acme", Some(WEB), &form).await.assert_error(400, "invalid_grant");
    }
    let missing = [("grant_type", "authorization_code"), ("code", second.as_str())];
    app.token("acme", Some(WEB), &missing).await.assert_error(400, "invalid_grant");

    let third = code(&app, &browser, &WEB_REQUEST).await;
    app.clock.advance(61);
    exchange_web(&app, &third).await.assert_error(400, "invalid_grant");

    // A code of another realm's client means nothing here, and vice versa.
    let fresh = code(&app, &browser, &WEB_REQUEST).await;
    let form = [("grant_type", "authorization_code"), ("code", fresh.as_str()), ("redirect_uri", CB)];
    app.token("other", Some(("other-web", "other-secret")), &form).await.assert_error(400, "invalid_grant");
    // The control: a fresh code exchanged correctly works.
    let tokens = exchange_web(&app, &fresh).await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);
}

async fn the_login_form_needs_this_browsers_csrf_token(app: TestApp) {
    let url = auth_url(&app, "acme", &WEB_REQUEST);
    let mine = Browser::new();
    let theirs = Browser::new();
    let my_page = mine.get(&url).await;
    assert!(my_page.is_login_page());
    let their_page = theirs.get(&url).await;
    assert!(their_page.is_login_page());

    let mut no_csrf = my_page.form();
    no_csrf.fields.remove("csrf");
    no_csrf.fields.insert("username".into(), "alice".into());
    no_csrf.fields.insert("password".into(), "alice-pw".into());
    let page = mine.submit(&no_csrf).await;
    assert_error_page(&page, "no csrf field");
    assert_eq!(session_cookie(&page), None);

    // Another browser's form (its csrf and state) posted from mine.
    let mut foreign = their_page.form();
    foreign.fields.insert("username".into(), "alice".into());
    foreign.fields.insert("password".into(), "alice-pw".into());
    let page = mine.submit(&foreign).await;
    assert_error_page(&page, "another browser's form");
    assert_eq!(session_cookie(&page), None);
    // The refusal shows the login form again, this time with my token (as
    // when two tabs of a new browser race for the CSRF cookie): it works.
    assert!(page.body.contains("name=\"password\"") && page.body.contains("sign in again"), "{}", page.body);
    let mut again = page.form();
    again.fields.insert("username".into(), "alice".into());
    again.fields.insert("password".into(), "alice-pw".into());
    let signed_in = mine.submit(&again).await;
    assert_eq!(signed_in.status, 302, "{}", signed_in.body);
    assert!(signed_in.redirect_params().contains_key("code"));
    let mine = Browser::new();
    let my_page = mine.get(&url).await;

    // My csrf with their state: the state is bound to their token.
    let mut mixed = foreign.clone();
    mixed.fields.insert("csrf".into(), my_page.form().fields["csrf"].clone());
    let page = mine.submit(&mixed).await;
    assert_error_page(&page, "another browser's state");
    assert_eq!(session_cookie(&page), None);

    let mut tampered = my_page.form();
    tampered.fields.insert("username".into(), "alice".into());
    tampered.fields.insert("password".into(), "alice-pw".into());
    let state = tampered.fields["state"].clone();
    let middle = state.len() / 2;
    let flipped = if &state[middle..=middle] == "A" { "B" } else { "A" };
    tampered.fields.insert("state".into(), format!("{}{flipped}{}", &state[..middle], &state[middle + 1..]));
    let page = mine.submit(&tampered).await;
    assert_error_page(&page, "tampered state");
    assert_eq!(session_cookie(&page), None);

    // None of it signed anyone in.
    assert!(mine.get(&url).await.is_login_page());
    // The control: my own untouched form works.
    let back = mine.login(&mine.get(&url).await, "alice", "alice-pw").await;
    assert_eq!(back.status, 302, "{}", back.body);
}

async fn the_login_page_explains_nothing_and_escapes_input(app: TestApp) {
    let browser = Browser::new();
    let url = auth_url(&app, "acme", &WEB_REQUEST);
    let login = browser.get(&url).await;
    let wrong = browser.login(&login, "alice", "not-the-password").await;
    assert!(wrong.is_login_page(), "{}: {}", wrong.status, wrong.body);
    assert_eq!(wrong.status, 200);
    assert_eq!(wrong.location(), None);
    assert_eq!(session_cookie(&wrong), None);
    assert_eq!(wrong.form().fields["username"], "alice");
    let wrong_message = wrong.text("[role=alert]").expect("an error message");
    assert!(!wrong_message.is_empty());

    let unknown = browser.login(&wrong, "nobody", "alice-pw").await;
    assert!(unknown.is_login_page(), "{}: {}", unknown.status, unknown.body);
    assert_eq!(unknown.location(), None);
    assert_eq!(unknown.form().fields["username"], "nobody");
    assert_eq!(unknown.text("[role=alert]").as_deref(), Some(wrong_message.as_str()), "no user enumeration");

    // The re-rendered form still works.
    let back = browser.login(&unknown, "alice", "alice-pw").await;
    assert_eq!(back.status, 302, "{}", back.body);

    let hinted = Browser::new().get(&auth_url(&app, "acme", &with(&WEB_REQUEST, &[("login_hint", "victor")]))).await;
    assert!(hinted.is_login_page());
    assert_eq!(hinted.form().fields["username"], "victor");

    let script = "<script>alert(1)</script>";
    let evil = Browser::new().get(&auth_url(&app, "acme", &with(&WEB_REQUEST, &[("login_hint", script)]))).await;
    assert!(evil.is_login_page());
    assert!(!evil.body.contains("<script>"), "{}", evil.body);
    assert_eq!(evil.form().fields["username"], script, "kept as text");
    // A failed login echoes the username escaped too.
    let echoed = Browser::new();
    let page = echoed.get(&url).await;
    let page = echoed.login(&page, "\"><script>alert(2)</script>", "x").await;
    assert!(page.is_login_page());
    assert!(!page.body.contains("<script>"), "{}", page.body);
}

async fn pages_and_cookies_carry_the_security_attributes(app: TestApp) {
    let browser = Browser::new();
    let login = browser.get(&auth_url(&app, "acme", &with(&SPA_REQUEST, &[("scope", "openid profile")]))).await;
    assert!(login.is_login_page());
    let consent = browser.login(&login, "alice", "alice-pw").await;
    assert!(consent.is_consent_page(), "{}: {}", consent.status, consent.body);
    let error = browser.get(&auth_url(&app, "acme", &with(&WEB_REQUEST, &[("client_id", "nobody")]))).await;
    assert_eq!(error.status, 400);
    let logout = browser.get(&logout_url(&app, &[])).await;
    assert_eq!(logout.status, 200);
    for (what, page) in [("login", &login), ("consent", &consent), ("error", &error), ("logout", &logout)] {
        assert_eq!(page.header("cache-control"), Some("no-store"), "{what}");
        let policies: Vec<_> = page.headers.get_all("content-security-policy").iter().collect();
        assert_eq!(policies.len(), 1, "{what}: {policies:?}");
        let csp = policies[0].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{what}: {csp}");
        assert_eq!(page.header("x-content-type-options"), Some("nosniff"), "{what}");
        assert_eq!(page.header("referrer-policy"), Some("no-referrer"), "{what}");
    }

    let cookie = session_cookie(&consent).expect("a session cookie after signing in");
    let attributes: Vec<String> = cookie.split(';').skip(1).map(|a| a.trim().to_ascii_lowercase()).collect();
    assert!(attributes.iter().any(|a| a == "httponly"), "{cookie}");
    assert!(attributes.iter().any(|a| a == "samesite=lax"), "{cookie}");
    assert!(attributes.iter().any(|a| a == "path=/realms/acme/"), "{cookie}");
    assert!(!attributes.iter().any(|a| a == "secure"), "http public URL: {cookie}");
    assert!(!attributes.iter().any(|a| a.starts_with("domain=")), "host-only: {cookie}");
    let csrf = csrf_cookie(&login);
    assert!(
        csrf.contains("httponly") && csrf.contains("samesite=lax") && csrf.contains("path=/realms/acme/"),
        "{csrf}"
    );
}

async fn sessions_stay_in_their_realm_and_expire_when_idle(app: TestApp) {
    let browser = Browser::new();
    let login = browser.get(&auth_url(&app, "acme", &WEB_REQUEST)).await;
    let back = browser.login(&login, "alice", "alice-pw").await;
    assert_eq!(back.status, 302, "{}", back.body);
    let cookie = session_cookie(&back).expect("a session cookie");
    let value = cookie.split(';').next().unwrap().to_owned();

    let other = [("client_id", "other-web"), ("response_type", "code"), ("redirect_uri", CB), ("scope", "openid")];
    let page = browser.get(&auth_url(&app, "other", &other)).await;
    assert!(page.is_login_page(), "{}: {}", page.status, page.body);
    // Even when the cookie is sent there on purpose.
    let response = app.http.get(auth_url(&app, "other", &other)).header(COOKIE, &value).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("name=\"password\""), "another realm's session counts for nothing");

    // Activity keeps the session; idleness ends it.
    app.clock.advance(1000);
    assert_eq!(browser.get(&auth_url(&app, "acme", &WEB_REQUEST)).await.status, 302);
    app.clock.advance(1000);
    assert_eq!(browser.get(&auth_url(&app, "acme", &WEB_REQUEST)).await.status, 302, "the idle timer restarts");
    app.clock.advance(1801);
    let page = browser.get(&auth_url(&app, "acme", &WEB_REQUEST)).await;
    assert!(page.is_login_page(), "idle session ended: {}: {}", page.status, page.body);

    // A short idle timeout: uses closer together than the write throttle
    // still restart it.
    let admin =
        [("grant_type", "password"), ("client_id", "admin-cli"), ("username", "admin"), ("password", "admin-pw")];
    let master = app.token("master", None, &admin).await;
    let idle = r#"{"ssoSessionIdleTimeout": 3}"#;
    let changed = app.admin(reqwest::Method::PUT, "/realms/acme", Some(master.str("access_token")), Some(idle)).await;
    assert_eq!(changed.status, 204, "{}", changed.text);
    let browser = Browser::new();
    let login = browser.get(&auth_url(&app, "acme", &WEB_REQUEST)).await;
    assert_eq!(browser.login(&login, "alice", "alice-pw").await.status, 302);
    for second in [2, 4, 6] {
        app.clock.advance(2);
        let again = browser.get(&auth_url(&app, "acme", &WEB_REQUEST)).await;
        assert_eq!(again.status, 302, "used 2 s before, at {second} s: {}", again.body);
    }
    app.clock.advance(4);
    let page = browser.get(&auth_url(&app, "acme", &WEB_REQUEST)).await;
    assert!(page.is_login_page(), "4 s unused: {}: {}", page.status, page.body);
}

async fn prompt_login_and_max_age_force_a_new_sign_in(app: TestApp) {
    let browser = Browser::new();
    let first = code(&app, &browser, &WEB_REQUEST).await;
    let tokens = exchange_web(&app, &first).await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    let (_, claims) = jwt_parts(tokens.str("id_token"));
    let auth_time = claims["auth_time"].as_i64().expect("auth_time");
    assert!(claims["sid"].as_str().is_some_and(|s| !s.is_empty()), "sid: {claims}");

    let page = browser.get(&auth_url(&app, "acme", &with(&WEB_REQUEST, &[("prompt", "login")]))).await;
    assert!(page.is_login_page(), "prompt=login: {}: {}", page.status, page.body);
    let same_second = browser.get(&auth_url(&app, "acme", &with(&WEB_REQUEST, &[("max_age", "0")]))).await;
    assert!(same_second.is_login_page(), "max_age=0 within the second: {}", same_second.status);

    app.clock.advance(1);
    let page = browser.get(&auth_url(&app, "acme", &with(&WEB_REQUEST, &[("max_age", "600")]))).await;
    assert_eq!(page.status, 302, "a recent enough sign-in: {}", page.body);
    let page = browser.get(&auth_url(&app, "acme", &with(&WEB_REQUEST, &[("max_age", "0")]))).await;
    assert!(page.is_login_page(), "max_age=0: {}: {}", page.status, page.body);
    let back = browser.login(&page, "alice", "alice-pw").await;
    assert_eq!(back.status, 302, "{}", back.body);
    let tokens = exchange_web(&app, &back.redirect_params()["code"]).await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    let (_, claims) = jwt_parts(tokens.str("id_token"));
    assert!(claims["auth_time"].as_i64().unwrap() > auth_time, "a new sign-in has a new auth_time: {claims}");
}

async fn form_post_answers_with_a_self_posting_form(app: TestApp) {
    let browser = Browser::new();
    let login = browser.get(&auth_url(&app, "acme", &with(&WEB_REQUEST, &[("response_mode", "form_post")]))).await;
    let page = browser.login(&login, "alice", "alice-pw").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.location(), None);
    assert!(page.header(CONTENT_TYPE.as_str()).is_some_and(|t| t.starts_with("text/html")));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let form = page.form();
    assert_eq!(form.action, CB);
    assert_eq!(form.fields["state"], "st");
    assert_eq!(form.fields["iss"], app.issuer("acme"));
    let code = form.fields["code"].clone();
    assert!(!code.is_empty());

    // The script is inline (no URL to miss a path prefix) and allowed by its
    // hash alone: no other inline script could run.
    let csp = page.header("content-security-policy").unwrap();
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let html = Html::parse_document(&page.body);
    let scripts: Vec<_> = html.select(&Selector::parse("script").unwrap()).collect();
    assert!(!scripts.is_empty(), "the form submits itself: {}", page.body);
    for script in scripts {
        use base64::Engine;
        use sha2::Digest;
        let text = script.text().collect::<String>();
        let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(text.as_bytes()));
        assert!(csp.contains(&format!("'sha256-{hash}'")), "the CSP allows this script by its hash: {csp}");
    }
    assert_eq!(exchange_web(&app, &code).await.status, 200);
}

async fn logout_with_a_hint_ends_the_session_and_redirects(app: TestApp) {
    let browser = Browser::new();
    let first = code(&app, &browser, &WEB_REQUEST).await;
    let tokens = exchange_web(&app, &first).await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    let refresh = tokens.str("refresh_token").to_owned();

    let url = logout_url(
        &app,
        &[("id_token_hint", tokens.str("id_token")), ("post_logout_redirect_uri", BYE), ("state", "s1")],
    );
    let page = browser.get(&url).await;
    assert_eq!(page.status, 302, "{}", page.body);
    assert_eq!(page.location(), Some("http://127.0.0.1:9/bye?state=s1"));

    let page = browser.get(&auth_url(&app, "acme", &WEB_REQUEST)).await;
    assert!(page.is_login_page(), "the session ended: {}: {}", page.status, page.body);
    app.refresh("acme", WEB, &refresh).await.assert_error(400, "invalid_grant");
}

async fn logout_without_a_hint_asks_first(app: TestApp) {
    let browser = Browser::new();
    let first = code(&app, &browser, &WEB_REQUEST).await;
    let tokens = exchange_web(&app, &first).await;
    let refresh = tokens.str("refresh_token").to_owned();

    let confirm = browser.get(&logout_url(&app, &[])).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert_eq!(confirm.location(), None);
    let form = confirm.form();
    assert!(form.fields.contains_key("csrf") && form.fields.contains_key("state"), "{form:?}");
    // Merely showing the page ends nothing.
    assert_eq!(browser.get(&auth_url(&app, "acme", &WEB_REQUEST)).await.status, 302);
    assert_eq!(app.refresh("acme", WEB, &refresh).await.status, 200);

    // Another browser cannot submit it.
    let stranger = Browser::new();
    assert_error_page(&stranger.submit(&form).await, "logout form from another browser");
    assert_eq!(browser.get(&auth_url(&app, "acme", &WEB_REQUEST)).await.status, 302);

    let done = browser.submit(&form).await;
    assert_eq!(done.status, 200, "{}", done.body);
    let page = browser.get(&auth_url(&app, "acme", &WEB_REQUEST)).await;
    assert!(page.is_login_page(), "the session ended: {}: {}", page.status, page.body);
}

async fn logout_refuses_an_unregistered_redirect_uri(app: TestApp) {
    let browser = Browser::new();
    let first = code(&app, &browser, &WEB_REQUEST).await;
    let tokens = exchange_web(&app, &first).await;
    let id_token = tokens.str("id_token").to_owned();
    for uri in ["http://127.0.0.1:9/evil", "http://127.0.0.1:9/bye/extra", "http://127.0.0.1:9/spa-bye"] {
        let url = logout_url(&app, &[("id_token_hint", &id_token), ("post_logout_redirect_uri", uri), ("state", "s1")]);
        assert_error_page(&browser.get(&url).await, uri);
    }
    let without_hint = logout_url(&app, &[("post_logout_redirect_uri", BYE)]);
    let page = browser.get(&without_hint).await;
    assert_error_page(&page, "no client to check the URI against");
    assert!(page.body.contains("needs the id_token_hint or the client_id"), "says what is missing: {}", page.body);
    // A hint that is no ID token of the realm (an access token, say) is named as the problem.
    let bad_hint =
        logout_url(&app, &[("id_token_hint", tokens.str("access_token")), ("post_logout_redirect_uri", BYE)]);
    let page = browser.get(&bad_hint).await;
    assert_error_page(&page, "an access token as id_token_hint");
    assert!(page.body.contains("id_token_hint"), "{}", page.body);
    // The refused requests ended nothing.
    assert_eq!(browser.get(&auth_url(&app, "acme", &WEB_REQUEST)).await.status, 302);
    assert_eq!(app.refresh("acme", WEB, tokens.str("refresh_token")).await.status, 200);
}

/// Behind a proxy that serves realmgate below a path, the cookies are set
/// below that path (and Secure for https), or the browser would never send
/// them back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_live_below_the_public_urls_path() {
    let backend = crate::helpers::Backend::Sqlite;
    let app = crate::helpers::spawn_app_configured(backend, crate::helpers::TEST_REALMS, |config| {
        config.public_url = Some("https://id.example.com/base".into());
    })
    .await
    .expect("sqlite");
    let page = Browser::new().get(&auth_url(&app, "acme", &WEB_REQUEST)).await;
    assert!(page.is_login_page(), "{}: {}", page.status, page.body);
    let csrf = csrf_cookie(&page);
    let attributes: Vec<&str> = csrf.split(';').skip(1).map(str::trim).collect();
    assert!(attributes.contains(&"path=/base/realms/acme/"), "{csrf}");
    assert!(attributes.contains(&"secure"), "{csrf}");
    // The page names no root-absolute URL (which would miss the /base
    // prefix): its stylesheet is inline, allowed by its hash.
    assert!(page.body.contains("<style>") && !page.body.contains("\"/static/"), "{}", page.body);
    let csp = page.headers.get("content-security-policy").unwrap().to_str().unwrap();
    assert!(csp.contains("style-src 'self' 'sha256-"), "{csp}");
}

/// The CSRF cookie a page sets, lower-cased.
fn csrf_cookie(page: &Page) -> String {
    page.headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("RG_CSRF="))
        .expect("a CSRF cookie with the login page")
        .to_ascii_lowercase()
}
