//! The resource owner password credentials grant (RFC 6749 §4.3), as
//! Keycloak's "direct access grants".

use super::requested_scope;
use crate::domain::client::{Client, GrantType};
use crate::error::OAuthError;
use crate::oidc::params::Params;
use crate::services::issue::{self, IdTokenExtras, Subject, TokenResponse};
use crate::services::realm_cache::RealmEntry;
use crate::services::{authentication, refresh};
use crate::state::AppState;

pub async fn grant(
    state: &AppState,
    entry: &RealmEntry,
    client: &Client,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let username = params.required("username")?;
    let password = params.required("password")?;
    let requested = requested_scope(params)?;
    // Scope errors first: they need no password check.
    entry.scopes.grant(&requested, &client.scopes, None).map_err(|e| OAuthError::invalid_scope(e.to_string()))?;
    let Some(signed_in) = authentication::password(state, entry, username, password.to_owned()).await? else {
        tracing::info!(realm = %entry.realm.name, client_id = %client.client_id, "password grant refused");
        return Err(OAuthError::invalid_grant("Invalid user credentials"));
    };
    let allowed = entry.scopes_allowed_by_roles(&signed_in.role_ids);
    let granted = entry
        .scopes
        .grant(&requested, &client.scopes, Some(&allowed))
        .map_err(|e| OAuthError::invalid_scope(e.to_string()))?;
    let now = state.clock.now();
    let user = &signed_in.user;

    let family = client
        .allows(GrantType::RefreshToken)
        .then(|| refresh::prepare_family(entry, client, &user.id, &granted, now, now));
    let jti = issue::new_jti(family.as_ref().map(|f| f.family.id.as_str()));
    let subject = Subject::User { user, auth_time: now };
    let (access_token, expires_in) = issue::access_token(entry, client, &subject, &granted, jti, now)?;
    let id_token = if granted.contains("openid") {
        let extras = IdTokenExtras { access_token: Some(&access_token), ..Default::default() };
        Some(issue::id_token(entry, client, user, &granted, now, extras, now)?)
    } else {
        None
    };
    let (refresh_token, refresh_expires_in) = match family {
        Some(family) => {
            let expires_in = family.first.expires_at - now;
            let token = family.token.clone();
            state.db.write(move |conn| refresh::store_family(conn, &family)).await?;
            (Some(token), Some(expires_in))
        }
        None => (None, None),
    };
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: Some(expires_in),
        refresh_token,
        refresh_expires_in,
        id_token,
        scope: granted.to_string(),
    })
}
