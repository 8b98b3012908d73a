//! Repository functions, one module per table group. `find_by_*` returns
//! `Option`, `list_*` a `Vec`; writes take the connection of the caller's
//! transaction.

/// Runs `$body` with `$c` bound to the backend's own connection. Through
/// `MultiConnection`, diesel renders the SQL text of every query on every
/// call (to decide whether it may be cached), which costs more than running
/// the cached statement itself on SQLite; the queries of the hot paths
/// (introspection, userinfo, refresh) go straight to the backend instead.
macro_rules! native {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::storage::DbConnection::Sqlite($c) => $body,
            $crate::storage::DbConnection::Postgres($c) => $body,
        }
    };
}

pub mod clients;
pub mod codes;
pub mod consents;
pub mod devices;
pub mod events;
pub mod keys;
pub mod meta;
pub mod personal_tokens;
pub mod rate_limits;
pub mod realms;
pub mod refresh;
pub mod revocations;
pub mod roles;
pub mod scopes;
pub mod sessions;
pub mod users;
