//! Client authentication at the token, introspection and revocation
//! endpoints: `client_secret_basic`, `client_secret_post` and `none`. The
//! secret is compared in constant time with the cached, unsealed value, so
//! a busy service client never pays a slow hash.

use std::sync::Arc;

use super::realm_cache::RealmEntry;
use crate::crypto::constant_time_eq;
use crate::domain::client::Client;
use crate::error::OAuthError;

/// What the request presented, and how. `other_scheme`: an `Authorization`
/// header of a scheme other than Basic came along (ignored, as Keycloak
/// does, but a failure then answers with a challenge: RFC 6749 §5.2).
#[derive(Clone)]
pub enum ClientCredentials {
    Basic { client_id: String, secret: String },
    Post { client_id: String, secret: String, other_scheme: bool },
    None { client_id: String, other_scheme: bool },
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (method, id) = match self {
            Self::Basic { client_id, .. } => ("basic", client_id),
            Self::Post { client_id, .. } => ("post", client_id),
            Self::None { client_id, .. } => ("none", client_id),
        };
        write!(f, "ClientCredentials({method}, {id})")
    }
}

impl ClientCredentials {
    pub fn client_id(&self) -> &str {
        match self {
            Self::Basic { client_id, .. } | Self::Post { client_id, .. } | Self::None { client_id, .. } => client_id,
        }
    }

    fn secret(&self) -> Option<&str> {
        match self {
            Self::Basic { secret, .. } | Self::Post { secret, .. } => Some(secret),
            Self::None { .. } => None,
        }
    }

    /// Whether the request tried the `Authorization` header, with Basic or another scheme.
    pub fn used_header(&self) -> bool {
        match self {
            Self::Basic { .. } => true,
            Self::Post { other_scheme, .. } | Self::None { other_scheme, .. } => *other_scheme,
        }
    }
}

/// The `invalid_client` answer, with a Basic challenge when the client
/// tried the `Authorization` header.
pub fn invalid_client(entry: &RealmEntry, used_header: bool, description: &'static str) -> OAuthError {
    let error = OAuthError::invalid_client(description);
    if used_header { error.with_basic_challenge(entry.realm.name.as_str()) } else { error }
}

/// Authenticates the client; unknown clients and wrong secrets look alike
/// (but for the audit log, which names them as Keycloak's does).
pub fn authenticate(entry: &RealmEntry, credentials: &ClientCredentials) -> Result<Arc<Client>, OAuthError> {
    let fail = |audited| {
        invalid_client(entry, credentials.used_header(), "Invalid client or invalid client credentials")
            .audited_as(audited, None)
    };
    let Some(client) = entry.client(credentials.client_id()) else {
        return Err(fail("client_not_found"));
    };
    match (&client.secret, credentials.secret()) {
        (Some(expected), Some(given)) if constant_time_eq(expected.as_bytes(), given.as_bytes()) => {
            Ok(Arc::clone(client))
        }
        // A public client has no secret to check; one sent anyway (an empty
        // Basic password, a leftover client_secret) is ignored, as Keycloak does.
        (None, _) => Ok(Arc::clone(client)),
        (Some(_), None) => {
            Err(invalid_client(entry, credentials.used_header(), "Client authentication is required for this client")
                .audited_as("invalid_client_credentials", None))
        }
        _ => Err(fail("invalid_client_credentials")),
    }
}

/// Like `authenticate`, for endpoints only confidential clients may call.
pub fn authenticate_confidential(
    entry: &RealmEntry,
    credentials: &ClientCredentials,
) -> Result<Arc<Client>, OAuthError> {
    let client = authenticate(entry, credentials)?;
    if client.is_public() {
        return Err(invalid_client(entry, credentials.used_header(), "Public clients may not use this endpoint"));
    }
    Ok(client)
}
