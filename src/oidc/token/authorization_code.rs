//! The authorization code grant (RFC 6749 §4.1.3); rules in `services::code_exchange`.

use std::sync::Arc;

use crate::domain::client::Client;
use crate::error::OAuthError;
use crate::oidc::params::Params;
use crate::services::code_exchange::{Exchange, exchange};
use crate::services::issue::TokenResponse;
use crate::services::realm_cache::RealmEntry;
use crate::state::AppState;

pub async fn grant(
    state: &AppState,
    entry: Arc<RealmEntry>,
    client: Arc<Client>,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let code = params.required("code")?;
    if code.len() > 512 {
        return Err(OAuthError::invalid_grant("Invalid authorization code"));
    }
    let request = Exchange {
        code: code.to_owned(),
        redirect_uri: params.get("redirect_uri").map(str::to_owned),
        code_verifier: params.get("code_verifier").map(str::to_owned),
    };
    exchange(state, entry, client, request).await
}
