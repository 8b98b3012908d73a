//! The device code grant (RFC 8628 §3.4-3.5); rules in `services::device`.

use std::sync::Arc;

use crate::domain::client::Client;
use crate::error::OAuthError;
use crate::oidc::params::Params;
use crate::services::device;
use crate::services::issue::TokenResponse;
use crate::services::realm_cache::RealmEntry;
use crate::state::AppState;

pub async fn grant(
    state: &AppState,
    entry: Arc<RealmEntry>,
    client: Arc<Client>,
    params: &Params,
    ip_address: Option<String>,
) -> Result<TokenResponse, OAuthError> {
    let device_code = params.required("device_code")?;
    if device_code.len() > 512 {
        return Err(OAuthError::invalid_grant("Invalid device code"));
    }
    device::poll(state, entry, client, device_code.to_owned(), ip_address).await
}
