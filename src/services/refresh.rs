//! Refresh tokens: families created at a grant, rotation with reuse
//! detection (RFC 9700 §4.14), the realm's reuse grace, and scope that may
//! narrow but never widen. One transaction per refresh. A family issued in
//! a browser's SSO session (not an offline one) lives no longer than that
//! session, and each refresh counts as a use of it, as in Keycloak.

use std::cmp::Ordering;
use std::sync::Arc;

use diesel::Connection;

use super::Abort;
use super::families::{Bound, FIRST_GENERATION, revocation_horizon, revoke_grant};
use super::issue::{self, IdTokenExtras, Subject, TokenResponse};
use super::realm_cache::RealmEntry;
use crate::clock::UnixTime;
use crate::crypto::SecretKey;
use crate::domain::client::Client;
use crate::domain::scope::ScopeSet;
use crate::domain::user::User;
use crate::error::{ErrorCode, OAuthError};
use crate::state::AppState;
use crate::storage::repo::refresh::{Advance, FamilyRow, TokenRow};
use crate::storage::repo::{refresh, roles, sessions as session_rows, users};
use crate::storage::{DbConnection, StorageError};
pub use crate::tokens::refresh::Presented;
use crate::tokens::refresh::generation_token;

/// A presented token as stored: when it was issued, until when it is
/// valid, whether and when it was spent, and the sealed answer that
/// replaced it while a replay within the reuse grace may ask for it.
#[derive(Debug, Clone)]
pub struct TokenState {
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
    pub spent_at: Option<UnixTime>,
    successor: Option<Vec<u8>>,
}

/// Finds a presented token and its family. A stale generation is spent
/// when the generation after it was issued; of those only the one just
/// replaced keeps a successor (and so a reuse grace), and their own
/// expiry is no longer known, so they count as unexpired: replayed, they
/// revoke the family.
pub fn find_presented(
    conn: &mut DbConnection,
    presented: &Presented,
) -> Result<Option<(TokenState, FamilyRow)>, StorageError> {
    match presented {
        Presented::Stored { key } => Ok(refresh::find_token(conn, key)?.map(|(token, family)| {
            let TokenRow { issued_at, expires_at, spent_at, successor, .. } = token;
            (TokenState { issued_at, expires_at, spent_at, successor }, family)
        })),
        Presented::Generation { family_id, generation } => {
            let Some(mut family) = refresh::find_family(conn, family_id)? else {
                return Ok(None);
            };
            let (Some(current), Some(issued_at), Some(expires_at)) =
                (family.generation, family.token_issued_at, family.token_expires_at)
            else {
                return Ok(None);
            };
            let state = match generation.cmp(&current) {
                Ordering::Equal => TokenState { issued_at, expires_at, spent_at: None, successor: None },
                Ordering::Less => TokenState {
                    issued_at: family.created_at,
                    expires_at: UnixTime::MAX,
                    spent_at: Some(issued_at),
                    successor: if *generation == current - 1 { family.successor.take() } else { None },
                },
                // Never issued: only a holder of the MAC key could have made it.
                Ordering::Greater => return Ok(None),
            };
            Ok(Some((state, family)))
        }
    }
}

enum Outcome {
    /// Stored and committed, signed before the write (with a reuse grace).
    Issued(TokenResponse),
    /// Stored and committed, to be signed now.
    Stored(Box<Rotation>),
    /// Spent within the reuse grace: the sealed answer its spender got,
    /// and when it was given.
    Replayed {
        sealed: Vec<u8>,
        given_at: UnixTime,
    },
    ReuseDetected {
        family_id: String,
    },
}

/// What a refresh grants, ready to be signed.
struct Rotation {
    user: User,
    role_ids: Vec<String>,
    family: FamilyRow,
    granted: ScopeSet,
    refresh_token: String,
    refresh_expires_at: UnixTime,
    /// The family's SSO session, when this refresh is a use to record.
    touch_session: Option<String>,
    session_ends: Option<UnixTime>,
}

