//! `client_credentials` (RFC 6749 §4.4): no user, no refresh token, no
//! database: realm, client and key all come from the cache.

use super::requested_scope;
use crate::domain::client::Client;
use crate::error::OAuthError;
use crate::oidc::params::Params;
use crate::services::issue::{self, Subject, TokenResponse};
use crate::services::realm_cache::RealmEntry;
use crate::state::AppState;

pub fn grant(
    state: &AppState,
    entry: &RealmEntry,
    client: &Client,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    if !client.service_account_enabled {
        return Err(OAuthError::unauthorized_client("The client's service account is disabled"));
    }
    let requested = requested_scope(params)?;
    let granted =
        entry.scopes.grant(&requested, &client.scopes, None).map_err(|e| OAuthError::invalid_scope(e.to_string()))?;
    let now = state.clock.now();
    let (access_token, expires_in) =
        issue::access_token(entry, client, &Subject::Client, &granted, issue::new_jti(None), now)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: Some(expires_in),
        refresh_token: None,
        refresh_expires_in: None,
        id_token: None,
        scope: granted.to_string(),
        user_id: None,
    })
}
