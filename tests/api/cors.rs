//! CORS: a browser application may call the token, revocation, introspection,
//! device authorization and userinfo endpoints from its own origins (Keycloak's web origins), and no other
//! origin may read the answers.

use reqwest::Method;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{Answer, TestApp};

both_backends!(browser_applications_read_answers_only_from_their_origins);

/// `web` is registered with the redirect URI `http://127.0.0.1:9/cb`.
const OWN: &str = "http://127.0.0.1:9";
const OTHER: &str = "https://evil.example";

async fn send(request: reqwest::RequestBuilder, origin: Option<&str>) -> Answer {
    let request = match origin {
        Some(origin) => request.header("origin", origin),
        None => request,
    };
    Answer::from(request.send().await.unwrap()).await
}

async fn password_grant(app: &TestApp, origin: Option<&str>, password: &str) -> Answer {
    let form = [("grant_type", "password"), ("username", "alice"), ("password", password), ("scope", "openid")];
    let request = app
        .http
        .post(app.realm_url("acme", "/protocol/openid-connect/token"))
        .basic_auth("web", Some("web-secret"))
        .form(&form);
    send(request, origin).await
}

fn allowed(answer: &Answer) -> Option<&str> {
    answer.header("access-control-allow-origin")
}

async fn browser_applications_read_answers_only_from_their_origins(app: TestApp) {
    // A preflight is answered for any origin; the answer itself is what is guarded.
    for path in [
        "/protocol/openid-connect/token",
        "/protocol/openid-connect/revoke",
        "/protocol/openid-connect/userinfo",
        "/protocol/openid-connect/token/introspect",
        "/protocol/openid-connect/auth/device",
    ] {
        let request = app
            .http
            .request(Method::OPTIONS, app.realm_url("acme", path))
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, content-type");
        let answer = send(request, Some(OTHER)).await;
        assert_eq!((answer.status, allowed(&answer)), (200, Some(OTHER)), "{path}");
        assert!(answer.header("access-control-allow-methods").is_some_and(|m| m.contains("POST")), "{path}");
        let headers = answer.header("access-control-allow-headers").unwrap_or_default().to_lowercase();
        assert!(headers.contains("authorization") && headers.contains("content-type"), "{path}: {headers}");
    }

    let own = password_grant(&app, Some(OWN), "alice-pw").await;
    assert_eq!((own.status, allowed(&own)), (200, Some(OWN)), "{}", own.text);
    assert_eq!(own.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(own.header("vary"), Some("Origin"));
    let other = password_grant(&app, Some(OTHER), "alice-pw").await;
    assert_eq!((other.status, allowed(&other)), (200, None), "another origin cannot read the tokens");
    let plain = password_grant(&app, None, "alice-pw").await;
    assert_eq!((allowed(&plain), plain.header("vary")), (None, None), "no Origin, no CORS headers");
    // Introspection answers the client's own origins alone, as the token endpoint does.
    let introspect = |origin| {
        let request = app
            .http
            .post(app.realm_url("acme", "/protocol/openid-connect/token/introspect"))
            .basic_auth("web", Some("web-secret"))
            .form(&[("token", own.str("access_token"))]);
        send(request, Some(origin))
    };
    let readable = introspect(OWN).await;
    assert_eq!((readable.status, allowed(&readable), &readable.json["active"]), (200, Some(OWN), &json!(true)));
    let unreadable = introspect(OTHER).await;
    assert_eq!((unreadable.status, allowed(&unreadable)), (200, None), "another origin cannot read it");
    let wrong = password_grant(&app, Some(OWN), "nope").await;
    assert_eq!((wrong.status, allowed(&wrong)), (400, Some(OWN)), "the client's errors are readable too");
    // Before a client is known, only errors come back, readable by any origin.
    let form = [("grant_type", "client_credentials")];
    let request = app
        .http
        .post(app.realm_url("acme", "/protocol/openid-connect/token"))
        .basic_auth("web", Some("wrong"))
        .form(&form);
    let unknown = send(request, Some(OTHER)).await;
    assert_eq!((unknown.status, allowed(&unknown)), (401, Some(OTHER)), "{}", unknown.text);
    let request = app.http.get(app.realm_url("acme", "/protocol/openid-connect/userinfo")).bearer_auth("not-a-token");
    let refused = send(request, Some(OTHER)).await;
    assert_eq!((refused.status, allowed(&refused)), (401, Some(OTHER)), "{}", refused.text);
    // Public documents: a preflight, and HEAD.
    let request = app.http.request(Method::OPTIONS, app.realm_url("acme", "/protocol/openid-connect/certs"));
    let preflight = send(request.header("access-control-request-method", "GET"), Some(OTHER)).await;
    assert_eq!((preflight.status, preflight.header("allow")), (200, Some("GET, HEAD, OPTIONS")));
    let head = app.http.head(app.realm_url("acme", "/.well-known/openid-configuration")).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert!(head.bytes().await.unwrap().is_empty(), "HEAD has no body");

    // userinfo: the origins of the client the access token was issued to.
    let access = own.str("access_token");
    let userinfo = |origin| {
        let request = app.http.get(app.realm_url("acme", "/protocol/openid-connect/userinfo")).bearer_auth(access);
        send(request, Some(origin))
    };
    let answer = userinfo(OWN).await;
    assert_eq!((answer.status, allowed(&answer)), (200, Some(OWN)), "{}", answer.text);
    let answer = userinfo(OTHER).await;
    assert_eq!((answer.status, allowed(&answer)), (200, None));

    let revoke = |origin| {
        let form = [("token", own.str("refresh_token"))];
        let request = app
            .http
            .post(app.realm_url("acme", "/protocol/openid-connect/revoke"))
            .basic_auth("web", Some("web-secret"))
            .form(&form);
        send(request, Some(origin))
    };
    let answer = revoke(OWN).await;
    assert_eq!((answer.status, allowed(&answer)), (200, Some(OWN)));

    // Keycloak's webOrigins, set through the admin API, replace the default.
    let form =
        [("grant_type", "password"), ("client_id", "admin-cli"), ("username", "admin"), ("password", "admin-pw")];
    let master = app.token("master", None, &form).await;
    let admin = |method: Method, path: &str| {
        app.http
            .request(method, format!("{}/admin/realms/acme{path}", app.base))
            .bearer_auth(master.str("access_token"))
    };
    let clients: serde_json::Value =
        admin(Method::GET, "/clients?clientId=web").send().await.unwrap().json().await.unwrap();
    let id = clients[0]["id"].as_str().unwrap().to_owned();
    let body = json!({"webOrigins": ["https://spa.example", "+"]});
    assert_eq!(admin(Method::PUT, &format!("/clients/{id}")).json(&body).send().await.unwrap().status(), 204);
    let spa = password_grant(&app, Some("https://spa.example"), "alice-pw").await;
    assert_eq!(allowed(&spa), Some("https://spa.example"));
    assert_eq!(allowed(&password_grant(&app, Some(OWN), "alice-pw").await), Some(OWN), "+: the redirect URIs' origins");
    let body = json!({"webOrigins": []});
    assert_eq!(admin(Method::PUT, &format!("/clients/{id}")).json(&body).send().await.unwrap().status(), 204);
    assert_eq!(allowed(&password_grant(&app, Some(OWN), "alice-pw").await), None, "an empty list allows none");
}
