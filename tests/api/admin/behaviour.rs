//! What the admin API changes is what the protocol endpoints do: secrets,
//! passwords, keys, exports and logouts.

use reqwest::Method;
use serde_json::json;

use super::{ADMIN_REALMS, admin_cli_token, call, change, client_uuid, create, get, master_token, user_id};
use crate::both_backends;
use crate::browser::Browser;
use crate::helpers::{TestApp, jwt_parts};

both_backends!(
    realms = ADMIN_REALMS;
    a_regenerated_secret_replaces_the_old_one,
    a_user_created_through_the_api_signs_in,
    the_keys_endpoint_names_the_signing_key,
    a_realm_created_through_the_api_is_exported,
    admin_logout_ends_sessions_and_password_grants,
    logout_all_ends_every_session_and_grant_of_the_realm,
    a_disabled_user_cannot_refresh_until_enabled_again,
    role_mappings_show_in_the_next_access_token,
    changes_made_at_once_add_up,
    a_disabled_realm_issues_nothing,
    phone_and_address_claims_come_from_user_attributes,
    optional_scopes_are_granted_when_asked_for,
    a_client_registered_again_does_not_revive_old_tokens,
    a_password_in_a_user_update_is_set,
    a_required_pkce_method_is_enforced_and_unsupported_bindings_refused,
    a_mapping_delete_without_a_body_takes_every_role_away,
);

/// As Keycloak's `deleteRealmRoleMappings`/`deleteClientRoleMappings`: no
/// body is every role (of the realm, or of the client), not none.
async fn a_mapping_delete_without_a_body_takes_every_role_away(app: TestApp) {
    let master = master_token(&app).await;
    let alice = user_id(&app, "acme", &master, "alice").await;
    for name in ["first", "second"] {
        create(&app, "/realms/acme/roles", &master, json!({ "name": name })).await;
    }
    let realm_roles = format!("/realms/acme/users/{alice}/role-mappings/realm");
    let both = json!([{"name": "first"}, {"name": "second"}]).to_string();
    change(&app, Method::POST, &realm_roles, &master, Some(&both)).await;
    let names = |list: serde_json::Value| {
        let mut names: Vec<String> =
            list.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_owned()).collect();
        names.sort();
        names
    };
    assert_eq!(names(get(&app, &realm_roles, &master).await.json), ["first", "second"]);
    change(&app, Method::DELETE, &realm_roles, &master, None).await;
    assert_eq!(get(&app, &realm_roles, &master).await.json, json!([]));

    let management = client_uuid(&app, "acme", &master, "realm-management").await;
    let client_roles = format!("/realms/acme/users/{alice}/role-mappings/clients/{management}");
    let two = json!([{"name": "view-users"}, {"name": "query-users"}]).to_string();
    change(&app, Method::POST, &client_roles, &master, Some(&two)).await;
    assert_eq!(names(get(&app, &client_roles, &master).await.json), ["query-users", "view-users"]);
    change(&app, Method::DELETE, &client_roles, &master, None).await;
    assert_eq!(get(&app, &client_roles, &master).await.json, json!([]));
    // An empty list is still none.
    change(&app, Method::POST, &client_roles, &master, Some(&two)).await;
    change(&app, Method::DELETE, &client_roles, &master, Some("[]")).await;
    assert_eq!(names(get(&app, &client_roles, &master).await.json), ["query-users", "view-users"]);
}

/// Keycloak's `pkce.code.challenge.method` is honoured (every code-flow
/// request must use that method); attributes asking for protection
/// realmgate does not have (DPoP, mTLS-bound tokens, PAR) are refused.
async fn a_required_pkce_method_is_enforced_and_unsupported_bindings_refused(app: TestApp) {
    use crate::browser::{CHALLENGE, auth_url};
    let master = master_token(&app).await;
    for unsupported in [
        "dpop.bound.access.tokens",
        "tls.client.certificate.bound.access.tokens",
        "require.pushed.authorization.requests",
    ] {
        let body = json!({"clientId": "bound", "secret": "s", "redirectUris": ["http://127.0.0.1:9/cb"],
                          "attributes": { unsupported: "true" }});
        let refused = call(&app, Method::POST, "/realms/acme/clients", &master, Some(body)).await;
        assert_eq!(refused.status, 400, "{unsupported}: {}", refused.text);
    }
    let bad = json!({"clientId": "bound", "attributes": {"pkce.code.challenge.method": "S512"}});
    assert_eq!(call(&app, Method::POST, "/realms/acme/clients", &master, Some(bad)).await.status, 400);
    let body = json!({"clientId": "strict", "secret": "strict-secret", "redirectUris": ["http://127.0.0.1:9/cb"],
                      "attributes": {"pkce.code.challenge.method": "S256"}});
    create(&app, "/realms/acme/clients", &master, body).await;

    let base = [
        ("client_id", "strict"),
        ("response_type", "code"),
        ("redirect_uri", "http://127.0.0.1:9/cb"),
        ("state", "st"),
    ];
    let browser = Browser::new();
    for (what, extra) in [
        ("no challenge", vec![]),
        ("plain", vec![("code_challenge", CHALLENGE), ("code_challenge_method", "plain")]),
        ("no method (plain)", vec![("code_challenge", CHALLENGE)]),
    ] {
        let mut params = base.to_vec();
        params.extend(extra);
        let page = browser.get(&auth_url(&app, "acme", &params)).await;
        assert_eq!(page.status, 302, "{what}: {}", page.body);
        let answer = page.redirect_params();
        assert_eq!(answer["error"], "invalid_request", "{what}: {answer:?}");
        assert!(answer["error_description"].contains("S256"), "{what}: {answer:?}");
    }
    let mut params = base.to_vec();
    params.extend([("code_challenge", CHALLENGE), ("code_challenge_method", "S256")]);
    assert!(browser.get(&auth_url(&app, "acme", &params)).await.is_login_page(), "S256 is the way in");
}

