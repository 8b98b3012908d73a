//! Validating presented access tokens: signature by a published key of this
//! realm, `typ`, issuer, expiry, and (with the database) revocation.

use super::realm_cache::RealmEntry;
use crate::clock::UnixTime;
use crate::storage::repo::revocations;
use crate::storage::{DbConnection, StorageError};
use crate::tokens::claims::{ACCESS_TOKEN_TYP, AccessClaims};
use crate::tokens::jws;

/// Why a token is not an active access token of this realm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidToken {
    #[error("Token is malformed or not signed by this realm")]
    BadSignature,
    #[error("Token is not an access token")]
    WrongType,
    #[error("Token was issued by another realm")]
    WrongIssuer,
    #[error("Token has expired")]
    Expired,
    #[error("Token has been revoked")]
    Revoked,
    #[error("Token's client is disabled or no longer exists")]
    ClientGone,
}

/// Everything that needs no database: signature, type, issuer, expiry and
/// an enabled client.
pub fn verify(entry: &RealmEntry, token: &str, now: UnixTime) -> Result<AccessClaims, InvalidToken> {
    let claims = match verified::recall(entry.load_id, token) {
        Some(claims) => claims,
        None => {
            let claims = verify_signed(entry, token)?;
            verified::remember(entry.load_id, token, &claims);
            claims
        }
    };
    if now > claims.exp {
        return Err(InvalidToken::Expired);
    }
    // Keycloak refuses the tokens of a disabled client everywhere, and those
    // of a deleted one whose name another client took since (a token from
    // before `client_uuid` was added: older than the client).
    let issued_to = |client: &crate::domain::client::Client| match &claims.client_uuid {
        Some(id) => *id == client.id,
        None => claims.iat >= client.created_at,
    };
    if entry.client(&claims.client_id).is_none_or(|client| !issued_to(client)) {
        return Err(InvalidToken::ClientGone);
    }
    Ok(claims)
}

fn verify_signed(entry: &RealmEntry, token: &str) -> Result<AccessClaims, InvalidToken> {
    let verified = jws::verify::<AccessClaims>(&entry.keys, token).map_err(|_| InvalidToken::BadSignature)?;
    if verified.typ.as_deref() != Some(ACCESS_TOKEN_TYP) {
        return Err(InvalidToken::WrongType);
    }
    if verified.claims.iss != entry.issuer {
        return Err(InvalidToken::WrongIssuer);
    }
    Ok(verified.claims)
}

/// Tokens whose signature, type and issuer were checked, remembered so that
/// a token presented again (a resource server introspecting on every call,
/// userinfo polled) costs a lookup instead of a signature verification.
/// Keyed by the token's exact text and valid only for the realm load that
/// checked it: a reload (a key added or removed) starts afresh. Bounded;
/// expiry and revocation are still checked on every use.
mod verified {
    use std::collections::HashMap;
    use std::sync::{LazyLock, Mutex, PoisonError};

    use crate::tokens::claims::AccessClaims;

    const CAPACITY: usize = 4096;
    /// Longer tokens are not remembered (ours are far shorter).
    const MAX_TOKEN_LEN: usize = 4096;

    /// Token text → the realm load that checked it, and its claims.
    type Checked = HashMap<Box<str>, (u64, AccessClaims)>;

    static CHECKED: LazyLock<Mutex<Checked>> = LazyLock::new(|| Mutex::new(HashMap::new()));

    pub(super) fn recall(load_id: u64, token: &str) -> Option<AccessClaims> {
        let checked = CHECKED.lock().unwrap_or_else(PoisonError::into_inner);
        checked.get(token).filter(|(load, _)| *load == load_id).map(|(_, claims)| claims.clone())
    }

    pub(super) fn remember(load_id: u64, token: &str, claims: &AccessClaims) {
        if token.len() > MAX_TOKEN_LEN {
            return;
        }
        let mut checked = CHECKED.lock().unwrap_or_else(PoisonError::into_inner);
        if checked.len() >= CAPACITY {
            checked.clear();
        }
        checked.insert(token.into(), (load_id, claims.clone()));
    }
}

/// Whether the token, or the refresh family it came from, was revoked.
pub fn is_revoked(conn: &mut DbConnection, claims: &AccessClaims) -> Result<bool, StorageError> {
    let mut ids = vec![claims.jti.as_str()];
    ids.extend(claims.grant_ids());
    revocations::any_revoked(conn, &ids)
}
