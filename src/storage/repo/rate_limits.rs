//! Fixed-window counters (`rate_limits`), shared by every node.

use diesel::prelude::*;

use crate::clock::UnixTime;
use crate::storage::schema::rate_limits;
use crate::storage::{DbConnection, StorageError};

/// The hits counted for `key` in the window that contains `now`.
pub fn hits(conn: &mut DbConnection, key: &str, now: UnixTime, window: i64) -> Result<i64, StorageError> {
    let row: Option<(i64, i64)> =
        rate_limits::table.find(key).select((rate_limits::window_start, rate_limits::hits)).first(conn).optional()?;
    Ok(match row {
        Some((start, hits)) if now - start < window => hits,
        _ => 0,
    })
}

/// Counts one more hit for `key`.
pub fn hit(conn: &mut DbConnection, key: &str, now: UnixTime, window: i64) -> Result<(), StorageError> {
    let current = hits(conn, key, now, window)?;
    let updated = if current == 0 {
        diesel::update(rate_limits::table.find(key))
            .set((rate_limits::window_start.eq(now), rate_limits::hits.eq(1)))
            .execute(conn)?
    } else {
        diesel::update(rate_limits::table.find(key)).set(rate_limits::hits.eq(rate_limits::hits + 1)).execute(conn)?
    };
    if updated == 0 {
        diesel::insert_into(rate_limits::table)
            .values((rate_limits::key.eq(key), rate_limits::window_start.eq(now), rate_limits::hits.eq(1)))
            .execute(conn)?;
    }
    Ok(())
}

pub fn prune(conn: &mut DbConnection, before: UnixTime) -> Result<usize, StorageError> {
    Ok(diesel::delete(rate_limits::table.filter(rate_limits::window_start.lt(before))).execute(conn)?)
}
