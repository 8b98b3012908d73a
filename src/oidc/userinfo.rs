//! The UserInfo endpoint (OpenID Connect Core §5.3), GET and POST.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::params::{self, Params};
use super::{bearer, cors, enabled_realm_entry};
use crate::domain::client::Client;
use crate::error::OAuthError;
use crate::services::{caller, issue};
use crate::state::AppState;

pub async fn userinfo(
    req: HttpRequest,
    state: web::Data<AppState>,
    realm: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    let mut client = None;
    let outcome = answer(&req, &state, &realm, payload, &mut client).await;
    cors::answer(&req, outcome, client.as_deref())
}

/// The claims; `token_client` learns the client the access token was issued
/// to, whose origins may read the answer.
async fn answer(
    req: &HttpRequest,
    state: &AppState,
    realm: &str,
    payload: web::Payload,
    token_client: &mut Option<Arc<Client>>,
) -> Result<HttpResponse, OAuthError> {
    let entry = enabled_realm_entry(state, realm).await?;
    // Only a form body may carry the token (RFC 6750 §2.2); any other body
    // is ignored, and a bad form is refused with the Bearer challenge (§3).
    let form = if req.method() == actix_web::http::Method::POST && params::is_form(req) {
        let read = params::read(req, payload).await;
        Some(read.map_err(|e| bearer::challenged(&entry, e))?)
    } else {
        None::<Params>
    };
    let credential = bearer::presented(req, form.as_ref(), &entry)?;
    let caller =
        caller::authenticate(state, &entry, credential, "openid").await?.map_err(|r| bearer::refused(&entry, r))?;
    *token_client = caller.client_id.as_deref().and_then(|id| entry.client(id)).cloned();
    let mut body = issue::profile_claims(&caller.user, &caller.scope);
    body.insert("sub".into(), caller.user.id.clone().into());
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body))
}
