//! The authorization request, validated (Core §3.1.2.2) and carried between
//! pages sealed with the secret key, so it cannot be altered or forged.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::crypto::SecretKey;
use crate::domain::authorization::{ChallengeMethod, Prompt, ResponseMode, ResponseType, is_pkce_value};
use crate::domain::client::{Client, GrantType};
use crate::domain::scope::ScopeSet;
use crate::error::ErrorCode;
use crate::oidc::params::Params;
use crate::services::realm_cache::RealmEntry;
use crate::tokens::jws;

/// How long a sign-in page stays usable.
pub const FLOW_LIFETIME_SECS: i64 = 30 * 60;
pub(super) const MAX_VALUE_LEN: usize = 2048;

/// What happens once the user has signed in (and consented).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Continuation {
    /// Answer an authorization request.
    Authorize(AuthRequest),
    /// Approve a device (RFC 8628).
    Device(DeviceApproval),
    /// Show the account page.
    Account,
    /// Open the admin console (`master` only).
    Console,
}

impl Continuation {
    /// The client the sign-in is for; none for the account page.
    pub fn client_id(&self) -> Option<&str> {
        match self {
            Self::Authorize(request) => Some(&request.client_id),
            Self::Device(device) => Some(&device.client_id),
            Self::Account | Self::Console => None,
        }
    }
}

/// A pending device code the user is approving.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceApproval {
    pub device_code_hash: String,
    pub client_id: String,
    pub scope: String,
}

/// Where and how the answer goes back to the client.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReplyTo {
    pub redirect_uri: String,
    pub mode: ResponseMode,
    pub state: Option<String>,
}

/// A request that cannot go on.
#[derive(Debug)]
pub enum Rejection {
    /// Unsafe to redirect: an HTML error page (SPEC §4).
    Page(String),
    /// An error sent back to the client's redirect URI.
    Redirect(ReplyTo, ErrorCode, String),
}

/// A validated authorization request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthRequest {
    pub client_id: String,
    pub reply: ReplyTo,
    /// Whether the request named its redirect URI (RFC 6749 §4.1.3: then,
    /// and only then, the token request must repeat it).
    pub redirect_uri_given: bool,
    pub response_type: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt_none: bool,
    pub prompt_login: bool,
    pub prompt_consent: bool,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// The subject of a valid `id_token_hint`.
    pub hint_sub: Option<String>,
}

impl AuthRequest {
    pub fn response_type(&self) -> ResponseType {
        ResponseType::parse(&self.response_type).expect("validated when the request was parsed")
    }

    pub fn requested_scope(&self) -> ScopeSet {
        ScopeSet::parse(&self.scope).unwrap_or_default()
    }
}

impl serde::Serialize for ResponseMode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ResponseMode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        ResponseMode::parse(&raw).ok_or_else(|| serde::de::Error::custom("bad response mode"))
    }
}

fn asks_openid(params: &Params) -> bool {
    params.get("scope").is_some_and(|scope| scope.split(' ').any(|s| s == "openid"))
}

