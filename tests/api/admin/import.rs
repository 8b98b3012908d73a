//! A Keycloak realm export posted to `POST /admin/realms` becomes a working
//! realm: its scopes, roles, clients and users, passwords included, minus
//! what every Keycloak realm has; or nothing at all.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::Method;
use serde_json::{Value, json};

use super::{ADMIN_REALMS, admin_cli_token, assert_bad_request, call, client_uuid, create, get, master_token};
use crate::both_backends;
use crate::helpers::{TestApp, jwt_parts};

both_backends!(
    realms = ADMIN_REALMS;
    a_keycloak_export_becomes_a_working_realm,
    an_export_that_cannot_be_honoured_creates_nothing,
    a_keycloak_shaped_client_keeps_the_scopes_realmgate_has,
);

/// A password credential as Keycloak (24 and later, argon2 by default) exports it.
fn keycloak_argon2_credential(password: &str) -> Value {
    let salt = b"pepper-and-salt!";
    let params = argon2::Params::new(7168, 5, 1, Some(32)).unwrap();
    let mut hash = [0u8; 32];
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password_into(password.as_bytes(), salt, &mut hash)
        .unwrap();
    json!({
        "id": "7e1c1c0e-5d4c-4f7b-9b0a-2f5c1a0e9d11",
        "type": "password",
        "userLabel": "My password",
        "createdDate": 1_732_000_000_000_i64,
        "secretData": json!({"value": STANDARD.encode(hash), "salt": STANDARD.encode(salt), "additionalParameters": {}}).to_string(),
        "credentialData": json!({"hashIterations": 5, "algorithm": "argon2", "additionalParameters": {
            "hashLength": ["32"], "memory": ["7168"], "type": ["id"], "version": ["1.3"], "parallelism": ["1"]
        }}).to_string(),
    })
}

