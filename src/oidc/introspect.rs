//! Token introspection (RFC 7662) for the realm's confidential clients.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::{enabled_realm_entry, params};
use crate::error::OAuthError;
use crate::services::{client_auth, introspection};
use crate::state::AppState;

pub async fn introspect(
    req: HttpRequest,
    state: web::Data<AppState>,
    realm: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, OAuthError> {
    let entry = enabled_realm_entry(&state, &realm).await?;
    let params = params::read(&req, payload).await?;
    let credentials = params::client_credentials(&req, &params, entry.realm.name.as_str())?;
    client_auth::authenticate_confidential(&entry, &credentials)?;
    let token = params.required("token")?;
    let answer = introspection::introspect(&state, &entry, token).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(answer))
}