/// Parses and validates the request; the redirect URI is checked first so
/// nothing is ever sent to an unregistered one.
pub fn parse(entry: &RealmEntry, params: &Params) -> Result<(Arc<Client>, AuthRequest), Rejection> {
    let Some(client_id) = params.get("client_id") else {
        return Err(Rejection::Page("The request names no client (client_id is missing).".into()));
    };
    let Some(client) = entry.client(client_id) else {
        return Err(Rejection::Page("The application that sent you here is not known in this realm.".into()));
    };
    let redirect_uri = match params.get("redirect_uri") {
        Some(uri) if client.redirect_uris.iter().any(|r| r == uri) => uri.to_owned(),
        Some(_) => {
            return Err(Rejection::Page("The redirect URI is not registered for this application.".into()));
        }
        // OAuth lets a client with one registered URI leave it out (RFC 6749
        // §3.1.2.3); OpenID Connect requires it (Core §3.1.2.1), as Keycloak does.
        None if client.redirect_uris.len() == 1 && !client.relative_redirect_uris && !asks_openid(params) => {
            client.redirect_uris[0].clone()
        }
        None => return Err(Rejection::Page("The request has no redirect_uri.".into())),
    };

    let response_type = params.get("response_type").map(ResponseType::parse);
    let default_mode = match response_type {
        Some(Some(rt)) => rt.default_mode(),
        _ => ResponseMode::Query,
    };
    let state = params.get("state").map(str::to_owned);
    let mut reply = ReplyTo { redirect_uri, mode: default_mode, state };
    let fail = |reply: &ReplyTo, code: ErrorCode, message: &str| {
        Err(Rejection::Redirect(reply.clone(), code, message.to_owned()))
    };
    if reply.state.as_ref().is_some_and(|s| s.len() > MAX_VALUE_LEN) {
        reply.state = None;
        return fail(&reply, ErrorCode::InvalidRequest, "state is too long");
    }
    if let Some(mode) = params.get("response_mode") {
        match ResponseMode::parse(mode) {
            Some(mode) => reply.mode = mode,
            None => return fail(&reply, ErrorCode::InvalidRequest, "Unsupported response_mode"),
        }
    }
    let rt = match response_type {
        None => return fail(&reply, ErrorCode::InvalidRequest, "Missing parameter: response_type"),
        Some(None) => return fail(&reply, ErrorCode::UnsupportedResponseType, "Unsupported response_type"),
        Some(Some(rt)) => rt,
    };
    if reply.mode == ResponseMode::Query && rt.is_front_channel() {
        reply.mode = ResponseMode::Fragment;
        return fail(&reply, ErrorCode::InvalidRequest, "response_mode=query is not allowed for this response_type");
    }
    if params.get("request").is_some() {
        return fail(&reply, ErrorCode::RequestNotSupported, "Request objects are not supported");
    }
    if params.get("request_uri").is_some() {
        return fail(&reply, ErrorCode::RequestUriNotSupported, "request_uri is not supported");
    }
    if (rt.code && !client.allows(GrantType::AuthorizationCode))
        || (rt.is_front_channel() && !client.allows(GrantType::Implicit))
    {
        return fail(&reply, ErrorCode::UnauthorizedClient, "The client may not use this response_type");
    }

    let scope = match params.get("scope").map(ScopeSet::parse).transpose() {
        Ok(scope) => scope.unwrap_or_default(),
        Err(e) => return fail(&reply, ErrorCode::InvalidScope, &e.0),
    };
    if let Err(e) = entry.scopes.grant(&scope, &client.scopes, None) {
        return fail(&reply, ErrorCode::InvalidScope, &e.to_string());
    }
    let openid = scope.contains("openid");
    if rt.id_token && !openid {
        return fail(&reply, ErrorCode::InvalidRequest, "response_type id_token needs the openid scope");
    }
    let nonce = params.get("nonce").map(str::to_owned);
    if nonce.as_ref().is_some_and(|n| n.len() > MAX_VALUE_LEN) {
        return fail(&reply, ErrorCode::InvalidRequest, "nonce is too long");
    }
    // Core §3.2.2.1 and §3.3.2.11: whenever the endpoint returns an ID token
    // (`code token` returns none, so there it is optional).
    if rt.id_token && nonce.is_none() {
        return fail(
            &reply,
            ErrorCode::InvalidRequest,
            "nonce is required when an ID token is returned from the authorization endpoint",
        );
    }

    let code_challenge = params.get("code_challenge").map(str::to_owned);
    let method = match (params.get("code_challenge_method"), &code_challenge) {
        (Some(m), Some(_)) => match ChallengeMethod::parse(m) {
            Some(m) => Some(m),
            None => return fail(&reply, ErrorCode::InvalidRequest, "Unsupported code_challenge_method"),
        },
        (Some(_), None) => {
            return fail(&reply, ErrorCode::InvalidRequest, "code_challenge_method without code_challenge");
        }
        (None, Some(_)) => Some(ChallengeMethod::Plain),
        (None, None) => None,
    };
    if code_challenge.as_deref().is_some_and(|c| !is_pkce_value(c)) {
        return fail(&reply, ErrorCode::InvalidRequest, "code_challenge must be 43 to 128 unreserved characters");
    }
    if rt.code && client.is_public() && code_challenge.is_none() {
        return fail(&reply, ErrorCode::InvalidRequest, "PKCE (code_challenge) is required for public clients");
    }
    if let Some(required) = client.pkce_method
        && rt.code
        && method != Some(required)
    {
        let description = format!("This client requires PKCE with code_challenge_method={}", required.as_str());
        return fail(&reply, ErrorCode::InvalidRequest, &description);
    }

    let prompt = match params.get("prompt").map(Prompt::parse).transpose() {
        Ok(p) => p.unwrap_or_default(),
        Err(e) => return fail(&reply, ErrorCode::InvalidRequest, &e.0),
    };
    let max_age = match params.get("max_age").map(str::parse::<i64>).transpose() {
        Ok(Some(age)) if age < 0 => return fail(&reply, ErrorCode::InvalidRequest, "max_age must not be negative"),
        Ok(age) => age,
        Err(_) => return fail(&reply, ErrorCode::InvalidRequest, "max_age must be a number of seconds"),
    };
    let login_hint = params.get("login_hint").filter(|h| h.len() <= 255).map(str::to_owned);
    let hint_sub = match params.get("id_token_hint") {
        Some(hint) => match id_token_subject(entry, hint) {
            Some(sub) => Some(sub),
            None => return fail(&reply, ErrorCode::InvalidRequest, "Invalid id_token_hint"),
        },
        None => None,
    };

    let request = AuthRequest {
        client_id: client.client_id.clone(),
        redirect_uri_given: params.get("redirect_uri").is_some(),
        reply,
        response_type: rt.to_string(),
        scope: scope.to_string(),
        nonce,
        code_challenge,
        code_challenge_method: method.map(|m| m.as_str().to_owned()),
        prompt_none: prompt.none,
        prompt_login: prompt.login,
        prompt_consent: prompt.consent,
        max_age,
        login_hint,
        hint_sub,
    };
    Ok((Arc::clone(client), request))
}

