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
/// outage is not a bug, and clients and proxies may retry. At most once
/// every few seconds, with how many went unlogged: an outage under load
/// failed thousands of requests a second, each with its own warning.
pub fn log_unavailable(error: &(dyn std::error::Error + 'static)) {
    // Process-wide, as the log it guards (the error conversions that call
    // this hold no state); seconds on the monotonic clock, so a stepped
    // wall clock neither silences nor floods it.
    static GATE: LogGate = LogGate::new(UNAVAILABLE_LOG_EVERY_SECS);
    static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let now = STARTED.get_or_init(std::time::Instant::now).elapsed().as_secs() + 1;
    if let Some(unlogged) = GATE.pass(now) {
        tracing::warn!(error = %crate::error::ErrorChain(error), unlogged, "database unavailable");
    }
}

const UNAVAILABLE_LOG_EVERY_SECS: u64 = 5;

/// Lets one log line through per period, counting the ones it holds back.
struct LogGate {
    period_secs: u64,
    /// When a line last went through (seconds, from 1; 0: never).
    last: std::sync::atomic::AtomicU64,
    held_back: std::sync::atomic::AtomicU64,
}

impl LogGate {
    const fn new(period_secs: u64) -> Self {
        use std::sync::atomic::AtomicU64;
        Self { period_secs, last: AtomicU64::new(0), held_back: AtomicU64::new(0) }
    }

    /// `Some(lines held back since the last one)` when this one goes through.
    fn pass(&self, now_secs: u64) -> Option<u64> {
        use std::sync::atomic::Ordering::Relaxed;
        let last = self.last.load(Relaxed);
        let due = last == 0 || now_secs >= last.saturating_add(self.period_secs);
        if due && self.last.compare_exchange(last, now_secs.max(1), Relaxed, Relaxed).is_ok() {
            return Some(self.held_back.swap(0, Relaxed));
        }
        self.held_back.fetch_add(1, Relaxed);
        None
    }
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

#[cfg(test)]
mod tests {
    use super::LogGate;

    #[test]
    fn the_log_gate_lets_one_line_through_per_period_and_counts_the_rest() {
        let gate = LogGate::new(5);
        assert_eq!(gate.pass(100), Some(0), "the first goes through");
        assert_eq!((gate.pass(100), gate.pass(104)), (None, None));
        assert_eq!(gate.pass(105), Some(2), "the next period's first, with the two held back");
        assert_eq!(gate.pass(106), None);
        assert_eq!(gate.pass(200), Some(1));
    }
}
