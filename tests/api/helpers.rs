//! Starts the real server on a random loopback port, on SQLite or
//! PostgreSQL, with a realm file; one method per endpoint.

use std::path::PathBuf;
use std::sync::Arc;

use realmgate::clock::{Clock, OffsetClock};
use realmgate::config::ServeConfig;
use realmgate::startup::Application;
use reqwest::Response;
use serde_json::Value;

/// The realm most tests use: every field of the realm file has a purpose.
pub const TEST_REALMS: &str = r#"
[[realms]]
name = "acme"
display_name = "Acme Corp"
access_token_lifetime = "5m"
refresh_token_lifetime = "1h"
refresh_token_reuse_grace = "0s"

  [[realms.scopes]]
  name = "roms.read"
  description = "See your ROM library"

  [[realms.scopes]]
  name = "roms.write"
  description = "Change your ROM library"
  implies = ["roms.read"]

  [[realms.roles]]
  name = "viewer"
  scopes = ["roms.read"]

  [[realms.roles]]
  name = "editor"
  scopes = ["roms.write"]

  [[realms.users]]
  username = "alice"
  password = "alice-pw"
  email = "alice@example.com"
  email_verified = true
  given_name = "Alice"
  family_name = "Liddell"
  roles = ["editor"]

  [[realms.users]]
  username = "victor"
  password = "victor-pw"
  email = "victor@example.com"
  roles = ["viewer"]

  [[realms.clients]]
  client_id = "web"
  name = "Web app"
  secret = "web-secret"
  redirect_uris = ["http://127.0.0.1:9/cb"]
  post_logout_redirect_uris = ["http://127.0.0.1:9/bye"]
  grant_types = ["authorization_code", "refresh_token", "password"]
  scopes = ["openid", "profile", "email", "offline_access", "roms.write"]

  [[realms.clients]]
  client_id = "svc"
  secret = "svc-secret"
  grant_types = ["client_credentials"]
  scopes = ["roms.read", "roms.write"]

  # A public single-page app with consent: code (PKCE required) and implicit.
  [[realms.clients]]
  client_id = "spa"
  name = "Photo Gallery"
  redirect_uris = ["http://127.0.0.1:9/spa", "http://127.0.0.1:9/spa?tab=1"]
  post_logout_redirect_uris = ["http://127.0.0.1:9/spa-bye"]
  grant_types = ["authorization_code", "implicit", "refresh_token"]
  scopes = ["openid", "profile", "email", "roms.write"]
  consent_required = true

  # A device without a keyboard (RFC 8628), public.
  [[realms.clients]]
  client_id = "tv"
  name = "Living-room TV"
  grant_types = ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"]
  scopes = ["openid", "profile", "roms.write", "personal_token"]

  # A confidential client for hybrid flows, no consent.
  [[realms.clients]]
  client_id = "hybrid"
  name = "Hybrid app"
  secret = "hybrid-secret"
  redirect_uris = ["http://127.0.0.1:9/hybrid"]
  grant_types = ["authorization_code", "implicit"]
  scopes = ["openid", "profile", "email", "offline_access"]

  [[realms.clients]]
  client_id = "cli"
  grant_types = ["password", "refresh_token"]
  scopes = ["openid", "profile", "roms.read", "account.read", "account.write"]

  [[realms.clients]]
  client_id = "nopass"
  secret = "nopass-secret"
  grant_types = ["client_credentials"]
  scopes = ["openid"]

[[realms]]
name = "other"
signing_algorithm = "ES256"
query_tokens = true
basic_auth = true

  [[realms.users]]
  username = "alice"
  password = "other-pw"

  [[realms.clients]]
  client_id = "svc"
  secret = "svc-secret"
  grant_types = ["client_credentials", "password", "refresh_token"]
  scopes = ["openid"]

  [[realms.clients]]
  client_id = "other-web"
  secret = "other-secret"
  redirect_uris = ["http://127.0.0.1:9/cb"]
  grant_types = ["authorization_code"]
  scopes = ["openid"]