impl Rotation {
    /// The rotation to the family's next generation, of a full lifetime
    /// (or what is left of its session's).
    fn new(entry: &RealmEntry, secret: &SecretKey, family: FamilyRow, owner: Owner, now: UnixTime) -> Self {
        let Owner { user, role_ids, granted, session } = owner;
        Rotation {
            user,
            role_ids,
            refresh_token: generation_token(secret, &family.id, next_generation(&family)),
            family,
            granted,
            refresh_expires_at: session.token_expiry(entry, now),
            touch_session: session.touch_due(entry, now),
            session_ends: session.session_ends(entry, now),
        }
    }

    /// The session the tokens name (Keycloak's `sid`): the browser's, or a
    /// grant made without one, which is a session of its own.
    fn sid(&self) -> Option<&str> {
        match &self.family.session_id {
            Some(session) => Some(session),
            None if !self.family.offline => Some(&self.family.id),
            None => None,
        }
    }

    fn sign(&self, entry: &RealmEntry, client: &Client, now: UnixTime) -> Result<TokenResponse, OAuthError> {
        let subject = Subject::User {
            user: &self.user,
            role_ids: &self.role_ids,
            auth_time: self.family.auth_time,
            sid: self.sid(),
            session_ends: self.session_ends,
        };
        let jti = issue::new_jti(Some(&self.family.id));
        let (access_token, expires_in) = issue::access_token(entry, client, &subject, &self.granted, jti, now)?;
        let id_token = if self.granted.contains("openid") {
            // The session stays named (Keycloak's `sid`); a nonce belongs to
            // the authentication request alone.
            let sid = self.sid();
            let extras = IdTokenExtras {
                access_token: Some(&access_token),
                sid,
                session_ends: self.session_ends,
                ..Default::default()
            };
            Some(issue::id_token(entry, client, &self.user, &self.granted, self.family.auth_time, extras, now)?)
        } else {
            None
        };
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer".into(),
            expires_in: Some(expires_in),
            refresh_token: Some(self.refresh_token.clone()),
            refresh_expires_in: Some(self.refresh_expires_at - now),
            id_token,
            scope: self.granted.to_string(),
            user_id: Some(self.family.user_id.clone()),
        })
    }
}

/// The generation a rotation moves the family to (a family from before
/// generations starts at the one after the first).
fn next_generation(family: &FamilyRow) -> i64 {
    family.generation.map_or(FIRST_GENERATION + 1, |current| current + 1)
}

fn reject(code: ErrorCode, description: &'static str) -> OAuthError {
    OAuthError::new(code, description)
}

/// How far past its newest token a family's stored expiry is set, as a
/// fraction of the refresh lifetime: the expiry's index entry is then
/// rewritten about once per eighth of a lifetime instead of at every
/// rotation, and pruning runs that much later. (The stored expiry only
/// bounds pruning; each token carries its own.)
const FAMILY_EXPIRY_SLACK_DIVISOR: i64 = 8;

/// The token's user, the realm roles they hold, the scopes a refresh
/// grants them, and the session it was granted in.
struct Owner {
    user: User,
    role_ids: Vec<String>,
    granted: ScopeSet,
    session: Bound,
}

/// The presented token as read before the write, with its family and, while
/// the user is enabled, the user and the role ids that bound its scopes,
/// and its family's session.
struct Found {
    token: TokenState,
    family: FamilyRow,
    owner: Option<(User, Vec<String>)>,
    session: Bound,
}

