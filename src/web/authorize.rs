//! The authorization endpoint (Core §3.1.2): validate, then sign in,
//! consent and answer, reusing the SSO session when there is one.

use std::sync::Arc;

use actix_web::cookie::Cookie;
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, web};

use super::cookies;
use super::flow::{self, AuthRequest, Continuation, Rejection};
use super::pages::{ConsentPage, LoginPage, PageError, ScopeLine, page_builder, render};
use super::reply::{add_cookies, deliver, deliver_error};
use crate::domain::client::Client;
use crate::domain::scope::{BUILT_IN_SCOPES, OFFLINE_ACCESS, ScopeSet};
use crate::error::{ErrorCode, OAuthError};
use crate::oidc::params::{self, Params};
use crate::services::authorize::{Grant, respond};
use crate::services::consent;
use crate::services::realm_cache::RealmEntry;
use crate::services::sessions::{self, LiveSession};
use crate::state::AppState;

pub const LOGIN_PURPOSE: &str = "login";
pub const CONSENT_PURPOSE: &str = "consent";

pub async fn page_realm(state: &AppState, name: &str) -> Result<Arc<RealmEntry>, PageError> {
    match state.cache.get(name).await {
        Ok(Some(entry)) if entry.realm.enabled => Ok(entry),
        Ok(Some(entry)) => Err(PageError {
            status: actix_web::http::StatusCode::FORBIDDEN,
            realm_display: entry.realm.settings.display_name.clone(),
            title: "Realm not enabled",
            message: "Signing in to this realm is disabled.".into(),
        }),
        Ok(None) => Err(PageError::not_found()),
        Err(error) => Err(crate::services::ServiceError::from(error).into()),
    }
}

/// The authorization request's parameters (query or form) and the names
/// given more than once; a malformed request gets the error page.
async fn authorization_params(
    req: &HttpRequest,
    payload: web::Payload,
    entry: &RealmEntry,
) -> Result<(Params, Vec<String>), PageError> {
    let parsed = if req.method() == Method::POST {
        match params::read_body(payload, params::MAX_BODY_BYTES).await {
            Ok(body) => Params::from_form_noting_repeats(&body),
            Err(_) => Err(OAuthError::invalid_request("The request body could not be read")),
        }
    } else {
        Params::from_form_noting_repeats(req.query_string().as_bytes())
    };
    parsed.map_err(|e| PageError::bad_request(&entry.realm.settings.display_name, e.description.into_owned()))
}

/// Form or query parameters; a malformed request gets the error page.
pub async fn page_params(req: &HttpRequest, payload: web::Payload, entry: &RealmEntry) -> Result<Params, PageError> {
    let parsed = if req.method() == Method::POST {
        params::read(req, payload).await
    } else {
        Params::from_form(req.query_string().as_bytes())
    };
    parsed.map_err(|e| PageError::bad_request(&entry.realm.settings.display_name, e.description.into_owned()))
}

/// Opens a submitted form's sealed `state` for `purpose`, checking it
/// against this browser's CSRF token; any failure is the 400 page.
pub fn unseal_form<T: serde::de::DeserializeOwned>(
    req: &HttpRequest,
    state: &AppState,
    entry: &RealmEntry,
    params: &Params,
    purpose: &str,
) -> Result<T, PageError> {
    unseal_checked(req, state, entry, params, purpose)
        .map_err(|e| PageError::bad_request(&entry.realm.settings.display_name, e.message()))
}

/// As `unseal_form`, with the reason a form was refused.
pub fn unseal_checked<T: serde::de::DeserializeOwned>(
    req: &HttpRequest,
    state: &AppState,
    entry: &RealmEntry,
    params: &Params,
    purpose: &str,
) -> Result<T, flow::UnsealError> {
    flow::unseal(
        &state.secret,
        purpose,
        entry.realm.name.as_str(),
        params.get("state").unwrap_or_default(),
        params.get("csrf"),
        cookies::read(req, cookies::CSRF).as_deref(),
        state.clock.now(),
    )
}

