//! Logout by refresh token, Keycloak's back-channel sign-out (what
//! python-keycloak's `logout()` sends to the end-session endpoint): the
//! token's browser session ends with every token issued in it; a grant
//! made without one (password, device) or an offline one ends alone.

use super::families::{revocation_horizon, revoke_grant};
use super::realm_cache::RealmEntry;
use super::refresh::{Presented, find_presented};
use super::sessions;
use crate::domain::client::Client;
use crate::error::OAuthError;
use crate::state::AppState;
use crate::storage::StorageError;

enum Refused {
    Invalid,
    OtherClient,
    Ended,
}

pub async fn end_by_refresh_token(
    state: &AppState,
    entry: &std::sync::Arc<RealmEntry>,
    client: &Client,
    token: &str,
) -> Result<(), OAuthError> {
    let Some(presented) = Presented::parse(&state.secret, token) else {
        return Err(OAuthError::invalid_grant("Invalid refresh token"));
    };
    let now = state.clock.now();
    let (entry, client_pk) = (std::sync::Arc::clone(entry), client.id.clone());
    let outcome = state
        .db
        .write(move |conn| {
            let Some((_, family)) = find_presented(conn, &presented)? else {
                return Ok(Err(Refused::Invalid));
            };
            if family.realm_id != entry.realm.id {
                return Ok(Err(Refused::Invalid));
            }
            if family.client_id != client_pk {
                return Ok(Err(Refused::OtherClient));
            }
            if family.revoked_at.is_some() {
                return Ok(Err(Refused::Ended));
            }
            match family.session_id.as_deref().filter(|_| !family.offline) {
                Some(session_id) => sessions::end(conn, &entry, session_id, now)?,
                None => revoke_grant(conn, &entry.realm.id, &family.id, revocation_horizon(&entry, now), now)?,
            }
            Ok::<_, StorageError>(Ok(()))
        })
        .await?;
    outcome.map_err(|refused| match refused {
        Refused::Invalid => OAuthError::invalid_grant("Invalid refresh token"),
        Refused::OtherClient => OAuthError::invalid_grant("Refresh token was issued to another client"),
        Refused::Ended => OAuthError::invalid_grant("Session not active"),
    })
}
