//! Remembered consent (`consents`): per user and client, the scopes granted.

use diesel::Connection;
use diesel::prelude::*;

use crate::clock::UnixTime;
use crate::storage::schema::consents;
use crate::storage::{DbConnection, StorageError};

pub fn find_scope(conn: &mut DbConnection, user_id: &str, client_id: &str) -> Result<Option<String>, StorageError> {
    Ok(consents::table.find((user_id, client_id)).select(consents::scope).first(conn).optional()?)
}

/// Stores the granted scope set, replacing what was there.
pub fn save(
    conn: &mut DbConnection,
    realm_id: &str,
    user_id: &str,
    client_id: &str,
    scope: &str,
    now: UnixTime,
) -> Result<(), StorageError> {
    let updated = diesel::update(consents::table.find((user_id, client_id)))
        .set((consents::scope.eq(scope), consents::granted_at.eq(now)))
        .execute(conn)?;
    if updated == 0 {
        // A savepoint: two tabs allowing at once must not abort the transaction.
        let inserted = conn.transaction(|conn| {
            diesel::insert_into(consents::table)
                .values((
                    consents::user_id.eq(user_id),
                    consents::client_id.eq(client_id),
                    consents::realm_id.eq(realm_id),
                    consents::scope.eq(scope),
                    consents::granted_at.eq(now),
                ))
                .execute(conn)
        });
        match inserted {
            Ok(_) => {}
            Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
                diesel::update(consents::table.find((user_id, client_id)))
                    .set((consents::scope.eq(scope), consents::granted_at.eq(now)))
                    .execute(conn)?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// A user's consents: (client id, scope, granted at).
pub fn list_by_user(conn: &mut DbConnection, user_id: &str) -> Result<Vec<(String, String, i64)>, StorageError> {
    Ok(consents::table
        .filter(consents::user_id.eq(user_id))
        .select((consents::client_id, consents::scope, consents::granted_at))
        .load(conn)?)
}

pub fn delete(conn: &mut DbConnection, user_id: &str, client_id: &str) -> Result<bool, StorageError> {
    Ok(diesel::delete(consents::table.find((user_id, client_id))).execute(conn)? > 0)
}
