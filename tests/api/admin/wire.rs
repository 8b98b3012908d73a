//! The wire rules Keycloak's admin clients depend on: statuses, empty
//! bodies, `Location`, trailing slashes, query flags, paging, merge-on-PUT,
//! opaque fields and error bodies.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::json;

use super::{
    ADMIN_REALMS, assert_bad_request, assert_conflict, call, change, client_uuid, create, get, master_token,
    not_found_body, user_id, usernames,
};
use crate::both_backends;
use crate::helpers::TestApp;

both_backends!(
    realms = ADMIN_REALMS;
    creates_updates_and_deletes_answer_as_keycloak_does,
    bodies_may_be_empty_or_null_and_paths_may_end_in_a_slash,
    users_are_found_as_keycloak_searches,
    users_are_paged_past_one_hundred,
    duplicates_are_conflicts,
    one_user_created_at_once_is_stored_once,
    put_merges_into_what_is_stored,
    unmodelled_fields_are_kept,
    missing_things_are_404_and_bad_bodies_are_400,
    what_cannot_be_honoured_is_refused,
    a_deleted_scope_is_forgotten_everywhere,
    a_clients_scope_is_default_or_optional_not_both,
);

async fn creates_updates_and_deletes_answer_as_keycloak_does(app: TestApp) {
    let master = master_token(&app).await;
    let answer = call(&app, Method::POST, "/realms", &master, Some(json!({"realm": "wired", "enabled": true}))).await;
    assert_eq!((answer.status, answer.text.as_str()), (201, ""));
    assert_eq!(answer.header("location"), Some(format!("{}/admin/realms/wired", app.base).as_str()));

    let r = "/realms/wired";
    let client = create(&app, &format!("{r}/clients"), &master, json!({"clientId": "c1"})).await;
    let user = create(&app, &format!("{r}/users"), &master, json!({"username": "u1", "enabled": true})).await;
    let scope = create(&app, &format!("{r}/client-scopes"), &master, json!({"name": "wired.read"})).await;
    for id in [&client, &user, &scope] {
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id} is a UUID");
    }
    let answer = call(&app, Method::POST, &format!("{r}/roles"), &master, Some(json!({"name": "team lead"}))).await;
    assert_eq!((answer.status, answer.text.as_str()), (201, ""));
    let location = answer.header("location").unwrap();
    assert_eq!(location, format!("{}/admin/realms/wired/roles/team%20lead", app.base), "roles go by name");
    assert_eq!(get(&app, &format!("{r}/clients/{client}"), &master).await.json["clientId"], "c1");
    assert_eq!(get(&app, &format!("{r}/users/{user}"), &master).await.json["username"], "u1");
    assert_eq!(get(&app, &format!("{r}/client-scopes/{scope}"), &master).await.json["name"], "wired.read");
    assert_eq!(get(&app, &format!("{r}/roles/team%20lead"), &master).await.json["name"], "team lead");

    change(&app, Method::PUT, r, &master, Some(r#"{"displayName": "Wired"}"#)).await;
    change(&app, Method::PUT, &format!("{r}/clients/{client}"), &master, Some(r#"{"name": "C one"}"#)).await;
    change(&app, Method::PUT, &format!("{r}/users/{user}"), &master, Some(r#"{"firstName": "U"}"#)).await;
    change(&app, Method::PUT, &format!("{r}/roles/team%20lead"), &master, Some(r#"{"description": "d"}"#)).await;
    change(&app, Method::PUT, &format!("{r}/client-scopes/{scope}"), &master, Some(r#"{"description": "d"}"#)).await;
    assert_eq!(get(&app, &format!("{r}/clients/{client}"), &master).await.json["name"], "C one");
    assert_eq!(get(&app, &format!("{r}/roles/team%20lead"), &master).await.json["description"], "d");

    // Deletes with `{}` (as npm sends) and with no body (as python does).
    let deletes = [
        (format!("{r}/client-scopes/{scope}"), Some("{}")),
        (format!("{r}/roles/team%20lead"), None),
        (format!("{r}/users/{user}"), Some("{}")),
        (format!("{r}/clients/{client}"), None),
    ];
    for (path, body) in &deletes {
        change(&app, Method::DELETE, path, &master, *body).await;
        assert_eq!(call(&app, Method::GET, path, &master, None).await.status, 404, "{path} is gone");
    }
    change(&app, Method::DELETE, r, &master, Some("{}")).await;
    assert_eq!(call(&app, Method::GET, r, &master, None).await.status, 404);
    assert_eq!(app.get(&app.realm_url("wired", "/.well-known/openid-configuration")).await.status, 404);
    // The master realm stays.
    let answer = call(&app, Method::DELETE, "/realms/master", &master, None).await;
    assert_eq!(answer.status, 400, "{}", answer.text);
    get(&app, "/realms/master", &master).await;
}

async fn bodies_may_be_empty_or_null_and_paths_may_end_in_a_slash(app: TestApp) {
    let master = master_token(&app).await;
    let realms = get(&app, "/realms/", &master).await;
    assert!(realms.json.as_array().unwrap().iter().any(|r| r["realm"] == "master"), "{}", realms.text);
    let answer = call(&app, Method::POST, "/realms/", &master, Some(json!({"realm": "slashed"}))).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    assert_eq!(answer.header("location"), Some(format!("{}/admin/realms/slashed", app.base).as_str()));
    let answer =
        call(&app, Method::POST, "/realms/acme/users/", &master, Some(json!({"username": "slash", "enabled": true})))
            .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let id = user_id(&app, "acme", &master, "slash").await;
    assert_eq!(answer.header("location"), Some(format!("{}/admin/realms/acme/users/{id}", app.base).as_str()));
    assert_eq!(usernames(&get(&app, "/realms/acme/users/", &master).await.json).len(), 4);
    assert!(get(&app, "/realms/acme/clients/", &master).await.json.as_array().is_some_and(|c| c.len() >= 4));

    // python-keycloak sends a JSON content type and an empty body on a GET.
    let answer = app.admin(Method::GET, "/realms/acme", Some(&master), Some("")).await;
    assert_eq!((answer.status, &answer.json["realm"]), (200, &json!("acme")), "{}", answer.text);

    // Actions and updates with an empty body, `{}` or `null`.
    let alice = user_id(&app, "acme", &master, "alice").await;
    for body in [None, Some(""), Some("{}"), Some("null")] {
        change(&app, Method::POST, &format!("/realms/acme/users/{alice}/logout"), &master, body).await;
        change(&app, Method::PUT, &format!("/realms/acme/users/{alice}"), &master, body).await;
        change(&app, Method::PUT, "/realms/acme", &master, body).await;
    }
    let user = get(&app, &format!("/realms/acme/users/{alice}"), &master).await;
    assert_eq!((&user.json["email"], &user.json["enabled"]), (&json!("alice@example.com"), &json!(true)));
    assert_eq!(get(&app, "/realms/acme", &master).await.json["accessTokenLifespan"], 600);
    // Longer than a Java int (which Keycloak's typed clients read) reads as the most one holds.
    change(&app, Method::PUT, "/realms/acme", &master, Some(r#"{"ssoSessionMaxLifespan": 3000000000}"#)).await;
    assert_eq!(get(&app, "/realms/acme", &master).await.json["ssoSessionMaxLifespan"], i32::MAX);
    let web = client_uuid(&app, "acme", &master, "web").await;
    let answer = app
        .admin(Method::POST, &format!("/realms/acme/clients/{web}/client-secret"), Some(&master), Some("null"))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(answer.json["value"].is_string(), "{}", answer.text);
}

async fn users_are_found_as_keycloak_searches(app: TestApp) {
    let master = master_token(&app).await;
    for name in ["Alicia", "malice"] {
        create(&app, "/realms/acme/users", &master, json!({"username": name, "enabled": true})).await;
    }
    let find = |query: &'static str| {
        let (app, master) = (&app, &master);
        async move { usernames(&get(app, &format!("/realms/acme/users?{query}"), master).await.json) }
    };
    assert_eq!(find("username=alicia&exact=true").await, ["alicia"], "usernames are stored lower-case");
    assert_eq!(find("username=alice&exact=True").await, ["alice"], "python sends exact=True");
    assert_eq!(find("username=ALICE&exact=TRUE").await, ["alice"]);
    assert_eq!(find("username=alice&exact=false").await, ["alice", "malice"]);
    // Keycloak's brief representation leaves attributes and actions out.
    let brief = get(&app, "/realms/acme/users?username=alice&exact=true&briefRepresentation=true", &master).await;
    let mut fields: Vec<&str> = brief.json[0].as_object().unwrap().keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert!(fields.contains(&"id") && fields.contains(&"username") && fields.contains(&"access"), "{fields:?}");
    for left_out in ["attributes", "requiredActions", "disableableCredentialTypes", "totp"] {
        assert!(!fields.contains(&left_out), "{left_out}: {fields:?}");
    }
    let full = get(&app, "/realms/acme/users?username=alice&exact=true&briefRepresentation=false", &master).await;
    assert!(full.json[0].get("requiredActions").is_some(), "{}", full.json);
    assert_eq!(find("username=alice").await, ["alice", "malice"]);
    assert_eq!(find("username=ALI").await, ["alice", "alicia", "malice"]);
    // `search` as Keycloak documents it: a prefix, `*` anywhere, `"…"` exact,
    // every whitespace-separated term must match.
    assert_eq!(find("search=ALI").await, ["alice", "alicia"]);
    assert_eq!(find("search=ali*").await, ["alice", "alicia"]);
    assert_eq!(find("search=*LIC*").await, ["alice", "alicia", "malice"]);
    assert_eq!(find("search=lic").await, Vec::<String>::new(), "a prefix, not a substring");
    assert_eq!(find("search=*example.com").await, ["alice"], "search covers e-mail");
    assert_eq!(find("search=liddell").await, ["alice"], "and last names");
    assert_eq!(find("search=%22alice%22").await, ["alice"], "quoted: exact");
    assert_eq!(find("search=%22ali%22").await, Vec::<String>::new());
    assert_eq!(find("search=ali%20liddell").await, ["alice"], "every term matches");
    assert_eq!(find("search=*").await, ["alice", "alicia", "malice", "rita", "vera"]);
    assert_eq!(find("search=50%25").await, Vec::<String>::new(), "% is literal");
    assert_eq!(find("emailVerified=true").await, ["alice"]);
    assert_eq!(get(&app, "/realms/acme/users/count?emailVerified=false", &master).await.json, json!(4));
    assert_eq!(get(&app, "/realms/acme/users/count?search=ali", &master).await.json, json!(2));
    assert_eq!(find("firstName=ali").await, ["alice"]);
    assert_eq!(find("email=alice@example.com&exact=true").await, ["alice"]);
    assert_eq!(find("username=nobody").await, Vec::<String>::new());
    assert_eq!(get(&app, "/realms/acme/users/count?username=ali", &master).await.json, json!(3));
    assert_eq!(get(&app, "/realms/acme/users/count?username=alice&exact=True", &master).await.json, json!(1));
    // Case-insensitive beyond ASCII, on SQLite too (its own lower() left `É` as it was).
    let body = json!({"username": "Ärger", "firstName": "Élodie", "lastName": "Öztürk", "email": "Ä@example.com"});
    create(&app, "/realms/acme/users", &master, body).await;
    assert_eq!(find("firstName=%C3%A9lodie&exact=true").await, ["ärger"]);
    assert_eq!(find("firstName=%C3%89LO").await, ["ärger"]);
    assert_eq!(find("search=%C3%B6zt").await, ["ärger"], "last names");
    assert_eq!(find("search=%C3%A4@").await, ["ärger"], "e-mail");
    assert_eq!(find("username=%C3%84RGER&exact=true").await, ["ärger"]);
    // A name finds itself, whatever the database's lower() makes of it
    // (Rust lowers `İ` to `i̇`, PostgreSQL's C.UTF-8 to `i`).
    create(&app, "/realms/acme/users", &master, json!({"username": "ist", "lastName": "İstanbul"})).await;
    assert_eq!(find("lastName=%C4%B0stanbul&exact=true").await, ["ist"]);
    assert_eq!(find("search=%C4%B0stan").await, ["ist"]);
    assert_eq!(find("search=%22%C4%B0stanbul%22").await, ["ist"]);
}

async fn users_are_paged_past_one_hundred(app: TestApp) {
    let master = master_token(&app).await;
    // Every list honours first and max, the scope lists too.
    let web = client_uuid(&app, "acme", &master, "web").await;
    for list in [
        "/realms/acme/default-default-client-scopes".to_owned(),
        "/realms/acme/default-optional-client-scopes".to_owned(),
        format!("/realms/acme/clients/{web}/default-client-scopes"),
    ] {
        let all = get(&app, &list, &master).await.json;
        let all = all.as_array().unwrap();
        let (first, second): (Vec<_>, Vec<_>) = (all.iter().take(1).collect(), all.iter().skip(1).take(1).collect());
        assert_eq!(get(&app, &format!("{list}?max=1"), &master).await.json, json!(first), "{list}");
        assert_eq!(get(&app, &format!("{list}?first=1&max=1"), &master).await.json, json!(second), "{list}");
    }
    let defaults = get(&app, "/realms/acme/default-default-client-scopes", &master).await.json;
    assert!(defaults.as_array().unwrap().len() >= 2, "the check above had something to page: {defaults}");
    // …the composites of realm-management's roles (realm-admin has eight) and
    // a user's credentials; lists that are always empty still read the
    // parameters, refusing what is no number as every list does.
    let management = client_uuid(&app, "acme", &master, "realm-management").await;
    let realm_admin = get(&app, &format!("/realms/acme/clients/{management}/roles/realm-admin"), &master).await.json;
    let alice = user_id(&app, "acme", &master, "alice").await;
    for list in [
        format!("/realms/acme/clients/{management}/roles/realm-admin/composites"),
        format!("/realms/acme/roles-by-id/{}/composites", realm_admin["id"].as_str().unwrap()),
        format!("/realms/acme/users/{alice}/credentials"),
    ] {
        let all = get(&app, &list, &master).await.json;
        let all = all.as_array().unwrap();
        assert!(!all.is_empty(), "{list}");
        assert_eq!(
            get(&app, &format!("{list}?first=1&max=1"), &master).await.json,
            json!(all.iter().skip(1).take(1).collect::<Vec<_>>()),
            "{list}"
        );
        assert_eq!(get(&app, &format!("{list}?max=1"), &master).await.json, json!([all[0]]), "{list}");
    }
    for list in ["groups", "federated-identity", "credentials"] {
        let answer =
            call(&app, Method::GET, &format!("/realms/acme/users/{alice}/{list}?first=zz"), &master, None).await;
        assert_eq!(answer.status, 400, "{list}: {}", answer.text);
    }
    let composites = "/realms/acme/roles/viewer/composites?first=zz";
    assert_eq!(call(&app, Method::GET, composites, &master, None).await.status, 400);
    // JSON leaves out null fields: a key without an end has no validTo.
    let keys = get(&app, "/realms/acme/keys", &master).await.json;
    assert!(keys["keys"].as_array().unwrap().iter().all(|k| !k.get("validTo").is_some_and(|v| v.is_null())), "{keys}");
    let count = get(&app, "/realms/acme/users/count", &master).await;
    let before = count.json.as_u64().unwrap_or_else(|| panic!("a bare integer, not {}", count.text));
    for i in 0..130 {
        create(&app, "/realms/acme/users", &master, json!({"username": format!("bulk-{i:03}"), "enabled": true})).await;
    }
    let count = get(&app, "/realms/acme/users/count", &master).await;
    assert_eq!(count.text.trim(), (before + 130).to_string(), "a bare integer");
    let total = before as usize + 130;

    let page = |query: &'static str| {
        let (app, master) = (&app, &master);
        async move { get(app, &format!("/realms/acme/users{query}"), master).await.json.as_array().unwrap().clone() }
    };
    assert_eq!(page("").await.len(), 100, "the default max is 100");
    let first = page("?first=0&max=100").await;
    let second = page("?first=100&max=100").await;
    assert_eq!((first.len(), second.len()), (100, total - 100));
    let ids: HashSet<&str> = first.iter().chain(&second).map(|u| u["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), total, "no user on two pages, none missing");
    assert_eq!(page("?first=200&max=100").await.len(), 0);
    assert_eq!(page("?max=7").await.len(), 7);
    // a negative max means no limit, a negative first the start
    assert_eq!(page("?first=120&max=-1").await.len(), total - 120);
    assert_eq!(page("?first=-5&max=-9223372036854775808").await.len(), total);
    assert_eq!(page("?first=9223372036854775807").await.len(), 0);
    assert_eq!(page("?username=bulk-&first=120&max=100").await.len(), 10);
    assert_eq!(get(&app, "/realms/acme/users/count?username=bulk-", &master).await.json, json!(130));
}

async fn duplicates_are_conflicts(app: TestApp) {
    let master = master_token(&app).await;
    let realm = call(&app, Method::POST, "/realms", &master, Some(json!({"realm": "acme"}))).await;
    assert_conflict(&realm, "Conflict detected. See logs for details");
    let client = call(&app, Method::POST, "/realms/acme/clients", &master, Some(json!({"clientId": "web"}))).await;
    assert_conflict(&client, "Client web already exists");
    let user = call(&app, Method::POST, "/realms/acme/users", &master, Some(json!({"username": "ALICE"}))).await;
    assert_conflict(&user, "User exists with same username");
    // E-mail addresses are unique in a realm, case aside, and stored lower-case.
    let body = json!({"username": "alice2", "email": "ALICE@example.com"});
    let user = call(&app, Method::POST, "/realms/acme/users", &master, Some(body)).await;
    assert_conflict(&user, "User exists with same email");
    let rita = user_id(&app, "acme", &master, "rita").await;
    let path = format!("/realms/acme/users/{rita}");
    let taken = call(&app, Method::PUT, &path, &master, Some(json!({"email": "Alice@Example.com"}))).await;
    assert_conflict(&taken, "User exists with same email");
    assert!(get(&app, &path, &master).await.json.get("email").is_none(), "rita's address did not change");
    change(&app, Method::PUT, &path, &master, Some(r#"{"email": "Rita@Example.com"}"#)).await;
    assert_eq!(get(&app, &path, &master).await.json["email"], "rita@example.com");
    let alice = user_id(&app, "acme", &master, "alice").await;
    let path = format!("/realms/acme/users/{alice}");
    change(&app, Method::PUT, &path, &master, Some(r#"{"email": "ALICE@EXAMPLE.COM"}"#)).await;
    assert_eq!(get(&app, &path, &master).await.json["email"], "alice@example.com", "her own address, recased");
    let role = call(&app, Method::POST, "/realms/acme/roles", &master, Some(json!({"name": "viewer"}))).await;
    assert_conflict(&role, "Role with name viewer already exists");
    create(&app, "/realms/acme/client-scopes", &master, json!({"name": "dup.scope"})).await;
    let scope =
        call(&app, Method::POST, "/realms/acme/client-scopes", &master, Some(json!({"name": "dup.scope"}))).await;
    assert_eq!(scope.status, 409, "{}", scope.text);
    assert!(scope.json["errorMessage"].as_str().is_some_and(|m| m.ends_with("already exists")), "{}", scope.text);
    // Renaming a client onto another's clientId is a conflict too.
    let robot = client_uuid(&app, "acme", &master, "robot").await;
    let rename =
        call(&app, Method::PUT, &format!("/realms/acme/clients/{robot}"), &master, Some(json!({"clientId": "web"})))
            .await;
    assert_conflict(&rename, "Client web already exists");
    assert_eq!(get(&app, "/realms/acme/users/count", &master).await.json, json!(3), "nothing was added");
}

/// Users created at the same moment with one username or one e-mail
/// address: one is stored, the others are conflicts (on PostgreSQL the pool
/// runs them on several connections at once; a few rounds, as a race may be
/// missed once). Were the check and the insert not serialised, two would be
/// stored, or the unique index would answer 500.
async fn one_user_created_at_once_is_stored_once(app: TestApp) {
    let master = master_token(&app).await;
    // Reads at once first, so that the client and the pool hold open connections.
    let reads = (0..16).map(|_| get(&app, "/realms/acme/users?briefRepresentation=true", &master));
    futures_util::future::join_all(reads).await;
    for round in 0..6 {
        let same_name = round % 2 == 0;
        let creations = (0..16).map(|i| {
            let (username, email) = match same_name {
                true => (format!("racer{round}"), format!("racer{round}-{i}@example.com")),
                false => (format!("racer{round}-{i}"), format!("racer{round}@example.com")),
            };
            call(&app, Method::POST, "/realms/acme/users", &master, Some(json!({"username": username, "email": email})))
        });
        let answers = futures_util::future::join_all(creations).await;
        let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
        assert_eq!(statuses.iter().filter(|&&s| s == 201).count(), 1, "round {round}: {statuses:?}");
        let conflict = if same_name { "User exists with same username" } else { "User exists with same email" };
        for loser in answers.iter().filter(|a| a.status != 201) {
            assert_conflict(loser, conflict);
        }
        let query =
            if same_name { format!("username=racer{round}") } else { format!("email=racer{round}@example.com") };
        let holders = get(&app, &format!("/realms/acme/users?{query}&exact=true"), &master).await;
        assert_eq!(holders.json.as_array().map(Vec::len), Some(1), "{}", holders.json);
    }
}

async fn put_merges_into_what_is_stored(app: TestApp) {
    let master = master_token(&app).await;
    let alice = user_id(&app, "acme", &master, "alice").await;
    let path = format!("/realms/acme/users/{alice}");
    let before = get(&app, &path, &master).await.json;
    change(&app, Method::PUT, &path, &master, Some(r#"{"firstName": "X"}"#)).await;
    let mut expected = before.clone();
    expected["firstName"] = json!("X");
    assert_eq!(get(&app, &path, &master).await.json, expected, "only firstName changed");
    assert_eq!(expected["email"], "alice@example.com");
    assert_eq!((&expected["enabled"], &expected["emailVerified"]), (&json!(true), &json!(true)));
    assert_eq!(app.password_grant("acme", ("web", "web-secret"), ("alice", "alice-pw"), "openid").await.status, 200);

    let web = client_uuid(&app, "acme", &master, "web").await;
    let path = format!("/realms/acme/clients/{web}");
    let before = get(&app, &path, &master).await.json;
    assert_eq!(before["secret"], "web-secret", "{before}");
    change(&app, Method::PUT, &path, &master, Some(r#"{"redirectUris": ["http://127.0.0.1:9/new"]}"#)).await;
    let after = get(&app, &path, &master).await.json;
    assert_eq!(after["redirectUris"], json!(["http://127.0.0.1:9/new"]));
    for kept in ["clientId", "name", "secret", "directAccessGrantsEnabled", "defaultClientScopes", "attributes"] {
        assert_eq!(after[kept], before[kept], "{kept} kept");
    }
    let secret = get(&app, &format!("{path}/client-secret"), &master).await;
    assert_eq!(secret.json, json!({"type": "secret", "value": "web-secret"}));
    let tokens = app.password_grant("acme", ("web", "web-secret"), ("alice", "alice-pw"), "openid").await;
    assert_eq!(tokens.status, 200, "the secret and the password grant were kept: {}", tokens.json);

    // A GET-modify-PUT of the whole representation round-trips.
    let mut full = after.clone();
    full["name"] = json!("Web 2");
    change(&app, Method::PUT, &path, &master, Some(&full.to_string())).await;
    assert_eq!(get(&app, &path, &master).await.json, full);

    let realm = get(&app, "/realms/acme", &master).await.json;
    change(&app, Method::PUT, "/realms/acme", &master, Some(r#"{"displayName": "Acme 2"}"#)).await;
    let mut expected = realm.clone();
    expected["displayName"] = json!("Acme 2");
    assert_eq!(get(&app, "/realms/acme", &master).await.json, expected);
    assert_eq!(expected["accessTokenLifespan"], 600);

    // Nothing but the field sent changed in the client's representation.
    let mut expected = before.clone();
    expected["redirectUris"] = json!(["http://127.0.0.1:9/new"]);
    assert_eq!(after, expected, "only redirectUris changed");

    // An empty attribute is none (Keycloak keeps none), from the start: what
    // GET gives and PUT sends back stays as it is.
    let client = json!({"clientId": "blank", "attributes": {"login_theme": "", "kept": "x"}});
    let blank = create(&app, "/realms/acme/clients", &master, client).await;
    let path = format!("/realms/acme/clients/{blank}");
    let read = get(&app, &path, &master).await.json;
    assert!(read["attributes"].get("login_theme").is_none() && read["attributes"]["kept"] == "x", "{read}");
    change(&app, Method::PUT, &path, &master, Some(&read.to_string())).await;
    assert_eq!(get(&app, &path, &master).await.json, read);
}

async fn unmodelled_fields_are_kept(app: TestApp) {
    let master = master_token(&app).await;
    let smtp = json!({"host": "smtp.example.com", "port": "25", "from": "noreply@example.com"});
    let realm = json!({
        "realm": "opaque",
        "bruteForceProtected": true,
        "smtpServer": smtp,
        "attributes": {"frontendUrl": "https://id.example.com"},
    });
    create(&app, "/realms", &master, realm).await;
    let got = get(&app, "/realms/opaque", &master).await.json;
    assert_eq!((&got["bruteForceProtected"], &got["smtpServer"]), (&json!(true), &smtp), "{got}");
    assert_eq!(got["attributes"]["frontendUrl"], "https://id.example.com");
    change(&app, Method::PUT, "/realms/opaque", &master, Some(r#"{"bruteForceProtected": false}"#)).await;
    let got = get(&app, "/realms/opaque", &master).await.json;
    assert_eq!((&got["bruteForceProtected"], &got["smtpServer"]), (&json!(false), &smtp), "{got}");
    change(&app, Method::PUT, "/realms/opaque", &master, Some(r#"{"smtpServer": {"host": "mail.example.com"}}"#)).await;
    let got = get(&app, "/realms/opaque", &master).await.json;
    assert_eq!(got["smtpServer"], json!({"host": "mail.example.com"}));
    assert_eq!(got["bruteForceProtected"], false);
    assert_eq!(got["attributes"]["frontendUrl"], "https://id.example.com");
    // Attributes merge key by key, as Keycloak's do; "" removes one.
    change(&app, Method::PUT, "/realms/opaque", &master, Some(r#"{"attributes": {"x1": "1"}}"#)).await;
    let got = get(&app, "/realms/opaque", &master).await.json;
    assert_eq!(
        (&got["attributes"]["frontendUrl"], &got["attributes"]["x1"]),
        (&json!("https://id.example.com"), &json!("1"))
    );
    change(&app, Method::PUT, "/realms/opaque", &master, Some(r#"{"attributes": {"x1": ""}}"#)).await;
    let got = get(&app, "/realms/opaque", &master).await.json;
    assert!(got["attributes"].get("x1").is_none(), "{got}");
    assert_eq!(got["attributes"]["frontendUrl"], "https://id.example.com");
    // Values come back as Keycloak's typed maps hold them: text for realms
    // and clients (`Map<String, String>`), lists of text for users.
    change(&app, Method::PUT, "/realms/opaque", &master, Some(r#"{"attributes": {"n": 5, "b": true}}"#)).await;
    let got = get(&app, "/realms/opaque", &master).await.json;
    assert_eq!((&got["attributes"]["n"], &got["attributes"]["b"]), (&json!("5"), &json!("true")));
    let typed = json!({"username": "typed", "attributes": {"one": "v", "n": 5, "list": [1, "x", false]}});
    let typed = create(&app, "/realms/opaque/users", &master, typed).await;
    let attributes = get(&app, &format!("/realms/opaque/users/{typed}"), &master).await.json["attributes"].clone();
    assert_eq!(attributes, json!({"one": ["v"], "n": ["5"], "list": ["1", "x", "false"]}));

    let client = json!({
        "clientId": "fc",
        "frontchannelLogout": true,
        "webOrigins": ["+"],
        "redirectUris": ["http://127.0.0.1:9/cb"],
        "attributes": {"pkce.code.challenge.method": "S256", "post.logout.redirect.uris": "http://127.0.0.1:9/bye"},
    });
    let id = create(&app, "/realms/acme/clients", &master, client).await;
    let path = format!("/realms/acme/clients/{id}");
    let got = get(&app, &path, &master).await.json;
    assert_eq!((&got["frontchannelLogout"], &got["webOrigins"]), (&json!(true), &json!(["+"])), "{got}");
    assert_eq!(got["attributes"]["pkce.code.challenge.method"], "S256");
    change(&app, Method::PUT, &path, &master, Some(r#"{"frontchannelLogout": false, "description": "d"}"#)).await;
    let got = get(&app, &path, &master).await.json;
    assert_eq!((&got["frontchannelLogout"], &got["description"]), (&json!(false), &json!("d")), "{got}");
    assert_eq!((&got["webOrigins"], &got["attributes"]["pkce.code.challenge.method"]), (&json!(["+"]), &json!("S256")));
    // A role's scopes travel in its attributes: sending another key keeps them.
    let role = json!({"name": "mailer", "attributes": {"scopes": ["email"]}});
    create(&app, "/realms/acme/roles", &master, role).await;
    change(&app, Method::PUT, "/realms/acme/roles/mailer", &master, Some(r#"{"attributes": {"foo": ["bar"]}}"#)).await;
    let got = get(&app, "/realms/acme/roles/mailer", &master).await.json;
    assert_eq!(got["attributes"]["scopes"], json!(["email"]), "{got}");
    assert_eq!(got["attributes"]["foo"], json!(["bar"]), "other attributes are kept too: {got}");
    let bad =
        call(&app, Method::PUT, "/realms/acme/roles/mailer", &master, Some(json!({"attributes": {"n": 5}}))).await;
    assert_bad_request(&bad);
    let composite = json!({"name": "both", "composite": true, "composites": {"realm": ["mailer"]}});
    assert_bad_request(&call(&app, Method::POST, "/realms/acme/roles", &master, Some(composite)).await);
    // A client scope's Keycloak attributes and protocol mappers are kept.
    let mapper = json!({"name": "aud", "protocol": "openid-connect", "protocolMapper": "oidc-audience-mapper"});
    let scope = json!({
        "name": "tf.scope",
        "protocolMappers": [mapper],
        "attributes": {"consent.screen.text": "Custom consent", "display.on.consent.screen": "false", "gui.order": "5"},
    });
    let scope_id = create(&app, "/realms/acme/client-scopes", &master, scope).await;
    let scope_path = format!("/realms/acme/client-scopes/{scope_id}");
    change(&app, Method::PUT, &scope_path, &master, Some(r#"{"description": "d"}"#)).await;
    let got = get(&app, &scope_path, &master).await.json;
    assert_eq!(got["attributes"]["consent.screen.text"], "Custom consent", "{got}");
    assert_eq!(
        (&got["attributes"]["display.on.consent.screen"], &got["attributes"]["gui.order"]),
        (&json!("false"), &json!("5"))
    );
    assert_eq!((&got["protocolMappers"], &got["description"]), (&json!([mapper]), &json!("d")));
    // Sending one attribute keeps the others, the modelled post-logout URIs too.
    change(&app, Method::PUT, &path, &master, Some(r#"{"attributes": {"x.custom": "1"}}"#)).await;
    let got = get(&app, &path, &master).await.json;
    assert_eq!(got["attributes"]["x.custom"], "1");
    assert_eq!(got["attributes"]["pkce.code.challenge.method"], "S256", "{got}");
    assert_eq!(got["attributes"]["post.logout.redirect.uris"], "http://127.0.0.1:9/bye", "{got}");

    let user = json!({"username": "tagged", "enabled": true, "attributes": {"team": ["blue"]}});
    let id = create(&app, "/realms/acme/users", &master, user).await;
    let path = format!("/realms/acme/users/{id}");
    change(&app, Method::PUT, &path, &master, Some(r#"{"firstName": "T"}"#)).await;
    assert_eq!(get(&app, &path, &master).await.json["attributes"], json!({"team": ["blue"]}));
}

async fn missing_things_are_404_and_bad_bodies_are_400(app: TestApp) {
    let master = master_token(&app).await;
    let nobody = uuid::Uuid::new_v4();
    let alice = user_id(&app, "acme", &master, "alice").await;
    let grants = format!("/realms/acme/users/{alice}/role-mappings/realm");
    let mut errors = Vec::new();
    for (method, path, body) in [
        (Method::GET, "/realms/nope".to_owned(), None),
        (Method::GET, "/realms/nope/users".to_owned(), None),
        (Method::GET, format!("/realms/acme/users/{nobody}"), None),
        (Method::GET, "/realms/acme/users/not-a-uuid".to_owned(), None),
        (Method::PUT, format!("/realms/acme/users/{nobody}"), Some(json!({"firstName": "X"}))),
        (Method::GET, format!("/realms/acme/clients/{nobody}"), None),
        (Method::DELETE, format!("/realms/acme/clients/{nobody}"), None),
        (Method::GET, "/realms/acme/roles/nope".to_owned(), None),
        (Method::GET, format!("/realms/acme/roles-by-id/{nobody}"), None),
        (Method::GET, format!("/realms/acme/client-scopes/{nobody}"), None),
        (Method::POST, grants.clone(), Some(json!([{"id": nobody, "name": "nope"}]))),
    ] {
        let answer = call(&app, method.clone(), &path, &master, body).await;
        assert_eq!(answer.status, 404, "{method} {path}: {}", answer.text);
        errors.push(answer);
    }
    // A role named with the id of another is not found either.
    let viewer = get(&app, "/realms/acme/roles/viewer", &master).await.json;
    let wrong = call(&app, Method::POST, &grants, &master, Some(json!([{"id": nobody, "name": viewer["name"]}]))).await;
    assert_eq!(wrong.status, 404, "{}", wrong.text);
    assert_eq!(get(&app, &grants, &master).await.json, json!([]));

    for (method, path, body) in [
        (Method::POST, "/realms/acme/users", r#"{"username": "#),
        (Method::POST, "/realms/acme/users", "[1, 2]"),
        (Method::POST, "/realms/acme/users", r#"{"username": "x", "email": 5}"#),
        (Method::POST, "/realms/acme/users", r#"{"enabled": true}"#),
        (Method::POST, "/realms/acme/clients", r#"{"clientId": 5}"#),
        (Method::POST, "/realms/acme/clients", r#"{"clientId": "bad", "redirectUris": "http://x"}"#),
        (Method::POST, "/realms", r#"{"realm": "Not A Name!"}"#),
        (Method::PUT, "/realms/acme", r#"{"accessTokenLifespan": "soon"}"#),
        (Method::PUT, "/realms/acme", "not json"),
        (Method::POST, grants.as_str(), r#"{"name": "viewer"}"#),
        (Method::GET, "/realms/acme/users?first=x", ""),
        // Wrong types never quietly turn a setting off.
        (Method::PUT, "/realms/acme", r#"{"enabled": "yes"}"#),
        (Method::PUT, "/realms/acme", r#"{"revokeRefreshToken": "nah"}"#),
        (Method::PUT, "/realms/acme", r#"{"attributes": "str"}"#),
        (Method::PUT, "/realms/acme", r#"{"attributes": {"realmgate.queryTokens": "maybe"}}"#),
        (Method::POST, "/realms/acme/clients", r#"{"clientId": "typo", "standardFlowEnabled": "yes"}"#),
        (Method::POST, "/realms/acme/users", r#"{"username": "wt1", "enabled": "nope"}"#),
        (Method::PUT, "/realms/acme/events/config", r#"{"eventsEnabled": "x"}"#),
        (Method::PUT, "/realms/acme/roles/viewer", r#"{"attributes": "x"}"#),
        (Method::POST, "/realms/acme/roles", r#"{"name": "typo", "attributes": "x"}"#),
        (Method::POST, "/realms/acme/roles", r#"{"name": "typo", "attributes": {"scopes": [1]}}"#),
        (Method::POST, "/realms/acme/client-scopes", r#"{"name": "typo", "attributes": [1]}"#),
        (Method::POST, "/realms/acme/clients", r#"{"clientId": "typo", "secret": 5}"#),
        (Method::POST, grants.as_str(), r#"["viewer"]"#),
    ] {
        let answer = app.admin(method.clone(), path, Some(&master), Some(body)).await;
        assert_eq!(answer.status, 400, "{method} {path} {body}: {}", answer.text);
        assert_bad_request(&answer);
    }
    assert_eq!(get(&app, "/realms/acme/users/count", &master).await.json, json!(3), "nothing was added");
    assert_eq!(get(&app, "/realms/acme", &master).await.json["accessTokenLifespan"], 600);
    assert_eq!(get(&app, "/realms/acme", &master).await.json["enabled"], true);
    assert_eq!(get(&app, "/realms/acme/clients?clientId=typo", &master).await.json, json!([]));
    // Last, so that a wording slip does not hide the checks above.
    let wrong: Vec<&str> = errors.iter().filter(|a| !not_found_body(a)).map(|a| a.text.as_str()).collect();
    assert!(wrong.is_empty(), "404 bodies must read {{\"error\": \"… not found\"}}: {wrong:?}");
}

/// Representations realmgate cannot honour are 400 and change nothing,
/// rather than being half-applied or stored where secrets would show.
async fn what_cannot_be_honoured_is_refused(app: TestApp) {
    let master = master_token(&app).await;
    // (An export's users and clients are imported: see `import`; its groups are not.)
    let export = json!({
        "realm": "imported",
        "users": [{"username": "u", "credentials": [{"type": "password", "value": "CLEAR-PW"}]}],
        "groups": [{"name": "staff"}],
    });
    let answer = call(&app, Method::POST, "/realms", &master, Some(export)).await;
    assert_bad_request(&answer);
    assert!(answer.text.contains("`groups`"), "{}", answer.text);
    assert_eq!(call(&app, Method::GET, "/realms/imported", &master, None).await.status, 404, "nothing was created");
    let empty = json!({"realm": "bare", "users": [], "clients": [], "roles": {}});
    assert_eq!(call(&app, Method::POST, "/realms", &master, Some(empty)).await.status, 201, "empty parts are fine");
    let answer =
        call(&app, Method::PUT, "/realms/acme", &master, Some(json!({"roles": {"realm": [{"name": "x"}]}}))).await;
    assert_bad_request(&answer);

    // An SMTP password is not kept, and reads as Keycloak masks it.
    let smtp = json!({"smtpServer": {"host": "mail.example", "password": "SMTP-PW"}});
    change(&app, Method::PUT, "/realms/acme", &master, Some(&smtp.to_string())).await;
    let realm = get(&app, "/realms/acme", &master).await;
    assert_eq!(realm.json["smtpServer"], json!({"host": "mail.example", "password": "**********"}));
    assert!(!realm.text.contains("SMTP-PW"));

    // Lifetimes beyond 100 years would overflow timestamps.
    for body in [
        json!({"accessTokenLifespan": i64::MAX}),
        json!({"oauth2DevicePollingInterval": 4_000_000_000i64}),
        json!({"attributes": {"realmgate.refreshTokenLifespan": i64::MAX.to_string()}}),
    ] {
        let answer = call(&app, Method::PUT, "/realms/acme", &master, Some(body.clone())).await;
        assert_bad_request(&answer);
    }
    assert_eq!(get(&app, "/realms/acme", &master).await.json["accessTokenLifespan"], 600);

    // Filters realmgate cannot apply are refused rather than ignored.
    for query in ["q=dept:ops", "idpAlias=google"] {
        assert_bad_request(&call(&app, Method::GET, &format!("/realms/acme/users?{query}"), &master, None).await);
        assert_bad_request(&call(&app, Method::GET, &format!("/realms/acme/users/count?{query}"), &master, None).await);
    }

    // An e-mail address needs a local part and a domain.
    let user = json!({"username": "bad-mail", "email": "not-an-email"});
    assert_bad_request(&call(&app, Method::POST, "/realms/acme/users", &master, Some(user)).await);
    // Groups do not exist; client roles are given through the role
    // mappings, and never read back as held because a body named them.
    let user = json!({"username": "grouped", "groups": ["/admins"]});
    assert_bad_request(&call(&app, Method::POST, "/realms/acme/users", &master, Some(user)).await);
    let user = json!({"username": "eve", "clientRoles": {"realm-management": ["realm-admin"]}, "groups": []});
    let eve = create(&app, "/realms/acme/users", &master, user).await;
    let read = get(&app, &format!("/realms/acme/users/{eve}"), &master).await.json;
    assert!(read.get("clientRoles").is_none() && read.get("groups").is_none(), "{read}");
    let mappings = get(&app, &format!("/realms/acme/users/{eve}/role-mappings"), &master).await.json;
    assert!(!mappings.to_string().contains("realm-admin"), "{mappings}");
    // A realm read and sent back with empty content lists does not read
    // back as a realm without clients.
    let empty = json!({"clients": [], "users": [], "groups": []});
    change(&app, Method::PUT, "/realms/acme", &master, Some(&empty.to_string())).await;
    let realm = get(&app, "/realms/acme", &master).await.json;
    assert!(realm.get("clients").is_none() && realm.get("users").is_none(), "{realm}");

    // So are kinds of client realmgate does not have.
    for client in [
        json!({"clientId": "saml-app", "protocol": "saml"}),
        json!({"clientId": "jwt-app", "clientAuthenticatorType": "client-jwt"}),
        json!({"clientId": "api", "bearerOnly": true}),
    ] {
        assert_bad_request(&call(&app, Method::POST, "/realms/acme/clients", &master, Some(client)).await);
    }
    // Nor client scopes of another protocol.
    let saml_scope = json!({"name": "saml-attrs", "protocol": "saml"});
    assert_bad_request(&call(&app, Method::POST, "/realms/acme/client-scopes", &master, Some(saml_scope)).await);
    let scopes = get(&app, "/realms/acme/client-scopes", &master).await.json;
    assert!(!scopes.as_array().unwrap().iter().any(|s| s["name"] == "saml-attrs"), "{scopes}");
    // Nor settings stored to be ignored: authorization services, one
    // client's own lifetimes, a password policy.
    for client in [
        json!({"clientId": "authz", "authorizationServicesEnabled": true}),
        json!({"clientId": "short", "attributes": {"access.token.lifespan": "60"}}),
        json!({"clientId": "idle", "attributes": {"client.session.idle.timeout": 600}}),
    ] {
        assert_bad_request(&call(&app, Method::POST, "/realms/acme/clients", &master, Some(client)).await);
    }
    let policy = json!({"passwordPolicy": "length(12)"});
    assert_bad_request(&call(&app, Method::PUT, "/realms/acme", &master, Some(policy)).await);
    let unset = json!({"clientId": "unset", "authorizationServicesEnabled": false, "attributes": {"access.token.lifespan": ""}});
    create(&app, "/realms/acme/clients", &master, unset).await;
    let fine = json!({"clientId": "oidc-app", "protocol": "openid-connect", "clientAuthenticatorType": "client-secret", "bearerOnly": false});
    create(&app, "/realms/acme/clients", &master, fine).await;
}

/// Deleting a client scope takes it out of every list that named it, so
/// what is read can be sent back, and an export applied again.
async fn a_deleted_scope_is_forgotten_everywhere(app: TestApp) {
    let master = master_token(&app).await;
    let gone = create(&app, "/realms/acme/client-scopes", &master, json!({"name": "gone"})).await;
    let keeper = json!({"name": "keeper", "attributes": {"realmgate.implies": "gone"}});
    let keeper = create(&app, "/realms/acme/client-scopes", &master, keeper).await;
    let role = json!({"name": "holder", "attributes": {"scopes": ["gone", "keeper"]}});
    create(&app, "/realms/acme/roles", &master, role).await;
    let web = client_uuid(&app, "acme", &master, "web").await;
    for list in ["default-client-scopes", "optional-client-scopes"] {
        let scope = if list == "default-client-scopes" { &gone } else { &keeper };
        change(&app, Method::PUT, &format!("/realms/acme/clients/{web}/{list}/{scope}"), &master, None).await;
    }
    change(&app, Method::PUT, &format!("/realms/acme/default-default-client-scopes/{gone}"), &master, None).await;
    change(&app, Method::PUT, &format!("/realms/acme/default-optional-client-scopes/{gone}"), &master, None).await;

    change(&app, Method::DELETE, &format!("/realms/acme/client-scopes/{gone}"), &master, None).await;
    let client = get(&app, &format!("/realms/acme/clients/{web}"), &master).await.json;
    assert!(!client.to_string().contains("\"gone\""), "{client}");
    let scope = get(&app, &format!("/realms/acme/client-scopes/{keeper}"), &master).await.json;
    assert_eq!(scope["attributes"]["realmgate.implies"], "", "{scope}");
    let role = get(&app, "/realms/acme/roles/holder", &master).await.json;
    assert_eq!(role["attributes"]["scopes"], json!(["keeper"]));
    for list in ["default-default-client-scopes", "default-optional-client-scopes"] {
        let names = get(&app, &format!("/realms/acme/{list}"), &master).await.json;
        assert!(!names.to_string().contains("\"gone\""), "{list}: {names}");
    }
    // What was read goes back unchanged.
    change(&app, Method::PUT, &format!("/realms/acme/clients/{web}"), &master, Some(&client.to_string())).await;
    change(&app, Method::PUT, &format!("/realms/acme/client-scopes/{keeper}"), &master, Some(&scope.to_string())).await;
    // A built-in scope too, though it cannot be changed.
    let scopes = get(&app, "/realms/acme/client-scopes", &master).await.json;
    let profile = scopes.as_array().unwrap().iter().find(|s| s["name"] == "profile").expect("profile").clone();
    let path = format!("/realms/acme/client-scopes/{}", profile["id"].as_str().unwrap());
    let read = get(&app, &path, &master).await.json;
    change(&app, Method::PUT, &path, &master, Some(&read.to_string())).await;
    let mut changed = read.clone();
    changed["description"] = "mine".into();
    let refused = app.admin(Method::PUT, &path, Some(&master), Some(&changed.to_string())).await;
    assert_eq!(refused.status, 400, "{}", refused.json);
    // And the realm's export applies again.
    let out = app.cli(&["realm", "export", "acme"], None);
    let file = app.db.dir.path().join("after-delete.toml");
    std::fs::write(&file, &out.stdout).unwrap();
    let applied = app.cli(&["realm", "import", file.to_str().unwrap()], None);
    assert!(applied.status.success(), "{}", String::from_utf8_lossy(&applied.stderr));
}

/// As in Keycloak, a scope is a client's default or optional scope: adding
/// it to one list moves it out of the other.
async fn a_clients_scope_is_default_or_optional_not_both(app: TestApp) {
    let master = master_token(&app).await;
    let scope = create(&app, "/realms/acme/client-scopes", &master, json!({"name": "either"})).await;
    let web = client_uuid(&app, "acme", &master, "web").await;
    let names = |list: &'static str| {
        let (app, master, web) = (&app, &master, &web);
        async move {
            let found = get(app, &format!("/realms/acme/clients/{web}/{list}"), master).await.json;
            found.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
        }
    };
    let put = |list: &str| format!("/realms/acme/clients/{web}/{list}/{scope}");
    change(&app, Method::PUT, &put("optional-client-scopes"), &master, None).await;
    assert!(names("optional-client-scopes").await.contains(&"either".to_owned()));
    change(&app, Method::PUT, &put("default-client-scopes"), &master, None).await;
    assert!(names("default-client-scopes").await.contains(&"either".to_owned()));
    assert!(!names("optional-client-scopes").await.contains(&"either".to_owned()), "moved, not copied");
    change(&app, Method::PUT, &put("optional-client-scopes"), &master, None).await;
    assert!(!names("default-client-scopes").await.contains(&"either".to_owned()), "and back");

    // In a representation: a name in both lists is a default one; an
    // unknown optional name is refused, not kept to grant a scope made
    // later under that name.
    let path = format!("/realms/acme/clients/{web}");
    let both = json!({"defaultClientScopes": ["profile", "either"], "optionalClientScopes": ["either"]});
    change(&app, Method::PUT, &path, &master, Some(&both.to_string())).await;
    assert!(names("default-client-scopes").await.contains(&"either".to_owned()));
    assert!(!names("optional-client-scopes").await.contains(&"either".to_owned()));
    let before = get(&app, &path, &master).await.json;
    for body in [json!({"optionalClientScopes": ["billing.admin"]}), json!({"optionalClientScopes": "either"})] {
        let refused = app.admin(Method::PUT, &path, Some(&master), Some(&body.to_string())).await;
        assert_eq!(refused.status, 400, "{body}: {}", refused.json);
    }
    let created = json!({"clientId": "ghostly", "optionalClientScopes": ["billing.admin"]}).to_string();
    let refused = app.admin(Method::POST, "/realms/acme/clients", Some(&master), Some(&created)).await;
    assert_eq!(refused.status, 400, "{}", refused.json);
    assert_eq!(get(&app, &path, &master).await.json, before, "refusals change nothing");
    assert_eq!(get(&app, "/realms/acme/clients?clientId=ghostly", &master).await.json, json!([]));

    // The realm's lists for new clients alike: adding to one moves it out of the other.
    let realm_list = |list: &'static str| {
        let (app, master) = (&app, &master);
        async move {
            let found = get(app, &format!("/realms/acme/{list}"), master).await.json;
            found.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
        }
    };
    let realm_put = |list: &str| format!("/realms/acme/{list}/{scope}");
    change(&app, Method::PUT, &realm_put("default-default-client-scopes"), &master, None).await;
    change(&app, Method::PUT, &realm_put("default-optional-client-scopes"), &master, None).await;
    assert!(realm_list("default-optional-client-scopes").await.contains(&"either".to_owned()));
    assert!(!realm_list("default-default-client-scopes").await.contains(&"either".to_owned()), "moved");
    let lists = json!({"defaultDefaultClientScopes": ["either"], "defaultOptionalClientScopes": ["either"]});
    let refused = app.admin(Method::PUT, "/realms/acme", Some(&master), Some(&lists.to_string())).await;
    assert_eq!(refused.status, 400, "{}", refused.json);
}