/// The refresh grant: the token, its family and its owner are read; what
/// cannot change (realm, client, expiry) or cannot come back (revocation) is
/// checked, and the scopes are granted; then the write spends the token on
/// the condition that it is still unspent, its family unrevoked and its user
/// enabled, and stores the successor.
///
/// Without a reuse grace (the default) all of that is one job of the writer
/// and the answer is signed after it: on SQLite the writer's pages stay in
/// its cache, while a read on another connection after each commit loads
/// them anew (measured: 7 % of the machine per RS256 refresh). With a grace the
/// answer must be signed before the write (its sealed copy is stored with
/// the family, for a replay of the token it replaced), so the read happens
/// first, outside the write.
pub async fn refresh(
    state: &AppState,
    entry: Arc<RealmEntry>,
    client: Arc<Client>,
    presented: String,
    requested: ScopeSet,
) -> Result<TokenResponse, OAuthError> {
    let now = state.clock.now();
    let Some(parsed) = Presented::parse(&state.secret, &presented) else {
        return Err(OAuthError::invalid_grant("Invalid refresh token"));
    };
    let settings = &entry.realm.settings;
    if settings.refresh_token_rotation && settings.refresh_token_reuse_grace == 0 {
        let secret = state.secret.clone();
        return refresh_in_one_write(state, entry, client, secret, parsed, requested, now).await;
    }
    let (lookup_entry, lookup) = (Arc::clone(&entry), parsed.clone());
    let found = state.db.read_hot(move |conn| read_presented(conn, &lookup_entry, &lookup, now)).await?;
    let Some(Found { token, family, owner, session }) = found else {
        return Err(OAuthError::invalid_grant("Invalid refresh token"));
    };
    check_unchangeable(&entry, &client, &token, &family, now)?;
    let owner_and_scopes = |owner, session| live_owner(&entry, &client, &family, &requested, owner, session);
    if !entry.realm.settings.refresh_token_rotation {
        // Nothing to rotate: the same refresh token stays valid. A token
        // spent while rotation was on was replaced, and stays so.
        if token.spent_at.is_some() {
            return Err(reject(ErrorCode::InvalidGrant, "Token is not active"));
        }
        let owner = owner_and_scopes(owner, session)?;
        let touch = owner.session.touch_due(&entry, now);
        // The kept token's lifetime is renewed as a rotated one's would be
        // (a refresh is a use: an app that refreshes stays signed in), in
        // steps as coarse as the session's own use records.
        let renewed = owner.session.token_expiry(&entry, now);
        let extend = match family.generation {
            Some(generation) if renewed - token.expires_at >= super::sessions::use_record_step(&entry).max(1) => {
                Some(generation)
            }
            _ => None,
        };
        if touch.is_some() || extend.is_some() {
            let (family_id, slack) =
                (family.id.clone(), entry.realm.settings.refresh_token_lifetime / FAMILY_EXPIRY_SLACK_DIVISOR);
            state
                .db
                .write(move |conn| {
                    if let Some(id) = &touch {
                        session_rows::touch(conn, id, now)?;
                    }
                    if let Some(generation) = extend {
                        refresh::extend_current_token(conn, &family_id, generation, renewed)?;
                        refresh::extend_family(conn, &family_id, renewed + slack)?;
                    }
                    Ok(())
                })
                .await?;
        }
        let session_ends = owner.session.session_ends(&entry, now);
        let Owner { user, role_ids, granted, .. } = owner;
        let refresh_expires_at = if extend.is_some() { renewed } else { token.expires_at };
        let rotation = Rotation {
            user,
            role_ids,
            family,
            granted,
            refresh_token: presented,
            refresh_expires_at,
            touch_session: None,
            session_ends,
        };
        return rotation.sign(&entry, &client, now);
    }
    // A token already spent is a replay: the write decides between the
    // reuse grace and revoking the family, whoever the user is now.
    let successor = match token.spent_at {
        None => Some(successor(state, &entry, &client, family.clone(), owner_and_scopes(owner, session)?, now)?),
        Some(_) => None,
    };

    let stored_entry = Arc::clone(&entry);
    let outcome = state
        .db
        .write(move |conn| {
            Ok(conn.transaction(|conn| {
                let rotate = Rotate { presented: &parsed, family, successor };
                rotate_in_transaction(conn, &stored_entry, rotate, now)
            }))
        })
        .await?;
    match outcome {
        Ok(outcome) => answer(state, &entry, &client, outcome, now),
        Err(Abort::Reject(error)) => Err(error),
        Err(Abort::Storage(error)) => Err(error.into()),
    }
}

