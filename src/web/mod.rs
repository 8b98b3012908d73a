//! Browser pages (askama): the authorization flow's login and consent
//! pages, logout, and their static assets.

pub mod account;
pub mod authorize;
pub mod consent;
pub mod cookies;
pub mod device;
pub mod flow;
pub mod login;
pub mod logout;
pub mod pages;
pub mod reply;
pub mod update_password;

use actix_web::web;

use crate::oidc::paths;

/// Registers the static assets.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/realmgate.css", web::get().to(pages::stylesheet))
        .route("/static/form_post.js", web::get().to(pages::form_post_script));
}

/// Registers the browser routes under `/realms/{realm}`.
pub fn realm_routes(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::AUTHORIZATION, web::get().to(authorize::authorize))
        .route(paths::AUTHORIZATION, web::post().to(authorize::authorize))
        .route(paths::LOGIN_ACTION, web::post().to(login::login_submit))
        .route(paths::CONSENT_ACTION, web::post().to(consent::consent_submit))
        .route(paths::REQUIRED_ACTION, web::post().to(update_password::submit))
        .route(paths::CONSOLE_LOGIN, web::get().to(crate::console::session::console_login))
        .route(paths::END_SESSION, web::get().to(logout::end_session))
        .route(paths::END_SESSION, web::post().to(logout::end_session))
        .route(paths::END_SESSION_CONFIRM, web::post().to(logout::logout_confirm))
        .route(paths::DEVICE_PAGE, web::get().to(device::device_page))
        .route(paths::DEVICE_PAGE, web::post().to(device::device_submit))
        .route(paths::ACCOUNT_PAGE, web::get().to(account::account_page))
        .route(paths::ACCOUNT_PAGE, web::post().to(account::account_action));
}
