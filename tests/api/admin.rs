//! The Keycloak-compatible admin REST API (SPEC §6): who may call it
//! (`access`), the wire rules Keycloak's clients depend on (`wire`), and that
//! what it changes is what the protocol endpoints then do (`behaviour`).
//! Here: the realm file they share and one helper per kind of call.

mod access;
mod behaviour;
mod events;
mod import;
mod terraform;
mod wire;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Answer, TestApp};

/// `acme` has a realm administrator (rita), a user who may only view users
/// (vera), a plain user (alice) and a service-account client without roles
/// (robot); `other` has an administrator of its own (olga).
const ADMIN_REALMS: &str = r#"
[[realms]]
name = "acme"
access_token_lifetime = "10m"

  [[realms.roles]]
  name = "viewer"

  [[realms.users]]
  username = "alice"
  password = "alice-pw"
  email = "alice@example.com"
  email_verified = true
  given_name = "Alice"
  family_name = "Liddell"

  [[realms.users]]
  username = "rita"
  password = "rita-pw"
  admin_roles = ["realm-admin"]

  [[realms.users]]
  username = "vera"
  password = "vera-pw"
  admin_roles = ["view-users"]

  [[realms.clients]]
  client_id = "web"
  secret = "web-secret"
  redirect_uris = ["http://127.0.0.1:9/cb"]
  grant_types = ["authorization_code", "password", "refresh_token"]
  scopes = ["openid", "profile"]

  [[realms.clients]]
  client_id = "robot"
  secret = "robot-secret"
  grant_types = ["client_credentials"]

[[realms]]
name = "other"

  [[realms.users]]
  username = "olga"
  password = "olga-pw"
  admin_roles = ["realm-admin"]
"#;

const MASTER_ADMIN: (&str, &str) = ("admin", "admin-pw");

/// A token of `admin-cli` in `realm` for `user`, the way admin tools sign in.
async fn admin_cli_token(app: &TestApp, realm: &str, user: (&str, &str)) -> String {
    let form = [("grant_type", "password"), ("client_id", "admin-cli"), ("username", user.0), ("password", user.1)];
    let answer = app.token(realm, None, &form).await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    answer.str("access_token").to_owned()
}

async fn master_token(app: &TestApp) -> String {
    admin_cli_token(app, "master", MASTER_ADMIN).await
}

async fn call(app: &TestApp, method: Method, path: &str, token: &str, body: Option<Value>) -> Answer {
    let body = body.map(|b| b.to_string());
    app.admin(method, path, Some(token), body.as_deref()).await
}

async fn get(app: &TestApp, path: &str, token: &str) -> Answer {
    let answer = call(app, Method::GET, path, token, None).await;
    assert_eq!(answer.status, 200, "GET {path}: {}", answer.text);
    answer
}

/// Creates something; returns the id its `Location` ends in.
async fn create(app: &TestApp, path: &str, token: &str, body: Value) -> String {
    let answer = call(app, Method::POST, path, token, Some(body)).await;
    assert_eq!(answer.status, 201, "POST {path}: {}", answer.text);
    assert_eq!(answer.text, "", "a create answers with an empty body");
    let location = answer.header("location").expect("a Location header");
    location.rsplit('/').next().expect("a last segment").to_owned()
}

/// An update, delete or action: 204 and nothing else.
async fn change(app: &TestApp, method: Method, path: &str, token: &str, body: Option<&str>) {
    let answer = app.admin(method.clone(), path, Some(token), body).await;
    assert_eq!(answer.status, 204, "{method} {path}: {}", answer.text);
    assert_eq!(answer.text, "", "{method} {path} answers with an empty body");
}

async fn client_uuid(app: &TestApp, realm: &str, token: &str, client_id: &str) -> String {
    let found = get(app, &format!("/realms/{realm}/clients?clientId={client_id}"), token).await;
    assert_eq!(found.json.as_array().map(Vec::len), Some(1), "{}", found.json);
    found.json[0]["id"].as_str().unwrap().to_owned()
}

async fn user_id(app: &TestApp, realm: &str, token: &str, username: &str) -> String {
    let found = get(app, &format!("/realms/{realm}/users?username={username}&exact=true"), token).await;
    assert_eq!(found.json.as_array().map(Vec::len), Some(1), "{}", found.json);
    found.json[0]["id"].as_str().unwrap().to_owned()
}

fn usernames(list: &Value) -> Vec<String> {
    let mut names: Vec<String> =
        list.as_array().expect("a list").iter().map(|u| u["username"].as_str().unwrap().to_owned()).collect();
    names.sort();
    names
}

fn assert_forbidden(answer: &Answer) {
    assert_eq!(answer.status, 403, "{}", answer.text);
    assert_eq!(answer.json, json!({"error": "HTTP 403 Forbidden"}));
}

/// A 404 body: `{"error": "<thing> not found"}`, said once.
fn not_found_body(answer: &Answer) -> bool {
    answer.json["error"]
        .as_str()
        .is_some_and(|e| e.ends_with(" not found") && e.matches("not found").count() == 1 && !e.contains("find"))
}

fn assert_bad_request(answer: &Answer) {
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert!(answer.json["error"].is_string() && answer.json["error_description"].is_string(), "{}", answer.text);
}

fn assert_conflict(answer: &Answer, message: &str) {
    assert_eq!(answer.status, 409, "{}", answer.text);
    assert_eq!(answer.json, json!({ "errorMessage": message }));
}
