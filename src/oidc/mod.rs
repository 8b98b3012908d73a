//! Protocol endpoints, one file each, under `/realms/{realm}` (SPEC §3).

pub mod account_api;
pub mod bearer;
pub mod cors;
pub mod device;
pub mod discovery;
pub mod introspect;
pub mod jwks;
pub mod params;
pub mod paths;
pub mod revoke;
pub mod third_party_cookies;
pub mod token;
pub mod userinfo;

use std::sync::Arc;

use actix_web::http::Method;
use actix_web::{HttpRequest, web};

use crate::error::OAuthError;
use crate::services::realm_cache::RealmEntry;
use crate::state::AppState;

/// Registers the protocol routes under `/realms/{realm}`.
pub fn realm_routes(cfg: &mut web::ServiceConfig) {
    // Public documents, and a preflight (HEAD is GET everywhere: `startup`).
    cfg.service(web::resource("").get(discovery::realm_info).route(preflight("GET")))
        .service(
            web::resource(paths::OPENID_CONFIGURATION).get(discovery::openid_configuration).route(preflight("GET")),
        )
        .service(web::resource(paths::OAUTH_METADATA).get(discovery::oauth_metadata).route(preflight("GET")))
        .service(web::resource(paths::CERTS).get(jwks::jwks).route(preflight("GET")))
        .service(web::resource(paths::DEVICE_AUTHORIZATION).post(device::device_authorization).route(preflight("POST")))
        .service(web::resource(paths::TOKEN).post(token::token).route(preflight("POST")))
        .service(
            web::resource(paths::USERINFO)
                .get(userinfo::userinfo)
                .post(userinfo::userinfo)
                .route(preflight("GET, POST")),
        )
        .service(web::resource(paths::INTROSPECTION).post(introspect::introspect).route(preflight("POST")))
        .service(web::resource(paths::REVOCATION).post(revoke::revoke).route(preflight("POST")))
        .service(web::resource(paths::THIRD_PARTY_COOKIES_STEP1).get(third_party_cookies::check_page))
        .service(web::resource(paths::THIRD_PARTY_COOKIES_STEP2).get(third_party_cookies::check_page))
        .configure(account_api::routes);
}

/// The CORS preflight (`OPTIONS`) of an endpoint browsers call with `fetch`.
fn preflight(methods: &'static str) -> actix_web::Route {
    web::route().method(Method::OPTIONS).to(move |req: HttpRequest| async move { cors::preflight(&req, methods) })
}

/// Registers the well-known routes outside the realm scope.
pub fn config(cfg: &mut web::ServiceConfig) {
    // RFC 8414 §3.1 inserts the well-known part before the issuer's path.
    let at = |metadata: &str| format!("{metadata}/realms/{{realm}}");
    // Where the public URL has a path (`https://host/id`, behind a proxy),
    // the issuer's path is `/id/realms/R` and that is what §3.1 inserts.
    let below = |metadata: &str| format!("{metadata}/{{below:.+}}/realms/{{realm}}");
    cfg.service(web::resource(at(paths::OAUTH_METADATA)).get(discovery::oauth_metadata).route(preflight("GET")))
        .service(
            web::resource(at(paths::OPENID_CONFIGURATION)).get(discovery::openid_configuration).route(preflight("GET")),
        )
        .service(
            web::resource(below(paths::OAUTH_METADATA)).get(discovery::oauth_metadata_below).route(preflight("GET")),
        )
        .service(
            web::resource(below(paths::OPENID_CONFIGURATION))
                .get(discovery::openid_configuration_below)
                .route(preflight("GET")),
        );
}

/// The realm named in the path, or the OAuth-shaped 404.
pub async fn realm_entry(state: &AppState, name: &str) -> Result<Arc<RealmEntry>, OAuthError> {
    match state.cache.get(name).await {
        Ok(Some(entry)) => Ok(entry),
        Ok(None) => Err(OAuthError::realm_not_found()),
        Err(error) => Err(crate::services::ServiceError::from(error).into()),
    }
}

/// The realm named in the path for an endpoint that issues, accepts or
/// inspects credentials: 403 `access_denied` while it is disabled.
pub async fn enabled_realm_entry(state: &AppState, name: &str) -> Result<Arc<RealmEntry>, OAuthError> {
    let entry = realm_entry(state, name).await?;
    if !entry.realm.enabled {
        return Err(OAuthError::realm_disabled());
    }
    Ok(entry)
}
