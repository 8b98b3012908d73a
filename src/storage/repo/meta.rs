//! The change epoch that tells every process which realms to reload, and the
//! check value that proves the secret key matches the data.

use diesel::prelude::*;

use crate::clock::UnixTime;
use crate::storage::schema::{change_log, meta};
use crate::storage::{DbConnection, StorageError};

/// Records that `realm` changed. Must be the first write of its transaction:
/// the row lock on `meta` orders concurrent writers, so epochs commit in order.
pub fn bump_epoch(conn: &mut DbConnection, realm: &str, now: UnixTime) -> Result<i64, StorageError> {
    diesel::update(meta::table.find(1)).set(meta::epoch.eq(meta::epoch + 1)).execute(conn)?;
    let epoch: i64 = meta::table.find(1).select(meta::epoch).first(conn)?;
    diesel::insert_into(change_log::table)
        .values((change_log::epoch.eq(epoch), change_log::realm_name.eq(realm), change_log::changed_at.eq(now)))
        .execute(conn)?;
    Ok(epoch)
}

/// Takes the write lock every configuration writer takes (the `meta` row on
/// PostgreSQL, the database on SQLite), so check-then-create steps of nodes
/// starting together run one after the other. Call it first in a transaction.
pub fn lock(conn: &mut DbConnection) -> Result<(), StorageError> {
    diesel::update(meta::table.find(1)).set(meta::epoch.eq(meta::epoch)).execute(conn)?;
    Ok(())
}

pub fn current_epoch(conn: &mut DbConnection) -> Result<i64, StorageError> {
    Ok(meta::table.find(1).select(meta::epoch).first(conn)?)
}

/// What changed after an epoch.
#[derive(Debug, PartialEq, Eq)]
pub struct Changes {
    /// The newest epoch seen.
    pub newest: i64,
    pub realms: Vec<String>,
    /// False when rows right after the epoch are gone (pruned before this
    /// reader saw them): epochs are consecutive, as each is taken under the
    /// `meta` row lock in the transaction that commits it.
    pub complete: bool,
}

/// Realms changed after `epoch`.
pub fn changes_since(conn: &mut DbConnection, epoch: i64) -> Result<Changes, StorageError> {
    // Read first: the rows read after it reach at least this far unless
    // some were pruned (a log pruned down to nothing included).
    let current = current_epoch(conn)?;
    let rows: Vec<(i64, String)> = change_log::table
        .filter(change_log::epoch.gt(epoch))
        .order(change_log::epoch.asc())
        .select((change_log::epoch, change_log::realm_name))
        .load(conn)?;
    let newest = rows.last().map_or(epoch, |(e, _)| *e).max(current);
    let complete = match (rows.first(), rows.last()) {
        (Some((first, _)), Some((last, _))) => *first == epoch + 1 && *last >= current,
        _ => current <= epoch,
    };
    Ok(Changes { newest, realms: rows.into_iter().map(|(_, name)| name).collect(), complete })
}

pub fn prune_change_log(conn: &mut DbConnection, before: UnixTime) -> Result<usize, StorageError> {
    Ok(diesel::delete(change_log::table.filter(change_log::changed_at.lt(before))).execute(conn)?)
}

pub fn find_secret_key_check(conn: &mut DbConnection) -> Result<Option<Vec<u8>>, StorageError> {
    Ok(meta::table.find(1).select(meta::secret_key_check).first(conn)?)
}

/// Stores the check unless one is stored already (by a node that started at
/// the same moment: its check stands, and the caller reads it back).
pub fn set_secret_key_check(conn: &mut DbConnection, check: &[u8]) -> Result<(), StorageError> {
    diesel::update(meta::table.find(1).filter(meta::secret_key_check.is_null()))
        .set(meta::secret_key_check.eq(check))
        .execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that finds the rows right after its epoch pruned (or every
    /// row after it) learns that it may have missed changes.
    #[tokio::test]
    async fn a_pruned_gap_after_the_readers_epoch_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::storage::Db::connect(crate::storage::DatabaseUrl::Sqlite(dir.path().join("rg.db")), 1).unwrap();
        db.migrate().await.unwrap();
        let changes = db
            .run(|conn| {
                let seen = current_epoch(conn)?;
                bump_epoch(conn, "old", 100)?;
                bump_epoch(conn, "new", 200)?;
                let whole = changes_since(conn, seen)?;
                prune_change_log(conn, 150)?;
                let partly = (changes_since(conn, seen)?, changes_since(conn, seen + 1)?);
                prune_change_log(conn, 250)?;
                Ok((whole, partly, changes_since(conn, seen + 1)?, changes_since(conn, seen + 2)?))
            })
            .await
            .unwrap();
        let (whole, (gap, caught_up), emptied, up_to_date) = changes;
        assert!(!emptied.complete && emptied.realms.is_empty(), "{emptied:?}");
        assert!(up_to_date.complete && up_to_date.realms.is_empty(), "{up_to_date:?}");
        assert!(whole.complete && whole.realms == ["old", "new"], "{whole:?}");
        assert!(!gap.complete && gap.realms == ["new"] && gap.newest == whole.newest, "{gap:?}");
        assert!(caught_up.complete && caught_up.realms == ["new"], "{caught_up:?}");
    }
}
