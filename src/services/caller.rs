//! Who calls a protected endpoint of the realm (userinfo, the account API):
//! a JWT access token, a personal access token, or — where the realm sets
//! `basic_auth` — HTTP Basic with a password or a personal access token.

use std::sync::Arc;

use super::authentication;
use super::personal_tokens;
use super::realm_cache::RealmEntry;
use super::{ServiceError, access};
use crate::clock::UnixTime;
use crate::domain::scope::ScopeSet;
use crate::domain::user::User;
use crate::state::AppState;
use crate::storage::repo::users;

/// What the request presented.
pub enum Credential {
    Bearer(String),
    Basic { username: String, password: String },
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            Self::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
        }
    }
}

/// An authenticated caller and the scopes it holds.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub scope: ScopeSet,
    /// The client an access token was issued to (none for a personal token or HTTP Basic).
    pub client_id: Option<String>,
    /// When the presented credential expires (none for a password, or a
    /// personal token without expiry).
    pub expires_at: Option<UnixTime>,
}

/// Why a credential was refused: a 401, or a 403 for a good credential
/// without the scope the endpoint needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("The {0} scope is required")]
    MissingScope(&'static str),
    #[error("{0}")]
    Token(access::InvalidToken),
    #[error("Token is not active")]
    InactivePersonalToken,
    #[error("Token has no active user")]
    NoUser,
    #[error("HTTP Basic authentication is not accepted in this realm")]
    BasicNotAllowed,
    #[error("Invalid username or password")]
    BadBasic,
}

/// The caller a credential names, when it holds the scope `needs`: a 401
/// for a dead credential (expired, revoked, its user gone) whatever its
/// scope, then a 403 for a live one without that scope (a client's own
/// token, which names no user, too).
pub async fn authenticate(
    state: &AppState,
    entry: &Arc<RealmEntry>,
    credential: Credential,
    needs: &'static str,
) -> Result<Result<Caller, Refusal>, ServiceError> {
    let caller = identify(state, entry, credential, needs).await?;
    Ok(caller.and_then(|c| if c.scope.contains(needs) { Ok(c) } else { Err(Refusal::MissingScope(needs)) }))
}

async fn identify(
    state: &AppState,
    entry: &Arc<RealmEntry>,
    credential: Credential,
    needs: &'static str,
) -> Result<Result<Caller, Refusal>, ServiceError> {
    let now = state.clock.now();
    match credential {
        Credential::Bearer(token) if personal_tokens::is_personal(&token) => personal(state, entry, token, None).await,
        Credential::Bearer(token) => {
            let claims = match access::verify(entry, &token, now) {
                Ok(claims) => claims,
                Err(e) => return Ok(Err(Refusal::Token(e))),
            };
            let realm_id = entry.realm.id.clone();
            let sub = claims.sub.clone();
            // A client's own token names the client (its internal id) as subject.
            let clients_own = claims.client_uuid.as_deref() == Some(claims.sub.as_str());
            let client_id = Some(claims.client_id.clone());
            let expires_at = Some(claims.exp);
            let scope = ScopeSet::parse(&claims.scope).unwrap_or_default();
            let (revoked, user) = state
                .db
                .read_hot(move |conn| {
                    Ok((access::is_revoked(conn, &claims)?, users::find_by_id(conn, &realm_id, &sub)?))
                })
                .await?;
            if revoked {
                return Ok(Err(Refusal::Token(access::InvalidToken::Revoked)));
            }
            Ok(match user.filter(|u| u.enabled) {
                Some(user) => Ok(Caller { user: user.to_domain(), scope, client_id, expires_at }),
                // A client's own token names no user by design: lacking the
                // scope, that is what it is refused for.
                None if clients_own && !scope.contains(needs) => Err(Refusal::MissingScope(needs)),
                None => Err(Refusal::NoUser),
            })
        }
        Credential::Basic { .. } if !entry.realm.settings.basic_auth => Ok(Err(Refusal::BasicNotAllowed)),
        Credential::Basic { username, password } if personal_tokens::is_personal(&password) => {
            personal(state, entry, password, Some(username)).await
        }
        Credential::Basic { username, password } => {
            match authentication::password(state, entry, &username, password).await?.signed_in() {
                // A temporary password is for choosing a new one, nothing else.
                Some(signed_in) if !signed_in.user.password_temporary => {
                    let scope = entry.scopes_allowed_by_roles(&signed_in.role_ids);
                    Ok(Ok(Caller { user: signed_in.user, scope, client_id: None, expires_at: None }))
                }
                _ => Ok(Err(Refusal::BadBasic)),
            }
        }
    }
}

async fn personal(
    state: &AppState,
    entry: &Arc<RealmEntry>,
    token: String,
    basic_user: Option<String>,
) -> Result<Result<Caller, Refusal>, ServiceError> {
    let now = state.clock.now();
    let lookup = Arc::clone(entry);
    let found = state.db.run(move |conn| personal_tokens::find_active(conn, &lookup, &token, now)).await?;
    if let Some(active) = &found {
        personal_tokens::record_use(state, active, now).await?;
    }
    let Some(active) = found else {
        return Ok(Err(Refusal::InactivePersonalToken));
    };
    if basic_user.is_some_and(|name| name.to_lowercase() != active.user.username) {
        return Ok(Err(Refusal::BadBasic));
    }
    let expires_at = active.row.expires_at;
    Ok(Ok(Caller { user: active.user.to_domain(), scope: active.scope, client_id: None, expires_at }))
}
