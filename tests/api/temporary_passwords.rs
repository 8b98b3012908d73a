//! Temporary passwords (Keycloak's `UPDATE_PASSWORD` required action): set
//! by an administrator with `temporary: true`, they sign nobody in until the
//! user has chosen a new password on the page that follows the login form.

use reqwest::Method;
use reqwest::redirect::Policy;
use scraper::{Html, Selector};
use serde_json::json;

use crate::helpers::{Backend, TestApp, spawn_app_with};

const REALMS: &str = r#"
[[realms]]
name = "shop"
basic_auth = true
"#;

async fn password_grant(app: &TestApp, user: &str, password: &str) -> crate::helpers::Answer {
    let form = [("grant_type", "password"), ("client_id", "admin-cli"), ("username", user), ("password", password)];
    app.token("shop", None, &form).await
}

fn field(html: &str, css: &str, attr: &str) -> String {
    let doc = Html::parse_document(html);
    doc.select(&Selector::parse(css).unwrap()).next().and_then(|e| e.value().attr(attr)).unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_temporary_password_must_be_replaced_before_anything_else() {
    let Some(app) = spawn_app_with(Backend::Sqlite, REALMS).await else { return };
    let token = app.master_token().await;
    let body = json!({
        "username": "dora", "enabled": true,
        "credentials": [{"type": "password", "value": "temp-pw", "temporary": true}],
    });
    let created = app.admin(Method::POST, "/realms/shop/users", Some(&token), Some(&body.to_string())).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.header("location").unwrap().rsplit('/').next().unwrap().to_owned();
    let user = app.admin(Method::GET, &format!("/realms/shop/users/{id}"), Some(&token), None).await;
    assert_eq!(user.json["requiredActions"], json!(["UPDATE_PASSWORD"]));

    // The password grant refuses it, as Keycloak does, and so does HTTP Basic.
    let refused = password_grant(&app, "dora", "temp-pw").await;
    refused.assert_error(400, "invalid_grant");
    assert_eq!(refused.json["error_description"], "Account is not fully set up");
    let basic = app
        .http
        .get(app.realm_url("shop", "/protocol/openid-connect/userinfo"))
        .basic_auth("dora", Some("temp-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);

    // In the browser: the login form, then the new-password page.
    let http = reqwest::Client::builder().cookie_store(true).redirect(Policy::limited(5)).build().unwrap();
    let login = http.get(app.realm_url("shop", "/account")).send().await.unwrap().text().await.unwrap();
    let form = [
        ("state", field(&login, "input[name=state]", "value")),
        ("csrf", field(&login, "input[name=csrf]", "value")),
        ("username", "dora".into()),
        ("password", "temp-pw".into()),
    ];
    let update = http.post(field(&login, "form", "action")).form(&form).send().await.unwrap().text().await.unwrap();
    let action = field(&update, "form", "action");
    assert!(action.ends_with("/realms/shop/login-actions/required-action"), "{update}");
    assert!(!field(&update, "input[name=password-new]", "id").is_empty());
    let submit = |new: &str, confirm: &str| {
        [
            ("state", field(&update, "input[name=state]", "value")),
            ("csrf", field(&update, "input[name=csrf]", "value")),
            ("password-new", new.to_owned()),
            ("password-confirm", confirm.to_owned()),
        ]
    };
    // The temporary password itself is not a new one.
    let same = http.post(&action).form(&submit("temp-pw", "temp-pw")).send().await.unwrap().text().await.unwrap();
    assert!(same.contains("other than the temporary one"), "{same}");
    // Mismatched: the page again with the message; nothing changed.
    let again = http.post(&action).form(&submit("new-pw-1", "new-pw-2")).send().await.unwrap().text().await.unwrap();
    assert!(again.contains("The passwords do not match."), "{again}");
    let still = password_grant(&app, "dora", "temp-pw").await;
    assert_eq!(still.json["error_description"], "Account is not fully set up");
    assert_eq!(password_grant(&app, "dora", "new-pw-1").await.status, 400);

    // Matching: signed in, on to what the sign-in was for (the account page).
    let done = http.post(&action).form(&submit("new-pw-1", "new-pw-1")).send().await.unwrap();
    assert_eq!(done.status(), 200);
    assert!(done.url().path().ends_with("/realms/shop/account"), "{}", done.url());
    assert!(done.text().await.unwrap().contains("Signed in as"));

    // The old password is gone, the new one works, no action is due.
    assert_eq!(password_grant(&app, "dora", "temp-pw").await.status, 400);
    assert_eq!(password_grant(&app, "dora", "new-pw-1").await.status, 200);
    let user = app.admin(Method::GET, &format!("/realms/shop/users/{id}"), Some(&token), None).await;
    assert_eq!(user.json["requiredActions"], json!([]));

    // The audit log: the new password, and the browser sign-in completed once,
    // after it (the sign-in with the temporary password was not yet a LOGIN).
    let mut events = serde_json::Value::Null;
    for _ in 0..40 {
        events = app.admin(Method::GET, &format!("/realms/shop/events?user={id}"), Some(&token), None).await.json;
        if events.as_array().is_some_and(|e| e.iter().any(|e| e["type"] == "UPDATE_PASSWORD")) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let browser_logins =
        events.as_array().unwrap().iter().filter(|e| e["type"] == "LOGIN" && e["clientId"].is_null()).count();
    assert!(events.as_array().unwrap().iter().any(|e| e["type"] == "UPDATE_PASSWORD"), "{events}");
    assert_eq!(browser_logins, 1, "{events}");

    // The same form again (a replay) cannot set the password a second time.
    let replay = http.post(&action).form(&submit("other-pw", "other-pw")).send().await.unwrap();
    assert_eq!(replay.status(), 400);
    assert_eq!(password_grant(&app, "dora", "new-pw-1").await.status, 200);
}

#[tokio::test]
async fn a_new_temporary_password_voids_an_open_update_form() {
    let Some(app) = spawn_app_with(Backend::Sqlite, REALMS).await else { return };
    let token = app.master_token().await;
    let body = json!({
        "username": "finn", "enabled": true,
        "credentials": [{"type": "password", "value": "leaked-pw", "temporary": true}],
    });
    let created = app.admin(Method::POST, "/realms/shop/users", Some(&token), Some(&body.to_string())).await;
    let id = created.header("location").unwrap().rsplit('/').next().unwrap().to_owned();
    // Someone who knows the first temporary password opens the form…
    let http = reqwest::Client::builder().cookie_store(true).redirect(Policy::limited(5)).build().unwrap();
    let login = http.get(app.realm_url("shop", "/account")).send().await.unwrap().text().await.unwrap();
    let form = [
        ("state", field(&login, "input[name=state]", "value")),
        ("csrf", field(&login, "input[name=csrf]", "value")),
        ("username", "finn".into()),
        ("password", "leaked-pw".into()),
    ];
    let update = http.post(field(&login, "form", "action")).form(&form).send().await.unwrap().text().await.unwrap();
    // …then the administrator sets another one: the open form is void.
    let reset = json!({"type": "password", "value": "fresh-temp", "temporary": true}).to_string();
    app.admin(Method::PUT, &format!("/realms/shop/users/{id}/reset-password"), Some(&token), Some(&reset)).await;
    let fields = [
        ("state", field(&update, "input[name=state]", "value")),
        ("csrf", field(&update, "input[name=csrf]", "value")),
        ("password-new", "attacker-pw".to_owned()),
        ("password-confirm", "attacker-pw".to_owned()),
    ];
    let late = http.post(field(&update, "form", "action")).form(&fields).send().await.unwrap();
    assert_eq!(late.status(), 400);
    let still = password_grant(&app, "finn", "fresh-temp").await;
    assert_eq!(still.json["error_description"], "Account is not fully set up", "the new temporary one stands");
    assert_eq!(password_grant(&app, "finn", "attacker-pw").await.status, 400);
}

#[tokio::test]
async fn reset_password_and_required_actions_set_and_clear_the_flag() {
    let Some(app) = spawn_app_with(Backend::Sqlite, REALMS).await else { return };
    let token = app.master_token().await;
    let body = json!({"username": "eve", "enabled": true, "credentials": [{"type": "password", "value": "eve-pw"}]});
    let created = app.admin(Method::POST, "/realms/shop/users", Some(&token), Some(&body.to_string())).await;
    let id = created.header("location").unwrap().rsplit('/').next().unwrap().to_owned();
    assert_eq!(password_grant(&app, "eve", "eve-pw").await.status, 200);

    let reset = json!({"type": "password", "value": "eve-temp", "temporary": true}).to_string();
    let answer =
        app.admin(Method::PUT, &format!("/realms/shop/users/{id}/reset-password"), Some(&token), Some(&reset)).await;
    assert_eq!(answer.status, 204, "{}", answer.text);
    password_grant(&app, "eve", "eve-temp").await.assert_error(400, "invalid_grant");

    // An administrator may lift the requirement (Keycloak: requiredActions []).
    let lift = json!({"requiredActions": []}).to_string();
    let answer = app.admin(Method::PUT, &format!("/realms/shop/users/{id}"), Some(&token), Some(&lift)).await;
    assert_eq!(answer.status, 204, "{}", answer.text);
    assert_eq!(password_grant(&app, "eve", "eve-temp").await.status, 200);

    // …or set it again on the user.
    let due = json!({"requiredActions": ["UPDATE_PASSWORD"]}).to_string();
    app.admin(Method::PUT, &format!("/realms/shop/users/{id}"), Some(&token), Some(&due)).await;
    password_grant(&app, "eve", "eve-temp").await.assert_error(400, "invalid_grant");
}

/// A temporary password set while the user is signed in (an admin's reset)
/// ends single sign-on for that user everywhere: `prompt=none` answers
/// `login_required`, the account page asks for a sign-in, which with the
/// temporary password leads to the new-password page.
#[tokio::test]
async fn a_temporary_password_set_during_a_session_ends_single_sign_on() {
    use crate::browser::{Browser, auth_url};
    use crate::browser_rules::{WEB_REQUEST, code, with};
    let Some(app) = crate::helpers::spawn_app(Backend::Sqlite).await else { return };
    let browser = Browser::new();
    code(&app, &browser, &WEB_REQUEST).await;
    let other = Browser::new();
    code(&app, &other, &WEB_REQUEST).await;

    let token = app.master_token().await;
    let users = app.admin(Method::GET, "/realms/acme/users?username=alice&exact=true", Some(&token), None).await;
    let id = users.json[0]["id"].as_str().unwrap().to_owned();
    let reset = json!({"type": "password", "value": "temp-pw", "temporary": true}).to_string();
    let path = format!("/realms/acme/users/{id}/reset-password");
    assert_eq!(app.admin(Method::PUT, &path, Some(&token), Some(&reset)).await.status, 204);

    let silent = browser.get(&auth_url(&app, "acme", &with(&WEB_REQUEST, &[("prompt", "none")]))).await;
    assert_eq!(silent.status, 302, "{}", silent.body);
    let answer = silent.redirect_params();
    assert_eq!(answer["error"], "login_required", "{answer:?}");
    assert!(!answer.contains_key("code"));
    let account = browser.get(&app.realm_url("acme", "/account")).await;
    assert!(account.is_login_page(), "the account page asks for a sign-in: {}", account.body);

    let login = browser.get(&auth_url(&app, "acme", &WEB_REQUEST)).await;
    assert!(login.is_login_page(), "{}", login.body);
    let update = browser.login(&login, "alice", "temp-pw").await;
    assert_eq!(update.status, 200, "{}", update.body);
    let mut form = update.form();
    assert!(form.action.ends_with("/realms/acme/login-actions/required-action"), "{}", update.body);
    form.fields.insert("password-new".into(), "chosen-pw-1".into());
    form.fields.insert("password-confirm".into(), "chosen-pw-1".into());
    let done = browser.submit(&form).await;
    assert_eq!(done.status, 302, "{}", done.body);
    assert!(done.redirect_params().contains_key("code"), "{:?}", done.location());
    // And single sign-on goes on as before, in this browser only: the other
    // session the reset shut out does not come back with the new password.
    let again = browser.get(&auth_url(&app, "acme", &with(&WEB_REQUEST, &[("prompt", "none")]))).await;
    assert!(again.redirect_params().contains_key("code"), "{:?}", again.location());
    let shut_out = other.get(&auth_url(&app, "acme", &with(&WEB_REQUEST, &[("prompt", "none")]))).await;
    assert_eq!(shut_out.redirect_params()["error"], "login_required", "{:?}", shut_out.location());
}
