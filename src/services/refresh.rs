//! Refresh tokens: families created at a grant, rotation with reuse
//! detection (RFC 9700 §4.14), the realm's reuse grace, and scope that may
//! narrow but never widen. One transaction per refresh.

use std::sync::Arc;

use diesel::Connection;

use super::Abort;
use super::issue::{self, IdTokenExtras, Subject, TokenResponse};
use super::realm_cache::RealmEntry;
use crate::clock::UnixTime;
use crate::crypto::{SecretKey, random_token, token_hash};
use crate::domain::client::Client;
use crate::domain::scope::ScopeSet;
use crate::error::{ErrorCode, OAuthError};
use crate::state::AppState;
use crate::storage::repo::refresh::{FamilyRow, TokenRow};
use crate::storage::repo::{refresh, revocations, roles, users};
use crate::storage::{DbConnection, StorageError, new_id};

/// How long a revocation is remembered beyond the access-token lifetime
/// (clock skew between nodes).
const REVOCATION_MARGIN_SECS: i64 = 30;

/// Until when a grant revoked `now` must stay revoked: as long as any access
/// token naming it can live.
pub fn revocation_horizon(entry: &RealmEntry, now: UnixTime) -> UnixTime {
    now + entry.realm.settings.access_token_lifetime + REVOCATION_MARGIN_SECS
}

/// Revokes a grant as one: its refresh family (if it has one) and every
/// access token whose jti names it.
pub fn revoke_grant(
    conn: &mut DbConnection,
    realm_id: &str,
    grant_id: &str,
    horizon: UnixTime,
    now: UnixTime,
) -> Result<(), StorageError> {
    refresh::revoke_family(conn, grant_id, now)?;
    revocations::insert(conn, realm_id, grant_id, horizon)
}

/// A family and its first token, ready to store.
pub struct NewFamily {
    pub token: String,
    pub family: FamilyRow,
    pub first: TokenRow,
}

/// Prepares a family for a grant to a user; its id goes into the access token's jti.
pub fn prepare_family(
    entry: &RealmEntry,
    client: &Client,
    user_id: &str,
    scope: &ScopeSet,
    auth_time: UnixTime,
    now: UnixTime,
) -> NewFamily {
    let token = random_token(32);
    let expires_at = now + entry.realm.settings.refresh_token_lifetime;
    let family = FamilyRow {
        id: new_id(),
        realm_id: entry.realm.id.clone(),
        client_id: client.id.clone(),
        user_id: user_id.to_owned(),
        scope: scope.to_string(),
        offline: scope.contains("offline_access"),
        auth_time,
        created_at: now,
        expires_at,
        revoked_at: None,
        session_id: None,
    };
    let first = TokenRow {
        token_hash: token_hash(&token),
        family_id: family.id.clone(),
        issued_at: now,
        expires_at,
        spent_at: None,
        successor: None,
    };
    NewFamily { token, family, first }
}

pub fn store_family(conn: &mut DbConnection, new: &NewFamily) -> Result<(), StorageError> {
    conn.transaction(|conn| {
        refresh::insert_family(conn, &new.family)?;
        refresh::insert_token(conn, &new.first)
    })
}

enum Outcome {
    Issued(TokenResponse),
    /// Stored and committed; the tokens are signed after the write lock is
    /// released (signing RS256 under it would serialise every refresh).
    Stored(Box<Rotation>),
    Replayed(TokenResponse),
    ReuseDetected {
        family_id: String,
    },
}

/// What a refresh grants, ready to be signed.
struct Rotation {
    user: crate::domain::user::User,
    family: FamilyRow,
    granted: ScopeSet,
    refresh_token: String,
    refresh_expires_at: UnixTime,
}