pub async fn authorize(
    req: HttpRequest,
    state: web::Data<AppState>,
    realm: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let entry = page_realm(&state, &realm).await?;
    let (params, repeated) = authorization_params(&req, payload, &entry).await?;
    let display = &entry.realm.settings.display_name;
    if let Some(name) = repeated.iter().find(|n| matches!(n.as_str(), "client_id" | "redirect_uri")) {
        // Which client, or where to: nothing can be sent back safely.
        return Err(PageError::bad_request(display, format!("Parameter `{name}` was given more than once")));
    }
    let (client, request) = match flow::parse(&entry, &params) {
        Ok(parsed) => parsed,
        Err(Rejection::Page(message)) => return Err(PageError::bad_request(display, message)),
        Err(Rejection::Redirect(reply, code, description)) => {
            return Ok(deliver_error(&entry, &reply, code, &description, Vec::new()));
        }
    };
    if let Some(name) = repeated.first() {
        let description = format!("Parameter `{name}` was given more than once");
        return Ok(deliver_error(&entry, &request.reply, ErrorCode::InvalidRequest, &description, Vec::new()));
    }
    let now = state.clock.now();
    let session = sessions::find(&state, &entry, cookies::read(&req, cookies::SESSION)).await?;
    let session = session.filter(|live| {
        // max_age=0 asks for a new sign-in even within the second of the last (Core §3.1.2.1).
        let fresh_enough = request.max_age.is_none_or(|age| age > 0 && now - live.session.auth_time <= age);
        let same_user = request.hint_sub.as_ref().is_none_or(|sub| *sub == live.user.user.id);
        fresh_enough && same_user
    });
    match session {
        Some(live) if !request.prompt_login => {
            proceed(&req, &state, &entry, &client, &request, &live, Vec::new()).await
        }
        _ if request.prompt_none => {
            Ok(deliver_error(&entry, &request.reply, ErrorCode::LoginRequired, "The user is not signed in", Vec::new()))
        }
        _ => {
            let username = request.login_hint.clone().unwrap_or_default();
            let next = Continuation::Authorize(request);
            Ok(login_page(&req, &state, &entry, &client.name, &next, &username, None, StatusCode::OK))
        }
    }
}

/// Renders the login page with a freshly sealed flow state.
#[expect(clippy::too_many_arguments, reason = "a page needs the whole flow")]
pub fn login_page(
    req: &HttpRequest,
    state: &AppState,
    entry: &RealmEntry,
    client_name: &str,
    next: &Continuation,
    username: &str,
    error: Option<&str>,
    status: StatusCode,
) -> HttpResponse {
    let realm = entry.realm.name.as_str();
    let (csrf, csrf_cookie) = cookies::csrf(req, realm, &cookies::Scope::of(state));
    let sealed = flow::seal(&state.secret, LOGIN_PURPOSE, realm, &csrf, next, state.clock.now());
    let action = format!("{}/login-actions/authenticate", entry.issuer);
    let page = LoginPage {
        realm_display: &entry.realm.settings.display_name,
        client_name,
        action: &action,
        state: &sealed,
        csrf: &csrf,
        username,
        error,
    };
    let mut builder = page_builder(status);
    add_cookies(&mut builder, csrf_cookie.into_iter().collect());
    render(&mut builder, &page)
}

/// The user is signed in: consent if needed, then answer.
pub async fn proceed(
    req: &HttpRequest,
    state: &AppState,
    entry: &RealmEntry,
    client: &Client,
    request: &AuthRequest,
    live: &LiveSession,
    cookies_to_set: Vec<Cookie<'static>>,
) -> Result<HttpResponse, PageError> {
    let granted = match granted_scope(entry, client, request, live) {
        Ok(granted) => granted,
        Err(description) => {
            return Ok(deliver_error(entry, &request.reply, ErrorCode::InvalidScope, &description, cookies_to_set));
        }
    };
    // prompt=consent asks even a client that needs no consent otherwise
    // (SPEC §3: it "always shows" the page; OpenID Connect Core §3.1.2.1).
    if client.consent_required || request.prompt_consent {
        let remembered = if request.prompt_consent {
            false
        } else {
            let (user_id, client_pk, scope) = (live.user.user.id.clone(), client.id.clone(), granted.clone());
            state.db.read_hot(move |conn| consent::is_remembered(conn, &user_id, &client_pk, &scope)).await?
        };
        if !remembered {
            if request.prompt_none {
                let description = "The user has not consented to this request";
                return Ok(deliver_error(
                    entry,
                    &request.reply,
                    ErrorCode::ConsentRequired,
                    description,
                    cookies_to_set,
                ));
            }
            return Ok(consent_page(req, state, entry, client, request, live, &granted, cookies_to_set));
        }
    }
    Ok(finish(state, entry, client, request, live, &granted, cookies_to_set).await)
}

