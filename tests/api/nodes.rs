//! Several nodes on one PostgreSQL database, as `docker-compose.yml` runs
//! them: two `realmgate serve` processes behind a round-robin proxy. Any
//! node finishes what another started, and changes reach every node within
//! a second.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::net::{TcpListener, TcpStream};

use crate::browser::{Browser, CHALLENGE, VERIFIER, auth_url};
use realmgate::clock::OffsetClock;

use crate::helpers::{Backend, TEST_REALMS, TestApp, TestDatabase, jwt_parts};
use crate::serve_process::{ServeProcess, free_addr, realmgate};

/// How soon a change made through one node must be seen by the other.
const PROPAGATION: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_postgresql_behind_a_proxy() {
    let Some(db) = TestDatabase::create(Backend::Postgres) else { return };
    let db = Arc::new(db);
    let realm_file = db.dir.path().join("realms.toml");
    std::fs::write(&realm_file, TEST_REALMS).unwrap();

    let mut proxy = Proxy::bind().await;
    // Both start at the same moment on the empty database: both run the
    // migrations, apply the realm file and, as the deployment's key file
    // does not exist yet, race to create it: one key is written, both use it.
    let mut a = spawn_node(&db, &realm_file, &proxy.url, "a");
    let mut b = spawn_node(&db, &realm_file, &proxy.url, "b");
    a.wait_ready("/health/ready").await;
    b.wait_ready("/health/ready").await;
    proxy.serve(vec![a.addr.clone(), b.addr.clone()]);
    let (node_a, node_b) = (app_at(&a, &db), app_at(&b, &db));

    assert_eq!(
        node_a.get(&node_a.realm_url("acme", "/protocol/openid-connect/certs")).await.json,
        node_b.get(&node_b.realm_url("acme", "/protocol/openid-connect/certs")).await.json,
        "every node publishes the same keys"
    );
    assert_eq!(
        node_a.get(&node_a.realm_url("acme", "/.well-known/openid-configuration")).await.json["issuer"],
        format!("{}/realms/acme", proxy.url),
        "both name the proxy's address"
    );

    // A token from A is introspected, used at userinfo and revoked at B.
    let tokens = node_a.alice_tokens("openid").await;
    let access = tokens.str("access_token").to_owned();
    assert_eq!(node_b.introspect("acme", ("svc", "svc-secret"), &access).await.json["active"], true);
    assert_eq!(node_b.userinfo("acme", &access).await.status, 200);
    assert_eq!(node_b.revoke("acme", ("web", "web-secret"), &access).await.status, 200);
    assert_eq!(node_a.userinfo("acme", &access).await.status, 401, "revoked at B, refused at A");
    assert_eq!(node_a.introspect("acme", ("svc", "svc-secret"), &access).await.json["active"], false);

    // A refresh token rotated at A and replayed at B is caught as reuse: the
    // whole family is revoked, the rotated token too.
    let first = tokens.str("refresh_token").to_owned();
    let rotated = node_a.refresh("acme", ("web", "web-secret"), &first).await;
    assert_eq!(rotated.status, 200, "{}", rotated.json);
    node_b.refresh("acme", ("web", "web-secret"), &first).await.assert_error(400, "invalid_grant");
    node_a
        .refresh("acme", ("web", "web-secret"), rotated.str("refresh_token"))
        .await
        .assert_error(400, "invalid_grant");

    // A browser session started at A continues at B, and A redeems B's code.
    let browser = Browser::new();
    let params = [
        ("client_id", "web"),
        ("redirect_uri", "http://127.0.0.1:9/cb"),
        ("response_type", "code"),
        ("scope", "openid"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    let login = browser.get(&auth_url(&node_a, "acme", &params)).await;
    let back = browser.login(&login, "alice", "alice-pw").await;
    assert_eq!(back.status, 302, "{}", back.body);
    let at_b = browser.get(&auth_url(&node_b, "acme", &params)).await;
    assert_eq!(at_b.status, 302, "B knows the session: {}", at_b.body);
    let code = at_b.redirect_params()["code"].clone();
    let exchanged = node_a.token("acme", Some(("web", "web-secret")), &code_exchange(&code)).await;
    assert_eq!(exchanged.status, 200, "{}", exchanged.json);

    // Consent given at A is remembered at B.
    let spa = [
        ("client_id", "spa"),
        ("redirect_uri", "http://127.0.0.1:9/spa"),
        ("response_type", "code"),
        ("scope", "openid roms.read"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    let consent = browser.get(&auth_url(&node_a, "acme", &spa)).await;
    let allowed = browser.decide(&consent, "allow").await;
    assert_eq!(allowed.status, 302, "{}", allowed.body);
    let at_b = browser.get(&auth_url(&node_b, "acme", &spa)).await;
    assert_eq!(at_b.status, 302, "B remembers the consent: {}", at_b.body);

    // A device code issued by A is approved in a browser at B and redeemed at B.
    let device = node_a
        .post_form("acme", "/protocol/openid-connect/auth/device", None, &[("client_id", "tv"), ("scope", "openid")])
        .await;
    assert_eq!(device.status, 200, "{}", device.json);
    let consent = enter_user_code(&browser, &node_b, device.str("user_code")).await;
    let done = browser.decide(&consent, "allow").await;
    assert!(done.body.contains("Device connected"), "{}", done.body);
    let device_form = [("grant_type", DEVICE_GRANT), ("client_id", "tv"), ("device_code", device.str("device_code"))];
    let tokens = node_b.token("acme", None, &device_form).await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);

    // Wrong user codes count against one budget (five per address),
    // whichever node they reach: five at A and B in turn (the right code
    // typed above at B used up nothing).
    let guessed = node_b
        .post_form("acme", "/protocol/openid-connect/auth/device", None, &[("client_id", "tv"), ("scope", "openid")])
        .await;
    let guesser = Browser::new();
    for (guess, node) in
        ["BBBB-BBBB", "CCCC-CCCC", "DDDD-DDDD", "FFFF-FFFF", "GGGG-GGGG"].iter().zip([&node_a, &node_b].iter().cycle())
    {
        let page = enter_user_code(&guesser, node, guess).await;
        assert!(page.body.contains("not valid"), "{}", page.body);
    }
    for node in [&node_a, &node_b] {
        let locked = enter_user_code(&guesser, node, guessed.str("user_code")).await;
        assert_eq!(locked.status, 429, "five attempts at A and B together: {}", locked.body);
    }

    // Through the proxy, a new connection per request: the flow's steps land
    // on both nodes in turn.
    let through_proxy = TestApp {
        base: proxy.url.clone(),
        http: no_keep_alive(),
        clock: Arc::new(OffsetClock::default()),
        db: Arc::clone(&db),
    };
    let browser = Browser { http: no_keep_alive_with_cookies() };
    let before = proxy.counts();
    let login = browser.get(&auth_url(&through_proxy, "acme", &params)).await;
    let back = browser.login(&login, "alice", "alice-pw").await;
    assert_eq!(back.status, 302, "{}", back.body);
    let code = back.redirect_params()["code"].clone();
    let exchanged = through_proxy.token("acme", Some(("web", "web-secret")), &code_exchange(&code)).await;
    assert_eq!(exchanged.status, 200, "{}", exchanged.json);
    let refreshed = through_proxy.refresh("acme", ("web", "web-secret"), exchanged.str("refresh_token")).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.json);
    let after = proxy.counts();
    assert!(after[0] > before[0] && after[1] > before[1], "both nodes served the flow: {before:?} -> {after:?}");

    // A client secret changed through A's admin API is in force at B within a second.
    let master = node_a.master_token().await;
    let found = node_a.admin(reqwest::Method::GET, "/realms/acme/clients?clientId=svc", Some(&master), None).await;
    let id = found.json[0]["id"].as_str().expect("svc's id").to_owned();
    assert_eq!(node_b.client_credentials("acme", "svc", "svc-secret", None).await.status, 200, "B caches svc");
    let body = json!({"clientId": "svc", "secret": "new-secret"}).to_string();
    let changed =
        node_a.admin(reqwest::Method::PUT, &format!("/realms/acme/clients/{id}"), Some(&master), Some(&body)).await;
    assert_eq!(changed.status, 204, "{}", changed.text);
    let changed_at = Instant::now();
    loop {
        if node_b.client_credentials("acme", "svc", "new-secret", None).await.status == 200 {
            break;
        }
        assert!(changed_at.elapsed() < PROPAGATION, "B still has the old secret");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    node_b.client_credentials("acme", "svc", "svc-secret", None).await.assert_error(401, "invalid_client");

    // A key rotated at A (its CLI, on its database) is the one B signs with
    // within a second, and B publishes it.
    let signed = node_b.client_credentials("acme", "svc", "new-secret", None).await;
    let old_kid = jwt_parts(signed.str("access_token")).0["kid"].clone();
    let out = node_a.cli(&["keys", "rotate", "--realm", "acme"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rotated_at = Instant::now();
    let new_kid = loop {
        let now = node_b.client_credentials("acme", "svc", "new-secret", None).await;
        let kid = jwt_parts(now.str("access_token")).0["kid"].clone();
        if kid != old_kid {
            break kid;
        }
        assert!(rotated_at.elapsed() < PROPAGATION, "B still signs with the old key");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let jwks = node_b.get(&node_b.realm_url("acme", "/protocol/openid-connect/certs")).await.json;
    let kids: Vec<_> = jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].clone()).collect();
    assert!(kids.contains(&new_kid) && kids.contains(&old_kid), "B publishes the new key and keeps the old: {kids:?}");

    // B paused (its change watcher with it) while A changes the secret: B's
    // very first request after it resumes sees the change, for B trusts its
    // cache only a second past its last read of the change log.
    assert_eq!(node_b.client_credentials("acme", "svc", "new-secret", None).await.status, 200, "B caches svc");
    b.signal("STOP");
    let body = json!({"clientId": "svc", "secret": "newer-secret"}).to_string();
    let changed =
        node_a.admin(reqwest::Method::PUT, &format!("/realms/acme/clients/{id}"), Some(&master), Some(&body)).await;
    assert_eq!(changed.status, 204, "{}", changed.text);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    b.signal("CONT");
    node_b.client_credentials("acme", "svc", "new-secret", None).await.assert_error(401, "invalid_client");
    assert_eq!(node_b.client_credentials("acme", "svc", "newer-secret", None).await.status, 200);
}

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Types a user code into a node's device page (its form posts to the proxy).
async fn enter_user_code(browser: &Browser, node: &TestApp, code: &str) -> crate::browser::Page {
    let page = browser.get(&node.realm_url("acme", "/device")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let mut form = page.form();
    form.fields.insert("user_code".into(), code.into());
    browser.submit(&form).await
}

fn code_exchange(code: &str) -> [(&'static str, &str); 4] {
    [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", "http://127.0.0.1:9/cb"),
        ("code_verifier", VERIFIER),
    ]
}

fn no_keep_alive() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).pool_max_idle_per_host(0).build().unwrap()
}

fn no_keep_alive_with_cookies() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

/// One node: `realmgate serve` with the deployment's database, key file,
/// realm file and public URL.
fn spawn_node(db: &TestDatabase, realm_file: &std::path::Path, public_url: &str, name: &str) -> ServeProcess {
    let addr = free_addr();
    let mut command = realmgate();
    command
        .args(["--database-url", &db.url, "--secret-key-file"])
        .arg(db.key_file())
        .args(["serve", "--bind", &addr, "--public-url", public_url, "--workers", "1", "--realms"])
        .arg(realm_file)
        .env("REALMGATE_ADMIN_USER", "admin")
        .env("REALMGATE_ADMIN_PASSWORD", "admin-pw")
        .env("RUST_LOG", "warn");
    ServeProcess::start(command, addr, db.dir.path().join(format!("node-{name}.log")))
}

/// The test helpers, aimed at one node directly.
fn app_at(node: &ServeProcess, db: &Arc<TestDatabase>) -> TestApp {
    TestApp {
        base: node.base(),
        http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
        clock: Arc::new(OffsetClock::default()),
        db: Arc::clone(db),
    }
}

/// A TCP proxy that hands each new connection to the next node in turn (the
/// compose file's nginx does the same per request).
struct Proxy {
    listener: Option<TcpListener>,
    url: String,
    served: Arc<[AtomicUsize; 2]>,
}

impl Proxy {
    async fn bind() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        Proxy { listener: Some(listener), url, served: Arc::new(Default::default()) }
    }

    fn serve(&mut self, nodes: Vec<String>) {
        let listener = self.listener.take().expect("served once");
        let served = Arc::clone(&self.served);
        tokio::spawn(async move {
            let next = AtomicUsize::new(0);
            while let Ok((mut client, _)) = listener.accept().await {
                let pick = next.fetch_add(1, Ordering::Relaxed) % nodes.len();
                served[pick].fetch_add(1, Ordering::Relaxed);
                let node = nodes[pick].clone();
                tokio::spawn(async move {
                    if let Ok(mut upstream) = TcpStream::connect(&node).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    }
                });
            }
        });
    }

    fn counts(&self) -> [usize; 2] {
        [self.served[0].load(Ordering::Relaxed), self.served[1].load(Ordering::Relaxed)]
    }
}

/// A PostgreSQL restart (here: every backend of the app terminated) costs
/// at most the request that finds the first dead connection: the pool then
/// tests its other idle connections before their next use and replaces the
/// dead ones, and the server answers again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_recovers_when_postgresql_drops_its_connections() {
    use diesel::sql_types::BigInt;
    use diesel::{Connection, PgConnection, RunQueryDsl, connection::SimpleConnection};
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let Some(mut db) = TestDatabase::create(Backend::Postgres) else { return };
    let name = format!("rg{}", uuid::Uuid::new_v4().simple());
    db.url = format!("{}&application_name={name}", db.url);
    let app = crate::helpers::spawn_on(db, TEST_REALMS).await.expect("the app starts");
    let login = || app.password_grant("acme", ("web", "web-secret"), ("alice", "alice-pw"), "openid");
    let ready = || async { app.get(&format!("{}/health/ready", app.base)).await.status };
    assert_eq!(login().await.status, 200);

    let base = std::env::var("REALMGATE_TEST_POSTGRES_URL").unwrap();
    let mut admin = PgConnection::establish(&base).expect("connect to the test PostgreSQL");
    let pooled = |admin: &mut PgConnection| {
        let sql = format!("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = '{name}'");
        diesel::sql_query(sql).get_result::<Count>(admin).expect("count the app's backends").n
    };
    // Several connections in the pool, as under load (besides the pool,
    // the change watcher holds one of its own).
    let at_rest = pooled(&mut admin);
    for _ in 0..20 {
        let answers = futures_util::future::join_all((0..64).map(|_| ready())).await;
        assert!(answers.iter().all(|&status| status == 200), "{answers:?}");
        if pooled(&mut admin) >= at_rest + 6 {
            break;
        }
    }
    let before = pooled(&mut admin);
    assert!(before >= at_rest + 6, "the pool grew from {at_rest} to {before} connections only");
    let terminate = format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{name}'");
    admin.batch_execute(&terminate).expect("terminate the app's backends");

    let mut statuses = Vec::new();
    for _ in 0..before + 4 {
        statuses.push(ready().await);
        statuses.push(login().await.status);
    }
    let failed = statuses.iter().filter(|&&status| status != 200).count();
    assert!(failed <= 1, "{before} dead connections cost {failed} failed requests: {statuses:?}");
    // …and that one is a 503 (retry shortly), not an internal error.
    assert!(statuses.iter().all(|&status| status == 200 || status == 503), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&200));
}
