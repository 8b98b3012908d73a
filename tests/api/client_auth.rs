use crate::both_backends;
use crate::helpers::TestApp;

both_backends!(
    basic_and_post_authenticate,
    wrong_secrets_are_invalid_client,
    public_clients_authenticate_by_id_alone,
    two_methods_at_once_are_refused
);

async fn basic_and_post_authenticate(app: TestApp) {
    let basic = app.client_credentials("acme", "svc", "svc-secret", None).await;
    assert_eq!(basic.status, 200, "{}", basic.json);
    let post = app
        .token(
            "acme",
            None,
            &[("grant_type", "client_credentials"), ("client_id", "svc"), ("client_secret", "svc-secret")],
        )
        .await;
    assert_eq!(post.status, 200, "{}", post.json);
    assert_eq!(post.header("cache-control"), Some("no-store"));
    assert_eq!(post.json["token_type"], "Bearer");
}

async fn wrong_secrets_are_invalid_client(app: TestApp) {
    let basic = app.client_credentials("acme", "svc", "wrong", None).await;
    basic.assert_error(401, "invalid_client");
    assert!(basic.header("www-authenticate").unwrap().starts_with("Basic"), "Basic needs a Basic challenge");
    let unknown = app.client_credentials("acme", "ghost", "svc-secret", None).await;
    unknown.assert_error(401, "invalid_client");
    assert_eq!(unknown.json["error_description"], basic.json["error_description"], "unknown and wrong look alike");
    let post = app
        .token("acme", None, &[("grant_type", "client_credentials"), ("client_id", "svc"), ("client_secret", "nope")])
        .await;
    post.assert_error(401, "invalid_client");
    let missing = app.token("acme", None, &[("grant_type", "client_credentials"), ("client_id", "svc")]).await;
    missing.assert_error(401, "invalid_client");
    let nobody = app.token("acme", None, &[("grant_type", "client_credentials")]).await;
    nobody.assert_error(401, "invalid_client");
    // `Basic` without credentials is an attempt with the header (RFC 6749 §5.2: a challenge).
    for bare in ["Basic", "Basic ", "basic  "] {
        let answer = app
            .http
            .post(app.realm_url("acme", "/protocol/openid-connect/token"))
            .header("Authorization", bare)
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 401, "{bare:?}");
        let challenge = answer.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(challenge.as_deref(), Some("Basic realm=\"acme\""), "{bare:?}");
    }
    // Another scheme is ignored, but a failure after it is challenged too;
    // a client that authenticates in the body is not held back by it.
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], u16);
    let cases: [Case; 4] = [
        ("Digest x", &[("grant_type", "client_credentials")], 401),
        ("Bearer abc", &[("grant_type", "client_credentials"), ("client_id", "svc")], 401),
        ("Bearer abc", &[("grant_type", "client_credentials"), ("client_id", "svc"), ("client_secret", "nope")], 401),
        (
            "Bearer abc",
            &[("grant_type", "client_credentials"), ("client_id", "svc"), ("client_secret", "svc-secret")],
            200,
        ),
    ];
    for (authorization, form, status) in cases {
        let answer = app
            .http
            .post(app.realm_url("acme", "/protocol/openid-connect/token"))
            .header("Authorization", authorization)
            .form(form)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), status, "{authorization} {form:?}");
        let challenge = answer.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned());
        let expected = (status == 401).then_some("Basic realm=\"acme\"");
        assert_eq!(challenge.as_deref(), expected, "{authorization} {form:?}");
    }
    // Another realm's client with the same id and secret is another client.
    let foreign = app.token("other", Some(("cli", "web-secret")), &[("grant_type", "client_credentials")]).await;
    foreign.assert_error(401, "invalid_client");
}

async fn public_clients_authenticate_by_id_alone(app: TestApp) {
    let ok = app
        .token(
            "acme",
            None,
            &[("grant_type", "password"), ("client_id", "cli"), ("username", "alice"), ("password", "alice-pw")],
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.json);
    let with_secret = app
        .token(
            "acme",
            None,
            &[
                ("grant_type", "password"),
                ("client_id", "cli"),
                ("client_secret", "x"),
                ("username", "alice"),
                ("password", "alice-pw"),
            ],
        )
        .await;
    assert_eq!(
        with_secret.status, 200,
        "a public client's stray secret is ignored, as Keycloak does: {}",
        with_secret.json
    );
    let form = [("grant_type", "password"), ("username", "alice"), ("password", "alice-pw")];
    let basic = app.token("acme", Some(("cli", "")), &form).await;
    assert_eq!(basic.status, 200, "Basic with an empty password: {}", basic.json);
    // Endpoints for confidential clients still refuse it.
    let introspect = app.introspect("acme", ("cli", "x"), "token").await;
    introspect.assert_error(401, "invalid_client");
}

async fn two_methods_at_once_are_refused(app: TestApp) {
    let both = app
        .token(
            "acme",
            Some(("svc", "svc-secret")),
            &[("grant_type", "client_credentials"), ("client_secret", "svc-secret")],
        )
        .await;
    both.assert_error(400, "invalid_request");
    let mismatch = app
        .token("acme", Some(("svc", "svc-secret")), &[("grant_type", "client_credentials"), ("client_id", "web")])
        .await;
    mismatch.assert_error(400, "invalid_request");
}
