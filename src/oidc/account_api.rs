//! The account API (`/realms/R/account/api/`): the caller's own personal
//! access tokens, sessions and consents. Any token presentation works;
//! reading needs `account.read`, changing `account.write`.

use std::sync::Arc;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::{bearer, enabled_realm_entry};
use crate::domain::scope::ScopeSet;
use crate::error::{ErrorCode, OAuthError};
use crate::services::account::{self, CreateError};
use crate::services::caller::{self, Caller};
use crate::services::personal_tokens::MintError;
use crate::services::realm_cache::RealmEntry;
use crate::state::AppState;

pub const READ: &str = "account.read";
pub const WRITE: &str = "account.write";

/// Registers the API under `/realms/{realm}`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/account/api/tokens").get(list_tokens).post(create_token))
        .service(web::resource("/account/api/tokens/{id}").delete(revoke_token))
        .service(web::resource("/account/api/sessions").get(list_sessions))
        .service(web::resource("/account/api/sessions/{id}").delete(end_session))
        .service(web::resource("/account/api/consents").get(list_consents))
        .service(web::resource("/account/api/consents/{client_id}").delete(revoke_consent));
}

async fn authorised(
    req: &HttpRequest,
    state: &AppState,
    entry: &std::sync::Arc<RealmEntry>,
    scope: &'static str,
) -> Result<Caller, OAuthError> {
    let credential = bearer::presented(req, None, entry)?;
    caller::authenticate(state, entry, credential, scope).await?.map_err(|r| bearer::refused(entry, r))
}

/// The realm and the caller, authorised for `scope`.
async fn caller_for(
    req: &HttpRequest,
    state: &AppState,
    realm: &str,
    scope: &'static str,
) -> Result<(Arc<RealmEntry>, Caller), OAuthError> {
    let entry = enabled_realm_entry(state, realm).await?;
    let caller = authorised(req, state, &entry, scope).await?;
    Ok((entry, caller))
}

/// 204 when something was removed, 404 when there was nothing to remove.
fn deleted(found: bool, what: &'static str) -> Result<HttpResponse, OAuthError> {
    if found { Ok(HttpResponse::NoContent().finish()) } else { Err(not_found(what)) }
}

fn json(status: StatusCode, body: impl serde::Serialize) -> HttpResponse {
    HttpResponse::build(status).insert_header((header::CACHE_CONTROL, "no-store")).json(body)
}

fn not_found(what: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::NotFound, what)
}

#[utoipa::path(get, path = "/realms/{realm}/account/api/tokens", operation_id = "list_personal_access_tokens",
    tag = "account", summary = "The caller's active personal access tokens (needs `account.read`)",
    params(crate::openapi::RealmPath),
    responses((status = 200, description = "The tokens", body = [crate::openapi::PersonalAccessToken]),
        crate::openapi::AccountErrors))]
async fn list_tokens(
    req: HttpRequest,
    state: web::Data<AppState>,
    realm: web::Path<String>,
) -> Result<HttpResponse, OAuthError> {
    let (entry, caller) = caller_for(&req, &state, &realm, READ).await?;
    Ok(json(StatusCode::OK, account::overview(&state, &entry, &caller.user.id).await?.tokens))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
    scope: Option<String>,
    /// Lifetime in seconds; none for a token that does not expire.
    expires_in: Option<i64>,
}

#[utoipa::path(post, path = "/realms/{realm}/account/api/tokens", operation_id = "create_personal_access_token",
    tag = "account", summary = "Mints a personal access token for the caller (needs `account.write`)",
    params(crate::openapi::RealmPath), request_body = crate::openapi::NewPersonalAccessToken,
    responses((status = 201, description = "Minted; the token is shown this once",
            body = crate::openapi::CreatedPersonalAccessToken),
        crate::openapi::AccountErrors))]
