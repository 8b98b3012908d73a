//! Pruning keeps the database bounded and never touches live data.

use diesel::RunQueryDsl;
use diesel::sql_types::Bool;
use realmgate::clock::Clock;
use realmgate::services::maintenance::{prune, prune_and_reclaim};
use realmgate::storage::{DatabaseUrl, Db, DbConnection, StorageError};

use crate::both_backends;
use crate::browser::{Browser, CHALLENGE, auth_url};
use crate::helpers::{TestApp, jwt_parts};

both_backends!(pruning_removes_only_what_is_dead, a_revocation_outlives_a_shortened_token_lifetime);

async fn pruning_removes_only_what_is_dead(app: TestApp) {
    // Live things: a refresh family, a session with a code, a device code, a revocation.
    let tokens = app.alice_tokens("openid").await;
    let revoked = app.alice_tokens("openid").await;
    assert_eq!(app.revoke("acme", ("web", "web-secret"), revoked.str("access_token")).await.status, 200);
    let browser = Browser::new();
    let params = [
        ("client_id", "web"),
        ("redirect_uri", "http://127.0.0.1:9/cb"),
        ("response_type", "code"),
        ("scope", "openid"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    let login = browser.get(&auth_url(&app, "acme", &params)).await;
    assert_eq!(browser.login(&login, "alice", "alice-pw").await.status, 302);
    let device = app
        .post_form("acme", "/protocol/openid-connect/auth/device", None, &[("client_id", "tv"), ("scope", "openid")])
        .await;
    assert_eq!(device.status, 200);

    let db = Db::connect(DatabaseUrl::parse(&app.db.url).unwrap(), 1).unwrap();
    let now = chrono::Utc::now().timestamp();
    let nothing = db.write(move |conn| prune(conn, now)).await.unwrap();
    assert_eq!(
        (nothing.refresh_families, nothing.codes, nothing.sessions, nothing.device_codes, nothing.revocations),
        (0, 0, 0, 0, 0),
        "nothing live is pruned: {nothing:?}"
    );
    assert_eq!(app.refresh("acme", ("web", "web-secret"), tokens.str("refresh_token")).await.status, 200);
    assert_eq!(app.userinfo("acme", revoked.str("access_token")).await.status, 401, "the revocation still holds");
    // An expired device code stays a while: polled, it is `expired_token`
    // (RFC 8628 §3.5), not unknown.
    let expired = now + device.json["expires_in"].as_i64().unwrap() + 3600;
    let kept = prune_and_reclaim(&db, expired).await.unwrap();
    assert_eq!(kept.device_codes, 0, "{kept:?}");

    // A year later everything above is dead and goes.
    let later = now + 400 * 86400;
    let pruned = prune_and_reclaim(&db, later).await.unwrap();
    assert_eq!(pruned.device_codes, 1, "{pruned:?}");
    // (Some of the rest had died an hour after the device code.)
    assert!(kept.refresh_families + pruned.refresh_families >= 2, "{kept:?} {pruned:?}");
    assert_eq!((kept.codes + pruned.codes, kept.sessions + pruned.sessions), (1, 1), "{kept:?} {pruned:?}");
    assert!(kept.revocations + pruned.revocations >= 1, "{kept:?} {pruned:?}");
    let again = db.write(move |conn| prune(conn, later)).await.unwrap();
    assert_eq!(again, Default::default(), "pruning twice finds nothing more");
    if !db.url().is_sqlite() {
        for table in ["refresh_tokens", "refresh_families", "auth_codes", "sso_sessions", "revoked_tokens"] {
            let vacuumed = db.run(move |conn| vacuumed(conn, table)).await.unwrap();
            assert!(vacuumed, "{table}'s freed space is made reusable");
        }
    }
}

/// Whether the table in the test's schema was vacuumed by a VACUUM command
/// (`last_vacuum`; autovacuum's runs count under `last_autovacuum`).
fn vacuumed(conn: &mut DbConnection, table: &'static str) -> Result<bool, StorageError> {
    let DbConnection::Postgres(pg) = conn else { unreachable!("PostgreSQL only") };
    let query = format!(
        "EXISTS (SELECT 1 FROM pg_stat_user_tables WHERE schemaname = current_schema() \
         AND relname = '{table}' AND last_vacuum IS NOT NULL)"
    );
    Ok(diesel::select(diesel::dsl::sql::<Bool>(&query)).get_result(pg)?)
}

/// A token issued under a longer access-token lifetime stays revoked until
/// it expires, though the lifetime was shortened before the revocation
/// (which, remembered only for the new lifetime, was pruned while the
/// token still had most of its life).
async fn a_revocation_outlives_a_shortened_token_lifetime(app: TestApp) {
    let master = app.master_token().await;
    let lifespan = |seconds: i64| serde_json::json!({"accessTokenLifespan": seconds}).to_string();
    // ID tokens live longer still, so the longest lifetime does not shrink:
    // the access tokens' does, and that is what revocations must cover.
    let longer = serde_json::json!({"accessTokenLifespan": 1800, "attributes": {"realmgate.idTokenLifespan": "3600"}});
    let set = app.admin(reqwest::Method::PUT, "/realms/acme", Some(&master), Some(&longer.to_string())).await;
    assert_eq!(set.status, 204, "{}", set.json);
    let tokens = app.alice_tokens("openid").await;
    let claims = jwt_parts(tokens.str("access_token")).1;
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 1800);
    let set = app.admin(reqwest::Method::PUT, "/realms/acme", Some(&master), Some(&lifespan(60))).await;
    assert_eq!(set.status, 204, "{}", set.json);
    // Revoking the refresh token revokes its grant's access tokens too.
    assert_eq!(app.revoke("acme", ("web", "web-secret"), tokens.str("refresh_token")).await.status, 200);
    assert_eq!(app.userinfo("acme", tokens.str("access_token")).await.status, 401);

    // Ten minutes on: past the new lifetime, well within the token's own.
    app.clock.advance(600);
    let db = Db::connect(DatabaseUrl::parse(&app.db.url).unwrap(), 1).unwrap();
    let now = app.clock.now();
    db.write(move |conn| prune(conn, now)).await.unwrap();
    assert_eq!(app.userinfo("acme", tokens.str("access_token")).await.status, 401, "still revoked");
    let introspected = app.introspect("acme", ("web", "web-secret"), tokens.str("access_token")).await;
    assert_eq!(introspected.json, serde_json::json!({"active": false}));
}