impl Rotation {
    fn sign(self, entry: &RealmEntry, client: &Client, now: UnixTime) -> Result<TokenResponse, OAuthError> {
        let subject = Subject::User { user: &self.user, auth_time: self.family.auth_time };
        let jti = issue::new_jti(Some(&self.family.id));
        let (access_token, expires_in) = issue::access_token(entry, client, &subject, &self.granted, jti, now)?;
        let id_token = if self.granted.contains("openid") {
            let extras = IdTokenExtras { access_token: Some(&access_token), ..Default::default() };
            Some(issue::id_token(entry, client, &self.user, &self.granted, self.family.auth_time, extras, now)?)
        } else {
            None
        };
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer".into(),
            expires_in: Some(expires_in),
            refresh_token: Some(self.refresh_token),
            refresh_expires_in: Some(self.refresh_expires_at - now),
            id_token,
            scope: self.granted.to_string(),
            user_id: Some(self.family.user_id),
        })
    }
}

fn reject(code: ErrorCode, description: &'static str) -> Abort {
    Abort::Reject(OAuthError::new(code, description))
}

/// The user a refresh token was issued to, read before the write: enabled
/// (else `None`), with the roles that bound its scopes.
struct Owner {
    user_id: String,
    user: Option<(crate::domain::user::User, Vec<String>)>,
}

/// The refresh grant. The token's owner is read first, outside the write
/// (SQLite has one writer; what needs no atomicity stays off its path), so
/// the transaction holds only the rotation itself; an unknown token never
/// reaches the writer.
pub async fn refresh(
    state: &AppState,
    entry: Arc<RealmEntry>,
    client: Arc<Client>,
    presented: String,
    requested: ScopeSet,
) -> Result<TokenResponse, OAuthError> {
    let now = state.clock.now();
    let realm_id = entry.realm.id.clone();
    let hash = token_hash(&presented);
    let lookup = hash.clone();
    let owner = state.db.read_hot(move |conn| read_owner(conn, &realm_id, &lookup)).await?;
    let Some(owner) = owner else {
        return Err(OAuthError::invalid_grant("Invalid refresh token"));
    };
    let secret = state.secret.clone();
    let (stored_entry, stored_client) = (Arc::clone(&entry), Arc::clone(&client));
    let outcome = state
        .db
        .write(move |conn| {
            Ok(conn.transaction(|conn| {
                let rotation = Presented { token: &presented, hash: &hash, requested: &requested, owner };
                refresh_in_transaction(conn, &stored_entry, &stored_client, &secret, rotation, now)
            }))
        })
        .await?;
    match outcome {
        Ok(Outcome::Issued(response)) => Ok(response),
        Ok(Outcome::Stored(rotation)) => rotation.sign(&entry, &client, now),
        Ok(Outcome::Replayed(response)) => {
            tracing::info!("refresh token replayed within the reuse grace; same pair returned");
            Ok(response)
        }
        Ok(Outcome::ReuseDetected { family_id }) => {
            tracing::warn!(family_id, "spent refresh token presented again; its family is revoked");
            Err(OAuthError::invalid_grant("Invalid refresh token"))
        }
        Err(Abort::Reject(error)) => Err(error),
        Err(Abort::Storage(error)) => Err(error.into()),
    }
}

fn read_owner(conn: &mut DbConnection, realm_id: &str, hash: &str) -> Result<Option<Owner>, StorageError> {
    let Some((_, family)) = refresh::find_token(conn, hash)? else {
        return Ok(None);
    };
    let user = match users::find_by_id(conn, realm_id, &family.user_id)?.filter(|u| u.enabled) {
        Some(user) => Some((user.to_domain(), roles::list_role_ids_of_user(conn, &user.id)?)),
        None => None,
    };
    Ok(Some(Owner { user_id: family.user_id, user }))
}

/// What the client presented, and who the token was found to belong to.
struct Presented<'a> {
    token: &'a str,
    hash: &'a str,
    requested: &'a ScopeSet,
    owner: Owner,
}

