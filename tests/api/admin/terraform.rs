//! What Terraform's Keycloak provider sends and reads back: empty strings
//! for "not set", nulls, the lists it reads after every change, and scopes
//! it detaches when a configuration does not name them. A plan after an
//! apply must show no change, and no apply may break sign-in.

use reqwest::Method;
use serde_json::{Value, json};

use super::{
    ADMIN_REALMS, assert_bad_request, call, change, client_uuid, create, get, master_token, not_found_body, user_id,
};
use crate::both_backends;
use crate::helpers::TestApp;

both_backends!(
    realms = ADMIN_REALMS;
    empty_strings_and_nulls_mean_not_set,
    the_lists_read_after_a_change_exist,
    what_was_applied_reads_back_unchanged,
    detaching_every_listed_scope_keeps_openid,
    fields_of_the_wrong_type_are_refused,
    a_plus_lets_the_redirect_uris_serve_after_logout,
    roles_are_renamed_and_their_attributes_replaced,
    keycloaks_relative_redirect_uris_are_kept_but_never_matched,
    realm_management_roles_are_found_by_id,
);

/// Keycloak's role update: the attributes sent replace the role's (so one
/// removed from a Terraform configuration goes), realmgate's `scopes` stay
/// unless sent, and a new name renames the role, keeping its holders.
async fn roles_are_renamed_and_their_attributes_replaced(app: TestApp) {
    let master = master_token(&app).await;
    create(&app, "/realms/acme/client-scopes", &master, json!({"name": "reports", "protocol": "openid-connect"})).await;
    create(&app, "/realms/acme/roles", &master, json!({"name": "editor"})).await;
    let path = "/realms/acme/roles/viewer";
    change(&app, Method::PUT, path, &master, Some(r#"{"attributes": {"scopes": ["reports"]}}"#)).await;
    let scopes = json!(["reports"]);
    assert_eq!(get(&app, path, &master).await.json["attributes"]["scopes"], scopes);
    change(&app, Method::PUT, path, &master, Some(r#"{"attributes": {"color": ["red"], "size": ["s"]}}"#)).await;
    change(&app, Method::PUT, path, &master, Some(r#"{"attributes": {"size": ["m"]}}"#)).await;
    let got = get(&app, path, &master).await.json;
    assert_eq!(got["attributes"], json!({"size": ["m"], "scopes": scopes}), "{got}");

    let id = got["id"].as_str().unwrap().to_owned();
    let renamed = json!({"name": "watcher"}).to_string();
    change(&app, Method::PUT, &format!("/realms/acme/roles-by-id/{id}"), &master, Some(&renamed)).await;
    assert_eq!(get(&app, "/realms/acme/roles/watcher", &master).await.json["id"], id.as_str());
    assert_eq!(call(&app, Method::GET, path, &master, None).await.status, 404);
    let taken = call(&app, Method::PUT, "/realms/acme/roles/watcher", &master, Some(json!({"name": "editor"}))).await;
    assert_eq!(taken.status, 409, "{}", taken.text);
    let admin = call(&app, Method::PUT, "/realms/master/roles/admin", &master, Some(json!({"name": "boss"}))).await;
    assert_bad_request(&admin);
}

async fn empty_strings_and_nulls_mean_not_set(app: TestApp) {
    let master = master_token(&app).await;
    let realm = json!({"realm": "tf", "enabled": true, "defaultSignatureAlgorithm": ""});
    assert_eq!(create(&app, "/realms", &master, realm).await, "tf");
    let got = get(&app, "/realms/tf", &master).await.json;
    assert_eq!(got["defaultSignatureAlgorithm"], "RS256", "{got}");
    change(&app, Method::PUT, "/realms/tf", &master, Some(r#"{"defaultSignatureAlgorithm": "", "displayName": "TF"}"#))
        .await;
    let got = get(&app, "/realms/tf", &master).await.json;
    assert_eq!((got["defaultSignatureAlgorithm"].as_str(), got["displayName"].as_str()), (Some("RS256"), Some("TF")));

    let client = json!({"clientId": "tf-app", "secret": "tf-secret", "webOrigins": null, "baseUrl": null,
                        "attributes": {"oauth2.device.authorization.grant.enabled": "", "pkce.code.challenge.method": ""}});
    let id = create(&app, "/realms/tf/clients", &master, client).await;
    let got = get(&app, &format!("/realms/tf/clients/{id}"), &master).await.json;
    assert!(got.get("webOrigins").is_none() && got.get("baseUrl").is_none(), "nulls are not echoed: {got}");
    assert_eq!(got["attributes"]["oauth2.device.authorization.grant.enabled"], "false", "{got}");
    // A client's name: none until given (not its clientId), and "" clears
    // it (Terraform sends "" for none, and saw the default as a change).
    assert!(got.get("name").is_none(), "{got}");
    let path = format!("/realms/tf/clients/{id}");
    change(&app, Method::PUT, &path, &master, Some(r#"{"name": "TF app"}"#)).await;
    assert_eq!(get(&app, &path, &master).await.json["name"], "TF app");
    change(&app, Method::PUT, &path, &master, Some(r#"{"name": ""}"#)).await;
    let got = get(&app, &path, &master).await.json;
    assert!(got.get("name").is_none(), "{got}");
}

async fn the_lists_read_after_a_change_exist(app: TestApp) {
    let master = master_token(&app).await;
    let alice = user_id(&app, "acme", &master, "alice").await;
    let empty: Value = json!([]);
    assert_eq!(get(&app, &format!("/realms/acme/users/{alice}/federated-identity"), &master).await.json, empty);
    assert_eq!(get(&app, &format!("/realms/acme/users/{alice}/groups"), &master).await.json, empty);
    let credentials = get(&app, &format!("/realms/acme/users/{alice}/credentials"), &master).await.json;
    assert_eq!(credentials.as_array().map(Vec::len), Some(1), "{credentials}");
    assert_eq!(credentials[0]["type"], "password");
    assert!(credentials[0]["id"].is_string(), "{credentials}");
    assert!(!credentials.to_string().contains("argon2"), "never the hash: {credentials}");
    let again = get(&app, &format!("/realms/acme/users/{alice}/credentials"), &master).await.json;
    assert_eq!(again[0]["id"], credentials[0]["id"], "a stable id");

    let nobody = create(&app, "/realms/acme/users", &master, json!({"username": "no-password"})).await;
    assert_eq!(get(&app, &format!("/realms/acme/users/{nobody}/credentials"), &master).await.json, empty);
    let unknown = call(&app, Method::GET, "/realms/acme/users/nope/federated-identity", &master, None).await;
    assert_eq!(unknown.status, 404, "{}", unknown.text);

    let viewer = get(&app, "/realms/acme/roles/viewer", &master).await.json;
    assert_eq!(get(&app, "/realms/acme/roles/viewer/composites", &master).await.json, empty);
    let by_id = format!("/realms/acme/roles-by-id/{}/composites", viewer["id"].as_str().unwrap());
    assert_eq!(get(&app, &by_id, &master).await.json, empty);
    let unknown = call(&app, Method::GET, "/realms/acme/roles-by-id/nope/composites", &master, None).await;
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    // The realm-role part of them (keycloak-admin-client's
    // getCompositeRolesForRealm), and a user's group count: none.
    assert_eq!(get(&app, &format!("{by_id}/realm"), &master).await.json, empty);
    assert_eq!(get(&app, "/realms/acme/roles/viewer/composites/realm", &master).await.json, empty);
    let count = get(&app, &format!("/realms/acme/users/{alice}/groups/count"), &master).await.json;
    assert_eq!(count, json!({"count": 0}));
}

async fn what_was_applied_reads_back_unchanged(app: TestApp) {
    let master = master_token(&app).await;
    // A role without scopes shows no attributes at all, before and after a PUT.
    let role = json!({"name": "tf-role", "description": "d", "attributes": {}});
    create(&app, "/realms/acme/roles", &master, role.clone()).await;
    assert_eq!(get(&app, "/realms/acme/roles/tf-role", &master).await.json["attributes"], json!({}));
    change(&app, Method::PUT, "/realms/acme/roles/tf-role", &master, Some(&role.to_string())).await;
    assert_eq!(get(&app, "/realms/acme/roles/tf-role", &master).await.json["attributes"], json!({}));

    // A scope's consent text sent empty does not come back as its description.
    let scope = json!({"name": "tf-scope", "description": "Something", "protocol": "openid-connect",
                       "attributes": {"consent.screen.text": "", "include.in.token.scope": "true"}});
    let id = create(&app, "/realms/acme/client-scopes", &master, scope.clone()).await;
    let consent_text = |got: &Value| got["attributes"].get("consent.screen.text").cloned().unwrap_or(json!(""));
    let path = format!("/realms/acme/client-scopes/{id}");
    assert_eq!(consent_text(&get(&app, &path, &master).await.json), "");
    change(&app, Method::PUT, &path, &master, Some(&scope.to_string())).await;
    assert_eq!(consent_text(&get(&app, &path, &master).await.json), "");
}

async fn detaching_every_listed_scope_keeps_openid(app: TestApp) {
    let master = master_token(&app).await;
    let web = client_uuid(&app, "acme", &master, "web").await;
    let listed = get(&app, &format!("/realms/acme/clients/{web}/default-client-scopes"), &master).await.json;
    let names: Vec<&str> = listed.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["profile"], "openid is not listed, as in Keycloak");

    // Detach what is listed, and openid by its id too.
    let all = get(&app, "/realms/acme/client-scopes", &master).await.json;
    let id_of = |name: &str| all.as_array().unwrap().iter().find(|s| s["name"] == name).unwrap()["id"].clone();
    for name in ["profile", "openid"] {
        let path = format!("/realms/acme/clients/{web}/default-client-scopes/{}", id_of(name).as_str().unwrap());
        change(&app, Method::DELETE, &path, &master, None).await;
    }
    let listed = get(&app, &format!("/realms/acme/clients/{web}/default-client-scopes"), &master).await.json;
    assert_eq!(listed, json!([]));
    let client = get(&app, &format!("/realms/acme/clients/{web}"), &master).await.json;
    assert_eq!(client["defaultClientScopes"], json!([]), "{client}");

    let tokens = app.alice_tokens("openid").await;
    assert_eq!(tokens.json["scope"], "openid", "{}", tokens.json);
    assert!(tokens.json["id_token"].is_string(), "{}", tokens.json);
    let refused = app.password_grant("acme", ("web", "web-secret"), ("alice", "alice-pw"), "openid profile").await;
    assert_eq!((refused.status, refused.json["error"].as_str()), (400, Some("invalid_scope")), "{}", refused.json);
}

async fn fields_of_the_wrong_type_are_refused(app: TestApp) {
    let master = master_token(&app).await;
    let web = client_uuid(&app, "acme", &master, "web").await;
    let alice = user_id(&app, "acme", &master, "alice").await;
    let wrong = [
        (Method::PUT, "/realms/acme".to_owned(), json!({"displayName": 5})),
        (Method::PUT, format!("/realms/acme/clients/{web}"), json!({"name": 5})),
        (Method::POST, "/realms/acme/clients".to_owned(), json!({"clientId": "typed", "name": ["x"]})),
        (Method::POST, "/realms/acme/roles".to_owned(), json!({"name": "typed", "description": 5})),
        (Method::POST, "/realms/acme/users".to_owned(), json!({"username": "typed", "attributes": "x"})),
        (Method::PUT, format!("/realms/acme/users/{alice}"), json!({"attributes": ["x"]})),
        (Method::POST, "/realms/acme/client-scopes".to_owned(), json!({"name": "typed", "description": true})),
        // Keycloak's fields realmgate keeps as sent: typed as Keycloak types
        // them, or Terraform's structs could no longer read the client.
        (Method::POST, "/realms/acme/clients".to_owned(), json!({"clientId": "typed", "webOrigins": "https://x"})),
        (Method::POST, "/realms/acme/clients".to_owned(), json!({"clientId": "typed", "webOrigins": [1]})),
        (Method::PUT, format!("/realms/acme/clients/{web}"), json!({"fullScopeAllowed": "x"})),
        (Method::PUT, format!("/realms/acme/clients/{web}"), json!({"protocolMappers": "x"})),
        (Method::PUT, format!("/realms/acme/clients/{web}"), json!({"optionalClientScopes": "address"})),
        (Method::PUT, "/realms/acme".to_owned(), json!({"smtpServer": "x"})),
        (Method::PUT, "/realms/acme".to_owned(), json!({"bruteForceProtected": "sometimes"})),
        (Method::PUT, format!("/realms/acme/users/{alice}"), json!({"requiredActions": "UPDATE_PASSWORD"})),
        (Method::PUT, "/realms/acme".to_owned(), json!({"otpPolicyLookAheadWindow": "abc"})),
        (Method::PUT, "/realms/acme".to_owned(), json!({"webAuthnPolicyRpId": 5})),
        (Method::POST, "/realms/acme/client-scopes".to_owned(), json!({"name": "typed", "protocolMappers": "x"})),
    ];
    let realm_before = get(&app, "/realms/acme", &master).await.json;
    let client_before = get(&app, &format!("/realms/acme/clients/{web}"), &master).await.json;
    for (method, path, body) in wrong {
        let answer = call(&app, method.clone(), &path, &master, Some(body.clone())).await;
        assert_bad_request(&answer);
        assert!(answer.text.contains("must be"), "{method} {path} {body}: {}", answer.text);
    }
    // A redirect URI with a line break (which the URL parser would drop) is refused.
    let split = json!({"clientId": "typed", "redirectUris": ["http://127.0.0.1:9/cb\r\nSet-Cookie: x=1"]});
    assert_bad_request(&call(&app, Method::POST, "/realms/acme/clients", &master, Some(split)).await);
    assert_eq!(get(&app, "/realms/acme", &master).await.json, realm_before);
    assert_eq!(get(&app, &format!("/realms/acme/clients/{web}"), &master).await.json, client_before);
    let checked = create(&app, "/realms/acme/client-scopes", &master, json!({"name": "checked"})).await;
    let scope_path = format!("/realms/acme/client-scopes/{checked}");
    let scope_before = get(&app, &scope_path, &master).await.json;
    assert_bad_request(&call(&app, Method::PUT, &scope_path, &master, Some(json!({"protocolMappers": "oops"}))).await);
    assert_eq!(get(&app, &scope_path, &master).await.json, scope_before);
    // A number sent as text reads back as the number Keycloak's field holds.
    change(&app, Method::PUT, "/realms/acme", &master, Some(r#"{"clientOfflineSessionIdleTimeout": "3600"}"#)).await;
    assert_eq!(get(&app, "/realms/acme", &master).await.json["clientOfflineSessionIdleTimeout"], 3600);
    for (list, key) in [("clients", "clientId"), ("roles", "name"), ("users", "username"), ("client-scopes", "name")] {
        let all = get(&app, &format!("/realms/acme/{list}"), &master).await.json;
        assert!(!all.as_array().unwrap().iter().any(|x| x[key] == "typed"), "{list}: nothing created");
    }
}

/// Keycloak's `+` in `post.logout.redirect.uris`: the redirect URIs serve as
/// post-logout URIs too. It reads back as written.
async fn a_plus_lets_the_redirect_uris_serve_after_logout(app: TestApp) {
    let master = master_token(&app).await;
    let client = json!({"clientId": "plus", "secret": "plus-secret", "redirectUris": ["http://127.0.0.1:9/plus"],
                        "attributes": {"post.logout.redirect.uris": "+"}});
    let id = create(&app, "/realms/acme/clients", &master, client).await;
    let got = get(&app, &format!("/realms/acme/clients/{id}"), &master).await.json;
    assert_eq!(got["attributes"]["post.logout.redirect.uris"], "+", "{got}");
    let logout = |uri: &str| {
        let query = serde_urlencoded::to_string([("client_id", "plus"), ("post_logout_redirect_uri", uri)]).unwrap();
        app.realm_url("acme", &format!("/protocol/openid-connect/logout?{query}"))
    };
    // A confirmation page for a registered URI, the error page otherwise.
    assert_eq!(app.get(&logout("http://127.0.0.1:9/plus")).await.status, 200);
    assert_eq!(app.get(&logout("http://127.0.0.1:9/other")).await.status, 400);
}

/// Keycloak's relative redirect URIs (`/*` against the root URL, `*`) are
/// taken and read back as written (exports and Terraform use them; they
/// were 400), but never matched: only absolute URIs are redirected to.
async fn keycloaks_relative_redirect_uris_are_kept_but_never_matched(app: TestApp) {
    let master = master_token(&app).await;
    let uris = json!(["/*", "*", "http://127.0.0.1:9/rel"]);
    let client = json!({"clientId": "rel", "secret": "rel-secret", "rootUrl": "http://127.0.0.1:9",
                        "redirectUris": uris, "attributes": {"post.logout.redirect.uris": "/bye##+"}});
    let id = create(&app, "/realms/acme/clients", &master, client).await;
    let got = get(&app, &format!("/realms/acme/clients/{id}"), &master).await.json;
    assert_eq!(got["redirectUris"], uris, "{got}");
    assert_eq!(got["attributes"]["post.logout.redirect.uris"], "/bye##+", "{got}");
    let authorize = |uri: &str| {
        let query = serde_urlencoded::to_string([
            ("client_id", "rel"),
            ("redirect_uri", uri),
            ("response_type", "code"),
            ("scope", "openid"),
        ])
        .unwrap();
        app.realm_url("acme", &format!("/protocol/openid-connect/auth?{query}"))
    };
    for uri in ["*", "/*"] {
        assert_eq!(app.get(&authorize(uri)).await.status, 400, "{uri} is no redirect URI");
    }
    assert_eq!(app.get(&authorize("http://127.0.0.1:9/rel")).await.status, 200, "the login page");
    // They still count as registered: a plain OAuth request may not leave
    // its redirect_uri out (one absolute URI alone would stand in for it).
    let query = "client_id=rel&response_type=code&scope=profile";
    let omitted = app.get(&app.realm_url("acme", &format!("/protocol/openid-connect/auth?{query}"))).await;
    assert_eq!(omitted.status, 400, "{}", omitted.text);
    let logout = "/protocol/openid-connect/logout?client_id=rel&post_logout_redirect_uri=%2Fbye";
    assert_eq!(app.get(&app.realm_url("acme", logout)).await.status, 400, "a relative post-logout URI is none");
    let bad = json!({"redirectUris": ["//evil.example/cb"]});
    let refused = call(&app, Method::PUT, &format!("/realms/acme/clients/{id}"), &master, Some(bad)).await;
    assert_eq!(refused.status, 400, "{}", refused.text);
}

/// Terraform's `keycloak_user_roles` looks every role up by id to tell realm
/// roles from client roles, and so does keycloak-admin-client's
/// `roles.findOneById`: the `realm-management` roles are found there too.
async fn realm_management_roles_are_found_by_id(app: TestApp) {
    let master = master_token(&app).await;
    let rm = client_uuid(&app, "acme", &master, "realm-management").await;
    let view_users = get(&app, &format!("/realms/acme/clients/{rm}/roles/view-users"), &master).await.json;
    let id = view_users["id"].as_str().unwrap().to_owned();
    let by_id = get(&app, &format!("/realms/acme/roles-by-id/{id}"), &master).await.json;
    assert_eq!(by_id, view_users);
    assert_eq!((by_id["clientRole"].as_bool(), by_id["containerId"].as_str()), (Some(true), Some(rm.as_str())));
    // Composites: view-users includes query-users; none of them is a realm role.
    let composites = get(&app, &format!("/realms/acme/roles-by-id/{id}/composites"), &master).await.json;
    let names: Vec<&str> = composites.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["query-users"]);
    let by_name = get(&app, &format!("/realms/acme/clients/{rm}/roles/view-users/composites"), &master).await.json;
    assert_eq!(by_name, composites);
    let realm_part = get(&app, &format!("/realms/acme/roles-by-id/{id}/composites/realm"), &master).await.json;
    assert_eq!(realm_part, json!([]));
    // They are fixed.
    for method in [Method::PUT, Method::DELETE] {
        let answer =
            call(&app, method, &format!("/realms/acme/roles-by-id/{id}"), &master, Some(json!({"description": "x"})))
                .await;
        assert_bad_request(&answer);
    }
    assert_eq!(get(&app, &format!("/realms/acme/roles-by-id/{id}"), &master).await.json, view_users);
    // Another realm's id for the same role is not this realm's.
    let other_rm = client_uuid(&app, "other", &master, "realm-management").await;
    let other = get(&app, &format!("/realms/other/clients/{other_rm}/roles/view-users"), &master).await.json;
    let foreign =
        call(&app, Method::GET, &format!("/realms/acme/roles-by-id/{}", other["id"].as_str().unwrap()), &master, None)
            .await;
    assert_eq!(foreign.status, 404, "{}", foreign.text);

    // Who holds one directly (vera has view-users; rita's realm-admin includes it but is another mapping).
    let holders = get(&app, &format!("/realms/acme/clients/{rm}/roles/view-users/users"), &master).await.json;
    let names: Vec<&str> = holders.as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap()).collect();
    assert_eq!(names, ["vera"]);
    let admins = get(&app, &format!("/realms/acme/clients/{rm}/roles/realm-admin/users"), &master).await.json;
    assert_eq!(admins.as_array().unwrap().len(), 1, "{admins}");
    let web = client_uuid(&app, "acme", &master, "web").await;
    for path in [
        format!("/realms/acme/clients/{rm}/roles/no-such-role/users"),
        format!("/realms/acme/clients/{web}/roles/view-users/users"),
        format!("/realms/acme/clients/{web}/roles/view-users/composites"),
    ] {
        let answer = call(&app, Method::GET, &path, &master, None).await;
        assert!(answer.status == 404 && not_found_body(&answer), "{path}: {} {}", answer.status, answer.text);
    }

    // Mappings of a client without roles: granting or taking none is done, any role is unknown.
    let alice = user_id(&app, "acme", &master, "alice").await;
    let web_mappings = format!("/realms/acme/users/{alice}/role-mappings/clients/{web}");
    for method in [Method::POST, Method::DELETE] {
        for body in [None, Some(json!([])), Some(json!({}))] {
            let answer = call(&app, method.clone(), &web_mappings, &master, body.clone()).await;
            assert_eq!(answer.status, 204, "{method} {body:?}: {}", answer.text);
        }
        let role = json!([{"name": "view-users"}]);
        assert_eq!(call(&app, method.clone(), &web_mappings, &master, Some(role)).await.status, 404);
    }
    // `{}` is no body for realm-management's mappings too (SPEC §6): granting nothing.
    let rm_mappings = format!("/realms/acme/users/{alice}/role-mappings/clients/{rm}");
    assert_eq!(call(&app, Method::POST, &rm_mappings, &master, Some(json!({}))).await.status, 204);
    assert_eq!(get(&app, &rm_mappings, &master).await.json, json!([]));
    // A DELETE with `{}` takes nothing away (only no body means "all").
    let grant = json!([{"name": "view-users"}]);
    assert_eq!(call(&app, Method::POST, &rm_mappings, &master, Some(grant)).await.status, 204);
    assert_eq!(call(&app, Method::DELETE, &rm_mappings, &master, Some(json!({}))).await.status, 204);
    assert_eq!(get(&app, &rm_mappings, &master).await.json.as_array().map(Vec::len), Some(1));
}