/// `credentials` in a PUT of a user set the password, as Keycloak's
/// updateUser does (python-keycloak's `update_user`); what realmgate cannot
/// honour (other required actions, a `q` filter) is 400 and changes nothing.
async fn a_password_in_a_user_update_is_set(app: TestApp) {
    let master = master_token(&app).await;
    let vera = user_id(&app, "acme", &master, "vera").await;
    let path = format!("/realms/acme/users/{vera}");
    let web = ("web", "web-secret");
    let body =
        r#"{"firstName": "Vera", "credentials": [{"type": "password", "value": "vera-new-pw", "temporary": false}]}"#;
    change(&app, Method::PUT, &path, &master, Some(body)).await;
    assert_eq!(app.password_grant("acme", web, ("vera", "vera-new-pw"), "openid").await.status, 200);
    app.password_grant("acme", web, ("vera", "vera-pw"), "openid").await.assert_error(400, "invalid_grant");
    assert_eq!(get(&app, &path, &master).await.json["firstName"], "Vera", "the other changes are applied too");

    let temporary = r#"{"credentials": [{"type": "password", "value": "vera-temp-pw", "temporary": true}]}"#;
    change(&app, Method::PUT, &path, &master, Some(temporary)).await;
    assert_eq!(get(&app, &path, &master).await.json["requiredActions"], json!(["UPDATE_PASSWORD"]));
    // A permanent password does not take the required action away (Keycloak
    // only adds it); `requiredActions` does.
    let permanent = r#"{"credentials": [{"type": "password", "value": "vera-pw-3", "temporary": false}]}"#;
    change(&app, Method::PUT, &path, &master, Some(permanent)).await;
    assert_eq!(get(&app, &path, &master).await.json["requiredActions"], json!(["UPDATE_PASSWORD"]));

    for refused in [
        r#"{"requiredActions": ["VERIFY_EMAIL"]}"#,
        r#"{"requiredActions": "UPDATE_PASSWORD"}"#,
        r#"{"credentials": {}}"#,
    ] {
        let answer = call(&app, Method::PUT, &path, &master, Some(serde_json::from_str(refused).unwrap())).await;
        assert_eq!(answer.status, 400, "{refused}: {}", answer.text);
    }
    assert_eq!(get(&app, &path, &master).await.json["requiredActions"], json!(["UPDATE_PASSWORD"]), "unchanged");
    let listed = call(&app, Method::GET, "/realms/acme/clients?q=x:y", &master, None).await;
    assert_eq!(listed.status, 400, "{}", listed.text);
}

