//! Token revocation (RFC 7009).

use actix_web::{HttpRequest, HttpResponse, web};

use super::{params, realm_entry};
use crate::error::{ErrorCode, OAuthError};
use crate::services::{client_auth, revoke as revocation};
use crate::state::AppState;

pub async fn revoke(
    req: HttpRequest,
    state: web::Data<AppState>,
    realm: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, OAuthError> {
    let entry = realm_entry(&state, &realm).await?;
    let params = params::read(&req, payload).await?;
    let credentials = params::client_credentials(&req, &params, entry.realm.name.as_str())?;
    let client = client_auth::authenticate(&entry, &credentials)?;
    let token = params.required("token")?;
    if let Some(hint) = params.get("token_type_hint")
        && !matches!(hint, "access_token" | "refresh_token")
    {
        return Err(OAuthError::new(ErrorCode::UnsupportedTokenType, format!("Unsupported token_type_hint: {hint}")));
    }
    revocation::revoke(&state, &entry, &client, token).await?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).finish())
}
