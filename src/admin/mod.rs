//! The Keycloak-compatible admin REST API (SPEC §6) under `/admin`: the
//! wire rules every resource shares (errors, bodies, paging, trailing
//! slashes) live here; each resource has its own module.

mod auth;
pub(crate) mod client_scopes;
pub(crate) mod clients;
pub(crate) mod credentials;
mod error;
pub(crate) mod events;
mod kinds;
pub(crate) mod management_roles;
mod openapi;
pub(crate) mod realm_import;
pub(crate) mod realms;
mod rep;
pub(crate) mod role_mappings;
pub(crate) mod roles;
pub(crate) mod scopes;
pub(crate) mod user_lists;
pub(crate) mod user_sessions;
pub(crate) mod users;

use actix_web::web;

use crate::state::AppState;
use crate::storage::repo::meta;
use crate::storage::{DbConnection, StorageError};

pub use auth::{Admin, CONSOLE_CLIENT, Need, console_admin};
pub use error::AdminError;
pub use openapi::AdminApi;
pub use rep::PATH_SEGMENT;

/// Changes data the realm cache holds (a realm's clients, scopes, roles):
/// one transaction that bumps the change epoch first, so every node reloads
/// the realm within a second, then this node drops its copy at once. A
/// unique-constraint violation is answered as `<conflict> already exists`.
async fn change_cached<T, F>(state: &AppState, realm: &str, conflict: Option<String>, f: F) -> Result<T, AdminError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, StorageError> + Send + 'static,
    T: Send + 'static,
{
    let (name, now) = (realm.to_owned(), state.clock.now());
    let result = state
        .db
        .transaction(move |conn| {
            meta::bump_epoch(conn, &name, now)?;
            f(conn)
        })
        .await;
    state.cache.invalidate(&[realm]);
    result.map_err(|e| match conflict {
        Some(what) if e.is_unique_violation() => AdminError::conflict(what),
        _ => e.into(),
    })
}

/// `path` and `path/`: clients add a trailing slash to collection paths.
fn both(path: &str) -> [String; 2] {
    [path.to_owned(), format!("{path}/")]
}

/// Registers `/admin/...`.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin")
            .wrap(actix_web::middleware::from_fn(events::audit))
            .wrap(actix_web::middleware::from_fn(auth::json_bodies_only))
            .configure(events::routes)
            .service(web::resource(both("/serverinfo")).get(realms::server_info))
            .configure(realms::routes)
            .configure(clients::routes)
            .configure(client_scopes::routes)
            .configure(users::routes)
            .configure(user_lists::routes)
            .configure(user_sessions::routes)
            .configure(roles::routes)
            .configure(management_roles::routes)
            .configure(role_mappings::routes)
            .configure(scopes::routes),
    );
}
