//! The Keycloak-compatible admin REST API (SPEC §6) under `/admin`: the
//! wire rules every resource shares (errors, bodies, paging, trailing
//! slashes) live here; each resource has its own module.

mod auth;
mod clients;
mod error;
mod events;
mod realms;
mod rep;
mod roles;
mod scopes;
mod users;

use actix_web::web;

pub use auth::{Admin, Need};
pub use error::AdminError;

/// `path` and `path/`: clients add a trailing slash to collection paths.
fn both(path: &str) -> [String; 2] {
    [path.to_owned(), format!("{path}/")]
}

/// Registers `/admin/...`.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin")
            .wrap(actix_web::middleware::from_fn(events::audit))
            .configure(events::routes)
            .service(web::resource(both("/serverinfo")).get(realms::server_info))
            .configure(realms::routes)
            .configure(clients::routes)
            .configure(users::routes)
            .configure(roles::routes)
            .configure(scopes::routes),
    );
}
