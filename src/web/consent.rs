//! The consent form's submission: allow (remembered) or deny.

use actix_web::{HttpRequest, HttpResponse, web};
use diesel::Connection;

use super::authorize::{CONSENT_PURPOSE, ConsentState, finish, granted_scope, page_params, page_realm, unseal_form};
use super::cookies;
use super::flow::Continuation;
use super::pages::PageError;
use super::reply::deliver_error;
use crate::crypto::token_hash;
use crate::error::ErrorCode;
use crate::services::realm_cache::RealmEntry;
use crate::services::sessions::LiveSession;
use crate::services::{consent, sessions};
use crate::state::AppState;
use crate::storage::repo::revocations;

pub async fn consent_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    realm: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let entry = page_realm(&state, &realm).await?;
    let display = entry.realm.settings.display_name.clone();
    let params = page_params(&req, payload, &entry).await?;
    let now = state.clock.now();
    let sealed: ConsentState = unseal_form(&req, &state, &entry, &params, CONSENT_PURPOSE)?;
    let Some(client) = sealed.next.client_id().and_then(|id| entry.client(id)).cloned() else {
        return Err(PageError::bad_request(&display, "The application is no longer known in this realm."));
    };
    let live = sessions::find(&state, &entry, cookies::read(&req, cookies::SESSION))
        .await?
        .filter(|live| live.user.user.id == sealed.user_id)
        .ok_or_else(|| {
            PageError::bad_request(&display, "Your sign-in session has ended. Start again from the application.")
        })?;
    let decision = params.get("decision");
    let request = match sealed.next {
        Continuation::Authorize(request) => request,
        Continuation::Device(device) => {
            return super::device::decide(&state, &entry, &client, &device, &live, decision).await;
        }
        Continuation::Account | Continuation::Console => {
            return Err(PageError::bad_request(&display, "There is nothing to consent to."));
        }
    };
    // Each consent form decides once: its copy replayed from the browser's
    // history (after the consent was withdrawn, say) grants nothing, as
    // Keycloak's single-use action codes. Recorded with what it decides.
    let form_id = format!("consent-form:{}", token_hash(params.get("state").unwrap_or_default()));
    let until = now + super::flow::FLOW_LIFETIME_SECS;
    let already_submitted =
        || PageError::bad_request(&display, "This form was already submitted. Start again from the application.");
    match decision {
        Some("allow") => {
            let granted = match granted_scope(&entry, &client, &request, &live) {
                Ok(granted) => granted,
                Err(description) => {
                    return Ok(deliver_error(
                        &entry,
                        &request.reply,
                        ErrorCode::InvalidScope,
                        &description,
                        Vec::new(),
                    ));
                }
            };
            let (realm_id, user_id, client_pk, scope) =
                (entry.realm.id.clone(), live.user.user.id.clone(), client.id.clone(), granted.clone());
            let first = state
                .db
                .write(move |conn| {
                    conn.transaction(|conn| {
                        if !revocations::insert_once(conn, &realm_id, &form_id, until)? {
                            return Ok(false);
                        }
                        consent::remember(conn, &realm_id, &user_id, &client_pk, &scope, now)?;
                        Ok(true)
                    })
                })
                .await?;
            if !first {
                return Err(already_submitted());
            }
            Ok(finish(&state, &entry, &client, &request, &live, &granted, Vec::new()).await)
        }
        Some("deny") => {
            let realm_id = entry.realm.id.clone();
            if !state.db.write(move |conn| revocations::insert_once(conn, &realm_id, &form_id, until)).await? {
                return Err(already_submitted());
            }
            record_denial(&req, &state, &entry, &client.client_id, &live);
            Ok(deliver_error(
                &entry,
                &request.reply,
                ErrorCode::AccessDenied,
                "The user denied the request",
                Vec::new(),
            ))
        }
        _ => Err(PageError::bad_request(&display, "Choose Allow or Deny.")),
    }
}

/// A denied consent in the audit log, as Keycloak records it: a
/// `LOGIN_ERROR` with the error `rejected_by_user`.
fn record_denial(req: &HttpRequest, state: &AppState, entry: &RealmEntry, client_id: &str, live: &LiveSession) {
    let mut details = serde_json::Map::new();
    details.insert("auth_method".into(), "openid-connect".into());
    let event = crate::services::events::Event {
        realm_id: entry.realm.id.clone(),
        event_type: "LOGIN_ERROR",
        client_id: Some(client_id.to_owned()),
        user_id: Some(live.user.user.id.clone()),
        session_id: Some(live.session.id.clone()),
        ip_address: state.client_ip(req),
        error: Some("rejected_by_user".into()),
        details,
    };
    state.events.record(&entry.events, event, state.clock.now() * 1000);
}
