//! SSO sessions: a server-side row referenced by an opaque cookie, with the
//! realm's idle and maximum lifetimes; ending one revokes the refresh tokens
//! issued in it (offline ones survive, as in Keycloak).

use super::ServiceError;
use super::authentication::SignedInUser;
use super::realm_cache::RealmEntry;
use crate::clock::UnixTime;
use crate::crypto::{random_token, token_hash};
use crate::state::AppState;
use crate::storage::repo::sessions::SessionRow;
use crate::storage::repo::{devices, refresh, revocations, roles, sessions, users};
use crate::storage::{DbConnection, StorageError, new_id};

/// `last_seen_at` is written at most this often, so a busy session does not
/// cost a write per authorization; and at most every thirtieth of the idle
/// timeout, so a use never counts for less than 97 % of it (a 3 s timeout
/// is recorded at every use).
const TOUCH_EVERY_SECS: i64 = 60;
const TOUCHES_PER_IDLE_TIMEOUT: i64 = 30;

/// A live session with its user.
#[derive(Debug, Clone)]
pub struct LiveSession {
    pub session: SessionRow,
    pub user: SignedInUser,
}

pub fn is_live(entry: &RealmEntry, row: &SessionRow, now: UnixTime) -> bool {
    let s = &entry.realm.settings;
    row.realm_id == entry.realm.id && row.ended_at.is_none() && row.within(s.sso_session_idle, s.sso_session_max, now)
}

/// The latest a live session used `now` can end: after its idle timeout, or
/// at its maximum if that comes first. Refresh tokens issued in it expire
/// then, as Keycloak's do.
pub fn lasts_until(entry: &RealmEntry, row: &SessionRow, now: UnixTime) -> UnixTime {
    let s = &entry.realm.settings;
    (now + s.sso_session_idle).min(ends_at_most(entry, row))
}

/// When the session ends unless used again, by the uses on record: this
/// one (`now`) when it is being recorded (`touch_due`: every caller that
/// issues tokens writes it then), else the last one written. Tokens that
/// no check of the session guards (access and ID tokens) end by then.
pub fn idle_end(entry: &RealmEntry, row: &SessionRow, now: UnixTime) -> UnixTime {
    let last_use = if touch_due(entry, row, now) { now } else { row.last_seen_at };
    (last_use + entry.realm.settings.sso_session_idle).min(ends_at_most(entry, row))
}

/// When the session reaches the realm's maximum lifetime, however it is used.
pub fn ends_at_most(entry: &RealmEntry, row: &SessionRow) -> UnixTime {
    row.created_at + entry.realm.settings.sso_session_max
}

/// How coarsely uses of a session are recorded (and the lifetimes that
/// follow them renewed): a thirtieth of the idle timeout, at most a minute.
pub fn use_record_step(entry: &RealmEntry) -> i64 {
    (entry.realm.settings.sso_session_idle / TOUCHES_PER_IDLE_TIMEOUT).min(TOUCH_EVERY_SECS)
}

/// Whether a use of the session `now` should be written to `last_seen_at`.
pub fn touch_due(entry: &RealmEntry, row: &SessionRow, now: UnixTime) -> bool {
    now - row.last_seen_at >= use_record_step(entry)
}

/// Looks up the session a cookie names, with its (enabled) user and roles
/// (a read only; `find` records the use).
pub fn find_live(
    conn: &mut DbConnection,
    entry: &RealmEntry,
    cookie: &str,
    now: UnixTime,
) -> Result<Option<LiveSession>, StorageError> {
    let Some(session) = sessions::find_by_token_hash(conn, &token_hash(cookie))? else {
        return Ok(None);
    };
    if !is_live(entry, &session, now) {
        return Ok(None);
    }
    // A temporary password set since the sign-in (an admin's reset) ends
    // single sign-on everywhere (authorization, device, account, console):
    // the user signs in with it again, then chooses a new one.
    let usable = |u: &users::UserRow| u.enabled && !u.password_temporary;
    let Some(user) = users::find_by_id(conn, &entry.realm.id, &session.user_id)?.filter(usable) else {
        return Ok(None);
    };
    let role_ids = roles::list_role_ids_of_user(conn, &user.id)?;
    Ok(Some(LiveSession { session, user: SignedInUser { user: user.to_domain(), role_ids } }))
}

pub async fn find(
    state: &AppState,
    entry: &std::sync::Arc<RealmEntry>,
    cookie: Option<String>,
) -> Result<Option<LiveSession>, ServiceError> {
    let Some(cookie) = cookie else {
        return Ok(None);
    };
    let now = state.clock.now();
    let lookup = std::sync::Arc::clone(entry);
    let live = state.db.read_hot(move |conn| find_live(conn, &lookup, &cookie, now)).await?;
    // Writes go through the writer queue (SQLite has one writer).
    if let Some(live) = &live
        && touch_due(entry, &live.session, now)
    {
        let id = live.session.id.clone();
        state.db.write(move |conn| sessions::touch(conn, &id, now)).await?;
    }
    Ok(live)
}

