//! Who may call the admin API: the master administrator everywhere, a
//! realm's administrators and service accounts there only, with their roles.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use super::{
    ADMIN_REALMS, admin_cli_token, assert_forbidden, call, change, client_uuid, create, get, master_token, user_id,
    usernames,
};
use crate::both_backends;
use crate::browser::{Browser, auth_url};
use crate::helpers::{TestApp, jwt_parts};

both_backends!(
    realms = ADMIN_REALMS;
    admin_calls_need_a_valid_token,
    a_realm_admin_manages_only_its_own_realm,
    personal_tokens_and_basic_act_with_their_users_rights,
    view_users_may_read_users_but_not_change_them,
    a_users_token_from_another_client_carries_their_management_roles,
    a_service_account_acts_with_the_roles_granted_to_it,
    a_service_account_belongs_to_its_client_not_to_a_name,
    a_service_account_asked_for_at_once_is_created_once,
    composite_management_roles_are_expanded,
    managing_users_grants_no_more_rights_than_one_holds,
    an_applications_token_is_no_admin_token,
    client_scopes_belong_to_the_client_managers,
    a_master_service_account_holding_admin_administers,
);

/// Terraform's recommended set-up: a master client whose service account
/// holds master's `admin` role administers every realm with its
/// client_credentials tokens, while it holds the role.
async fn a_master_service_account_holding_admin_administers(app: TestApp) {
    let master = master_token(&app).await;
    let client = json!({"clientId": "terraform", "secret": "tf-secret", "serviceAccountsEnabled": true});
    let id = create(&app, "/realms/master/clients", &master, client).await;
    let account = get(&app, &format!("/realms/master/clients/{id}/service-account-user"), &master).await;
    let account_id = account.json["id"].as_str().unwrap().to_owned();
    let cc = || app.client_credentials("master", "terraform", "tf-secret", None);
    let before = cc().await;
    assert_forbidden(&call(&app, Method::GET, "/realms/acme/users", before.str("access_token"), None).await);

    let admin_role = get(&app, "/realms/master/roles/admin", &master).await.json;
    let mappings = format!("/realms/master/users/{account_id}/role-mappings/realm");
    let grant = json!([admin_role]).to_string();
    change(&app, Method::POST, &mappings, &master, Some(&grant)).await;
    let token = cc().await.str("access_token").to_owned();
    assert_eq!(get(&app, "/realms/acme/users", &token).await.status, 200);
    assert_eq!(create(&app, "/realms", &token, json!({"realm": "by-terraform"})).await, "by-terraform");

    // Its secret is now an administrator's key: a client manager of master
    // who is no administrator can neither read nor set nor renew it.
    let body = json!({"username": "clerk", "enabled": true, "credentials": [{"value": "clerk-pw"}]});
    let clerk = create(&app, "/realms/master/users", &master, body).await;
    let management = client_uuid(&app, "master", &master, "realm-management").await;
    let roles = get(&app, &format!("/realms/master/clients/{management}/roles"), &master).await.json;
    let manage_clients = roles.as_array().unwrap().iter().find(|r| r["name"] == "manage-clients").unwrap().clone();
    let mappings_of_clerk = format!("/realms/master/users/{clerk}/role-mappings/clients/{management}");
    change(&app, Method::POST, &mappings_of_clerk, &master, Some(&json!([manage_clients]).to_string())).await;
    let clerk_token = admin_cli_token(&app, "master", ("clerk", "clerk-pw")).await;
    let secret_path = format!("/realms/master/clients/{id}/client-secret");
    assert_forbidden(&call(&app, Method::GET, &secret_path, &clerk_token, None).await);
    assert_forbidden(&call(&app, Method::POST, &secret_path, &clerk_token, None).await);
    let client_path = format!("/realms/master/clients/{id}");
    assert_forbidden(&call(&app, Method::PUT, &client_path, &clerk_token, Some(json!({"secret": "known"}))).await);
    let seen = get(&app, &client_path, &clerk_token).await.json;
    assert!(seen.get("secret").is_none(), "{seen}");
    assert_eq!(get(&app, &secret_path, &master).await.json["value"], "tf-secret", "the administrator still can");

    change(&app, Method::DELETE, &mappings, &master, Some(&grant)).await;
    assert_forbidden(&call(&app, Method::GET, "/realms/acme/users", &token, None).await);
}

/// Keycloak's rights over client scopes: the client roles manage them
/// (`manage-clients`), not `manage-realm`; and a caller who may see no realm
/// is refused the realm list.
async fn client_scopes_belong_to_the_client_managers(app: TestApp) {
    let master = master_token(&app).await;
    let vera = user_id(&app, "acme", &master, "vera").await;
    let scope = json!({"name": "by-vera", "protocol": "openid-connect"});
    grant_management_role(&app, &master, &vera, "manage-realm").await;
    let token = admin_cli_token(&app, "acme", ("vera", "vera-pw")).await;
    assert_forbidden(&call(&app, Method::POST, "/realms/acme/client-scopes", &token, Some(scope.clone())).await);
    grant_management_role(&app, &master, &vera, "manage-clients").await;
    let token = admin_cli_token(&app, "acme", ("vera", "vera-pw")).await;
    let created = call(&app, Method::POST, "/realms/acme/client-scopes", &token, Some(scope)).await;
    assert_eq!(created.status, 201, "{}", created.text);

    let alice = admin_cli_token(&app, "acme", ("alice", "alice-pw")).await;
    assert_forbidden(&call(&app, Method::GET, "/realms", &alice, None).await);
    let listed = get(&app, "/realms", &token).await.json;
    assert_eq!(listed.as_array().unwrap().len(), 1, "vera's own realm: {listed}");
}

