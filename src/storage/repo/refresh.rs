//! Refresh-token families and their tokens (stored as hashes only).

use diesel::prelude::*;

use crate::clock::UnixTime;
use crate::storage::schema::{refresh_families, refresh_tokens};
use crate::storage::{DbConnection, StorageError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_families)]
pub struct FamilyRow {
    pub id: String,
    pub realm_id: String,
    /// The client's internal id (`clients.id`).
    pub client_id: String,
    pub user_id: String,
    pub scope: String,
    pub offline: bool,
    pub auth_time: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    /// The SSO session the grant came from; logout revokes its families
    /// unless they are offline.
    pub session_id: Option<String>,
}

#[derive(Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct TokenRow {
    pub token_hash: String,
    pub family_id: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub spent_at: Option<i64>,
    pub successor: Option<Vec<u8>>,
}

pub fn insert_family(conn: &mut DbConnection, row: &FamilyRow) -> Result<(), StorageError> {
    diesel::insert_into(refresh_families::table).values(row).execute(conn)?;
    Ok(())
}

pub fn insert_token(conn: &mut DbConnection, row: &TokenRow) -> Result<(), StorageError> {
    diesel::insert_into(refresh_tokens::table).values(row).execute(conn)?;
    Ok(())
}

/// Marks an unspent token spent, atomically: 1 if this call spent it, 0 if
/// it was unknown or already spent. Written first so SQLite takes its write
/// lock at once and concurrent refreshes of one token cannot both win.
pub fn spend_token(conn: &mut DbConnection, token_hash: &str, now: UnixTime) -> Result<usize, StorageError> {
    Ok(diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(token_hash))
            .filter(refresh_tokens::spent_at.is_null()),
    )
    .set(refresh_tokens::spent_at.eq(now))
    .execute(conn)?)
}

pub fn find_token(conn: &mut DbConnection, token_hash: &str) -> Result<Option<(TokenRow, FamilyRow)>, StorageError> {
    Ok(refresh_tokens::table
        .inner_join(refresh_families::table)
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select((TokenRow::as_select(), FamilyRow::as_select()))
        .first(conn)
        .optional()?)
}

pub fn set_successor(conn: &mut DbConnection, token_hash: &str, sealed: &[u8]) -> Result<(), StorageError> {
    diesel::update(refresh_tokens::table.find(token_hash)).set(refresh_tokens::successor.eq(sealed)).execute(conn)?;
    Ok(())
}

/// Revokes a whole family; returns whether it was live before.
pub fn revoke_family(conn: &mut DbConnection, family_id: &str, now: UnixTime) -> Result<bool, StorageError> {
    let changed = diesel::update(
        refresh_families::table
            .filter(refresh_families::id.eq(family_id))
            .filter(refresh_families::revoked_at.is_null()),
    )
    .set(refresh_families::revoked_at.eq(now))
    .execute(conn)?;
    diesel::update(refresh_tokens::table.filter(refresh_tokens::family_id.eq(family_id)))
        .set(refresh_tokens::successor.eq(None::<Vec<u8>>))
        .execute(conn)?;
    Ok(changed > 0)
}

/// A user's families that are neither revoked nor offline.
pub fn live_online_families_of_user(conn: &mut DbConnection, user_id: &str) -> Result<Vec<String>, StorageError> {
    Ok(refresh_families::table
        .filter(refresh_families::user_id.eq(user_id))
        .filter(refresh_families::revoked_at.is_null())
        .filter(refresh_families::offline.eq(false))
        .select(refresh_families::id)
        .load(conn)?)
}

/// Deletes families that expired or were revoked before `before`.
pub fn prune(conn: &mut DbConnection, before: UnixTime) -> Result<usize, StorageError> {
    Ok(diesel::delete(
        refresh_families::table
            .filter(refresh_families::expires_at.lt(before).or(refresh_families::revoked_at.lt(before))),
    )
    .execute(conn)?)
}

/// Moves a family's expiry to its newest token's.
pub fn extend_family(conn: &mut DbConnection, family_id: &str, expires_at: UnixTime) -> Result<(), StorageError> {
    diesel::update(refresh_families::table.find(family_id))
        .set(refresh_families::expires_at.eq(expires_at))
        .execute(conn)?;
    Ok(())
}

/// Revokes the families of a session that are not offline; returns their ids.
pub fn revoke_session_families(
    conn: &mut DbConnection,
    session_id: &str,
    now: UnixTime,
) -> Result<Vec<String>, StorageError> {
    let ids: Vec<String> = refresh_families::table
        .filter(refresh_families::session_id.eq(session_id))
        .filter(refresh_families::offline.eq(false))
        .filter(refresh_families::revoked_at.is_null())
        .select(refresh_families::id)
        .load(conn)?;
    for id in &ids {
        revoke_family(conn, id, now)?;
    }
    Ok(ids)
}
