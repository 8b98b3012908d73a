//! Token revocation (RFC 7009).

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::{cors, enabled_realm_entry, params};
use crate::domain::client::Client;
use crate::error::{ErrorCode, OAuthError};
use crate::services::{client_auth, revoke as revocation};
use crate::state::AppState;

pub async fn revoke(
    req: HttpRequest,
    state: web::Data<AppState>,
    realm: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    let mut client = None;
    let outcome = revoke_token(&req, &state, &realm, payload, &mut client).await;
    cors::answer(&req, outcome, client.as_deref())
}

async fn revoke_token(
    req: &HttpRequest,
    state: &AppState,
    realm: &str,
    payload: web::Payload,
    authenticated: &mut Option<Arc<Client>>,
) -> Result<HttpResponse, OAuthError> {
    let entry = enabled_realm_entry(state, realm).await?;
    let params = params::read(req, payload).await?;
    let credentials = params::client_credentials(req, &params, entry.realm.name.as_str())?;
    let client = client_auth::authenticate(&entry, &credentials)?;
    *authenticated = Some(client.clone());
    let token = params.required("token")?;
    if let Some(hint) = params.get("token_type_hint")
        && !matches!(hint, "access_token" | "refresh_token")
    {
        return Err(OAuthError::new(ErrorCode::UnsupportedTokenType, format!("Unsupported token_type_hint: {hint}")));
    }
    revocation::revoke(state, &entry, &client, token).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .finish())
}