/// What `kc.sh export --realm shop --users realm_file` writes, trimmed to
/// one of each kind of thing, Keycloak's own parts included.
fn keycloak_export() -> Value {
    json!({
        "id": "f3b3c7e2-0000-4000-8000-000000000001",
        "realm": "shop",
        "displayName": "Shop",
        "enabled": true,
        "accessTokenLifespan": 600,
        "sslRequired": "external",
        "defaultSignatureAlgorithm": "RS256",
        "keycloakVersion": "26.0.0",
        "roles": {
            "realm": [
                {"name": "offline_access", "composite": false, "clientRole": false},
                {"name": "uma_authorization", "composite": false, "clientRole": false},
                {"name": "default-roles-shop", "composite": true, "composites": {"realm": ["offline_access"]}},
                {"name": "buyer", "description": "Buys things", "composite": false, "clientRole": false, "attributes": {}},
            ],
            "client": {
                "account": [{"name": "view-profile", "composite": false, "clientRole": true}],
                "realm-management": [{"name": "realm-admin", "composite": true, "clientRole": true}],
                "shop-web": [],
            },
        },
        "groups": [],
        "defaultRole": {"name": "default-roles-shop", "composite": true},
        "requiredCredentials": ["password"],
        "users": [
            {
                "username": "alice", "enabled": true, "email": "alice@shop.example", "emailVerified": true,
                "firstName": "Alice", "lastName": "Liddell", "createdTimestamp": 1_732_000_000_000_i64,
                "credentials": [keycloak_argon2_credential("alice-in-keycloak")],
                "disableableCredentialTypes": [], "requiredActions": [],
                "realmRoles": ["default-roles-shop", "buyer"],
                "clientRoles": {"account": ["manage-account", "view-profile"]},
                "notBefore": 0, "groups": [],
            },
            {
                "username": "bob", "enabled": true,
                "credentials": [{"type": "password", "value": "bob-pw", "temporary": false}],
                "realmRoles": ["default-roles-shop"],
                "clientRoles": {"realm-management": ["view-users"]},
            },
            {
                "username": "service-account-shop-svc", "enabled": true, "serviceAccountClientId": "shop-svc",
                "realmRoles": ["default-roles-shop"],
                "clientRoles": {"realm-management": ["view-clients"]},
            },
        ],
        "clients": [
            {"clientId": "account", "publicClient": true, "baseUrl": "/realms/shop/account/"},
            {"clientId": "admin-cli", "publicClient": true, "directAccessGrantsEnabled": true},
            {"clientId": "broker", "bearerOnly": true},
            {"clientId": "realm-management", "bearerOnly": true},
            {"clientId": "security-admin-console", "publicClient": true, "redirectUris": ["/admin/shop/console/*"]},
            {
                "clientId": "shop-web", "name": "Shop", "enabled": true, "clientAuthenticatorType": "client-secret",
                "secret": "shop-web-secret", "redirectUris": ["http://127.0.0.1:9/shop/cb"],
                "standardFlowEnabled": true, "directAccessGrantsEnabled": true, "publicClient": false,
                "protocol": "openid-connect", "frontchannelLogout": true,
                "attributes": {"post.logout.redirect.uris": "+", "pkce.code.challenge.method": "S256"},
                "protocolMappers": [{"name": "audience", "protocol": "openid-connect",
                                     "protocolMapper": "oidc-audience-mapper", "config": {}}],
                "defaultClientScopes": ["web-origins", "acr", "profile", "roles", "basic", "email", "orders"],
                "optionalClientScopes": ["address", "phone", "offline_access", "microprofile-jwt"],
            },
            {
                "clientId": "shop-svc", "secret": "**********", "serviceAccountsEnabled": true,
                "standardFlowEnabled": false, "publicClient": false, "protocol": "openid-connect",
            },
        ],
        "clientScopes": [
            {"name": "profile", "protocol": "openid-connect"},
            {"name": "web-origins", "protocol": "openid-connect"},
            {"name": "roles", "protocol": "openid-connect"},
            {"name": "saml_organization", "protocol": "saml"},
            {"name": "orders", "description": "See your orders", "protocol": "openid-connect",
             "attributes": {"include.in.token.scope": "true"}},
        ],
        "defaultDefaultClientScopes": ["role_list", "saml_organization", "profile", "email", "roles", "web-origins", "acr", "basic"],
        "defaultOptionalClientScopes": ["offline_access", "address", "phone", "microprofile-jwt", "organization", "orders"],
        "components": {
            "org.keycloak.keys.KeyProvider": [{"name": "rsa-generated", "providerId": "rsa-generated",
                                               "config": {"privateKey": ["MIIEvQIBADANBgkqhkiG9w0BAQEFAAS..."]}}],
        },
        "authenticationFlows": [{"alias": "browser", "providerId": "basic-flow", "topLevel": true}],
        "scopeMappings": [{"clientScope": "offline_access", "roles": ["offline_access"]}],
        "clientScopeMappings": {"account": [{"client": "account-console", "roles": ["manage-account"]}]},
    })
}

fn names(list: &Value, field: &str) -> Vec<String> {
    let mut out: Vec<String> =
        list.as_array().unwrap().iter().filter_map(|v| v[field].as_str().map(str::to_owned)).collect();
    out.sort();
    out
}

