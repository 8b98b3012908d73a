//! The browser cookies of a realm: the SSO session and the CSRF token. Both
//! are `HttpOnly`, `SameSite=Lax`, scoped to the realm's path below the
//! public URL's own path, and `Secure` when the public URL is https.

use actix_web::HttpRequest;
use actix_web::cookie::time::Duration;
use actix_web::cookie::{Cookie, SameSite};

use crate::crypto::random_token;
use crate::state::AppState;

pub const SESSION: &str = "RG_SESSION";
pub const CSRF: &str = "RG_CSRF";

/// Where cookies are set and whether only over TLS, from the public URL: a
/// proxy may serve realmgate below a path (`https://example.com/id`), and
/// cookies scoped without it would never come back.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    base_path: &'a str,
    pub secure: bool,
}

impl<'a> Scope<'a> {
    pub fn of(state: &'a AppState) -> Self {
        Self::from_public_url(&state.public_url)
    }

    pub fn from_public_url(public_url: &'a str) -> Self {
        Self { base_path: crate::config::public_path(public_url), secure: public_url.starts_with("https://") }
    }

    /// A path below the public URL's, such as `/admin/console/`.
    pub fn path(&self, below: &str) -> String {
        format!("{}{below}", self.base_path)
    }
}

/// An `HttpOnly`, `SameSite=Lax` cookie at `below` the public URL's path.
pub fn build_at(name: &'static str, value: String, below: &str, scope: &Scope<'_>) -> Cookie<'static> {
    Cookie::build(name, value)
        .path(scope.path(below))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(scope.secure)
        .finish()
}

fn build(name: &'static str, value: String, realm: &str, scope: &Scope<'_>) -> Cookie<'static> {
    build_at(name, value, &format!("/realms/{realm}/"), scope)
}

pub fn session(value: String, realm: &str, scope: &Scope<'_>) -> Cookie<'static> {
    build(SESSION, value, realm, scope)
}

pub fn clear_session(realm: &str, scope: &Scope<'_>) -> Cookie<'static> {
    let mut cookie = build(SESSION, String::new(), realm, scope);
    cookie.set_max_age(Duration::ZERO);
    cookie
}

/// A personal token just created on the account page, sealed, carried
/// across the redirect that follows the form (so a reload of the page that
/// shows it does not post the form again), for two minutes at most.
pub const NEW_TOKEN: &str = "RG_NEW_TOKEN";

pub fn new_token(sealed: String, realm: &str, scope: &Scope<'_>) -> Cookie<'static> {
    let mut cookie = build_at(NEW_TOKEN, sealed, &format!("/realms/{realm}/account"), scope);
    cookie.set_same_site(SameSite::Strict);
    cookie.set_max_age(Duration::minutes(2));
    cookie
}

pub fn clear_new_token(realm: &str, scope: &Scope<'_>) -> Cookie<'static> {
    let mut cookie = build_at(NEW_TOKEN, String::new(), &format!("/realms/{realm}/account"), scope);
    cookie.set_max_age(Duration::ZERO);
    cookie
}

pub fn read(req: &HttpRequest, name: &str) -> Option<String> {
    req.cookie(name).map(|c| c.value().to_owned()).filter(|v| !v.is_empty() && v.len() <= 256)
}

/// The browser's CSRF token, and the cookie to set when it had none.
pub fn csrf(req: &HttpRequest, realm: &str, scope: &Scope<'_>) -> (String, Option<Cookie<'static>>) {
    match read(req, CSRF) {
        Some(token) => (token, None),
        None => {
            let token = random_token(24);
            let cookie = build(CSRF, token.clone(), realm, scope);
            (token, Some(cookie))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Scope;

    #[test]
    fn cookies_live_below_the_public_urls_path() {
        for (url, path, secure) in [
            ("http://127.0.0.1:8080", "/realms/r/", false),
            ("https://id.example.com/", "/realms/r/", true),
            ("https://example.com/id", "/id/realms/r/", true),
            ("https://example.com/a/b/", "/a/b/realms/r/", true),
        ] {
            let scope = Scope::from_public_url(url);
            assert_eq!((scope.path("/realms/r/").as_str(), scope.secure), (path, secure), "{url}");
        }
    }
}
