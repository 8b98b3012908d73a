//! Device codes (`device_codes`, RFC 8628): the device code is stored hashed.

use diesel::prelude::*;

use crate::clock::UnixTime;
use crate::storage::schema::device_codes;
use crate::storage::{DbConnection, StorageError};

pub const PENDING: &str = "pending";
pub const APPROVED: &str = "approved";
pub const DENIED: &str = "denied";
pub const CONSUMED: &str = "consumed";
/// Approved, then taken back before the device polled: its user was signed
/// out by an administrator.
pub const WITHDRAWN: &str = "withdrawn";

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = device_codes)]
pub struct DeviceRow {
    pub device_code_hash: String,
    pub user_code: String,
    pub realm_id: String,
    pub client_id: String,
    pub scope: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub poll_interval: i64,
    /// In milliseconds since the epoch (written in seconds before 2026-11-30:
    /// such a value only lets the next poll through).
    pub last_polled_at: Option<i64>,
    pub status: String,
    pub user_id: Option<String>,
    pub auth_time: Option<i64>,
    pub granted_scope: Option<String>,
}

pub fn insert(conn: &mut DbConnection, row: &DeviceRow) -> Result<(), StorageError> {
    diesel::insert_into(device_codes::table).values(row).execute(conn)?;
    Ok(())
}

/// A code read by a poll, which then writes it: its row locked on
/// PostgreSQL until the transaction ends (SQLite has one writer), so that
/// concurrent polls are judged one after the other and each `slow_down`
/// adds to the interval the last one left.
pub fn find_for_poll(conn: &mut DbConnection, device_code_hash: &str) -> Result<Option<DeviceRow>, StorageError> {
    let query = device_codes::table.find(device_code_hash);
    Ok(match conn {
        DbConnection::Postgres(c) => query.select(DeviceRow::as_select()).for_update().first(c).optional()?,
        DbConnection::Sqlite(c) => query.select(DeviceRow::as_select()).first(c).optional()?,
    })
}

/// Whether a device code still waits for the user's decision (pending, unexpired).
pub fn is_pending(conn: &mut DbConnection, device_code_hash: &str, now: UnixTime) -> Result<bool, StorageError> {
    let found: i64 = device_codes::table
        .filter(device_codes::device_code_hash.eq(device_code_hash))
        .filter(device_codes::status.eq(PENDING))
        .filter(device_codes::expires_at.ge(now))
        .count()
        .get_result(conn)?;
    Ok(found > 0)
}

/// A pending, unexpired code of the realm by its user code.
pub fn find_pending_by_user_code(
    conn: &mut DbConnection,
    realm_id: &str,
    user_code: &str,
    now: UnixTime,
) -> Result<Option<DeviceRow>, StorageError> {
    Ok(device_codes::table
        .filter(device_codes::user_code.eq(user_code))
        .filter(device_codes::realm_id.eq(realm_id))
        .filter(device_codes::status.eq(PENDING))
        .filter(device_codes::expires_at.ge(now))
        .select(DeviceRow::as_select())
        .first(conn)
        .optional()?)
}

/// Records a poll, and a new interval after a `slow_down`.
pub fn record_poll(conn: &mut DbConnection, hash: &str, now_ms: i64, interval: i64) -> Result<(), StorageError> {
    diesel::update(device_codes::table.find(hash))
        .set((device_codes::last_polled_at.eq(now_ms), device_codes::poll_interval.eq(interval)))
        .execute(conn)?;
    Ok(())
}

/// Approves or denies a pending code; false if it was no longer pending.
pub fn decide(
    conn: &mut DbConnection,
    hash: &str,
    status: &str,
    user_id: &str,
    auth_time: UnixTime,
    granted_scope: &str,
    now: UnixTime,
) -> Result<bool, StorageError> {
    let changed = diesel::update(
        device_codes::table
            .filter(device_codes::device_code_hash.eq(hash))
            .filter(device_codes::status.eq(PENDING))
            .filter(device_codes::expires_at.ge(now)),
    )
    .set((
        device_codes::status.eq(status),
        device_codes::user_id.eq(user_id),
        device_codes::auth_time.eq(auth_time),
        device_codes::granted_scope.eq(granted_scope),
    ))
    .execute(conn)?;
    Ok(changed > 0)
}

/// Turns an approved code into a consumed one; true only for the first caller.
pub fn consume(conn: &mut DbConnection, hash: &str) -> Result<bool, StorageError> {
    let changed = diesel::update(
        device_codes::table.filter(device_codes::device_code_hash.eq(hash)).filter(device_codes::status.eq(APPROVED)),
    )
    .set(device_codes::status.eq(CONSUMED))
    .execute(conn)?;
    Ok(changed > 0)
}

/// Withdraws the approved, unpolled codes of a realm, or of one user in it.
pub fn withdraw_approved(
    conn: &mut DbConnection,
    realm_id: &str,
    user_id: Option<&str>,
) -> Result<usize, StorageError> {
    let approved =
        device_codes::table.filter(device_codes::realm_id.eq(realm_id)).filter(device_codes::status.eq(APPROVED));
    let withdrawn = device_codes::status.eq(WITHDRAWN);
    Ok(match user_id {
        Some(user_id) => {
            diesel::update(approved.filter(device_codes::user_id.eq(user_id))).set(withdrawn).execute(conn)?
        }
        None => diesel::update(approved).set(withdrawn).execute(conn)?,
    })
}

pub fn prune(conn: &mut DbConnection, before: UnixTime) -> Result<usize, StorageError> {
    Ok(diesel::delete(device_codes::table.filter(device_codes::expires_at.lt(before))).execute(conn)?)
}
