//! The device authorization grant (RFC 8628): starting a device flow,
//! answering polls (`authorization_pending`, `slow_down`, `access_denied`,
//! `expired_token`, then the tokens once), the user's decision, and the
//! brute-force guard on user codes.

use std::sync::Arc;

use diesel::Connection;
use serde::Serialize;

use super::ServiceError;
use super::families::{prepare_family, sessionless_ends, store_family};
use super::issue::{self, TokenResponse, UserGrant};
use super::personal_tokens::{self, MintError};
use super::realm_cache::RealmEntry;
use crate::clock::UnixTime;
use crate::crypto::{SecretKey, random_bytes, random_token, token_hash};
use crate::domain::client::{Client, GrantType};
use crate::domain::device::{display_user_code, user_code_from};
use crate::domain::scope::{PERSONAL_TOKEN_SCOPE, ScopeSet};
use crate::error::{ErrorCode, OAuthError};
use crate::state::AppState;
use crate::storage::repo::devices::{self, DeviceRow};
use crate::storage::repo::users::UserRow;
use crate::storage::repo::{rate_limits, roles, users};
use crate::storage::{DbConnection, StorageError};

/// RFC 8628 §3.5: each `slow_down` adds this to the interval.
const SLOW_DOWN_SECS: i64 = 5;
/// Code entries allowed per key (browser, address) in one window.
pub const MAX_CODE_ATTEMPTS: i64 = 5;
pub const CODE_ATTEMPT_WINDOW_SECS: i64 = 15 * 60;

/// The device authorization response (RFC 8628 §3.2).
#[derive(Serialize)]
pub struct DeviceAuthorization {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: i64,
}

pub async fn start(
    state: &AppState,
    entry: &RealmEntry,
    client: &Client,
    scope: &ScopeSet,
) -> Result<DeviceAuthorization, OAuthError> {
    let now = state.clock.now();
    let settings = &entry.realm.settings;
    let device_code = random_token(32);
    let mut row = DeviceRow {
        device_code_hash: token_hash(&device_code),
        user_code: String::new(),
        realm_id: entry.realm.id.clone(),
        client_id: client.id.clone(),
        scope: scope.to_string(),
        created_at: now,
        expires_at: now + settings.device_code_lifetime,
        poll_interval: settings.device_poll_interval,
        last_polled_at: None,
        status: devices::PENDING.into(),
        user_id: None,
        auth_time: None,
        granted_scope: None,
    };
    // User codes are unique; a collision (1 in 2.5·10¹⁰ per live code) retries.
    let mut attempt = 0;
    let user_code = loop {
        attempt += 1;
        row.user_code = user_code_from(&random_bytes(32)).expect("32 random bytes hold 8 letters");
        let candidate = row.clone();
        match state.db.write(move |conn| devices::insert(conn, &candidate)).await {
            Ok(()) => break row.user_code.clone(),
            Err(e) if e.is_unique_violation() && attempt < 5 => continue,
            Err(e) => return Err(e.into()),
        }
    };
    let verification_uri = format!("{}/device", entry.issuer);
    let shown = display_user_code(&user_code);
    Ok(DeviceAuthorization {
        device_code,
        verification_uri_complete: format!("{verification_uri}?user_code={shown}"),
        user_code: shown,
        verification_uri,
        expires_in: settings.device_code_lifetime,
        interval: settings.device_poll_interval,
    })
}

enum Poll {
    Tokens(TokenResponse),
    Error(ErrorCode, &'static str),
}

/// The token endpoint's device_code grant.
pub async fn poll(
    state: &AppState,
    entry: Arc<RealmEntry>,
    client: Arc<Client>,
    device_code: String,
    ip_address: Option<String>,
) -> Result<TokenResponse, OAuthError> {
    let (now, now_ms) = (state.clock.now(), state.clock.now_ms());
    let secret = state.secret.clone();
    let result = state
        .db
        .write(move |conn| {
            conn.transaction(|conn| {
                let at = Polled { now, now_ms, ip_address: ip_address.as_deref() };
                poll_in_transaction(conn, &entry, &client, &secret, &device_code, at)
            })
        })
        .await?;
    match result {
        Poll::Tokens(response) => Ok(response),
        Poll::Error(code, description) => Err(OAuthError::new(code, description)),
    }
}

/// When and from where a device polled.
#[derive(Clone, Copy)]
struct Polled<'a> {
    now: UnixTime,
    now_ms: i64,
    ip_address: Option<&'a str>,
}

