use diesel::RunQueryDsl;
use diesel::sql_types::BigInt;
use realmgate::crypto::token_hash;
use realmgate::storage::{DatabaseUrl, Db, StorageError};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, jwt_parts, spawn_app_with};

both_backends!(
    refresh_rotates_and_detects_reuse,
    stale_generations_revoke_their_family_and_forged_ones_do_not,
    a_family_stays_one_row_however_often_it_rotates,
    tokens_from_before_generations_still_rotate,
    turning_rotation_off_keeps_only_the_current_token,
    refresh_narrows_but_never_widens,
    refresh_tokens_stay_with_their_client_and_realm,
    refresh_tokens_expire,
    offline_access_is_granted,
    concurrent_refreshes_of_one_token_have_one_winner
);

const WEB: (&str, &str) = ("web", "web-secret");

async fn refresh_rotates_and_detects_reuse(app: TestApp) {
    let first = app.alice_tokens("openid roms.read").await;
    let rt1 = first.str("refresh_token").to_owned();
    let second = app.refresh("acme", WEB, &rt1).await;
    assert_eq!(second.status, 200, "{}", second.json);
    assert_eq!(second.header("cache-control"), Some("no-store"));
    let rt2 = second.str("refresh_token").to_owned();
    assert_ne!(rt1, rt2, "rotation issues a new refresh token");
    assert_eq!(second.json["scope"], "openid roms.read");
    assert!(second.json["id_token"].is_string());
    let at2 = second.str("access_token").to_owned();
    assert_eq!(app.userinfo("acme", &at2).await.status, 200);

    // Replaying the spent token revokes the whole family.
    let replay = app.refresh("acme", WEB, &rt1).await;
    replay.assert_error(400, "invalid_grant");
    let after = app.refresh("acme", WEB, &rt2).await;
    after.assert_error(400, "invalid_grant");
    assert_eq!(after.json["error_description"], "Session not active");
    // ... and the access tokens it issued.
    assert_eq!(app.introspect("acme", ("svc", "svc-secret"), &at2).await.json, serde_json::json!({"active": false}));
    assert_eq!(app.userinfo("acme", &at2).await.status, 401);
    // A fresh grant still works.
    assert_eq!(app.alice_tokens("openid").await.status, 200);
}

async fn refresh_narrows_but_never_widens(app: TestApp) {
    let first = app.alice_tokens("openid roms.read").await;
    let rt = first.str("refresh_token").to_owned();
    let wider = app
        .token(
            "acme",
            Some(WEB),
            &[("grant_type", "refresh_token"), ("refresh_token", &rt), ("scope", "openid roms.write")],
        )
        .await;
    wider.assert_error(400, "invalid_scope");
    // The refused request changed nothing: the token still works, narrowed.
    let narrow = app
        .token("acme", Some(WEB), &[("grant_type", "refresh_token"), ("refresh_token", &rt), ("scope", "roms.read")])
        .await;
    assert_eq!(narrow.status, 200, "{}", narrow.json);
    assert_eq!(narrow.json["scope"], "roms.read");
    assert!(narrow.json.get("id_token").is_none());
    // The refresh token keeps the original grant.
    let again = app.refresh("acme", WEB, narrow.str("refresh_token")).await;
    assert_eq!(again.json["scope"], "openid roms.read");
}

async fn refresh_tokens_stay_with_their_client_and_realm(app: TestApp) {
    let first = app.alice_tokens("openid").await;
    let rt = first.str("refresh_token").to_owned();
    let public =
        app.token("acme", None, &[("grant_type", "refresh_token"), ("client_id", "cli"), ("refresh_token", &rt)]).await;
    public.assert_error(400, "invalid_grant");
    let foreign = app.refresh("other", ("svc", "svc-secret"), &rt).await;
    foreign.assert_error(400, "invalid_grant");
    let garbage = app.refresh("acme", WEB, "not-a-token").await;
    garbage.assert_error(400, "invalid_grant");
    assert_eq!(garbage.json["error_description"], "Invalid refresh token");
    // None of that spent the token.
    assert_eq!(app.refresh("acme", WEB, &rt).await.status, 200);
}

