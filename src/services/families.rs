//! Refresh families: one per grant that gives refresh tokens, created with
//! its first token, tied to the SSO session it was granted in (unless
//! offline), and revoked as one with the access tokens that name it.

use super::realm_cache::RealmEntry;
use super::sessions;
use crate::clock::UnixTime;
use crate::crypto::SecretKey;
use crate::domain::client::Client;
use crate::domain::scope::{OFFLINE_ACCESS, ScopeSet};
use crate::storage::repo::refresh::FamilyRow;
use crate::storage::repo::sessions::SessionRow;
use crate::storage::repo::{refresh, revocations, sessions as session_rows};
use crate::storage::{DbConnection, StorageError, new_id};
use crate::tokens::refresh::generation_token;

/// How long a revocation is remembered beyond the access-token lifetime
/// (clock skew between nodes).
const REVOCATION_MARGIN_SECS: i64 = 30;

/// Until when a grant revoked `now` must stay revoked: as long as any access
/// token naming it can live — also one issued before the lifetime was
/// shortened, which its key's publication floor covers.
pub fn revocation_horizon(entry: &RealmEntry, now: UnixTime) -> UnixTime {
    let issued_now = now + entry.realm.settings.access_token_lifetime;
    let issued_before = entry.keys.signed_tokens_live_until.unwrap_or(issued_now);
    issued_now.max(issued_before) + REVOCATION_MARGIN_SECS
}

/// Revokes a grant as one: its refresh family (if it has one) and every
/// access token whose jti names it.
pub fn revoke_grant(
    conn: &mut DbConnection,
    realm_id: &str,
    grant_id: &str,
    horizon: UnixTime,
    now: UnixTime,
) -> Result<(), StorageError> {
    refresh::revoke_family(conn, grant_id, now)?;
    revocations::insert(conn, realm_id, grant_id, horizon)
}

/// A family's first token is this generation.
pub(super) const FIRST_GENERATION: i64 = 0;

/// A family ready to store; its first token is generation 0.
pub struct NewFamily {
    pub family: FamilyRow,
    /// Until when its first token is valid.
    pub expires_at: UnixTime,
}

impl NewFamily {
    pub fn token(&self, secret: &SecretKey) -> String {
        first_token(secret, &self.family.id)
    }

    /// Ties the family to the live SSO session it was granted in: unless
    /// offline, its tokens expire when the session would, and ending the
    /// session revokes them.
    pub fn bind_to(&mut self, entry: &RealmEntry, session: &SessionRow, now: UnixTime) {
        self.family.session_id = Some(session.id.clone());
        if !self.family.offline {
            let until = self.expires_at.min(sessions::lasts_until(entry, session, now));
            self.expires_at = until;
            self.family.expires_at = until;
            self.family.token_expires_at = Some(until);
        }
    }
}

/// The SSO session a family was granted in, as it stands now. Offline
/// families live as long as their own tokens; those of grants without a
/// browser (password, device) have a session of their own that starts with
/// the grant and ends at the realm's SSO maximum, as Keycloak's do.
pub(super) enum Bound {
    Unbound,
    Sessionless { until: UnixTime },
    Live(SessionRow),
    Ended,
}

impl Bound {
    pub(super) fn of(
        conn: &mut DbConnection,
        entry: &RealmEntry,
        family: &FamilyRow,
        now: UnixTime,
    ) -> Result<Self, StorageError> {
        if family.offline {
            return Ok(Self::Unbound);
        }
        let Some(id) = family.session_id.as_deref() else {
            let until = sessionless_until(entry, family.created_at);
            return Ok(if now <= until { Self::Sessionless { until } } else { Self::Ended });
        };
        Ok(match session_rows::find_by_id(conn, id)? {
            Some(row) if sessions::is_live(entry, &row, now) => Self::Live(row),
            _ => Self::Ended,
        })
    }

    /// Whether the family may still be refreshed.
    pub(super) fn is_live(&self) -> bool {
        !matches!(self, Self::Ended)
    }

    /// When a token issued `now` expires: a full refresh lifetime, or
    /// when the session would end if that is sooner.
    pub(super) fn token_expiry(&self, entry: &RealmEntry, now: UnixTime) -> UnixTime {
        let full = now + entry.realm.settings.refresh_token_lifetime;
        match self {
            Self::Live(session) => full.min(sessions::lasts_until(entry, session, now)),
            Self::Sessionless { until } => full.min(*until),
            Self::Unbound | Self::Ended => full,
        }
    }

    /// When the family's session, used `now`, ends if not used again, if
    /// it has one (offline families do not).
    pub(super) fn session_ends(&self, entry: &RealmEntry, now: UnixTime) -> Option<UnixTime> {
        match self {
            Self::Live(session) => Some(sessions::idle_end(entry, session, now)),
            Self::Sessionless { until } => Some(*until),
            Self::Unbound | Self::Ended => None,
        }
    }

    /// The session to record a use of `now`, if one is due.
    pub(super) fn touch_due(&self, entry: &RealmEntry, now: UnixTime) -> Option<String> {
        match self {
            Self::Live(session) if sessions::touch_due(entry, session, now) => Some(session.id.clone()),
            _ => None,
        }
    }
}

/// The end of the own session of a grant made without a browser at `granted_at`.
fn sessionless_until(entry: &RealmEntry, granted_at: UnixTime) -> UnixTime {
    granted_at + entry.realm.settings.sso_session_max
}

/// When the own session of a grant made without a browser `now` reaches its
/// maximum, which its access tokens do not outlive; offline grants have none.
pub fn sessionless_ends(entry: &RealmEntry, scope: &ScopeSet, now: UnixTime) -> Option<UnixTime> {
    (!scope.contains(OFFLINE_ACCESS)).then(|| sessionless_until(entry, now))
}

/// Whether a family of a grant made without a browser (online) is current
/// `now`: its token unexpired and its own session within `sso_session_max`
/// (what refresh decides, for the lists of a user's sessions).
pub fn sessionless_is_current(family: &FamilyRow, sso_session_max: i64, now: UnixTime) -> bool {
    family.session_id.is_none()
        && family.token_expires_at.unwrap_or(family.expires_at) >= now
        && (family.offline || now <= family.created_at + sso_session_max)
}

/// The first refresh token of the family `family_id`.
pub fn first_token(secret: &SecretKey, family_id: &str) -> String {
    generation_token(secret, family_id, FIRST_GENERATION)
}

/// Prepares a family for a grant to a user; its id goes into the access token's jti.
pub fn prepare_family(
    entry: &RealmEntry,
    client: &Client,
    user_id: &str,
    scope: &ScopeSet,
    auth_time: UnixTime,
    now: UnixTime,
    ip_address: Option<String>,
) -> NewFamily {
    let offline = scope.contains(OFFLINE_ACCESS);
    let full = now + entry.realm.settings.refresh_token_lifetime;
    let expires_at = if offline { full } else { full.min(sessionless_until(entry, now)) };
    let family = FamilyRow {
        id: new_id(),
        realm_id: entry.realm.id.clone(),
        client_id: client.id.clone(),
        user_id: user_id.to_owned(),
        scope: scope.to_string(),
        offline,
        auth_time,
        created_at: now,
        expires_at,
        revoked_at: None,
        session_id: None,
        generation: Some(FIRST_GENERATION),
        token_issued_at: Some(now),
        token_expires_at: Some(expires_at),
        successor: None,
        ip_address,
    };
    NewFamily { family, expires_at }
}

pub fn store_family(conn: &mut DbConnection, new: &NewFamily) -> Result<(), StorageError> {
    refresh::insert_family(conn, &new.family)
}
