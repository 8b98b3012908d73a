//! Consent: remembered per user and client as the set of scopes granted.

use crate::domain::scope::ScopeSet;
use crate::storage::repo::consents;
use crate::storage::{DbConnection, StorageError};

/// Whether `scope` lies within what the user already granted the client.
pub fn is_remembered(
    conn: &mut DbConnection,
    user_id: &str,
    client_pk: &str,
    scope: &ScopeSet,
) -> Result<bool, StorageError> {
    Ok(match consents::find_scope(conn, user_id, client_pk)? {
        Some(stored) => ScopeSet::parse(&stored).is_ok_and(|granted| scope.is_subset(&granted)),
        None => false,
    })
}

/// Remembers `scope` together with what was granted before.
pub fn remember(
    conn: &mut DbConnection,
    realm_id: &str,
    user_id: &str,
    client_pk: &str,
    scope: &ScopeSet,
    now: i64,
) -> Result<(), StorageError> {
    let before =
        consents::find_scope(conn, user_id, client_pk)?.and_then(|s| ScopeSet::parse(&s).ok()).unwrap_or_default();
    let merged = ScopeSet::from_names(before.iter().chain(scope.iter()).map(str::to_owned));
    consents::save(conn, realm_id, user_id, client_pk, &merged.to_string(), now)
}
