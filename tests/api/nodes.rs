//! Several nodes on one PostgreSQL database: any node finishes what another
//! started, and changes reach every node within a second.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::browser::{Browser, CHALLENGE, VERIFIER, auth_url};
use crate::helpers::{Backend, TEST_REALMS, TestDatabase, spawn_node};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_one_postgresql() {
    let Some(db) = TestDatabase::create(Backend::Postgres) else { return };
    let db = Arc::new(db);
    // Node A's address is the deployment's public URL (as a proxy's would be).
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let public = format!("http://127.0.0.1:{port}");
    let bind_a = format!("127.0.0.1:{port}");
    // Both run migrations and apply the realm file at the same moment.
    let (a, b) = tokio::join!(
        spawn_node(Arc::clone(&db), TEST_REALMS, &bind_a, Some(&public)),
        spawn_node(Arc::clone(&db), TEST_REALMS, "127.0.0.1:0", Some(&public))
    );
    let (a, b) = (a.expect("node A starts"), b.expect("node B starts"));
    assert_eq!(
        a.get(&a.realm_url("acme", "/protocol/openid-connect/certs")).await.json,
        b.get(&b.realm_url("acme", "/protocol/openid-connect/certs")).await.json,
        "every node publishes the same keys"
    );

    // A token from A is introspected, used at userinfo and revoked at B.
    let tokens = a.alice_tokens("openid").await;
    let access = tokens.str("access_token").to_owned();
    assert_eq!(b.introspect("acme", ("svc", "svc-secret"), &access).await.json["active"], true);
    assert_eq!(b.userinfo("acme", &access).await.status, 200);
    assert_eq!(b.revoke("acme", ("web", "web-secret"), &access).await.status, 200);
    assert_eq!(a.userinfo("acme", &access).await.status, 401, "revoked at B, refused at A");

    // A refresh token rotated at A and replayed at B is caught as reuse.
    let first = tokens.str("refresh_token").to_owned();
    let rotated = a.refresh("acme", ("web", "web-secret"), &first).await;
    assert_eq!(rotated.status, 200);
    b.refresh("acme", ("web", "web-secret"), &first).await.assert_error(400, "invalid_grant");
    a.refresh("acme", ("web", "web-secret"), rotated.str("refresh_token")).await.assert_error(400, "invalid_grant");

    // A browser session started at A continues at B, and B redeems A's code.
    let browser = Browser::new();
    let params = [
        ("client_id", "web"),
        ("redirect_uri", "http://127.0.0.1:9/cb"),
        ("response_type", "code"),
        ("scope", "openid"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    let login = browser.get(&auth_url(&a, "acme", &params)).await;
    let back = browser.login(&login, "alice", "alice-pw").await;
    assert_eq!(back.status, 302, "{}", back.body);
    let at_b = browser.get(&auth_url(&b, "acme", &params)).await;
    assert_eq!(at_b.status, 302, "B knows the session: {}", at_b.body);
    let code = at_b.redirect_params()["code"].clone();
    let exchanged = a
        .token(
            "acme",
            Some(("web", "web-secret")),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "http://127.0.0.1:9/cb"),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    assert_eq!(exchanged.status, 200, "{}", exchanged.json);

    // A key rotated through one node reaches the other within a second.
    let before = b.client_credentials("acme", "svc", "svc-secret", None).await;
    let old_kid = crate::helpers::jwt_parts(before.str("access_token")).0["kid"].clone();
    let out = a.cli(&["keys", "rotate", "--realm", "acme"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let started = Instant::now();
    loop {
        let now = b.client_credentials("acme", "svc", "svc-secret", None).await;
        if crate::helpers::jwt_parts(now.str("access_token")).0["kid"] != old_kid {
            break;
        }
        assert!(started.elapsed() < Duration::from_millis(1500), "B still signs with the old key");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // ... and a changed client secret too.
    let file = db.dir.path().join("secret.toml");
    std::fs::write(
        &file,
        "[[realms]]\nname = \"acme\"\n\n  [[realms.clients]]\n  client_id = \"svc\"\n  secret = \"new-secret\"\n  grant_types = [\"client_credentials\"]\n  scopes = [\"roms.read\", \"roms.write\"]\n",
    )
    .unwrap();
    assert!(a.cli(&["realm", "import", file.to_str().unwrap()], None).status.success());
    let started = Instant::now();
    loop {
        if b.client_credentials("acme", "svc", "new-secret", None).await.status == 200 {
            break;
        }
        assert!(started.elapsed() < Duration::from_millis(1500), "B still has the old secret");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    b.client_credentials("acme", "svc", "svc-secret", None).await.assert_error(401, "invalid_client");
}
