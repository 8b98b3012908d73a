//! Personal access tokens: `rgp_` + 40 hex characters, shown once, stored
//! hashed, scoped to at most what the user's roles allow, at most 25 active
//! per user, optionally expiring, revocable.

use diesel::Connection;

use super::realm_cache::RealmEntry;
use crate::clock::UnixTime;
use crate::crypto::{random_bytes, to_hex, token_hash};
use crate::domain::scope::{PERSONAL_TOKEN_SCOPE, ScopeSet};
use crate::storage::repo::personal_tokens::{self, PersonalTokenRow};
use crate::storage::repo::users::UserRow;
use crate::storage::repo::{roles, users};
use crate::storage::{DbConnection, StorageError, new_id};

pub const PREFIX: &str = "rgp_";
pub const MAX_ACTIVE_PER_USER: i64 = 25;
/// `last_used_at` is written at most this often per token.
const TOUCH_EVERY_SECS: i64 = 60;

#[derive(Debug, thiserror::Error)]
pub enum MintError {
    #[error("user `{0}` does not exist in this realm")]
    NoSuchUser(String),
    #[error("the user already has {MAX_ACTIVE_PER_USER} active personal access tokens; revoke one first")]
    TooMany,
    #[error("scope `{0}` is unknown or not allowed for this user")]
    ScopeNotAllowed(String),
    #[error("the name must be 1 to 100 characters")]
    BadName,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<diesel::result::Error> for MintError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Storage(e.into())
    }
}

/// Whether a presented token is a personal access token (by its shape).
pub fn is_personal(token: &str) -> bool {
    token.len() == PREFIX.len() + 40
        && token.starts_with(PREFIX)
        && token[PREFIX.len()..].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Mints a token for `username`; returns the token (shown once) and its row.
/// No `scope` means everything the user may have.
pub fn mint(
    conn: &mut DbConnection,
    entry: &RealmEntry,
    username: &str,
    name: &str,
    scope: Option<&ScopeSet>,
    expires_at: Option<UnixTime>,
    now: UnixTime,
) -> Result<(String, PersonalTokenRow), MintError> {
    let user = users::find_by_username(conn, &entry.realm.id, &username.to_lowercase())?
        .filter(|u| u.enabled)
        .ok_or_else(|| MintError::NoSuchUser(username.to_owned()))?;
    mint_for(conn, entry, &user, name, scope, expires_at, now)
}

pub fn mint_for(
    conn: &mut DbConnection,
    entry: &RealmEntry,
    user: &UserRow,
    name: &str,
    scope: Option<&ScopeSet>,
    expires_at: Option<UnixTime>,
    now: UnixTime,
) -> Result<(String, PersonalTokenRow), MintError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(MintError::BadName);
    }
    let role_ids = roles::list_role_ids_of_user(conn, &user.id)?;
    let mut allowed = entry.scopes_allowed_by_roles(&role_ids);
    allowed = ScopeSet::from_names(allowed.iter().filter(|s| *s != PERSONAL_TOKEN_SCOPE).map(str::to_owned));
    let granted = match scope {
        None => allowed,
        Some(scope) => {
            let wanted = entry.scopes.closure(scope.iter());
            if let Some(bad) = wanted.iter().find(|s| !entry.scopes.is_known(s) || !allowed.contains(s)) {
                return Err(MintError::ScopeNotAllowed(bad.to_owned()));
            }
            wanted
        }
    };
    let token = format!("{PREFIX}{}", to_hex(&random_bytes(20)));
    let row = PersonalTokenRow {
        id: new_id(),
        token_hash: token_hash(&token),
        realm_id: entry.realm.id.clone(),
        user_id: user.id.clone(),
        name: name.to_owned(),
        scope: granted.to_string(),
        created_at: now,
        expires_at,
        last_used_at: None,
        revoked_at: None,
    };
    conn.transaction(|conn| {
        if personal_tokens::count_active(conn, &user.id, now)? >= MAX_ACTIVE_PER_USER {
            return Err(MintError::TooMany);
        }
        personal_tokens::insert(conn, &row)?;
        Ok(())
    })?;
    Ok((token, row))
}

/// The live token and its (enabled) user, or `None`.
pub fn find_active(
    conn: &mut DbConnection,
    entry: &RealmEntry,
    token: &str,
    now: UnixTime,
) -> Result<Option<(PersonalTokenRow, UserRow)>, StorageError> {
    let Some(row) = personal_tokens::find_by_hash(conn, &token_hash(token))? else {
        return Ok(None);
    };
    if row.realm_id != entry.realm.id || !row.is_active(now) {
        return Ok(None);
    }
    let Some(user) = users::find_by_id(conn, &entry.realm.id, &row.user_id)?.filter(|u| u.enabled) else {
        return Ok(None);
    };
    if row.last_used_at.is_none_or(|last| now - last >= TOUCH_EVERY_SECS) {
        personal_tokens::touch(conn, &row.id, now)?;
    }
    Ok(Some((row, user)))
}
