//! The UserInfo endpoint (OpenID Connect Core §5.3), GET and POST.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::params::{self, Params};
use super::{bearer, realm_entry};
use crate::domain::scope::ScopeSet;
use crate::error::{ErrorCode, OAuthError};
use std::sync::Arc;

use crate::services::realm_cache::RealmEntry;
use crate::services::{access, issue, personal_tokens};
use crate::state::AppState;
use crate::storage::repo::users;

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
    let token = bearer::presented_token(&req, form.as_ref(), &entry)?;
    let realm_name = entry.realm.name.as_str();
    if personal_tokens::is_personal(&token) {
        return personal(&state, &entry, token).await;
    }
    let claims = access::verify(&entry, &token, state.clock.now())
        .map_err(|e| OAuthError::bearer(ErrorCode::InvalidToken, realm_name, e.to_string()))?;
    let scope = ScopeSet::parse(&claims.scope).unwrap_or_default();
    if !scope.contains("openid") {
        return Err(OAuthError::bearer(ErrorCode::InsufficientScope, realm_name, "The openid scope is required"));
    }
    let realm_id = entry.realm.id.clone();
    let sub = claims.sub.clone();
    let (revoked, user) = state
        .db
        .run(move |conn| {
            let revoked = access::is_revoked(conn, &claims)?;
            let user = users::find_by_id(conn, &realm_id, &sub)?;
            Ok((revoked, user))
        })
        .await?;
    if revoked {
        return Err(OAuthError::bearer(ErrorCode::InvalidToken, realm_name, "Token has been revoked"));
    }
    let Some(user) = user.filter(|u| u.enabled) else {
        return Err(OAuthError::bearer(ErrorCode::InvalidToken, realm_name, "Token has no active user"));
    };
    let user = user.to_domain();
    let mut body = issue::profile_claims(&user, &scope);
    body.insert("sub".into(), user.id.clone().into());
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(body))
}

/// userinfo for a personal access token (which needs `openid` too).
async fn personal(state: &AppState, entry: &Arc<RealmEntry>, token: String) -> Result<HttpResponse, OAuthError> {
    let realm_name = entry.realm.name.as_str();
    let now = state.clock.now();
    let lookup = Arc::clone(entry);
    let found = state.db.run(move |conn| personal_tokens::find_active(conn, &lookup, &token, now)).await?;
    let Some((row, user)) = found else {
        return Err(OAuthError::bearer(ErrorCode::InvalidToken, realm_name, "Token is not active"));
    };
    let scope = ScopeSet::parse(&row.scope).unwrap_or_default();
    if !scope.contains("openid") {
        return Err(OAuthError::bearer(ErrorCode::InsufficientScope, realm_name, "The openid scope is required"));
    }
    let user = user.to_domain();
    let mut body = issue::profile_claims(&user, &scope);
    body.insert("sub".into(), user.id.clone().into());
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(body))
}
