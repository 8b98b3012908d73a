//! The token endpoint (RFC 6749 §3.2): parameters, client authentication,
//! then one file per grant.

mod authorization_code;
mod client_credentials;
mod device_code;
mod password;
mod refresh_token;

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::params::{self, Params};
use super::{cors, enabled_realm_entry};
use crate::domain::client::{Client, GrantType};
use crate::domain::scope::ScopeSet;
use crate::error::{ErrorCode, OAuthError};
use crate::services::client_auth;
use crate::services::issue::TokenResponse;
use crate::services::realm_cache::RealmEntry;
use crate::state::AppState;

pub async fn token(
    req: HttpRequest,
    state: web::Data<AppState>,
    realm: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    let mut client = None;
    let outcome = exchange(&req, &state, &realm, payload, &mut client).await;
    cors::answer(&req, outcome, client.as_deref())
}

/// The token request; `authenticated` learns the client once it is known,
/// so that its errors are readable by the client's origins too.
async fn exchange(
    req: &HttpRequest,
    state: &AppState,
    realm: &str,
    payload: web::Payload,
    authenticated: &mut Option<Arc<Client>>,
) -> Result<HttpResponse, OAuthError> {
    let entry = enabled_realm_entry(state, realm).await?;
    let params = params::read(req, payload).await?;
    let credentials = params::client_credentials(req, &params, entry.realm.name.as_str())?;
    let client = match client_auth::authenticate(&entry, &credentials) {
        Ok(client) => client,
        Err(refused) => {
            // In the audit log as Keycloak has it (CLIENT_LOGIN_ERROR, …),
            // under the client id presented, when the grant is one we serve.
            if let Some(grant) = params.get("grant_type").and_then(|g| g.parse::<GrantType>().ok())
                && super::discovery::GRANT_TYPES.contains(&grant)
            {
                let outcome = Err(refused.clone());
                let presented: String = credentials.client_id().chars().take(255).collect();
                record_event(state, req, &entry, &presented, grant, &params, &outcome);
            }
            return Err(refused);
        }
    };
    *authenticated = Some(client.clone());
    let grant_type = params.required("grant_type")?;
    let grant: GrantType =
        grant_type.parse().ok().filter(|g| super::discovery::GRANT_TYPES.contains(g)).ok_or_else(|| {
            OAuthError::new(ErrorCode::UnsupportedGrantType, format!("Unsupported grant_type: {grant_type}"))
        })?;
    if !client.allows(grant) {
        return Err(OAuthError::unauthorized_client(format!("Client is not allowed to use the {grant} grant")));
    }
    let outcome = match grant {
        GrantType::AuthorizationCode => authorization_code::grant(state, entry.clone(), client.clone(), &params).await,
        GrantType::ClientCredentials => client_credentials::grant(state, &entry, &client, &params),
        GrantType::Password => password::grant(state, &entry, &client, &params, state.client_ip(req)).await,
        GrantType::DeviceCode => {
            device_code::grant(state, entry.clone(), client.clone(), &params, state.client_ip(req)).await
        }
        GrantType::RefreshToken => refresh_token::grant(state, entry.clone(), client.clone(), &params).await,
        _ => unreachable!("filtered by GRANT_TYPES above"),
    };
    record_event(state, req, &entry, &client.client_id, grant, &params, &outcome);
    let response = outcome?;
    state.metrics.token_issued(entry.realm.name.as_str(), grant.as_str());
    tracing::debug!(realm = %entry.realm.name, client_id = %client.client_id, grant_type = %grant, "token issued");
    Ok(token_response(&response))
}

/// The success response, never cached (RFC 6749 §5.1).
/// The audit-log event of a token request (Keycloak's event types).
fn record_event(
    state: &AppState,
    req: &HttpRequest,
    entry: &RealmEntry,
    client_id: &str,
    grant: GrantType,
    params: &Params,
    outcome: &Result<TokenResponse, OAuthError>,
) {
    let event_type = match (grant, outcome.is_ok()) {
        (GrantType::Password, true) => "LOGIN",
        (GrantType::Password, false) => "LOGIN_ERROR",
        (GrantType::AuthorizationCode, true) => "CODE_TO_TOKEN",
        (GrantType::AuthorizationCode, false) => "CODE_TO_TOKEN_ERROR",
        (GrantType::RefreshToken, true) => "REFRESH_TOKEN",
        (GrantType::RefreshToken, false) => "REFRESH_TOKEN_ERROR",
        (GrantType::ClientCredentials, true) => "CLIENT_LOGIN",
        (GrantType::ClientCredentials, false) => "CLIENT_LOGIN_ERROR",
        (_, true) => "OAUTH2_DEVICE_CODE_TO_TOKEN",
        (_, false) => "OAUTH2_DEVICE_CODE_TO_TOKEN_ERROR",
    };
    if !entry.events.records(event_type) {
        return;
    }
    let mut details = serde_json::Map::new();
    details.insert("grant_type".into(), grant.as_str().into());
    if grant == GrantType::Password
        && let Some(username) = params.get("username")
    {
        details.insert("username".into(), username.chars().take(255).collect::<String>().into());
    }
    let (user_id, error) = match outcome {
        Ok(response) => (response.user_id.clone(), None),
        Err(e) => match e.audit() {
            Some(audited) => (audited.user_id.clone(), Some(audited.error.to_owned())),
            None => (None, Some(e.code.as_str().to_owned())),
        },
    };
    let event = crate::services::events::Event {
        realm_id: entry.realm.id.clone(),
        event_type,
        client_id: Some(client_id.to_owned()),
        user_id,
        ip_address: state.client_ip(req),
        error,
        details,
        ..Default::default()
    };
    state.events.record(&entry.events, event, state.clock.now() * 1000);
}

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
