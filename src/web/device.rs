//! The device page (`/realms/R/device`, RFC 8628 §3.3): the user types the
//! code shown on the device, signs in (reusing the SSO session), sees the
//! consent page with the device's client and scopes, and is told the result.
//! Code entries are counted per browser and per address, so the code space
//! cannot be searched.

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::authorize::{ConsentState, consent_page_for, login_page, page_params, page_realm, unseal_form};
use super::cookies;
use super::flow::{self, Continuation, DeviceApproval};
use super::pages::{DeviceDonePage, DevicePage, PageError, page_builder, render};
use super::reply::add_cookies;
use crate::crypto::token_hash;
use crate::domain::client::Client;
use crate::domain::device::{display_user_code, normalize_user_code};
use crate::domain::scope::{PERSONAL_TOKEN_SCOPE, ScopeSet};
use crate::services::realm_cache::RealmEntry;
use crate::services::sessions::{self, LiveSession};
use crate::services::{device, personal_tokens};
use crate::state::AppState;

const DEVICE_PURPOSE: &str = "device";
const WRONG_CODE: &str = "That code is not valid, or it has expired. Check the code on your device.";

fn page(
    req: &HttpRequest,
    state: &AppState,
    entry: &RealmEntry,
    user_code: &str,
    error: Option<&str>,
    status: StatusCode,
) -> HttpResponse {
    let realm = entry.realm.name.as_str();
    let (csrf, csrf_cookie) = cookies::csrf(req, realm, &cookies::Scope::of(state));
    let sealed = flow::seal(&state.secret, DEVICE_PURPOSE, realm, &csrf, &(), state.clock.now());
    let action = format!("{}/device", entry.issuer);
    let page = DevicePage {
        realm_display: &entry.realm.settings.display_name,
        action: &action,
        state: &sealed,
        csrf: &csrf,
        user_code,
        error,
    };
    let mut builder = page_builder(status);
    add_cookies(&mut builder, csrf_cookie.into_iter().collect());
    render(&mut builder, &page)
}

pub async fn device_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    realm: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let entry = page_realm(&state, &realm).await?;
    let query: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let prefill = query
        .iter()
        .find(|(k, _)| k == "user_code")
        .and_then(|(_, v)| normalize_user_code(v))
        .map(|code| display_user_code(&code))
        .unwrap_or_default();
    Ok(page(&req, &state, &entry, &prefill, None, StatusCode::OK))
}

pub async fn device_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    realm: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let entry = page_realm(&state, &realm).await?;
    let display = entry.realm.settings.display_name.clone();
    let params = page_params(&req, payload, &entry).await?;
    let browser = cookies::read(&req, cookies::CSRF);
    unseal_form::<()>(&req, &state, &entry, &params, DEVICE_PURPOSE)?;
    let address = state.client_rate_key(&req);
    // The browser is counted by a hash of its CSRF cookie: the stored key
    // must not hand a reader of the database a live form token.
    let keys = vec![
        format!("device:{}:ip:{address}", entry.realm.id),
        format!("device:{}:browser:{}", entry.realm.id, token_hash(&browser.unwrap_or_default())),
    ];
    let typed = params.get("user_code").unwrap_or_default();
    if device::count_attempt(&state, keys.clone()).await? {
        let message = "Too many attempts. Wait a few minutes, then try again.";
        return Ok(page(&req, &state, &entry, typed, Some(message), StatusCode::TOO_MANY_REQUESTS));
    }
    let found = match normalize_user_code(typed) {
        Some(code) => device::find_pending(&state, &entry, code).await?,
        None => None,
    };
    let Some(row) = found else {
        return Ok(page(&req, &state, &entry, typed, Some(WRONG_CODE), StatusCode::OK));
    };
    device::refund_attempt(&state, keys).await?;
    let Some(client) = entry.clients.values().find(|c| c.id == row.client_id && c.enabled).cloned() else {
        return Err(PageError::bad_request(&display, "The device's application is no longer known in this realm."));
    };
    let approval = DeviceApproval {
        device_code_hash: row.device_code_hash,
        client_id: client.client_id.clone(),
        scope: row.scope,
    };
    match sessions::find(&state, &entry, cookies::read(&req, cookies::SESSION)).await? {
        Some(live) => Ok(consent(&req, &state, &entry, &client, &approval, &live, Vec::new())),
        None => {
            let next = Continuation::Device(approval);
            Ok(login_page(&req, &state, &entry, &client.name, &next, "", None, StatusCode::OK))
        }
    }
}

