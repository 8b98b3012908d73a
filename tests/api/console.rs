//! The admin console over HTTP (issue 6): sign-in through `master`, CSRF on
//! every form, refused changes shown next to the field and changing
//! nothing, confirmations before destructive actions, and that each change
//! is the one the admin API then reports.

use reqwest::Method;
use reqwest::redirect::Policy;
use scraper::{Html, Selector};
use serde_json::json;

use crate::helpers::{Backend, TestApp, spawn_app_with};

const REALMS: &str = r#"
[[realms]]
name = "shop"

  [[realms.roles]]
  name = "customer"

  [[realms.users]]
  username = "alice"
  password = "alice-pw"

  [[realms.clients]]
  client_id = "web"
  secret = "web-secret"
  redirect_uris = ["http://127.0.0.1:9/cb"]
"#;

/// A browser signed in to the console.
struct Console {
    http: reqwest::Client,
    base: String,
    csrf: String,
}

struct Page {
    status: u16,
    url: String,
    html: String,
}

impl Page {
    fn select(&self, css: &str) -> Vec<String> {
        let doc = Html::parse_document(&self.html);
        doc.select(&Selector::parse(css).unwrap()).map(|e| e.text().collect::<String>().trim().to_owned()).collect()
    }

    fn attr(&self, css: &str, name: &str) -> Option<String> {
        let doc = Html::parse_document(&self.html);
        doc.select(&Selector::parse(css).unwrap()).next().and_then(|e| e.value().attr(name).map(str::to_owned))
    }
}

async fn page(response: reqwest::Response) -> Page {
    Page { status: response.status().as_u16(), url: response.url().to_string(), html: response.text().await.unwrap() }
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(Policy::limited(5)).build().unwrap()
}

/// Signs in through the console's redirect to the `master` login page.
async fn sign_in_with(http: reqwest::Client, app: &TestApp, user: &str, password: &str) -> (Console, Page) {
    let login = page(http.get(format!("{}/admin/console/", app.base)).send().await.unwrap()).await;
    assert!(login.url.ends_with("/realms/master/login-actions/console"), "{}", login.url);
    let action = login.attr("form", "action").expect("the login form");
    let form = [
        ("state", login.attr("input[name=state]", "value").unwrap()),
        ("csrf", login.attr("input[name=csrf]", "value").unwrap()),
        ("username", user.to_owned()),
        ("password", password.to_owned()),
    ];
    let landed = page(http.post(action).form(&form).send().await.unwrap()).await;
    let csrf = landed.attr("input[name=csrf]", "value").unwrap_or_default();
    (Console { http, base: format!("{}/admin/console", app.base), csrf }, landed)
}

async fn sign_in(app: &TestApp) -> Console {
    let (console, home) = sign_in_with(browser(), app, "admin", "admin-pw").await;
    assert_eq!(home.status, 200, "{}", home.html);
    assert!(home.url.ends_with("/admin/console/"), "{}", home.url);
    console
}

impl Console {
    async fn get(&self, tail: &str) -> Page {
        page(self.http.get(format!("{}/{tail}", self.base)).send().await.unwrap()).await
    }

    /// Submits a form with this browser's CSRF token.
    async fn post(&self, tail: &str, fields: &[(&str, &str)]) -> Page {
        let mut form: Vec<(&str, &str)> = vec![("csrf", &self.csrf)];
        form.extend_from_slice(fields);
        page(self.http.post(format!("{}/{tail}", self.base)).form(&form).send().await.unwrap()).await
    }
}

async fn rest(app: &TestApp, path: &str) -> serde_json::Value {
    let answer = app.admin(Method::GET, path, Some(&app.master_token().await), None).await;
    assert_eq!(answer.status, 200, "{path}: {}", answer.text);
    answer.json
}

async fn client_uuid(app: &TestApp, client_id: &str) -> Option<String> {
    let found = rest(app, &format!("/realms/shop/clients?clientId={client_id}")).await;
    found[0]["id"].as_str().map(str::to_owned)
}

