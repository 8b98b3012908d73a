//! Keycloak's `UPDATE_PASSWORD` required action: a user whose password an
//! administrator set as temporary chooses a new one right after signing in
//! with it, and only then does the sign-in go on.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::authorize::{page_params, page_realm, unseal_form};
use super::cookies;
use super::flow::{self, Continuation};
use super::login::continue_signed_in;
use super::pages::{PageError, UpdatePasswordPage, page_builder, render};
use super::reply::add_cookies;
use crate::crypto::token_hash;
use crate::domain::user::{MAX_PASSWORD_BYTES, PASSWORD_TOO_LONG};
use crate::oidc::paths;
use crate::services::authentication::SignedInUser;
use crate::services::realm_cache::RealmEntry;
use crate::state::AppState;
use crate::storage::repo::{roles, users};

const PURPOSE: &str = "update-password";

/// A sign-in waiting for its new password: for this user, while their
/// temporary password is the one they signed in with, for `FLOW_LIFETIME`
/// from that sign-in (a refused attempt does not extend it).
#[derive(Debug, Serialize, Deserialize)]
pub struct Pending {
    pub next: Continuation,
    pub user_id: String,
    password_fingerprint: String,
    signed_in_at: i64,
}

const FLOW_LIFETIME_SECS: i64 = 30 * 60;

impl Pending {
    pub fn new(next: Continuation, user: &crate::domain::user::User, now: i64) -> Self {
        Self {
            next,
            user_id: user.id.clone(),
            password_fingerprint: fingerprint(user.password_hash.as_deref()),
            signed_in_at: now,
        }
    }
}

fn fingerprint(hash: Option<&str>) -> String {
    token_hash(hash.unwrap_or_default())
}

pub fn page(
    req: &HttpRequest,
    state: &AppState,
    entry: &RealmEntry,
    pending: &Pending,
    error: Option<&str>,
    status: StatusCode,
) -> HttpResponse {
    let realm = entry.realm.name.as_str();
    let (csrf, csrf_cookie) = cookies::csrf(req, realm, &cookies::Scope::of(state));
    let sealed = flow::seal(&state.secret, PURPOSE, realm, &csrf, pending, state.clock.now());
    let action = format!("{}{}", entry.issuer, paths::REQUIRED_ACTION);
    let page = UpdatePasswordPage {
        realm_display: &entry.realm.settings.display_name,
        action: &action,
        state: &sealed,
        csrf: &csrf,
        error,
    };
    let mut builder = page_builder(status);
    add_cookies(&mut builder, csrf_cookie.into_iter().collect());
    render(&mut builder, &page)
}

/// `POST /realms/R/login-actions/required-action`.
pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    realm: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let entry = page_realm(&state, &realm).await?;
    let display = entry.realm.settings.display_name.clone();
    let params = page_params(&req, payload, &entry).await?;
    let pending: Pending = unseal_form(&req, &state, &entry, &params, PURPOSE)?;
    let new = params.get("password-new").unwrap_or_default();
    let expired = || PageError::bad_request(&display, "This sign-in has expired. Sign in again.");
    if state.clock.now() - pending.signed_in_at > FLOW_LIFETIME_SECS {
        return Err(expired());
    }
    let problem = if new.is_empty() {
        Some("Enter a new password.")
    } else if Some(new) != params.get("password-confirm") {
        Some("The passwords do not match.")
    } else if new.len() > MAX_PASSWORD_BYTES {
        Some(PASSWORD_TOO_LONG)
    } else {
        None
    };
    if let Some(message) = problem {
        return Ok(page(&req, &state, &entry, &pending, Some(message), StatusCode::OK));
    }
    let (realm_id, user_id) = (entry.realm.id.clone(), pending.user_id.clone());
    let mut row = state
        .db
        .run(move |conn| users::find_by_id(conn, &realm_id, &user_id))
        .await?
        // Still enabled, still owing a new password, and still the same
        // temporary one (an administrator may have set another since).
        .filter(|u| {
            u.enabled && u.password_temporary && fingerprint(u.password_hash.as_deref()) == pending.password_fingerprint
        })
        .ok_or_else(expired)?;
    let old_hash = row.password_hash.clone().unwrap_or_default();
    if state.hasher.verify(Some(old_hash.clone()), new.to_owned()).await? {
        let message = "Choose a password other than the temporary one.";
        return Ok(page(&req, &state, &entry, &pending, Some(message), StatusCode::OK));
    }
    let new_hash = state.hasher.hash(new.to_owned()).await?;
    let (realm_id, user_id, stored) = (entry.realm.id.clone(), row.id.clone(), new_hash.clone());
    let role_ids = state
        .db
        .write(move |conn| {
            // Only the two columns, and only if nothing changed meanwhile.
            if !users::replace_temporary_password(conn, &realm_id, &user_id, &old_hash, &stored)? {
                return Ok(None);
            }
            roles::list_role_ids_of_user(conn, &user_id).map(Some)
        })
        .await?
        .ok_or_else(expired)?;
    row.password_hash = Some(new_hash);
    row.password_temporary = false;
    // Every other session ends with the temporary password (Keycloak's
    // "sign out from other devices", checked by default): a session the
    // reset was meant to shut out does not come back now. Offline tokens
    // survive, as at any sign-out; this browser goes on in a new session.
    crate::services::account::end_all_sessions(&state, &entry, &row.id).await?;
    record(&state, &req, &entry, pending.next.client_id(), &row.id);
    super::login::record_login(&state, &req, &entry, pending.next.client_id(), &row.username, Ok(&row.id));
    let client =
        match pending.next.client_id() {
            Some(id) => Some(entry.client(id).cloned().ok_or_else(|| {
                PageError::bad_request(&display, "The application is no longer known in this realm.")
            })?),
            None => None,
        };
    let user = SignedInUser { user: row.to_domain(), role_ids };
    continue_signed_in(&req, &state, &entry, pending.next, client, user).await
}

fn record(state: &AppState, req: &HttpRequest, entry: &RealmEntry, client_id: Option<&str>, user_id: &str) {
    let event = crate::services::events::Event {
        realm_id: entry.realm.id.clone(),
        event_type: "UPDATE_PASSWORD",
        client_id: client_id.map(str::to_owned),
        user_id: Some(user_id.to_owned()),
        ip_address: state.client_ip(req),
        ..Default::default()
    };
    state.events.record(&entry.events, event, state.clock.now() * 1000);
}
