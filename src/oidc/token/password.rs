//! The resource owner password credentials grant (RFC 6749 §4.3), as
//! Keycloak's "direct access grants".

use super::requested_scope;
use crate::domain::client::{Client, GrantType};
use crate::error::OAuthError;
use crate::oidc::params::Params;
use crate::services::authentication::{PasswordCheck, Refusal};
use crate::services::issue::{self, TokenResponse, UserGrant};
use crate::services::realm_cache::RealmEntry;
use crate::services::{authentication, families};
use crate::state::AppState;

pub async fn grant(
    state: &AppState,
    entry: &RealmEntry,
    client: &Client,
    params: &Params,
    ip_address: Option<String>,
) -> Result<TokenResponse, OAuthError> {
    let username = params.required("username")?;
    let password = params.required("password")?;
    let requested = requested_scope(params)?;
    // Scope errors first: they need no password check.
    entry.scopes.grant(&requested, &client.scopes, None).map_err(|e| OAuthError::invalid_scope(e.to_string()))?;
    let signed_in = match authentication::password(state, entry, username, password.to_owned()).await? {
        PasswordCheck::SignedIn(signed_in) => *signed_in,
        // Keycloak's answers, the second only once the password was right.
        PasswordCheck::Refused(refused) => {
            tracing::info!(realm = %entry.realm.name, client_id = %client.client_id, "password grant refused");
            let disabled = matches!(refused, Refusal::Disabled { .. });
            let (user_id, audited) = refused.audited();
            let description = if disabled { "Account disabled" } else { "Invalid user credentials" };
            return Err(OAuthError::invalid_grant(description).audited_as(audited, user_id));
        }
    };
    if signed_in.user.password_temporary {
        // Keycloak's answer while a required action (a new password) is due.
        return Err(OAuthError::invalid_grant("Account is not fully set up")
            .audited_as("resolve_required_actions", Some(&signed_in.user.id)));
    }
    let allowed = entry.scopes_allowed_by_roles(&signed_in.role_ids);
    let granted = entry
        .scopes
        .grant(&requested, &client.scopes, Some(&allowed))
        .map_err(|e| OAuthError::invalid_scope(e.to_string()))?;
    let now = state.clock.now();
    let user = &signed_in.user;

    // A grant without a browser is a session of its own (as Keycloak's are),
    // recorded whether or not the client takes refresh tokens: its access
    // tokens name it, so signing the user out revokes them, and its ID
    // token names it, so a logout with that token ends it.
    let family = families::prepare_family(entry, client, &user.id, &granted, now, now, ip_address);
    let grant = UserGrant {
        user,
        role_ids: &signed_in.role_ids,
        scope: &granted,
        auth_time: now,
        grant_id: Some(family.family.id.as_str()),
        nonce: None,
        sid: (!family.family.offline).then_some(family.family.id.as_str()),
        session_ends: families::sessionless_ends(entry, &granted, now),
    };
    let refresh = client.allows(GrantType::RefreshToken).then(|| (family.token(&state.secret), family.expires_at));
    let response = issue::user_tokens(
        entry,
        client,
        &grant,
        refresh.as_ref().map(|(token, expires)| (token.as_str(), *expires)),
        now,
    )?;
    state.db.write(move |conn| families::store_family(conn, &family)).await?;
    Ok(response)
}
