//! Token revocation (RFC 7009).

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::{cors, enabled_realm_entry, params};
use crate::domain::client::Client;
use crate::error::OAuthError;
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
    // `token_type_hint` is not read: every kind of token is recognised by
    // its shape, and an unknown hint "is ignored by the authorization server
    // and does not influence the revocation response" (RFC 7009 §2.2; as in
    // Hydra, where Keycloak answers 400 unsupported_token_type).
    revocation::revoke(state, &entry, &client, token).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .finish())
}