#[tokio::test]
async fn the_console_signs_in_through_master_and_keeps_out_others() {
    let Some(app) = spawn_app_with(Backend::Sqlite, REALMS).await else { return };
    // Without a session: to the master realm's sign-in, never a console page.
    let bare = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
    let answer = bare.get(format!("{}/admin/console/realms/shop/clients", app.base)).send().await.unwrap();
    assert_eq!(answer.status(), 303);
    assert_eq!(answer.headers()["location"], "/realms/master/login-actions/console");
    let answer = bare
        .post(format!("{}/admin/console/realms/shop/clients", app.base))
        .form(&[("client_id", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 303);
    // Only master has a console sign-in.
    let answer = bare.get(format!("{}/realms/shop/login-actions/console", app.base)).send().await.unwrap();
    assert_eq!(answer.status(), 404);

    // The administrator: pages carry the strict CSP and are never cached.
    let console = sign_in(&app).await;
    let response = console.http.get(format!("{}/realms/shop/users", console.base)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    assert_eq!(response.headers()["cache-control"], "no-store");
    // A form too large for the console is a page of its own, not JSON.
    let huge = "x".repeat(2 * 1024 * 1024);
    let too_large = console.post("realms/shop/users", &[("action", "create"), ("first_name", &huge)]).await;
    assert_eq!(too_large.status, 400);
    assert!(too_large.html.contains("The form is too large"), "{}", &too_large.html[..too_large.html.len().min(300)]);
    // A realm's page without its trailing slash, a list with one: led where meant.
    let settings = console.get("realms/shop").await;
    assert!(settings.status == 200 && settings.url.ends_with("/admin/console/realms/shop/"), "{}", settings.url);
    let users = console.get("realms/shop/users/").await;
    assert!(users.status == 200 && users.url.ends_with("/admin/console/realms/shop/users"), "{}", users.url);

    // A wrong password stays on the login page.
    let (_, again) = sign_in_with(browser(), &app, "admin", "wrong").await;
    assert!(again.url.contains("/realms/master/login-actions/authenticate"), "{}", again.url);
    assert!(!again.select("#login-error").is_empty());

    // A master user without administrator rights: signed in, but refused.
    let token = app.master_token().await;
    let body =
        json!({"username": "mallory", "enabled": true, "credentials": [{"type": "password", "value": "mallory-pw"}]});
    let created = app.admin(Method::POST, "/realms/master/users", Some(&token), Some(&body.to_string())).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let (_, refused) = sign_in_with(browser(), &app, "mallory", "mallory-pw").await;
    assert_eq!(refused.status, 403, "{}", refused.html);

    // One with `view-users` alone: led to the users, offered only the
    // sections its role opens (it was led to a 403 settings page).
    let body =
        json!({"username": "viewer", "enabled": true, "credentials": [{"type": "password", "value": "viewer-pw"}]});
    let created = app.admin(Method::POST, "/realms/master/users", Some(&token), Some(&body.to_string())).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let location = created.header("location").unwrap().to_owned();
    let viewer_id = location.rsplit('/').next().unwrap();
    let clients = app.admin(Method::GET, "/realms/master/clients?clientId=realm-management", Some(&token), None).await;
    let management = clients.json[0]["id"].as_str().unwrap().to_owned();
    let roles_path = format!("/realms/master/clients/{management}/roles");
    let roles = app.admin(Method::GET, &roles_path, Some(&token), None).await;
    let role = roles.json.as_array().unwrap().iter().find(|r| r["name"] == "view-users").unwrap().clone();
    let grant = json!([{"id": role["id"], "name": "view-users"}]).to_string();
    let mapping = format!("/realms/master/users/{viewer_id}/role-mappings/clients/{management}");
    assert_eq!(app.admin(Method::POST, &mapping, Some(&token), Some(&grant)).await.status, 204);
    let (viewer, home) = sign_in_with(browser(), &app, "viewer", "viewer-pw").await;
    assert_eq!(home.status, 200, "{}", home.html);
    assert_eq!(home.attr("#realms a", "href").unwrap(), "/admin/console/realms/master/users");
    let users = viewer.get("realms/master/users").await;
    assert_eq!(users.status, 200);
    let tabs: Vec<String> = users.select("nav.tabs a[aria-current]");
    assert_eq!(tabs, vec!["Users".to_owned(), "Roles".to_owned()], "{}", users.html);
    assert!(users.select("#create-title").is_empty(), "no form it may not use: {}", users.html);
    // Read-only where its role only reads: a user's page shows the fields
    // disabled and none of the forms that would answer 403; the roles page
    // (every administrator reads it) is a plain list.
    let user = viewer.get(&format!("realms/master/users/{viewer_id}")).await;
    assert_eq!(user.status, 200);
    assert_eq!(user.select("fieldset.bare[disabled] #email").len(), 1, "{}", user.html);
    assert!(user.select("button").iter().all(|b| b.trim() == "Sign out"), "{}", user.html);
    let own_session = user.select("#sessions li div");
    assert!(own_session.iter().any(|s| s.contains("from 127.0.0.1")), "the console's own session: {}", user.html);
    let roles = viewer.get("realms/master/roles").await;
    assert!(!roles.select("#roles li strong").is_empty(), "{}", roles.html);
    assert!(roles.select("#roles form").is_empty() && roles.select("#create-title").is_empty(), "{}", roles.html);
    let managed = console.get("realms/master/roles").await;
    assert_eq!(managed.select("#roles form").len(), managed.select("#roles li").len(), "{}", managed.html);
    assert_eq!(managed.select("#create-title").len(), 1);
    let managed = console.get(&format!("realms/master/users/{viewer_id}")).await;
    assert!(managed.select("fieldset[disabled]").is_empty() && managed.select("#password-title").len() == 1);
    // The realm-management roles, granted and taken away there as the REST
    // API's client role mappings do.
    assert_eq!(managed.select("#held-admin-roles li strong"), vec!["view-users".to_owned()]);
    let options = managed.select("#admin_role option");
    assert!(options.contains(&"realm-admin".to_owned()) && !options.contains(&"view-users".to_owned()), "{options:?}");
    let user_page = format!("realms/master/users/{viewer_id}");
    let granted = console.post(&user_page, &[("action", "add-admin-role"), ("admin_role", "view-clients")]).await;
    assert_eq!(granted.status, 200);
    assert_eq!(granted.select("#notice"), vec!["Role assigned.".to_owned()]);
    let held = |json: serde_json::Value| -> Vec<String> {
        json.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_owned()).collect()
    };
    let mapping_path = format!("/realms/master/users/{viewer_id}/role-mappings/clients/{management}");
    assert_eq!(held(rest(&app, &mapping_path).await), ["view-users", "view-clients"]);
    let unknown = console.post(&user_page, &[("action", "add-admin-role"), ("admin_role", "root")]).await;
    assert_eq!(unknown.status, 400);
    let taken = console.post(&user_page, &[("action", "remove-admin-role"), ("admin_role", "view-clients")]).await;
    assert_eq!(taken.select("#notice"), vec!["Role removed.".to_owned()]);
    assert_eq!(held(rest(&app, &mapping_path).await), ["view-users"]);
    // The viewer may not grant what it does not hold (nor change users at all).
    let refused = viewer.post(&user_page, &[("action", "add-admin-role"), ("admin_role", "realm-admin")]).await;
    assert_eq!(refused.status, 403);
    assert_eq!(held(rest(&app, &mapping_path).await), ["view-users"]);
    // Given manage-users, it is offered "Remove" only for roles it could grant.
    let all_roles = app.admin(Method::GET, &roles_path, Some(&token), None).await.json;
    let manage = all_roles.as_array().unwrap().iter().find(|r| r["name"] == "manage-users").unwrap().clone();
    let grant = json!([{"id": manage["id"], "name": "manage-users"}]).to_string();
    assert_eq!(app.admin(Method::POST, &mapping, Some(&token), Some(&grant)).await.status, 204);
    let body = json!({"username": "target", "enabled": true}).to_string();
    let created = app.admin(Method::POST, "/realms/master/users", Some(&token), Some(&body)).await;
    let target = created.header("location").unwrap().rsplit('/').next().unwrap().to_owned();
    let target_page = format!("realms/master/users/{target}");
    for role in ["manage-users", "view-clients"] {
        let added = console.post(&target_page, &[("action", "add-admin-role"), ("admin_role", role)]).await;
        assert_eq!(added.select("#notice"), vec!["Role assigned.".to_owned()]);
    }
    let seen = viewer.get(&target_page).await;
    assert_eq!(seen.select("#held-admin-roles li strong"), ["manage-users", "view-clients"], "{}", seen.html);
    // target holds a right the viewer lacks: its profile, password, sessions
    // and existence are not the viewer's to change, and no form offers to.
    assert_eq!(seen.select("fieldset.bare[disabled] #email").len(), 1, "{}", seen.html);
    assert!(seen.select("#password-title").is_empty(), "{}", seen.html);
    assert!(seen.select("button.danger").is_empty(), "{}", seen.html);
    // Nor does a hand-made request get as far as a question.
    assert_eq!(viewer.post(&target_page, &[("action", "delete")]).await.status, 403);
    assert_eq!(viewer.post("realms/master/", &[("action", "logout-all")]).await.status, 403);
    // master's `admin` role is offered to nobody but its holders: no Remove
    // on the administrator's page, not among the roles to assign.
    let found = app.admin(Method::GET, "/realms/master/users?username=admin&exact=true", Some(&token), None).await;
    let admin_page = viewer.get(&format!("realms/master/users/{}", found.json[0]["id"].as_str().unwrap())).await;
    assert_eq!(admin_page.select("#held-roles li strong"), ["admin"], "{}", admin_page.html);
    assert!(admin_page.select("#held-roles form").is_empty(), "{}", admin_page.html);
    assert!(!viewer.get(&target_page).await.select("#role option").contains(&"admin".to_owned()));
    let removable = seen.select("#held-admin-roles input[name=admin_role]");
    assert_eq!(removable.len(), 1, "{}", seen.html);
    assert_eq!(seen.attr("#held-admin-roles input[name=admin_role]", "value").as_deref(), Some("manage-users"));
    // `query-users` alone lists nobody, as the REST API's search.
    let body =
        json!({"username": "querier", "enabled": true, "credentials": [{"type": "password", "value": "querier-pw"}]});
    let created = app.admin(Method::POST, "/realms/master/users", Some(&token), Some(&body.to_string())).await;
    let querier_id = created.header("location").unwrap().rsplit('/').next().unwrap().to_owned();
    let query_role = all_roles.as_array().unwrap().iter().find(|r| r["name"] == "query-users").unwrap().clone();
    let grant = json!([{"id": query_role["id"], "name": "query-users"}]).to_string();
    let querier_roles = format!("/realms/master/users/{querier_id}/role-mappings/clients/{management}");
    assert_eq!(app.admin(Method::POST, &querier_roles, Some(&token), Some(&grant)).await.status, 204);
    let (querier, _) = sign_in_with(browser(), &app, "querier", "querier-pw").await;
    let listed = querier.get("realms/master/users").await;
    assert_eq!(listed.status, 200, "{}", listed.html);
    assert!(listed.select("#users li").is_empty(), "{}", listed.html);
    assert!(!console.get("realms/master/users").await.select("#users li").is_empty());
    let removed = viewer.post(&target_page, &[("action", "remove-admin-role"), ("admin_role", "manage-users")]).await;
    assert_eq!(removed.status, 200, "the button offered works: {}", removed.html);
    assert_eq!(removed.select("#held-admin-roles li strong"), ["view-clients"], "{}", removed.html);

    // Signing out ends the master session: back to the login page.
    let out = console.post("sign-out", &[]).await;
    assert!(out.url.ends_with("/realms/master/login-actions/console"), "{}", out.url);
    assert!(out.html.contains("name=\"password\""));
}

#[tokio::test]
async fn an_existing_master_session_opens_the_console_without_a_password() {
    let Some(app) = spawn_app_with(Backend::Sqlite, REALMS).await else { return };
    let http = browser();
    // Sign in to master's account page first: that starts the SSO session.
    let login = page(http.get(app.realm_url("master", "/account")).send().await.unwrap()).await;
    let form = [
        ("state", login.attr("input[name=state]", "value").unwrap()),
        ("csrf", login.attr("input[name=csrf]", "value").unwrap()),
        ("username", "admin".to_owned()),
        ("password", "admin-pw".to_owned()),
    ];
    let account = page(http.post(login.attr("form", "action").unwrap()).form(&form).send().await.unwrap()).await;
    assert_eq!(account.status, 200);
    let home = page(http.get(format!("{}/admin/console/", app.base)).send().await.unwrap()).await;
    assert_eq!(home.status, 200);
    assert!(home.url.ends_with("/admin/console/"), "{}", home.url);
    assert!(home.select("#realms").iter().any(|t| t.contains("shop")));
}

#[tokio::test]
async fn console_forms_need_the_csrf_token_and_refusals_change_nothing() {
    let Some(app) = spawn_app_with(Backend::Sqlite, REALMS).await else { return };
    let mut console = sign_in(&app).await;
    let good = console.csrf.clone();

    // No or a wrong CSRF token: 400 and nothing created.
    console.csrf = "forged".into();
    let forged = console.post("realms/shop/clients", &[("client_id", "forged-app")]).await;
    assert_eq!(forged.status, 400);
    assert_eq!(client_uuid(&app, "forged-app").await, None);
    console.csrf = good;

    // Bytes that are no UTF-8: 400, not a role named with U+FFFD.
    let body = format!("csrf={}&action=create&name=%ff%fe&scopes=", console.csrf);
    let mangled = console
        .http
        .post(format!("{}/realms/shop/roles", console.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(mangled.status(), 400);
    let roles = rest(&app, "/realms/shop/roles").await;
    assert!(roles.as_array().unwrap().iter().all(|r| !r["name"].as_str().unwrap().contains('\u{fffd}')), "{roles}");

    // Actions on a realm or role that does not exist: 404, not an error
    // (rotating a missing realm's key was a 500) nor a question.
    for (tail, action) in [
        ("realms/nope/", "rotate-key"),
        ("realms/nope/", "delete-realm"),
        ("realms/nope/", "logout-all"),
        ("realms/shop/roles", "delete"),
        ("realms/shop/scopes", "delete"),
    ] {
        let answer = console.post(tail, &[("action", action), ("id", "no-such-id"), ("name", "x")]).await;
        assert_eq!(answer.status, 404, "{tail} {action}: {}", answer.html);
    }

    // A refused change: 400, the message next to its field, nothing created.
    let bad = console.post("realms/shop/clients", &[("client_id", "new-app"), ("redirect_uri", "not a uri")]).await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.attr("#redirect_uri", "aria-invalid").as_deref(), Some("true"));
    assert!(
        bad.select("#redirect_uri-error")[0].contains("not an absolute URI"),
        "{:?}",
        bad.select("#redirect_uri-error")
    );
    assert_eq!(bad.attr("#client_id", "value").as_deref(), Some("new-app"), "what was typed is kept");
    assert_eq!(client_uuid(&app, "new-app").await, None);
    let dup = console.post("realms/shop/clients", &[("client_id", "web")]).await;
    assert_eq!(dup.status, 400);
    assert_eq!(dup.select("#client_id-error"), vec!["Client web already exists".to_owned()]);

    // Realm settings: a duration that is not one is refused, nothing changes.
    let before = rest(&app, "/realms/shop").await;
    let settings = console.get("realms/shop/").await;
    let mut fields = settings_fields(&settings);
    let mut wrong = fields.clone();
    set(&mut wrong, "access_token_lifetime", Some("soon"));
    let borrowed: Vec<(&str, &str)> = wrong.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let refused = console.post("realms/shop/", &borrowed).await;
    assert_eq!(refused.status, 400);
    assert!(!refused.select("#access_token_lifetime-error").is_empty());
    assert_eq!(rest(&app, "/realms/shop").await, before);

    // …and a good one is saved, as the admin API then reports.
    set(&mut fields, "access_token_lifetime", Some("10m"));
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let saved = console.post("realms/shop/", &borrowed).await;
    assert_eq!(saved.status, 200);
    assert_eq!(saved.select("#notice"), vec!["Saved.".to_owned()]);
    let after = rest(&app, "/realms/shop").await;
    assert_eq!(after["accessTokenLifespan"], 600);
    assert_eq!(after["ssoSessionMaxLifespan"], before["ssoSessionMaxLifespan"]);
    assert_eq!(after["attributes"]["realmgate.basicAuth"], "false");

    // Every setting the REST API has: the device grant's, the reuse grace,
    // and which credentials the realm's APIs take.
    let settings = console.get("realms/shop/").await;
    assert_eq!(settings.attr("#device_code_lifetime", "value").as_deref(), Some("10m"));
    assert_eq!(settings.attr("#refresh_token_reuse_grace", "value").as_deref(), Some("0s"));
    let mut fields = settings_fields(&settings);
    set(&mut fields, "device_code_lifetime", Some("15m"));
    set(&mut fields, "device_poll_interval", Some("7s"));
    set(&mut fields, "refresh_token_reuse_grace", Some("2s"));
    set(&mut fields, "basic_auth", Some("on"));
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(console.post("realms/shop/", &borrowed).await.status, 200);
    let after = rest(&app, "/realms/shop").await;
    assert_eq!(
        (after["oauth2DeviceCodeLifespan"].as_i64(), after["oauth2DevicePollingInterval"].as_i64()),
        (Some(900), Some(7))
    );
    assert_eq!(after["attributes"]["realmgate.refreshTokenReuseGrace"], "2");
    assert_eq!(after["attributes"]["realmgate.basicAuth"], "true");
    assert_eq!(after["attributes"]["realmgate.queryTokens"], "false");
    assert_eq!(after["accessTokenLifespan"], 600, "the rest as it was");
    let settings = console.get("realms/shop/").await;
    assert!(settings.attr("#basic_auth", "checked").is_some());
    assert_eq!(settings.attr("#refresh_token_reuse_grace", "value").as_deref(), Some("2s"));
}

/// The realm settings form as the page shows it, ready to send back.
fn settings_fields(settings: &Page) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = [
        "display_name",
        "access_token_lifetime",
        "id_token_lifetime",
        "refresh_token_lifetime",
        "auth_code_lifetime",
        "sso_session_idle",
        "sso_session_max",
        "device_code_lifetime",
        "device_poll_interval",
        "refresh_token_reuse_grace",
        "event_types",
        "events_expiration",
        "default_scopes",
        "optional_scopes",
    ]
    .iter()
    .map(|f| (f.to_string(), settings.attr(&format!("#{f}"), "value").unwrap()))
    .collect();
    for check in ["events_enabled", "admin_events_enabled", "query_tokens", "basic_auth"] {
        if settings.attr(&format!("#{check}"), "checked").is_some() {
            fields.push((check.into(), "on".into()));
        }
    }
    fields.push(("signing_algorithm".into(), "RS256".into()));
    fields.push(("enabled".into(), "on".into()));
    fields.push(("action".into(), "save".into()));
    fields
}

fn set(fields: &mut Vec<(String, String)>, name: &str, value: Option<&str>) {
    fields.retain(|(k, _)| k != name);
    if let Some(value) = value {
        fields.push((name.into(), value.into()));
    }
}

#[tokio::test]
async fn the_console_changes_the_realms_event_settings() {
    let Some(app) = spawn_app_with(Backend::Sqlite, REALMS).await else { return };
    let console = sign_in(&app).await;
    let settings = console.get("realms/shop/").await;
    assert!(settings.attr("#events_enabled", "checked").is_some(), "stored by default");
    assert!(settings.attr("#admin_events_enabled", "checked").is_some());
    assert_eq!(settings.attr("#event_types", "value").as_deref(), Some(""));
    assert_eq!(settings.attr("#events_expiration", "value").as_deref(), Some(""));
    let before = rest(&app, "/realms/shop/events/config").await;

    let mut fields = settings_fields(&settings);
    set(&mut fields, "event_types", Some("LOGIN, LOGIN_ERROR"));
    set(&mut fields, "events_expiration", Some("soon"));
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let refused = console.post("realms/shop/", &borrowed).await;
    assert_eq!(refused.status, 400);
    assert!(!refused.select("#events_expiration-error").is_empty(), "{}", refused.html);
    set(&mut fields, "events_expiration", Some("2h"));
    set(&mut fields, "event_types", Some("login"));
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let refused = console.post("realms/shop/", &borrowed).await;
    assert_eq!(refused.status, 400);
    assert!(!refused.select("#event_types-error").is_empty(), "{}", refused.html);
    assert_eq!(rest(&app, "/realms/shop/events/config").await, before, "refusals change nothing");

    set(&mut fields, "event_types", Some("LOGIN, LOGIN_ERROR"));
    set(&mut fields, "admin_events_enabled", None);
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let saved = console.post("realms/shop/", &borrowed).await;
    assert_eq!(saved.status, 200, "{}", saved.html);
    let config = rest(&app, "/realms/shop/events/config").await;
    assert_eq!(config["enabledEventTypes"], json!(["LOGIN", "LOGIN_ERROR"]));
    assert_eq!(config["eventsExpiration"], 7200);
    assert_eq!(config["eventsEnabled"], true);
    assert_eq!(config["adminEventsEnabled"], false);
    assert!(saved.attr("#admin_events_enabled", "checked").is_none(), "the page shows what is stored");
    assert_eq!(saved.attr("#event_types", "value").as_deref(), Some("LOGIN LOGIN_ERROR"));
    assert_eq!(saved.attr("#events_expiration", "value").as_deref(), Some("2h"));
    let realm_updates = |log: serde_json::Value| {
        log.as_array()
            .unwrap()
            .iter()
            .filter(|e| e["operationType"] == "UPDATE" && e["resourceType"] == "REALM")
            .count()
    };
    let log = rest(&app, "/realms/shop/admin-events").await;
    assert_eq!(realm_updates(log), 1, "switching admin changes off is itself recorded");

    // Emptied again: every type, the server's retention.
    let mut fields = settings_fields(&saved);
    set(&mut fields, "event_types", Some(""));
    set(&mut fields, "events_expiration", Some(""));
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(console.post("realms/shop/", &borrowed).await.status, 200);
    let config = rest(&app, "/realms/shop/events/config").await;
    assert_eq!(config["enabledEventTypes"], json!([]));
    assert_eq!(config["eventsExpiration"], 0, "no retention of the realm's own, as Keycloak says never");
    let log = rest(&app, "/realms/shop/admin-events").await;
    assert_eq!(realm_updates(log), 1, "a change while off is not");
    assert_eq!(console.get("realms/shop/").await.attr("#events_expiration", "value").as_deref(), Some(""));
}

#[tokio::test]
async fn the_console_imports_a_keycloak_realm_export() {
    let Some(app) = spawn_app_with(Backend::Sqlite, REALMS).await else { return };
    let console = sign_in(&app).await;
    let home = console.get("").await;
    assert!(home.attr("#export", "name").is_some(), "the import form is on the realms page");

    let not_json = console.post("", &[("action", "import"), ("export", "realm = \"toml\"")]).await;
    assert_eq!(not_json.status, 400);
    assert!(!not_json.select("#export-error").is_empty(), "{}", not_json.html);

    let refused = json!({"realm": "crm", "groups": [{"name": "sales"}]}).to_string();
    let page = console.post("", &[("action", "import"), ("export", &refused)]).await;
    assert_eq!(page.status, 400);
    assert!(page.select("#export-error")[0].contains("groups"), "{:?}", page.select("#export-error"));
    assert!(page.html.contains("sales"), "what was pasted is kept");
    let master = app.master_token().await;
    assert_eq!(app.admin(Method::GET, "/realms/crm", Some(&master), None).await.status, 404);

    let export = json!({
        "realm": "crm",
        "clients": [{"clientId": "account"}, {"clientId": "crm-web", "secret": "crm-secret",
                     "directAccessGrantsEnabled": true, "redirectUris": ["http://127.0.0.1:9/crm"]}],
        "users": [{"username": "dora", "enabled": true, "credentials": [{"type": "password", "value": "dora-pw"}]}],
    })
    .to_string();
    let imported = console.post("", &[("action", "import"), ("export", &export)]).await;
    assert_eq!(imported.status, 200, "{}", imported.html);
    assert!(imported.url.ends_with("/admin/console/realms/crm/?done=imported"), "{}", imported.url);
    assert_eq!(imported.select("#notice"), vec!["Imported.".to_owned()]);
    let tokens = app.password_grant("crm", ("crm-web", "crm-secret"), ("dora", "dora-pw"), "openid").await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    let log = rest(&app, "/realms/crm/admin-events").await;
    assert!(log.as_array().unwrap().iter().any(|e| e["operationType"] == "CREATE"), "{log}");
}

#[tokio::test]
async fn destructive_actions_are_confirmed_and_everything_is_audited() {
    let Some(app) = spawn_app_with(Backend::Sqlite, REALMS).await else { return };
    let console = sign_in(&app).await;
    let web = client_uuid(&app, "web").await.unwrap();
    let tail = format!("realms/shop/clients/{web}");

    // Delete asks first; the client is still there.
    let asked = console.post(&tail, &[("action", "delete")]).await;
    assert_eq!(asked.status, 200);
    assert!(asked.select("h1")[0].contains("Delete the client web?"));
    assert!(client_uuid(&app, "web").await.is_some());
    let secret_before = rest(&app, &format!("/realms/shop/clients/{web}/client-secret")).await;
    let asked = console.post(&tail, &[("action", "regenerate-secret")]).await;
    assert!(asked.select("h1")[0].contains("Regenerate the secret"));
    assert_eq!(rest(&app, &format!("/realms/shop/clients/{web}/client-secret")).await, secret_before);

    // Confirmed: gone.
    let deleted = console.post(&tail, &[("action", "delete"), ("confirm", "yes")]).await;
    assert!(deleted.url.ends_with("/realms/shop/clients?done=deleted"), "{}", deleted.url);
    assert_eq!(client_uuid(&app, "web").await, None);

    // Keys: rotation makes a new active key and keeps the old one published.
    let keys_before = rest(&app, "/realms/shop/keys").await;
    let rotated = console.post("realms/shop/", &[("action", "rotate-key")]).await;
    assert!(rotated.select("#notice")[0].starts_with("A new signing key"));
    let keys_after = rest(&app, "/realms/shop/keys").await;
    assert_ne!(keys_after["active"]["RS256"], keys_before["active"]["RS256"]);
    assert_eq!(keys_after["keys"].as_array().unwrap().len(), 2);

    // A user: created, password set (twice the same), and it signs in with it.
    let created = console.post("realms/shop/users", &[("username", "carol"), ("password", "")]).await;
    assert!(created.url.contains("/realms/shop/users/"), "{}", created.url);
    let carol = created.url.rsplit('/').next().unwrap().split('?').next().unwrap().to_owned();
    let user_tail = format!("realms/shop/users/{carol}");
    let differ = console
        .post(&user_tail, &[("action", "set-password"), ("password", "a-pw"), ("password_confirm", "b-pw")])
        .await;
    assert_eq!(differ.status, 400);
    assert_eq!(differ.select("#password-error"), vec!["The two passwords differ.".to_owned()]);
    console
        .post(&user_tail, &[("action", "set-password"), ("password", "carol-pw"), ("password_confirm", "carol-pw")])
        .await;
    let form =
        [("grant_type", "password"), ("client_id", "admin-cli"), ("username", "carol"), ("password", "carol-pw")];
    let carol_tokens = app.token("shop", None, &form).await;
    assert_eq!(carol_tokens.status, 200, "{}", carol_tokens.json);

    // Signing everyone out asks first (carol's grant lives on), then ends it.
    let refresh = |token| [("grant_type", "refresh_token"), ("client_id", "admin-cli"), ("refresh_token", token)];
    let asked = console.post("realms/shop/", &[("action", "logout-all")]).await;
    assert!(asked.select("h1")[0].contains("Sign everyone out of shop?"), "{}", asked.html);
    let refreshed = app.token("shop", None, &refresh(carol_tokens.str("refresh_token"))).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.json);
    let signed_out = console.post("realms/shop/", &[("action", "logout-all"), ("confirm", "yes")]).await;
    assert!(signed_out.select("#notice")[0].starts_with("Every session of this realm has ended"));
    app.token("shop", None, &refresh(refreshed.str("refresh_token"))).await.assert_error(400, "invalid_grant");

    // Roles and scopes, with `implies`.
    let made =
        console.post("realms/shop/scopes", &[("action", "create"), ("name", "orders.read"), ("implies", "")]).await;
    assert_eq!(made.status, 200, "{}", made.html);
    let made = console
        .post("realms/shop/scopes", &[("action", "create"), ("name", "orders.write"), ("implies", "orders.read nope")])
        .await;
    assert_eq!(made.status, 400);
    assert!(made.select("#new-implies-error")[0].contains("nope"));
    console
        .post("realms/shop/scopes", &[("action", "create"), ("name", "orders.write"), ("implies", "orders.read")])
        .await;
    let scopes = rest(&app, "/realms/shop/client-scopes").await;
    let write = scopes.as_array().unwrap().iter().find(|s| s["name"] == "orders.write").expect("the new scope");
    assert_eq!(write["attributes"]["realmgate.implies"], "orders.read");
    console.post("realms/shop/roles", &[("action", "create"), ("name", "clerk"), ("scopes", "orders.write")]).await;
    let role = rest(&app, "/realms/shop/roles/clerk").await;
    assert_eq!(role["attributes"]["scopes"], json!(["orders.write"]));

    // Every change is in the admin log, made by the console's administrator.
    let log = rest(&app, "/realms/shop/admin-events").await;
    let kinds: Vec<String> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{} {}", e["operationType"].as_str().unwrap(), e["resourceType"].as_str().unwrap()))
        .collect();
    let expected =
        ["DELETE CLIENT", "CREATE USER", "ACTION USER", "ACTION REALM", "CREATE CLIENT_SCOPE", "CREATE REALM_ROLE"];
    for expected in expected {
        assert!(kinds.iter().any(|k| k == expected), "{expected} missing from {kinds:?}");
    }
    assert!(log.as_array().unwrap().iter().all(|e| e["authDetails"]["clientId"] == "security-admin-console"));
    // Saving a role keeps the attributes its form does not show.
    let master = app.master_token().await;
    let body = json!({"attributes": {"scopes": ["orders.write"], "team": ["blue"]}}).to_string();
    assert_eq!(app.admin(Method::PUT, "/realms/shop/roles/clerk", Some(&master), Some(&body)).await.status, 204);
    let id = role["id"].as_str().unwrap();
    let fields = [("action", "save"), ("id", id), ("name", "clerk"), ("description", "Counter"), ("scopes", "")];
    assert_eq!(console.post("realms/shop/roles", &fields).await.status, 200);
    let role = rest(&app, "/realms/shop/roles/clerk").await;
    assert_eq!((&role["description"], &role["attributes"]), (&json!("Counter"), &json!({"team": ["blue"]})));
    // A refused save names the role it is about (the list holds many forms).
    let fields = [("action", "save"), ("id", id), ("name", "clerk"), ("description", ""), ("scopes", "nope")];
    let refused = console.post("realms/shop/roles", &fields).await;
    assert_eq!(refused.status, 400);
    assert!(refused.html.contains("Role clerk: attributes.scopes: `nope`"), "{}", refused.html);
    // A new name renames it (as the REST API's PUT), keeping what it holds.
    let fields = [("action", "save"), ("id", id), ("name", "cashier"), ("description", "Counter"), ("scopes", "")];
    assert_eq!(console.post("realms/shop/roles", &fields).await.status, 200);
    let renamed = rest(&app, "/realms/shop/roles/cashier").await;
    assert_eq!((&renamed["id"], &renamed["attributes"]), (&json!(id), &json!({"team": ["blue"]})));
    let gone = app.admin(Method::GET, "/realms/shop/roles/clerk", Some(&master), None).await;
    assert_eq!(gone.status, 404);
    // Its holders, linked from the roles page.
    let mapping = json!([{"id": id, "name": "cashier"}]).to_string();
    let path = format!("/realms/shop/users/{carol}/role-mappings/realm");
    assert_eq!(app.admin(Method::POST, &path, Some(&master), Some(&mapping)).await.status, 204);
    let roles_page = console.get("realms/shop/roles").await;
    let link = roles_page.attr(".holders", "href").unwrap();
    assert!(link.ends_with(&format!("/realms/shop/users?role={id}")), "{link}");
    let holders = console.get(&format!("realms/shop/users?role={id}")).await;
    assert_eq!(holders.select("h1"), ["Users holding cashier"]);
    assert_eq!(holders.select("#users li strong"), ["carol"]);
    assert_eq!(console.get("realms/shop/users?role=no-such-role").await.status, 404);
    // The console's log names who did it.
    let page = console.get("realms/shop/audit?log=admin").await;
    let lines = page.select("#admin-events li");
    assert!(
        lines.iter().any(|l| l.contains("DELETE") && l.contains("by admin via security-admin-console")),
        "{lines:?}"
    );
    // …and whose sign-ins these were (carol's password grant).
    let mut signins = Vec::new();
    for _ in 0..40 {
        signins = console.get("realms/shop/audit?log=user").await.select("#events li");
        if signins.iter().any(|l| l.contains("user carol")) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(signins.iter().any(|l| l.contains("LOGIN") && l.contains("user carol")), "{signins:?}");
    // Filtered as the REST API filters: by operation, by event type and user, by day.
    let deletes = console.get("realms/shop/audit?log=admin&operation=delete").await.select("#admin-events li");
    assert!(!deletes.is_empty() && deletes.iter().all(|l| l.starts_with("DELETE")), "{deletes:?}");
    let carols = console.get("realms/shop/audit?log=user&type=LOGIN&user=Carol").await.select("#events li");
    assert!(!carols.is_empty() && carols.iter().all(|l| l.contains("user carol")), "{carols:?}");
    assert!(console.get("realms/shop/audit?log=user&user=nobody").await.select("#events li").is_empty());
    let today = chrono::Utc::now().date_naive();
    let since_tomorrow = format!("realms/shop/audit?log=admin&from={}", today.succ_opt().unwrap());
    assert!(console.get(&since_tomorrow).await.select("#admin-events li").is_empty());
    let until_today = format!("realms/shop/audit?log=admin&operation=DELETE&to={today}");
    assert_eq!(console.get(&until_today).await.select("#admin-events li"), deletes);
    assert_eq!(console.get("realms/shop/audit?log=user&from=soon").await.status, 400);
}

#[tokio::test]
async fn console_lists_search_and_page() {
    let mut realms = String::from(REALMS);
    for n in 0..25 {
        realms.push_str(&format!(
            "\n  [[realms.users]]\n  username = \"user{n:02}\"\n  email = \"user{n:02}@example.com\"\n"
        ));
    }
    let Some(app) = spawn_app_with(Backend::Sqlite, &realms).await else { return };
    let console = sign_in(&app).await;

    // 26 users (alice and 25 more), 20 to a page, counted.
    let first = console.get("realms/shop/users").await;
    assert_eq!(first.select("#users li").len(), 20);
    assert_eq!(first.select("#pager-summary"), vec!["1–20 of 26".to_owned()]);
    let next = first.attr("#next-page", "href").expect("a next page");
    let second = page(console.http.get(format!("{}{next}", app.base)).send().await.unwrap()).await;
    assert_eq!(second.select("#users li").len(), 6);
    assert_eq!(second.select("#pager-summary"), vec!["21–26 of 26".to_owned()]);
    assert!(second.attr("#next-page", "href").is_none());

    // Search by part of a username or email.
    let found = console.get("realms/shop/users?search=USER1").await;
    assert_eq!(found.select("#users li").len(), 10, "user10 … user19");
    let found = console.get("realms/shop/users?search=alice").await;
    assert_eq!(found.select("#users li").len(), 1);

    // Realms, clients, roles and scopes search too.
    let realms = console.get("?search=sho").await;
    assert_eq!(realms.select("#realms li strong"), vec!["shop".to_owned()]);
    let clients = console.get("realms/shop/clients?search=adm").await;
    assert_eq!(clients.select("#clients li strong"), vec!["admin-cli".to_owned()]);
    let roles = console.get("realms/shop/roles?search=cust").await;
    assert_eq!(roles.select("#roles li strong"), vec!["customer".to_owned()]);
    let scopes = console.get("realms/shop/scopes?search=emai").await;
    assert_eq!(scopes.select("#scopes li strong"), vec!["email".to_owned()]);
}

/// Below a path prefix of the public URL (a proxy serving realmgate at
/// `/base`), the console's redirects and links carry the prefix.
#[tokio::test]
async fn the_console_lives_below_the_public_urls_path() {
    let app = crate::helpers::spawn_app_configured(crate::helpers::Backend::Sqlite, crate::helpers::TEST_REALMS, |c| {
        c.public_url = Some("https://id.example.com/base".into());
    })
    .await
    .expect("sqlite");
    let location = |answer: reqwest::Response| answer.headers()["location"].to_str().unwrap().to_owned();
    let bare = app.http.get(format!("{}/admin/console", app.base)).send().await.unwrap();
    assert_eq!(location(bare), "/base/admin/console/");
    let signed_out = app.http.get(format!("{}/admin/console/", app.base)).send().await.unwrap();
    assert_eq!(location(signed_out), "/base/realms/master/login-actions/console");
}

/// A session is ended only through its own realm's user page: a user id
/// and session id of another realm posted under `master` end nothing.
#[tokio::test]
async fn a_session_of_another_realm_cannot_be_ended_through_master() {
    let Some(app) = spawn_app_with(Backend::Sqlite, REALMS).await else { return };
    let console = sign_in(&app).await;
    let form =
        [("grant_type", "password"), ("client_id", "admin-cli"), ("username", "alice"), ("password", "alice-pw")];
    let tokens = app.token("shop", None, &form).await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    let alice = rest(&app, "/realms/shop/users?username=alice&exact=true").await[0]["id"].as_str().unwrap().to_owned();
    let sessions = rest(&app, &format!("/realms/shop/users/{alice}/sessions")).await;
    let session = sessions[0]["id"].as_str().expect("the password grant is listed as a session").to_owned();

    let crossed = console
        .post(&format!("realms/master/users/{alice}"), &[("action", "end-session"), ("session", &session)])
        .await;
    assert_eq!(crossed.status, 404, "{}", crossed.html);
    let refresh =
        [("grant_type", "refresh_token"), ("client_id", "admin-cli"), ("refresh_token", tokens.str("refresh_token"))];
    let refreshed = app.token("shop", None, &refresh).await;
    assert_eq!(refreshed.status, 200, "the session lives on: {}", refreshed.json);

    // Through its own realm, it ends.
    let ended =
        console.post(&format!("realms/shop/users/{alice}"), &[("action", "end-session"), ("session", &session)]).await;
    assert_eq!(ended.status, 200, "{}", ended.html);
    let refresh = [
        ("grant_type", "refresh_token"),
        ("client_id", "admin-cli"),
        ("refresh_token", refreshed.str("refresh_token")),
    ];
    app.token("shop", None, &refresh).await.assert_error(400, "invalid_grant");
}

/// What the REST API edits, the console edits too: a client's id, optional
/// scopes and a secret of one's choice, its service account's page, and the
/// scopes a realm gives new clients.
#[tokio::test]
async fn the_console_edits_client_ids_optional_scopes_secrets_and_realm_defaults() {
    let Some(app) = spawn_app_with(Backend::Sqlite, REALMS).await else { return };
    let console = sign_in(&app).await;
    let web = client_uuid(&app, "web").await.unwrap();
    let tail = format!("realms/shop/clients/{web}");
    let shown = console.get(&tail).await;
    assert_eq!(shown.attr("#client_id", "value").as_deref(), Some("web"));
    let scopes = shown.attr("#scopes", "value").unwrap();
    let fields = [
        ("action", "save"),
        ("client_id", "web-app"),
        ("name", "Web"),
        ("enabled", "on"),
        ("kind", "confidential"),
        ("grant_authorization_code", "on"),
        ("grant_client_credentials", "on"),
        ("redirect_uris", "http://127.0.0.1:9/cb"),
        ("post_logout_redirect_uris", ""),
        ("scopes", &scopes),
        ("optional_scopes", "offline_access"),
    ];
    let saved = console.post(&tail, &fields).await;
    assert_eq!(saved.status, 200, "{}", saved.html);
    let client = rest(&app, &format!("/realms/shop/clients/{web}")).await;
    assert_eq!((&client["clientId"], &client["optionalClientScopes"]), (&json!("web-app"), &json!(["offline_access"])));
    let page = console.get(&tail).await;
    assert_eq!(page.attr("#optional_scopes", "value").as_deref(), Some("offline_access"));
    // A scope the realm lacks is refused next to its field, and changes nothing.
    let mut wrong = fields;
    wrong[10] = ("optional_scopes", "nope");
    let refused = console.post(&tail, &wrong).await;
    assert_eq!(refused.status, 400);
    assert!(!refused.select("#optional_scopes-error").is_empty(), "{}", refused.html);
    assert_eq!(
        rest(&app, &format!("/realms/shop/clients/{web}")).await["optionalClientScopes"],
        json!(["offline_access"])
    );

    // Refusals land next to the field they are about.
    let mut public = fields;
    public[4] = ("kind", "public");
    let refused = console.post(&tail, &public).await;
    assert_eq!(refused.status, 400);
    assert!(!refused.select("#grants-error").is_empty(), "a public client has no service account: {}", refused.html);
    let mut bad_id = fields;
    bad_id[1] = ("client_id", "has space");
    let refused = console.post(&tail, &bad_id).await;
    assert!(!refused.select("#client_id-error").is_empty(), "{}", refused.html);

    // A secret of one's choice works at once.
    let chosen = console.post(&tail, &[("action", "set-secret"), ("secret", "chosen-secret-1")]).await;
    assert!(chosen.select("#notice")[0].starts_with("The secret was set"), "{}", chosen.html);
    let token = app.client_credentials("shop", "web-app", "chosen-secret-1", None).await;
    assert_eq!(token.status, 200, "{}", token.json);
    for refused in ["", "**********"] {
        let answer = console.post(&tail, &[("action", "set-secret"), ("secret", refused)]).await;
        assert_eq!(answer.status, 400, "{refused}");
        assert!(!answer.select("#secret-error").is_empty(), "{}", answer.html);
    }
    assert_eq!(app.client_credentials("shop", "web-app", "chosen-secret-1", None).await.status, 200, "unchanged");

    // The service account's page, where its roles are granted.
    let account = console.post(&tail, &[("action", "service-account")]).await;
    assert!(account.url.contains("/realms/shop/users/"), "{}", account.url);
    assert_eq!(account.select("h1"), ["service-account-web-app"], "{}", account.html);

    // The scopes new clients get.
    let settings = console.get("realms/shop/").await;
    assert_eq!(settings.attr("#default_scopes", "value").as_deref(), Some("profile email"));
    let mut fields = settings_fields(&settings);
    set(&mut fields, "optional_scopes", Some("offline_access"));
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(console.post("realms/shop/", &borrowed).await.status, 200);
    let names = |list: serde_json::Value| -> Vec<String> {
        list.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(names(rest(&app, "/realms/shop/default-optional-client-scopes").await), ["offline_access"]);
    let defaults = names(rest(&app, "/realms/shop/default-default-client-scopes").await);
    assert_eq!(defaults.join(" "), "profile email", "unchanged by a save that kept them");
}
