//! The authorization response once the user is signed in and has
//! consented: a stored single-use code, and/or tokens (implicit, hybrid).

use super::issue::{self, IdTokenExtras, Subject};
use super::realm_cache::RealmEntry;
use super::sessions::{self, LiveSession};
use crate::clock::UnixTime;
use crate::crypto::{random_token, token_hash};
use crate::domain::authorization::ResponseType;
use crate::domain::client::Client;
use crate::domain::scope::ScopeSet;
use crate::error::OAuthError;
use crate::state::AppState;
use crate::storage::new_id;
use crate::storage::repo::codes::{self, CodeRow};

/// What the client asked for, as the response needs it.
pub struct Grant<'a> {
    pub response_type: ResponseType,
    /// The redirect URI the request named; empty when it named none.
    pub redirect_uri: &'a str,
    pub scope: &'a ScopeSet,
    pub nonce: Option<&'a str>,
    /// The request's `state`, which an ID token in the response hashes.
    pub state: Option<&'a str>,
    pub code_challenge: Option<&'a str>,
    pub code_challenge_method: Option<&'a str>,
}

/// The response parameters (without `state` and `iss`).
pub async fn respond(
    state: &AppState,
    entry: &RealmEntry,
    client: &Client,
    live: &LiveSession,
    grant: Grant<'_>,
) -> Result<Vec<(&'static str, String)>, OAuthError> {
    let now: UnixTime = state.clock.now();
    let user = &live.user.user;
    let session = &live.session;
    let rt = grant.response_type;
    let mut params = Vec::new();

    let code = if rt.code {
        let code = random_token(32);
        let row = CodeRow {
            code_hash: token_hash(&code),
            realm_id: entry.realm.id.clone(),
            client_id: client.id.clone(),
            user_id: user.id.clone(),
            session_id: session.id.clone(),
            redirect_uri: grant.redirect_uri.to_owned(),
            scope: grant.scope.to_string(),
            nonce: grant.nonce.map(str::to_owned),
            code_challenge: grant.code_challenge.map(str::to_owned),
            code_challenge_method: grant.code_challenge_method.map(str::to_owned),
            auth_time: session.auth_time,
            expires_at: now + entry.realm.settings.auth_code_lifetime,
            used_at: None,
            grant_id: new_id(),
        };
        let grant_id = row.grant_id.clone();
        state.db.write(move |conn| codes::insert(conn, &row)).await?;
        params.push(("code", code.clone()));
        Some((code, grant_id))
    } else {
        None
    };

    let session_ends = sessions::idle_end(entry, session, now);
    let access_token = if rt.token {
        let subject = Subject::User {
            user,
            role_ids: &live.user.role_ids,
            auth_time: session.auth_time,
            sid: Some(&session.id),
            session_ends: Some(session_ends),
        };
        // Named after the session, so logout revokes it, and after the
        // code's grant beside it (hybrid), so that a reused code revokes it
        // with the grant's other tokens (RFC 6749 §4.1.2).
        // And after the session's grant to this client, which a withdrawn consent revokes.
        let named = format!("{}:{}", session.id, sessions::client_grant_id(&session.id, &client.id));
        let jti = match &code {
            Some((_, grant_id)) => issue::new_jti(Some(&format!("{named}:{grant_id}"))),
            None => issue::new_jti(Some(&named)),
        };
        let (token, expires_in) = issue::access_token(entry, client, &subject, grant.scope, jti, now)?;
        params.push(("access_token", token.clone()));
        params.push(("token_type", "Bearer".to_owned()));
        params.push(("expires_in", expires_in.to_string()));
        params.push(("scope", grant.scope.to_string()));
        Some(token)
    } else {
        None
    };

    if rt.id_token {
        let extras = IdTokenExtras {
            nonce: grant.nonce,
            sid: Some(&session.id),
            access_token: access_token.as_deref(),
            code: code.as_ref().map(|(code, _)| code.as_str()),
            state: grant.state,
            session_ends: Some(session_ends),
        };
        let id_token = issue::id_token(entry, client, user, grant.scope, session.auth_time, extras, now)?;
        params.push(("id_token", id_token));
    }
    Ok(params)
}