"#;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where a test database lives; PostgreSQL tests get a schema of their own.
pub struct TestDatabase {
    pub url: String,
    pub dir: tempfile::TempDir,
    pg_schema: Option<(String, String)>,
}

impl TestDatabase {
    /// `None` when PostgreSQL is not configured (and not required).
    pub fn create(backend: Backend) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => {
                Some(Self { url: format!("sqlite://{}", dir.path().join("rg.db").display()), dir, pg_schema: None })
            }
            Backend::Postgres => {
                let Ok(base) = std::env::var("REALMGATE_TEST_POSTGRES_URL") else {
                    if std::env::var("REALMGATE_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                        panic!("REALMGATE_REQUIRE_POSTGRES=1 but REALMGATE_TEST_POSTGRES_URL is not set");
                    }
                    eprintln!("skipping: REALMGATE_TEST_POSTGRES_URL is not set");
                    return None;
                };
                let schema = format!("rgtest_{}", uuid::Uuid::new_v4().simple());
                psql(&base, &format!("CREATE SCHEMA {schema}"));
                let separator = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
                Some(Self { url, dir, pg_schema: Some((base, schema)) })
            }
        }
    }

    pub fn key_file(&self) -> PathBuf {
        self.dir.path().join("realmgate.key")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((base, schema)) = &self.pg_schema {
            let _ = std::panic::catch_unwind(|| psql(base, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE")));
        }
    }
}

pub fn psql(url: &str, sql: &str) {
    use diesel::{Connection, PgConnection, connection::SimpleConnection};
    let mut conn = PgConnection::establish(url).expect("connect to the test PostgreSQL");
    conn.batch_execute(sql).expect("run SQL on the test PostgreSQL");
}

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub clock: Arc<OffsetClock>,
    pub db: Arc<TestDatabase>,
}

/// Spawns the app with `TEST_REALMS`; `None` if the backend is unavailable.
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, TEST_REALMS).await
}

pub async fn spawn_app_with(backend: Backend, realms: &str) -> Option<TestApp> {
    let db = TestDatabase::create(backend)?;
    Some(spawn_on(db, realms).await.expect("the app starts"))
}

/// Starts an app on an existing database (for restarts and several nodes).
pub async fn spawn_on(db: TestDatabase, realms: &str) -> Result<TestApp, String> {
    spawn_node(Arc::new(db), realms, "127.0.0.1:0", None).await
}

/// Starts one more node on a database another node may be using; nodes of
/// one deployment share a public URL (as behind a proxy).
pub async fn spawn_node(
    db: Arc<TestDatabase>,
    realms: &str,
    bind: &str,
    public_url: Option<&str>,
) -> Result<TestApp, String> {
    spawn_configured(db, realms, bind, public_url, |_| {}).await
}

/// Spawns the app with `realms` and a configuration `tweak` (proxies, …).
pub async fn spawn_app_configured(
    backend: Backend,
    realms: &str,
    tweak: impl FnOnce(&mut ServeConfig),
) -> Option<TestApp> {
    let db = TestDatabase::create(backend)?;
    Some(spawn_configured(Arc::new(db), realms, "127.0.0.1:0", None, tweak).await.expect("the app starts"))
}

