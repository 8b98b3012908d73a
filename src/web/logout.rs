//! RP-Initiated Logout 1.0: a valid `id_token_hint` ends the session it
//! names at once, unless the browser holds another session of the user
//! (then, and without a hint, the user confirms first). `post_logout_redirect_uri`
//! must be registered exactly for the client. And Keycloak's logout by
//! refresh token: a client's POST with its credentials and a
//! `refresh_token` ends that token's session (204, errors as OAuth JSON).

use std::sync::Arc;

use actix_web::http::header;
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde::{Deserialize, Serialize};

use super::authorize::{page_params, page_realm, unseal_form};
use super::cookies;
use super::flow;
use super::pages::{LoggedOutPage, LogoutConfirmPage, PageError, page_builder, render};
use crate::error::OAuthError;
use crate::oidc::params::{self, Params};
use crate::services::realm_cache::RealmEntry;
use crate::services::{client_auth, logout, sessions};
use crate::state::AppState;

const LOGOUT_PURPOSE: &str = "logout";

#[derive(Debug, Serialize, Deserialize)]
struct LogoutRequest {
    client_id: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    /// The session the hint names (its `sid` and user), when the browser
    /// asking holds another: ended too once the user confirms.
    #[serde(default)]
    hinted_session: Option<(String, String)>,
}

/// A client's POST with its credentials and a refresh token (Keycloak's
/// back-channel logout): 204, or an OAuth error as JSON.
async fn logout_by_refresh_token(
    req: &HttpRequest,
    state: &AppState,
    entry: &Arc<RealmEntry>,
    params: &Params,
) -> Result<(), OAuthError> {
    if !entry.realm.enabled {
        return Err(OAuthError::realm_disabled());
    }
    let credentials = params::client_credentials(req, params, entry.realm.name.as_str())?;
    let client = client_auth::authenticate(entry, &credentials)?;
    let token = params.required("refresh_token")?;
    logout::end_by_refresh_token(state, entry, &client, token).await
}

pub async fn end_session(
    req: HttpRequest,
    state: web::Data<AppState>,
    realm: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let entry = page_realm(&state, &realm).await?;
    let display = entry.realm.settings.display_name.clone();
    let params = page_params(&req, payload, &entry).await?;
    if req.method() == Method::POST && params.get("refresh_token").is_some() {
        return Ok(match logout_by_refresh_token(&req, &state, &entry, &params).await {
            Ok(()) => HttpResponse::NoContent().insert_header((header::CACHE_CONTROL, "no-store")).finish(),
            Err(error) => error.error_response(),
        });
    }
    let hint =
        match params.get("id_token_hint") {
            Some(given) => Some(flow::id_token_claims(&entry, given).ok_or_else(|| {
                PageError::bad_request(&display, "The id_token_hint is not an ID token of this realm.")
            })?),
            None => None,
        };
    let hint_client = hint.as_ref().and_then(|c| c["aud"].as_str().map(str::to_owned));
    let client_id = match (params.get("client_id"), hint_client) {
        (Some(given), Some(from_hint)) if given != from_hint => {
            return Err(PageError::bad_request(&display, "client_id does not match the id_token_hint."));
        }
        (Some(given), _) => Some(given.to_owned()),
        (None, from_hint) => from_hint,
    };
    let client = match &client_id {
        Some(id) => Some(
            entry
                .client(id)
                .cloned()
                .ok_or_else(|| PageError::bad_request(&display, "The application is not known in this realm."))?,
        ),
        None => None,
    };
    let redirect = params.get("post_logout_redirect_uri").map(str::to_owned);
    if let Some(uri) = &redirect {
        // Which client's list it is checked against must be said (Keycloak:
        // "Either id_token_hint or client_id parameter is required").
        let Some(client) = &client else {
            return Err(PageError::bad_request(
                &display,
                "A post-logout redirect URI needs the id_token_hint or the client_id of the application.",
            ));
        };
        if !client.allows_post_logout_redirect(uri) {
            return Err(PageError::bad_request(
                &display,
                "The post-logout redirect URI is not registered for this application.",
            ));
        }
    }
    let logout_state = params.get("state").map(str::to_owned);
    // As at the authorization endpoint: it goes back in a Location header.
    if logout_state.as_ref().is_some_and(|s| s.len() > flow::MAX_VALUE_LEN) {
        return Err(PageError::bad_request(&display, "The state parameter is too long."));
    }
    let mut logout =
        LogoutRequest { client_id, post_logout_redirect_uri: redirect, state: logout_state, hinted_session: None };

    // A valid hint ends the session it names (by `sid`) and redirects at
    // once (SPEC §4): this browser's, or, when the browser holds none (its
    // cookie not sent on an application's cross-site POST, or another
    // client altogether), the one named, as Keycloak's logout does without
    // a cookie. A browser holding another session of the user (the hint is
    // of an earlier or another session, or of none: the password grant's
    // ID tokens have no `sid`) is asked first, as Keycloak forces a
    // confirmation there; confirming ends this browser's session and the
    // one the hint names.
    let live = sessions::find(&state, &entry, cookies::read(&req, cookies::SESSION)).await?;
    let hinted = hint.as_ref().map(|claims| {
        (claims["sub"].as_str().unwrap_or_default().to_owned(), claims["sid"].as_str().map(str::to_owned))
    });
    if let Some((sub, sid)) = &hinted {
        if let Some(live) = &live
            && live.user.user.id == *sub
            && sid.as_ref() == Some(&live.session.id)
        {
            end_named(&req, &state, &entry, logout.client_id.as_deref(), &live.session.id, sub).await?;
            return Ok(signed_out(&state, &entry, &logout));
        }
        if live.is_none() {
            if let Some(sid) = sid {
                end_named(&req, &state, &entry, logout.client_id.as_deref(), sid, sub).await?;
            }
            return Ok(signed_out(&state, &entry, &logout));
        }
        logout.hinted_session = sid.clone().map(|sid| (sid, sub.clone()));
    }
    {
        let realm_name = entry.realm.name.as_str();
        let (csrf, csrf_cookie) = cookies::csrf(&req, realm_name, &cookies::Scope::of(&state));
        let sealed = flow::seal(&state.secret, LOGOUT_PURPOSE, realm_name, &csrf, &logout, state.clock.now());
        let action = format!("{}/protocol/openid-connect/logout/confirm", entry.issuer);
        let page = LogoutConfirmPage {
            realm_display: &display,
            // Named only when the user will be sent back to it.
            client_name: client.as_ref().filter(|_| logout.post_logout_redirect_uri.is_some()).map(|c| c.name.as_str()),
            action: &action,
            state: &sealed,
            csrf: &csrf,
        };
        let mut builder = page_builder(StatusCode::OK);
        if let Some(cookie) = csrf_cookie {
            builder.cookie(cookie);
        }
        Ok(render(&mut builder, &page))
    }
}

