//! The refresh grant (RFC 6749 §6); the rules live in `services::refresh`.

use std::sync::Arc;

use super::requested_scope;
use crate::domain::client::Client;
use crate::error::OAuthError;
use crate::oidc::params::Params;
use crate::services::issue::TokenResponse;
use crate::services::realm_cache::RealmEntry;
use crate::services::refresh;
use crate::state::AppState;

pub async fn grant(
    state: &AppState,
    entry: Arc<RealmEntry>,
    client: Arc<Client>,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let presented = params.required("refresh_token")?;
    if presented.len() > 512 || presented.contains('.') {
        return Err(OAuthError::invalid_grant("Invalid refresh token"));
    }
    let requested = requested_scope(params)?;
    refresh::refresh(state, entry, client, presented.to_owned(), requested).await
}
