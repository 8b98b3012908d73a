//! The account page (`/realms/R/account`): the signed-in user's personal
//! access tokens (create, see, revoke), active sessions (see, end) and
//! granted consents (see, revoke). Sign-in goes through the SSO session.

use actix_web::cookie::Cookie;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

use super::authorize::{login_page, page_params, page_realm, unseal_form};
use super::cookies;
use super::flow::{self, Continuation};
use super::pages::{AccountPage, ConsentLine, PageError, SessionLine, TokenLine, page_builder, render};
use super::reply::add_cookies;
use crate::crypto::token_hash;
use crate::domain::scope::ScopeSet;
use crate::services::account::{self, CreateError};
use crate::services::realm_cache::RealmEntry;
use crate::services::sessions::{self, LiveSession};
use crate::state::AppState;

const ACCOUNT_PURPOSE: &str = "account";
/// What the login page says it signs in to.
pub const ACCOUNT_TITLE: &str = "your account";

fn when(ts: i64) -> String {
    DateTime::<Utc>::from_timestamp(ts, 0)
        .map_or_else(|| ts.to_string(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string())
}

/// 303 to the account page (after sign-in or an action).
pub fn back_to_account(entry: &RealmEntry, cookies_to_set: Vec<Cookie<'static>>) -> HttpResponse {
    let mut builder = HttpResponse::SeeOther();
    builder
        .insert_header((header::LOCATION, format!("{}/account", entry.issuer)))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    add_cookies(&mut builder, cookies_to_set);
    builder.finish()
}

async fn show(
    req: &HttpRequest,
    state: &AppState,
    entry: &std::sync::Arc<RealmEntry>,
    live: &LiveSession,
    new_token: Option<&str>,
    cookies_to_set: Vec<Cookie<'static>>,
) -> Result<HttpResponse, PageError> {
    let overview = account::overview(state, entry, &live.user.user.id).await?;
    let realm = entry.realm.name.as_str();
    let (csrf, csrf_cookie) = cookies::csrf(req, realm, &cookies::Scope::of(state));
    let sealed = flow::seal(&state.secret, ACCOUNT_PURPOSE, realm, &csrf, &live.user.user.id, state.clock.now());
    let action = format!("{}/account", entry.issuer);
    let page = AccountPage {
        realm_display: &entry.realm.settings.display_name,
        username: &live.user.user.username,
        new_token,
        tokens: overview
            .tokens
            .into_iter()
            .map(|t| TokenLine {
                id: t.id,
                name: t.name,
                scope: t.scope,
                created: when(t.created_at),
                expires: t.expires_at.map(when),
                last_used: t.last_used_at.map(when),
            })
            .collect(),
        sessions: overview
            .sessions
            .into_iter()
            .map(|s| SessionLine {
                current: s.id == live.session.id,
                id: s.id,
                started: when(s.started_at),
                last_seen: when(s.last_seen_at),
                via: s.client_id,
                ip_address: s.ip_address,
            })
            .collect(),
        consents: overview
            .consents
            .into_iter()
            .map(|c| ConsentLine { client_id: c.client_id, client_name: c.client_name, scope: c.scope })
            .collect(),
        action: &action,
        state: &sealed,
        csrf: &csrf,
    };
    let mut builder = page_builder(StatusCode::OK);
    add_cookies(&mut builder, csrf_cookie.into_iter().chain(cookies_to_set).collect());
    Ok(render(&mut builder, &page))
}

/// The personal token the last form created, if this browser carries it
/// for this user: shown once, its cookie cleared with the page.
fn created_token(req: &HttpRequest, state: &AppState, user_id: &str) -> Option<String> {
    let sealed = URL_SAFE_NO_PAD.decode(cookies::read(req, cookies::NEW_TOKEN)?).ok()?;
    let plain = state.secret.decrypt_text(&sealed).ok()?;
    let (owner, token) = plain.split_once('\n')?;
    (owner == user_id).then(|| token.to_owned())
}

pub async fn account_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    realm: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let entry = page_realm(&state, &realm).await?;
    match sessions::find(&state, &entry, cookies::read(&req, cookies::SESSION)).await? {
        Some(live) => {
            let created = created_token(&req, &state, &live.user.user.id);
            let clear = match req.cookie(cookies::NEW_TOKEN) {
                Some(_) => vec![cookies::clear_new_token(entry.realm.name.as_str(), &cookies::Scope::of(&state))],
                None => Vec::new(),
            };
            show(&req, &state, &entry, &live, created.as_deref(), clear).await
        }
        None => Ok(login_page(&req, &state, &entry, ACCOUNT_TITLE, &Continuation::Account, "", None, StatusCode::OK)),
    }
}

