//! OpenID Connect Discovery 1.0 and RFC 8414 metadata: exactly what works.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::paths::{self, endpoint};
use super::realm_entry;
use crate::domain::authorization::{ResponseMode, ResponseType};
use crate::domain::client::GrantType;
use crate::domain::scope::BUILT_IN_SCOPES;
use crate::error::OAuthError;
use crate::services::realm_cache::{Documents, RealmEntry};
use crate::state::AppState;

/// The grant types the token endpoint serves.
pub const GRANT_TYPES: [GrantType; 5] = [
    GrantType::AuthorizationCode,
    GrantType::ClientCredentials,
    GrantType::Password,
    GrantType::RefreshToken,
    GrantType::DeviceCode,
];
const CLIENT_AUTH_METHODS: [&str; 3] = ["client_secret_basic", "client_secret_post", "none"];
const CONFIDENTIAL_AUTH_METHODS: [&str; 2] = ["client_secret_basic", "client_secret_post"];
/// Claims realmgate puts in ID tokens and userinfo answers.
const CLAIMS: [&str; 21] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "azp",
    "at_hash",
    "c_hash",
    "nonce",
    "sid",
    "name",
    "given_name",
    "family_name",
    "preferred_username",
    "email",
    "email_verified",
    "phone_number",
    "phone_number_verified",
    "address",
    "s_hash",
];

fn metadata(entry: &RealmEntry) -> serde_json::Map<String, Value> {
    let issuer = &entry.issuer;
    let mut scopes: Vec<&str> = BUILT_IN_SCOPES.iter().map(|(name, _)| *name).collect();
    scopes.extend(entry.custom_scopes.iter().map(|s| s.name.as_str()));
    let algorithms = entry.keys.algorithms();
    let mut grant_types: Vec<&str> = GRANT_TYPES.iter().map(|g| g.as_str()).collect();
    grant_types.insert(1, GrantType::Implicit.as_str());
    let doc = json!({
        "issuer": issuer,
        "authorization_endpoint": endpoint(issuer, paths::AUTHORIZATION),
        "token_endpoint": endpoint(issuer, paths::TOKEN),
        "userinfo_endpoint": endpoint(issuer, paths::USERINFO),
        "jwks_uri": endpoint(issuer, paths::CERTS),
        "introspection_endpoint": endpoint(issuer, paths::INTROSPECTION),
        "revocation_endpoint": endpoint(issuer, paths::REVOCATION),
        "scopes_supported": scopes,
        "end_session_endpoint": endpoint(issuer, paths::END_SESSION),
        "device_authorization_endpoint": endpoint(issuer, paths::DEVICE_AUTHORIZATION),
        "response_types_supported": ResponseType::ALL,
        "response_modes_supported": ResponseMode::ALL,
        "grant_types_supported": grant_types,
        "code_challenge_methods_supported": ["S256", "plain"],
        "authorization_response_iss_parameter_supported": true,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algorithms,
        "token_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": CONFIDENTIAL_AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "claims_supported": CLAIMS,
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
    });
    match doc {
        Value::Object(map) => map,
        _ => unreachable!("a json! object literal is an object"),
    }
}

fn documents(entry: &RealmEntry) -> &Documents {
    entry.documents.get_or_init(|| {
        let base = metadata(entry);
        let render = |map: &serde_json::Map<String, Value>| serde_json::to_vec(map).expect("JSON values serialise");
        Documents { openid_configuration: render(&base), oauth_metadata: render(&base) }
    })
}

fn json_document(body: &[u8]) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=60"))
        .body(body.to_vec())
}

pub async fn openid_configuration(
    state: web::Data<AppState>,
    realm: web::Path<String>,
) -> Result<HttpResponse, OAuthError> {
    let entry = realm_entry(&state, &realm).await?;
    Ok(json_document(&documents(&entry).openid_configuration))
}

/// Keycloak's public realm document (`GET /realms/R`), which relying
/// parties such as python-keycloak's `public_key()` read to verify tokens:
/// the active signing key as base64 DER, and the service URLs.
pub async fn realm_info(state: web::Data<AppState>, realm: web::Path<String>) -> Result<HttpResponse, OAuthError> {
    use base64::Engine;
    let entry = realm_entry(&state, &realm).await?;
    let body = serde_json::json!({
        "realm": entry.realm.name.as_str(),
        "public_key": base64::engine::general_purpose::STANDARD.encode(&entry.keys.active_public_der),
        "token-service": format!("{}/protocol/openid-connect", entry.issuer),
        "account-service": format!("{}/account", entry.issuer),
        "tokens-not-before": 0,
    });
    Ok(json_document(&serde_json::to_vec(&body).expect("JSON values serialise")))
}

pub async fn oauth_metadata(state: web::Data<AppState>, realm: web::Path<String>) -> Result<HttpResponse, OAuthError> {
    let entry = realm_entry(&state, &realm).await?;
    Ok(json_document(&documents(&entry).oauth_metadata))
}

/// The realm of `/.well-known/…/{below}/realms/{realm}`, where `below` must
/// be the public URL's own path (RFC 8414 §3.1 with an issuer `…/id/realms/R`).
async fn realm_below(state: &AppState, path: (String, String)) -> Result<Arc<RealmEntry>, OAuthError> {
    let (below, realm) = path;
    if crate::config::public_path(&state.public_url).strip_prefix('/') != Some(below.as_str()) {
        return Err(OAuthError::realm_not_found());
    }
    realm_entry(state, &realm).await
}

/// `oauth_metadata` at the RFC 8414 path of an issuer below the public URL's path.
pub async fn oauth_metadata_below(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, OAuthError> {
    let entry = realm_below(&state, path.into_inner()).await?;
    Ok(json_document(&documents(&entry).oauth_metadata))
}

/// `openid_configuration` at the same place.
pub async fn openid_configuration_below(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, OAuthError> {
    let entry = realm_below(&state, path.into_inner()).await?;
    Ok(json_document(&documents(&entry).openid_configuration))
}