pub fn granted_scope(
    entry: &RealmEntry,
    client: &Client,
    request: &AuthRequest,
    live: &LiveSession,
) -> Result<ScopeSet, String> {
    let allowed = entry.scopes_allowed_by_roles(&live.user.role_ids);
    let granted =
        entry.scopes.grant(&request.requested_scope(), &client.scopes, Some(&allowed)).map_err(|e| e.to_string())?;
    // Core §11: offline access only where a code (and so a refresh token) is issued.
    Ok(if request.response_type().code { granted } else { granted.without(OFFLINE_ACCESS) })
}

/// What the consent page's sealed state carries.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct ConsentState {
    pub next: Continuation,
    pub user_id: String,
}

#[expect(clippy::too_many_arguments, reason = "a page needs the whole flow")]
fn consent_page(
    req: &HttpRequest,
    state: &AppState,
    entry: &RealmEntry,
    client: &Client,
    request: &AuthRequest,
    live: &LiveSession,
    granted: &ScopeSet,
    cookies_to_set: Vec<Cookie<'static>>,
) -> HttpResponse {
    let body = ConsentState { next: Continuation::Authorize(request.clone()), user_id: live.user.user.id.clone() };
    consent_page_for(req, state, entry, client, &body, live, granted, cookies_to_set)
}

/// The consent page for any continuation (authorization or device).
#[expect(clippy::too_many_arguments, reason = "a page needs the whole flow")]
pub fn consent_page_for(
    req: &HttpRequest,
    state: &AppState,
    entry: &RealmEntry,
    client: &Client,
    body: &ConsentState,
    live: &LiveSession,
    granted: &ScopeSet,
    mut cookies_to_set: Vec<Cookie<'static>>,
) -> HttpResponse {
    let realm = entry.realm.name.as_str();
    let (csrf, csrf_cookie) = cookies::csrf(req, realm, &cookies::Scope::of(state));
    cookies_to_set.extend(csrf_cookie);
    let sealed = flow::seal(&state.secret, CONSENT_PURPOSE, realm, &csrf, body, state.clock.now());
    let action = format!("{}/login-actions/consent", entry.issuer);
    let scopes =
        granted.iter().map(|name| ScopeLine { name: name.to_owned(), description: describe(entry, name) }).collect();
    let page = ConsentPage {
        realm_display: &entry.realm.settings.display_name,
        client_name: &client.name,
        username: &live.user.user.username,
        scopes,
        action: &action,
        state: &sealed,
        csrf: &csrf,
    };
    let mut builder = page_builder(StatusCode::OK);
    add_cookies(&mut builder, cookies_to_set);
    render(&mut builder, &page)
}

pub fn describe(entry: &RealmEntry, scope: &str) -> String {
    BUILT_IN_SCOPES
        .iter()
        .find(|(name, _)| *name == scope)
        .map(|(_, description)| (*description).to_owned())
        .or_else(|| entry.custom_scopes.iter().find(|s| s.name == scope).map(|s| s.description.clone()))
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| scope.to_owned())
}

/// Issues the response and sends it to the client.
pub async fn finish(
    state: &AppState,
    entry: &RealmEntry,
    client: &Client,
    request: &AuthRequest,
    live: &LiveSession,
    granted: &ScopeSet,
    cookies_to_set: Vec<Cookie<'static>>,
) -> HttpResponse {
    let grant = Grant {
        response_type: request.response_type(),
        redirect_uri: if request.redirect_uri_given { &request.reply.redirect_uri } else { "" },
        scope: granted,
        nonce: request.nonce.as_deref(),
        state: request.reply.state.as_deref(),
        code_challenge: request.code_challenge.as_deref(),
        code_challenge_method: request.code_challenge_method.as_deref(),
    };
    match respond(state, entry, client, live, grant).await {
        Ok(params) => deliver(entry, &request.reply, params, cookies_to_set),
        Err(error) => deliver_error(entry, &request.reply, ErrorCode::ServerError, &error.description, cookies_to_set),
    }
}
