//! Signing keys (`signing_keys` table): private halves sealed with the secret key.

use diesel::prelude::*;

use crate::clock::UnixTime;
use crate::storage::schema::signing_keys;
use crate::storage::{DbConnection, StorageError};

#[derive(Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
pub struct KeyRow {
    pub kid: String,
    pub realm_id: String,
    pub algorithm: String,
    pub private_key_ciphertext: Vec<u8>,
    pub public_jwk: String,
    pub created_at: i64,
    pub retired_at: Option<i64>,
    pub publish_until: Option<i64>,
}

impl std::fmt::Debug for KeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRow")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

/// The active key and every retired key still published at `now`, newest first.
pub fn list_published(conn: &mut DbConnection, realm_id: &str, now: UnixTime) -> Result<Vec<KeyRow>, StorageError> {
    Ok(signing_keys::table
        .filter(signing_keys::realm_id.eq(realm_id))
        .filter(signing_keys::retired_at.is_null().or(signing_keys::publish_until.ge(now)))
        .order((signing_keys::created_at.desc(), signing_keys::kid.desc()))
        .select(KeyRow::as_select())
        .load(conn)?)
}

pub fn insert(conn: &mut DbConnection, row: &KeyRow) -> Result<(), StorageError> {
    diesel::insert_into(signing_keys::table).values(row).execute(conn)?;
    Ok(())
}

/// Retires the realm's active key(s): they stay published until
/// `publish_until`, or later where their floor (`raise_publish_floor`) says so.
pub fn retire_active(
    conn: &mut DbConnection,
    realm_id: &str,
    now: UnixTime,
    publish_until: UnixTime,
) -> Result<usize, StorageError> {
    raise_publish_floor(conn, realm_id, publish_until)?;
    Ok(diesel::update(
        signing_keys::table.filter(signing_keys::realm_id.eq(realm_id)).filter(signing_keys::retired_at.is_null()),
    )
    .set(signing_keys::retired_at.eq(now))
    .execute(conn)?)
}

/// Makes the realm's active key(s) stay published at least until `until`
/// once retired: when token lifetimes shrink, the tokens they signed
/// under the longer lifetimes still need them. (An active key is published
/// whatever its `publish_until`.)
pub fn raise_publish_floor(conn: &mut DbConnection, realm_id: &str, until: UnixTime) -> Result<usize, StorageError> {
    Ok(diesel::update(
        signing_keys::table
            .filter(signing_keys::realm_id.eq(realm_id))
            .filter(signing_keys::retired_at.is_null())
            .filter(signing_keys::publish_until.is_null().or(signing_keys::publish_until.lt(until))),
    )
    .set(signing_keys::publish_until.eq(until))
    .execute(conn)?)
}

/// Deletes retired keys no longer published anywhere.
pub fn delete_unpublished(conn: &mut DbConnection, now: UnixTime) -> Result<usize, StorageError> {
    Ok(diesel::delete(
        signing_keys::table.filter(signing_keys::retired_at.is_not_null()).filter(signing_keys::publish_until.lt(now)),
    )
    .execute(conn)?)
}
