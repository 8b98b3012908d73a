//! The browser cookies of a realm: the SSO session and the CSRF token. Both
//! are `HttpOnly`, `SameSite=Lax`, scoped to the realm's path, and `Secure`
//! when the public URL is https.

use actix_web::HttpRequest;
use actix_web::cookie::time::Duration;
use actix_web::cookie::{Cookie, SameSite};

use crate::crypto::random_token;

pub const SESSION: &str = "RG_SESSION";
pub const CSRF: &str = "RG_CSRF";

pub fn realm_path(realm: &str) -> String {
    format!("/realms/{realm}/")
}

fn build(name: &'static str, value: String, realm: &str, secure: bool) -> Cookie<'static> {
    Cookie::build(name, value).path(realm_path(realm)).http_only(true).same_site(SameSite::Lax).secure(secure).finish()
}

pub fn session(value: String, realm: &str, secure: bool) -> Cookie<'static> {
    build(SESSION, value, realm, secure)
}

pub fn clear_session(realm: &str, secure: bool) -> Cookie<'static> {
    let mut cookie = build(SESSION, String::new(), realm, secure);
    cookie.set_max_age(Duration::ZERO);
    cookie
}

pub fn read(req: &HttpRequest, name: &str) -> Option<String> {
    req.cookie(name).map(|c| c.value().to_owned()).filter(|v| !v.is_empty() && v.len() <= 256)
}

/// The browser's CSRF token, and the cookie to set when it had none.
pub fn csrf(req: &HttpRequest, realm: &str, secure: bool) -> (String, Option<Cookie<'static>>) {
    match read(req, CSRF) {
        Some(token) => (token, None),
        None => {
            let token = random_token(24);
            let cookie = build(CSRF, token.clone(), realm, secure);
            (token, Some(cookie))
        }
    }
}