fn poll_in_transaction(
    conn: &mut DbConnection,
    entry: &RealmEntry,
    client: &Client,
    secret: &SecretKey,
    device_code: &str,
    at: Polled<'_>,
) -> Result<Poll, StorageError> {
    let Polled { now, now_ms, .. } = at;
    let hash = token_hash(device_code);
    let Some(row) = devices::find_for_poll(conn, &hash)? else {
        return Ok(Poll::Error(ErrorCode::InvalidGrant, "Invalid device code"));
    };
    if row.realm_id != entry.realm.id || row.client_id != client.id {
        return Ok(Poll::Error(ErrorCode::InvalidGrant, "Invalid device code"));
    }
    if now > row.expires_at && row.status != devices::CONSUMED {
        return Ok(Poll::Error(ErrorCode::ExpiredToken, "The device code has expired"));
    }
    // Any poll too soon after the last, whatever the user has decided meanwhile.
    // In milliseconds: whole seconds would let a poll through almost a
    // second early (late in one second, early in a later one).
    let too_soon = row.last_polled_at.is_some_and(|last_ms| now_ms - last_ms < row.poll_interval * 1000);
    if too_soon && row.status != devices::CONSUMED {
        devices::record_poll(conn, &hash, now_ms, row.poll_interval + SLOW_DOWN_SECS)?;
        return Ok(Poll::Error(ErrorCode::SlowDown, "Polling too fast; wait longer between requests"));
    }
    match row.status.as_str() {
        devices::PENDING => {
            devices::record_poll(conn, &hash, now_ms, row.poll_interval)?;
            Ok(Poll::Error(ErrorCode::AuthorizationPending, "The user has not decided yet"))
        }
        devices::DENIED => {
            // Still paced: a device told no must not poll as fast as it likes.
            devices::record_poll(conn, &hash, now_ms, row.poll_interval)?;
            Ok(Poll::Error(ErrorCode::AccessDenied, "The user denied the request"))
        }
        devices::APPROVED if devices::consume(conn, &hash)? => issue_tokens(conn, entry, client, secret, &row, at),
        devices::WITHDRAWN => Ok(Poll::Error(ErrorCode::InvalidGrant, "Session not active")),
        _ => Ok(Poll::Error(ErrorCode::InvalidGrant, "The device code was already used")),
    }
}

fn issue_tokens(
    conn: &mut DbConnection,
    entry: &RealmEntry,
    client: &Client,
    secret: &SecretKey,
    row: &DeviceRow,
    at: Polled<'_>,
) -> Result<Poll, StorageError> {
    let now = at.now;
    let user_id = row.user_id.as_deref().unwrap_or_default();
    let Some(user_row) = users::find_by_id(conn, &entry.realm.id, user_id)?.filter(|u| u.enabled) else {
        return Ok(Poll::Error(ErrorCode::InvalidGrant, "The user is no longer active"));
    };
    let user = user_row.to_domain();
    let scope =
        ScopeSet::parse(row.granted_scope.as_deref().unwrap_or_default()).map_err(|e| StorageError::Corrupt(e.0))?;
    if scope.contains(PERSONAL_TOKEN_SCOPE) {
        return pair(conn, entry, client, &user_row, &scope, now);
    }
    let auth_time = row.auth_time.unwrap_or(now);
    // A session of its own, as the password grant's: recorded whether or not
    // the client takes refresh tokens, so that signing the user out revokes
    // its access tokens too.
    let family = prepare_family(entry, client, &user.id, &scope, auth_time, now, at.ip_address.map(str::to_owned));
    let role_ids = roles::list_role_ids_of_user(conn, &user.id)?;
    let grant = UserGrant {
        user: &user,
        role_ids: &role_ids,
        scope: &scope,
        auth_time,
        grant_id: Some(family.family.id.as_str()),
        nonce: None,
        sid: (!family.family.offline).then_some(family.family.id.as_str()),
        session_ends: sessionless_ends(entry, &scope, now),
    };
    let refresh = client.allows(GrantType::RefreshToken).then(|| (family.token(secret), family.expires_at));
    let refresh = refresh.as_ref().map(|(token, expires)| (token.as_str(), *expires));
    let response = issue::user_tokens(entry, client, &grant, refresh, now)
        .map_err(|e| StorageError::Corrupt(e.description.into_owned()))?;
    store_family(conn, &family)?;
    Ok(Poll::Tokens(response))
}

