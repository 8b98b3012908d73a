//! SSO sessions (`sso_sessions`): the cookie's token is stored only hashed.

use diesel::prelude::*;

use crate::clock::UnixTime;
use crate::storage::schema::sso_sessions;
use crate::storage::{DbConnection, StorageError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sso_sessions)]
// None binds NULL (no column here has a default): the statement's SQL is
// then the same for every row, so diesel prepares it once and keeps it.
#[diesel(treat_none_as_default_value = false)]
pub struct SessionRow {
    pub id: String,
    pub token_hash: String,
    pub realm_id: String,
    pub user_id: String,
    pub auth_time: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub ended_at: Option<i64>,
    /// Where the session was started from.
    pub ip_address: Option<String>,
}

impl SessionRow {
    /// Whether the session is within its idle timeout and its maximum
    /// lifetime at `now` (its end by logout is `ended_at`).
    pub fn within(&self, idle: i64, max: i64, now: UnixTime) -> bool {
        now - self.last_seen_at <= idle && now - self.created_at <= max
    }
}

pub fn insert(conn: &mut DbConnection, row: &SessionRow) -> Result<(), StorageError> {
    native!(conn, |c| diesel::insert_into(sso_sessions::table).values(row).execute(c))?;
    Ok(())
}

pub fn find_by_token_hash(conn: &mut DbConnection, token_hash: &str) -> Result<Option<SessionRow>, StorageError> {
    Ok(sso_sessions::table
        .filter(sso_sessions::token_hash.eq(token_hash))
        .select(SessionRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_by_id(conn: &mut DbConnection, id: &str) -> Result<Option<SessionRow>, StorageError> {
    Ok(sso_sessions::table.find(id).select(SessionRow::as_select()).first(conn).optional()?)
}

pub fn touch(conn: &mut DbConnection, id: &str, now: UnixTime) -> Result<(), StorageError> {
    diesel::update(sso_sessions::table.find(id)).set(sso_sessions::last_seen_at.eq(now)).execute(conn)?;
    Ok(())
}

/// Records a new sign-in of the session's user in it.
pub fn reauthenticate(conn: &mut DbConnection, id: &str, now: UnixTime) -> Result<(), StorageError> {
    diesel::update(sso_sessions::table.find(id))
        .set((sso_sessions::auth_time.eq(now), sso_sessions::last_seen_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

/// Ends a session; returns whether it was live.
pub fn end(conn: &mut DbConnection, id: &str, now: UnixTime) -> Result<bool, StorageError> {
    let changed =
        diesel::update(sso_sessions::table.filter(sso_sessions::id.eq(id)).filter(sso_sessions::ended_at.is_null()))
            .set(sso_sessions::ended_at.eq(now))
            .execute(conn)?;
    Ok(changed > 0)
}

/// Deletes sessions that ended, or that outlived their realm's idle or
/// maximum lifetime, before `now`.
pub fn prune(conn: &mut DbConnection, now: UnixTime) -> Result<usize, StorageError> {
    // Plain SQL with a literal integer (no user input): identical on both backends.
    let sql = format!(
        "DELETE FROM sso_sessions WHERE ended_at IS NOT NULL OR EXISTS (SELECT 1 FROM realms r \
         WHERE r.id = sso_sessions.realm_id AND (sso_sessions.last_seen_at < {now} - r.sso_session_idle \
         OR sso_sessions.created_at < {now} - r.sso_session_max))"
    );
    Ok(diesel::sql_query(sql).execute(conn)?)
}

/// Ends every session of a realm not ended yet; returns their ids.
pub fn end_all_in_realm(conn: &mut DbConnection, realm_id: &str, now: UnixTime) -> Result<Vec<String>, StorageError> {
    let open = sso_sessions::table.filter(sso_sessions::realm_id.eq(realm_id)).filter(sso_sessions::ended_at.is_null());
    let ids = open.select(sso_sessions::id).load(conn)?;
    diesel::update(open).set(sso_sessions::ended_at.eq(now)).execute(conn)?;
    Ok(ids)
}

/// A user's sessions that have not been ended (liveness by lifetime is the caller's rule).
pub fn list_open_by_user(conn: &mut DbConnection, user_id: &str) -> Result<Vec<SessionRow>, StorageError> {
    Ok(sso_sessions::table
        .filter(sso_sessions::user_id.eq(user_id))
        .filter(sso_sessions::ended_at.is_null())
        .order(sso_sessions::created_at.desc())
        .select(SessionRow::as_select())
        .load(conn)?)
}