fn refresh_in_transaction(
    conn: &mut DbConnection,
    entry: &RealmEntry,
    client: &Client,
    secret: &SecretKey,
    presented: Presented<'_>,
    now: UnixTime,
) -> Result<Outcome, Abort> {
    let Presented { token: presented, hash, requested, owner } = presented;
    let settings = &entry.realm.settings;
    // Spend first: the write lock is taken at once and only one caller wins.
    let spent_now = settings.refresh_token_rotation && refresh::spend_token(conn, hash, now)? == 1;
    let Some((token, family)) = refresh::find_token(conn, hash)? else {
        return Err(reject(ErrorCode::InvalidGrant, "Invalid refresh token"));
    };
    if family.realm_id != entry.realm.id {
        return Err(reject(ErrorCode::InvalidGrant, "Invalid refresh token"));
    }
    if family.client_id != client.id {
        return Err(reject(ErrorCode::InvalidGrant, "Refresh token was issued to another client"));
    }
    if family.revoked_at.is_some() {
        return Err(reject(ErrorCode::InvalidGrant, "Session not active"));
    }
    if now > token.expires_at {
        return Err(reject(ErrorCode::InvalidGrant, "Token is not active"));
    }
    if settings.refresh_token_rotation && !spent_now {
        let spent_at = token.spent_at.unwrap_or(now);
        if now - spent_at <= settings.refresh_token_reuse_grace
            && let Some(sealed) = &token.successor
        {
            let response = secret
                .decrypt(sealed)
                .ok()
                .and_then(|plain| serde_json::from_slice::<TokenResponse>(&plain).ok())
                .ok_or_else(|| Abort::Storage(StorageError::Corrupt("unreadable refresh successor".into())))?;
            return Ok(Outcome::Replayed(response));
        }
        revoke_grant(conn, &entry.realm.id, &family.id, revocation_horizon(entry, now), now)?;
        return Ok(Outcome::ReuseDetected { family_id: family.id });
    }

    if owner.user_id != family.user_id {
        return Err(Abort::Storage(StorageError::Corrupt("a refresh family changed its user".into())));
    }
    // Read again here: a user disabled after the owner was read gets nothing.
    // (Roles read before the write can only be a moment old, as for any grant.)
    let enabled_now = owner.user.is_some() && users::is_enabled(conn, &entry.realm.id, &family.user_id)?;
    let Some((user, role_ids)) = owner.user.filter(|_| enabled_now) else {
        return Err(reject(ErrorCode::InvalidGrant, "Session not active"));
    };

    let original = ScopeSet::parse(&family.scope).map_err(|e| Abort::Storage(StorageError::Corrupt(e.0)))?;
    if !requested.is_subset(&original) {
        return Err(Abort::Reject(OAuthError::invalid_scope("Requested scope exceeds the original grant")));
    }
    let asked = if requested.is_empty() { original } else { requested.clone() };
    // Scopes the client or realm no longer has narrow the grant quietly.
    let client_allowed = entry.scopes.closure(client.scopes.iter());
    let asked = ScopeSet::from_names(
        asked.iter().filter(|s| client_allowed.contains(s) && entry.scopes.is_known(s)).map(str::to_owned),
    );
    // Roles or the client's scopes may have shrunk since the grant.
    let allowed = entry.scopes_allowed_by_roles(&role_ids);
    let granted = if asked.is_empty() {
        asked
    } else {
        entry
            .scopes
            .grant(&asked, &client.scopes, Some(&allowed))
            .map_err(|e| Abort::Reject(OAuthError::invalid_scope(e.to_string())))?
    };

    let (refresh_token, refresh_expires_at) = if settings.refresh_token_rotation {
        let next = random_token(32);
        let expires_at = now + settings.refresh_token_lifetime;
        refresh::insert_token(
            conn,
            &TokenRow {
                token_hash: token_hash(&next),
                family_id: family.id.clone(),
                issued_at: now,
                expires_at,
                spent_at: None,
                successor: None,
            },
        )?;
        refresh::extend_family(conn, &family.id, expires_at)?;
        (next, expires_at)
    } else {
        (presented.to_owned(), token.expires_at)
    };
    let rotation = Rotation { user, family, granted, refresh_token, refresh_expires_at };
    if !(settings.refresh_token_rotation && settings.refresh_token_reuse_grace > 0) {
        return Ok(Outcome::Stored(Box::new(rotation)));
    }
    // With a reuse grace, a concurrent retry must find the answer stored with
    // the spent token, so this one is signed before the commit.
    let response = rotation.sign(entry, client, now).map_err(Abort::Reject)?;
    let plain = serde_json::to_vec(&response).expect("token responses serialise");
    refresh::set_successor(conn, hash, &secret.encrypt(&plain))?;
    Ok(Outcome::Issued(response))
}