/// Starts a node on `db` with `realms` and a configuration `tweak`.
pub async fn spawn_configured(
    db: Arc<TestDatabase>,
    realms: &str,
    bind: &str,
    public_url: Option<&str>,
    tweak: impl FnOnce(&mut ServeConfig),
) -> Result<TestApp, String> {
    let realm_file = db.dir.path().join(format!("realms-{}.toml", uuid::Uuid::new_v4().simple()));
    std::fs::write(&realm_file, realms).expect("write realm file");
    let mut config = ServeConfig::new(db.url.clone());
    config.bind = bind.into();
    config.public_url = public_url.map(str::to_owned);
    config.realm_files = vec![realm_file];
    config.workers = 2;
    config.secret_key_file = Some(db.key_file());
    config.bootstrap_admin = Some(("admin".into(), "admin-pw".into()));
    tweak(&mut config);
    let clock = Arc::new(OffsetClock::default());
    let app = Application::build(config, clock.clone() as Arc<dyn Clock>)
        .await
        .map_err(|e| realmgate::error::ErrorChain(&e).to_string())?;
    let port = app.port();
    tokio::spawn(app.run_until_stopped());
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("reqwest client");
    Ok(TestApp { base: format!("http://127.0.0.1:{port}"), http, clock, db })
}

/// Runs a test body on both backends, with `TEST_REALMS` or with the realm
/// file named first (`both_backends!(realms = ADMIN_REALMS; a, b)`, a
/// constant of the calling module).
#[macro_export]
macro_rules! both_backends {
    (realms = $realms:ident; $($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let backend = $crate::helpers::Backend::Sqlite;
                    if let Some(app) = $crate::helpers::spawn_app_with(backend, super::$realms).await {
                        super::$name(app).await;
                    }
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let backend = $crate::helpers::Backend::Postgres;
                    if let Some(app) = $crate::helpers::spawn_app_with(backend, super::$realms).await {
                        super::$name(app).await;
                    }
                }
            }
        )*
    };
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    if let Some(app) = $crate::helpers::spawn_app($crate::helpers::Backend::Sqlite).await {
                        super::$name(app).await;
                    }
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = $crate::helpers::spawn_app($crate::helpers::Backend::Postgres).await {
                        super::$name(app).await;
                    }
                }
            }
        )*
    };
}

pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub json: Value,
    /// The body as sent (to tell an empty body from `null`).
    pub text: String,
}

impl Answer {
    pub async fn from(response: Response) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.clone()))
        };
        Self { status, headers, json, text }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn str(&self, field: &str) -> &str {
        self.json[field].as_str().unwrap_or_else(|| panic!("no string `{field}` in {}", self.json))
    }

    /// Asserts an OAuth error answer.
    pub fn assert_error(&self, status: u16, error: &str) {
        assert_eq!(self.status, status, "{}", self.json);
        assert_eq!(self.json["error"], error, "{}", self.json);
        assert!(self.json["error_description"].is_string(), "{}", self.json);
    }
}

impl TestApp {
    pub fn realm_url(&self, realm: &str, path: &str) -> String {
        format!("{}/realms/{realm}{path}", self.base)
    }

    pub fn issuer(&self, realm: &str) -> String {
        format!("{}/realms/{realm}", self.base)
    }

    pub async fn get(&self, url: &str) -> Answer {
        Answer::from(self.http.get(url).send().await.expect("request")).await
    }

    /// An access token of the bootstrap administrator (`admin-cli` in
    /// `master`), the way admin tools sign in.
    pub async fn master_token(&self) -> String {
        let form =
            [("grant_type", "password"), ("client_id", "admin-cli"), ("username", "admin"), ("password", "admin-pw")];
        let answer = self.token("master", None, &form).await;
        assert_eq!(answer.status, 200, "{}", answer.json);
        answer.str("access_token").to_owned()
    }