/// A user just signed in with a browser holding the session cookie
/// `current`: the same user's live session goes on (one session per
/// browser and user, its sign-in time now, so logout ends all of it);
/// another user's ends, and a new one starts. Returns the cookie value.
pub async fn sign_in(
    state: &AppState,
    entry: &std::sync::Arc<RealmEntry>,
    user: &SignedInUser,
    current: Option<String>,
    ip_address: Option<String>,
) -> Result<(String, SessionRow), ServiceError> {
    let now = state.clock.now();
    let (Some(token), Some(live)) = (current.clone(), find(state, entry, current).await?) else {
        return start(state, entry, user, ip_address).await;
    };
    let id = live.session.id.clone();
    if live.user.user.id == user.user.id {
        state.db.write(move |conn| sessions::reauthenticate(conn, &id, now)).await?;
        let session = SessionRow { auth_time: now, last_seen_at: now, ..live.session };
        return Ok((token, session));
    }
    let ending = std::sync::Arc::clone(entry);
    state.db.write(move |conn| end(conn, &ending, &id, now)).await?;
    start(state, entry, user, ip_address).await
}

/// Starts a session for a user who just signed in; returns the cookie value.
async fn start(
    state: &AppState,
    entry: &RealmEntry,
    user: &SignedInUser,
    ip_address: Option<String>,
) -> Result<(String, SessionRow), ServiceError> {
    let now = state.clock.now();
    let token = random_token(32);
    let row = SessionRow {
        id: new_id(),
        token_hash: token_hash(&token),
        realm_id: entry.realm.id.clone(),
        user_id: user.user.id.clone(),
        auth_time: now,
        created_at: now,
        last_seen_at: now,
        ended_at: None,
        ip_address,
    };
    let stored = row.clone();
    state.db.write(move |conn| sessions::insert(conn, &stored)).await?;
    Ok((token, row))
}

/// What a browser session's access tokens for one client are named by too
/// (in their jti), beside the session: withdrawing the client's consent
/// revokes it, so that tokens without a refresh family (implicit, hybrid, a
/// code grant without refresh tokens) end, and other clients' tokens of the
/// session live on.
pub fn client_grant_id(session_id: &str, client_pk: &str) -> String {
    format!("{session_id}.{}", &token_hash(client_pk)[..12])
}

/// Ends a session and revokes its refresh tokens and their access tokens.
pub fn end(conn: &mut DbConnection, entry: &RealmEntry, session_id: &str, now: UnixTime) -> Result<(), StorageError> {
    use diesel::Connection;
    conn.transaction(|conn| {
        sessions::end(conn, session_id, now)?;
        let horizon = super::families::revocation_horizon(entry, now);
        for family in refresh::revoke_session_families(conn, session_id, now)? {
            revocations::insert(conn, &entry.realm.id, &family, horizon)?;
        }
        // Access tokens from the browser flow name the session's grants too.
        revocations::insert(conn, &entry.realm.id, session_id, horizon)
    })
}

/// Ends every SSO session of the realm and revokes every grant, offline
/// ones too (Keycloak's "sign out all active sessions", which also moves
/// the realm's not-before past every token issued so far); returns how
/// many sessions ended. Personal access tokens are credentials, not
/// sessions: they stay. A few statements for the realm, then one
/// revocation record per session and grant (access tokens name them).
pub fn end_all_in_realm(conn: &mut DbConnection, entry: &RealmEntry, now: UnixTime) -> Result<usize, StorageError> {
    use diesel::Connection;
    conn.transaction(|conn| {
        let realm_id = &entry.realm.id;
        let sessions = sessions::end_all_in_realm(conn, realm_id, now)?;
        let grants = refresh::revoke_all_in_realm(conn, realm_id, now)?;
        // A device the user approved, not yet polled, gets no grant now.
        devices::withdraw_approved(conn, realm_id, None)?;
        let horizon = super::families::revocation_horizon(entry, now);
        for id in sessions.iter().chain(&grants) {
            revocations::insert(conn, realm_id, id, horizon)?;
        }
        Ok(sessions.len())
    })
}

/// Ends every SSO session of the user and every grant made without a
/// browser; with `offline_too`, the offline grants as well (an admin's
/// sign-out, Keycloak's not-before), else they survive (the user's own
/// "sign out everywhere").
pub fn end_all_of_user(
    conn: &mut DbConnection,
    entry: &RealmEntry,
    user_id: &str,
    offline_too: bool,
    now: UnixTime,
) -> Result<(), StorageError> {
    use diesel::Connection;
    conn.transaction(|conn| {
        for session in sessions::list_open_by_user(conn, user_id)? {
            end(conn, entry, &session.id, now)?;
        }
        // What is left: grants without a browser session (and offline ones).
        let grants = if offline_too {
            refresh::live_families_of_user(conn, user_id)?
        } else {
            refresh::live_online_families_of_user(conn, user_id)?.into_iter().map(|f| f.id).collect()
        };
        let horizon = super::families::revocation_horizon(entry, now);
        for grant in grants {
            super::families::revoke_grant(conn, &entry.realm.id, &grant, horizon, now)?;
        }
        // A device the user approved, not yet polled, gets no grant now.
        devices::withdraw_approved(conn, &entry.realm.id, Some(user_id))?;
        Ok(())
    })
}
