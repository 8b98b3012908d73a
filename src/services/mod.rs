//! Use-cases: the realm cache and its invalidation, realm lifecycle,
//! passwords, client authentication and token issue, refresh and revocation.

pub mod access;
pub mod account;
pub mod authentication;
pub mod authorize;
pub mod caller;
pub mod change_watcher;
pub mod client_auth;
pub mod code_exchange;
pub mod consent;
pub mod device;
pub mod events;
pub mod families;
pub mod introspection;
pub mod issue;
pub mod logout;
pub mod maintenance;
pub mod passwords;
pub mod personal_tokens;
pub mod realm_cache;
pub mod realms;
pub mod refresh;
pub mod revoke;
pub mod secret_key;
pub mod sessions;

use crate::error::{AppError, OAuthError};
use crate::storage::StorageError;

/// A use-case failed for a reason the caller cannot fix (a 500, or a 503
/// while the database cannot be reached or sign-ins are too many).
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Password(#[from] passwords::PasswordError),
    #[error(transparent)]
    Cache(#[from] realm_cache::CacheError),
}

impl ServiceError {
    /// Overload, not failure: the caller may retry shortly.
    pub fn is_busy(&self) -> bool {
        matches!(self, Self::Password(passwords::PasswordError::Busy))
    }

    /// The database cannot be reached now: the caller may retry shortly.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Storage(e) | Self::Cache(realm_cache::CacheError::Storage(e)) => e.is_unavailable(),
            _ => false,
        }
    }
}

/// Logs that the database cannot be reached; answered 503, not 500: an
/// outage is not a bug, and clients and proxies may retry.
pub fn log_unavailable(error: &(dyn std::error::Error + 'static)) {
    tracing::warn!(error = %crate::error::ErrorChain(error), "database unavailable");
}

fn unavailable() -> OAuthError {
    OAuthError::new(crate::error::ErrorCode::TemporarilyUnavailable, "Service temporarily unavailable; retry shortly")
}

impl From<ServiceError> for OAuthError {
    fn from(e: ServiceError) -> Self {
        if e.is_busy() {
            return OAuthError::new(
                crate::error::ErrorCode::TemporarilyUnavailable,
                "Too many sign-ins at once; retry shortly",
            );
        }
        if e.is_unavailable() {
            log_unavailable(&e);
            return unavailable();
        }
        OAuthError::internal(&e)
    }
}

impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> Self {
        if e.is_unavailable() {
            log_unavailable(&e);
            return AppError::Unavailable("retry shortly".into());
        }
        AppError::internal(e)
    }
}

impl From<StorageError> for OAuthError {
    fn from(e: StorageError) -> Self {
        ServiceError::from(e).into()
    }
}

/// Ends a write transaction early: it rolls back, so nothing changes, and
/// the request is answered with the error.
pub(crate) enum Abort {
    Reject(OAuthError),
    Storage(StorageError),
}

impl From<StorageError> for Abort {
    fn from(e: StorageError) -> Self {
        Self::Storage(e)
    }
}

impl From<diesel::result::Error> for Abort {
    fn from(e: diesel::result::Error) -> Self {
        Self::Storage(e.into())
    }
}