async fn a_keycloak_export_becomes_a_working_realm(app: TestApp) {
    let master = master_token(&app).await;
    let created = call(&app, Method::POST, "/realms", &master, Some(keycloak_export())).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert!(created.header("location").is_some_and(|l| l.ends_with("/admin/realms/shop")));

    let realm = get(&app, "/realms/shop", &master).await;
    assert_eq!(realm.json["accessTokenLifespan"], 600);
    assert_eq!(realm.json["displayName"], "Shop");
    for part in ["users", "clients", "roles", "components", "authenticationFlows"] {
        assert!(realm.json.get(part).is_none(), "{part} is not kept as a setting: {}", realm.text);
    }
    assert!(!realm.text.contains("MIIEvQ"), "a private key in the export is not kept");

    // What every Keycloak realm has is left out; the rest is there.
    let scopes = get(&app, "/realms/shop/client-scopes", &master).await.json;
    let scope_names = names(&scopes, "name");
    assert!(scope_names.contains(&"orders".to_owned()), "{scope_names:?}");
    assert!(!scope_names.iter().any(|n| n == "web-origins" || n == "saml_organization"), "{scope_names:?}");
    let defaults = get(&app, "/realms/shop/default-default-client-scopes", &master).await.json;
    assert_eq!(names(&defaults, "name"), ["email", "profile"]);
    let optionals = get(&app, "/realms/shop/default-optional-client-scopes", &master).await.json;
    assert_eq!(names(&optionals, "name"), ["address", "offline_access", "orders", "phone"]);
    let roles = get(&app, "/realms/shop/roles", &master).await.json;
    assert_eq!(names(&roles, "name"), ["buyer"]);
    let clients = get(&app, "/realms/shop/clients", &master).await.json;
    let client_ids = names(&clients, "clientId");
    for id in ["shop-web", "shop-svc", "admin-cli", "realm-management"] {
        assert!(client_ids.contains(&id.to_owned()), "{client_ids:?}");
    }
    assert!(!client_ids.iter().any(|c| c == "broker" || c == "account"), "{client_ids:?}");
    let web = client_uuid(&app, "shop", &master, "shop-web").await;
    let web = get(&app, &format!("/realms/shop/clients/{web}"), &master).await.json;
    assert_eq!(
        web["defaultClientScopes"],
        json!(["profile", "email", "orders"]),
        "openid: on every client and not listed, as in Keycloak"
    );
    assert_eq!(web["protocolMappers"][0]["name"], "audience", "kept as Keycloak sent it");

    // Alice signs in with the password Keycloak hashed, and holds her role.
    let tokens =
        app.password_grant("shop", ("shop-web", "shop-web-secret"), ("alice", "alice-in-keycloak"), "openid").await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    let (_, claims) = jwt_parts(tokens.str("access_token"));
    assert_eq!(claims["realm_access"]["roles"], json!(["buyer"]), "{claims}");
    let wrong =
        app.password_grant("shop", ("shop-web", "shop-web-secret"), ("alice", "alice-in-keycloakX"), "openid").await;
    wrong.assert_error(400, "invalid_grant");
    let alice = get(&app, "/realms/shop/users?username=alice&exact=true", &master).await.json;
    assert_eq!(alice[0]["email"], "alice@shop.example");
    assert_eq!(alice[0]["firstName"], "Alice");

    // Bob administers the realm's users, as his realm-management role says.
    let bob = admin_cli_token(&app, "shop", ("bob", "bob-pw")).await;
    assert_eq!(call(&app, Method::GET, "/realms/shop/users", &bob, None).await.status, 200);
    assert_eq!(call(&app, Method::GET, "/realms/shop/clients", &bob, None).await.status, 403);

    // The service account's roles go into its tokens; its masked secret was replaced.
    let svc = client_uuid(&app, "shop", &master, "shop-svc").await;
    let secret = get(&app, &format!("/realms/shop/clients/{svc}/client-secret"), &master).await.json;
    let secret = secret["value"].as_str().unwrap().to_owned();
    assert_ne!(secret, "**********");
    let token = app.client_credentials("shop", "shop-svc", &secret, None).await;
    assert_eq!(token.status, 200, "{}", token.json);
    let (_, claims) = jwt_parts(token.str("access_token"));
    assert_eq!(claims["resource_access"]["realm-management"]["roles"], json!(["view-clients"]), "{claims}");

    // The same export again: the realm exists, and nothing changes.
    let again = call(&app, Method::POST, "/realms", &master, Some(keycloak_export())).await;
    assert_eq!(again.status, 409, "{}", again.text);
    assert_eq!(get(&app, "/realms/shop/roles", &master).await.json, roles);
}

