//! Token revocation (RFC 7009): access tokens by id until they expire,
//! refresh tokens with their whole family and the access tokens it issued,
//! and personal access tokens.

use super::access;
use super::families::{revocation_horizon, revoke_grant};
use super::personal_tokens;
use super::realm_cache::RealmEntry;
use super::refresh::{Presented, find_presented};
use crate::domain::client::Client;
use crate::error::OAuthError;
use crate::state::AppState;
use crate::storage::StorageError;
use crate::storage::repo::personal_tokens as token_repo;
use crate::storage::repo::revocations;

enum Found {
    Nothing,
    OtherClient,
    Revoked,
}

/// Revokes `token` if it is a live token of this realm issued to `client`
/// (or a personal token of this realm).
/// Unknown, expired or foreign tokens are not an error (RFC 7009 §2.2).
pub async fn revoke(state: &AppState, entry: &RealmEntry, client: &Client, token: &str) -> Result<(), OAuthError> {
    let now = state.clock.now();
    let realm_id = entry.realm.id.clone();
    let found = if personal_tokens::is_personal(token) {
        // No client holds a personal token: whoever presents it may use it,
        // so may end it (a paired device signing out, say).
        // Looked up first: a made-up token of the right shape costs a read,
        // not a turn of the single writer.
        let token_hash = crate::crypto::token_hash(token);
        let live = state
            .db
            .run(move |conn| token_repo::find_by_hash(conn, &token_hash))
            .await?
            .filter(|row| row.realm_id == realm_id && row.revoked_at.is_none());
        if let Some(row) = live {
            state.db.write(move |conn| token_repo::revoke(conn, &row.user_id, &row.id, now)).await?;
        }
        Found::Revoked
    } else if token.contains('.') {
        let Ok(claims) = access::verify(entry, token, now) else {
            return Ok(());
        };
        if claims.client_id != client.client_id {
            Found::OtherClient
        } else {
            state.db.write(move |conn| revocations::insert(conn, &realm_id, &claims.jti, claims.exp)).await?;
            Found::Revoked
        }
    } else {
        let Some(presented) = Presented::parse(&state.secret, token) else {
            return Ok(());
        };
        let client_pk = client.id.clone();
        let horizon = revocation_horizon(entry, now);
        state
            .db
            .write(move |conn| {
                let Some((_, family)) = find_presented(conn, &presented)? else {
                    return Ok(Found::Nothing);
                };
                if family.realm_id != realm_id {
                    return Ok(Found::Nothing);
                }
                if family.client_id != client_pk {
                    return Ok(Found::OtherClient);
                }
                revoke_grant(conn, &realm_id, &family.id, horizon, now)?;
                Ok::<_, StorageError>(Found::Revoked)
            })
            .await?
    };
    match found {
        Found::OtherClient => Err(OAuthError::unauthorized_client("Token was issued to another client")),
        Found::Nothing | Found::Revoked => Ok(()),
    }
}