/// The refresh grant without a reuse grace: read, checks and write in one
/// job of the writer, signed after it.
async fn refresh_in_one_write(
    state: &AppState,
    entry: Arc<RealmEntry>,
    client: Arc<Client>,
    secret: SecretKey,
    presented: Presented,
    requested: ScopeSet,
    now: UnixTime,
) -> Result<TokenResponse, OAuthError> {
    let (job_entry, job_client) = (Arc::clone(&entry), Arc::clone(&client));
    let outcome = state
        .db
        .transaction_hot(move |conn| {
            match rotate_presented(conn, &job_entry, &job_client, &secret, &presented, &requested, now) {
                Ok(outcome) => Ok(Ok(outcome)),
                Err(Abort::Reject(error)) => Ok(Err(error)),
                Err(Abort::Storage(error)) => Err(error),
            }
        })
        .await??;
    answer(state, &entry, &client, outcome, now)
}

/// The answer to a refresh once its write is committed. (A replay can be
/// answered from the grace here too: the grace may have been shortened
/// since the token was spent.)
fn answer(
    state: &AppState,
    entry: &RealmEntry,
    client: &Client,
    outcome: Outcome,
    now: UnixTime,
) -> Result<TokenResponse, OAuthError> {
    match outcome {
        Outcome::Issued(response) => Ok(response),
        Outcome::Stored(rotation) => rotation.sign(entry, client, now),
        Outcome::Replayed { sealed, given_at } => {
            let mut response = state
                .secret
                .decrypt(&sealed)
                .ok()
                .and_then(|plain| serde_json::from_slice::<TokenResponse>(&plain).ok())
                .ok_or_else(|| StorageError::Corrupt("unreadable refresh successor".into()))?;
            // The same tokens, with the lifetimes they have left (RFC 6749 §5.1).
            let elapsed = (now - given_at).max(0);
            for lifetime in [&mut response.expires_in, &mut response.refresh_expires_in].into_iter().flatten() {
                *lifetime = (*lifetime - elapsed).max(0);
            }
            tracing::info!("refresh token replayed within the reuse grace; same pair returned");
            Ok(response)
        }
        Outcome::ReuseDetected { family_id } => {
            tracing::warn!(family_id, "spent refresh token presented again; its family is revoked");
            Err(OAuthError::invalid_grant("Invalid refresh token"))
        }
    }
}

fn rotate_presented(
    conn: &mut DbConnection,
    entry: &RealmEntry,
    client: &Client,
    secret: &SecretKey,
    presented: &Presented,
    requested: &ScopeSet,
    now: UnixTime,
) -> Result<Outcome, Abort> {
    let Some(Found { token, family, owner, session }) = read_presented(conn, entry, presented, now)? else {
        return Err(Abort::Reject(OAuthError::invalid_grant("Invalid refresh token")));
    };
    check_unchangeable(entry, client, &token, &family, now).map_err(Abort::Reject)?;
    // A token already spent is a replay, whoever the user is now.
    let successor = match token.spent_at {
        None => {
            let owner = live_owner(entry, client, &family, requested, owner, session).map_err(Abort::Reject)?;
            Some(Successor { rotation: Rotation::new(entry, secret, family.clone(), owner, now), signed: None })
        }
        Some(_) => None,
    };
    rotate_in_transaction(conn, entry, Rotate { presented, family, successor }, now)
}

fn read_presented(
    conn: &mut DbConnection,
    entry: &RealmEntry,
    presented: &Presented,
    now: UnixTime,
) -> Result<Option<Found>, StorageError> {
    let Some((token, family)) = find_presented(conn, presented)? else {
        return Ok(None);
    };
    let owner = match users::find_by_id(conn, &entry.realm.id, &family.user_id)?.filter(|u| u.enabled) {
        Some(user) => Some((user.to_domain(), roles::list_role_ids_of_user(conn, &user.id)?)),
        None => None,
    };
    let session = Bound::of(conn, entry, &family, now)?;
    Ok(Some(Found { token, family, owner, session }))
}

