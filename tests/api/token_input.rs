//! Bad input of every kind gets a clear 4xx and changes nothing.

use base64::Engine;
use serde_json::json;

use crate::both_backends;
use crate::helpers::TestApp;

both_backends!(
    malformed_bodies_are_4xx,
    oversized_bodies_are_413,
    duplicate_parameters_are_refused,
    wrong_content_types_are_refused,
    wrong_methods_are_405_with_allow,
    nul_characters_are_refused_everywhere,
    names_must_be_printable_and_visible,
    data_stored_before_the_rules_comes_back_unchanged
);

async fn post_raw(app: &TestApp, content_type: &str, body: Vec<u8>) -> crate::helpers::Answer {
    let response = app
        .http
        .post(app.realm_url("acme", "/protocol/openid-connect/token"))
        .basic_auth("svc", Some("svc-secret"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    crate::helpers::Answer::from(response).await
}

async fn malformed_bodies_are_4xx(app: TestApp) {
    let form = "application/x-www-form-urlencoded";
    // Invalid UTF-8 is refused, not decoded lossily into another value.
    let answer = post_raw(&app, form, b"grant_type=client_credentials&scope=%ff%fe".to_vec()).await;
    answer.assert_error(400, "invalid_request");
    assert_eq!(answer.json["error_description"], "Parameters must be UTF-8 text");
    post_raw(&app, form, vec![0xff, 0xfe, 0x00]).await.assert_error(400, "invalid_request");
    post_raw(&app, "application/json", b"{not json".to_vec()).await.assert_error(400, "invalid_request");
    post_raw(&app, "application/json", b"[1,2]".to_vec()).await.assert_error(400, "invalid_request");
    post_raw(&app, "application/json", br#"{"grant_type": 7}"#.to_vec()).await.assert_error(400, "invalid_request");
    // An unrecognised member is ignored whatever its type (RFC 6749 §3.2).
    let extra = br#"{"grant_type": "client_credentials", "extra": {"a": 1}, "n": 5}"#.to_vec();
    assert_eq!(post_raw(&app, "application/json", extra).await.status, 200);
    post_raw(&app, "application/json", br#"{"grant_type": "client_credentials", "scope": ["a"]}"#.to_vec())
        .await
        .assert_error(400, "invalid_request");
    // A member given twice, as a parameter given twice in a form (RFC 6749 §3.2).
    let twice = br#"{"grant_type": "client_credentials", "scope": "nonsense", "scope": "openid"}"#;
    let answer = post_raw(&app, "application/json", twice.to_vec()).await;
    answer.assert_error(400, "invalid_request");
    assert!(answer.json["error_description"].as_str().unwrap().contains("`scope`"), "{}", answer.json);
    let ok =
        post_raw(&app, "application/json; charset=utf-8", br#"{"grant_type": "client_credentials"}"#.to_vec()).await;
    assert_eq!(ok.status, 200, "{}", ok.json);
    // Garbage Basic credentials.
    let bad_basic = app
        .http
        .post(app.realm_url("acme", "/protocol/openid-connect/token"))
        .header("authorization", "Basic !!!not-base64")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad_basic.status(), 401);
    // Wrong method.
    let get = app.get(&app.realm_url("acme", "/protocol/openid-connect/token")).await;
    assert!((400..500).contains(&get.status), "{}", get.status);
}

async fn oversized_bodies_are_413(app: TestApp) {
    let huge = format!("grant_type=client_credentials&scope={}", "a".repeat(100 * 1024));
    let answer = post_raw(&app, "application/x-www-form-urlencoded", huge.into_bytes()).await;
    answer.assert_error(413, "invalid_request");
    let long_scope = format!("grant_type=client_credentials&scope={}", "a".repeat(30 * 1024));
    let answer = post_raw(&app, "application/x-www-form-urlencoded", long_scope.into_bytes()).await;
    answer.assert_error(400, "invalid_scope");
    assert!(answer.text.len() < 1024, "the description does not echo 30 KiB back: {} bytes", answer.text.len());

    // A body declared too large is refused at once, without waiting for it.
    for (path, limit) in [("/realms/acme/protocol/openid-connect/token", "64 KiB"), ("/admin/realms", "1 MiB")] {
        for length in ["99999999999", "2000000"] {
            let status = declared_only(&app, path, length);
            assert_eq!(status, "HTTP/1.1 413 Payload Too Large", "{path} with Content-Length {length} over {limit}");
        }
    }
    let token_path = "/realms/acme/protocol/openid-connect/token";
    assert_eq!(
        declared_only(&app, token_path, "100000"),
        "HTTP/1.1 413 Payload Too Large",
        "over the token endpoint's own limit"
    );
}

/// Sends only the head of a POST declaring `length` bytes; the status line
/// of the answer, which must come before any body is sent.
fn declared_only(app: &TestApp, path: &str, length: &str) -> String {
    use std::io::{BufRead, BufReader, Write};
    let address = app.base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).unwrap_or_else(|e| panic!("no answer to a declared {length}: {e}"));
    line.trim_end().to_owned()
}

async fn duplicate_parameters_are_refused(app: TestApp) {
    let answer = post_raw(
        &app,
        "application/x-www-form-urlencoded",
        b"grant_type=client_credentials&grant_type=client_credentials".to_vec(),
    )
    .await;
    answer.assert_error(400, "invalid_request");
    let scope =
        post_raw(&app, "application/x-www-form-urlencoded", b"grant_type=client_credentials&scope=a&scope=b".to_vec())
            .await;
    scope.assert_error(400, "invalid_request");
    // Empty parameters are ignored, as Keycloak's clients send `code=`.
    let empty = post_raw(
        &app,
        "application/x-www-form-urlencoded",
        b"grant_type=client_credentials&code=&redirect_uri=".to_vec(),
    )
    .await;
    assert_eq!(empty.status, 200, "{}", empty.json);
    // ... but a name given twice is refused, whether a copy is empty or not
    // (RFC 6749 §3.1), in a form and in JSON alike.
    for body in [
        "grant_type=client_credentials&grant_type=",
        "grant_type=&grant_type=client_credentials",
        "grant_type=client_credentials&scope&scope=",
    ] {
        post_raw(&app, "application/x-www-form-urlencoded", body.as_bytes().to_vec())
            .await
            .assert_error(400, "invalid_request");
    }
    let json = br#"{"grant_type":"client_credentials","grant_type":null}"#.to_vec();
    post_raw(&app, "application/json", json).await.assert_error(400, "invalid_request");

    // One credential per request: a second Authorization or X-Auth-Token
    // header is refused, not ignored (RFC 6749 §2.3, RFC 6750 §2).
    let basic = |id: &str, secret: &str| {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}")))
    };
    let token_url = app.realm_url("acme", "/protocol/openid-connect/token");
    let twice = app
        .http
        .post(&token_url)
        .header("authorization", basic("svc", "svc-secret"))
        .header("authorization", basic("web", "wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    crate::helpers::Answer::from(twice).await.assert_error(400, "invalid_request");
    let access = app.token("acme", Some(("svc", "svc-secret")), &[("grant_type", "client_credentials")]).await;
    let access = access.str("access_token").to_owned();
    let userinfo = app.realm_url("acme", "/protocol/openid-connect/userinfo");
    for header in ["authorization", "x-auth-token"] {
        let value = |token: &str| if header == "authorization" { format!("Bearer {token}") } else { token.to_owned() };
        let response =
            app.http.get(&userinfo).header(header, value(&access)).header(header, value("junk")).send().await.unwrap();
        assert_eq!(response.status(), 400, "two {header} headers");
        let challenge = response.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(challenge.starts_with(r#"Bearer error="invalid_request""#), "{header}: {challenge}");
    }
}

async fn wrong_content_types_are_refused(app: TestApp) {
    post_raw(&app, "text/plain", b"grant_type=client_credentials".to_vec()).await.assert_error(400, "invalid_request");
    post_raw(&app, "multipart/form-data; boundary=x", b"--x--".to_vec()).await.assert_error(400, "invalid_request");
}

/// A path served for other methods is 405 with `Allow` (RFC 9110 §15.5.6),
/// not the 404 of an unknown path: one resource per path, not one per route.
async fn wrong_methods_are_405_with_allow(app: TestApp) {
    use reqwest::Method;
    let cases = [
        (Method::GET, "/protocol/openid-connect/token", "POST, OPTIONS"),
        (Method::GET, "/protocol/openid-connect/token/introspect", "POST, OPTIONS"),
        (Method::PUT, "/protocol/openid-connect/revoke", "POST, OPTIONS"),
        (Method::DELETE, "/protocol/openid-connect/userinfo", "GET, HEAD, POST, OPTIONS"),
        (Method::POST, "/protocol/openid-connect/certs", "GET, HEAD, OPTIONS"),
        (Method::POST, "/.well-known/openid-configuration", "GET, HEAD, OPTIONS"),
        (Method::PUT, "/protocol/openid-connect/auth", "GET, HEAD, POST"),
        (Method::GET, "/login-actions/authenticate", "POST"),
        (Method::PATCH, "/account/api/sessions", "GET, HEAD"),
    ];
    for (method, path, allow) in cases {
        let response = app.http.request(method.clone(), app.realm_url("acme", path)).send().await.unwrap();
        let answer = crate::helpers::Answer::from(response).await;
        assert_eq!((answer.status, answer.header("allow")), (405, Some(allow)), "{method} {path}: {}", answer.text);
        assert_eq!(answer.json["error"], "method_not_allowed", "{method} {path}: a JSON error, as the API's others");
    }
    // A browser opening a form's target (a restored tab, a reload) gets a
    // page that says why, still 405 with `Allow`.
    let browser_accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    for path in ["/login-actions/authenticate", "/login-actions/consent", "/protocol/openid-connect/logout/confirm"] {
        let response = app.http.get(app.realm_url("acme", path)).header("accept", browser_accept).send().await.unwrap();
        let answer = crate::helpers::Answer::from(response).await;
        assert_eq!((answer.status, answer.header("allow")), (405, Some("POST")), "{path}: {}", answer.text);
        assert!(answer.header("content-type").is_some_and(|t| t.starts_with("text/html")), "{path}");
        assert!(answer.text.contains("Page has expired"), "{path}: {}", answer.text);
    }
    // The icon browsers ask for: none, and no error.
    let icon = app.http.get(format!("{}/favicon.ico", app.base)).send().await.unwrap();
    assert_eq!(icon.status(), 204);
    let health = app.http.post(format!("{}/health/live", app.base)).send().await.unwrap();
    assert_eq!(health.status(), 405);
    let unknown = app.http.get(app.realm_url("acme", "/protocol/openid-connect/nothing")).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    // The right method still works on a path with two.
    assert_eq!(app.get(&app.realm_url("acme", "/protocol/openid-connect/certs")).await.status, 200);

    // HEAD is GET without the body on every resource (RFC 9110 §9.3.2).
    let master = app.master_token().await;
    let heads = [
        (app.realm_url("acme", "/account"), None, 200),
        (app.realm_url("acme", "/device"), None, 200),
        (app.realm_url("acme", "/protocol/openid-connect/auth?client_id=web"), None, 302),
        (app.realm_url("acme", "/protocol/openid-connect/userinfo"), Some(master.as_str()), 401),
        (format!("{}/admin/realms/acme", app.base), Some(master.as_str()), 200),
        (format!("{}/health/live", app.base), None, 200),
    ];
    for (url, token, status) in heads {
        let mut get = app.http.get(&url);
        let mut head = app.http.head(&url);
        if let Some(token) = token {
            (get, head) = (get.bearer_auth(token), head.bearer_auth(token));
        }
        let get = get.send().await.unwrap();
        let head = head.send().await.unwrap();
        assert_eq!((get.status().as_u16(), head.status().as_u16()), (status, status), "{url}");
        for name in ["content-type", "content-length"] {
            assert_eq!(head.headers().get(name), get.headers().get(name), "{name} of {url}");
        }
    }
    // On the wire: the head of the answer and nothing after it (an HTTP
    // client reads no body after HEAD whatever the server sends).
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = app.base.trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
    let request = format!("HEAD /realms/acme/device HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    socket.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer.split_once("\r\n\r\n").expect("a complete head");
    assert!(head.starts_with("HTTP/1.1 200") && head.to_ascii_lowercase().contains("content-length: "), "{head}");
    assert_eq!(body, "", "no body after the head");
}

async fn account_token(app: &TestApp) -> String {
    let form = [
        ("grant_type", "password"),
        ("client_id", "cli"),
        ("username", "alice"),
        ("password", "alice-pw"),
        ("scope", "openid account.write"),
    ];
    let answer = app.token("acme", None, &form).await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    answer.str("access_token").to_owned()
}

/// No name, id or parameter holds a NUL character, and PostgreSQL cannot
/// store one in text: refused alike on both backends (it was a 500 on
/// PostgreSQL and stored on SQLite).
async fn nul_characters_are_refused_everywhere(app: TestApp) {
    use reqwest::Method;
    let master = app.master_token().await;
    let admin = |method: Method, path: &'static str, body: Option<serde_json::Value>| {
        let (app, master) = (&app, &master);
        async move { app.admin(method, path, Some(master), body.map(|b| b.to_string()).as_deref()).await }
    };
    let users_before = admin(Method::GET, "/realms/acme/users/count", None).await.json.clone();
    for path in ["/realms/acme/users?search=a%00b", "/realms/acme/users/abc%00", "/realms/acme/events?client=a%00b"] {
        let answer = app.admin(Method::GET, path, Some(&master), None).await;
        assert_eq!(answer.status, 400, "{path}: {}", answer.json);
    }
    for (method, path, body) in [
        (Method::POST, "/realms/acme/users", json!({"username": "nul", "firstName": "a\u{0}b"})),
        (Method::POST, "/realms/acme/users", json!({"username": "nul", "attributes": {"k\u{0}": ["v"]}})),
        (Method::PUT, "/realms/acme", json!({"displayName": "x\u{0}y"})),
        (Method::POST, "/realms/acme/roles", json!({"name": "nul", "description": "a\u{0}"})),
    ] {
        let answer = admin(method, path, Some(body)).await;
        assert_eq!(answer.status, 400, "{path}: {}", answer.json);
    }
    assert_eq!(admin(Method::GET, "/realms/acme/users/count", None).await.json, users_before);
    assert_eq!(admin(Method::GET, "/realms/acme/roles/nul", None).await.status, 404);
    assert_eq!(admin(Method::GET, "/realms/acme", None).await.json["displayName"], "Acme Corp");

    // Protocol parameters, in forms and JSON, and in the query.
    let grant = [("grant_type", "password"), ("username", "alice"), ("password", "alice-pw\0")];
    app.token("acme", Some(("web", "web-secret")), &grant).await.assert_error(400, "invalid_request");
    post_raw(&app, "application/json", br#"{"grant_type": "client_credentials", "scope": "a\u0000"}"#.to_vec())
        .await
        .assert_error(400, "invalid_request");
    // A client id or secret in HTTP Basic (percent-decoded, RFC 6749
    // §2.3.1): refused before anything is recorded. As the audit event of a
    // failed client login, such an id failed on PostgreSQL every later
    // batch of events, which carried it again.
    for login in ["svc%00:svc-secret", "svc:svc-secret%00"] {
        let basic = base64::engine::general_purpose::STANDARD.encode(login);
        let response = app
            .http
            .post(app.realm_url("acme", "/protocol/openid-connect/token"))
            .header("authorization", format!("Basic {basic}"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        crate::helpers::Answer::from(response).await.assert_error(400, "invalid_request");
    }
    let authorize = app.realm_url("acme", "/protocol/openid-connect/auth?client_id=web&response_type=code&nonce=n%00");
    let answer = app.get(&authorize).await;
    assert_eq!(answer.status, 400, "{}", answer.json);

    // The account API: a token name, an id in the path.
    let token = account_token(&app).await;
    let created = app
        .http
        .post(app.realm_url("acme", "/account/api/tokens"))
        .bearer_auth(&token)
        .json(&json!({"name": "a\u{0}"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 400);
    let deleted =
        app.http.delete(app.realm_url("acme", "/account/api/tokens/%00")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(deleted.status(), 400);

    // HTTP Basic at the admin API of a realm that takes it: no such user.
    let basic = app
        .http
        .get(format!("{}/admin/realms/other/users", app.base))
        .basic_auth("a\0@example.com", Some("x"))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);
}

/// Names people read (a person's, a realm's display name, a client's, a
/// token's, a role's) hold no control or invisible characters, and are not
/// blank; e-mail addresses none either; the audit log's own client names
/// and `javascript:` application URLs are refused.
async fn names_must_be_printable_and_visible(app: TestApp) {
    use reqwest::Method;
    let master = app.master_token().await;
    let refused = [
        ("/realms/acme/users", json!({"username": "n1", "firstName": "\u{1b}[2J"})),
        ("/realms/acme/users", json!({"username": "n2", "lastName": "a\nb"})),
        ("/realms/acme/users", json!({"username": "\u{200b}"})),
        ("/realms/acme/users", json!({"username": "a\u{202e}b"})),
        ("/realms/acme/users", json!({"username": "n3", "email": "a\u{7}@example.com"})),
        ("/realms/acme/roles", json!({"name": " "})),
        ("/realms/acme/roles", json!({"name": "\u{feff}"})),
        ("/realms/acme/clients", json!({"clientId": "c1", "name": "line\nbreak"})),
        ("/realms/acme/clients", json!({"clientId": "c2", "rootUrl": "javascript:alert(1)"})),
        ("/realms/acme/clients", json!({"clientId": "c3", "baseUrl": "data:text/html,x"})),
        ("/realms/acme/clients", json!({"clientId": "http-basic"})),
        ("/realms/acme/clients", json!({"clientId": "personal-access-token"})),
    ];
    for (path, body) in refused {
        let answer = app.admin(Method::POST, path, Some(&master), Some(&body.to_string())).await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.json);
    }
    let answer =
        app.admin(Method::PUT, "/realms/acme", Some(&master), Some(r#"{"displayName":"Acme\u001b[31m"}"#)).await;
    assert_eq!(answer.status, 400, "{}", answer.json);
    // Attributes are text or lists of text (Keycloak's maps), never objects.
    for body in [json!({"attributes": {"nested": {"y": [1]}}}), json!({"attributes": {"deep": [["x"]]}})] {
        let answer = app.admin(Method::PUT, "/realms/acme", Some(&master), Some(&body.to_string())).await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.json);
    }
    let body = json!({"username": "n4", "attributes": {"phoneNumber": {"n": "1"}}}).to_string();
    assert_eq!(app.admin(Method::POST, "/realms/acme/users", Some(&master), Some(&body)).await.status, 400);
    let users = app.admin(Method::GET, "/realms/acme/users/count", Some(&master), None).await;
    assert_eq!(users.json, 2, "nothing was created");

    // The controls: ordinary names of any script, and URLs Keycloak's tools send.
    let accepted = [
        ("/realms/acme/users", json!({"username": "ünal", "firstName": "Ünal", "lastName": "Çelik-O'Brien"})),
        ("/realms/acme/roles", json!({"name": "Über Admin"})),
        (
            "/realms/acme/clients",
            json!({"clientId": "c4", "name": "Photos (beta)", "rootUrl": "${authBaseUrl}", "baseUrl": "/app/"}),
        ),
        ("/realms/acme/clients", json!({"clientId": "c5", "rootUrl": "https://app.example.com"})),
    ];
    for (path, body) in accepted {
        let answer = app.admin(Method::POST, path, Some(&master), Some(&body.to_string())).await;
        assert_eq!(answer.status, 201, "{body}: {}", answer.json);
    }

    let token = account_token(&app).await;
    for name in ["\u{200b}", "a\u{1b}b", "   "] {
        let created = app
            .http
            .post(app.realm_url("acme", "/account/api/tokens"))
            .bearer_auth(&token)
            .json(&json!({ "name": name }))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 400, "{name:?}");
    }
}

/// Runs `sql` (one statement) on the test's database, as an earlier
/// version would have stored the data.
async fn execute(app: &TestApp, sql: String) {
    use diesel::RunQueryDsl;
    use realmgate::storage::{DatabaseUrl, Db, StorageError};
    let db = Db::connect(DatabaseUrl::parse(&app.db.url).unwrap(), 1).unwrap();
    let changed = db.write(move |conn| Ok::<_, StorageError>(diesel::sql_query(sql).execute(conn)?)).await.unwrap();
    assert_eq!(changed, 1);
}

/// What an earlier version stored and the new rules refuse (invisible
/// characters in names, nested attributes, a reserved client id) comes
/// back unchanged in a PUT of what GET gave (Terraform, the Keycloak admin
/// clients, the console do that), and its user still signs in; only a new
/// value is checked.
async fn data_stored_before_the_rules_comes_back_unchanged(app: TestApp) {
    use reqwest::Method;
    let master = app.master_token().await;
    let created = app
        .admin(Method::POST, "/realms/acme/users", Some(&master), Some(r#"{"username":"old","enabled":true}"#))
        .await;
    assert_eq!(created.status, 201, "{}", created.json);
    let id = created.header("location").unwrap().rsplit('/').next().unwrap().to_owned();
    execute(
        &app,
        format!(
            "UPDATE users SET username = 'zw\u{200b}old', given_name = 'A\u{200b}', \
             attributes = '{{\"attributes\":{{\"nested\":{{\"a\":1}}}}}}' WHERE id = '{id}'"
        ),
    )
    .await;
    let path = format!("/realms/acme/users/{id}");
    let stored = app.admin(Method::GET, &path, Some(&master), None).await;
    assert_eq!(stored.json["firstName"], "A\u{200b}", "{}", stored.json);
    let same = app.admin(Method::PUT, &path, Some(&master), Some(&stored.json.to_string())).await;
    assert_eq!(same.status, 204, "{}", same.json);
    let mut changed = stored.json.clone();
    changed["lastName"] = "B\u{200b}".into();
    assert_eq!(app.admin(Method::PUT, &path, Some(&master), Some(&changed.to_string())).await.status, 400);
    changed["lastName"] = "B".into();
    assert_eq!(app.admin(Method::PUT, &path, Some(&master), Some(&changed.to_string())).await.status, 204);
    // The user, whose name has an invisible character, still signs in.
    let reset = r#"{"type":"password","value":"old-pw","temporary":false}"#;
    let reset = app.admin(Method::PUT, &format!("{path}/reset-password"), Some(&master), Some(reset)).await;
    assert_eq!(reset.status, 204, "{}", reset.json);
    let signed_in = app.password_grant("acme", ("web", "web-secret"), ("zw\u{200b}old", "old-pw"), "openid").await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.json);

    // A client of a reserved id, with a javascript: root URL and an invisible name.
    let created =
        app.admin(Method::POST, "/realms/acme/clients", Some(&master), Some(r#"{"clientId":"legacy"}"#)).await;
    assert_eq!(created.status, 201, "{}", created.json);
    let id = created.header("location").unwrap().rsplit('/').next().unwrap().to_owned();
    execute(
        &app,
        format!(
            "UPDATE clients SET client_id = 'http-basic', name = 'N\u{200b}', \
             attributes = '{{\"rootUrl\":\"javascript:x\"}}' WHERE id = '{id}'"
        ),
    )
    .await;
    let path = format!("/realms/acme/clients/{id}");
    let stored = app.admin(Method::GET, &path, Some(&master), None).await;
    assert_eq!(
        (stored.json["clientId"].as_str(), stored.json["rootUrl"].as_str()),
        (Some("http-basic"), Some("javascript:x"))
    );
    let same = app.admin(Method::PUT, &path, Some(&master), Some(&stored.json.to_string())).await;
    assert_eq!(same.status, 204, "{}", same.json);
    let mut changed = stored.json.clone();
    changed["baseUrl"] = "javascript:y".into();
    assert_eq!(app.admin(Method::PUT, &path, Some(&master), Some(&changed.to_string())).await.status, 400);
}

/// A client that declares a body and stops sending it is answered 408 and
/// its connection closed once it pauses for 5 s (it held the connection,
/// and a file descriptor, for good: enough of them stopped the server).
#[tokio::test]
async fn a_body_that_stops_arriving_is_answered_408() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = crate::helpers::spawn_app_with(crate::helpers::Backend::Sqlite, crate::helpers::TEST_REALMS)
        .await
        .expect("sqlite");
    let address = app.base.trim_start_matches("http://").to_owned();
    let form = "Content-Type: application/x-www-form-urlencoded".to_owned();
    let admin = format!("Content-Type: application/json\r\nAuthorization: Bearer {}", app.master_token().await);
    let cases = [
        ("/realms/acme/protocol/openid-connect/token", &form, "408"),
        ("/realms/acme/login-actions/authenticate", &form, "400"),
        ("/admin/realms", &admin, "408"),
    ];
    for (path, headers, status) in cases {
        let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
        let head = format!("POST {path} HTTP/1.1\r\nHost: {address}\r\n{headers}\r\nContent-Length: 100\r\n\r\n{{\"x");
        socket.write_all(head.as_bytes()).await.unwrap();
        let started = std::time::Instant::now();
        let mut answer = Vec::new();
        let read = tokio::time::timeout(std::time::Duration::from_secs(15), socket.read_to_end(&mut answer)).await;
        assert!(read.is_ok(), "{path}: still open after 15 s");
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with(&format!("HTTP/1.1 {status}")), "{path}: {answer}");
        assert!(started.elapsed() >= std::time::Duration::from_secs(4), "{path}: answered before the pause ran out");
    }
}