pub async fn account_action(
    req: HttpRequest,
    state: web::Data<AppState>,
    realm: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let entry = page_realm(&state, &realm).await?;
    let display = entry.realm.settings.display_name.clone();
    let params = page_params(&req, payload, &entry).await?;
    let user_id: String = unseal_form(&req, &state, &entry, &params, ACCOUNT_PURPOSE)?;
    // The form's user must still be this browser's.
    sessions::find(&state, &entry, cookies::read(&req, cookies::SESSION))
        .await?
        .filter(|live| live.user.user.id == user_id)
        .ok_or_else(|| PageError::bad_request(&display, "Your session has ended. Sign in again."))?;
    let id = params.get("id").unwrap_or_default();
    match params.get("action") {
        Some("create-token") => {
            let name = params.get("name").unwrap_or_default().to_owned();
            let scope = match params.get("scope") {
                Some(raw) => Some(ScopeSet::parse(raw).map_err(|e| PageError::bad_request(&display, e.0))?),
                None => None,
            };
            let lifetime = match params.get("expires_days") {
                Some(days) => match days.trim().parse::<i64>() {
                    Ok(d) if (1..=36500).contains(&d) => Some(d * 86400),
                    _ => {
                        return Err(PageError::bad_request(
                            &display,
                            "Expiry must be a number of days from 1 to 36500.",
                        ));
                    }
                },
                None => None,
            };
            // The page's form mints once (a double click, a resubmission):
            // the page it leads back to has a form of its own.
            let form_id = format!("account-form:{}", token_hash(params.get("state").unwrap_or_default()));
            let form_once = Some((form_id, state.clock.now() + super::flow::FLOW_LIFETIME_SECS));
            let order = account::TokenOrder { name, scope, ceiling: None, lifetime_secs: lifetime, form_once };
            match account::create_token(&state, &entry, &user_id, order).await {
                // Shown by the page the redirect leads to: a reload there
                // does not post the form (and mint a token) again.
                Ok((token, _)) => {
                    let sealed = URL_SAFE_NO_PAD.encode(state.secret.encrypt(format!("{user_id}\n{token}").as_bytes()));
                    let cookie = cookies::new_token(sealed, entry.realm.name.as_str(), &cookies::Scope::of(&state));
                    Ok(back_to_account(&entry, vec![cookie]))
                }
                Err(
                    CreateError::Mint(crate::services::personal_tokens::MintError::Storage(e))
                    | CreateError::Storage(e),
                ) => Err(e.into()),
                Err(CreateError::Mint(e)) => Err(PageError::bad_request(&display, e.to_string())),
                Err(CreateError::AlreadySubmitted) => Err(PageError::bad_request(
                    &display,
                    "This form was already submitted: your new token is on the account page.",
                )),
            }
        }
        Some("revoke-token") => {
            account::revoke_token(&state, &user_id, id).await?;
            Ok(back_to_account(&entry, Vec::new()))
        }
        Some("end-session") => {
            if account::end_session(&state, &entry, &user_id, id).await? {
                super::logout::record_logout(&req, &state, &entry, None, &user_id, Some(id.to_owned()));
            }
            Ok(back_to_account(&entry, Vec::new()))
        }
        Some("end-all-sessions") => {
            account::end_all_sessions(&state, &entry, &user_id).await?;
            super::logout::record_logout(&req, &state, &entry, None, &user_id, None);
            let clear = cookies::clear_session(entry.realm.name.as_str(), &cookies::Scope::of(&state));
            Ok(back_to_account(&entry, vec![clear]))
        }
        Some("revoke-consent") => {
            account::revoke_consent(&state, &entry, &user_id, id, state.client_ip(&req)).await?;
            Ok(back_to_account(&entry, Vec::new()))
        }
        _ => Err(PageError::bad_request(&display, "Unknown action.")),
    }
}
