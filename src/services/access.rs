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
}

/// Everything that needs no database.
pub fn verify(entry: &RealmEntry, token: &str, now: UnixTime) -> Result<AccessClaims, InvalidToken> {
    let verified = jws::verify::<AccessClaims>(&entry.keys, token).map_err(|_| InvalidToken::BadSignature)?;
    if verified.typ.as_deref() != Some(ACCESS_TOKEN_TYP) {
        return Err(InvalidToken::WrongType);
    }
    let claims = verified.claims;
    if claims.iss != entry.issuer {
        return Err(InvalidToken::WrongIssuer);
    }
    if now > claims.exp {
        return Err(InvalidToken::Expired);
    }
    Ok(claims)
}

/// Whether the token, or the refresh family it came from, was revoked.
pub fn is_revoked(conn: &mut DbConnection, claims: &AccessClaims) -> Result<bool, StorageError> {
    let mut ids = vec![claims.jti.as_str()];
    if let Some(family) = claims.family_id() {
        ids.push(family);
    }
    revocations::any_revoked(conn, &ids)
}
