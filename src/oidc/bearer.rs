//! Finding the access token a request presents to a protected endpoint:
//! `Authorization: Bearer`, `X-Auth-Token`, the `access_token` form field
//! (RFC 6750 §2), and the query string only where the realm allows it.

use actix_web::HttpRequest;
use actix_web::http::header;

use super::params::Params;
use crate::error::{ErrorCode, OAuthError};
use crate::services::realm_cache::RealmEntry;

const X_AUTH_TOKEN: &str = "x-auth-token";

/// The one token presented, or the RFC 6750 error.
pub fn presented_token(req: &HttpRequest, form: Option<&Params>, entry: &RealmEntry) -> Result<String, OAuthError> {
    let realm = entry.realm.name.as_str();
    let invalid = |description: &'static str| OAuthError::bearer(ErrorCode::InvalidToken, realm, description);
    let mut found: Vec<String> = Vec::new();

    if let Some(value) = req.headers().get(header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| invalid("Malformed Authorization header"))?;
        if let Some((scheme, token)) = value.split_once(' ')
            && scheme.eq_ignore_ascii_case("bearer")
            && !token.trim().is_empty()
        {
            found.push(token.trim().to_owned());
        }
    }
    if let Some(value) = req.headers().get(X_AUTH_TOKEN) {
        let value = value.to_str().map_err(|_| invalid("Malformed X-Auth-Token header"))?;
        if !value.trim().is_empty() {
            found.push(value.trim().to_owned());
        }
    }
    if let Some(token) = form.and_then(|p| p.get("access_token")) {
        found.push(token.to_owned());
    }
    let query: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let in_query: Vec<String> = query
        .into_iter()
        .filter(|(name, value)| (name == "access_token" || name == "bearer_token") && !value.is_empty())
        .map(|(_, value)| value)
        .collect();
    if !in_query.is_empty() {
        if !entry.realm.settings.query_tokens {
            return Err(invalid("Access tokens in the query string are not accepted in this realm"));
        }
        found.extend(in_query);
    }

    match found.len() {
        0 => Err(invalid("Missing access token")),
        1 => Ok(found.remove(0)),
        _ => Err(OAuthError::bearer(ErrorCode::InvalidRequest, realm, "Present the access token in exactly one way")),
    }
}