/// Device pairing: instead of a short-lived pair, the device receives a
/// personal access token with the other scopes it was granted.
fn pair(
    conn: &mut DbConnection,
    entry: &RealmEntry,
    client: &Client,
    user: &UserRow,
    scope: &ScopeSet,
    now: UnixTime,
) -> Result<Poll, StorageError> {
    let token_scope = ScopeSet::from_names(scope.iter().filter(|s| *s != PERSONAL_TOKEN_SCOPE).map(str::to_owned));
    let name = paired_device_name(&client.name);
    match personal_tokens::mint_for(conn, entry, user, &name, Some(&token_scope), None, None, now) {
        Ok((token, row)) => Ok(Poll::Tokens(TokenResponse {
            access_token: token,
            token_type: "Bearer".into(),
            expires_in: None,
            refresh_token: None,
            refresh_expires_in: None,
            id_token: None,
            scope: row.scope,
            user_id: Some(user.id.clone()),
        })),
        Err(MintError::Storage(e)) => Err(e),
        Err(MintError::TooMany) => {
            Ok(Poll::Error(ErrorCode::InvalidGrant, "The user has too many personal access tokens"))
        }
        Err(_) => Ok(Poll::Error(ErrorCode::InvalidGrant, "No personal access token can be issued for this grant")),
    }
}

/// The paired device's token name: the client's name, shortened to leave
/// room for the suffix within a token name's limit (a client's name may be
/// longer).
fn paired_device_name(client_name: &str) -> String {
    const SUFFIX: &str = " (paired device)";
    let room = personal_tokens::MAX_TOKEN_NAME_CHARS - SUFFIX.chars().count();
    let shortened: String = client_name.chars().take(room).collect();
    format!("{}{SUFFIX}", shortened.trim_end())
}

/// Counts one attempt at a user code for every key, first and atomically,
/// and says whether any key is over its budget: parallel guesses cannot
/// slip past a check made before counting.
pub async fn count_attempt(state: &AppState, keys: Vec<String>) -> Result<bool, ServiceError> {
    let now = state.clock.now();
    Ok(state
        .db
        .write(move |conn| {
            conn.transaction(|conn| {
                let mut over = false;
                for key in &keys {
                    over |= rate_limits::hit(conn, key, now, CODE_ATTEMPT_WINDOW_SECS)? > MAX_CODE_ATTEMPTS;
                }
                Ok(over)
            })
        })
        .await?)
}

/// Takes back the attempt `count_attempt` counted when the code was right:
/// only wrong codes use up the budget.
pub async fn refund_attempt(state: &AppState, keys: Vec<String>) -> Result<(), ServiceError> {
    Ok(state
        .db
        .write(move |conn| {
            conn.transaction(|conn| {
                for key in &keys {
                    rate_limits::refund(conn, key)?;
                }
                Ok(())
            })
        })
        .await?)
}

pub async fn find_pending(
    state: &AppState,
    entry: &RealmEntry,
    user_code: String,
) -> Result<Option<DeviceRow>, ServiceError> {
    let now = state.clock.now();
    let realm_id = entry.realm.id.clone();
    Ok(state.db.run(move |conn| devices::find_pending_by_user_code(conn, &realm_id, &user_code, now)).await?)
}

/// Whether the code still waits for a decision (it may expire while the user signs in).
pub async fn is_pending(state: &AppState, device_code_hash: String) -> Result<bool, ServiceError> {
    let now = state.clock.now();
    Ok(state.db.run(move |conn| devices::is_pending(conn, &device_code_hash, now)).await?)
}

/// Records the user's decision; false if the code is no longer pending
/// (decided, or expired while the user signed in).
pub async fn decide(
    state: &AppState,
    device_code_hash: String,
    approve: bool,
    user_id: String,
    auth_time: UnixTime,
    granted: &ScopeSet,
) -> Result<bool, ServiceError> {
    let status = if approve { devices::APPROVED } else { devices::DENIED };
    let granted = granted.to_string();
    let now = state.clock.now();
    Ok(state
        .db
        .write(move |conn| devices::decide(conn, &device_code_hash, status, &user_id, auth_time, &granted, now))
        .await?)
}

#[cfg(test)]
mod tests {
    use super::paired_device_name;

    #[test]
    fn a_long_client_name_is_shortened_to_fit_a_token_name() {
        let name = paired_device_name(&"é".repeat(95));
        assert_eq!(name.chars().count(), 100);
        assert!(name.ends_with("é (paired device)"));
        assert_eq!(paired_device_name("TV"), "TV (paired device)");
    }
}
