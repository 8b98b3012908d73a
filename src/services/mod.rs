//! Use-cases: the realm cache and its invalidation, realm lifecycle,
//! passwords, client authentication and token issue, refresh and revocation.

pub mod change_watcher;
pub mod passwords;
pub mod realm_cache;
pub mod realms;
