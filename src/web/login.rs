//! The login form's submission: check the password, start (or renew) the
//! SSO session, then go on with the authorization.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::authorize::{LOGIN_PURPOSE, login_page, page_params, page_realm, proceed, unseal_checked};
use super::cookies;
use super::flow::{self, Continuation, UnsealError};
use super::pages::PageError;
use crate::services::authentication::{self, PasswordCheck, Refusal};
use crate::services::realm_cache::RealmEntry;
use crate::services::sessions::{self, LiveSession};
use crate::state::AppState;

const BAD_CREDENTIALS: &str = "Invalid username or password.";
/// Keycloak's words for a disabled account whose password was right.
const ACCOUNT_DISABLED: &str = "Account is disabled, contact your administrator.";

pub async fn login_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    realm: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let entry = page_realm(&state, &realm).await?;
    let display = entry.realm.settings.display_name.clone();
    let params = page_params(&req, payload, &entry).await?;
    // A form whose CSRF token this browser no longer holds (another page of
    // it, opened at the same moment in a new browser, set the cookie last)
    // is refused, and shown again to sign in anew; its password is not read.
    let (next, refused): (Continuation, bool) = match unseal_checked(&req, &state, &entry, &params, LOGIN_PURPOSE) {
        Ok(next) => (next, false),
        Err(UnsealError::Csrf) => {
            let sealed = params.get("state").unwrap_or_default();
            let reopened =
                flow::reopen(&state.secret, LOGIN_PURPOSE, entry.realm.name.as_str(), sealed, state.clock.now());
            (reopened.ok_or_else(|| PageError::bad_request(&display, UnsealError::Csrf.message()))?, true)
        }
        Err(e) => return Err(PageError::bad_request(&display, e.message())),
    };
    let client =
        match next.client_id() {
            Some(id) => Some(entry.client(id).cloned().ok_or_else(|| {
                PageError::bad_request(&display, "The application is no longer known in this realm.")
            })?),
            None => None,
        };
    let client_name = match (&client, &next) {
        (Some(c), _) => c.name.as_str(),
        (None, Continuation::Console) => crate::console::session::CONSOLE_TITLE,
        (None, _) => super::account::ACCOUNT_TITLE,
    };
    let username = params.get("username").unwrap_or_default();
    // The form again, with what was typed and why it did not go on.
    let again = |message: &str, status| {
        Ok(login_page(&req, &state, &entry, client_name, &next, username, Some(message), status))
    };
    if refused {
        return again("This page was out of date. Please sign in again.", StatusCode::BAD_REQUEST);
    }
    let (Some(password), false) = (params.get("password"), username.is_empty()) else {
        return again("Enter your username and password.", StatusCode::OK);
    };
    let user = match authentication::password(&state, &entry, username, password.to_owned()).await? {
        PasswordCheck::SignedIn(user) => *user,
        PasswordCheck::Refused(refused) => {
            tracing::info!(realm = %entry.realm.name, "login failed");
            let message = match refused {
                Refusal::Disabled { .. } => ACCOUNT_DISABLED,
                Refusal::Wrong { .. } => BAD_CREDENTIALS,
            };
            let (user_id, error) = refused.audited();
            record_login(&state, &req, &entry, next.client_id(), username, Err((user_id, error)));
            return again(message, StatusCode::OK);
        }
    };
    // With a temporary password the sign-in completes (LOGIN) only after the new one is set.
    if !user.user.password_temporary {
        record_login(&state, &req, &entry, next.client_id(), username, Ok(&user.user.id));
    }
    if user.user.password_temporary {
        let pending = super::update_password::Pending::new(next, &user.user, state.clock.now());
        return Ok(super::update_password::page(&req, &state, &entry, &pending, None, StatusCode::OK));
    }
    continue_signed_in(&req, &state, &entry, next, client, user).await
}

/// After a successful sign-in: start the SSO session and go on with what
/// the sign-in was for.
pub async fn continue_signed_in(
    req: &HttpRequest,
    state: &AppState,
    entry: &std::sync::Arc<crate::services::realm_cache::RealmEntry>,
    next: Continuation,
    client: Option<std::sync::Arc<crate::domain::client::Client>>,
    user: crate::services::authentication::SignedInUser,
) -> Result<HttpResponse, PageError> {
    if let (Continuation::Authorize(request), Some(_)) = (&next, &client)
        && request.hint_sub.as_ref().is_some_and(|sub| *sub != user.user.id)
    {
        // Core §3.1.2.1: another user than id_token_hint's signed in. The
        // browser's session (the hinted user's, perhaps) is left as it was:
        // a request that fails changes nothing.
        let description = "The signed-in user is not the one id_token_hint names";
        let code = crate::error::ErrorCode::LoginRequired;
        return Ok(super::reply::deliver_error(entry, &request.reply, code, description, Vec::new()));
    }
    let (token, session) =
        sessions::sign_in(state, entry, &user, cookies::read(req, cookies::SESSION), state.client_ip(req)).await?;
    let console_token = matches!(next, Continuation::Console).then(|| token.clone());
    let cookie = cookies::session(token, entry.realm.name.as_str(), &cookies::Scope::of(state));
    let live = LiveSession { session, user };
    match (&next, client) {
        (Continuation::Authorize(request), Some(client)) => {
            proceed(req, state, entry, &client, request, &live, vec![cookie]).await
        }
        (Continuation::Device(device), Some(client)) => {
            super::device::after_login(req, state, entry, &client, device, &live, vec![cookie]).await
        }
        (Continuation::Console, _) => {
            Ok(crate::console::session::enter(state, console_token.unwrap_or_default(), vec![cookie]))
        }
        _ => Ok(super::account::back_to_account(entry, vec![cookie])),
    }
}

/// The audit-log event of a login form submission.
pub(super) fn record_login(
    state: &AppState,
    req: &HttpRequest,
    entry: &RealmEntry,
    client_id: Option<&str>,
    username: &str,
    outcome: Result<&str, (Option<&str>, &'static str)>,
) {
    let (user_id, error) = match outcome {
        Ok(user_id) => (Some(user_id), None),
        Err((user_id, error)) => (user_id, Some(error)),
    };
    let mut details = serde_json::Map::new();
    details.insert("username".into(), username.chars().take(255).collect::<String>().into());
    details.insert("auth_method".into(), "openid-connect".into());
    let event = crate::services::events::Event {
        realm_id: entry.realm.id.clone(),
        event_type: if error.is_none() { "LOGIN" } else { "LOGIN_ERROR" },
        client_id: client_id.map(str::to_owned),
        user_id: user_id.map(str::to_owned),
        ip_address: state.client_ip(req),
        error: error.map(str::to_owned),
        details,
        ..Default::default()
    };
    state.events.record(&entry.events, event, state.clock.now() * 1000);
}
