//! Repository functions, one module per table group. `find_by_*` returns
//! `Option`, `list_*` a `Vec`; writes take the connection of the caller's
//! transaction.

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
