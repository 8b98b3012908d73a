//! The signed-in user's own account: personal access tokens, sessions and
//! granted consents — seen, created, ended, revoked. Used by the account
//! page and the account API alike.

use std::sync::Arc;

use serde::Serialize;

use super::personal_tokens::{self, MintError};
use super::realm_cache::RealmEntry;
use super::{ServiceError, families, sessions};
use crate::clock::UnixTime;
use crate::domain::scope::ScopeSet;
use crate::state::AppState;
use crate::storage::repo::personal_tokens::{self as token_repo, PersonalTokenRow};
use crate::storage::repo::{consents, refresh, revocations, sessions as session_repo, users};
use crate::storage::{DbConnection, StorageError};

#[derive(Debug, Clone, Serialize)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    pub scope: String,
    pub created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<i64>,
}

impl From<PersonalTokenRow> for TokenView {
    fn from(row: PersonalTokenRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            scope: row.scope,
            created_at: row.created_at,
            expires_at: row.expires_at,
            last_used_at: row.last_used_at,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SessionView {
    pub id: String,
    pub started_at: i64,
    pub last_seen_at: i64,
    /// For a grant made without a browser (password, device), its
    /// application: Keycloak makes such a grant a session of its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Where it was started from (unknown for sessions from before realmgate recorded it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConsentView {
    pub client_id: String,
    pub client_name: String,
    pub scope: String,
    pub granted_at: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub tokens: Vec<TokenView>,
    pub sessions: Vec<SessionView>,
    pub consents: Vec<ConsentView>,
}

/// Everything the account shows, in one database trip.
pub async fn overview(state: &AppState, entry: &Arc<RealmEntry>, user_id: &str) -> Result<Overview, ServiceError> {
    let now = state.clock.now();
    let user_id = user_id.to_owned();
    let entry = Arc::clone(entry);
    Ok(state
        .db
        .run(move |conn| {
            let tokens =
                token_repo::list_active_by_user(conn, &user_id, now)?.into_iter().map(TokenView::from).collect();
            let settings = &entry.realm.settings;
            let mut sessions: Vec<SessionView> = session_repo::list_open_by_user(conn, &user_id)?
                .into_iter()
                .filter(|s| s.within(settings.sso_session_idle, settings.sso_session_max, now))
                .map(|s| SessionView {
                    id: s.id,
                    started_at: s.created_at,
                    last_seen_at: s.last_seen_at,
                    client_id: None,
                    ip_address: s.ip_address,
                })
                .collect();
            sessions.extend(refresh::live_online_families_of_user(conn, &user_id)?.into_iter().filter_map(|f| {
                let current = families::sessionless_is_current(&f, settings.sso_session_max, now);
                let client = entry.clients.values().find(|c| c.id == f.client_id).filter(|_| current)?;
                Some(SessionView {
                    started_at: f.created_at,
                    last_seen_at: f.token_issued_at.unwrap_or(f.created_at),
                    client_id: Some(client.client_id.clone()),
                    ip_address: f.ip_address,
                    id: f.id,
                })
            }));
            let mut consents: Vec<ConsentView> = consents::list_by_user(conn, &user_id)?
                .into_iter()
                .filter_map(|(client_pk, scope, granted_at)| {
                    let client = entry.clients.values().find(|c| c.id == client_pk)?;
                    Some(ConsentView {
                        client_id: client.client_id.clone(),
                        client_name: client.name.clone(),
                        scope,
                        granted_at,
                    })
                })
                .collect();
            // Offline access a client holds without a consent (one that asks
            // none): listed too, so the user can withdraw it (as Keycloak's
            // account console lists every application with offline access).
            for family in refresh::live_offline_families_of_user(conn, &user_id, now)? {
                let Some(client) = entry.clients.values().find(|c| c.id == family.client_id) else { continue };
                if !consents.iter().any(|c| c.client_id == client.client_id) {
                    consents.push(ConsentView {
                        client_id: client.client_id.clone(),
                        client_name: client.name.clone(),
                        scope: family.scope,
                        granted_at: family.created_at,
                    });
                }
            }
            Ok(Overview { tokens, sessions, consents })
        })
        .await?)
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error(transparent)]
    Mint(#[from] MintError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("this form was already submitted")]
    AlreadySubmitted,
}

/// What a personal token is asked for.
pub struct TokenOrder {
    pub name: String,
    pub scope: Option<ScopeSet>,
    /// The calling credential's scopes (API calls); `None` when the user
    /// acts in person on the account page.
    pub ceiling: Option<ScopeSet>,
    pub lifetime_secs: Option<i64>,
    /// A page form's single use, until when it is kept: its second
    /// submission (a double click) mints nothing.
    pub form_once: Option<(String, UnixTime)>,
}

/// Why the minting transaction rolled back.
enum Undone {
    Storage(StorageError),
    AlreadySubmitted,
}

impl From<diesel::result::Error> for Undone {
    fn from(e: diesel::result::Error) -> Self {
        Self::Storage(e.into())
    }
}

/// Creates a token for the user; the secret is returned once.
pub async fn create_token(
    state: &AppState,
    entry: &Arc<RealmEntry>,
    user_id: &str,
    order: TokenOrder,
) -> Result<(String, TokenView), CreateError> {
    use diesel::Connection;
    let now = state.clock.now();
    let (entry, user_id) = (Arc::clone(entry), user_id.to_owned());
    state
        .db
        .write(move |conn| {
            let Some(user) = users::find_by_id(conn, &entry.realm.id, &user_id)? else {
                return Ok(Err(MintError::NoSuchUser(user_id).into()));
            };
            let TokenOrder { name, scope, ceiling, lifetime_secs, form_once } = order;
            let expires_at = lifetime_secs.map(|s| now + s);
            let minted = conn.transaction(|conn| {
                let minted = personal_tokens::mint_for(
                    conn,
                    &entry,
                    &user,
                    &name,
                    scope.as_ref(),
                    ceiling.as_ref(),
                    expires_at,
                    now,
                );
                if let (Ok(_), Some((form_id, until))) = (&minted, &form_once)
                    && !revocations::insert_once(conn, &entry.realm.id, form_id, *until).map_err(Undone::Storage)?
                {
                    return Err(Undone::AlreadySubmitted);
                }
                Ok(minted)
            });
            Ok(match minted {
                Ok(Ok((token, row))) => Ok((token, TokenView::from(row))),
                Ok(Err(MintError::Storage(e))) | Err(Undone::Storage(e)) => return Err(e),
                Ok(Err(e)) => Err(e.into()),
                Err(Undone::AlreadySubmitted) => Err(CreateError::AlreadySubmitted),
            })
        })
        .await?
}

pub async fn revoke_token(state: &AppState, user_id: &str, id: &str) -> Result<bool, ServiceError> {
    let now = state.clock.now();
    let (user_id, id) = (user_id.to_owned(), id.to_owned());
    Ok(state.db.write(move |conn| token_repo::revoke(conn, &user_id, &id, now)).await?)
}

/// What a session id of a user's list names: an open browser session, or
/// a grant made without a browser (a session of its own), of the realm.
enum Listed {
    Browser { user_id: String },
    Grant { user_id: String },
}

impl Listed {
    /// Only what the list shows: a session past its idle timeout or maximum
    /// is gone, even before the pruning job deletes it.
    fn find(
        conn: &mut DbConnection,
        entry: &RealmEntry,
        id: &str,
        now: UnixTime,
    ) -> Result<Option<Self>, StorageError> {
        if let Some(session) = session_repo::find_by_id(conn, id)? {
            let live = sessions::is_live(entry, &session, now);
            return Ok(live.then_some(Self::Browser { user_id: session.user_id }));
        }
        let Some(family) = refresh::find_family(conn, id)?
            .filter(|f| f.realm_id == entry.realm.id && f.session_id.is_none() && !f.offline && f.revoked_at.is_none())
        else {
            return Ok(None);
        };
        let live = families::Bound::of(conn, entry, &family, now)?.is_live();
        Ok(live.then_some(Self::Grant { user_id: family.user_id }))
    }

    fn user_id(&self) -> &str {
        match self {
            Self::Browser { user_id } | Self::Grant { user_id } => user_id,
        }
    }
}

/// Whose session of the realm `id` is, if it is one still open.
pub async fn session_owner(
    state: &AppState,
    entry: &Arc<RealmEntry>,
    id: &str,
) -> Result<Option<String>, ServiceError> {
    let (entry, id, now) = (Arc::clone(entry), id.to_owned(), state.clock.now());
    let found = state.db.run(move |conn| Listed::find(conn, &entry, &id, now)).await?;
    Ok(found.map(|listed| listed.user_id().to_owned()))
}

/// Ends one of the user's sessions (and revokes its refresh tokens).
pub async fn end_session(
    state: &AppState,
    entry: &Arc<RealmEntry>,
    user_id: &str,
    id: &str,
) -> Result<bool, ServiceError> {
    let now = state.clock.now();
    let (entry, user_id, id) = (Arc::clone(entry), user_id.to_owned(), id.to_owned());
    Ok(state
        .db
        .write(move |conn| {
            match Listed::find(conn, &entry, &id, now)?.filter(|listed| listed.user_id() == user_id) {
                Some(Listed::Browser { .. }) => sessions::end(conn, &entry, &id, now)?,
                Some(Listed::Grant { .. }) => {
                    let horizon = families::revocation_horizon(&entry, now);
                    families::revoke_grant(conn, &entry.realm.id, &id, horizon, now)?;
                }
                None => return Ok(false),
            }
            Ok(true)
        })
        .await?)
}

/// Ends every session the account page lists (Keycloak's "sign out all
/// devices"): the browser sessions, this one too, and the grants made
/// without a browser. Offline tokens survive, as when one session ends.
pub async fn end_all_sessions(state: &AppState, entry: &Arc<RealmEntry>, user_id: &str) -> Result<(), ServiceError> {
    let now = state.clock.now();
    let (entry, user_id) = (Arc::clone(entry), user_id.to_owned());
    Ok(state.db.write(move |conn| sessions::end_all_of_user(conn, &entry, &user_id, false, now)).await?)
}

/// Withdraws the consent given to a client (by its `client_id`), and with
/// it the client's grants for this user: their refresh tokens, offline ones
/// too, and the access tokens issued with them (Keycloak revokes the
/// offline tokens and signs the user out of the client). Recorded as
/// Keycloak's account console records it: `REVOKE_GRANT`, naming the client
/// in `revoked_client`.
pub async fn revoke_consent(
    state: &AppState,
    entry: &RealmEntry,
    user_id: &str,
    client_id: &str,
    ip_address: Option<String>,
) -> Result<bool, ServiceError> {
    let Some(client) = entry.clients.get(client_id) else {
        return Ok(false);
    };
    let mut details = serde_json::Map::new();
    details.insert("revoked_client".into(), client_id.into());
    let event = crate::services::events::Event {
        realm_id: entry.realm.id.clone(),
        event_type: "REVOKE_GRANT",
        client_id: Some(client_id.to_owned()),
        user_id: Some(user_id.to_owned()),
        ip_address,
        details,
        ..Default::default()
    };
    let (user_id, client_pk) = (user_id.to_owned(), client.id.clone());
    let now = state.clock.now();
    let (realm_id, horizon) = (entry.realm.id.clone(), families::revocation_horizon(entry, now));
    let deleted = state
        .db
        .transaction(move |conn| {
            // A client's offline access counts as consent to withdraw, given
            // or not (a client that asks none gets it without).
            let offline = refresh::has_live_offline_family_at_client(conn, &user_id, &client_pk, now)?;
            let deleted = consents::delete(conn, &user_id, &client_pk)? || offline;
            if deleted {
                for family in refresh::live_families_of_user_at_client(conn, &user_id, &client_pk)? {
                    families::revoke_grant(conn, &realm_id, &family, horizon, now)?;
                }
                // Tokens without a refresh family name the session's grant to the client.
                for session in session_repo::list_open_by_user(conn, &user_id)? {
                    let id = sessions::client_grant_id(&session.id, &client_pk);
                    revocations::insert(conn, &realm_id, &id, horizon)?;
                }
            }
            Ok(deleted)
        })
        .await?;
    if deleted {
        state.events.record(&entry.events, event, now * 1000);
    }
    Ok(deleted)
}
