//! The master realm, the bootstrap administrator, and every signing algorithm.

use crate::helpers::{Backend, spawn_app, spawn_app_with};

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
