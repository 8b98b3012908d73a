use crate::both_backends;
use crate::helpers::TestApp;

both_backends!(
    discovery_lists_exactly_what_works,
    discovery_is_served_at_every_path,
    jwks_publishes_signing_keys,
    unknown_realms_are_404,
    the_realm_document_names_the_signing_key
);

async fn discovery_lists_exactly_what_works(app: TestApp) {
    let doc = app.get(&app.realm_url("acme", "/.well-known/openid-configuration")).await;
    assert_eq!(doc.status, 200);
    let d = &doc.json;
    assert_eq!(d["issuer"], app.issuer("acme"));
    assert_eq!(d["token_endpoint"], app.realm_url("acme", "/protocol/openid-connect/token"));
    assert_eq!(d["jwks_uri"], app.realm_url("acme", "/protocol/openid-connect/certs"));
    assert_eq!(d["introspection_endpoint"], app.realm_url("acme", "/protocol/openid-connect/token/introspect"));
    assert_eq!(d["revocation_endpoint"], app.realm_url("acme", "/protocol/openid-connect/revoke"));
    assert_eq!(d["userinfo_endpoint"], app.realm_url("acme", "/protocol/openid-connect/userinfo"));
    let grants: Vec<&str> =
        d["grant_types_supported"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(
        grants,
        [
            "authorization_code",
            "implicit",
            "client_credentials",
            "password",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:device_code"
        ]
    );
    assert_eq!(
        d["response_types_supported"],
        serde_json::json!([
            "code",
            "id_token",
            "id_token token",
            "token",
            "code id_token",
            "code token",
            "code id_token token"
        ])
    );
    assert_eq!(d["response_modes_supported"], serde_json::json!(["query", "fragment", "form_post"]));
    assert_eq!(d["code_challenge_methods_supported"], serde_json::json!(["S256", "plain"]));
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    assert_eq!(d["authorization_endpoint"], app.realm_url("acme", "/protocol/openid-connect/auth"));
    assert_eq!(d["end_session_endpoint"], app.realm_url("acme", "/protocol/openid-connect/logout"));
    assert_eq!(
        d["token_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "client_secret_post", "none"])
    );
    assert_eq!(d["id_token_signing_alg_values_supported"], serde_json::json!(["RS256"]));
    let scopes = d["scopes_supported"].as_array().unwrap();
    for scope in ["openid", "profile", "email", "offline_access", "roms.read", "roms.write"] {
        assert!(scopes.iter().any(|s| s == scope), "{scope} missing from {scopes:?}");
    }
    assert_eq!(d["subject_types_supported"], serde_json::json!(["public"]));
    // The claims the address and phone scopes release are listed; `scope`
    // (an access-token claim only) is not.
    let claims = d["claims_supported"].as_array().unwrap();
    for claim in ["sub", "email", "phone_number", "phone_number_verified", "address", "sid"] {
        assert!(claims.iter().any(|c| c == claim), "{claim} missing from {claims:?}");
    }
    assert!(!claims.iter().any(|c| c == "scope"), "{claims:?}");

    let other = app.get(&app.realm_url("other", "/.well-known/openid-configuration")).await;
    assert_eq!(other.json["id_token_signing_alg_values_supported"], serde_json::json!(["ES256"]));
    assert_eq!(other.json["issuer"], app.issuer("other"));
}

async fn discovery_is_served_at_every_path(app: TestApp) {
    let expected = app.get(&app.realm_url("acme", "/.well-known/openid-configuration")).await.json;
    for path in [
        "/realms/acme/.well-known/oauth-authorization-server",
        "/.well-known/oauth-authorization-server/realms/acme",
        "/.well-known/openid-configuration/realms/acme",
    ] {
        let doc = app.get(&format!("{}{path}", app.base)).await;
        assert_eq!(doc.status, 200, "{path}");
        assert_eq!(doc.json["issuer"], expected["issuer"], "{path}");
        assert_eq!(doc.json["token_endpoint"], expected["token_endpoint"], "{path}");
        let head = app.http.head(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(head.status(), 200, "HEAD {path}");
    }
}

async fn jwks_publishes_signing_keys(app: TestApp) {
    let jwks = app.get(&app.realm_url("acme", "/protocol/openid-connect/certs")).await;
    assert_eq!(jwks.status, 200);
    let keys = jwks.json["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["alg"], "RS256");
    assert!(key["kid"].is_string());
    assert!(key.get("d").is_none(), "private part published");
    let n = key["n"].as_str().unwrap();
    assert!(n.len() >= 342, "RSA modulus shorter than 2048 bits");

    let ec = app.get(&app.realm_url("other", "/protocol/openid-connect/certs")).await;
    let key = &ec.json["keys"][0];
    assert_eq!(
        (key["kty"].as_str(), key["crv"].as_str(), key["alg"].as_str()),
        (Some("EC"), Some("P-256"), Some("ES256"))
    );
    assert!(key.get("d").is_none());
}

/// Keycloak's public realm document: the key that verifies the realm's tokens.
async fn the_realm_document_names_the_signing_key(app: TestApp) {
    use base64::Engine;
    let info = app.get(&format!("{}/realms/acme", app.base)).await;
    assert_eq!(info.status, 200, "{}", info.text);
    assert_eq!(info.json["realm"], "acme");
    assert_eq!(info.json["token-service"], format!("{}/realms/acme/protocol/openid-connect", app.base));
    let der = base64::engine::general_purpose::STANDARD.decode(info.str("public_key")).unwrap();
    let key = openssl::pkey::PKey::public_key_from_der(&der).expect("DER SubjectPublicKeyInfo");
    let token = app.client_credentials("acme", "svc", "svc-secret", None).await;
    let jwt = token.str("access_token");
    let (signed, signature) = jwt.rsplit_once('.').unwrap();
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(signature).unwrap();
    let mut verifier = openssl::sign::Verifier::new(openssl::hash::MessageDigest::sha256(), &key).unwrap();
    verifier.update(signed.as_bytes()).unwrap();
    assert!(verifier.verify(&signature).unwrap(), "the published key verifies the realm's tokens");
    assert_eq!(app.get(&format!("{}/realms/nope", app.base)).await.status, 404);
    // A percent-encoded letter in the realm segment names the same realm.
    let encoded = app.get(&format!("{}/realms/%61cme/protocol/openid-connect/certs", app.base)).await;
    assert_eq!(encoded.status, 200, "{}", encoded.text);
}

async fn unknown_realms_are_404(app: TestApp) {
    for path in [
        "/realms/nope/.well-known/openid-configuration",
        "/realms/nope/protocol/openid-connect/certs",
        "/realms/Bad%20Name/protocol/openid-connect/certs",
        "/realms/acme%2Fx/protocol/openid-connect/certs",
    ] {
        let answer = app.get(&format!("{}{path}", app.base)).await;
        assert_eq!(answer.status, 404, "{path}");
    }
    let token = app.client_credentials("nope", "svc", "svc-secret", None).await;
    token.assert_error(404, "not_found");
}

both_backends!(health_and_metrics);

async fn health_and_metrics(app: TestApp) {
    assert_eq!(app.get(&format!("{}/health/live", app.base)).await.status, 200);
    let ready = app.get(&format!("{}/health/ready", app.base)).await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json["status"], "UP");
    app.client_credentials("acme", "svc", "svc-secret", None).await;
    // Requests are labelled by the route they took; a path no route
    // matches never becomes a label, even one that is a realm route's
    // path without the realm, or a top-level route's path under a realm.
    for _ in 0..2 {
        assert_eq!(app.get(&format!("{}/realms/acme/.well-known/openid-configuration", app.base)).await.status, 200);
        assert_eq!(app.get(&format!("{}/no/such/path-{}", app.base, "x".repeat(40))).await.status, 404);
    }
    for path in ["/protocol/openid-connect/certs", "/realms/acme/health/live", "/realms//protocol/openid-connect/certs"]
    {
        assert_eq!(app.get(&format!("{}{path}", app.base)).await.status, 404, "{path}");
    }
    // The Prometheus text format by default; OpenMetrics when asked for.
    let answer = app.http.get(format!("{}/metrics", app.base)).send().await.unwrap();
    let content_type = answer.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    let metrics = answer.text().await.unwrap();
    assert!(metrics.contains("# TYPE realmgate_http_requests_total counter"), "{metrics}");
    assert!(!metrics.contains("# EOF") && !metrics.contains("# UNIT"), "{metrics}");
    let open = app
        .http
        .get(format!("{}/metrics", app.base))
        .header("accept", "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5")
        .send()
        .await
        .unwrap();
    assert!(open.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    assert!(open.text().await.unwrap().ends_with("# EOF\n"));
    for label in [
        r#"endpoint="/realms/{realm}/.well-known/openid-configuration",method="GET",status="200"} 2"#,
        r#"endpoint="unmatched",method="GET",status="404"} 5"#,
        r#"endpoint="/health/live",method="GET",status="200"} 1"#,
    ] {
        assert!(metrics.contains(&format!("realmgate_http_requests_total{{{label}")), "{label} in {metrics}");
    }
    assert!(!metrics.contains("no/such"), "{metrics}");
    assert!(
        metrics.contains(r#"realmgate_tokens_issued_total{realm="acme",grant_type="client_credentials"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("realmgate_http_requests_total{endpoint=\"/realms/{realm}/protocol/openid-connect/token\""),
        "{metrics}"
    );
    assert!(metrics.contains("realmgate_http_request_duration_seconds_bucket"), "{metrics}");
}

/// Readiness reads the database: a SQLite file moved away (open connections
/// would still read the old one) is 503 until it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_notices_a_missing_database_file() {
    let Some(app) = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite).await else { return };
    let url = format!("{}/health/ready", app.base);
    let ready = || app.get(&url);
    assert_eq!(ready().await.status, 200);
    let (file, moved) = (app.db.dir.path().join("rg.db"), app.db.dir.path().join("moved.db"));
    std::fs::rename(&file, &moved).unwrap();
    assert_eq!(ready().await.status, 503);
    std::fs::rename(&moved, &file).unwrap();
    assert_eq!(ready().await.status, 200);
}

/// A SQLite file deleted or replaced while the server runs stays open
/// under its old identity: whatever is written to it would be lost at the
/// next start. Readiness says so (503, even once a copy is back in place),
/// writes are refused (a clear 5xx, nothing claimed stored), reads go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_stop_when_the_database_file_is_replaced() {
    let Some(app) = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite).await else { return };
    let url = format!("{}/health/ready", app.base);
    let ready = || app.get(&url);
    let master = app.master_token().await;
    let create = |name: &'static str| {
        let body = serde_json::json!({ "username": name, "enabled": true }).to_string();
        let (app, master) = (&app, &master);
        async move { app.admin(reqwest::Method::POST, "/realms/acme/users", Some(master), Some(&body)).await.status }
    };
    assert_eq!(create("before").await, 201);
    let (file, copy) = (app.db.dir.path().join("rg.db"), app.db.dir.path().join("copy.db"));
    std::fs::copy(&file, &copy).unwrap();
    std::fs::remove_file(&file).unwrap();
    std::fs::rename(&copy, &file).unwrap();
    assert_eq!(ready().await.status, 503);
    assert!((500..600).contains(&create("after").await), "a write to the replaced file is refused");
    let grant = app.password_grant("acme", ("web", "web-secret"), ("alice", "alice-pw"), "openid").await;
    assert!(grant.status >= 500, "a sign-in writes its session too: {}", grant.json);
    let count = app.admin(reqwest::Method::GET, "/realms/acme/users/count", Some(&master), None).await;
    assert_eq!(count.status, 200, "reads go on");
}

