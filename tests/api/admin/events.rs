//! The realm's event settings (`events/config`, and the same fields of the
//! realm representation) decide which events are stored and for how long.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use super::{ADMIN_REALMS, assert_bad_request, call, change, get, master_token};
use crate::both_backends;
use crate::helpers::TestApp;
use realmgate::services::maintenance::prune_events;
use realmgate::storage::{DatabaseUrl, Db};

both_backends!(
    realms = ADMIN_REALMS;
    the_event_settings_decide_what_is_stored,
    turning_admin_events_off_is_itself_recorded,
    a_realm_keeps_its_events_no_longer_than_it_says,
);

const WEB: (&str, &str) = ("web", "web-secret");
const ALICE: (&str, &str) = ("alice", "alice-pw");
const CONFIG: &str = "/realms/acme/events/config";

/// The realm's user events of `kind`, once the batch writer has stored what
/// was recorded before `marker` (a LOGIN_ERROR sent last, always stored).
async fn events_of(app: &TestApp, token: &str, kind: &str, marker: &str) -> Vec<Value> {
    for _ in 0..100 {
        let all = get(app, "/realms/acme/events?max=1000", token).await.json;
        let all = all.as_array().unwrap().clone();
        if all.iter().any(|e| e["type"] == "LOGIN_ERROR" && e["details"]["username"] == marker) {
            return all.into_iter().filter(|e| e["type"] == kind).collect();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the marker event {marker} was never stored");
}

/// A failed password grant for the made-up user `marker`.
async fn mark(app: &TestApp, marker: &str) {
    let answer = app.password_grant("acme", WEB, (marker, "nope"), "openid").await;
    assert_eq!(answer.status, 400, "{}", answer.json);
}

async fn the_event_settings_decide_what_is_stored(app: TestApp) {
    let master = master_token(&app).await;
    let defaults = get(&app, CONFIG, &master).await.json;
    assert_eq!(defaults["eventsEnabled"], true);
    assert_eq!(defaults["adminEventsEnabled"], true);
    assert_eq!(defaults["enabledEventTypes"], json!([]));
    assert!(defaults["eventsExpiration"].as_i64().is_some_and(|s| s > 0), "{defaults}");
    // The realm's representation says the same, set or not (it left them
    // out, which typed clients read as off).
    let realm = get(&app, "/realms/acme", &master).await.json;
    for field in ["eventsEnabled", "adminEventsEnabled", "adminEventsDetailsEnabled", "enabledEventTypes"] {
        assert_eq!(realm[field], defaults[field], "{field}: {realm}");
    }

    let tokens = app.password_grant("acme", WEB, ALICE, "openid").await;
    assert_eq!(tokens.status, 200);
    // Refreshes are not stored by default, as in Keycloak.
    let refreshed = app.refresh("acme", WEB, tokens.str("refresh_token")).await;
    assert_eq!(refreshed.status, 200);
    // A client that fails to authenticate is in the log too (as Keycloak
    // logs it), under the client id it presented.
    app.client_credentials("acme", "robot", "not-the-secret", None).await.assert_error(401, "invalid_client");
    app.client_credentials("acme", "no-such-robot", "x", None).await.assert_error(401, "invalid_client");
    // A wrong password is recorded under its user, as Keycloak records it.
    let wrong = app.password_grant("acme", WEB, (ALICE.0, "not-her-password"), "openid").await;
    wrong.assert_error(400, "invalid_grant");
    mark(&app, "marker-1").await;
    assert_eq!(events_of(&app, &master, "LOGIN", "marker-1").await.len(), 1);
    let refused = events_of(&app, &master, "CLIENT_LOGIN_ERROR", "marker-1").await;
    assert_eq!(refused.len(), 2, "{refused:?}");
    let error_of = |client: &str| refused.iter().find(|e| e["clientId"] == client).map(|e| e["error"].clone());
    // Keycloak's codes (the answers still look alike).
    assert_eq!(error_of("robot"), Some(json!("invalid_client_credentials")));
    assert_eq!(error_of("no-such-robot"), Some(json!("client_not_found")));
    let logins = events_of(&app, &master, "LOGIN_ERROR", "marker-1").await;
    let alice = super::user_id(&app, "acme", &master, ALICE.0).await;
    let hers = logins.iter().find(|e| e["details"]["username"] == ALICE.0).expect("her failed login");
    assert_eq!((&hers["error"], &hers["userId"]), (&json!("invalid_user_credentials"), &json!(alice)));
    let unknown = logins.iter().find(|e| e["details"]["username"] == "marker-1").unwrap();
    assert_eq!(unknown["error"], "user_not_found");
    assert!(unknown.get("userId").is_none_or(Value::is_null), "{unknown}");
    assert_eq!(events_of(&app, &master, "REFRESH_TOKEN", "marker-1").await.len(), 0);

    // Only some types: a LOGIN is no longer stored, its error still is, and
    // a refresh, once listed, is.
    let only_errors = json!({"enabledEventTypes": ["LOGIN_ERROR", "REFRESH_TOKEN"], "eventsExpiration": 3600});
    change(&app, Method::PUT, CONFIG, &master, Some(&only_errors.to_string())).await;
    let config = get(&app, CONFIG, &master).await.json;
    assert_eq!(config["enabledEventTypes"], json!(["LOGIN_ERROR", "REFRESH_TOKEN"]));
    assert_eq!(config["eventsExpiration"], 3600);
    assert_eq!(config["eventsEnabled"], true, "fields left out keep their values");
    let realm = get(&app, "/realms/acme", &master).await.json;
    assert_eq!(realm["enabledEventTypes"], json!(["LOGIN_ERROR", "REFRESH_TOKEN"]), "the realm representation too");
    let tokens = app.password_grant("acme", WEB, ALICE, "openid").await;
    assert_eq!(tokens.status, 200);
    assert_eq!(app.refresh("acme", WEB, tokens.str("refresh_token")).await.status, 200);
    mark(&app, "marker-2").await;
    assert_eq!(events_of(&app, &master, "LOGIN", "marker-2").await.len(), 1, "no new LOGIN stored");
    assert_eq!(events_of(&app, &master, "REFRESH_TOKEN", "marker-2").await.len(), 1);

    // Bad settings are refused and change nothing.
    for bad in [
        json!({"eventsEnabled": "sometimes"}),
        json!({"eventsExpiration": -5}),
        json!({"eventsExpiration": "soon"}),
        json!({"enabledEventTypes": "LOGIN"}),
        json!({"enabledEventTypes": [1, 2]}),
        json!({"eventsListeners": [""]}),
    ] {
        assert_bad_request(&call(&app, Method::PUT, CONFIG, &master, Some(bad.clone())).await);
        let realm_put = call(&app, Method::PUT, "/realms/acme", &master, Some(bad.clone())).await;
        assert_bad_request(&realm_put);
    }
    assert_eq!(get(&app, CONFIG, &master).await.json, config);

    // Off, through the realm representation (as Keycloak's has the same
    // fields, with a boolean as a string as python-keycloak may send it):
    // nothing is stored, not even errors.
    change(&app, Method::PUT, "/realms/acme", &master, Some(r#"{"eventsEnabled": "false"}"#)).await;
    assert_eq!(get(&app, CONFIG, &master).await.json["eventsEnabled"], false);
    mark(&app, "marker-3").await;

    // On again, every type.
    let all_types = json!({"eventsEnabled": true, "enabledEventTypes": []});
    change(&app, Method::PUT, CONFIG, &master, Some(&all_types.to_string())).await;
    assert_eq!(app.password_grant("acme", WEB, ALICE, "openid").await.status, 200);
    mark(&app, "marker-4").await;
    assert_eq!(events_of(&app, &master, "LOGIN", "marker-4").await.len(), 2);
    // Stored in order: once marker-4 is there, marker-3 would have been.
    let errors = events_of(&app, &master, "LOGIN_ERROR", "marker-4").await;
    assert!(!errors.iter().any(|e| e["details"]["username"] == "marker-3"), "stored while off: {errors:?}");
    // The other realm was never touched.
    assert_eq!(get(&app, "/realms/other/events/config", &master).await.json, defaults);

    // Keycloak's filters by address and by who acted narrow the lists.
    let count = |path: String| {
        let (app, master) = (&app, &master);
        async move { get(app, &path, master).await.json.as_array().unwrap().len() }
    };
    assert!(count("/realms/acme/events?ipAddress=127.0.0.1".into()).await > 0);
    assert_eq!(count("/realms/acme/events?ipAddress=192.0.2.9".into()).await, 0);
    let changes = get(&app, "/realms/acme/admin-events", &master).await.json;
    let by = &changes[0]["authDetails"];
    for (filter, value) in
        [("authRealm", &by["realmId"]), ("authClient", &by["clientId"]), ("authIpAddress", &by["ipAddress"])]
    {
        let value = value.as_str().unwrap();
        assert!(count(format!("/realms/acme/admin-events?{filter}={value}")).await > 0, "{filter}={value}");
        assert_eq!(count(format!("/realms/acme/admin-events?{filter}=192.0.2.9")).await, 0, "{filter}");
    }

    // Changes made within one second list newest first, in the order made.
    for name in ["ordered-1", "ordered-2", "ordered-3", "ordered-4", "ordered-5"] {
        super::create(&app, "/realms/acme/roles", &master, serde_json::json!({ "name": name })).await;
    }
    let changes = get(&app, "/realms/acme/admin-events?max=5", &master).await.json;
    let paths: Vec<&str> = changes.as_array().unwrap().iter().map(|e| e["resourcePath"].as_str().unwrap()).collect();
    assert_eq!(paths, ["roles/ordered-5", "roles/ordered-4", "roles/ordered-3", "roles/ordered-2", "roles/ordered-1"]);
    // Keycloak's `direction=asc` lists the oldest first (it was ignored).
    let all = get(&app, "/realms/acme/admin-events?max=1000", &master).await.json;
    let oldest = get(&app, "/realms/acme/admin-events?direction=asc&max=1000", &master).await.json;
    let mut reversed = all.as_array().unwrap().clone();
    reversed.reverse();
    assert_eq!(oldest.as_array().unwrap(), &reversed);
    let events = get(&app, "/realms/acme/events?max=1000", &master).await.json;
    let ascending = get(&app, "/realms/acme/events?max=1000&direction=ASC", &master).await.json;
    let mut reversed = events.as_array().unwrap().clone();
    reversed.reverse();
    assert!(reversed.len() > 1);
    assert_eq!(ascending.as_array().unwrap(), &reversed);
    assert_bad_request(&call(&app, Method::GET, "/realms/acme/events?direction=up", &master, None).await);
}

async fn turning_admin_events_off_is_itself_recorded(app: TestApp) {
    let master = master_token(&app).await;
    let changed_users = |log: &Value| {
        log.as_array().unwrap().iter().filter(|e| e["resourceType"] == "USER" && e["operationType"] == "UPDATE").count()
    };
    let alice = super::user_id(&app, "acme", &master, "alice").await;
    let user_path = format!("/realms/acme/users/{alice}");
    change(&app, Method::PUT, &user_path, &master, Some(r#"{"firstName": "Al"}"#)).await;
    let log = get(&app, "/realms/acme/admin-events", &master).await.json;
    assert_eq!(changed_users(&log), 1, "{log}");

    change(&app, Method::PUT, CONFIG, &master, Some(r#"{"adminEventsEnabled": false}"#)).await;
    change(&app, Method::PUT, &user_path, &master, Some(r#"{"firstName": "Ali"}"#)).await;
    let log = get(&app, "/realms/acme/admin-events", &master).await.json;
    assert_eq!(changed_users(&log), 1, "a change while off is not recorded: {log}");
    let switches =
        |log: &Value| log.as_array().unwrap().iter().filter(|e| e["resourcePath"] == "events/config").count();
    assert_eq!(switches(&log), 1, "turning it off is: {log}");

    change(&app, Method::PUT, CONFIG, &master, Some(r#"{"adminEventsEnabled": true}"#)).await;
    change(&app, Method::PUT, &user_path, &master, Some(r#"{"firstName": "Alice"}"#)).await;
    let log = get(&app, "/realms/acme/admin-events", &master).await.json;
    assert_eq!(switches(&log), 2, "turning it on is too: {log}");
    assert_eq!(changed_users(&log), 2, "{log}");
}

async fn a_realm_keeps_its_events_no_longer_than_it_says(app: TestApp) {
    let master = master_token(&app).await;
    change(&app, Method::PUT, CONFIG, &master, Some(r#"{"eventsExpiration": 60}"#)).await;
    mark(&app, "kept-briefly").await;
    let form = [("grant_type", "password"), ("client_id", "admin-cli"), ("username", "olga"), ("password", "wrong")];
    assert_eq!(app.token("other", None, &form).await.status, 400);
    let count = |realm: &'static str| {
        let master = master.clone();
        let app = &app;
        async move { get(app, &format!("/realms/{realm}/events?max=1000"), &master).await.json.as_array().unwrap().len() }
    };
    for _ in 0..100 {
        if count("acme").await > 0 && count("other").await > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (acme, other) = (count("acme").await, count("other").await);
    assert!(acme > 0 && other > 0, "{acme} {other}");

    let db = Db::connect(DatabaseUrl::parse(&app.db.url).unwrap(), 1).unwrap();
    let now = realmgate::clock::Clock::now(app.clock.as_ref());
    let retention = 30 * 86400;
    assert_eq!(db.write(move |conn| prune_events(conn, now, retention)).await.unwrap(), 0, "nothing is old yet");
    // Two minutes on: past acme's minute, well within the server's month.
    let pruned = db.write(move |conn| prune_events(conn, now + 120, retention)).await.unwrap();
    assert_eq!(pruned, acme);
    assert_eq!(count("acme").await, 0);
    assert_eq!(count("other").await, other, "another realm keeps the server's retention");
}

/// Events whose batch could not be stored (a full disk; here a trigger
/// refusing them) are kept and stored once the database takes them again,
/// not dropped (SQLite; PostgreSQL takes the same path).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_that_could_not_be_stored_are_tried_again() {
    use diesel::RunQueryDsl;
    let Some(app) = crate::helpers::spawn_app_with(crate::helpers::Backend::Sqlite, ADMIN_REALMS).await else {
        return;
    };
    let db = Db::connect(DatabaseUrl::parse(&app.db.url).unwrap(), 1).unwrap();
    let execute = |sql: &'static str| {
        let db = db.clone();
        async move {
            db.write(move |conn| Ok::<_, realmgate::storage::StorageError>(diesel::sql_query(sql).execute(conn)?))
                .await
                .unwrap()
        }
    };
    let master = master_token(&app).await;
    execute("CREATE TABLE hold (x INTEGER)").await;
    execute(
        "CREATE TRIGGER hold_events BEFORE INSERT ON events WHEN EXISTS (SELECT 1 FROM hold) \
         BEGIN SELECT RAISE(ABORT, 'held'); END",
    )
    .await;
    execute("INSERT INTO hold VALUES (1)").await;
    // A realm whose held event can never be stored: the realm is deleted
    // before the database takes events again (its foreign key breaks).
    let doomed = json!({"realm": "doomed", "enabled": true});
    assert_eq!(call(&app, Method::POST, "/realms", &master, Some(doomed)).await.status, 201);
    let form = [("grant_type", "password"), ("client_id", "admin-cli"), ("username", "nobody"), ("password", "x")];
    let refused = app.token("doomed", None, &form).await;
    assert_eq!(refused.status, 400, "{}", refused.json);
    assert_eq!(app.password_grant("acme", WEB, ALICE, "openid").await.status, 200);
    mark(&app, "while-held").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(call(&app, Method::DELETE, "/realms/doomed", &master, None).await.status, 204);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stored = get(&app, "/realms/acme/events?max=1000", &master).await.json;
    assert!(!stored.to_string().contains("while-held"), "held back: {stored}");
    execute("DELETE FROM hold").await;
    mark(&app, "released").await;
    assert_eq!(events_of(&app, &master, "LOGIN", "released").await.len(), 1, "the held LOGIN was stored");
    let errors = events_of(&app, &master, "LOGIN_ERROR", "released").await;
    assert!(errors.iter().any(|e| e["details"]["username"] == "while-held"), "{errors:?}");

    // One row the database refuses for a reason diesel does not name (as
    // PostgreSQL refuses text it cannot hold) is dropped; it does not hold
    // back every later batch.
    execute(
        "CREATE TRIGGER poison_events BEFORE INSERT ON events WHEN NEW.details LIKE '%toxic%' \
         BEGIN SELECT RAISE(ABORT, 'refused'); END",
    )
    .await;
    mark(&app, "toxic").await;
    mark(&app, "next-one").await;
    let errors = events_of(&app, &master, "LOGIN_ERROR", "next-one").await;
    assert!(errors.iter().any(|e| e["details"]["username"] == "next-one"), "{errors:?}");
    mark(&app, "later").await;
    let errors = events_of(&app, &master, "LOGIN_ERROR", "later").await;
    assert!(errors.iter().any(|e| e["details"]["username"] == "later"), "{errors:?}");
    assert!(!errors.iter().any(|e| e["details"]["username"] == "toxic"), "{errors:?}");
}
