//! The UserInfo endpoint (OpenID Connect Core §5.3), GET and POST.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::params::{self, Params};
use super::{bearer, realm_entry};
use crate::error::{ErrorCode, OAuthError};
use crate::services::{caller, issue};
use crate::state::AppState;

pub async fn userinfo(
    req: HttpRequest,
    state: web::Data<AppState>,
    realm: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, OAuthError> {
    let entry = realm_entry(&state, &realm).await?;
    let form = if req.method() == actix_web::http::Method::POST {
        Some(params::read(&req, payload).await?)
    } else {
        None::<Params>
    };
    let credential = bearer::presented(&req, form.as_ref(), &entry)?;
    let caller = caller::authenticate(&state, &entry, credential).await?.map_err(|r| bearer::refused(&entry, r))?;
    if !caller.scope.contains("openid") {
        let realm_name = entry.realm.name.as_str();
        return Err(OAuthError::bearer(ErrorCode::InsufficientScope, realm_name, "The openid scope is required"));
    }
    let mut body = issue::profile_claims(&caller.user, &caller.scope);
    body.insert("sub".into(), caller.user.id.clone().into());
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(body))
}
