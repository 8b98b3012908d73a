//! Personal access tokens (`personal_tokens`), stored hashed.

use diesel::prelude::*;

use crate::clock::UnixTime;
use crate::storage::schema::personal_tokens;
use crate::storage::{DbConnection, StorageError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = personal_tokens)]
pub struct PersonalTokenRow {
    pub id: String,
    pub token_hash: String,
    pub realm_id: String,
    pub user_id: String,
    pub name: String,
    pub scope: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl PersonalTokenRow {
    pub fn is_active(&self, now: UnixTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|exp| now <= exp)
    }
}

pub fn insert(conn: &mut DbConnection, row: &PersonalTokenRow) -> Result<(), StorageError> {
    diesel::insert_into(personal_tokens::table).values(row).execute(conn)?;
    Ok(())
}

pub fn find_by_hash(conn: &mut DbConnection, token_hash: &str) -> Result<Option<PersonalTokenRow>, StorageError> {
    Ok(personal_tokens::table
        .filter(personal_tokens::token_hash.eq(token_hash))
        .select(PersonalTokenRow::as_select())
        .first(conn)
        .optional()?)
}

/// A user's tokens that are neither revoked nor expired.
pub fn count_active(conn: &mut DbConnection, user_id: &str, now: UnixTime) -> Result<i64, StorageError> {
    Ok(personal_tokens::table
        .filter(personal_tokens::user_id.eq(user_id))
        .filter(personal_tokens::revoked_at.is_null())
        .filter(personal_tokens::expires_at.is_null().or(personal_tokens::expires_at.ge(now)))
        .count()
        .get_result(conn)?)
}

pub fn touch(conn: &mut DbConnection, id: &str, now: UnixTime) -> Result<(), StorageError> {
    diesel::update(personal_tokens::table.find(id)).set(personal_tokens::last_used_at.eq(now)).execute(conn)?;
    Ok(())
}

pub fn revoke(conn: &mut DbConnection, user_id: &str, id: &str, now: UnixTime) -> Result<bool, StorageError> {
    let changed = diesel::update(
        personal_tokens::table
            .filter(personal_tokens::id.eq(id))
            .filter(personal_tokens::user_id.eq(user_id))
            .filter(personal_tokens::revoked_at.is_null())
            // An expired token is gone already (not listed): nothing to revoke.
            .filter(personal_tokens::expires_at.is_null().or(personal_tokens::expires_at.ge(now))),
    )
    .set(personal_tokens::revoked_at.eq(now))
    .execute(conn)?;
    Ok(changed > 0)
}

/// A user's active tokens, newest first.
pub fn list_active_by_user(
    conn: &mut DbConnection,
    user_id: &str,
    now: UnixTime,
) -> Result<Vec<PersonalTokenRow>, StorageError> {
    Ok(personal_tokens::table
        .filter(personal_tokens::user_id.eq(user_id))
        .filter(personal_tokens::revoked_at.is_null())
        .filter(personal_tokens::expires_at.is_null().or(personal_tokens::expires_at.ge(now)))
        .order(personal_tokens::created_at.desc())
        .select(PersonalTokenRow::as_select())
        .load(conn)?)
}