/// Deleting a client ends its tokens for good: a new client registered under
/// the same `clientId` does not make them valid again.
async fn a_client_registered_again_does_not_revive_old_tokens(app: TestApp) {
    let master = master_token(&app).await;
    let client = json!({"clientId": "phoenix", "secret": "phoenix-secret", "directAccessGrantsEnabled": true});
    let id = create(&app, "/realms/acme/clients", &master, client.clone()).await;
    let phoenix = ("phoenix", "phoenix-secret");
    let token = app.password_grant("acme", phoenix, ("alice", "alice-pw"), "openid").await;
    let token = token.str("access_token").to_owned();
    assert_eq!(app.userinfo("acme", &token).await.status, 200);
    assert_eq!(app.introspect("acme", ("robot", "robot-secret"), &token).await.json["active"], true);
    change(&app, Method::DELETE, &format!("/realms/acme/clients/{id}"), &master, None).await;
    assert_eq!(app.introspect("acme", ("robot", "robot-secret"), &token).await.json, json!({"active": false}));

    // Registered again at once (within the token's second, too).
    let again = create(&app, "/realms/acme/clients", &master, client).await;
    assert_eq!(app.introspect("acme", ("robot", "robot-secret"), &token).await.json, json!({"active": false}));
    assert_eq!(app.userinfo("acme", &token).await.status, 401);
    let fresh = app.password_grant("acme", phoenix, ("alice", "alice-pw"), "openid").await;
    let fresh = fresh.str("access_token").to_owned();
    assert_eq!(app.introspect("acme", ("robot", "robot-secret"), &fresh).await.json["active"], true);

    // Nor when an older client is renamed to the name the deleted one had.
    change(&app, Method::DELETE, &format!("/realms/acme/clients/{again}"), &master, None).await;
    let web = client_uuid(&app, "acme", &master, "web").await;
    change(&app, Method::PUT, &format!("/realms/acme/clients/{web}"), &master, Some(r#"{"clientId": "phoenix"}"#))
        .await;
    assert_eq!(app.introspect("acme", ("robot", "robot-secret"), &fresh).await.json, json!({"active": false}));
    assert_eq!(app.introspect("acme", ("robot", "robot-secret"), &token).await.json, json!({"active": false}));
}

async fn optional_scopes_are_granted_when_asked_for(app: TestApp) {
    let master = master_token(&app).await;
    let extra = create(&app, "/realms/acme/client-scopes", &master, json!({"name": "extra"})).await;
    let robot = client_uuid(&app, "acme", &master, "robot").await;
    let granted = |scope: Option<&'static str>| {
        let app = &app;
        async move {
            let answer = app.client_credentials("acme", "robot", "robot-secret", scope).await;
            assert_eq!(answer.status, 200, "{}", answer.json);
            answer.json["scope"].as_str().unwrap().to_owned()
        }
    };
    let refused = app.client_credentials("acme", "robot", "robot-secret", Some("extra")).await;
    assert_eq!((refused.status, refused.json["error"].as_str()), (400, Some("invalid_scope")), "{}", refused.json);

    let optional = format!("/realms/acme/clients/{robot}/optional-client-scopes/{extra}");
    change(&app, Method::PUT, &optional, &master, None).await;
    assert!(!granted(None).await.contains("extra"), "optional: not without asking");
    assert_eq!(granted(Some("extra")).await, "extra");

    let default = format!("/realms/acme/clients/{robot}/default-client-scopes/{extra}");
    change(&app, Method::PUT, &default, &master, None).await;
    assert!(granted(None).await.contains("extra"), "default: granted unasked");
}

async fn a_regenerated_secret_replaces_the_old_one(app: TestApp) {
    let master = master_token(&app).await;
    let id =
        create(&app, "/realms/acme/clients", &master, json!({"clientId": "rotor", "serviceAccountsEnabled": true}))
            .await;
    let path = format!("/realms/acme/clients/{id}/client-secret");
    let old = get(&app, &path, &master).await.json;
    assert_eq!(old["type"], "secret");
    let old = old["value"].as_str().expect("a generated secret").to_owned();
    assert_eq!(get(&app, &format!("/realms/acme/clients/{id}"), &master).await.json["secret"], old.as_str());
    assert_eq!(app.client_credentials("acme", "rotor", &old, None).await.status, 200);

    let fresh = call(&app, Method::POST, &path, &master, None).await;
    assert_eq!(fresh.status, 200, "{}", fresh.text);
    assert_eq!(fresh.json["type"], "secret");
    let new = fresh.str("value").to_owned();
    assert_ne!(new, old);
    assert_eq!(get(&app, &path, &master).await.json["value"], new.as_str());
    app.client_credentials("acme", "rotor", &old, None).await.assert_error(401, "invalid_client");
    let form = [("grant_type", "client_credentials"), ("client_id", "rotor"), ("client_secret", old.as_str())];
    app.token("acme", None, &form).await.assert_error(401, "invalid_client");
    let answer = app.client_credentials("acme", "rotor", &new, None).await;
    assert_eq!(answer.status, 200, "{}", answer.json);

    // Keycloak's mask, sent back from an export or a console, is no secret:
    // an update keeps the secret, a create makes a new one.
    let masked = json!({"secret": "**********", "description": "masked"}).to_string();
    change(&app, Method::PUT, &format!("/realms/acme/clients/{id}"), &master, Some(&masked)).await;
    assert_eq!(get(&app, &path, &master).await.json["value"], new.as_str());
    let copy = json!({"clientId": "rotor-copy", "serviceAccountsEnabled": true, "secret": "**********"});
    let copy = create(&app, "/realms/acme/clients", &master, copy).await;
    let generated = get(&app, &format!("/realms/acme/clients/{copy}/client-secret"), &master).await.json;
    let generated = generated["value"].as_str().expect("a generated secret");
    assert!(generated.len() >= 32 && !generated.contains('*'), "{generated}");
    app.client_credentials("acme", "rotor-copy", "**********", None).await.assert_error(401, "invalid_client");

    // A public client has no secret to show, and still answers 200.
    let cli = client_uuid(&app, "acme", &master, "admin-cli").await;
    let none = get(&app, &format!("/realms/acme/clients/{cli}/client-secret"), &master).await;
    assert_eq!(none.json["type"], "secret");
    assert!(none.json.get("value").is_none(), "{}", none.text);
}

async fn a_user_created_through_the_api_signs_in(app: TestApp) {
    let master = master_token(&app).await;
    let id =
        create(&app, "/realms/acme/clients", &master, json!({"clientId": "portal", "directAccessGrantsEnabled": true}))
            .await;
    let secret = get(&app, &format!("/realms/acme/clients/{id}/client-secret"), &master).await.json["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let user = json!({
        "username": "Newbie",
        "email": "newbie@example.com",
        "enabled": true,
        "credentials": [{"type": "password", "value": "first-pw", "temporary": false}],
    });
    let user_id = create(&app, "/realms/acme/users", &master, user).await;
    let portal = ("portal", secret.as_str());
    let tokens = app.password_grant("acme", portal, ("newbie", "first-pw"), "openid").await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    let (_, claims) = jwt_parts(tokens.str("access_token"));
    assert_eq!((&claims["sub"], &claims["client_id"]), (&json!(user_id), &json!("portal")), "{claims}");
    // As python-keycloak sends it: secret in the form, empty `code` and `redirect_uri`.
    let form = [
        ("username", "newbie"),
        ("password", "first-pw"),
        ("client_id", "portal"),
        ("grant_type", "password"),
        ("code", ""),
        ("redirect_uri", ""),
        ("scope", "openid"),
        ("client_secret", secret.as_str()),
    ];
    let answer = app.token("acme", None, &form).await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert!(answer.json["expires_in"].is_number() && answer.json["refresh_token"].is_string(), "{}", answer.json);

    let reset = r#"{"type": "password", "value": "second-pw", "temporary": false}"#;
    change(&app, Method::PUT, &format!("/realms/acme/users/{user_id}/reset-password"), &master, Some(reset)).await;
    app.password_grant("acme", portal, ("newbie", "first-pw"), "openid").await.assert_error(400, "invalid_grant");
    assert_eq!(app.password_grant("acme", portal, ("newbie", "second-pw"), "openid").await.status, 200);
    // Too long a password is named as that, and changes nothing.
    let long = json!({"type": "password", "value": "p".repeat(1025), "temporary": false});
    let refused =
        call(&app, Method::PUT, &format!("/realms/acme/users/{user_id}/reset-password"), &master, Some(long)).await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert!(refused.text.contains("at most 1024"), "{}", refused.text);
    assert_eq!(app.password_grant("acme", portal, ("newbie", "second-pw"), "openid").await.status, 200);

    // Left out, `enabled` is false (as in Keycloak): no sign-in until enabled.
    let dormant = json!({"username": "dormant", "credentials": [{"type": "password", "value": "dormant-pw"}]});
    let dormant_id = create(&app, "/realms/acme/users", &master, dormant).await;
    let path = format!("/realms/acme/users/{dormant_id}");
    assert_eq!(get(&app, &path, &master).await.json["enabled"], false);
    app.password_grant("acme", portal, ("dormant", "dormant-pw"), "openid").await.assert_error(400, "invalid_grant");
    change(&app, Method::PUT, &path, &master, Some(r#"{"enabled": true}"#)).await;
    assert_eq!(app.password_grant("acme", portal, ("dormant", "dormant-pw"), "openid").await.status, 200);

    // Without directAccessGrantsEnabled a client may not use the password grant.
    create(&app, "/realms/acme/clients", &master, json!({"clientId": "codeonly", "secret": "codeonly-secret"})).await;
    let refused = app.password_grant("acme", ("codeonly", "codeonly-secret"), ("newbie", "second-pw"), "openid").await;
    assert_eq!(refused.json["error"], "unauthorized_client", "{}", refused.json);
}

async fn the_keys_endpoint_names_the_signing_key(app: TestApp) {
    use base64::Engine;
    let master = master_token(&app).await;
    let kid_of = |token: &str| jwt_parts(token).0["kid"].as_str().unwrap().to_owned();
    let check = |realm: &'static str, token: String| {
        let (app, master) = (&app, &master);
        async move {
            let keys = get(app, &format!("/realms/{realm}/keys"), master).await.json;
            let kid = keys["active"]["RS256"].as_str().unwrap_or_else(|| panic!("no active RS256 key: {keys}"));
            assert_eq!(kid_of(&token), kid, "the token is signed with the active key");
            let entry = keys["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid).expect("the key is listed");
            assert_eq!(
                (&entry["status"], &entry["type"], &entry["algorithm"]),
                (&json!("ACTIVE"), &json!("RSA"), &json!("RS256"))
            );
            let der = base64::engine::general_purpose::STANDARD.decode(entry["publicKey"].as_str().unwrap());
            assert!(der.is_ok_and(|d| d.len() > 200), "a DER public key: {entry}");
            let jwks = app.get(&app.realm_url(realm, "/protocol/openid-connect/certs")).await;
            assert!(jwks.json["keys"].as_array().unwrap().iter().any(|k| k["kid"] == kid), "{}", jwks.json);
            kid.to_owned()
        }
    };
    check("master", master.clone()).await;
    let alice = app.password_grant("acme", ("web", "web-secret"), ("alice", "alice-pw"), "openid").await;
    let old = check("acme", alice.str("access_token").to_owned()).await;

    // After a rotation the new key is the active one; the old one is still listed, passive.
    let out = app.cli(&["keys", "rotate", "--realm", "acme"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let keys = get(&app, "/realms/acme/keys", &master).await.json;
    let new = keys["active"]["RS256"].as_str().unwrap();
    assert_ne!(new, old);
    let previous = keys["keys"].as_array().unwrap().iter().find(|k| k["kid"] == old.as_str()).expect("still listed");
    assert_eq!(previous["status"], "PASSIVE");
}

async fn a_realm_created_through_the_api_is_exported(app: TestApp) {
    let master = master_token(&app).await;
    create(
        &app,
        "/realms",
        &master,
        json!({"realm": "exported", "displayName": "Exported Realm", "accessTokenLifespan": 600}),
    )
    .await;
    let r = "/realms/exported";
    let client =
        json!({"clientId": "exp-web", "redirectUris": ["http://127.0.0.1:9/cb"], "directAccessGrantsEnabled": true});
    create(&app, &format!("{r}/clients"), &master, client).await;
    create(
        &app,
        &format!("{r}/users"),
        &master,
        json!({"username": "exp-user", "email": "e@example.com", "enabled": true}),
    )
    .await;
    create(&app, &format!("{r}/roles"), &master, json!({"name": "exp-role"})).await;

    let out = app.cli(&["realm", "export", "exported"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let file = String::from_utf8(out.stdout).unwrap();
    for line in [
        r#"name = "exported""#,
        r#"display_name = "Exported Realm""#,
        r#"access_token_lifetime = "10m""#,
        r#"client_id = "exp-web""#,
        r#""http://127.0.0.1:9/cb""#,
        r#"username = "exp-user""#,
        r#"name = "exp-role""#,
    ] {
        assert!(file.contains(line), "`{line}` missing from:\n{file}");
    }
    assert!(!file.contains("admin-cli"), "built-in clients are not exported:\n{file}");
    let discovery = app.get(&app.realm_url("exported", "/.well-known/openid-configuration")).await;
    assert_eq!(discovery.json["issuer"], app.issuer("exported"));
}

async fn admin_logout_ends_sessions_and_password_grants(app: TestApp) {
    let master = master_token(&app).await;
    let alice = user_id(&app, "acme", &master, "alice").await;
    let sessions = format!("/realms/acme/users/{alice}/sessions");
    assert_eq!(get(&app, &sessions, &master).await.json, json!([]));

    let browser = Browser::new();
    let account = app.realm_url("acme", "/account");
    let login = browser.get(&account).await;
    assert_eq!(browser.login(&login, "alice", "alice-pw").await.status, 303);
    let listed = get(&app, &sessions, &master).await.json;
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!((&listed[0]["userId"], &listed[0]["username"]), (&json!(alice), &json!("alice")));
    assert_eq!(listed[0]["clients"], json!({}), "the account page holds no tokens");
    assert_eq!(listed[0]["ipAddress"], "127.0.0.1", "where the browser signed in from");
    let tokens = app.password_grant("acme", ("web", "web-secret"), ("alice", "alice-pw"), "openid").await;
    let refresh_token = tokens.str("refresh_token").to_owned();
    // The password grant is a session of its own, as Keycloak lists one.
    let listed = get(&app, &sessions, &master).await.json;
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");
    let web = client_uuid(&app, "acme", &master, "web").await;
    let held = json!({ web: "web" });
    assert!(listed.as_array().unwrap().iter().any(|s| s["clients"] == held), "{listed}");
    assert!(listed.as_array().unwrap().iter().all(|s| s["ipAddress"] == "127.0.0.1"), "{listed}");

    // One session ends by its id (Keycloak's DELETE /sessions/{id}): here
    // the password grant's; an unknown or ended one is 404.
    let grant = listed.as_array().unwrap().iter().find(|s| s["clients"] == held).unwrap()["id"].clone();
    let delete = format!("/realms/acme/sessions/{}", grant.as_str().unwrap());
    change(&app, Method::DELETE, &delete, &master, None).await;
    app.refresh("acme", ("web", "web-secret"), &refresh_token).await.assert_error(400, "invalid_grant");
    let listed = get(&app, &sessions, &master).await.json;
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "the browser session stays: {listed}");
    for gone in [delete.clone(), "/realms/acme/sessions/nonsense".to_owned()] {
        assert_eq!(call(&app, Method::DELETE, &gone, &master, None).await.status, 404, "{gone}");
    }
    // Not through another realm's path.
    let browser_session = listed[0]["id"].as_str().unwrap().to_owned();
    let elsewhere =
        call(&app, Method::DELETE, &format!("/realms/master/sessions/{browser_session}"), &master, None).await;
    assert_eq!(elsewhere.status, 404);
    let tokens = app.password_grant("acme", ("web", "web-secret"), ("alice", "alice-pw"), "openid").await;
    let refresh_token = tokens.str("refresh_token").to_owned();

    change(&app, Method::POST, &format!("/realms/acme/users/{alice}/logout"), &master, None).await;
    assert_eq!(get(&app, &sessions, &master).await.json, json!([]));
    assert!(browser.get(&account).await.is_login_page(), "the browser session ended");
    let refused = app.refresh("acme", ("web", "web-secret"), &refresh_token).await;
    refused.assert_error(400, "invalid_grant");
    assert_eq!(refused.json["error_description"], "Session not active");
    // Signing in again works.
    let again = app.password_grant("acme", ("web", "web-secret"), ("alice", "alice-pw"), "openid").await;
    assert_eq!(app.refresh("acme", ("web", "web-secret"), again.str("refresh_token")).await.status, 200);
}

/// Keycloak's "sign out all active sessions" (`POST /logout-all`): every
/// browser session and grant of the realm ends, offline ones too; other
/// realms are untouched. Only an administrator who outranks every user of
/// the realm may (a user manager may not sign its administrators out).
async fn logout_all_ends_every_session_and_grant_of_the_realm(app: TestApp) {
    let master = master_token(&app).await;
    let alice = user_id(&app, "acme", &master, "alice").await;
    let browser = Browser::new();
    let account = app.realm_url("acme", "/account");
    let login = browser.get(&account).await;
    assert_eq!(browser.login(&login, "alice", "alice-pw").await.status, 303);
    let web = client_uuid(&app, "acme", &master, "web").await;
    let scopes = get(&app, "/realms/acme/client-scopes", &master).await.json;
    let offline_scope =
        scopes.as_array().unwrap().iter().find(|s| s["name"] == "offline_access").unwrap()["id"].clone();
    let optional = format!("/realms/acme/clients/{web}/optional-client-scopes/{}", offline_scope.as_str().unwrap());
    change(&app, Method::PUT, &optional, &master, None).await;
    let online = app.password_grant("acme", ("web", "web-secret"), ("alice", "alice-pw"), "openid").await;
    let offline =
        app.password_grant("acme", ("web", "web-secret"), ("alice", "alice-pw"), "openid offline_access").await;
    assert!(offline.str("scope").contains("offline_access"), "{}", offline.json);
    let olga = admin_cli_token(&app, "other", ("olga", "olga-pw")).await;
    // A client without refresh tokens: its password grant is a session all the same.
    let body = json!({"clientId": "pwonly", "secret": "pwonly-secret", "directAccessGrantsEnabled": true,
        "attributes": {"use.refresh.tokens": "false"}});
    create(&app, "/realms/acme/clients", &master, body).await;
    let bare = app.password_grant("acme", ("pwonly", "pwonly-secret"), ("alice", "alice-pw"), "openid").await;
    assert!(bare.json.get("refresh_token").is_none(), "{}", bare.json);
    assert_eq!(app.introspect("acme", ("web", "web-secret"), bare.str("access_token")).await.json["active"], true);

    // vera manages users but is no realm-admin: refused, and nothing ends.
    let management = client_uuid(&app, "acme", &master, "realm-management").await;
    let vera = user_id(&app, "acme", &master, "vera").await;
    let grant = json!([{"name": "manage-users"}]).to_string();
    change(
        &app,
        Method::POST,
        &format!("/realms/acme/users/{vera}/role-mappings/clients/{management}"),
        &master,
        Some(&grant),
    )
    .await;
    let vera_token = admin_cli_token(&app, "acme", ("vera", "vera-pw")).await;
    let refused = call(&app, Method::POST, "/realms/acme/logout-all", &vera_token, None).await;
    assert_eq!((refused.status, &refused.json), (403, &json!({"error": "HTTP 403 Forbidden"})));
    let online = app.refresh("acme", ("web", "web-secret"), online.str("refresh_token")).await;
    assert_eq!(online.status, 200, "a refused sign-out ends nothing: {}", online.json);
    assert!(!browser.get(&account).await.is_login_page());

    let rita = admin_cli_token(&app, "acme", ("rita", "rita-pw")).await;
    // An action: 204 (SPEC §6), where Keycloak answers 200 with the clients it notified.
    change(&app, Method::POST, "/realms/acme/logout-all/", &rita, None).await;
    assert!(browser.get(&account).await.is_login_page(), "the browser session ended");
    let ended = app.refresh("acme", ("web", "web-secret"), online.str("refresh_token")).await;
    ended.assert_error(400, "invalid_grant");
    assert_eq!(ended.json["error_description"], "Session not active");
    app.refresh("acme", ("web", "web-secret"), offline.str("refresh_token")).await.assert_error(400, "invalid_grant");
    for token in [offline.str("access_token"), bare.str("access_token")] {
        let introspected = app.introspect("acme", ("web", "web-secret"), token).await;
        assert_eq!(introspected.json, json!({"active": false}));
    }
    assert_eq!(get(&app, &format!("/realms/acme/users/{alice}/sessions"), &master).await.json, json!([]));
    // rita's own sign-in was a session of the realm too.
    assert_eq!(call(&app, Method::GET, "/realms/acme/users", &rita, None).await.status, 401);
    // Another realm's sessions live on, and signing in again works.
    assert_eq!(call(&app, Method::GET, "/realms/other/users", &olga, None).await.status, 200);
    let again = app.password_grant("acme", ("web", "web-secret"), ("alice", "alice-pw"), "openid").await;
    assert_eq!(app.refresh("acme", ("web", "web-secret"), again.str("refresh_token")).await.status, 200);
}

async fn a_disabled_user_cannot_refresh_until_enabled_again(app: TestApp) {
    let master = master_token(&app).await;
    let alice = user_id(&app, "acme", &master, "alice").await;
    let tokens = app.password_grant("acme", ("web", "web-secret"), ("alice", "alice-pw"), "openid").await;
    let refresh_token = tokens.str("refresh_token").to_owned();
    let path = format!("/realms/acme/users/{alice}");

    change(&app, Method::PUT, &path, &master, Some(r#"{"enabled": false}"#)).await;
    let refused = app.refresh("acme", ("web", "web-secret"), &refresh_token).await;
    refused.assert_error(400, "invalid_grant");
    assert_eq!(refused.json["error_description"], "Session not active");
    // The refusal spent nothing: once enabled again, the same token rotates.
    change(&app, Method::PUT, &path, &master, Some(r#"{"enabled": true}"#)).await;
    let again = app.refresh("acme", ("web", "web-secret"), &refresh_token).await;
    assert_eq!(again.status, 200, "{}", again.json);
    assert_ne!(again.str("refresh_token"), refresh_token);
}

/// Keycloak's `realm_access.roles`: the realm roles the user holds when the
/// token is issued, so a refresh shows a change of roles.
async fn role_mappings_show_in_the_next_access_token(app: TestApp) {
    let master = master_token(&app).await;
    let alice = user_id(&app, "acme", &master, "alice").await;
    let tokens = app.password_grant("acme", ("web", "web-secret"), ("alice", "alice-pw"), "").await;
    let (_, claims) = jwt_parts(tokens.str("access_token"));
    assert!(claims.get("realm_access").is_none(), "alice holds no role yet: {claims}");
    assert_eq!(claims["azp"], "web");

    create(&app, "/realms/acme/roles", &master, json!({"name": "auditor"})).await;
    let auditor = get(&app, "/realms/acme/roles/auditor", &master).await.json;
    let viewer = get(&app, "/realms/acme/roles/viewer", &master).await.json;
    let mappings = format!("/realms/acme/users/{alice}/role-mappings/realm");
    let added = call(&app, Method::POST, &mappings, &master, Some(json!([viewer, auditor]))).await;
    assert_eq!(added.status, 204, "{}", added.text);
    let refreshed = app.refresh("acme", ("web", "web-secret"), tokens.str("refresh_token")).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.json);
    let (_, claims) = jwt_parts(refreshed.str("access_token"));
    assert_eq!(claims["realm_access"], json!({"roles": ["auditor", "viewer"]}));

    let removed = call(&app, Method::DELETE, &mappings, &master, Some(json!([auditor]))).await;
    assert_eq!(removed.status, 204, "{}", removed.text);
    let again = app.refresh("acme", ("web", "web-secret"), refreshed.str("refresh_token")).await;
    let (_, claims) = jwt_parts(again.str("access_token"));
    assert_eq!(claims["realm_access"], json!({"roles": ["viewer"]}));
}

/// Roles granted to one user, and client scopes made realm or client
/// defaults, by several requests at once all stay (each request changes what is stored,
/// not the whole list it read before), and one role granted at once is no
/// conflict.
async fn changes_made_at_once_add_up(app: TestApp) {
    let master = master_token(&app).await;
    let alice = user_id(&app, "acme", &master, "alice").await;
    let names: Vec<String> = (0..8).map(|i| format!("crowd{i}")).collect();
    for name in &names {
        create(&app, "/realms/acme/roles", &master, json!({ "name": name })).await;
    }
    let realm_roles = format!("/realms/acme/users/{alice}/role-mappings/realm");
    let grants =
        names.iter().map(|name| call(&app, Method::POST, &realm_roles, &master, Some(json!([{ "name": name }]))));
    let statuses: Vec<u16> = futures_util::future::join_all(grants).await.iter().map(|a| a.status).collect();
    assert!(statuses.iter().all(|&s| s == 204), "{statuses:?}");
    let same = (0..8).map(|_| call(&app, Method::POST, &realm_roles, &master, Some(json!([{ "name": "viewer" }]))));
    let statuses: Vec<u16> = futures_util::future::join_all(same).await.iter().map(|a| a.status).collect();
    assert!(statuses.iter().all(|&s| s == 204), "{statuses:?}");
    let held = get(&app, &realm_roles, &master).await.json;
    let mut held: Vec<&str> = held.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    held.sort_unstable();
    let mut expected: Vec<&str> = names.iter().map(String::as_str).chain(["viewer"]).collect();
    expected.sort_unstable();
    assert_eq!(held, expected);

    let management = client_uuid(&app, "acme", &master, "realm-management").await;
    let client_roles = format!("/realms/acme/users/{alice}/role-mappings/clients/{management}");
    let wanted = ["view-users", "view-clients", "view-realm", "query-users", "manage-users", "manage-clients"];
    let grants =
        wanted.iter().map(|name| call(&app, Method::POST, &client_roles, &master, Some(json!([{ "name": name }]))));
    let statuses: Vec<u16> = futures_util::future::join_all(grants).await.iter().map(|a| a.status).collect();
    assert!(statuses.iter().all(|&s| s == 204), "{statuses:?}");
    let held = get(&app, &client_roles, &master).await.json;
    let mut held: Vec<&str> = held.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    held.sort_unstable();
    let mut expected = wanted.to_vec();
    expected.sort_unstable();
    assert_eq!(held, expected);

    let mut ids = Vec::new();
    for i in 0..6 {
        let body = json!({ "name": format!("crowd-scope{i}"), "protocol": "openid-connect" });
        ids.push(create(&app, "/realms/acme/client-scopes", &master, body).await);
    }
    let paths: Vec<String> = ids.iter().map(|id| format!("/realms/acme/default-optional-client-scopes/{id}")).collect();
    let puts = paths.iter().map(|path| call(&app, Method::PUT, path, &master, None));
    let statuses: Vec<u16> = futures_util::future::join_all(puts).await.iter().map(|a| a.status).collect();
    assert!(statuses.iter().all(|&s| s == 204), "{statuses:?}");
    let listed = get(&app, "/realms/acme/default-optional-client-scopes", &master).await.json;
    let listed: Vec<&str> = listed.as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert!(ids.iter().all(|id| listed.contains(&id.as_str())), "{listed:?}");

    let web = client_uuid(&app, "acme", &master, "web").await;
    let paths: Vec<String> =
        ids.iter().map(|id| format!("/realms/acme/clients/{web}/default-client-scopes/{id}")).collect();
    let puts = paths.iter().map(|path| call(&app, Method::PUT, path, &master, None));
    let statuses: Vec<u16> = futures_util::future::join_all(puts).await.iter().map(|a| a.status).collect();
    assert!(statuses.iter().all(|&s| s == 204), "{statuses:?}");
    let listed = get(&app, &format!("/realms/acme/clients/{web}/default-client-scopes"), &master).await.json;
    let listed: Vec<&str> = listed.as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert!(ids.iter().all(|id| listed.contains(&id.as_str())), "{listed:?}");

    // Changes to one user's fields, password and management roles, at once.
    let user = create(&app, "/realms/acme/users", &master, json!({"username": "crowded", "enabled": true})).await;
    let path = format!("/realms/acme/users/{user}");
    let roles_path = format!("/realms/acme/users/{user}/role-mappings/clients/{management}");
    let password_path = format!("{path}/reset-password");
    let bodies = [
        (Method::PUT, path.as_str(), json!({"firstName": "Crow"})),
        (Method::PUT, path.as_str(), json!({"lastName": "Ded"})),
        (Method::PUT, path.as_str(), json!({"email": "crowded@example.com"})),
        (Method::PUT, password_path.as_str(), json!({"type": "password", "value": "crowd-pw", "temporary": false})),
        (Method::POST, roles_path.as_str(), json!([{ "name": "view-users" }])),
        (Method::POST, roles_path.as_str(), json!([{ "name": "view-clients" }])),
    ];
    let changes =
        bodies.iter().map(|(method, path, body)| call(&app, method.clone(), path, &master, Some(body.clone())));
    let statuses: Vec<u16> = futures_util::future::join_all(changes).await.iter().map(|a| a.status).collect();
    assert!(statuses.iter().all(|&s| s == 204), "{statuses:?}");
    let stored = get(&app, &path, &master).await.json;
    assert_eq!(
        (&stored["firstName"], &stored["lastName"], &stored["email"]),
        (&json!("Crow"), &json!("Ded"), &json!("crowded@example.com")),
        "{stored}"
    );
    let held = get(&app, &roles_path, &master).await.json;
    let mut held: Vec<&str> = held.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    held.sort_unstable();
    assert_eq!(held, ["view-clients", "view-users"]);
    let tokens = app.password_grant("acme", ("web", "web-secret"), ("crowded", "crowd-pw"), "openid").await;
    assert_eq!(tokens.status, 200, "the password set at the same time holds: {}", tokens.json);

    // Changes to one client at once: two partial PUTs, a new secret, a scope.
    let client_path = format!("/realms/acme/clients/{web}");
    let secret_path = format!("{client_path}/client-secret");
    let scope_path = format!("{client_path}/optional-client-scopes/{}", ids[0]);
    let uris = ["http://127.0.0.1:9/cb", "http://127.0.0.1:9/other"];
    let answers = futures_util::future::join_all([
        call(&app, Method::PUT, &client_path, &master, Some(json!({"name": "Crowded web"}))),
        call(&app, Method::PUT, &client_path, &master, Some(json!({"redirectUris": uris}))),
        call(&app, Method::POST, &secret_path, &master, None),
        call(&app, Method::PUT, &scope_path, &master, None),
    ])
    .await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [204, 204, 200, 204]);
    let secret = answers[2].json["value"].as_str().expect("the new secret").to_owned();
    let stored = get(&app, &client_path, &master).await.json;
    assert_eq!((&stored["name"], &stored["redirectUris"]), (&json!("Crowded web"), &json!(uris)), "{stored}");
    let optional = get(&app, &format!("{client_path}/optional-client-scopes"), &master).await.json;
    assert!(optional.as_array().unwrap().iter().any(|s| s["id"] == json!(ids[0])), "{optional}");
    let tokens = app.password_grant("acme", ("web", secret.as_str()), ("crowded", "crowd-pw"), "openid").await;
    assert_eq!(tokens.status, 200, "the secret made at the same time holds: {}", tokens.json);

    // Changes to the realm at once: two partial PUTs and a default scope.
    let defaults_path = format!("/realms/acme/default-default-client-scopes/{}", ids[1]);
    let answers = futures_util::future::join_all([
        call(&app, Method::PUT, "/realms/acme", &master, Some(json!({"displayName": "Crowded realm"}))),
        call(&app, Method::PUT, "/realms/acme", &master, Some(json!({"accessTokenLifespan": 1234}))),
        call(&app, Method::PUT, &defaults_path, &master, None),
    ])
    .await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [204, 204, 204]);
    let realm = get(&app, "/realms/acme", &master).await.json;
    assert_eq!((&realm["displayName"], &realm["accessTokenLifespan"]), (&json!("Crowded realm"), &json!(1234)));
    let defaults = get(&app, "/realms/acme/default-default-client-scopes", &master).await.json;
    assert!(defaults.as_array().unwrap().iter().any(|s| s["id"] == json!(ids[1])), "{defaults}");

    // Two partial PUTs of one role, and of one client scope, at once.
    let role_path = "/realms/acme/roles/crowd0";
    let scope_path = format!("/realms/acme/client-scopes/{}", ids[2]);
    let answers = futures_util::future::join_all([
        call(&app, Method::PUT, role_path, &master, Some(json!({"description": "Crowded role"}))),
        call(&app, Method::PUT, role_path, &master, Some(json!({"attributes": {"color": ["blue"]}}))),
        call(&app, Method::PUT, &scope_path, &master, Some(json!({"description": "Crowded scope"}))),
        call(&app, Method::PUT, &scope_path, &master, Some(json!({"attributes": {"gui.order": "3"}}))),
    ])
    .await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [204, 204, 204, 204], "{:?}", answers.iter().map(|a| &a.text).collect::<Vec<_>>());
    let role = get(&app, role_path, &master).await.json;
    assert_eq!((&role["description"], &role["attributes"]["color"]), (&json!("Crowded role"), &json!(["blue"])));
    let scope = get(&app, &scope_path, &master).await.json;
    assert_eq!((&scope["description"], &scope["attributes"]["gui.order"]), (&json!("Crowded scope"), &json!("3")));
}

async fn a_disabled_realm_issues_nothing(app: TestApp) {
    let master = master_token(&app).await;
    let tokens = app.password_grant("acme", ("web", "web-secret"), ("alice", "alice-pw"), "openid").await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    change(&app, Method::PUT, "/realms/acme", &master, Some(r#"{"enabled": false}"#)).await;
    let denied = app.password_grant("acme", ("web", "web-secret"), ("alice", "alice-pw"), "openid").await;
    assert_eq!((denied.status, &denied.json["error"]), (403, &json!("access_denied")), "{}", denied.json);
    assert_eq!(denied.json["error_description"], "Realm not enabled");
    let robot = app.client_credentials("acme", "robot", "robot-secret", None).await;
    assert_eq!(robot.status, 403, "{}", robot.json);
    let userinfo = app
        .http
        .get(app.realm_url("acme", "/protocol/openid-connect/userinfo"))
        .bearer_auth(tokens.str("access_token"))
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), 403, "tokens issued before are not honoured either");
    let page = app.get(&app.realm_url("acme", "/protocol/openid-connect/auth?client_id=web&response_type=code&scope=openid&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb")).await;
    assert_eq!(page.status, 403, "no sign-in page: {}", page.text);
    // Discovery and keys stay published, and the realm can be enabled again.
    assert_eq!(app.get(&app.realm_url("acme", "/.well-known/openid-configuration")).await.status, 200);
    assert_eq!(get(&app, "/realms/acme", &master).await.json["enabled"], false);
    change(&app, Method::PUT, "/realms/acme", &master, Some(r#"{"enabled": true}"#)).await;
    assert_eq!(app.client_credentials("acme", "robot", "robot-secret", None).await.status, 200);
    // master, through which every administrator signs in, cannot be disabled.
    let answer = call(&app, Method::PUT, "/realms/master", &master, Some(json!({"enabled": false}))).await;
    assert_eq!(answer.status, 400, "{}", answer.text);
}

/// The `phone` and `address` scopes bring the claims Keycloak's mappers
/// make of a user's attributes, and only those scopes do.
async fn phone_and_address_claims_come_from_user_attributes(app: TestApp) {
    let master = master_token(&app).await;
    let client = json!({"clientId": "contacts", "secret": "contacts-secret", "directAccessGrantsEnabled": true,
                        "defaultClientScopes": ["profile", "phone", "address"]});
    create(&app, "/realms/acme/clients", &master, client).await;
    let user = json!({
        "username": "carol", "enabled": true, "credentials": [{"value": "carol-pw"}],
        "attributes": {"phoneNumber": ["+49 30 1234567"], "phoneNumberVerified": ["true"],
                       "street": ["Unter den Linden 1"], "locality": ["Berlin"], "postal_code": ["10117"],
                       "country": ["DE"], "shoeSize": ["42"]},
    });
    create(&app, "/realms/acme/users", &master, user).await;
    let client = ("contacts", "contacts-secret");
    let tokens = app.password_grant("acme", client, ("carol", "carol-pw"), "openid phone address").await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    let info = app.userinfo("acme", tokens.str("access_token")).await.json;
    assert_eq!(info["phone_number"], "+49 30 1234567", "{info}");
    assert_eq!(info["phone_number_verified"], true);
    assert_eq!(
        info["address"],
        json!({"street_address": "Unter den Linden 1", "locality": "Berlin", "postal_code": "10117", "country": "DE"})
    );
    assert!(info.get("shoeSize").is_none(), "{info}");
    let (_, id_claims) = jwt_parts(tokens.str("id_token"));
    assert_eq!(id_claims["sub"], info["sub"]);

    // Without the scopes, none of it.
    let plain = app.password_grant("acme", client, ("carol", "carol-pw"), "openid profile").await;
    let info = app.userinfo("acme", plain.str("access_token")).await.json;
    assert!(info.get("phone_number").is_none() && info.get("address").is_none(), "{info}");
    // A user without the attributes gets no empty claims.
    let alice = app.password_grant("acme", client, ("alice", "alice-pw"), "openid phone address").await;
    let info = app.userinfo("acme", alice.str("access_token")).await.json;
    assert!(info.get("phone_number").is_none() && info.get("address").is_none(), "{info}");
}