/// The token's owner while enabled and its session live, and the scopes a
/// refresh grants them.
fn live_owner(
    entry: &RealmEntry,
    client: &Client,
    family: &FamilyRow,
    requested: &ScopeSet,
    owner: Option<(User, Vec<String>)>,
    session: Bound,
) -> Result<Owner, OAuthError> {
    let Some((user, role_ids)) = owner.filter(|_| session.is_live()) else {
        return Err(reject(ErrorCode::InvalidGrant, "Session not active"));
    };
    let granted = grant(entry, client, family, requested, &role_ids)?;
    Ok(Owner { user, role_ids, granted, session })
}

/// Checks on what a token keeps for life: its realm, client and expiry, and
/// its family's revocation (never undone).
fn check_unchangeable(
    entry: &RealmEntry,
    client: &Client,
    token: &TokenState,
    family: &FamilyRow,
    now: UnixTime,
) -> Result<(), OAuthError> {
    if family.realm_id != entry.realm.id {
        return Err(reject(ErrorCode::InvalidGrant, "Invalid refresh token"));
    }
    if family.client_id != client.id {
        return Err(reject(ErrorCode::InvalidGrant, "Refresh token was issued to another client"));
    }
    if family.revoked_at.is_some() {
        return Err(reject(ErrorCode::InvalidGrant, "Session not active"));
    }
    if now > token.expires_at {
        return Err(reject(ErrorCode::InvalidGrant, "Token is not active"));
    }
    Ok(())
}

/// The scopes a refresh grants: the requested ones (all of the original
/// grant if none), narrowed to what the client, the realm and the user's
/// roles still allow; never more than the original grant.
fn grant(
    entry: &RealmEntry,
    client: &Client,
    family: &FamilyRow,
    requested: &ScopeSet,
    role_ids: &[String],
) -> Result<ScopeSet, OAuthError> {
    let original = ScopeSet::parse(&family.scope).map_err(|e| OAuthError::from(StorageError::Corrupt(e.0)))?;
    if !requested.is_subset(&original) {
        return Err(OAuthError::invalid_scope("Requested scope exceeds the original grant"));
    }
    let asked = if requested.is_empty() { original } else { requested.clone() };
    // Scopes the client or realm no longer has narrow the grant quietly.
    let client_allowed = entry.scopes.closure(client.scopes.all());
    let asked = ScopeSet::from_names(
        asked.iter().filter(|s| client_allowed.contains(s) && entry.scopes.is_known(s)).map(str::to_owned),
    );
    if asked.is_empty() {
        return Ok(asked);
    }
    // Roles or the client's scopes may have shrunk since the grant.
    let allowed = entry.scopes_allowed_by_roles(role_ids);
    entry.scopes.grant(&asked, &client.scopes, Some(&allowed)).map_err(|e| OAuthError::invalid_scope(e.to_string()))
}

/// What the write needs: the token as presented, its family, and, if the
/// token was unspent when read, its successor.
struct Rotate<'a> {
    presented: &'a Presented,
    family: FamilyRow,
    successor: Option<Successor>,
}

/// The token that replaces the presented one, made before the write so the
/// single writer only stores (signing there would serialise every refresh).
struct Successor {
    rotation: Rotation,
    /// With a reuse grace: the signed answer, and its sealed copy that a
    /// concurrent retry finds with the spent token.
    signed: Option<(TokenResponse, Vec<u8>)>,
}

fn successor(
    state: &AppState,
    entry: &RealmEntry,
    client: &Client,
    family: FamilyRow,
    owner: Owner,
    now: UnixTime,
) -> Result<Successor, OAuthError> {
    let rotation = Rotation::new(entry, &state.secret, family, owner, now);
    let signed = if entry.realm.settings.refresh_token_reuse_grace > 0 {
        let response = rotation.sign(entry, client, now)?;
        let plain = serde_json::to_vec(&response).expect("token responses serialise");
        let sealed = state.secret.encrypt(&plain);
        Some((response, sealed))
    } else {
        None
    };
    Ok(Successor { rotation, signed })
}

