//! Revoked access-token ids (`revoked_tokens`), kept until the tokens expire.

use diesel::Connection;
use diesel::prelude::*;

use crate::clock::UnixTime;
use crate::storage::schema::revoked_tokens;
use crate::storage::{DbConnection, StorageError};

/// Records `id` as used until `expires_at`; whether it was not already
/// (a form's single use, kept with the revocations it resembles: an id
/// whose record expires, pruned with them).
pub fn insert_once(
    conn: &mut DbConnection,
    realm_id: &str,
    id: &str,
    expires_at: UnixTime,
) -> Result<bool, StorageError> {
    let inserted = conn.transaction(|conn| {
        diesel::insert_into(revoked_tokens::table)
            .values((
                revoked_tokens::jti.eq(id),
                revoked_tokens::realm_id.eq(realm_id),
                revoked_tokens::expires_at.eq(expires_at),
            ))
            .execute(conn)
    });
    match inserted {
        Ok(_) => Ok(true),
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Records a revoked id; revoking twice (or on two nodes at once) is harmless.
pub fn insert(conn: &mut DbConnection, realm_id: &str, jti: &str, expires_at: UnixTime) -> Result<(), StorageError> {
    insert_once(conn, realm_id, jti, expires_at).map(drop)
}

/// Whether any of `ids` (a token's jti and the grants it names) is
/// revoked. Asked two at a time with a fixed-shape query: an `IN` list of
/// varying length is prepared anew on every call (diesel caches only fixed
/// shapes on SQLite), and this runs on every introspection and userinfo
/// request.
pub fn any_revoked(conn: &mut DbConnection, ids: &[&str]) -> Result<bool, StorageError> {
    for pair in ids.chunks(2) {
        let (first, second) = (pair[0], pair.get(1).copied().unwrap_or(pair[0]));
        let query = revoked_tokens::table
            .filter(revoked_tokens::jti.eq(first).or(revoked_tokens::jti.eq(second)))
            .select(revoked_tokens::jti);
        let found: Option<String> = native!(&mut *conn, |c| query.first(c).optional())?;
        if found.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

pub fn prune(conn: &mut DbConnection, now: UnixTime) -> Result<usize, StorageError> {
    Ok(diesel::delete(revoked_tokens::table.filter(revoked_tokens::expires_at.lt(now))).execute(conn)?)
}