    /// The first user event of `realm` of type `kind` that `wanted` accepts,
    /// once the audit log's batch writer stored it; panics after 5 s.
    pub async fn stored_event(
        &self,
        realm: &str,
        kind: &str,
        wanted: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let master = self.master_token().await;
        let path = format!("/realms/{realm}/events?type={kind}");
        for _ in 0..100 {
            let events = self.admin(reqwest::Method::GET, &path, Some(&master), None).await;
            if let Some(found) = events.json.as_array().and_then(|all| all.iter().find(|e| wanted(e)).cloned()) {
                return found;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("no {kind} event of {realm} was stored as expected");
    }

    /// POSTs a form to the realm's token endpoint, with Basic if given.
    pub async fn token(&self, realm: &str, basic: Option<(&str, &str)>, form: &[(&str, &str)]) -> Answer {
        self.post_form(realm, "/protocol/openid-connect/token", basic, form).await
    }

    pub async fn post_form(
        &self,
        realm: &str,
        path: &str,
        basic: Option<(&str, &str)>,
        form: &[(&str, &str)],
    ) -> Answer {
        let mut request = self.http.post(self.realm_url(realm, path)).form(form);
        if let Some((id, secret)) = basic {
            request = request.basic_auth(id, Some(secret));
        }
        Answer::from(request.send().await.expect("request")).await
    }

    pub async fn client_credentials(&self, realm: &str, id: &str, secret: &str, scope: Option<&str>) -> Answer {
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        self.token(realm, Some((id, secret)), &form).await
    }

    pub async fn password_grant(&self, realm: &str, client: (&str, &str), user: (&str, &str), scope: &str) -> Answer {
        let form = [("grant_type", "password"), ("username", user.0), ("password", user.1), ("scope", scope)];
        self.token(realm, Some(client), &form).await
    }

    /// A successful password grant for alice at `web`.
    pub async fn alice_tokens(&self, scope: &str) -> Answer {
        let answer = self.password_grant("acme", ("web", "web-secret"), ("alice", "alice-pw"), scope).await;
        assert_eq!(answer.status, 200, "{}", answer.json);
        answer
    }

    pub async fn refresh(&self, realm: &str, client: (&str, &str), refresh_token: &str) -> Answer {
        self.token(realm, Some(client), &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]).await
    }

    pub async fn introspect(&self, realm: &str, client: (&str, &str), token: &str) -> Answer {
        self.post_form(realm, "/protocol/openid-connect/token/introspect", Some(client), &[("token", token)]).await
    }

    pub async fn revoke(&self, realm: &str, client: (&str, &str), token: &str) -> Answer {
        self.post_form(realm, "/protocol/openid-connect/revoke", Some(client), &[("token", token)]).await
    }

    pub async fn userinfo(&self, realm: &str, access_token: &str) -> Answer {
        let request =
            self.http.get(self.realm_url(realm, "/protocol/openid-connect/userinfo")).bearer_auth(access_token);
        Answer::from(request.send().await.expect("request")).await
    }

    /// Calls the admin API at `/admin{path}` with a Bearer token (if any)
    /// and a raw body (if any), sent as JSON.
    pub async fn admin(&self, method: reqwest::Method, path: &str, token: Option<&str>, body: Option<&str>) -> Answer {
        let mut request = self.http.request(method, format!("{}/admin{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.header(reqwest::header::CONTENT_TYPE, "application/json").body(body.to_owned());
        }
        Answer::from(request.send().await.expect("request")).await
    }

    /// Runs the realmgate binary against this app's database.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> std::process::Output {
        run_cli(&self.db, args, stdin)
    }
}

pub fn run_cli(db: &TestDatabase, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    use std::io::Write;
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_realmgate"));
    command
        .args(["--database-url", &db.url, "--secret-key-file"])
        .arg(db.key_file())
        .args(args)
        .env_remove("REALMGATE_ADMIN_USER")
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("run realmgate");
    if let Some(input) = stdin {
        child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("realmgate exits")
}

/// Decodes a JWT's header and claims without verifying (tests check the shape).
pub fn jwt_parts(token: &str) -> (Value, Value) {
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut parts = token.split('.');
    let header = engine.decode(parts.next().expect("header")).expect("base64 header");
    let claims = engine.decode(parts.next().expect("claims")).expect("base64 claims");
    (serde_json::from_slice(&header).unwrap(), serde_json::from_slice(&claims).unwrap())
}