async fn create_token(
    req: HttpRequest,
    state: web::Data<AppState>,
    realm: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, OAuthError> {
    let (entry, caller) = caller_for(&req, &state, &realm, WRITE).await?;
    let body = super::params::read_body(payload, super::params::MAX_BODY_BYTES).await.map_err(OAuthError::from)?;
    let expected = |e: &dyn std::fmt::Display| {
        OAuthError::invalid_request(format!("Expected {{\"name\", \"scope\"?, \"expires_in\"?}}: {e}"))
    };
    // An object only: serde would also read a struct from a JSON array.
    let new: NewToken = match serde_json::from_slice(&body).map_err(|e| expected(&e))? {
        object @ serde_json::Value::Object(_) => serde_json::from_value(object).map_err(|e| expected(&e))?,
        _ => return Err(expected(&"not an object")),
    };
    let scope = new.scope.as_deref().map(ScopeSet::parse).transpose().map_err(|e| OAuthError::invalid_scope(e.0))?;
    if new.expires_in.is_some_and(|s| !(1..=crate::domain::realm::MAX_LIFETIME_SECS).contains(&s)) {
        return Err(OAuthError::invalid_request("expires_in must be a positive number of seconds, at most 100 years"));
    }
    // Never more than the calling credential holds, nor for longer: a
    // short-lived credential (an application's access token, a personal
    // token with an expiry) cannot mint a lasting one.
    let ceiling = Some(caller.scope.clone());
    let lifetime = match caller.expires_at {
        Some(ends) => {
            let left = (ends - state.clock.now()).max(1);
            Some(new.expires_in.map_or(left, |asked| asked.min(left)))
        }
        None => new.expires_in,
    };
    let order = account::TokenOrder { name: new.name, scope, ceiling, lifetime_secs: lifetime, form_once: None };
    match account::create_token(&state, &entry, &caller.user.id, order).await {
        Ok((token, view)) => {
            let mut body = serde_json::to_value(&view).expect("views serialise");
            body["token"] = token.into();
            Ok(json(StatusCode::CREATED, body))
        }
        Err(CreateError::Mint(MintError::ScopeNotAllowed(scope))) => {
            Err(OAuthError::invalid_scope(format!("scope `{scope}` is unknown or not allowed for you")))
        }
        Err(CreateError::Mint(MintError::Storage(e)) | CreateError::Storage(e)) => Err(e.into()),
        // (Only the page's forms are single-use.)
        Err(e @ (CreateError::Mint(_) | CreateError::AlreadySubmitted)) => {
            Err(OAuthError::invalid_request(e.to_string()))
        }
    }
}

#[utoipa::path(delete, path = "/realms/{realm}/account/api/tokens/{id}", operation_id = "revoke_personal_access_token",
    tag = "account", summary = "Revokes one of the caller's personal access tokens (needs `account.write`)",
    params(crate::openapi::AccountItemPath),
    responses((status = 204, description = "Done"), crate::openapi::AccountErrors))]
async fn revoke_token(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, OAuthError> {
    let (realm, id) = path.into_inner();
    let (_, caller) = caller_for(&req, &state, &realm, WRITE).await?;
    deleted(account::revoke_token(&state, &caller.user.id, &id).await?, "No such token")
}

#[utoipa::path(get, path = "/realms/{realm}/account/api/sessions", operation_id = "list_account_sessions",
    tag = "account", summary = "The caller's live SSO sessions (needs `account.read`)",
    params(crate::openapi::RealmPath),
    responses((status = 200, description = "The sessions", body = [crate::openapi::AccountSession]),
        crate::openapi::AccountErrors))]
async fn list_sessions(
    req: HttpRequest,
    state: web::Data<AppState>,
    realm: web::Path<String>,
) -> Result<HttpResponse, OAuthError> {
    let (entry, caller) = caller_for(&req, &state, &realm, READ).await?;
    Ok(json(StatusCode::OK, account::overview(&state, &entry, &caller.user.id).await?.sessions))
}

#[utoipa::path(delete, path = "/realms/{realm}/account/api/sessions/{id}", operation_id = "end_account_session",
    tag = "account", summary = "Ends one of the caller's sessions (needs `account.write`)",
    params(crate::openapi::AccountItemPath),
    responses((status = 204, description = "Done"), crate::openapi::AccountErrors))]
async fn end_session(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, OAuthError> {
    let (realm, id) = path.into_inner();
    let (entry, caller) = caller_for(&req, &state, &realm, WRITE).await?;
    deleted(account::end_session(&state, &entry, &caller.user.id, &id).await?, "No such session")
}

#[utoipa::path(get, path = "/realms/{realm}/account/api/consents", operation_id = "list_account_consents",
    tag = "account", summary = "The consents the caller granted (needs `account.read`)",
    params(crate::openapi::RealmPath),
    responses((status = 200, description = "The consents", body = [crate::openapi::AccountConsent]),
        crate::openapi::AccountErrors))]
async fn list_consents(
    req: HttpRequest,
    state: web::Data<AppState>,
    realm: web::Path<String>,
) -> Result<HttpResponse, OAuthError> {
    let (entry, caller) = caller_for(&req, &state, &realm, READ).await?;
    Ok(json(StatusCode::OK, account::overview(&state, &entry, &caller.user.id).await?.consents))
}

#[utoipa::path(delete, path = "/realms/{realm}/account/api/consents/{client_id}",
    operation_id = "revoke_account_consent", tag = "account",
    summary = "Revokes the caller's consent to a client (needs `account.write`)",
    params(crate::openapi::AccountConsentPath),
    responses((status = 204, description = "Done"), crate::openapi::AccountErrors))]
async fn revoke_consent(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, OAuthError> {
    let (realm, client_id) = path.into_inner();
    let (entry, caller) = caller_for(&req, &state, &realm, WRITE).await?;
    let ip = state.client_ip(&req);
    deleted(account::revoke_consent(&state, &entry, &caller.user.id, &client_id, ip).await?, "No such consent")
}
