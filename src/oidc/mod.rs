//! Protocol endpoints, one file each, under `/realms/{realm}` (SPEC §3).

pub mod account_api;
pub mod bearer;
pub mod device;
pub mod discovery;
pub mod introspect;
pub mod jwks;
pub mod params;
pub mod paths;
pub mod revoke;
pub mod token;
pub mod userinfo;

use std::sync::Arc;

use actix_web::web;

use crate::error::OAuthError;
use crate::services::realm_cache::RealmEntry;
use crate::state::AppState;

/// Registers the protocol routes under `/realms/{realm}`.
pub fn realm_routes(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::OPENID_CONFIGURATION, web::get().to(discovery::openid_configuration))
        .route(paths::OAUTH_METADATA, web::get().to(discovery::oauth_metadata))
        .route(paths::CERTS, web::get().to(jwks::jwks))
        .route(paths::DEVICE_AUTHORIZATION, web::post().to(device::device_authorization))
        .route(paths::TOKEN, web::post().to(token::token))
        .route(paths::USERINFO, web::get().to(userinfo::userinfo))
        .route(paths::USERINFO, web::post().to(userinfo::userinfo))
        .route(paths::INTROSPECTION, web::post().to(introspect::introspect))
        .route(paths::REVOCATION, web::post().to(revoke::revoke))
        .configure(account_api::routes);
}

/// Registers the well-known routes outside the realm scope.
pub fn config(cfg: &mut web::ServiceConfig) {
    // RFC 8414 §3.1 inserts the well-known part before the issuer's path.
    cfg.route(&format!("{}/realms/{{realm}}", paths::OAUTH_METADATA), web::get().to(discovery::oauth_metadata)).route(
        &format!("{}/realms/{{realm}}", paths::OPENID_CONFIGURATION),
        web::get().to(discovery::openid_configuration),
    );
}

/// The realm named in the path, or the OAuth-shaped 404.
pub async fn realm_entry(state: &AppState, name: &str) -> Result<Arc<RealmEntry>, OAuthError> {
    match state.cache.get(name).await {
        Ok(Some(entry)) => Ok(entry),
        Ok(None) => Err(OAuthError::realm_not_found()),
        Err(error) => Err(OAuthError::internal(&error)),
    }
}