/// A master administrator who signs in to a third-party application of
/// master (one that asks consent) gives it a token naming them: the admin
/// API does not take it.
async fn an_applications_token_is_no_admin_token(app: TestApp) {
    let master = master_token(&app).await;
    let client = json!({"clientId": "third-party", "secret": "tp-secret", "consentRequired": true,
                        "redirectUris": ["http://127.0.0.1:9/cb"], "standardFlowEnabled": true});
    create(&app, "/realms/master/clients", &master, client).await;
    let browser = Browser::new();
    let params = [
        ("client_id", "third-party"),
        ("response_type", "code"),
        ("redirect_uri", "http://127.0.0.1:9/cb"),
        ("scope", "openid"),
        ("state", "s"),
        ("nonce", "n"),
    ];
    let login = browser.get(&auth_url(&app, "master", &params)).await;
    let consent = browser.login(&login, "admin", "admin-pw").await;
    let back = browser.decide(&consent, "allow").await;
    let code = back.redirect_params()["code"].clone();
    let form =
        [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", "http://127.0.0.1:9/cb")];
    let tokens = app.token("master", Some(("third-party", "tp-secret")), &form).await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    let token = tokens.str("access_token");
    assert_forbidden(&call(&app, Method::GET, "/realms/acme/users", token, None).await);
    assert_forbidden(&call(&app, Method::GET, "/realms/master/clients", token, None).await);
}

async fn admin_calls_need_a_valid_token(app: TestApp) {
    let none = app.admin(Method::GET, "/realms", None, None).await;
    assert_eq!(none.status, 401, "{}", none.text);
    assert_eq!(none.header("www-authenticate"), Some(r#"Bearer error="invalid_token""#), "{:?}", none.headers);
    assert_eq!(app.admin(Method::GET, "/serverinfo", None, None).await.status, 401);
    for garbage in ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0."] {
        let answer = app.admin(Method::GET, "/realms/acme/users", Some(garbage), None).await;
        assert_eq!(answer.status, 401, "{garbage}: {}", answer.text);
        assert_eq!(answer.header("www-authenticate"), Some(r#"Bearer error="invalid_token""#));
    }
    // A refresh token is not an access token.
    let tokens = app.password_grant("acme", ("web", "web-secret"), ("alice", "alice-pw"), "openid").await;
    let refresh = app.admin(Method::GET, "/realms/acme/users", Some(tokens.str("refresh_token")), None).await;
    assert_eq!(refresh.status, 401, "{}", refresh.text);

    // A user without administration roles, through admin-cli or another client.
    let alice = admin_cli_token(&app, "acme", ("alice", "alice-pw")).await;
    assert_forbidden(&call(&app, Method::GET, "/realms/acme/users", &alice, None).await);
    assert_forbidden(&call(&app, Method::GET, "/realms/acme/users", tokens.str("access_token"), None).await);
    // Nor does a master user without the admin role get anywhere.
    let master = master_token(&app).await;
    let realm_url = "/realms/master/users";
    create(
        &app,
        realm_url,
        &master,
        json!({"username": "nobody", "enabled": true, "credentials": [{"value": "nobody-pw"}]}),
    )
    .await;
    let nobody = admin_cli_token(&app, "master", ("nobody", "nobody-pw")).await;
    assert_forbidden(&call(&app, Method::GET, "/realms/acme", &nobody, None).await);
    assert_forbidden(&call(&app, Method::POST, "/realms", &nobody, Some(json!({"realm": "x"}))).await);

    let info = get(&app, "/serverinfo", &master).await;
    assert!(info.json["systemInfo"]["version"].is_string(), "{}", info.text);
    // As in Keycloak, server information is for administrators of some realm.
    assert_forbidden(&call(&app, Method::GET, "/serverinfo", &nobody, None).await);
    assert_forbidden(&call(&app, Method::GET, "/serverinfo", &alice, None).await);
    assert_forbidden(&call(&app, Method::GET, "/serverinfo", tokens.str("access_token"), None).await);
    let vera = admin_cli_token(&app, "acme", ("vera", "vera-pw")).await;
    assert_eq!(get(&app, "/serverinfo", &vera).await.json["systemInfo"]["version"], "26.0.0");

    // The token as X-Auth-Token; in the query string only where its realm allows it; once.
    let users = format!("{}/admin/realms/acme/users", app.base);
    let status = |request: reqwest::RequestBuilder| async move { request.send().await.unwrap().status().as_u16() };
    assert_eq!(status(app.http.get(&users).header("X-Auth-Token", &master)).await, 200);
    let in_query = format!("{users}?access_token={master}");
    assert_eq!(status(app.http.get(&in_query)).await, 401, "master does not accept query tokens");
    let twice = app.http.get(&users).bearer_auth(&master).header("X-Auth-Token", &master);
    assert_eq!(status(twice).await, 400);
    // As the `access_token` field of a form body (RFC 6750 §2.2), for an action.
    let alice = crate::admin::user_id(&app, "acme", &master, "alice").await;
    let logout = format!("{}/admin/realms/acme/users/{alice}/logout", app.base);
    assert_eq!(status(app.http.post(&logout).form(&[("access_token", master.as_str())])).await, 204);
    assert_eq!(status(app.http.post(&logout).form(&[("access_token", "nonsense")])).await, 401);
    let both = app.http.post(&logout).bearer_auth(&master).form(&[("access_token", master.as_str())]);
    assert_eq!(status(both).await, 400, "once");
    // A representation sent as a form (curl's `-d` without a header) is
    // refused, not read as an empty body and answered 204 with nothing done.
    let user = format!("{}/admin/realms/acme/users/{alice}", app.base);
    let before = get(&app, &format!("/realms/acme/users/{alice}"), &master).await.json;
    let as_form = app
        .http
        .put(&user)
        .bearer_auth(&master)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(r#"{"firstName":"Robert","enabled":false}"#);
    let refused = as_form.send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 415);
    assert!(refused.text().await.unwrap().contains("application/json"));
    assert_eq!(get(&app, &format!("/realms/acme/users/{alice}"), &master).await.json, before);
    // So is one of another type, or of none: what another site's page may
    // send without a preflight (as Keycloak's `@Consumes` refuses them).
    let users_url = format!("{}/admin/realms/acme/users", app.base);
    for kind in ["text/plain", "text/plain;charset=UTF-8", "multipart/form-data; boundary=x"] {
        let sent = app.http.post(&users_url).bearer_auth(&master).header("Content-Type", kind);
        let refused = sent.body(r#"{"username":"csrf-made"}"#).send().await.unwrap();
        assert_eq!(refused.status().as_u16(), 415, "{kind}");
    }
    let made = get(&app, "/realms/acme/users?username=csrf-made&exact=true", &master).await;
    assert_eq!(made.json, serde_json::json!([]), "nothing was created");
    let untyped = app.http.post(&users_url).bearer_auth(&master).body(r#"{"username":"untyped"}"#);
    assert_eq!(status(untyped).await, 415);
    let typed =
        app.http.post(&users_url).bearer_auth(&master).header("Content-Type", "application/json; charset=utf-8");
    assert_eq!(status(typed.body(r#"{"username":"typed"}"#)).await, 201);
    let allow = r#"{"attributes": {"realmgate.queryTokens": "true"}}"#;
    change(&app, Method::PUT, "/realms/master", &master, Some(allow)).await;
    assert_eq!(status(app.http.get(&in_query)).await, 200);
    assert_eq!(status(app.http.get(format!("{users}?bearer_token={master}"))).await, 200);

    // The role that makes a master administrator cannot be deleted, by name or by id.
    let admin_role = get(&app, "/realms/master/roles/admin", &master).await.json;
    let id = admin_role["id"].as_str().unwrap().to_owned();
    for path in ["/realms/master/roles/admin".to_owned(), format!("/realms/master/roles-by-id/{id}")] {
        let answer = call(&app, Method::DELETE, &path, &master, None).await;
        assert_eq!(answer.status, 400, "{path}: {}", answer.text);
        assert!(answer.text.contains("cannot be deleted"), "{}", answer.text);
    }
    assert_eq!(get(&app, "/realms/master/roles/admin", &master).await.json["id"], id.as_str());
    // A master administrator still signs in and administers.
    get(&app, "/realms/master/users", &master_token(&app).await).await;
}

async fn a_realm_admin_manages_only_its_own_realm(app: TestApp) {
    let rita = admin_cli_token(&app, "acme", ("rita", "rita-pw")).await;
    assert_eq!(get(&app, "/realms/acme", &rita).await.json["realm"], "acme");
    change(&app, Method::PUT, "/realms/acme", &rita, Some(r#"{"displayName": "Acme by Rita"}"#)).await;
    assert_eq!(get(&app, "/realms/acme", &rita).await.json["displayName"], "Acme by Rita");
    create(&app, "/realms/acme/users", &rita, json!({"username": "made-by-rita", "enabled": true})).await;
    create(&app, "/realms/acme/clients", &rita, json!({"clientId": "made-by-rita"})).await;
    let listed = get(&app, "/realms", &rita).await;
    let names: Vec<&str> = listed.json.as_array().unwrap().iter().map(|r| r["realm"].as_str().unwrap()).collect();
    assert_eq!(names, ["acme"], "a realm admin sees its realm only");

    for (method, path) in [
        (Method::GET, "/realms/other"),
        (Method::GET, "/realms/other/users"),
        (Method::POST, "/realms/other/users"),
        (Method::PUT, "/realms/other"),
        (Method::GET, "/realms/master/users"),
        (Method::GET, "/realms/other/clients"),
        (Method::DELETE, "/realms/other"),
    ] {
        let answer = call(&app, method.clone(), path, &rita, Some(json!({"username": "intruder"}))).await;
        assert_eq!(answer.status, 403, "{method} {path}: {}", answer.text);
        assert_forbidden(&answer);
    }
    assert_forbidden(&call(&app, Method::POST, "/realms", &rita, Some(json!({"realm": "by-rita"}))).await);

    // The same the other way round.
    let olga = admin_cli_token(&app, "other", ("olga", "olga-pw")).await;
    assert_forbidden(&call(&app, Method::GET, "/realms/acme/users", &olga, None).await);
    assert_eq!(get(&app, "/realms/other/users", &olga).await.json.as_array().unwrap().len(), 1);
    let master = master_token(&app).await;
    assert!(get(&app, "/realms/other/users", &master).await.json.as_array().is_some_and(|u| u.len() == 1));
}

async fn view_users_may_read_users_but_not_change_them(app: TestApp) {
    let vera = admin_cli_token(&app, "acme", ("vera", "vera-pw")).await;
    let listed = get(&app, "/realms/acme/users", &vera).await;
    assert_eq!(usernames(&listed.json), ["alice", "rita", "vera"]);
    assert_eq!(get(&app, "/realms/acme/users/count", &vera).await.json, json!(3));
    let alice = user_id(&app, "acme", &vera, "alice").await;
    let shown = get(&app, &format!("/realms/acme/users/{alice}"), &vera).await.json;
    assert_eq!(shown["firstName"], "Alice");
    // `access` tells an admin UI what this caller may do with the user.
    assert_eq!(shown["access"]["view"], true);
    assert_eq!(shown["access"]["manage"], false, "{shown}");
    assert_eq!(listed.json[0]["access"]["manage"], false);
    let rita = admin_cli_token(&app, "acme", ("rita", "rita-pw")).await;
    assert_eq!(get(&app, &format!("/realms/acme/users/{alice}"), &rita).await.json["access"]["manage"], true);
    // The realm itself only by name, as Keycloak shows it without view-realm.
    let realm = get(&app, "/realms/acme", &vera).await.json;
    let mut fields: Vec<&str> = realm.as_object().unwrap().keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["displayName", "id", "realm"], "{realm}");
    assert_eq!(get(&app, "/realms", &vera).await.json, json!([realm]));
    assert!(get(&app, "/realms/acme", &rita).await.json.get("accessTokenLifespan").is_some(), "realm-admin sees all");

    let user = format!("/realms/acme/users/{alice}");
    for (method, path) in [
        (Method::POST, "/realms/acme/users"),
        (Method::PUT, user.as_str()),
        (Method::DELETE, user.as_str()),
        (Method::GET, "/realms/acme/clients"),
        (Method::PUT, "/realms/acme"),
        (Method::POST, "/realms/acme/roles"),
    ] {
        let answer = call(&app, method.clone(), path, &vera, Some(json!({"username": "x", "firstName": "X"}))).await;
        assert_eq!(answer.status, 403, "{method} {path}: {}", answer.text);
        assert_forbidden(&answer);
    }
    let master = master_token(&app).await;
    assert_eq!(get(&app, &user, &master).await.json["firstName"], "Alice", "nothing changed");
    assert_eq!(get(&app, "/realms/acme/users/count", &master).await.json, json!(3));

    // `query-users` alone may search, but, as in Keycloak without per-group
    // permissions, finds no user it may not view: none (it listed every
    // user in full, attributes and all, beside a 403 for each by id).
    let alice_id = user_id(&app, "acme", &master, "alice").await;
    grant_management_role(&app, &master, &alice_id, "query-users").await;
    let querier = admin_cli_token(&app, "acme", ("alice", "alice-pw")).await;
    for path in ["/realms/acme/users?username=rita", "/realms/acme/users", "/realms/acme/roles/viewer/users"] {
        assert_eq!(get(&app, path, &querier).await.json, json!([]), "{path}");
    }
    assert_eq!(get(&app, "/realms/acme/users/count", &querier).await.json, json!(0));
    let rita = user_id(&app, "acme", &master, "rita").await;
    assert_forbidden(&call(&app, Method::GET, &format!("/realms/acme/users/{rita}"), &querier, None).await);
    // vera (`view-users`) finds rita, and `access` says she may not manage her.
    let found = get(&app, "/realms/acme/users?username=rita", &vera).await;
    assert_eq!(found.json[0]["access"]["view"], true, "{}", found.json);
    assert_eq!(found.json[0]["access"]["manage"], false);
}

/// As in Keycloak, a user's access token names their realm-management
/// roles in `resource_access`, whichever client it was issued to; through a
/// client other than admin-cli the admin API goes by what the token says.
async fn a_users_token_from_another_client_carries_their_management_roles(app: TestApp) {
    let web = ("web", "web-secret");
    let tokens = app.password_grant("acme", web, ("vera", "vera-pw"), "openid").await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    let (_, claims) = jwt_parts(tokens.str("access_token"));
    assert_eq!(claims["resource_access"], json!({"realm-management": {"roles": ["view-users"]}}), "{claims}");
    let vera = tokens.str("access_token");
    assert_eq!(call(&app, Method::GET, "/realms/acme/users", vera, None).await.status, 200);
    assert_forbidden(&call(&app, Method::POST, "/realms/acme/users", vera, Some(json!({"username": "x"}))).await);
    assert_forbidden(&call(&app, Method::GET, "/realms/other/users", vera, None).await);
    // Refreshed, the token carries the roles as they are now.
    let master = master_token(&app).await;
    let vera_id = user_id(&app, "acme", &master, "vera").await;
    grant_management_role(&app, &master, &vera_id, "view-clients").await;
    let refreshed = app.refresh("acme", web, tokens.str("refresh_token")).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.json);
    let (_, claims) = jwt_parts(refreshed.str("access_token"));
    assert_eq!(claims["resource_access"]["realm-management"]["roles"], json!(["view-clients", "view-users"]));
    assert_eq!(call(&app, Method::GET, "/realms/acme/clients", refreshed.str("access_token"), None).await.status, 200);
    // A user without such roles carries none.
    let alice = app.password_grant("acme", web, ("alice", "alice-pw"), "openid").await;
    let (_, claims) = jwt_parts(alice.str("access_token"));
    assert!(claims.get("resource_access").is_none(), "{claims}");
    // Nor does a third-party application's token (one that asks consent):
    // it is no admin credential.
    let third = json!({"clientId": "third-party", "secret": "tp-secret", "consentRequired": true,
                       "directAccessGrantsEnabled": true});
    create(&app, "/realms/acme/clients", &master, third).await;
    let theirs = app.password_grant("acme", ("third-party", "tp-secret"), ("vera", "vera-pw"), "openid").await;
    assert_eq!(theirs.status, 200, "{}", theirs.json);
    let (_, claims) = jwt_parts(theirs.str("access_token"));
    assert!(claims.get("resource_access").is_none(), "{claims}");
    assert_forbidden(&call(&app, Method::GET, "/realms/acme/users", theirs.str("access_token"), None).await);
}

async fn a_service_account_acts_with_the_roles_granted_to_it(app: TestApp) {
    let robot = app.client_credentials("acme", "robot", "robot-secret", None).await;
    assert_eq!(robot.status, 200, "{}", robot.json);
    let before = robot.str("access_token").to_owned();
    assert_forbidden(&call(&app, Method::GET, "/realms/acme/users", &before, None).await);
    assert_forbidden(&call(&app, Method::POST, "/realms/acme/users", &before, Some(json!({"username": "x"}))).await);

    // The master administrator grants the service account `manage-users`.
    let master = master_token(&app).await;
    let management = client_uuid(&app, "acme", &master, "realm-management").await;
    let roles = get(&app, &format!("/realms/acme/clients/{management}/roles"), &master).await;
    let searched = get(&app, &format!("/realms/acme/clients/{management}/roles?search=users"), &master).await.json;
    let names: Vec<&str> = searched.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["manage-users", "view-users", "query-users"], "search filters by name");
    let role = roles.json.as_array().unwrap().iter().find(|r| r["name"] == "manage-users").expect("manage-users");
    assert_eq!(role["clientRole"], true);
    let robot_id = client_uuid(&app, "acme", &master, "robot").await;
    let account = get(&app, &format!("/realms/acme/clients/{robot_id}/service-account-user"), &master).await;
    assert_eq!(account.json["username"], "service-account-robot");
    let account_id = account.json["id"].as_str().unwrap();
    let mappings = format!("/realms/acme/users/{account_id}/role-mappings/clients/{management}");
    let grant = json!([{ "id": role["id"], "name": "manage-users" }]).to_string();
    change(&app, Method::POST, &mappings, &master, Some(&grant)).await;
    let held = get(&app, &mappings, &master).await;
    assert_eq!(held.json.as_array().unwrap().iter().map(|r| &r["name"]).collect::<Vec<_>>(), ["manage-users"]);
    // A password set on the account signs no one in as it (Keycloak): a
    // user manager cannot borrow the roles it is given.
    let reset = format!("/realms/acme/users/{account_id}/reset-password");
    change(&app, Method::PUT, &reset, &master, Some(r#"{"value": "planted-pw", "temporary": false}"#)).await;
    let planted = app.password_grant("acme", ("web", "web-secret"), ("service-account-robot", "planted-pw"), "").await;
    planted.assert_error(400, "invalid_grant");

    // A token issued before the grant stays without it; a new one has it.
    assert_forbidden(&call(&app, Method::GET, "/realms/acme/users", &before, None).await);
    let start = Instant::now();
    let mut n = 0;
    let created = loop {
        let token = app.client_credentials("acme", "robot", "robot-secret", None).await;
        let user = json!({ "username": format!("robot-made-{n}"), "enabled": true });
        let answer = call(&app, Method::POST, "/realms/acme/users", token.str("access_token"), Some(user)).await;
        if answer.status == 201 {
            let (_, claims) = jwt_parts(token.str("access_token"));
            assert_eq!(claims["resource_access"]["realm-management"]["roles"], json!(["manage-users"]));
            break start.elapsed();
        }
        assert_forbidden(&answer);
        assert!(start.elapsed() < Duration::from_secs(3), "the service account never got manage-users");
        n += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(created < Duration::from_millis(1500), "took {created:?}");
    // Still nothing beyond what was granted, and nothing outside its realm.
    let token = app.client_credentials("acme", "robot", "robot-secret", None).await;
    let after = token.str("access_token");
    assert_forbidden(&call(&app, Method::GET, "/realms/acme/clients", after, None).await);
    assert_forbidden(&call(&app, Method::GET, "/realms/other/users", after, None).await);
    // A disabled account gets its client no tokens (Keycloak); enabled again, it does.
    let account_path = format!("/realms/acme/users/{account_id}");
    change(&app, Method::PUT, &account_path, &master, Some(r#"{"enabled": false}"#)).await;
    let refused = app.client_credentials("acme", "robot", "robot-secret", None).await;
    refused.assert_error(400, "unauthorized_client");
    change(&app, Method::PUT, &account_path, &master, Some(r#"{"enabled": true}"#)).await;
    assert_eq!(app.client_credentials("acme", "robot", "robot-secret", None).await.status, 200);
    // Taking the role back takes it out of new tokens.
    change(&app, Method::DELETE, &mappings, &master, Some(&grant)).await;
    assert_eq!(get(&app, &mappings, &master).await.json, json!([]));
    let token = app.client_credentials("acme", "robot", "robot-secret", None).await;
    assert_forbidden(&call(&app, Method::GET, "/realms/acme/users", token.str("access_token"), None).await);
}

/// `manage-users` manages users, but hands out no more rights than its
/// holder has, and cannot take over someone who holds more (Keycloak's rule).
async fn managing_users_grants_no_more_rights_than_one_holds(app: TestApp) {
    let rita = admin_cli_token(&app, "acme", ("rita", "rita-pw")).await;
    let rm = client_uuid(&app, "acme", &rita, "realm-management").await;
    let vera = user_id(&app, "acme", &rita, "vera").await;
    let mapping = |role: &str| json!([{ "name": role }]).to_string();
    let vera_roles = format!("/realms/acme/users/{vera}/role-mappings/clients/{rm}");
    change(&app, Method::POST, &vera_roles, &rita, Some(&mapping("manage-users"))).await;

    let vera_token = admin_cli_token(&app, "acme", ("vera", "vera-pw")).await;
    // `access` tells what she may do to each user: not manage rita, who
    // outranks her (it said she might, and every change was a 403).
    for (name, manage) in [("rita", false), ("alice", true)] {
        let found = get(&app, &format!("/realms/acme/users?username={name}&exact=true"), &vera_token).await;
        let access = &found.json[0]["access"];
        assert_eq!(
            (&access["manage"], &access["mapRoles"], &access["view"]),
            (&json!(manage), &json!(true), &json!(true))
        );
        let id = found.json[0]["id"].as_str().unwrap();
        assert_eq!(get(&app, &format!("/realms/acme/users/{id}"), &vera_token).await.json["access"], *access);
    }
    // Not realm-admin for herself, nor manage-clients…
    for role in ["realm-admin", "manage-clients"] {
        let answer =
            call(&app, Method::POST, &vera_roles, &vera_token, Some(serde_json::from_str(&mapping(role)).unwrap()))
                .await;
        assert_forbidden(&answer);
    }
    // …nor rita's password; alice's is fine.
    let rita_id = user_id(&app, "acme", &rita, "rita").await;
    let alice_id = user_id(&app, "acme", &rita, "alice").await;
    let password = json!({"type": "password", "value": "taken-over", "temporary": false});
    let answer = call(
        &app,
        Method::PUT,
        &format!("/realms/acme/users/{rita_id}/reset-password"),
        &vera_token,
        Some(password.clone()),
    )
    .await;
    assert_forbidden(&answer);
    let answer = call(&app, Method::DELETE, &format!("/realms/acme/users/{rita_id}"), &vera_token, None).await;
    assert_forbidden(&answer);
    let answer =
        call(&app, Method::PUT, &format!("/realms/acme/users/{alice_id}/reset-password"), &vera_token, Some(password))
            .await;
    assert_eq!(answer.status, 204, "{}", answer.text);
    // A role she holds she may hand on.
    let alice_roles = format!("/realms/acme/users/{alice_id}/role-mappings/clients/{rm}");
    change(&app, Method::POST, &alice_roles, &vera_token, Some(&mapping("view-users"))).await;

    // In master, `manage-users` cannot hand out the `admin` role.
    let master = master_token(&app).await;
    let body =
        json!({"username": "helper", "enabled": true, "credentials": [{"type": "password", "value": "helper-pw"}]});
    let helper = create(&app, "/realms/master/users", &master, body).await;
    let master_rm = client_uuid(&app, "master", &master, "realm-management").await;
    change(
        &app,
        Method::POST,
        &format!("/realms/master/users/{helper}/role-mappings/clients/{master_rm}"),
        &master,
        Some(&mapping("manage-users")),
    )
    .await;
    let helper_token = admin_cli_token(&app, "master", ("helper", "helper-pw")).await;
    let grab = call(
        &app,
        Method::POST,
        &format!("/realms/master/users/{helper}/role-mappings/realm"),
        &helper_token,
        Some(json!([{"name": "admin"}])),
    )
    .await;
    assert_forbidden(&grab);
    // Nor by creating a user who holds it.
    let accomplice = json!({"username": "accomplice", "enabled": true, "realmRoles": ["admin"],
                            "credentials": [{"type": "password", "value": "accomplice-pw"}]});
    assert_forbidden(&call(&app, Method::POST, "/realms/master/users", &helper_token, Some(accomplice)).await);
    let found = get(&app, "/realms/master/users?username=accomplice&exact=true", &master).await;
    assert_eq!(found.json, json!([]), "nothing created");
    let admin_id = user_id(&app, "master", &master, "admin").await;
    let answer = call(
        &app,
        Method::PUT,
        &format!("/realms/master/users/{admin_id}/reset-password"),
        &helper_token,
        Some(json!({"type": "password", "value": "mine-now"})),
    )
    .await;
    assert_forbidden(&answer);
    // Nor sign the administrator out (again and again); rita, whom vera
    // outranks in nothing either, stays signed in too.
    let admin_logout = format!("/realms/master/users/{admin_id}/logout");
    assert_forbidden(&call(&app, Method::POST, &admin_logout, &helper_token, None).await);
    assert_eq!(get(&app, "/realms/master/users", &master).await.status, 200, "the admin's token still works");
    let rita_logout = format!("/realms/acme/users/{rita_id}/logout");
    assert_forbidden(&call(&app, Method::POST, &rita_logout, &vera_token, None).await);
    assert_eq!(get(&app, "/realms/acme/users", &rita).await.status, 200, "rita's token still works");
    // The master administrator may.
    change(
        &app,
        Method::POST,
        &format!("/realms/master/users/{helper}/role-mappings/realm"),
        &master,
        Some(&json!([{"name": "admin"}]).to_string()),
    )
    .await;
}

/// SPEC §3: the admin API also takes a personal access token (with its
/// user's administration rights) and, where the realm sets `basic_auth`,
/// HTTP Basic with a password or a personal token.
async fn personal_tokens_and_basic_act_with_their_users_rights(app: TestApp) {
    let pat = |user: &str| {
        let out = app.cli(&["token", "add", "--realm", "acme", "--user", user, "--name", "script"], None);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let (rita, alice) = (pat("rita"), pat("alice"));
    let url = |path: &str| format!("{}/admin{path}", app.base);
    let status = |request: reqwest::RequestBuilder| async move { request.send().await.unwrap().status().as_u16() };

    assert_eq!(status(app.http.get(url("/realms/acme/users")).bearer_auth(&rita)).await, 200);
    assert_eq!(status(app.http.get(url("/realms/acme/users")).header("X-Auth-Token", &rita)).await, 200);
    // Elsewhere it is answered as rita's admin-cli token is: 403 where she may
    // not act (a 401 said the token was bad), the server's info as to anyone.
    let rita_jwt = admin_cli_token(&app, "acme", ("rita", "rita-pw")).await;
    for path in ["/realms/other/users", "/realms/master/users", "/serverinfo", "/realms"] {
        let by_jwt = status(app.http.get(url(path)).bearer_auth(&rita_jwt)).await;
        assert_eq!(status(app.http.get(url(path)).bearer_auth(&rita)).await, by_jwt, "{path}");
    }
    assert_eq!(status(app.http.get(url("/realms/other/users")).bearer_auth(&rita)).await, 403, "acme's token");
    assert_eq!(status(app.http.get(url("/realms/acme/users")).bearer_auth(&alice)).await, 403, "no admin role");
    assert_eq!(
        status(app.http.get(url("/realms/acme/users")).bearer_auth("rgp_0000000000000000000000000000000000000000"))
            .await,
        401
    );
    let created = app.http.post(url("/realms/acme/users")).bearer_auth(&rita).json(&json!({"username": "by-pat"}));
    assert_eq!(status(created).await, 201);
    // A token minted for a narrower purpose (without admin.api) is no admin token.
    let args = ["token", "add", "--realm", "acme", "--user", "rita", "--name", "narrow", "--scope", "openid"];
    let out = app.cli(&args, None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let narrow = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(status(app.http.get(url("/realms/acme/users")).bearer_auth(&narrow)).await, 403);
    assert_eq!(app.userinfo("acme", &narrow).await.status, 200, "it works where its scope does");

    // Basic only once the realm accepts it.
    let basic = |user: &str, password: &str| app.http.get(url("/realms/acme/users")).basic_auth(user, Some(password));
    assert_eq!(status(basic("rita", "rita-pw")).await, 401, "acme does not take Basic yet");
    let master = master_token(&app).await;
    change(&app, Method::PUT, "/realms/acme", &master, Some(r#"{"attributes": {"realmgate.basicAuth": "true"}}"#))
        .await;
    assert_eq!(status(basic("rita", "rita-pw")).await, 200);
    assert_eq!(status(basic("rita", "wrong")).await, 401);
    assert_eq!(status(basic("rita", &rita)).await, 200, "a personal token as the password");
    assert_eq!(status(basic("alice", &rita)).await, 401, "someone else's token");
    assert_eq!(status(basic("alice", "alice-pw")).await, 403);
    assert_eq!(status(basic("admin", "admin-pw")).await, 401, "master does not take Basic");
}

/// The realm-management roles in a fresh client_credentials token of `client`.
async fn token_roles(app: &TestApp, client: &str, secret: &str) -> serde_json::Value {
    let token = app.client_credentials("acme", client, secret, None).await;
    assert_eq!(token.status, 200, "{}", token.json);
    let (_, claims) = jwt_parts(token.str("access_token"));
    claims["resource_access"]["realm-management"]["roles"].clone()
}

/// Grants `role` of realm-management to a user, through the admin API.
async fn grant_management_role(app: &TestApp, master: &str, user: &str, role: &str) {
    let management = client_uuid(app, "acme", master, "realm-management").await;
    let roles = get(app, &format!("/realms/acme/clients/{management}/roles"), master).await;
    let found = roles.json.as_array().unwrap().iter().find(|r| r["name"] == role).cloned().expect("the role");
    let grant = json!([{ "id": found["id"], "name": role }]).to_string();
    let mappings = format!("/realms/acme/users/{user}/role-mappings/clients/{management}");
    change(app, Method::POST, &mappings, master, Some(&grant)).await;
}

/// Its account is created when first asked for; asked for by several
/// requests at once (several connections on PostgreSQL), it is created once
/// and every one of them gets it.
async fn a_service_account_asked_for_at_once_is_created_once(app: TestApp) {
    let master = master_token(&app).await;
    let reads = (0..16).map(|_| get(&app, "/realms/acme/users?briefRepresentation=true", &master));
    futures_util::future::join_all(reads).await;
    for round in 0..4 {
        let body = json!({"clientId": format!("robot{round}"), "secret": "s", "serviceAccountsEnabled": true});
        let id = create(&app, "/realms/acme/clients", &master, body).await;
        let path = format!("/realms/acme/clients/{id}/service-account-user");
        let answers =
            futures_util::future::join_all((0..8).map(|_| call(&app, Method::GET, &path, &master, None))).await;
        let ids: Vec<_> = answers.iter().map(|a| (a.status, a.json["id"].clone())).collect();
        assert!(ids.iter().all(|(status, id)| *status == 200 && *id == ids[0].1), "round {round}: {ids:?}");
    }
}

async fn a_service_account_belongs_to_its_client_not_to_a_name(app: TestApp) {
    let master = master_token(&app).await;
    let svc = json!({"clientId": "svc", "secret": "svc-secret", "serviceAccountsEnabled": true});
    let svc_id = create(&app, "/realms/acme/clients", &master, svc).await;
    let account = get(&app, &format!("/realms/acme/clients/{svc_id}/service-account-user"), &master).await;
    assert_eq!(account.json["serviceAccountClientId"], json!(svc_id), "Keycloak's link: the client's id");
    let account_id = account.json["id"].as_str().unwrap().to_owned();
    grant_management_role(&app, &master, &account_id, "view-users").await;
    assert_eq!(token_roles(&app, "svc", "svc-secret").await, json!(["view-users"]));

    // Renamed, the client keeps its service account and its roles.
    change(&app, Method::PUT, &format!("/realms/acme/clients/{svc_id}"), &master, Some(r#"{"clientId": "svc2"}"#))
        .await;
    assert_eq!(token_roles(&app, "svc2", "svc-secret").await, json!(["view-users"]));
    let again = get(&app, &format!("/realms/acme/clients/{svc_id}/service-account-user"), &master).await;
    assert_eq!(again.json["id"], json!(account_id));

    // A new client of the old name gets none of it.
    let newcomer = json!({"clientId": "svc", "secret": "new-secret", "serviceAccountsEnabled": true});
    let newcomer_id = create(&app, "/realms/acme/clients", &master, newcomer).await;
    assert_eq!(token_roles(&app, "svc", "new-secret").await, serde_json::Value::Null);
    let taken =
        call(&app, Method::GET, &format!("/realms/acme/clients/{newcomer_id}/service-account-user"), &master, None)
            .await;
    assert_eq!(taken.status, 409, "the name belongs to svc2's account: {}", taken.text);

    // Nor can an ordinary user take a service account's name: it would be
    // left out of user lists and hold the name a client's account needs.
    let users_before = get(&app, "/realms/acme/users/count", &master).await.json;
    let body = json!({"username": "service-account-fake"});
    let imposter = call(&app, Method::POST, "/realms/acme/users", &master, Some(body)).await;
    assert_eq!(imposter.status, 400, "{}", imposter.text);
    assert_eq!(get(&app, "/realms/acme/users/count", &master).await.json, users_before);
    let fake = json!({"clientId": "fake", "secret": "fake-secret", "serviceAccountsEnabled": true});
    let fake_id = create(&app, "/realms/acme/clients", &master, fake).await;
    let account = get(&app, &format!("/realms/acme/clients/{fake_id}/service-account-user"), &master).await;
    assert_eq!(account.json["username"], "service-account-fake");

    // Deleting svc2 deletes its own service account.
    change(&app, Method::DELETE, &format!("/realms/acme/clients/{svc_id}"), &master, None).await;
    assert_eq!(call(&app, Method::GET, &format!("/realms/acme/users/{account_id}"), &master, None).await.status, 404);
}

/// `realm-admin` holds every realm-management role, `view-users`
/// `query-users`: the composite list shows them, the available list not.
async fn composite_management_roles_are_expanded(app: TestApp) {
    let master = master_token(&app).await;
    let rm = client_uuid(&app, "acme", &master, "realm-management").await;
    let names = |answer: serde_json::Value| -> Vec<String> {
        answer.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_owned()).collect()
    };
    let rita = user_id(&app, "acme", &master, "rita").await;
    let base = format!("/realms/acme/users/{rita}/role-mappings/clients/{rm}");
    assert_eq!(names(get(&app, &base, &master).await.json), ["realm-admin"]);
    assert_eq!(names(get(&app, &format!("{base}/composite"), &master).await.json).len(), 9);
    assert_eq!(names(get(&app, &format!("{base}/available"), &master).await.json), Vec::<String>::new());
    let vera = user_id(&app, "acme", &master, "vera").await;
    let base = format!("/realms/acme/users/{vera}/role-mappings/clients/{rm}");
    assert_eq!(names(get(&app, &format!("{base}/composite"), &master).await.json), ["view-users", "query-users"]);
    let paged = get(&app, &format!("{base}/composite?first=1&max=1"), &master).await.json;
    assert_eq!(names(paged), ["query-users"], "every list honours first and max");
    let available = names(get(&app, &format!("{base}/available"), &master).await.json);
    assert!(available.len() == 7 && !available.contains(&"query-users".to_owned()), "{available:?}");
    let roles = get(&app, &format!("/realms/acme/clients/{rm}/roles"), &master).await.json;
    let composite: Vec<&str> = roles
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["composite"] == true)
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(composite, ["realm-admin", "view-users", "view-clients"]);
}
