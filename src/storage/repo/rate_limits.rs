//! Fixed-window counters (`rate_limits`), shared by every node.

use diesel::Connection;
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

/// Counts one more hit for `key` and returns the count in the current window.
pub fn hit(conn: &mut DbConnection, key: &str, now: UnixTime, window: i64) -> Result<i64, StorageError> {
    for _ in 0..2 {
        let current = hits(conn, key, now, window)?;
        let updated = if current == 0 {
            diesel::update(rate_limits::table.find(key))
                .set((rate_limits::window_start.eq(now), rate_limits::hits.eq(1)))
                .execute(conn)?
        } else {
            diesel::update(rate_limits::table.find(key))
                .set(rate_limits::hits.eq(rate_limits::hits + 1))
                .execute(conn)?
        };
        if updated > 0 {
            return hits(conn, key, now, window);
        }
        // A savepoint, so a lost race does not abort the caller's transaction.
        let inserted = conn.transaction(|conn| {
            diesel::insert_into(rate_limits::table)
                .values((rate_limits::key.eq(key), rate_limits::window_start.eq(now), rate_limits::hits.eq(1)))
                .execute(conn)
        });
        match inserted {
            Ok(_) => return Ok(1),
            // Another node inserted it a moment ago: count on its row.
            Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
                continue;
            }
            Err(e) => return Err(e.into()),
        }
    }
    hits(conn, key, now, window)
}

/// Takes back one hit for `key` (an attempt that turned out not to count).
pub fn refund(conn: &mut DbConnection, key: &str) -> Result<(), StorageError> {
    diesel::update(rate_limits::table.find(key).filter(rate_limits::hits.gt(0)))
        .set(rate_limits::hits.eq(rate_limits::hits - 1))
        .execute(conn)?;
    Ok(())
}

/// Forgets every hit for `key`.
pub fn clear(conn: &mut DbConnection, key: &str) -> Result<(), StorageError> {
    diesel::delete(rate_limits::table.find(key)).execute(conn)?;
    Ok(())
}

pub fn prune(conn: &mut DbConnection, before: UnixTime) -> Result<usize, StorageError> {
    Ok(diesel::delete(rate_limits::table.filter(rate_limits::window_start.lt(before))).execute(conn)?)
}
