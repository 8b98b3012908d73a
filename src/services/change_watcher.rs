//! Polls the change epoch so this process sees, within the poll interval,
//! what the CLI or another node changed: one tiny indexed query per tick,
//! never one per request.

use std::sync::Arc;
use std::time::{Duration, Instant};

// A process that has not read the change log for longer than TRUSTED_FOR
// (its database unreachable, the process paused) trusts none of its cache:
// requests then load what they need from the database, or fail with it,
// rather than answer from settings another node may have changed (a
// rotated secret).
use super::realm_cache::{RealmCache, TRUSTED_FOR};
use crate::clock::Clock;
use crate::storage::repo::meta;
use crate::storage::{Db, StorageError};

/// How often the change log is read; changes show up within this.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// Change-log rows older than this are pruned (no process lags that far).
const CHANGE_LOG_RETENTION_SECS: i64 = 3600;

/// The epoch at start-up, read before serving so nothing is missed.
pub async fn current_epoch(db: &Db) -> Result<i64, StorageError> {
    db.run(meta::current_epoch).await
}

/// Runs until the process ends.
pub async fn watch(db: Db, cache: Arc<RealmCache>, clock: Arc<dyn Clock>, mut epoch: i64) {
    let mut ticks: u64 = 0;
    let mut last_read = Instant::now();
    cache.trust_for(TRUSTED_FOR);
    loop {
        tokio::time::sleep(POLL_INTERVAL).await;
        ticks += 1;
        let since = epoch;
        // Trust counts from the read's start: what it sees is that old.
        let read_started = Instant::now();
        // The distrust does not wait for the read: with the database
        // unreachable, a read may hang for the pool's connection timeout,
        // or for ever on a connection that stopped answering.
        let mut read = std::pin::pin!(db.run(move |conn| meta::changes_since(conn, since)));
        let result = loop {
            match tokio::time::timeout(POLL_INTERVAL, &mut read).await {
                Ok(result) => break result,
                Err(_) if last_read.elapsed() > TRUSTED_FOR => cache.invalidate_all(),
                Err(_) => {}
            }
        };
        match result {
            Ok(changes) => {
                if !changes.complete || last_read.elapsed() > TRUSTED_FOR {
                    // Changes may have been missed (or pruned unread): all may be stale.
                    tracing::info!(epoch = changes.newest, "reloading every realm after a gap in the change log");
                    cache.invalidate_all();
                } else if !changes.realms.is_empty() {
                    tracing::debug!(count = changes.realms.len(), epoch = changes.newest, "realms changed elsewhere");
                    cache.invalidate(&changes.realms);
                }
                epoch = changes.newest;
                last_read = read_started;
                cache.trust_for(TRUSTED_FOR.saturating_sub(read_started.elapsed()));
            }
            Err(error) => {
                tracing::warn!(%error, "could not read the change log");
                if last_read.elapsed() > TRUSTED_FOR {
                    cache.invalidate_all();
                }
            }
        }
        if ticks.is_multiple_of(4800) {
            let before = clock.now() - CHANGE_LOG_RETENTION_SECS;
            if let Err(error) = db.run(move |conn| meta::prune_change_log(conn, before)).await {
                tracing::warn!(%error, "could not prune the change log");
            }
        }
    }
}
