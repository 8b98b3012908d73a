//! The master realm, the bootstrap administrator, and every signing algorithm.

use crate::helpers::{Backend, spawn_app, spawn_app_with, spawn_configured};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bootstrap_admin_signs_in_to_master_with_admin_cli() {
    let Some(app) = spawn_app(Backend::Sqlite).await else { return };
    let tokens = app
        .token(
            "master",
            None,
            &[("grant_type", "password"), ("client_id", "admin-cli"), ("username", "admin"), ("password", "admin-pw")],
        )
        .await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    assert!(tokens.json["refresh_token"].is_string());
    let wrong = app
        .token(
            "master",
            None,
            &[("grant_type", "password"), ("client_id", "admin-cli"), ("username", "admin"), ("password", "x")],
        )
        .await;
    wrong.assert_error(400, "invalid_grant");
}

/// Keycloak's rule: the bootstrap administrator is made only while `master`
/// has no users, so a later start with another name adds no one. (On
/// PostgreSQL, where the first server may go on running beside the second:
/// a SQLite file takes one server at a time.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_bootstrap_name_adds_no_second_administrator() {
    let Some(first) = spawn_app(Backend::Postgres).await else { return };
    let later = spawn_configured(first.db.clone(), "", "127.0.0.1:0", None, |config| {
        config.bootstrap_admin = Some(("second".into(), "second-pw".into()));
    })
    .await
    .expect("the app starts again");
    let admin_cli = |user, password| {
        [("grant_type", "password"), ("client_id", "admin-cli"), ("username", user), ("password", password)]
    };
    let second = later.token("master", None, &admin_cli("second", "second-pw")).await;
    second.assert_error(400, "invalid_grant");
    assert_eq!(later.token("master", None, &admin_cli("admin", "admin-pw")).await.status, 200);
}

const ALGORITHMS: &str = r#"
[[realms]]
name = "ps"
signing_algorithm = "PS256"

  [[realms.clients]]
  client_id = "svc"
  secret = "s"
  grant_types = ["client_credentials"]

[[realms]]
name = "ed"
signing_algorithm = "EdDSA"

  [[realms.clients]]
  client_id = "svc"
  secret = "s"
  grant_types = ["client_credentials"]
"#;

