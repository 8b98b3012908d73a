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
    cfg.service(web::resource("/static/realmgate.css").get(pages::stylesheet))
        .service(web::resource("/static/form_post.js").get(pages::form_post_script));
}

/// Registers the browser routes under `/realms/{realm}`.
pub fn realm_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(paths::AUTHORIZATION).get(authorize::authorize).post(authorize::authorize))
        .service(web::resource(paths::LOGIN_ACTION).post(login::login_submit))
        .service(web::resource(paths::CONSENT_ACTION).post(consent::consent_submit))
        .service(web::resource(paths::REQUIRED_ACTION).post(update_password::submit))
        .service(web::resource(paths::CONSOLE_LOGIN).get(crate::console::session::console_login))
        .service(web::resource(paths::END_SESSION).get(logout::end_session).post(logout::end_session))
        .service(web::resource(paths::END_SESSION_CONFIRM).post(logout::logout_confirm))
        // Pages a person types or bookmarks answer with a trailing slash too
        // (Keycloak's account console lives at `/account/`).
        .service(web::resource(with_slash(paths::DEVICE_PAGE)).get(device::device_page).post(device::device_submit))
        .service(
            web::resource(with_slash(paths::ACCOUNT_PAGE)).get(account::account_page).post(account::account_action),
        );
}

fn with_slash(path: &'static str) -> [String; 2] {
    [path.to_owned(), format!("{path}/")]
}