async fn refresh_tokens_expire(app: TestApp) {
    let first = app.alice_tokens("openid").await;
    let rt = first.str("refresh_token").to_owned();
    assert_eq!(first.json["refresh_expires_in"], 3600);
    app.clock.advance(3601);
    let late = app.refresh("acme", WEB, &rt).await;
    late.assert_error(400, "invalid_grant");

    // A token whose session is over (the maximum lowered below its age) is
    // inactive at introspection too, as refresh refuses it (RFC 7662 §2.2).
    let second = app.alice_tokens("openid").await.str("refresh_token").to_owned();
    assert_eq!(app.introspect("acme", ("svc", "svc-secret"), &second).await.json["active"], true);
    let master = app.master_token().await;
    let lowered = Some(r#"{"ssoSessionMaxLifespan": 60}"#);
    assert_eq!(app.admin(reqwest::Method::PUT, "/realms/acme", Some(&master), lowered).await.status, 204);
    app.clock.advance(61);
    assert_eq!(app.introspect("acme", ("svc", "svc-secret"), &second).await.json, serde_json::json!({"active": false}));
    app.refresh("acme", WEB, &second).await.assert_error(400, "invalid_grant");
}

async fn offline_access_is_granted(app: TestApp) {
    let answer = app.alice_tokens("openid offline_access").await;
    assert_eq!(answer.json["scope"], "offline_access openid");
    let refreshed = app.refresh("acme", WEB, answer.str("refresh_token")).await;
    assert_eq!(refreshed.json["scope"], "offline_access openid");
    let (_, claims) = jwt_parts(refreshed.str("access_token"));
    assert_eq!(claims["scope"], "offline_access openid");
}

/// The spend is one conditional statement: of several refreshes of one
/// token at the same moment exactly one rotates it; the others present a
/// spent token, which is reuse, and the family (the winner's new token
/// included) is revoked.
async fn concurrent_refreshes_of_one_token_have_one_winner(app: TestApp) {
    let first = app.alice_tokens("openid roms.read").await;
    let rt = first.str("refresh_token").to_owned();
    let answers = futures_util::future::join_all((0..8).map(|_| app.refresh("acme", WEB, &rt))).await;
    let winners: Vec<_> = answers.iter().filter(|a| a.status == 200).collect();
    assert_eq!(winners.len(), 1, "{:?}", answers.iter().map(|a| (a.status, &a.json)).collect::<Vec<_>>());
    for loser in answers.iter().filter(|a| a.status != 200) {
        loser.assert_error(400, "invalid_grant");
    }
    let successor = winners[0].str("refresh_token").to_owned();
    let after = app.refresh("acme", WEB, &successor).await;
    after.assert_error(400, "invalid_grant");
    assert_eq!(after.json["error_description"], "Session not active");
}

/// The family id a refresh token names (`rgf_<id>_<generation>_<mac>`).
fn family_of(refresh_token: &str) -> &str {
    assert!(refresh_token.starts_with("rgf_"), "{refresh_token}");
    &refresh_token[4..40]
}

/// A token is its family, its generation and a MAC: a stale generation is
/// recognised however old and revokes the family; a token whose MAC does
/// not hold is only invalid, and spends or revokes nothing.
async fn stale_generations_revoke_their_family_and_forged_ones_do_not(app: TestApp) {
    let mut tokens = vec![app.alice_tokens("openid").await.str("refresh_token").to_owned()];
    for _ in 0..3 {
        let next = app.refresh("acme", WEB, tokens.last().unwrap()).await;
        assert_eq!(next.status, 200, "{}", next.json);
        tokens.push(next.str("refresh_token").to_owned());
    }
    let family = family_of(&tokens[0]);
    for (generation, token) in tokens.iter().enumerate() {
        assert!(token.starts_with(&format!("rgf_{family}_{generation}_")), "{token}");
    }
    let current = tokens[3].clone();
    let mut flipped = current.clone().into_bytes();
    let last = flipped.len() - 1;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let forged = [
        String::from_utf8(flipped).unwrap(),
        current.replacen("_3_", "_4_", 1),
        current.replacen("_3_", "_2_", 1),
        format!("rgf_{family}_9"),
    ];
    for token in &forged {
        let answer = app.refresh("acme", WEB, token).await;
        answer.assert_error(400, "invalid_grant");
        assert_eq!(answer.json["error_description"], "Invalid refresh token", "{token}");
        assert_eq!(app.introspect("acme", ("svc", "svc-secret"), token).await.json["active"], false);
        assert_eq!(app.revoke("acme", WEB, token).await.status, 200);
    }
    let next = app.refresh("acme", WEB, &current).await;
    assert_eq!(next.status, 200, "forged tokens changed nothing: {}", next.json);
    let newest = next.str("refresh_token").to_owned();
    assert_eq!(app.introspect("acme", ("svc", "svc-secret"), &newest).await.json["active"], true);
    assert_eq!(app.introspect("acme", ("svc", "svc-secret"), &tokens[1]).await.json["active"], false);

    // Three generations back, and still caught as reuse.
    app.refresh("acme", WEB, &tokens[1]).await.assert_error(400, "invalid_grant");
    let after = app.refresh("acme", WEB, &newest).await;
    after.assert_error(400, "invalid_grant");
    assert_eq!(after.json["error_description"], "Session not active");
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Runs `sql` (one statement) on the test's database; returns the rows it changed.
async fn execute(app: &TestApp, sql: String) -> usize {
    let db = Db::connect(DatabaseUrl::parse(&app.db.url).unwrap(), 1).unwrap();
    db.write(move |conn| Ok::<_, StorageError>(diesel::sql_query(sql).execute(conn)?)).await.unwrap()
}

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    let db = Db::connect(DatabaseUrl::parse(&app.db.url).unwrap(), 1).unwrap();
    db.run(move |conn| Ok(diesel::sql_query(sql).get_result::<Count>(conn)?.n)).await.unwrap()
}

/// Rotation rewrites the family's row: the database does not grow with
/// the rotations of a family in use.
async fn a_family_stays_one_row_however_often_it_rotates(app: TestApp) {
    let mut token = app.alice_tokens("openid").await.str("refresh_token").to_owned();
    let families = count(&app, "SELECT COUNT(*) AS n FROM refresh_families").await;
    for _ in 0..20 {
        let next = app.refresh("acme", WEB, &token).await;
        assert_eq!(next.status, 200, "{}", next.json);
        token = next.str("refresh_token").to_owned();
    }
    assert!(token.contains("_20_"), "{token}");
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM refresh_families").await, families);
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM refresh_tokens").await, 0);
}

/// A family from before generations keeps its stored token: it still
/// introspects and rotates (into generations), and replayed afterwards it
/// is reuse.
async fn tokens_from_before_generations_still_rotate(app: TestApp) {
    let grant = app.alice_tokens("openid").await;
    let family = family_of(grant.str("refresh_token")).to_owned();
    // What such a family looked like: no generation, its token a row.
    let old_token = "an-older-random-refresh-token-of-43-characters";
    let now = chrono::Utc::now().timestamp();
    let reverted = format!(
        "UPDATE refresh_families SET generation = NULL, token_issued_at = NULL, token_expires_at = NULL \
         WHERE id = '{family}'"
    );
    assert_eq!(execute(&app, reverted).await, 1);
    let row = format!(
        "INSERT INTO refresh_tokens (token_hash, family_id, issued_at, expires_at) \
         VALUES ('{}', '{family}', {now}, {})",
        token_hash(old_token),
        now + 3600
    );
    assert_eq!(execute(&app, row).await, 1);
    // The generation tokens of a family without generations do not exist.
    app.refresh("acme", WEB, grant.str("refresh_token")).await.assert_error(400, "invalid_grant");

    assert_eq!(app.introspect("acme", ("svc", "svc-secret"), old_token).await.json["active"], true);
    let rotated = app.refresh("acme", WEB, old_token).await;
    assert_eq!(rotated.status, 200, "{}", rotated.json);
    let first = rotated.str("refresh_token").to_owned();
    assert!(first.starts_with(&format!("rgf_{family}_1_")), "{first}");
    let second = app.refresh("acme", WEB, &first).await;
    assert_eq!(second.status, 200, "{}", second.json);
    assert_eq!(app.introspect("acme", ("svc", "svc-secret"), old_token).await.json["active"], false);

    app.refresh("acme", WEB, old_token).await.assert_error(400, "invalid_grant");
    let after = app.refresh("acme", WEB, second.str("refresh_token")).await;
    after.assert_error(400, "invalid_grant");
    assert_eq!(after.json["error_description"], "Session not active");
}

/// Without rotation the current token stays valid; the generations it
/// replaced while rotation was on stay replaced (refused and inactive,
/// without revoking anything).
async fn turning_rotation_off_keeps_only_the_current_token(app: TestApp) {
    let first = app.alice_tokens("openid").await.str("refresh_token").to_owned();
    let second = app.refresh("acme", WEB, &first).await.str("refresh_token").to_owned();
    let master = app.master_token().await;
    let off = Some(r#"{"revokeRefreshToken": false}"#);
    let put = app.admin(reqwest::Method::PUT, "/realms/acme", Some(&master), off).await;
    assert_eq!(put.status, 204, "{}", put.json);

    let stale = app.refresh("acme", WEB, &first).await;
    stale.assert_error(400, "invalid_grant");
    assert_eq!(stale.json["error_description"], "Token is not active");
    assert_eq!(app.introspect("acme", ("svc", "svc-secret"), &first).await.json["active"], false);
    for _ in 0..2 {
        let again = app.refresh("acme", WEB, &second).await;
        assert_eq!(again.status, 200, "{}", again.json);
        assert_eq!(again.json["refresh_token"], second.as_str());
        assert!(again.json["refresh_expires_in"].as_i64().is_some_and(|s| s > 0 && s <= 3600), "{}", again.json);
    }
    assert_eq!(app.introspect("acme", ("svc", "svc-secret"), &second).await.json["active"], true);
    // Each refresh renews the kept token's lifetime, as a rotation would:
    // an app that refreshes within the idle timeout stays signed in.
    let lifetime = app.refresh("acme", WEB, &second).await.json["refresh_expires_in"].as_i64().unwrap();
    for _ in 0..4 {
        app.clock.advance(lifetime - 60);
        let again = app.refresh("acme", WEB, &second).await;
        assert_eq!(again.status, 200, "{}", again.json);
        assert!(again.json["refresh_expires_in"].as_i64().unwrap() > lifetime - 120, "{}", again.json);
    }
}

const GRACE_REALM: &str = r#"
[[realms]]
name = "grace"
refresh_token_reuse_grace = "30s"

  [[realms.users]]
  username = "u"
  password = "pw"

  [[realms.clients]]
  client_id = "c"
  secret = "s"
  grant_types = ["password", "refresh_token"]
  scopes = ["openid"]

[[realms]]
name = "fixed"
refresh_token_rotation = false

  [[realms.users]]
  username = "u"
  password = "pw"

  [[realms.clients]]
  client_id = "c"
  secret = "s"
  grant_types = ["password", "refresh_token"]
  scopes = ["openid"]
"#;

async fn grace_and_fixed(backend: Backend) {
    let Some(app) = spawn_app_with(backend, GRACE_REALM).await else { return };
    // Within the grace a concurrent retry gets the very same new pair.
    let first = app.password_grant("grace", ("c", "s"), ("u", "pw"), "openid").await;
    let rt = first.str("refresh_token").to_owned();
    let a = app.refresh("grace", ("c", "s"), &rt).await;
    let b = app.refresh("grace", ("c", "s"), &rt).await;
    assert_eq!(a.status, 200, "{}", a.json);
    assert_eq!(b.status, 200, "{}", b.json);
    assert_eq!(a.json["refresh_token"], b.json["refresh_token"]);
    assert_eq!(a.json["access_token"], b.json["access_token"]);
    // Later in the grace: the same pair, with the lifetimes it has left.
    app.clock.advance(20);
    let c = app.refresh("grace", ("c", "s"), &rt).await;
    assert_eq!(c.json["access_token"], a.json["access_token"]);
    let left = |answer: &crate::helpers::Answer, field: &str| answer.json[field].as_i64().unwrap();
    assert!((19..=21).contains(&(left(&a, "expires_in") - left(&c, "expires_in"))), "{} then {}", a.json, c.json);
    assert!((19..=21).contains(&(left(&a, "refresh_expires_in") - left(&c, "refresh_expires_in"))));
    // Nor is the pair repeated to a user disabled since.
    let master = app.master_token().await;
    let found = app.admin(reqwest::Method::GET, "/realms/grace/users?username=u&exact=true", Some(&master), None).await;
    let user = format!("/realms/grace/users/{}", found.json[0]["id"].as_str().unwrap());
    let enable = |on: bool| {
        let (app, user, master) = (&app, &user, &master);
        async move {
            let body = serde_json::json!({ "enabled": on }).to_string();
            assert_eq!(app.admin(reqwest::Method::PUT, user, Some(master), Some(&body)).await.status, 204);
        }
    };
    enable(false).await;
    app.refresh("grace", ("c", "s"), &rt).await.assert_error(400, "invalid_grant");
    enable(true).await;
    // After the grace the replay is reuse.
    app.clock.advance(11);
    app.refresh("grace", ("c", "s"), &rt).await.assert_error(400, "invalid_grant");
    app.refresh("grace", ("c", "s"), a.str("refresh_token")).await.assert_error(400, "invalid_grant");

    // Without rotation the same refresh token keeps working.
    let first = app.password_grant("fixed", ("c", "s"), ("u", "pw"), "openid").await;
    let rt = first.str("refresh_token").to_owned();
    for _ in 0..2 {
        let again = app.refresh("fixed", ("c", "s"), &rt).await;
        assert_eq!(again.status, 200, "{}", again.json);
        assert_eq!(again.json["refresh_token"], rt.as_str());
    }
}

const CAPPED_REALM: &str = r#"
[[realms]]
name = "capped"
refresh_token_lifetime = "1h"
sso_session_max = "2h"

  [[realms.users]]
  username = "u"
  password = "pw"

  [[realms.clients]]
  client_id = "c"
  secret = "s"
  grant_types = ["password", "refresh_token"]
  scopes = ["openid", "offline_access"]

[[realms]]
name = "short"
refresh_token_lifetime = "1h"
sso_session_max = "10m"

  [[realms.users]]
  username = "u"
  password = "pw"

  [[realms.clients]]
  client_id = "c"
  secret = "s"
  grant_types = ["password", "refresh_token"]
  scopes = ["openid"]
"#;

/// A grant without a browser has a session of its own, from the grant to
/// the realm's SSO maximum (Keycloak): refreshing does not extend it past
/// that; offline grants are not bound by it.
async fn sessionless_grants_end_at_the_sso_maximum(backend: Backend) {
    let Some(app) = spawn_app_with(backend, CAPPED_REALM).await else { return };
    let expires_in = |answer: &crate::helpers::Answer| answer.json["refresh_expires_in"].as_i64().unwrap();
    let first = app.password_grant("capped", ("c", "s"), ("u", "pw"), "openid").await;
    let offline = app.password_grant("capped", ("c", "s"), ("u", "pw"), "openid offline_access").await;
    assert_eq!(expires_in(&first), 3600, "{}", first.json);
    let (mut rt, mut offline_rt) = (first.str("refresh_token").to_owned(), offline.str("refresh_token").to_owned());
    // Every 50 minutes: a full hour, then what is left of the two (the
    // test clock runs on with real time: a second may pass between two calls).
    let mut left = 0;
    for (elapsed, most) in [(3000, 3600), (6000, 1200)] {
        app.clock.advance(3000);
        let next = app.refresh("capped", ("c", "s"), &rt).await;
        assert_eq!(next.status, 200, "after {elapsed} s: {}", next.json);
        left = expires_in(&next);
        assert!((most - 2..=most).contains(&left), "after {elapsed} s: {left}");
        rt = next.str("refresh_token").to_owned();
        let next = app.refresh("capped", ("c", "s"), &offline_rt).await;
        assert_eq!(next.status, 200, "offline, after {elapsed} s: {}", next.json);
        offline_rt = next.str("refresh_token").to_owned();
    }
    // Listed as a session of the user (admin API) until its session ends.
    let master = app.master_token().await;
    let found =
        app.admin(reqwest::Method::GET, "/realms/capped/users?username=u&exact=true", Some(&master), None).await;
    let sessions = format!("/realms/capped/users/{}/sessions", found.json[0]["id"].as_str().unwrap());
    let listed = || async {
        // A new token each time: the clock moves past an access token's lifetime.
        let master = app.master_token().await;
        app.admin(reqwest::Method::GET, &sessions, Some(&master), None).await.json
    };
    assert_eq!(listed().await.as_array().map(Vec::len), Some(1), "{}", listed().await);
    app.clock.advance(left - 2);
    let last = app.refresh("capped", ("c", "s"), &rt).await;
    assert_eq!(last.status, 200, "{}", last.json);
    assert!((0..=2).contains(&expires_in(&last)), "{}", last.json);
    // Its access token does not outlive the session either (Keycloak caps it alike).
    let access_left = last.json["expires_in"].as_i64().unwrap();
    assert!((0..=2).contains(&access_left), "{}", last.json);
    let claims = jwt_parts(last.str("access_token")).1;
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), access_left);
    app.clock.advance(4);
    let ended = app.refresh("capped", ("c", "s"), last.str("refresh_token")).await;
    ended.assert_error(400, "invalid_grant");
    assert_eq!(ended.json["error_description"], "Token is not active");
    assert_eq!(listed().await, serde_json::json!([]), "no longer listed");
    let offline = app.refresh("capped", ("c", "s"), &offline_rt).await;
    assert_eq!(offline.status, 200, "offline grants outlive the SSO maximum: {}", offline.json);
    assert_eq!(expires_in(&offline), 3600);
    assert_eq!(offline.json["expires_in"], 300, "a full access token lifetime: {}", offline.json);

    // A maximum lowered after the grant ends it early, in the list as at refresh.
    let fresh = app.password_grant("capped", ("c", "s"), ("u", "pw"), "openid").await;
    assert_eq!(listed().await.as_array().map(Vec::len), Some(1), "{}", listed().await);
    let master = app.master_token().await;
    let lowered = app
        .admin(reqwest::Method::PUT, "/realms/capped", Some(&master), Some(r#"{"ssoSessionMaxLifespan": 60}"#))
        .await;
    assert_eq!(lowered.status, 204, "{}", lowered.json);
    app.clock.advance(61);
    assert_eq!(listed().await, serde_json::json!([]), "ended by the lowered maximum");
    let ended = app.refresh("capped", ("c", "s"), fresh.str("refresh_token")).await;
    assert_eq!(ended.json["error_description"], "Session not active", "{}", ended.json);

    // A maximum shorter than the refresh lifetime bounds the first token.
    let short = app.password_grant("short", ("c", "s"), ("u", "pw"), "openid").await;
    assert_eq!(expires_in(&short), 600, "{}", short.json);
    app.clock.advance(601);
    let ended = app.refresh("short", ("c", "s"), short.str("refresh_token")).await;
    ended.assert_error(400, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessionless_grants_end_at_the_sso_maximum_sqlite() {
    sessionless_grants_end_at_the_sso_maximum(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessionless_grants_end_at_the_sso_maximum_postgres() {
    sessionless_grants_end_at_the_sso_maximum(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reuse_grace_and_no_rotation_sqlite() {
    grace_and_fixed(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reuse_grace_and_no_rotation_postgres() {
    grace_and_fixed(Backend::Postgres).await;
}