/// The claims of an ID token this realm signed (expired ones too, as
/// `id_token_hint` allows).
pub fn id_token_claims(entry: &RealmEntry, token: &str) -> Option<serde_json::Value> {
    let verified = jws::verify::<serde_json::Value>(&entry.keys, token).ok()?;
    if verified.typ.as_deref() != Some(crate::tokens::claims::ID_TOKEN_TYP)
        || verified.claims["iss"] != entry.issuer.as_str()
    {
        return None;
    }
    Some(verified.claims)
}

fn id_token_subject(entry: &RealmEntry, token: &str) -> Option<String> {
    id_token_claims(entry, token)?["sub"].as_str().map(str::to_owned)
}

/// What a page carries in its hidden `state` field.
#[derive(Serialize, Deserialize)]
struct Sealed<T> {
    purpose: String,
    realm: String,
    csrf: String,
    expires_at: UnixTime,
    body: T,
}

/// Seals `body` for `purpose`, bound to the realm and the browser's CSRF token.
pub fn seal<T: Serialize>(
    secret: &SecretKey,
    purpose: &str,
    realm: &str,
    csrf: &str,
    body: &T,
    now: UnixTime,
) -> String {
    let sealed = Sealed {
        purpose: purpose.to_owned(),
        realm: realm.to_owned(),
        csrf: csrf.to_owned(),
        expires_at: now + FLOW_LIFETIME_SECS,
        body,
    };
    URL_SAFE_NO_PAD.encode(secret.encrypt(&serde_json::to_vec(&sealed).expect("flow state serialises")))
}

/// Why a sealed form could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnsealError {
    Invalid,
    Expired,
    Csrf,
}

/// Opens a sealed `state` and checks purpose, realm, expiry and that the
/// form's and the cookie's CSRF tokens are this browser's.
pub fn unseal<T: for<'de> Deserialize<'de>>(
    secret: &SecretKey,
    purpose: &str,
    realm: &str,
    sealed: &str,
    form_csrf: Option<&str>,
    cookie_csrf: Option<&str>,
    now: UnixTime,
) -> Result<T, UnsealError> {
    let sealed: Sealed<T> = open(secret, purpose, realm, sealed)?;
    let (Some(form), Some(cookie)) = (form_csrf, cookie_csrf) else {
        return Err(UnsealError::Csrf);
    };
    let same = crate::crypto::constant_time_eq(form.as_bytes(), cookie.as_bytes())
        && crate::crypto::constant_time_eq(sealed.csrf.as_bytes(), cookie.as_bytes());
    if !same {
        return Err(UnsealError::Csrf);
    }
    if now > sealed.expires_at {
        return Err(UnsealError::Expired);
    }
    Ok(sealed.body)
}

/// Decrypts what a page sealed for `purpose` in `realm`, nothing checked yet.
fn open<T: for<'de> Deserialize<'de>>(
    secret: &SecretKey,
    purpose: &str,
    realm: &str,
    sealed: &str,
) -> Result<Sealed<T>, UnsealError> {
    let bytes = URL_SAFE_NO_PAD.decode(sealed).map_err(|_| UnsealError::Invalid)?;
    let plain = secret.decrypt(&bytes).map_err(|_| UnsealError::Invalid)?;
    let sealed: Sealed<T> = serde_json::from_slice(&plain).map_err(|_| UnsealError::Invalid)?;
    if sealed.purpose != purpose || sealed.realm != realm {
        return Err(UnsealError::Invalid);
    }
    Ok(sealed)
}

/// What an unexpired page sealed, without the CSRF check: only for showing
/// that page again to sign in anew (its form was refused, nothing of it used).
pub fn reopen<T: for<'de> Deserialize<'de>>(
    secret: &SecretKey,
    purpose: &str,
    realm: &str,
    sealed: &str,
    now: UnixTime,
) -> Option<T> {
    open::<T>(secret, purpose, realm, sealed).ok().filter(|s| now <= s.expires_at).map(|s| s.body)
}

impl UnsealError {
    pub fn message(self) -> &'static str {
        match self {
            Self::Invalid => "This form is not valid.",
            Self::Expired => "This page has expired.",
            Self::Csrf => "This form was not sent from this browser's page (CSRF check failed).",
        }
    }
}