fn rotate_in_transaction(
    conn: &mut DbConnection,
    entry: &RealmEntry,
    rotate: Rotate<'_>,
    now: UnixTime,
) -> Result<Outcome, Abort> {
    let Rotate { presented, family, successor } = rotate;
    refresh::lock_family(conn, &family.id)?;
    if let Some(successor) = successor {
        // The common case: one statement decides, and only one caller wins.
        if spend(conn, presented, &family, &successor, now)? == 1 {
            return stored(conn, entry, successor, now);
        }
    }
    // Spent (now or before), its family revoked, or its user disabled since
    // the read: what is it now?
    let Some((token, family)) = find_presented(conn, presented)? else {
        return Err(Abort::Reject(reject(ErrorCode::InvalidGrant, "Invalid refresh token")));
    };
    let Some(spent_at) = token.spent_at.filter(|_| family.revoked_at.is_none()) else {
        return Err(Abort::Reject(reject(ErrorCode::InvalidGrant, "Session not active")));
    };
    let settings = &entry.realm.settings;
    if now - spent_at <= settings.refresh_token_reuse_grace
        && let Some(sealed) = token.successor
    {
        // Not to a user disabled since: the grace repeats an answer, it
        // does not outlast the account.
        if !users::find_by_id(conn, &entry.realm.id, &family.user_id)?.is_some_and(|u| u.enabled) {
            return Err(Abort::Reject(reject(ErrorCode::InvalidGrant, "Session not active")));
        }
        return Ok(Outcome::Replayed { sealed, given_at: spent_at });
    }
    revoke_grant(conn, &entry.realm.id, &family.id, revocation_horizon(entry, now), now)?;
    Ok(Outcome::ReuseDetected { family_id: family.id })
}

/// Spends the presented token if it is still the family's current one, the
/// family unrevoked and its user enabled, and makes its successor the
/// current one: 1 if this call did, 0 if nothing changed. A stored token
/// (from before generations) is spent as a row, and its family moves to
/// generations.
fn spend(
    conn: &mut DbConnection,
    presented: &Presented,
    family: &FamilyRow,
    successor: &Successor,
    now: UnixTime,
) -> Result<usize, StorageError> {
    let sealed = successor.signed.as_ref().map(|(_, sealed)| sealed.as_slice());
    let from = match presented {
        Presented::Generation { generation, .. } => Some(*generation),
        Presented::Stored { key } => {
            if refresh::spend_live_token(conn, key, &family.id, &family.user_id, now)? == 0 {
                return Ok(0);
            }
            if let Some(sealed) = sealed {
                refresh::set_successor(conn, key, sealed)?;
            }
            None
        }
    };
    let advance = Advance {
        family_id: &family.id,
        user_id: &family.user_id,
        from,
        to: next_generation(family),
        issued_at: now,
        expires_at: successor.rotation.refresh_expires_at,
        successor: sealed,
    };
    refresh::advance_generation(conn, &advance)
}

/// The answer once the presented token is spent and its successor current;
/// the family's stored expiry (which bounds pruning) follows it, and its
/// session records the use.
fn stored(conn: &mut DbConnection, entry: &RealmEntry, successor: Successor, now: UnixTime) -> Result<Outcome, Abort> {
    let Successor { rotation, signed } = successor;
    if let Some(session_id) = &rotation.touch_session {
        session_rows::touch(conn, session_id, now)?;
    }
    let family = &rotation.family;
    if rotation.refresh_expires_at > family.expires_at {
        let slack = entry.realm.settings.refresh_token_lifetime / FAMILY_EXPIRY_SLACK_DIVISOR;
        refresh::extend_family(conn, &family.id, rotation.refresh_expires_at + slack)?;
    }
    match signed {
        Some((response, _)) => Ok(Outcome::Issued(response)),
        None => Ok(Outcome::Stored(Box::new(rotation))),
    }
}