fn granted(entry: &RealmEntry, client: &Client, approval: &DeviceApproval, live: &LiveSession) -> ScopeSet {
    let asked = ScopeSet::parse(&approval.scope).unwrap_or_default();
    if asked.is_empty() {
        return asked;
    }
    let allowed = entry.scopes_allowed_by_roles(&live.user.role_ids);
    entry.scopes.grant(&asked, &client.scopes, Some(&allowed)).unwrap_or_default()
}

/// After the sign-in a device code led to: its consent page, or, when the
/// code expired meanwhile, that news at once (not after the user allowed).
pub async fn after_login(
    req: &HttpRequest,
    state: &AppState,
    entry: &RealmEntry,
    client: &Client,
    approval: &DeviceApproval,
    live: &LiveSession,
    cookies_to_set: Vec<Cookie<'static>>,
) -> Result<HttpResponse, PageError> {
    if device::is_pending(state, approval.device_code_hash.clone()).await? {
        return Ok(consent(req, state, entry, client, approval, live, cookies_to_set));
    }
    let page = DeviceDonePage {
        realm_display: &entry.realm.settings.display_name,
        title: "Code expired",
        message: EXPIRED_CODE,
    };
    let mut builder = page_builder(StatusCode::BAD_REQUEST);
    add_cookies(&mut builder, cookies_to_set);
    Ok(render(&mut builder, &page))
}

const EXPIRED_CODE: &str = "This code has expired or was already used. Start again on your device.";

/// The consent page for a device: always shown, so nobody connects a device by accident.
pub fn consent(
    req: &HttpRequest,
    state: &AppState,
    entry: &RealmEntry,
    client: &Client,
    approval: &DeviceApproval,
    live: &LiveSession,
    cookies_to_set: Vec<Cookie<'static>>,
) -> HttpResponse {
    let scope = granted(entry, client, approval, live);
    let body = ConsentState { next: Continuation::Device(approval.clone()), user_id: live.user.user.id.clone() };
    consent_page_for(req, state, entry, client, &body, live, &scope, cookies_to_set)
}

/// The user's answer on the consent page.
pub async fn decide(
    state: &AppState,
    entry: &RealmEntry,
    client: &Client,
    approval: &DeviceApproval,
    live: &LiveSession,
    decision: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let display = &entry.realm.settings.display_name;
    let approve = match decision {
        Some("allow") => true,
        Some("deny") => false,
        _ => return Err(PageError::bad_request(display, "Choose Allow or Deny.")),
    };
    let scope = granted(entry, client, approval, live);
    // A pairing the user cannot finish is said so here, not by a device
    // that polls in vain after "Device connected". The code stays pending.
    if approve
        && scope.contains(PERSONAL_TOKEN_SCOPE)
        && personal_tokens::at_cap(state, live.user.user.id.clone()).await?
    {
        return Err(PageError::bad_request(
            display,
            "You have too many personal access tokens. Revoke one on your account page, then allow the device again.",
        ));
    }
    let recorded = device::decide(
        state,
        approval.device_code_hash.clone(),
        approve,
        live.user.user.id.clone(),
        live.session.auth_time,
        &scope,
    )
    .await?;
    if !recorded {
        return Err(PageError::bad_request(display, EXPIRED_CODE));
    }
    let (title, message) = if approve {
        ("Device connected", format!("{} is now connected. You can return to your device.", client.name))
    } else {
        ("Request denied", format!("{} was not connected.", client.name))
    };
    let page = DeviceDonePage { realm_display: display, title, message: &message };
    Ok(render(&mut page_builder(StatusCode::OK), &page))
}
