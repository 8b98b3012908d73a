//! Token introspection (RFC 7662) for the realm's confidential clients,
//! from a browser application's origins too (CORS, as the token endpoint).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use std::sync::Arc;

use super::{cors, enabled_realm_entry, params};
use crate::domain::client::Client;
use crate::error::OAuthError;
use crate::services::{client_auth, introspection};
use crate::state::AppState;

pub async fn introspect(
    req: HttpRequest,
    state: web::Data<AppState>,
    realm: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    let mut client = None;
    let outcome = introspect_token(&req, &state, &realm, payload, &mut client).await;
    cors::answer(&req, outcome, client.as_deref())
}

async fn introspect_token(
    req: &HttpRequest,
    state: &AppState,
    realm: &str,
    payload: web::Payload,
    authenticated: &mut Option<Arc<Client>>,
) -> Result<HttpResponse, OAuthError> {
    let entry = enabled_realm_entry(state, realm).await?;
    let params = params::read(req, payload).await?;
    let credentials = params::client_credentials(req, &params, entry.realm.name.as_str())?;
    *authenticated = Some(client_auth::authenticate_confidential(&entry, &credentials)?);
    let token = params.required("token")?;
    let answer = introspection::introspect(state, &entry, token).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(answer))
}
