//! Authorization codes (`auth_codes`), single-use and stored hashed.

use diesel::prelude::*;

use crate::clock::UnixTime;
use crate::storage::schema::auth_codes;
use crate::storage::{DbConnection, StorageError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = auth_codes)]
pub struct CodeRow {
    pub code_hash: String,
    pub realm_id: String,
    pub client_id: String,
    pub user_id: String,
    pub session_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub auth_time: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub grant_id: String,
}

pub fn insert(conn: &mut DbConnection, row: &CodeRow) -> Result<(), StorageError> {
    diesel::insert_into(auth_codes::table).values(row).execute(conn)?;
    Ok(())
}

/// Marks an unused code used, atomically: 1 if this call used it.
pub fn use_code(conn: &mut DbConnection, code_hash: &str, now: UnixTime) -> Result<usize, StorageError> {
    Ok(diesel::update(
        auth_codes::table.filter(auth_codes::code_hash.eq(code_hash)).filter(auth_codes::used_at.is_null()),
    )
    .set(auth_codes::used_at.eq(now))
    .execute(conn)?)
}

pub fn find(conn: &mut DbConnection, code_hash: &str) -> Result<Option<CodeRow>, StorageError> {
    Ok(auth_codes::table.find(code_hash).select(CodeRow::as_select()).first(conn).optional()?)
}

/// Deletes codes expired before `before` (a used code is kept until then,
/// so its reuse is still recognised).
pub fn prune(conn: &mut DbConnection, before: UnixTime) -> Result<usize, StorageError> {
    Ok(diesel::delete(auth_codes::table.filter(auth_codes::expires_at.lt(before))).execute(conn)?)
}