/// A database migrated by a newer version is served (as Keycloak does), with
/// a warning naming the migrations this version does not know.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_schema_is_named_in_a_warning() {
    use diesel::RunQueryDsl;
    let Some(app) = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite).await else { return };
    let plain = app.cli(&["migrate"], None);
    assert!(plain.status.success());
    assert!(!String::from_utf8_lossy(&plain.stderr).contains("newer realmgate"));
    let db = realmgate::storage::Db::connect(realmgate::storage::DatabaseUrl::parse(&app.db.url).unwrap(), 1).unwrap();
    let sql = "INSERT INTO __diesel_schema_migrations (version) VALUES ('20991231000099')";
    db.write(move |conn| Ok::<_, realmgate::storage::StorageError>(diesel::sql_query(sql).execute(conn)?))
        .await
        .unwrap();
    let out = app.cli(&["migrate"], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("newer realmgate") && stderr.contains("20991231000099"), "{stderr}");
}

/// Behind a proxy serving realmgate below `/base`, the issuer is
/// `…/base/realms/acme` and RFC 8414 §3.1 puts its metadata at
/// `/.well-known/oauth-authorization-server/base/realms/acme` of the host's
/// root: served there too (and still where a stripping proxy sends it).
#[tokio::test]
async fn metadata_is_served_at_the_rfc_8414_path_of_an_issuer_below_a_path() {
    let backend = crate::helpers::Backend::Sqlite;
    let app = crate::helpers::spawn_app_configured(backend, crate::helpers::TEST_REALMS, |config| {
        config.public_url = Some("https://id.example.com/base".into());
    })
    .await
    .expect("sqlite");
    for path in [
        "/.well-known/oauth-authorization-server/base/realms/acme",
        "/.well-known/openid-configuration/base/realms/acme",
        "/.well-known/oauth-authorization-server/realms/acme",
    ] {
        let doc = app.get(&format!("{}{path}", app.base)).await;
        assert_eq!(doc.status, 200, "{path}: {}", doc.text);
        assert_eq!(doc.json["issuer"], "https://id.example.com/base/realms/acme", "{path}");
    }
    for path in [
        "/.well-known/oauth-authorization-server/other/realms/acme",
        "/.well-known/openid-configuration/base/x/realms/acme",
        "/.well-known/openid-configuration/base/realms/nowhere",
    ] {
        let doc = app.get(&format!("{}{path}", app.base)).await;
        assert_eq!(doc.status, 404, "{path}: {}", doc.text);
    }
}

