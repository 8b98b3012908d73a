//! The device authorization endpoint (RFC 8628 §3.1-3.2).

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::{cors, enabled_realm_entry, params};
use crate::domain::client::{Client, GrantType};
use crate::domain::scope::ScopeSet;
use crate::error::OAuthError;
use crate::services::{client_auth, device};
use crate::state::AppState;

pub async fn device_authorization(
    req: HttpRequest,
    state: web::Data<AppState>,
    realm: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    let mut client = None;
    let outcome = authorize_device(&req, &state, &realm, payload, &mut client).await;
    cors::answer(&req, outcome, client.as_deref())
}

async fn authorize_device(
    req: &HttpRequest,
    state: &AppState,
    realm: &str,
    payload: web::Payload,
    authenticated: &mut Option<Arc<Client>>,
) -> Result<HttpResponse, OAuthError> {
    let entry = enabled_realm_entry(state, realm).await?;
    let params = params::read(req, payload).await?;
    let credentials = params::client_credentials(req, &params, entry.realm.name.as_str())?;
    let client = authenticated.insert(client_auth::authenticate(&entry, &credentials)?).clone();
    if !client.allows(GrantType::DeviceCode) {
        return Err(OAuthError::unauthorized_client("Client is not allowed to use the device authorization grant"));
    }
    let requested = match params.get("scope") {
        Some(raw) => ScopeSet::parse(raw).map_err(|e| OAuthError::invalid_scope(e.0))?,
        None => ScopeSet::default(),
    };
    // The user's roles narrow this further when they approve.
    let scope =
        entry.scopes.grant(&requested, &client.scopes, None).map_err(|e| OAuthError::invalid_scope(e.to_string()))?;
    let answer = device::start(state, &entry, &client, &scope).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(answer))
}
