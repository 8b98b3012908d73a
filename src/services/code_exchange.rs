//! The authorization code grant at the token endpoint (RFC 6749 §4.1.3,
//! RFC 7636 §4.6): single use, bound to client, redirect URI, PKCE challenge
//! and nonce; a second use revokes every token issued from the code.

use std::sync::Arc;

use diesel::Connection;

use super::Abort;
use super::families::{first_token, prepare_family, revocation_horizon, revoke_grant, store_family};
use super::issue::{self, TokenResponse, UserGrant};
use super::realm_cache::RealmEntry;
use super::sessions::{self as live_sessions, is_live};
use crate::clock::UnixTime;
use crate::crypto::token_hash;
use crate::domain::authorization::{ChallengeMethod, verifier_matches};
use crate::domain::client::{Client, GrantType};
use crate::domain::scope::{OFFLINE_ACCESS, ScopeSet};
use crate::domain::user::User;
use crate::error::OAuthError;
use crate::state::AppState;
use crate::storage::repo::{codes, roles, sessions, users};
use crate::storage::{DbConnection, StorageError};

/// What the client sent besides the code.
pub struct Exchange {
    pub code: String,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
}

enum Outcome {
    Granted(Box<Granted>),
    Reused { grant_id: String },
}

/// What a used code grants, recorded in the database; the tokens are
/// signed after the transaction commits, outside SQLite's single writer.
struct Granted {
    user: User,
    role_ids: Vec<String>,
    scope: ScopeSet,
    auth_time: UnixTime,
    grant_id: String,
    nonce: Option<String>,
    session_id: String,
    session_ends: Option<UnixTime>,
    /// Until when the grant's first refresh token is valid, if it has one.
    refresh_expires_at: Option<UnixTime>,
}

fn reject(description: &'static str) -> Abort {
    Abort::Reject(OAuthError::invalid_grant(description))
}

pub async fn exchange(
    state: &AppState,
    entry: Arc<RealmEntry>,
    client: Arc<Client>,
    request: Exchange,
) -> Result<TokenResponse, OAuthError> {
    let now = state.clock.now();
    let (entry_for_signing, client_for_signing) = (Arc::clone(&entry), Arc::clone(&client));
    let outcome = state
        .db
        .write(move |conn| Ok(conn.transaction(|conn| exchange_in_transaction(conn, &entry, &client, &request, now))))
        .await?;
    match outcome {
        Ok(Outcome::Granted(granted)) => {
            // The access token names what ends it: its refresh family (the
            // grant's id: a session's end or a withdrawn consent revokes the
            // family) or, with no family, the browser session and its grant
            // to the client (see `client_grant_id`) beside the code's grant.
            let named = match granted.refresh_expires_at {
                Some(_) => granted.grant_id.clone(),
                None => {
                    let session = &granted.session_id;
                    let client_grant = live_sessions::client_grant_id(session, &client_for_signing.id);
                    format!("{session}:{client_grant}:{}", granted.grant_id)
                }
            };
            let grant = UserGrant {
                user: &granted.user,
                role_ids: &granted.role_ids,
                scope: &granted.scope,
                auth_time: granted.auth_time,
                grant_id: Some(&named),
                nonce: granted.nonce.as_deref(),
                sid: Some(&granted.session_id),
                session_ends: granted.session_ends,
            };
            let refresh =
                granted.refresh_expires_at.map(|expires| (first_token(&state.secret, &granted.grant_id), expires));
            let refresh = refresh.as_ref().map(|(token, expires)| (token.as_str(), *expires));
            issue::user_tokens(&entry_for_signing, &client_for_signing, &grant, refresh, now)
        }
        Ok(Outcome::Reused { grant_id }) => {
            tracing::warn!(grant_id, "authorization code used twice; its tokens are revoked");
            Err(OAuthError::invalid_grant("Authorization code was already used"))
        }
        Err(Abort::Reject(error)) => Err(error),
        Err(Abort::Storage(error)) => Err(error.into()),
    }
}

fn exchange_in_transaction(
    conn: &mut DbConnection,
    entry: &RealmEntry,
    client: &Client,
    request: &Exchange,
    now: UnixTime,
) -> Result<Outcome, Abort> {
    let hash = token_hash(&request.code);
    // Use first: the write lock is taken at once and only one caller wins.
    let used_now = codes::use_code(conn, &hash, now)? == 1;
    let Some(code) = codes::find(conn, &hash)? else {
        return Err(reject("Invalid authorization code"));
    };
    if code.realm_id != entry.realm.id {
        return Err(reject("Invalid authorization code"));
    }
    if !used_now {
        revoke_grant(conn, &entry.realm.id, &code.grant_id, revocation_horizon(entry, now), now)?;
        return Ok(Outcome::Reused { grant_id: code.grant_id });
    }
    if code.client_id != client.id {
        return Err(reject("Authorization code was issued to another client"));
    }
    if now > code.expires_at {
        return Err(reject("Authorization code has expired"));
    }
    // An empty stored URI: the authorization request named none, so the
    // token request need not either (RFC 6749 §4.1.3).
    if !code.redirect_uri.is_empty() && request.redirect_uri.as_deref() != Some(code.redirect_uri.as_str()) {
        return Err(reject("redirect_uri does not match the authorization request"));
    }
    match (&code.code_challenge, &request.code_verifier) {
        (Some(challenge), Some(verifier)) => {
            let method = code
                .code_challenge_method
                .as_deref()
                .and_then(ChallengeMethod::parse)
                .unwrap_or(ChallengeMethod::Plain);
            if !verifier_matches(method, challenge, verifier) {
                return Err(reject("PKCE verification failed"));
            }
        }
        (Some(_), None) => return Err(reject("Missing code_verifier")),
        (None, Some(_)) => {
            return Err(reject("code_verifier sent, but the authorization request had no code_challenge"));
        }
        (None, None) => {}
    }
    let Some(session) = sessions::find_by_id(conn, &code.session_id)?.filter(|s| is_live(entry, s, now)) else {
        return Err(reject("Session not active"));
    };
    let Some(user) = users::find_by_id(conn, &entry.realm.id, &code.user_id)?.filter(|u| u.enabled) else {
        return Err(reject("Session not active"));
    };
    let role_ids = roles::list_role_ids_of_user(conn, &user.id)?;
    let user = user.to_domain();
    let scope = ScopeSet::parse(&code.scope).map_err(|e| Abort::Storage(StorageError::Corrupt(e.0)))?;

    let family = client.allows(GrantType::RefreshToken).then(|| {
        let mut family =
            prepare_family(entry, client, &user.id, &scope, code.auth_time, now, session.ip_address.clone());
        family.family.id = code.grant_id.clone();
        family.bind_to(entry, &session, now);
        family
    });
    if let Some(family) = &family {
        store_family(conn, family)?;
    }
    // Redeeming the code is a use of its session (as in Keycloak), recorded
    // as coarsely as every use; offline grants outlive the session (as
    // their refresh tokens do).
    if live_sessions::touch_due(entry, &session, now) {
        sessions::touch(conn, &session.id, now)?;
    }
    let session_ends = (!scope.contains(OFFLINE_ACCESS)).then(|| live_sessions::idle_end(entry, &session, now));
    Ok(Outcome::Granted(Box::new(Granted {
        user,
        role_ids,
        scope,
        auth_time: code.auth_time,
        grant_id: code.grant_id,
        nonce: code.nonce,
        session_id: code.session_id,
        session_ends,
        refresh_expires_at: family.map(|f| f.expires_at),
    })))
}
