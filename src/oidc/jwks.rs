//! The realm's JWKS (RFC 7517): every key that may still verify a live token.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use super::realm_entry;
use crate::error::OAuthError;
use crate::state::AppState;

pub async fn jwks(state: web::Data<AppState>, realm: web::Path<String>) -> Result<HttpResponse, OAuthError> {
    let entry = realm_entry(&state, &realm).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=60"))
        .body(entry.keys.jwks().to_vec()))
}