async fn an_export_that_cannot_be_honoured_creates_nothing(app: TestApp) {
    let master = master_token(&app).await;
    let mut refused_before = keycloak_export();
    refused_before["groups"] = json!([{"name": "staff", "path": "/staff"}]);
    let answer = call(&app, Method::POST, "/realms", &master, Some(refused_before)).await;
    assert_bad_request(&answer);
    assert!(answer.text.contains("groups"), "{}", answer.text);
    assert_eq!(call(&app, Method::GET, "/realms/shop", &master, None).await.status, 404);

    // Found wrong halfway (scopes and roles were created by then): the
    // error names the client, and the realm is gone again.
    let mut refused_halfway = keycloak_export();
    refused_halfway["clients"][5]["clientAuthenticatorType"] = json!("client-jwt");
    let answer = call(&app, Method::POST, "/realms", &master, Some(refused_halfway)).await;
    assert_bad_request(&answer);
    assert!(answer.text.contains("shop-web"), "{}", answer.text);
    assert_eq!(call(&app, Method::GET, "/realms/shop", &master, None).await.status, 404);
    let realms = get(&app, "/realms", &master).await.json;
    assert!(!names(&realms, "realm").contains(&"shop".to_owned()));

    // A password hash realmgate cannot verify is refused, not dropped.
    let mut pbkdf2 = keycloak_export();
    pbkdf2["users"][0]["credentials"][0]["credentialData"] =
        json!({"hashIterations": 27500, "algorithm": "pbkdf2-sha256", "additionalParameters": {}}).to_string().into();
    let answer = call(&app, Method::POST, "/realms", &master, Some(pbkdf2)).await;
    assert_bad_request(&answer);
    assert!(answer.text.contains("alice") && answer.text.contains("pbkdf2-sha256"), "{}", answer.text);
    assert_eq!(call(&app, Method::GET, "/realms/shop", &master, None).await.status, 404);

    // Without the problems the same export imports.
    let created = call(&app, Method::POST, "/realms", &master, Some(keycloak_export())).await;
    assert_eq!(created.status, 201, "{}", created.text);
}

/// Keycloak's usual default scopes on a client created or changed through
/// the API: those realmgate does without are left out, `openid` stays, and
/// a name that is nobody's scope is still refused.
async fn a_keycloak_shaped_client_keeps_the_scopes_realmgate_has(app: TestApp) {
    let master = master_token(&app).await;
    let keycloaks = json!(["web-origins", "acr", "profile", "roles", "basic", "email"]);
    let body = json!({"clientId": "kc-shaped", "secret": "kc-secret", "directAccessGrantsEnabled": true,
                      "defaultClientScopes": keycloaks});
    let created = call(&app, Method::POST, "/realms/acme/clients", &master, Some(body)).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = client_uuid(&app, "acme", &master, "kc-shaped").await;
    let path = format!("/realms/acme/clients/{id}");
    assert_eq!(get(&app, &path, &master).await.json["defaultClientScopes"], json!(["profile", "email"]));
    let tokens = app.password_grant("acme", ("kc-shaped", "kc-secret"), ("alice", "alice-pw"), "openid email").await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    assert_eq!(tokens.json["scope"], "email openid");

    let changed =
        call(&app, Method::PUT, &path, &master, Some(json!({"defaultClientScopes": ["roles", "profile"]}))).await;
    assert_eq!(changed.status, 204, "{}", changed.text);
    assert_eq!(get(&app, &path, &master).await.json["defaultClientScopes"], json!(["profile"]));
    let unknown = call(&app, Method::PUT, &path, &master, Some(json!({"defaultClientScopes": ["nonsense"]}))).await;
    assert_bad_request(&unknown);
    assert_eq!(get(&app, &path, &master).await.json["defaultClientScopes"], json!(["profile"]));

    // A realm that made a scope of one of those names keeps it.
    create(&app, "/realms/acme/client-scopes", &master, json!({"name": "acr", "protocol": "openid-connect"})).await;
    let changed = call(&app, Method::PUT, &path, &master, Some(json!({"defaultClientScopes": ["acr", "roles"]}))).await;
    assert_eq!(changed.status, 204, "{}", changed.text);
    assert_eq!(get(&app, &path, &master).await.json["defaultClientScopes"], json!(["acr"]));

    // The realm's default lists likewise; anything else there is refused.
    let realm_defaults = json!({"defaultDefaultClientScopes": ["web-origins", "profile", "acr"]});
    assert_eq!(call(&app, Method::PUT, "/realms/acme", &master, Some(realm_defaults)).await.status, 204);
    let defaults = get(&app, "/realms/acme/default-default-client-scopes", &master).await.json;
    assert_eq!(names(&defaults, "name"), ["acr", "profile"]);
    for bad in [
        json!({"defaultDefaultClientScopes": [1]}),
        json!({"defaultOptionalClientScopes": ["nonsense"]}),
        json!({"defaultDefaultClientScopes": "profile"}),
    ] {
        assert_bad_request(&call(&app, Method::PUT, "/realms/acme", &master, Some(bad)).await);
    }
    let unchanged = get(&app, "/realms/acme/default-default-client-scopes", &master).await.json;
    assert_eq!(names(&unchanged, "name"), ["acr", "profile"], "refusals change nothing");
}