async fn every_algorithm(backend: Backend) {
    let Some(app) = spawn_app_with(backend, ALGORITHMS).await else { return };
    for (realm, alg, kty) in [("ps", "PS256", "RSA"), ("ed", "EdDSA", "OKP")] {
        let jwks = app.get(&app.realm_url(realm, "/protocol/openid-connect/certs")).await;
        assert_eq!(jwks.json["keys"][0]["alg"], alg);
        assert_eq!(jwks.json["keys"][0]["kty"], kty);
        let discovery = app.get(&app.realm_url(realm, "/.well-known/openid-configuration")).await;
        assert_eq!(discovery.json["id_token_signing_alg_values_supported"], serde_json::json!([alg]));
        let token = app.client_credentials(realm, "svc", "s", None).await;
        assert_eq!(token.status, 200, "{}", token.json);
        let (header, _) = crate::helpers::jwt_parts(token.str("access_token"));
        assert_eq!(header["alg"], alg);
        let active = app.introspect(realm, ("svc", "s"), token.str("access_token")).await;
        assert_eq!(active.json["active"], true, "{realm}: {}", active.json);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ps256_and_eddsa_realms_sign_and_verify_sqlite() {
    every_algorithm(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ps256_and_eddsa_realms_sign_and_verify_postgres() {
    every_algorithm(Backend::Postgres).await;
}

/// A realm that has a client's service account (named as Keycloak names
/// it) and disabled things.
const MOVING: &str = r#"
[[realms]]
name = "moving"

  [[realms.users]]
  username = "service-account-robot"
  admin_roles = ["view-users"]

  [[realms.users]]
  username = "gone"
  password = "gone-pw"
  enabled = false

  [[realms.users]]
  username = "here"
  password = "here-pw"

  # An administrator's temporary password: a new one is due at sign-in.
  [[realms.users]]
  username = "pending"
  password = "pending-pw"
  password_temporary = true

  [[realms.clients]]
  client_id = "robot"
  secret = "robot-secret"
  grant_types = ["client_credentials"]

  [[realms.clients]]
  client_id = "app"
  secret = "app-secret"
  grant_types = ["password"]

  [[realms.clients]]
  client_id = "retired"
  secret = "retired-secret"
  grant_types = ["client_credentials", "password"]
  enabled = false
"#;

/// What a realm file and `realm export --with-secrets` carry arrives whole
/// in another installation: a service account keeps its client and roles,
/// and what was disabled stays disabled.
async fn an_exported_realm_arrives_whole(backend: Backend) {
    let Some(origin) = spawn_app_with(backend, MOVING).await else { return };
    arrived_whole(&origin).await;

    let out = origin.cli(&["realm", "export", "moving", "--with-secrets"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let exported = String::from_utf8(out.stdout).unwrap();
    assert_eq!(exported.matches("enabled = false").count(), 2, "only what is disabled says so: {exported}");
    assert_eq!(exported.matches("password_temporary = true").count(), 1, "{exported}");

    let Some(destination) = spawn_app_with(backend, "").await else { return };
    let file = destination.db.dir.path().join("moving.toml");
    std::fs::write(&file, &exported).unwrap();
    let out = destination.cli(&["realm", "import", file.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    arrived_whole(&destination).await;
    let again = destination.cli(&["realm", "export", "moving", "--with-secrets"], None);
    assert_eq!(String::from_utf8(again.stdout).unwrap(), exported, "the same realm");
}

async fn arrived_whole(app: &crate::helpers::TestApp) {
    let robot = app.client_credentials("moving", "robot", "robot-secret", None).await;
    assert_eq!(robot.status, 200, "{}", robot.json);
    let (_, claims) = crate::helpers::jwt_parts(robot.str("access_token"));
    let roles = &claims["resource_access"]["realm-management"]["roles"];
    assert_eq!(roles, &serde_json::json!(["view-users"]), "the account's roles: {claims}");
    let users = app.admin(reqwest::Method::GET, "/realms/moving/users", Some(robot.str("access_token")), None).await;
    assert_eq!(users.status, 200, "{}", users.text);
    let retired = app.client_credentials("moving", "retired", "retired-secret", None).await;
    assert_eq!(retired.status, 401, "a disabled client: {}", retired.json);
    let here = app.password_grant("moving", ("app", "app-secret"), ("here", "here-pw"), "").await;
    assert_eq!(here.status, 200, "{}", here.json);
    let pending = app.password_grant("moving", ("app", "app-secret"), ("pending", "pending-pw"), "").await;
    pending.assert_error(400, "invalid_grant");
    assert_eq!(pending.json["error_description"], "Account is not fully set up", "the password is still temporary");
    let gone = app.password_grant("moving", ("app", "app-secret"), ("gone", "gone-pw"), "").await;
    gone.assert_error(400, "invalid_grant");
    let minted = app.cli(&["token", "add", "--realm", "moving", "--user", "gone", "--name", "x"], None);
    let stderr = String::from_utf8_lossy(&minted.stderr);
    assert!(!minted.status.success() && stderr.contains("user `gone` is disabled"), "{stderr}");
    // Keycloak's answer, told only to whoever knows the password.
    assert_eq!(gone.json["error_description"], "Account disabled");
    let guess = app.password_grant("moving", ("app", "app-secret"), ("gone", "guess"), "").await;
    guess.assert_error(400, "invalid_grant");
    assert_eq!(guess.json["error_description"], "Invalid user credentials");
    let browser = crate::browser::Browser::new();
    let login = browser.get(&app.realm_url("moving", "/account")).await;
    let guessed = browser.login(&login, "gone", "guess").await;
    assert!(guessed.is_login_page() && guessed.body.contains("Invalid username or password."), "{}", guessed.body);
    let refused = browser.login(&guessed, "gone", "gone-pw").await;
    assert!(refused.is_login_page(), "still the login page: {}", refused.body);
    assert!(refused.body.contains("Account is disabled, contact your administrator."), "{}", refused.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exported_realm_arrives_whole_sqlite() {
    an_exported_realm_arrives_whole(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exported_realm_arrives_whole_postgres() {
    an_exported_realm_arrives_whole(Backend::Postgres).await;
}

/// A client renamed after its service account was made: the export names
/// the account after the client's new name, and both applying it again and
/// a move keep the account's roles in the client's tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renamed_clients_service_account_moves_with_it() {
    let Some(origin) = spawn_app_with(Backend::Sqlite, MOVING).await else { return };
    let master = origin.master_token().await;
    let found = origin.admin(reqwest::Method::GET, "/realms/moving/clients?clientId=robot", Some(&master), None).await;
    let path = format!("/realms/moving/clients/{}", found.json[0]["id"].as_str().unwrap());
    let renamed = origin.admin(reqwest::Method::PUT, &path, Some(&master), Some(r#"{"clientId": "robot2"}"#)).await;
    assert_eq!(renamed.status, 204, "{}", renamed.text);
    let out = origin.cli(&["realm", "export", "moving", "--with-secrets"], None);
    let exported = String::from_utf8(out.stdout).unwrap();
    assert!(exported.contains("username = \"service-account-robot2\""), "{exported}");

    async fn roles_of(app: &crate::helpers::TestApp) -> serde_json::Value {
        let robot = app.client_credentials("moving", "robot2", "robot-secret", None).await;
        let (_, claims) = crate::helpers::jwt_parts(robot.str("access_token"));
        claims["resource_access"]["realm-management"]["roles"].clone()
    }
    let destination = spawn_app_with(Backend::Sqlite, "").await.unwrap();
    for app in [&origin, &destination] {
        let file = app.db.dir.path().join("moving.toml");
        std::fs::write(&file, &exported).unwrap();
        let out = app.cli(&["realm", "import", file.to_str().unwrap()], None);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
        assert_eq!(roles_of(app).await, serde_json::json!(["view-users"]));
    }
}

/// SPEC §2's example, exactly as the contract prints it: it applies, and
/// `roms.read`, which it only names in an `implies`, is a scope of the realm.
const SPEC_EXAMPLE: &str = r#"
[[realms]]
name = "acme"                       # [a-z0-9-]{1,64}; used in URLs
display_name = "Acme Corp"
access_token_lifetime = "5m"
id_token_lifetime = "5m"
refresh_token_lifetime = "30d"
auth_code_lifetime = "60s"
device_code_lifetime = "10m"
device_poll_interval = "5s"         # the least time between two polls of one device code
sso_session_idle = "30m"            # browser session ends after this long unused
sso_session_max = "10h"             # ... and after this long in any case
signing_algorithm = "RS256"         # RS256 | PS256 | ES256 | EdDSA
refresh_token_rotation = true       # a used refresh token is spent; re-use revokes the family
refresh_token_reuse_grace = "0s"    # a spent token replayed this soon (a client's concurrent retry) gets the same new pair instead
query_tokens = false                # accept access tokens in the query string
basic_auth = false                  # accept HTTP Basic (user:password) on the realm's APIs

  [[realms.scopes]]                 # custom scopes; openid profile email address phone offline_access are built in
  name = "roms.write"
  description = "Change your ROM library"
  implies = ["roms.read"]           # holding roms.write grants roms.read too

  [[realms.roles]]
  name = "editor"
  scopes = ["roms.read", "roms.write"]   # what a user with this role may be granted

  [[realms.users]]
  username = "alice"
  password = "s3cret"               # hashed with argon2id on import; never stored in clear
  email = "alice@example.com"
  email_verified = true
  given_name = "Alice"
  family_name = "Liddell"
  roles = ["editor"]
  admin_roles = []                  # realm-management roles of §6, e.g. ["realm-admin"] or ["view-users"]

  [[realms.clients]]
  client_id = "photos-web"
  name = "Photos"
  secret = "change-me"              # absent: a public client (PKCE required)
  redirect_uris = ["https://photos.example.com/callback"]
  post_logout_redirect_uris = ["https://photos.example.com/"]
  grant_types = ["authorization_code", "refresh_token"]
  # also: "implicit", "password", "client_credentials",
  #       "urn:ietf:params:oauth:grant-type:device_code"
  scopes = ["openid", "profile", "email", "roms.read"]   # the most this client may get
  consent_required = true           # show the consent page to users
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_specs_example_realm_file_applies_as_written() {
    let Some(app) = spawn_app_with(Backend::Sqlite, SPEC_EXAMPLE).await else { return };
    let minted =
        app.cli(&["token", "add", "--realm", "acme", "--user", "alice", "--name", "t", "--scope", "roms.write"], None);
    assert!(minted.status.success(), "{}", String::from_utf8_lossy(&minted.stderr));
    let token = String::from_utf8(minted.stdout).unwrap().trim().to_owned();
    let active = app.introspect("acme", ("photos-web", "change-me"), &token).await;
    assert_eq!(active.json["scope"], "roms.read roms.write", "{}", active.json);
    let out = app.cli(&["realm", "export", "acme"], None);
    let exported = String::from_utf8(out.stdout).unwrap();
    assert!(exported.contains("name = \"roms.read\""), "{exported}");
    // Applied again: the same realm.
    let file = app.db.dir.path().join("spec.toml");
    std::fs::write(&file, SPEC_EXAMPLE).unwrap();
    let again = app.cli(&["realm", "import", file.to_str().unwrap()], None);
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    assert_eq!(String::from_utf8(app.cli(&["realm", "export", "acme"], None).stdout).unwrap(), exported);
}

/// A name listed twice in a realm file means it once (a user's role listed
/// twice broke the role mapping's unique key: a raw database error).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_listed_twice_counts_once() {
    let file = r#"
[[realms]]
name = "twice"

  [[realms.scopes]]
  name = "a"
  implies = ["b", "b"]

  [[realms.roles]]
  name = "viewer"
  scopes = ["a", "a"]

  [[realms.users]]
  username = "dup"
  roles = ["viewer", "viewer"]
  admin_roles = ["view-users", "view-users"]

  [[realms.clients]]
  client_id = "c"
  secret = "c-secret"
  grant_types = ["password", "password"]
  scopes = ["a", "a"]
"#;
    let Some(app) = spawn_app_with(Backend::Sqlite, file).await else { return };
    let out = app.cli(&["realm", "export", "twice"], None);
    let exported = String::from_utf8(out.stdout).unwrap();
    for once in [
        r#"implies = ["b"]"#,
        r#"scopes = ["a"]"#,
        r#"roles = ["viewer"]"#,
        r#"admin_roles = ["view-users"]"#,
        r#"grant_types = ["password"]"#,
    ] {
        assert!(exported.contains(once), "{once}: {exported}");
    }
}
