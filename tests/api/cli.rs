//! The CLI against a running server: changes show up within a second, the
//! secret key guards the data, realm files are strict and all-or-nothing, a
//! stopped server leaves its database whole.

use std::time::{Duration, Instant};

use diesel::RunQueryDsl;
use diesel::sql_types::BigInt;
use realmgate::storage::{DatabaseUrl, Db, DbConnection};

use crate::helpers::{Backend, TestApp, TestDatabase, run_cli, spawn_app, spawn_on};
use crate::serve_process::{ServeProcess, free_addr, realmgate};

async fn eventually<F, Fut>(what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if check().await {
            return start.elapsed();
        }
        assert!(start.elapsed() < Duration::from_secs(5), "{what} never happened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn live_changes(app: TestApp) {
    // A new client from a realm file applied by another process.
    let file = app.db.dir.path().join("extra.toml");
    std::fs::write(
        &file,
        "[[realms]]\nname = \"acme\"\n\n  [[realms.clients]]\n  client_id = \"late\"\n  secret = \"late-secret\"\n  grant_types = [\"client_credentials\"]\n",
    )
    .unwrap();
    let out = app.cli(&["realm", "import", file.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let took = eventually("the new client works", || async {
        app.client_credentials("acme", "late", "late-secret", None).await.status == 200
    })
    .await;
    assert!(took < Duration::from_millis(1500), "took {took:?}");

    // A user added by the CLI signs in at once (users are never cached).
    let out =
        app.cli(&["user", "add", "--realm", "acme", "--username", "Carol", "--password-stdin"], Some("carol-pw\n"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let carol = app.password_grant("acme", ("web", "web-secret"), ("carol", "carol-pw"), "openid").await;
    assert_eq!(carol.status, 200, "{}", carol.json);
    let again = app.cli(&["user", "add", "--realm", "acme", "--username", "carol"], None);
    assert!(!again.status.success(), "duplicate users are refused");

    // A key rotation: new tokens use the new key; old tokens still verify.
    let before = app.client_credentials("acme", "svc", "svc-secret", None).await;
    let old_token = before.str("access_token").to_owned();
    let (old_header, _) = crate::helpers::jwt_parts(&old_token);
    let out = app.cli(&["keys", "rotate", "--realm", "acme"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    eventually("the new key signs", || async {
        let now = app.client_credentials("acme", "svc", "svc-secret", None).await;
        crate::helpers::jwt_parts(now.str("access_token")).0["kid"] != old_header["kid"]
    })
    .await;
    let jwks = app.get(&app.realm_url("acme", "/protocol/openid-connect/certs")).await;
    assert_eq!(jwks.json["keys"].as_array().unwrap().len(), 2, "old key stays published");
    assert_eq!(app.introspect("acme", ("svc", "svc-secret"), &old_token).await.json["active"], true);
    // Once every token the old key signed has expired, it leaves the JWKS.
    app.clock.advance(300 + 31);
    let jwks = app.get(&app.realm_url("acme", "/protocol/openid-connect/certs")).await;
    assert_eq!(jwks.json["keys"].as_array().unwrap().len(), 1, "{}", jwks.json);
}

/// A key signing under long lifetimes, rotated after they were shortened,
/// stays published until the tokens it signed under the long ones expire.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_after_shorter_lifetimes_keeps_the_old_tokens_verifiable() {
    let Some(app) = spawn_app(Backend::Sqlite).await else { return };
    let old = app.client_credentials("acme", "svc", "svc-secret", None).await;
    let old_token = old.str("access_token").to_owned();
    assert_eq!(old.json["expires_in"], 300);
    let file = app.db.dir.path().join("shorter.toml");
    std::fs::write(
        &file,
        "[[realms]]\nname = \"acme\"\naccess_token_lifetime = \"10s\"\nid_token_lifetime = \"10s\"\n",
    )
    .unwrap();
    for args in [&["realm", "import", file.to_str().unwrap()][..], &["keys", "rotate", "--realm", "acme"]] {
        let out = app.cli(args, None);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    eventually("the shorter lifetime applies", || async {
        app.client_credentials("acme", "svc", "svc-secret", None).await.json["expires_in"] == 10
    })
    .await;
    // Well past the new lifetimes and the margin, well within the old token's.
    app.clock.advance(200);
    assert_eq!(app.introspect("acme", ("svc", "svc-secret"), &old_token).await.json["active"], true);
    let jwks = app.get(&app.realm_url("acme", "/protocol/openid-connect/certs")).await;
    assert_eq!(jwks.json["keys"].as_array().unwrap().len(), 2, "{}", jwks.json);
    app.clock.advance(100 + 31);
    let jwks = app.get(&app.realm_url("acme", "/protocol/openid-connect/certs")).await;
    assert_eq!(jwks.json["keys"].as_array().unwrap().len(), 1, "{}", jwks.json);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_changes_sqlite() {
    if let Some(app) = spawn_app(Backend::Sqlite).await {
        live_changes(app).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_changes_postgres() {
    if let Some(app) = spawn_app(Backend::Postgres).await {
        live_changes(app).await;
    }
}

/// A start that fails on PostgreSQL ends with its error and exit code 1,
/// never a crash: OpenSSL's exit-time cleanup once raced the pool's TLS
/// connects still in flight (SIGSEGV in about one failed start in nine).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_start_on_postgres_exits_with_its_error() {
    let Some(db) = TestDatabase::create(Backend::Postgres) else {
        return;
    };
    let out = run_cli(&db, &["migrate"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::remove_file(db.key_file()).unwrap();
    for attempt in 1..=40 {
        let out = run_cli(&db, &["serve", "--bind", "127.0.0.1:0"], None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "start {attempt}: {:?}: {stderr}", out.status);
        assert!(stderr.contains("already holds data"), "{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_wrong_secret_key_stops_start_up() {
    let db = TestDatabase::create(Backend::Sqlite).unwrap();
    let out = run_cli(&db, &["migrate"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key = std::fs::read_to_string(db.key_file()).unwrap();

    std::fs::remove_file(db.key_file()).unwrap();
    let out = run_cli(&db, &["migrate"], None);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("does not exist") && stderr.contains("already holds data"), "{stderr}");
    assert!(!db.key_file().exists(), "no silent new key");

    std::fs::write(db.key_file(), "ab".repeat(32)).unwrap();
    let out = run_cli(&db, &["migrate"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not the key"), "{}", String::from_utf8_lossy(&out.stderr));
    // 32 raw bytes (not the hex text) are named as the wrong shape, not as bad UTF-8.
    std::fs::write(db.key_file(), [0xffu8; 32]).unwrap();
    let out = run_cli(&db, &["migrate"], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("64 hexadecimal characters"), "{stderr}");

    std::fs::write(db.key_file(), key).unwrap();
    assert!(run_cli(&db, &["migrate"], None).status.success());
    let err = spawn_on(db, "not toml [").await.err().unwrap();
    assert!(err.contains("realms-"), "{err}");
}

async fn realm_files_are_strict_and_atomic(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let bad = app.db.dir.path().join("bad.toml");
    // The first realm is fine; the second has a bad role reference: nothing applies.
    std::fs::write(
        &bad,
        "[[realms]]\nname = \"fresh\"\n\n[[realms]]\nname = \"acme\"\n\n  [[realms.users]]\n  username = \"zed\"\n  roles = [\"nope\"]\n",
    )
    .unwrap();
    let out = app.cli(&["realm", "import", bad.to_str().unwrap()], None);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.toml:9") && stderr.contains("roles") && stderr.contains("nope"), "{stderr}");
    assert_eq!(stderr.matches("bad.toml:9").count(), 1, "said once: {stderr}");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let fresh = app.get(&app.realm_url("fresh", "/.well-known/openid-configuration")).await;
    assert_eq!(fresh.status, 404, "nothing of a bad file is applied");

    std::fs::write(&bad, "[[realms]]\nname = \"acme\"\ncolour = \"red\"\n").unwrap();
    let out = app.cli(&["realm", "import", bad.to_str().unwrap()], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.toml:3") && stderr.contains("colour"), "{stderr}");
    // A Keycloak wildcard, which would be matched literally.
    let wildcard = "[[realms]]\nname = \"acme\"\n\n  [[realms.clients]]\n  client_id = \"wild\"\n  \
                    redirect_uris = [\"https://app.example/*\"]\n";
    std::fs::write(&bad, wildcard).unwrap();
    let out = app.cli(&["realm", "import", bad.to_str().unwrap()], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("bad.toml:6") && stderr.contains("wildcard"), "{stderr}");
    // A service account's name without its client; `user add` likewise.
    let planted = "[[realms]]\nname = \"acme\"\n\n  [[realms.users]]\n  username = \"service-account-nobody\"\n";
    std::fs::write(&bad, planted).unwrap();
    let out = app.cli(&["realm", "import", bad.to_str().unwrap()], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("bad.toml:5") && stderr.contains("service accounts"), "{stderr}");
    let out = app.cli(&["user", "add", "--realm", "acme", "--username", "service-account-nobody"], None);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("service accounts"));

    // E-mail addresses are unique in a realm: within the file, and against
    // users the file does not name.
    let user =
        |name: &str, email: &str| format!("\n  [[realms.users]]\n  username = \"{name}\"\n  email = \"{email}\"\n");
    let twice =
        format!("[[realms]]\nname = \"acme\"\n{}{}", user("zed", "z@example.com"), user("zoe", "Z@example.com"));
    std::fs::write(&bad, twice).unwrap();
    let out = app.cli(&["realm", "import", bad.to_str().unwrap()], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("email") && stderr.contains("`zed`"), "{stderr}");
    assert!(stderr.contains("bad.toml:10"), "the line of zoe's address: {stderr}");
    std::fs::write(&bad, format!("[[realms]]\nname = \"acme\"\n{}", user("zed", "ALICE@example.com"))).unwrap();
    let out = app.cli(&["realm", "import", bad.to_str().unwrap()], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("another user"), "{stderr}");
    assert!(stderr.contains("bad.toml:6"), "the address's line: {stderr}");
    // A role name the admin API could not address.
    for name in ["", "a\\nb"] {
        std::fs::write(&bad, format!("[[realms]]\nname = \"acme\"\n\n  [[realms.roles]]\n  name = \"{name}\"\n"))
            .unwrap();
        let out = app.cli(&["realm", "import", bad.to_str().unwrap()], None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains("bad.toml:5") && stderr.contains("name"), "{stderr}");
    }
    // A bad address and an empty password: their own lines, not the username's.
    for (field, line) in [("email = \"nope\"", "email"), ("password = \"\"", "password")] {
        let file = format!("[[realms]]\nname = \"acme\"\n\n  [[realms.users]]\n  username = \"zed\"\n  {field}\n");
        std::fs::write(&bad, file).unwrap();
        let out = app.cli(&["realm", "import", bad.to_str().unwrap()], None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains("bad.toml:6") && stderr.contains(line), "{stderr}");
    }
    // A display name of megabytes: refused at its line.
    std::fs::write(&bad, format!("[[realms]]\nname = \"acme\"\ndisplay_name = \"{}\"\n", "x".repeat(1001))).unwrap();
    let out = app.cli(&["realm", "import", bad.to_str().unwrap()], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("bad.toml:3") && stderr.contains("display_name"), "{stderr}");
    // A hash costlier to verify than an imported one may be (every wrong
    // guess holds a hashing thread for seconds): the file's author chose
    // it, and an earlier version took it, so it is said, not refused.
    let costly = "$argon2id$v=19$m=262144,t=40,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
    let file = format!(
        "[[realms]]\nname = \"acme\"\n\n  [[realms.users]]\n  username = \"slow\"\n  password_hash = \"{costly}\"\n"
    );
    std::fs::write(&bad, file).unwrap();
    let out = app.cli(&["realm", "import", bad.to_str().unwrap()], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.contains("WARN") && stderr.contains("password_hash"), "{stderr}");
    // A hash that can never verify (Keycloak's pbkdf2, argon2 parameters
    // argon2 refuses) is refused at its line: the user could never sign in.
    for (hash, why) in [
        ("$pbkdf2-sha256$i=1000,l=32$c2FsdHNhbHQ$Ox9SIQ0p2H4GxVk0VS1QgFBXkR4JWaxWkzc2xMo4J4s", "argon2 hashes only"),
        ("$argon2id$v=19$m=1,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g", "cannot use"),
    ] {
        let file = format!(
            "[[realms]]\nname = \"acme\"\n\n  [[realms.users]]\n  username = \"locked\"\n  password_hash = \"{hash}\"\n"
        );
        std::fs::write(&bad, file).unwrap();
        let out = app.cli(&["realm", "import", bad.to_str().unwrap()], None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains("bad.toml:6") && stderr.contains(why), "{stderr}");
    }
    // A token lifetime past 100 years is refused, not wrapped around into the past.
    let out = app.cli(
        &["token", "add", "--realm", "acme", "--user", "alice", "--name", "far", "--expires", "9223372036854775807s"],
        None,
    );
    assert!(!out.status.success() && out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stderr).contains("100 years"));
    // The limit as the message words it: `100years` itself is allowed.
    let out = app.cli(
        &["token", "add", "--realm", "acme", "--user", "alice", "--name", "century", "--expires", "100years"],
        None,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = app.cli(
        &["token", "add", "--realm", "acme", "--user", "alice", "--name", "longer", "--expires", "100years 1s"],
        None,
    );
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("100 years"));
    // An empty --scope is a mistake, not a token that may do nothing.
    let out = app.cli(&["token", "add", "--realm", "acme", "--user", "alice", "--name", "blank", "--scope", ""], None);
    assert!(!out.status.success() && out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stdout));

    let swap =
        format!("[[realms]]\nname = \"acme\"\n{}{}", user("alice", "v@example.com"), user("victor", "a@example.com"));
    std::fs::write(&bad, swap).unwrap();
    let out = app.cli(&["realm", "import", bad.to_str().unwrap()], None);
    assert!(out.status.success(), "two users of the file may swap: {}", String::from_utf8_lossy(&out.stderr));
    let back = format!(
        "[[realms]]\nname = \"acme\"\n{}{}",
        user("alice", "alice@example.com"),
        user("victor", "victor@example.com")
    );
    std::fs::write(&bad, back).unwrap();
    assert!(app.cli(&["realm", "import", bad.to_str().unwrap()], None).status.success());

    // Export, then re-apply: idempotent, secrets kept, a client without a
    // name (made through the admin API) still without one.
    let master = app.master_token().await;
    let nameless = r#"{"clientId": "nameless", "publicClient": true}"#;
    let made = app.admin(reqwest::Method::POST, "/realms/acme/clients", Some(&master), Some(nameless)).await;
    assert_eq!(made.status, 201, "{}", made.text);
    let out = app.cli(&["realm", "export", "acme", "--with-secrets"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let exported = String::from_utf8(out.stdout).unwrap();
    assert!(exported.contains("svc-secret") && exported.contains("$argon2id$"), "{exported}");
    let plain = String::from_utf8(app.cli(&["realm", "export", "acme"], None).stdout).unwrap();
    assert!(!plain.contains("svc-secret") && !plain.contains("$argon2id$"), "{plain}");
    let file = app.db.dir.path().join("exported.toml");
    std::fs::write(&file, &plain).unwrap();
    for _ in 0..2 {
        let out = app.cli(&["realm", "import", file.to_str().unwrap()], None);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let again = String::from_utf8(app.cli(&["realm", "export", "acme"], None).stdout).unwrap();
    assert_eq!(plain, again, "re-applying an export changes nothing");
    let found = app.admin(reqwest::Method::GET, "/realms/acme/clients?clientId=nameless", Some(&master), None).await;
    assert!(found.json[0].get("name").is_none(), "{}", found.json);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(app.client_credentials("acme", "svc", "svc-secret", None).await.status, 200, "secret kept");
    assert_eq!(app.alice_tokens("openid").await.status, 200, "password kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn realm_files_are_strict_and_atomic_sqlite() {
    realm_files_are_strict_and_atomic(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn realm_files_are_strict_and_atomic_postgres() {
    realm_files_are_strict_and_atomic(Backend::Postgres).await;
}

const LOG_REALM: &str = r#"
[[realms]]
name = "logs"

  [[realms.users]]
  username = "lena"
  password = "lena-pw-5521"

  [[realms.clients]]
  client_id = "app"
  secret = "app-secret-4410"
  grant_types = ["password", "refresh_token"]
  scopes = ["openid"]
"#;

/// `REALMGATE_REALMS` is a comma-separated list, spaces around names ignored.
#[test]
fn the_environment_names_realm_files_separated_by_commas() {
    let db = TestDatabase::create(Backend::Sqlite).unwrap();
    let good = db.dir.path().join("good.toml");
    std::fs::write(&good, LOG_REALM).unwrap();
    let missing = db.dir.path().join("missing.toml");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_realmgate"))
        .args(["--database-url", &db.url, "--secret-key-file"])
        .arg(db.key_file())
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("REALMGATE_REALMS", format!("{}, {}", good.display(), missing.display()))
        .env_remove("REALMGATE_ADMIN_USER")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("cannot read {}", missing.display())), "{stderr}");
}

/// The server's own log at its default level: a malformed request is
/// answered 400 and leaves no ERROR (any client could otherwise fill the
/// log with them), and no password, client secret or token appears in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_log_holds_no_client_errors_and_no_secrets() {
    use std::io::{Read, Write};
    let db = TestDatabase::create(Backend::Sqlite).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log = db.dir.path().join("serve.log");
    // A comma in an option's file name is part of the name (only the
    // environment's list is comma-separated).
    let realm_file = db.dir.path().join("logs,v1.toml");
    std::fs::write(&realm_file, LOG_REALM).unwrap();
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_realmgate"))
        .args(["--database-url", &db.url, "--secret-key-file"])
        .arg(db.key_file())
        .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--realms"])
        .arg(&realm_file)
        .env_remove("RUST_LOG")
        .env_remove("REALMGATE_ADMIN_USER")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("start realmgate serve");
    let ready = format!("http://127.0.0.1:{port}/health/ready");
    eventually("the server answers", || async { reqwest::get(&ready).await.is_ok_and(|r| r.status().is_success()) })
        .await;

    for request in [
        "GET /health/live HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
        "GET /health/live HTTP/9.9\r\nHost: x\r\n\r\n",
        "POST /realms/master/protocol/openid-connect/token HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n",
    ] {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.1 400"), "{request:?}: {answer:?}");
    }

    let token_url = format!("http://127.0.0.1:{port}/realms/logs/protocol/openid-connect/token");
    let http = reqwest::Client::new();
    let grant = |password: &'static str| {
        let form = [("grant_type", "password"), ("username", "lena"), ("password", password), ("scope", "openid")];
        http.post(&token_url).basic_auth("app", Some("app-secret-4410")).form(&form).send()
    };
    assert_eq!(grant("wrong-pw-9921").await.unwrap().status(), 400);
    let tokens: serde_json::Value = grant("lena-pw-5521").await.unwrap().json().await.unwrap();
    let refresh_token = tokens["refresh_token"].as_str().expect("a refresh token").to_owned();
    let access_token = tokens["access_token"].as_str().expect("an access token").to_owned();
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh_token.as_str())];
    let refreshed = http.post(&token_url).basic_auth("app", Some("app-secret-4410")).form(&form).send().await;
    assert_eq!(refreshed.unwrap().status(), 200);
    let replayed = http.post(&token_url).basic_auth("app", Some("app-secret-4410")).form(&form).send().await;
    assert_eq!(replayed.unwrap().status(), 400, "a replayed refresh token is refused (and logged as reuse)");
    let userinfo = format!("http://127.0.0.1:{port}/realms/logs/protocol/openid-connect/userinfo");
    assert_eq!(http.get(&userinfo).bearer_auth(&access_token).send().await.unwrap().status(), 401, "revoked");
    // The dispatcher logs after it has answered and closed.
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.kill().unwrap();
    server.wait().unwrap();
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("INFO"), "the server logged its start: {logged}");
    assert!(logged.contains("WARN"), "the refresh token reuse was logged: {logged}");
    assert!(!logged.contains("ERROR"), "{logged}");
    assert!(!logged.contains('\u{1b}'), "no terminal colours in a log file: {logged:?}");
    for secret in ["lena-pw-5521", "wrong-pw-9921", "app-secret-4410", &refresh_token, &access_token] {
        assert!(!logged.contains(secret), "{secret} is in the log: {logged}");
    }
    let signature = access_token.rsplit('.').next().unwrap();
    assert!(!logged.contains(signature), "{logged}");
}

/// `serve` of the example realm file on `db`, without a bootstrap administrator.
fn serve_example(db: &TestDatabase, addr: &str) -> std::process::Command {
    let mut command = realmgate();
    command
        .args(["--database-url", &db.url, "--secret-key-file"])
        .arg(db.key_file())
        .args(["serve", "--bind", addr, "--realms", concat!(env!("CARGO_MANIFEST_DIR"), "/realms.example.toml")])
        .env_remove("REALMGATE_ADMIN_USER");
    command
}

/// Ctrl-C stops a server as SIGTERM does: a request in flight is answered
/// (actix's own handling dropped it), then the process exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_lets_requests_in_flight_finish() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let db = TestDatabase::create(Backend::Sqlite).unwrap();
    let addr = free_addr();
    let mut command = serve_example(&db, &addr);
    command.env("REALMGATE_ADMIN_PASSWORD", "half-of-a-bootstrap");
    let log = db.dir.path().join("node.log");
    let mut node = ServeProcess::start(command, addr.clone(), log.clone());
    node.wait_ready("/health/ready").await;
    let body = "grant_type=client_credentials&scope=roms.read";
    let head = format!(
        "POST /realms/demo/protocol/openid-connect/token HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: Basic cm9tLXN5bmM6cm9tLXN5bmMtc2VjcmV0\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body.as_bytes()[..10]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    node.signal("INT");
    tokio::time::sleep(Duration::from_millis(300)).await;
    stream.write_all(&body.as_bytes()[10..]).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("access_token"), "{answer}");
    assert!(node.wait_exit().success(), "stopped once the request was answered");
    // (A password without a user name made no administrator, and said nothing.)
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("REALMGATE_ADMIN_PASSWORD is set without REALMGATE_ADMIN_USER"), "{logged}");
    assert!(!logged.contains("half-of-a-bootstrap"), "{logged}");
}

/// A database that refuses is one clear line at once, not a pool's retries
/// logged for ten seconds.
#[test]
fn a_database_that_refuses_is_one_error_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let out = realmgate()
        .args(["--database-url", "postgres://postgres@127.0.0.1:1/none", "--secret-key-file"])
        .arg(dir.path().join("k"))
        .arg("migrate")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: cannot open the database: "), "{stderr}");
    assert!(stderr.contains("Connection refused") && !stderr.contains("r2d2"), "{stderr}");
}

/// libpq quotes a URL it cannot parse back in its message: the error says
/// what is wrong without the password (a space in it; a broken host).
#[test]
fn a_malformed_database_url_is_reported_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    for url in ["postgres://postgres:Mark Pw75@127.0.0.1:1/x", "postgres://postgres:MarkPw75@[::1/x"] {
        let out = realmgate()
            .args(["--database-url", url, "--secret-key-file"])
            .arg(dir.path().join("k"))
            .arg("migrate")
            .output()
            .unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with("error: cannot open the database: "), "{stderr}");
        assert!(!stderr.contains("Pw75"), "{stderr}");
    }
}

/// Commands that need what only an existing database holds (a realm
/// other than `master`, a user, a realm to export): on a SQLite path that
/// holds no database they are an error, and leave no new database or key
/// file behind. Adding a first user to `master` makes the database.
#[test]
fn commands_on_no_database_create_none() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("typo").join("rg.db");
    let url = format!("sqlite://{}", db.display());
    let commands: [&[&str]; 5] = [
        &["realm", "export", "demo"],
        &["user", "add", "--realm", "demo", "--username", "carol"],
        &["token", "add", "--realm", "master", "--user", "carol", "--name", "ci"],
        &["token", "add", "--realm", "demo", "--user", "carol", "--name", "ci"],
        &["keys", "rotate", "--realm", "master"],
    ];
    for args in commands {
        let out = realmgate().args(["--database-url", &url]).args(args).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("no database at") && stderr.contains("typo"), "{args:?}: {stderr}");
        assert!(!dir.path().join("typo").exists(), "{args:?} created nothing");
    }
    let out = realmgate()
        .args(["--database-url", &url, "user", "add", "--realm", "master", "--username", "root"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(db.exists(), "the first administrator's database was made");
}

/// A second Ctrl-C does not wait for requests in flight.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_ctrl_c_stops_at_once() {
    use tokio::io::AsyncWriteExt;
    let db = TestDatabase::create(Backend::Sqlite).unwrap();
    let addr = free_addr();
    let mut command = realmgate();
    command.args(["--database-url", &db.url, "--secret-key-file"]).arg(db.key_file()).args(["serve", "--bind", &addr]);
    let mut node = ServeProcess::start(command, addr.clone(), db.dir.path().join("node.log"));
    node.wait_ready("/health/ready").await;
    // A request that never finishes its body holds a graceful stop for its whole grace.
    let head = format!(
        "POST /realms/master/protocol/openid-connect/token HTTP/1.1\r\nHost: {addr}\r\n\
                        Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant"
    );
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    node.signal("INT");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = Instant::now();
    node.signal("INT");
    let status = node.wait_exit();
    assert!(second.elapsed() < Duration::from_secs(3), "stopped after {:?}", second.elapsed());
    assert_eq!(status.code(), Some(130));
}

/// Stopped as a service manager stops it, `serve` leaves its SQLite
/// database whole in the database file: the WAL copied back and emptied, so
/// the next start has no log to replay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_leaves_no_log_to_replay() {
    let db = TestDatabase::create(Backend::Sqlite).unwrap();
    let addr = free_addr();
    let mut node = ServeProcess::start(serve_example(&db, &addr), addr, db.dir.path().join("node.log"));
    node.wait_ready("/health/ready").await;
    // Writes right up to the stop: grants, each an audit event, many at once.
    let token = format!("{}/realms/demo/protocol/openid-connect/token", node.base());
    let client = reqwest::Client::new();
    let grants = (0..200).map(|_| {
        client
            .post(&token)
            .basic_auth("rom-sync", Some("rom-sync-secret"))
            .form(&[("grant_type", "client_credentials"), ("scope", "roms.read")])
            .send()
    });
    for answer in futures_util::future::join_all(grants).await {
        assert_eq!(answer.unwrap().status(), 200);
    }
    let wal = db.dir.path().join("rg.db-wal");
    let logged = || std::fs::metadata(&wal).map_or(0, |m| m.len());
    assert!(logged() > 0, "the realm file and the grants' events were written to the WAL");

    assert!(node.stop().success());
    assert_eq!(logged(), 0, "the WAL is checkpointed and emptied at exit");
    let url = DatabaseUrl::parse(&db.url).unwrap();
    let stored = Db::connect(url, 1)
        .unwrap()
        .run(|conn| {
            let DbConnection::Sqlite(conn) = conn else { unreachable!("a SQLite test") };
            let count = "(SELECT COUNT(*) FROM events WHERE type = 'CLIENT_LOGIN')";
            Ok(diesel::select(diesel::dsl::sql::<BigInt>(count)).get_result::<i64>(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(stored, 200, "every grant's audit event is stored before the exit");
}

/// A second `serve` on the SQLite file a server runs on is refused at once
/// (it would write beside the first and answer from its own caches), while
/// other commands may still open the file; once the first server has
/// stopped, the file is free again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_on_the_same_sqlite_file_is_refused() {
    let db = TestDatabase::create(Backend::Sqlite).unwrap();
    let serve = |addr: &str| serve_example(&db, addr);
    let first_addr = free_addr();
    let mut first = ServeProcess::start(serve(&first_addr), first_addr.clone(), db.dir.path().join("first.log"));
    first.wait_ready("/health/ready").await;

    let second_addr = free_addr();
    let second = serve(&second_addr).output().unwrap();
    assert!(!second.status.success());
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(said.contains("another realmgate server is running on"), "{said}");
    assert!(said.contains("rg.db.lock"), "{said}");
    assert!(std::net::TcpStream::connect(&second_addr).is_err(), "the second server does not listen");

    // Other commands share the file with the running server.
    let exported = realmgate()
        .args(["--database-url", &db.url, "--secret-key-file"])
        .arg(db.key_file())
        .args(["realm", "export", "demo"])
        .output()
        .unwrap();
    assert!(exported.status.success(), "{}", String::from_utf8_lossy(&exported.stderr));
    assert!(String::from_utf8_lossy(&exported.stdout).contains("rom-sync"));
    let token = format!("{}/realms/demo/protocol/openid-connect/token", first.base());
    let granted = reqwest::Client::new()
        .post(&token)
        .basic_auth("rom-sync", Some("rom-sync-secret"))
        .form(&[("grant_type", "client_credentials"), ("scope", "roms.read")])
        .send()
        .await
        .unwrap();
    assert_eq!(granted.status(), 200, "the first server is unharmed");

    assert!(first.stop().success());
    let again_addr = free_addr();
    let mut again = ServeProcess::start(serve(&again_addr), again_addr, db.dir.path().join("again.log"));
    again.wait_ready("/health/ready").await;
}

/// A realm defined in two realm files of one start is refused, naming both
/// files: applied twice, the second file's defaults undid the first's
/// settings without a word.
#[test]
fn a_realm_in_two_files_is_refused() {
    let db = TestDatabase::create(Backend::Sqlite).unwrap();
    let (first, second) = (db.dir.path().join("first.toml"), db.dir.path().join("second.toml"));
    std::fs::write(&first, "[[realms]]\nname = \"twin\"\naccess_token_lifetime = \"9m\"\n").unwrap();
    std::fs::write(&second, "[[realms]]\nname = \"other\"\n\n[[realms]]\nname = \"twin\"\n").unwrap();
    let mut serve = realmgate()
        .args(["--database-url", &db.url, "--secret-key-file"])
        .arg(db.key_file())
        .args(["serve", "--bind", &free_addr(), "--realms"])
        .arg(&first)
        .arg("--realms")
        .arg(&second)
        .env_remove("REALMGATE_ADMIN_USER")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Refused at start: it exits (were it to serve, the test fails, not hangs).
    let started = Instant::now();
    while serve.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            serve.kill().unwrap();
            panic!("serve started with a realm defined in two files");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = serve.wait_with_output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("second.toml:4") && stderr.contains("already defined in"), "{stderr}");
    assert!(stderr.contains("first.toml"), "{stderr}");
    let export = run_cli(&db, &["realm", "export", "other"], None);
    assert!(!export.status.success(), "nothing of either file was applied");
}