/// PostgreSQL gone (here: its database dropped under a running node):
/// readiness answers 503 within a probe's patience, not after the pool's
/// 10 s connection timeout (a compose healthcheck gives up after 3 s), and
/// requests that need the database 503 too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_answers_promptly_when_postgresql_is_gone() {
    use crate::serve_process::{ServeProcess, free_addr, realmgate};
    let Some(db) = crate::helpers::TestDatabase::create(crate::helpers::Backend::Postgres) else { return };
    let base = std::env::var("REALMGATE_TEST_POSTGRES_URL").unwrap();
    let Some((server, _)) = base.split('?').next().unwrap().rsplit_once('/') else { panic!("{base}") };
    let name = format!("rgtest_gone_{}", uuid::Uuid::new_v4().simple());
    crate::helpers::psql(&base, &format!("CREATE DATABASE {name}"));
    let addr = free_addr();
    let mut command = realmgate();
    command
        .args(["--database-url", &format!("{server}/{name}"), "--secret-key-file"])
        .arg(db.key_file())
        .args(["serve", "--bind", &addr])
        .env("RUST_LOG", "warn")
        .env_remove("REALMGATE_ADMIN_USER");
    let mut node = ServeProcess::start(command, addr, db.dir.path().join("node.log"));
    node.wait_ready("/health/ready").await;
    crate::helpers::psql(&base, &format!("DROP DATABASE {name} WITH (FORCE)"));
    // (The first checks may fail fast on the connections the drop broke;
    // later ones wait for a new connection.)
    for _ in 0..4 {
        let asked = std::time::Instant::now();
        let answer = reqwest::get(format!("{}/health/ready", node.base())).await.unwrap();
        assert_eq!(answer.status(), 503);
        assert!(asked.elapsed() < std::time::Duration::from_secs(3), "answered after {:?}", asked.elapsed());
    }
    // Requests that need the database: 503, not 500 (an outage is no bug,
    // and a client or proxy may retry), in each error shape.
    let http = reqwest::Client::new();
    let token = http
        .post(format!("{}/realms/master/protocol/openid-connect/token", node.base()))
        .form(&[("grant_type", "password"), ("client_id", "admin-cli"), ("username", "nobody"), ("password", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 503, "{}", node.output());
    let body: serde_json::Value = token.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    let login = http.get(format!("{}/realms/other/account", node.base())).send().await.unwrap();
    assert_eq!(login.status(), 503, "{}", login.text().await.unwrap());
    let log = node.output();
    assert!(log.contains("database unavailable"), "{log}");
    assert!(!log.contains("internal error"), "{log}");
}
