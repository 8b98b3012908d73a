//! Personal access tokens: `rgp_` + 40 hex characters, shown once, stored
//! hashed, scoped to at most what the user's roles allow, at most 25 active
//! per user, optionally expiring, revocable.

use diesel::Connection;

use super::realm_cache::RealmEntry;
use crate::clock::UnixTime;
use crate::crypto::{random_bytes, to_hex, token_hash};
use crate::domain::scope::{PERSONAL_TOKEN_SCOPE, ScopeSet};
use crate::domain::text::validate_name;
use crate::storage::repo::personal_tokens::{self, PersonalTokenRow};
use crate::storage::repo::users::UserRow;
use crate::storage::repo::{roles, users};
use crate::storage::{DbConnection, StorageError, new_id};

pub const PREFIX: &str = "rgp_";
pub const MAX_ACTIVE_PER_USER: i64 = 25;
/// A token's name is 1 to this many characters.
pub const MAX_TOKEN_NAME_CHARS: usize = 100;
/// `last_used_at` is written at most this often per token.
const TOUCH_EVERY_SECS: i64 = 60;

#[derive(Debug, thiserror::Error)]
pub enum MintError {
    #[error("user `{0}` does not exist in this realm")]
    NoSuchUser(String),
    #[error("user `{0}` is disabled")]
    Disabled(String),
    #[error("the user already has {MAX_ACTIVE_PER_USER} active personal access tokens; revoke one first")]
    TooMany,
    #[error("scope `{0}` is unknown or not allowed for this user")]
    ScopeNotAllowed(String),
    #[error("the name must be 1 to {MAX_TOKEN_NAME_CHARS} characters, without control or invisible characters")]
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
        .ok_or_else(|| MintError::NoSuchUser(username.to_owned()))?;
    if !user.enabled {
        return Err(MintError::Disabled(username.to_owned()));
    }
    mint_for(conn, entry, &user, name, scope, None, expires_at, now)
}

/// Like `mint`, for a loaded user. `ceiling` bounds the token further: a
/// token minted through an API call never gets more than the calling
/// credential holds.
#[expect(clippy::too_many_arguments, reason = "every part of a token is chosen by the caller")]
pub fn mint_for(
    conn: &mut DbConnection,
    entry: &RealmEntry,
    user: &UserRow,
    name: &str,
    scope: Option<&ScopeSet>,
    ceiling: Option<&ScopeSet>,
    expires_at: Option<UnixTime>,
    now: UnixTime,
) -> Result<(String, PersonalTokenRow), MintError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_TOKEN_NAME_CHARS || validate_name(name).is_err() {
        return Err(MintError::BadName);
    }
    let role_ids = roles::list_role_ids_of_user(conn, &user.id)?;
    let mut allowed = entry.scopes_allowed_by_roles(&role_ids);
    allowed = ScopeSet::from_names(allowed.iter().filter(|s| *s != PERSONAL_TOKEN_SCOPE).map(str::to_owned));
    if let Some(ceiling) = ceiling {
        allowed = allowed.intersection(ceiling);
    }
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
        // Serialises concurrent creations, so the cap holds on PostgreSQL too.
        crate::storage::repo::meta::lock(conn)?;
        if personal_tokens::count_active(conn, &user.id, now)? >= MAX_ACTIVE_PER_USER {
            return Err(MintError::TooMany);
        }
        personal_tokens::insert(conn, &row)?;
        Ok(())
    })?;
    Ok((token, row))
}

/// Whether `user_id` holds as many live tokens as a user may: a device
/// pairing approved now would end without one.
pub async fn at_cap(state: &crate::state::AppState, user_id: String) -> Result<bool, super::ServiceError> {
    let now = state.clock.now();
    Ok(state.db.run(move |conn| Ok(personal_tokens::count_active(conn, &user_id, now)? >= MAX_ACTIVE_PER_USER)).await?)
}

/// A live token, its (enabled) user, and the scopes it holds now: its own,
/// narrowed to what the user's current roles allow.
pub struct ActiveToken {
    pub row: PersonalTokenRow,
    pub user: UserRow,
    pub scope: ScopeSet,
}

/// Records that a token was used, at most once a minute, through the
/// writer queue.
pub async fn record_use(
    state: &crate::state::AppState,
    active: &ActiveToken,
    now: UnixTime,
) -> Result<(), StorageError> {
    if active.row.last_used_at.is_some_and(|last| now - last < TOUCH_EVERY_SECS) {
        return Ok(());
    }
    let id = active.row.id.clone();
    state.db.write(move |conn| personal_tokens::touch(conn, &id, now)).await
}

/// The live token, or `None` (a read only; see `record_use`).
pub fn find_active(
    conn: &mut DbConnection,
    entry: &RealmEntry,
    token: &str,
    now: UnixTime,
) -> Result<Option<ActiveToken>, StorageError> {
    let Some(row) = personal_tokens::find_by_hash(conn, &token_hash(token))? else {
        return Ok(None);
    };
    if row.realm_id != entry.realm.id || !row.is_active(now) {
        return Ok(None);
    }
    let Some(user) = users::find_by_id(conn, &entry.realm.id, &row.user_id)?.filter(|u| u.enabled) else {
        return Ok(None);
    };
    let role_ids = roles::list_role_ids_of_user(conn, &user.id)?;
    let scope = ScopeSet::parse(&row.scope).unwrap_or_default().intersection(&entry.scopes_allowed_by_roles(&role_ids));
    Ok(Some(ActiveToken { row, user, scope }))
}
