//! The token endpoint (RFC 6749 §3.2): parameters, client authentication,
//! then one file per grant.

mod authorization_code;
mod client_credentials;
mod device_code;
mod password;
mod refresh_token;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::params::{self, Params};
use super::realm_entry;
use crate::domain::client::GrantType;
use crate::domain::scope::ScopeSet;
use crate::error::{ErrorCode, OAuthError};
use crate::services::client_auth;
use crate::services::issue::TokenResponse;
use crate::state::AppState;

pub async fn token(
    req: HttpRequest,
    state: web::Data<AppState>,
    realm: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, OAuthError> {
    let entry = realm_entry(&state, &realm).await?;
    let params = params::read(&req, payload).await?;
    let credentials = params::client_credentials(&req, &params, entry.realm.name.as_str())?;
    let client = client_auth::authenticate(&entry, &credentials)?;
    let grant_type = params.required("grant_type")?;
    let grant: GrantType =
        grant_type.parse().ok().filter(|g| super::discovery::GRANT_TYPES.contains(g)).ok_or_else(|| {
            OAuthError::new(ErrorCode::UnsupportedGrantType, format!("Unsupported grant_type: {grant_type}"))
        })?;
    if !client.allows(grant) {
        return Err(OAuthError::unauthorized_client(format!("Client is not allowed to use the {grant} grant")));
    }
    let response = match grant {
        GrantType::AuthorizationCode => {
            authorization_code::grant(&state, entry.clone(), client.clone(), &params).await?
        }
        GrantType::ClientCredentials => client_credentials::grant(&state, &entry, &client, &params)?,
        GrantType::Password => password::grant(&state, &entry, &client, &params).await?,
        GrantType::DeviceCode => device_code::grant(&state, entry.clone(), client.clone(), &params).await?,
        GrantType::RefreshToken => refresh_token::grant(&state, entry.clone(), client.clone(), &params).await?,
        _ => unreachable!("filtered by GRANT_TYPES above"),
    };
    state.metrics.token_issued(entry.realm.name.as_str(), grant.as_str());
    tracing::debug!(realm = %entry.realm.name, client_id = %client.client_id, grant_type = %grant, "token issued");
    Ok(token_response(&response))
}

/// The success response, never cached (RFC 6749 §5.1).
pub fn token_response(response: &TokenResponse) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(response)
}

/// The `scope` parameter, parsed.
fn requested_scope(params: &Params) -> Result<ScopeSet, OAuthError> {
    match params.get("scope") {
        Some(raw) => ScopeSet::parse(raw).map_err(|e| OAuthError::invalid_scope(e.0)),
        None => Ok(ScopeSet::default()),
    }
}
