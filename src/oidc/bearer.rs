//! Finding the credential a request presents to a protected endpoint:
//! `Authorization: Bearer`, `X-Auth-Token`, the `access_token` form field
//! (RFC 6750 §2), the query string only where the realm allows it, and
//! `Authorization: Basic` (accepted or refused by the realm's `basic_auth`).

use actix_web::HttpRequest;
use actix_web::http::header;
use base64::Engine;

use super::params::Params;
use crate::error::{ErrorCode, OAuthError};
use crate::services::caller::{Credential, Refusal};
use crate::services::realm_cache::RealmEntry;

const X_AUTH_TOKEN: &str = "x-auth-token";

/// The one credential presented, or the RFC 6750 error.
pub fn presented(req: &HttpRequest, form: Option<&Params>, entry: &RealmEntry) -> Result<Credential, OAuthError> {
    let realm = entry.realm.name.as_str();
    let invalid = |description: &'static str| OAuthError::bearer(ErrorCode::InvalidToken, realm, description);
    let mut found: Vec<Credential> = Vec::new();

    if let Some(value) = req.headers().get(header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| invalid("Malformed Authorization header"))?;
        if let Some((scheme, rest)) = value.split_once(' ') {
            let rest = rest.trim();
            if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
                found.push(Credential::Bearer(rest.to_owned()));
            } else if scheme.eq_ignore_ascii_case("basic") {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(rest)
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    .ok_or_else(|| invalid("Malformed Basic credentials"))?;
                let (username, password) =
                    decoded.split_once(':').ok_or_else(|| invalid("Malformed Basic credentials"))?;
                found.push(Credential::Basic { username: username.to_owned(), password: password.to_owned() });
            }
        }
    }
    if let Some(value) = req.headers().get(X_AUTH_TOKEN) {
        let value = value.to_str().map_err(|_| invalid("Malformed X-Auth-Token header"))?;
        if !value.trim().is_empty() {
            found.push(Credential::Bearer(value.trim().to_owned()));
        }
    }
    if let Some(token) = form.and_then(|p| p.get("access_token")) {
        found.push(Credential::Bearer(token.to_owned()));
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
        found.extend(in_query.into_iter().map(Credential::Bearer));
    }

    match found.len() {
        0 if entry.realm.settings.basic_auth => Err(invalid("Missing access token").also_basic(realm)),
        0 => Err(invalid("Missing access token")),
        1 => Ok(found.remove(0)),
        _ => Err(OAuthError::bearer(ErrorCode::InvalidRequest, realm, "Present the access token in exactly one way")),
    }
}

/// The 401 for a refused credential, with the challenge that fits it.
pub fn refused(entry: &RealmEntry, refusal: Refusal) -> OAuthError {
    let realm = entry.realm.name.as_str();
    match refusal {
        Refusal::MissingScope(_) => OAuthError::bearer(ErrorCode::InsufficientScope, realm, refusal.to_string()),
        Refusal::BadBasic => OAuthError::invalid_token_basic(realm, refusal.to_string()),
        other => OAuthError::bearer(ErrorCode::InvalidToken, realm, other.to_string()),
    }
}

/// A request error of a protected endpoint, with the Bearer challenge that
/// RFC 6750 §3 asks of every refusal (a body over the limit stays a 413).
pub fn challenged(entry: &RealmEntry, error: OAuthError) -> OAuthError {
    if actix_web::ResponseError::status_code(&error) == actix_web::http::StatusCode::BAD_REQUEST {
        OAuthError::bearer(error.code, entry.realm.name.as_str(), error.description)
    } else {
        error
    }
}
