//! Pruning: deletes what can never be used again, so the database stays
//! bounded however many tokens are issued. Nothing live is touched.

use diesel::{Connection, RunQueryDsl};

use super::events::EVENTS_EXPIRATION;
use super::realm_cache::events_policy;
use crate::clock::UnixTime;
use crate::storage::repo::{codes, devices, events, keys, rate_limits, realms, refresh, revocations, sessions};
use crate::storage::{Db, DbConnection, StorageError};

/// Rate-limit windows are kept this long (far beyond any window in use).
const RATE_LIMIT_RETENTION_SECS: i64 = 24 * 3600;
/// How long an expired device code is kept: a device still polling it is
/// told `expired_token` (RFC 8628 §3.5), not that it never existed.
pub const EXPIRED_DEVICE_CODE_RETENTION_SECS: i64 = 24 * 3600;

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

impl Pruned {
    /// The tables that lost rows, those the deletes cascaded to included.
    pub fn tables(&self) -> Vec<&'static str> {
        let kinds: [(usize, &[&'static str]); 7] = [
            (self.refresh_families, &["refresh_families", "refresh_tokens"]),
            (self.revocations, &["revoked_tokens"]),
            (self.keys, &["signing_keys"]),
            (self.codes, &["auth_codes"]),
            (self.sessions, &["sso_sessions"]),
            (self.device_codes, &["device_codes"]),
            (self.rate_limits, &["rate_limits"]),
        ];
        kinds.into_iter().filter(|(rows, _)| *rows > 0).flat_map(|(_, tables)| tables.iter().copied()).collect()
    }
}

/// One round of the server's pruning job: the prune in one transaction,
/// then the space it freed made reusable.
pub async fn prune_and_reclaim(db: &Db, now: UnixTime) -> Result<Pruned, StorageError> {
    let pruned = db.write(move |conn| prune(conn, now)).await?;
    reclaim_space(db, pruned.tables()).await?;
    Ok(pruned)
}

/// PostgreSQL reuses the space of deleted rows only once they are vacuumed.
/// Autovacuum does that when it is on, but a server run with it off (as
/// this project's own test machines are) would grow with every token ever
/// issued; a plain VACUUM of the tables that lost rows keeps the database
/// bounded either way. It takes no lock that blocks reads or writes, and
/// skips a table another node is vacuuming. SQLite reuses freed pages by
/// itself. Runs on a pooled connection: VACUUM cannot run in a transaction.
pub async fn reclaim_space(db: &Db, tables: Vec<&'static str>) -> Result<(), StorageError> {
    // An empty list would vacuum the whole database.
    if tables.is_empty() || db.url().is_sqlite() {
        return Ok(());
    }
    let vacuum = format!("VACUUM (SKIP_LOCKED) {}", tables.join(", "));
    db.run(move |conn| {
        if let DbConnection::Postgres(pg) = conn {
            diesel::sql_query(vacuum).execute(pg)?;
        }
        Ok(())
    })
    .await
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
            device_codes: devices::prune(conn, now - EXPIRED_DEVICE_CODE_RETENTION_SECS)?,
            rate_limits: rate_limits::prune(conn, now - RATE_LIMIT_RETENTION_SECS)?,
        })
    })
}

/// Deletes events past the server's retention, and each realm's user
/// events past its own `eventsExpiration` where that is shorter.
pub fn prune_events(conn: &mut DbConnection, now: UnixTime, retention: i64) -> Result<usize, StorageError> {
    let mut pruned = events::prune(conn, (now - retention) * 1000)?;
    for (realm_id, attributes) in realms::attributes_naming(conn, EVENTS_EXPIRATION)? {
        if let Some(expiration) = events_policy(&attributes).expiration.filter(|e| *e < retention) {
            pruned += events::prune_realm(conn, &realm_id, (now - expiration) * 1000)?;
        }
    }
    Ok(pruned)
}