pub async fn logout_confirm(
    req: HttpRequest,
    state: web::Data<AppState>,
    realm: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let entry = page_realm(&state, &realm).await?;
    let params = page_params(&req, payload, &entry).await?;
    let logout: LogoutRequest = unseal_form(&req, &state, &entry, &params, LOGOUT_PURPOSE)?;
    if let Some(live) = sessions::find(&state, &entry, cookies::read(&req, cookies::SESSION)).await? {
        end_named(&req, &state, &entry, logout.client_id.as_deref(), &live.session.id, &live.user.user.id).await?;
    }
    // (one already ended is left alone, without a second event)
    if let Some((sid, sub)) = &logout.hinted_session {
        end_named(&req, &state, &entry, logout.client_id.as_deref(), sid, sub).await?;
    }
    Ok(signed_out(&state, &entry, &logout))
}

/// Ends the session (or the grant made without a browser, a session of its
/// own) named `sid`, if it is still `user_id`'s, and logs it.
async fn end_named(
    req: &HttpRequest,
    state: &AppState,
    entry: &Arc<RealmEntry>,
    client_id: Option<&str>,
    sid: &str,
    user_id: &str,
) -> Result<(), PageError> {
    if crate::services::account::end_session(state, entry, user_id, sid).await? {
        record_logout(req, state, entry, client_id, user_id, Some(sid.to_owned()));
    }
    Ok(())
}

/// The audit-log event of a browser sign-out (Keycloak's `LOGOUT`).
pub(super) fn record_logout(
    req: &HttpRequest,
    state: &AppState,
    entry: &RealmEntry,
    client_id: Option<&str>,
    user_id: &str,
    session_id: Option<String>,
) {
    let event = crate::services::events::Event {
        realm_id: entry.realm.id.clone(),
        event_type: "LOGOUT",
        client_id: client_id.map(str::to_owned),
        user_id: Some(user_id.to_owned()),
        session_id,
        ip_address: state.client_ip(req),
        ..Default::default()
    };
    state.events.record(&entry.events, event, state.clock.now() * 1000);
}

fn signed_out(state: &AppState, entry: &RealmEntry, logout: &LogoutRequest) -> HttpResponse {
    let clear = cookies::clear_session(entry.realm.name.as_str(), &cookies::Scope::of(state));
    match &logout.post_logout_redirect_uri {
        Some(uri) => {
            let mut location = uri.clone();
            if let Some(s) = &logout.state {
                let encoded = serde_urlencoded::to_string([("state", s)]).expect("string pairs encode");
                location.push(if uri.contains('?') { '&' } else { '?' });
                location.push_str(&encoded);
            }
            HttpResponse::Found()
                .cookie(clear)
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .insert_header((header::LOCATION, location))
                .finish()
        }
        None => {
            let mut builder = page_builder(StatusCode::OK);
            builder.cookie(clear);
            render(&mut builder, &LoggedOutPage { realm_display: &entry.realm.settings.display_name })
        }
    }
}
