//! Pruning: deletes what can never be used again, so the database stays
//! bounded however many tokens are issued. Nothing live is touched.

use diesel::Connection;

use crate::clock::UnixTime;
use crate::storage::repo::{codes, devices, keys, rate_limits, refresh, revocations, sessions};
use crate::storage::{DbConnection, StorageError};

/// Rate-limit windows are kept this long (far beyond any window in use).
const RATE_LIMIT_RETENTION_SECS: i64 = 24 * 3600;

/// How many rows each kind lost.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub refresh_families: usize,
    pub revocations: usize,
    pub keys: usize,
    pub codes: usize,
    pub sessions: usize,
    pub device_codes: usize,
    pub rate_limits: usize,
}

/// Expired or revoked refresh families, revocations of expired tokens, keys
/// no longer published, expired codes and device codes, ended or lapsed
/// sessions, and old rate-limit windows.
pub fn prune(conn: &mut DbConnection, now: UnixTime) -> Result<Pruned, StorageError> {
    conn.transaction(|conn| {
        Ok(Pruned {
            refresh_families: refresh::prune(conn, now)?,
            revocations: revocations::prune(conn, now)?,
            keys: keys::delete_unpublished(conn, now)?,
            codes: codes::prune(conn, now)?,
            sessions: sessions::prune(conn, now)?,
            device_codes: devices::prune(conn, now)?,
            rate_limits: rate_limits::prune(conn, now - RATE_LIMIT_RETENTION_SECS)?,
        })
    })
}
